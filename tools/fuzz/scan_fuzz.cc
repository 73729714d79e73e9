// File: tools/fuzz/scan_fuzz.cc
// -----------------------------------------------------------------------------
//
// Fuzz target: range scans over a tree built by a fuzzer-chosen program.
//
// The input is a program (encoding: scan_program.h). Its first three bytes
// shape the tree and the storage (see Config below: levels, growth factor,
// table and memory table sizes; a MemoryStorage, or a FaultStorage over it
// that only delays and reorders completions, which makes the storage a
// copying one with a block cache); then each operation is an opcode byte
// and its operands, over keys in [0, kScanKeySpace): put, remove, put or
// remove a range, compact, compact all, checkpoint, acquire or release a
// snapshot, scan, get, and reopen (drop the tree and Tree::Open() the same
// bytes: the checkpointed state must be back). Operands past the end of the
// input read as zeros; at most kOpCountMax operations run.
//
// A std::map model follows every write (and a frozen copy per snapshot, and
// the state at the last checkpoint). A scan takes a range, a direction, a
// snapshot and a read-ahead from the input, and a seed for a generator
// that decides, value by value, when to probe ahead (and where), when to
// write to the tree mid-scan, and when to abort. Every value must match the
// model's, in order, and the scan must end exactly where the model does.
// After the program, full scans in both directions check the final state
// and every snapshot still held. A difference, an unexpected Status or a
// library assertion is a finding.
//
// Set LSMSCAN_FUZZ_VERBOSE=1 to print the program as it runs.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "lsmscan/lsm/direction.h"
#include "lsmscan/lsm/schema.h"
#include "lsmscan/lsm/tree.h"
#include "lsmscan/lsm/tree_blocking.h"
#include "lsmscan/lsm/tree_options.h"
#include "lsmscan/scan/scan_buffer.h"
#include "lsmscan/scan/scan_tree.h"
#include "lsmscan/storage/aligned_buffer.h"
#include "lsmscan/storage/base/prng.h"
#include "lsmscan/storage/fault_storage.h"
#include "lsmscan/storage/memory_storage.h"
#include "lsmscan/storage/storage.h"
#include "lsmscan/tools/fuzz/fuzz_util.h"
#include "lsmscan/tools/fuzz/scan_program.h"

namespace lsmscan {
namespace fuzz {
namespace {

using S = Record32Schema;
using Key = S::Key;
using Value = S::Value;
using Map = std::map<Key, Value>;

constexpr uint32_t kBlockSize = 4096;
constexpr uint64_t kBlockCountMax = uint64_t{1} << 12;
constexpr uint32_t kKeySpace = kScanKeySpace;
constexpr size_t kOpCountMax = 200;
constexpr size_t kSnapshotCountMax = 4;

bool Verbose() {
  static const bool verbose = [] {
    const char* value = std::getenv("LSMSCAN_FUZZ_VERBOSE");
    return value != nullptr && value[0] != '\0' && value[0] != '0';
  }();
  return verbose;
}

void CheckOk(const absl::Status& status, const char* what) {
  FUZZ_CHECK(status.ok(), absl::StrCat(what, ": ", status.ToString()));
}

// The shape of the tree and storage, from the program's first bytes:
//
//   a: bits 0-1 levels - 1; bits 2-3 growth factor - 2 (mod 3); bits 4-5
//      data blocks per table - 1 (mod 3)
//   b: bits 0-1 memory table size (8 << n values); bits 2-3 immutable
//      tables - 1 (mod 3); bits 4-5 compaction write frames - 1 (mod 3)
//   c: bit 0 copying storage (FaultStorage); bit 1 no block cache; bits
//      2-3 cache frames (8 + 8n); bits 4-5 delay probability (n / 4)
struct Config {
  TreeOptions options;
  bool copying = false;
  double delay_probability = 0;

  static Config From(FuzzInput* input) {
    Config config;
    const uint8_t a = input->Byte();
    const uint8_t b = input->Byte();
    const uint8_t c = input->Byte();
    TreeOptions& options = config.options;
    options.level_count = 1 + a % 4;
    options.growth_factor = 2 + (a >> 2) % 3;
    options.table_data_block_count_max = 1 + (a >> 4) % 3;
    options.memory_table_value_count_max = 8u << (b % 4);
    options.immutable_table_count_max = 1 + (b >> 2) % 3;
    options.compaction_write_frame_count = 1 + (b >> 4) % 3;
    config.copying = (c & 1) != 0;
    options.cache_block_count = (c & 2) ? 0 : 8 + (c >> 2) % 4 * 8;
    config.delay_probability = ((c >> 4) % 4) * 0.25;
    return config;
  }
};

// A tree over a memory device, the model it must match, and the program's
// operations.
class Harness {
 public:
  explicit Harness(const Config& config) : config_(config) {
    StorageOptions storage_options;
    storage_options.block_size_bytes = kBlockSize;
    storage_options.block_count_max = kBlockCountMax;
    absl::StatusOr<std::shared_ptr<MemoryDevice>> device =
        MemoryDevice::Create(storage_options);
    CheckOk(device.status(), "MemoryDevice::Create()");
    device_ = *std::move(device);
    OpenStorage();
    absl::StatusOr<std::unique_ptr<Tree<S>>> tree =
        Tree<S>::Create(storage_, config_.options);
    CheckOk(tree.status(), "Tree::Create()");
    tree_ = *std::move(tree);
    frame_ = AlignedBuffer(kBlockSize);
  }

  ~Harness() {
    ReleaseAllSnapshots();
    tree_.reset();
  }

  // Runs one operation read from `input`.
  void Step(FuzzInput* input, size_t op_index) {
    op_index_ = op_index;
    const uint8_t opcode = input->Byte();
    switch (DecodeScanOp(opcode)) {
      case ScanOp::kPut: {
        const Key key = input->Below(kKeySpace);
        Trace(absl::StrCat("put ", key));
        Write(S::Make(key, NextSeed(input)));
        break;
      }
      case ScanOp::kRemove: {
        const Key key = input->Below(kKeySpace);
        Trace(absl::StrCat("remove ", key));
        Write(S::tombstone(key));
        break;
      }
      case ScanOp::kPutRange:
      case ScanOp::kRemoveRange: {
        const bool put = DecodeScanOp(opcode) == ScanOp::kPutRange;
        const Key start = input->Below(kKeySpace);
        const uint32_t count = 1 + input->Below(128);
        const uint32_t step = 1 + input->Below(4);
        const uint8_t seed = input->Byte();
        Trace(absl::StrCat(put ? "put" : "remove", " range ", start, " count ",
                           count, " step ", step));
        for (uint32_t i = 0; i < count; i++) {
          const Key key = (start + Key{i} * step) % kKeySpace;
          Write(put ? S::Make(key, seed + (op_index_ << 8) + i)
                    : S::tombstone(key));
        }
        break;
      }
      case ScanOp::kCompact:
        Trace("compact");
        CheckOk(CompactBlocking(tree_.get()), "Compact()");
        tree_->manifest().CheckInvariants();
        break;
      case ScanOp::kCompactAll:
        Trace("compact all");
        CheckOk(CompactAllBlocking(tree_.get()), "CompactAll()");
        tree_->manifest().CheckInvariants();
        break;
      case ScanOp::kCheckpoint:
        Trace("checkpoint");
        CheckOk(CheckpointBlocking(tree_.get()), "Checkpoint()");
        checkpointed_ = latest_;
        break;
      case ScanOp::kAcquireSnapshot:
        AcquireSnapshot();
        break;
      case ScanOp::kReleaseSnapshot:
        ReleaseSnapshot(input->Byte());
        break;
      case ScanOp::kScan:
        Scan(input);
        break;
      case ScanOp::kGet: {
        const Key key = input->Below(kKeySpace + 8);
        Get(key, input->Byte());
        break;
      }
      case ScanOp::kReopen:
        Reopen();
        break;
    }
  }

  // Full scans of the final state and of every snapshot still held.
  void CheckEverything() {
    Trace("final scans");
    for (Direction direction :
         {Direction::kAscending, Direction::kDescending}) {
      ScanChecked(kSnapshotLatest, latest_, 0, S::kKeyMax, direction, 0, 0,
                  /*probe=*/false, /*writes=*/false, UINT64_MAX);
      for (const Held& held : snapshots_) {
        ScanChecked(held.snapshot, held.model, 0, S::kKeyMax, direction, 1, 0,
                    false, false, UINT64_MAX);
      }
    }
  }

 private:
  struct Held {
    Snapshot snapshot;
    Map model;
  };

  void Trace(const std::string& what) const {
    if (Verbose())
      std::fprintf(stderr, "op %zu: %s\n", op_index_, what.c_str());
  }

  void OpenStorage() {
    memory_ = MemoryStorage::Open(device_);
    storage_ = memory_.get();
    if (config_.copying) {
      FaultOptions faults;
      faults.delay_probability = config_.delay_probability;
      faults.request_count_max = 64;
      fault_ = std::make_unique<FaultStorage>(memory_.get(), faults,
                                              /*seed=*/op_index_ + 1);
      storage_ = fault_.get();
    }
  }

  uint64_t NextSeed(FuzzInput* input) {
    return (uint64_t{op_index_} << 8) | input->Byte();
  }

  void Apply(Map* model, const Value& value) {
    if (S::is_tombstone(value)) {
      model->erase(S::key_of(value));
    } else {
      (*model)[S::key_of(value)] = value;
    }
  }

  // A write with back-pressure: compact when the memory tables are full,
  // then give snapshots back if they still hold them.
  void Write(const Value& value) {
    absl::Status status = tree_->Put(value);
    if (absl::IsResourceExhausted(status)) {
      CheckOk(CompactBlocking(tree_.get()), "Compact() for back-pressure");
      status = tree_->Put(value);
    }
    if (absl::IsResourceExhausted(status) && !snapshots_.empty()) {
      ReleaseAllSnapshots();
      CheckOk(CompactBlocking(tree_.get()), "Compact() for back-pressure");
      status = tree_->Put(value);
    }
    CheckOk(status, "Put() with no snapshot held, after Compact()");
    Apply(&latest_, value);
  }

  // A write during a scan: the scan pins memory tables, so the tree may
  // refuse it (ResourceExhausted) even after a compaction.
  void WriteDuringScan(const Value& value) {
    absl::Status status = tree_->Put(value);
    if (absl::IsResourceExhausted(status)) {
      CheckOk(CompactBlocking(tree_.get()), "Compact() during a scan");
      status = tree_->Put(value);
    }
    if (absl::IsResourceExhausted(status)) return;
    CheckOk(status, "Put() during a scan");
    Apply(&latest_, value);
  }

  void AcquireSnapshot() {
    if (snapshots_.size() >= kSnapshotCountMax) return;
    absl::StatusOr<Snapshot> snapshot = tree_->AcquireSnapshot();
    CheckOk(snapshot.status(), "AcquireSnapshot()");
    Trace(absl::StrCat("acquire snapshot ", *snapshot));
    snapshots_.push_back({*snapshot, latest_});
  }

  void ReleaseSnapshot(uint8_t which) {
    if (snapshots_.empty()) return;
    const size_t index = which % snapshots_.size();
    Trace(absl::StrCat("release snapshot ", snapshots_[index].snapshot));
    CheckOk(tree_->ReleaseSnapshot(snapshots_[index].snapshot),
            "ReleaseSnapshot()");
    snapshots_.erase(snapshots_.begin() + static_cast<ptrdiff_t>(index));
  }

  void ReleaseAllSnapshots() {
    while (!snapshots_.empty()) ReleaseSnapshot(0);
  }

  // The snapshot chosen by `which`: latest, or a held one.
  std::pair<Snapshot, const Map*> ChooseSnapshot(uint8_t which) const {
    if (which % 2 == 0 || snapshots_.empty()) {
      return {kSnapshotLatest, &latest_};
    }
    const Held& held = snapshots_[(which / 2) % snapshots_.size()];
    return {held.snapshot, &held.model};
  }

  void Get(Key key, uint8_t which) {
    const auto [snapshot, model] = ChooseSnapshot(which);
    Trace(absl::StrCat("get ", key, " at ", snapshot));
    absl::StatusOr<std::optional<Value>> got =
        GetBlocking(tree_.get(), key, snapshot, frame_.data());
    CheckOk(got.status(), "Get()");
    const auto it = model->find(key);
    FUZZ_CHECK(got->has_value() == (it != model->end()),
               absl::StrCat("get ", key, ": found ", got->has_value(),
                            ", the model says ", it != model->end()));
    if (got->has_value()) {
      FUZZ_CHECK(std::memcmp(&**got, &it->second, sizeof(Value)) == 0,
                 absl::StrCat("get ", key, ": another value"));
    }
  }

  void Reopen() {
    Trace("reopen");
    ReleaseAllSnapshots();
    tree_.reset();
    fault_.reset();
    memory_.reset();
    OpenStorage();
    absl::StatusOr<std::unique_ptr<Tree<S>>> tree =
        Tree<S>::Open(storage_, config_.options);
    CheckOk(tree.status(), "Tree::Open() of a checkpointed tree");
    tree_ = *std::move(tree);
    latest_ = checkpointed_;
    ScanChecked(kSnapshotLatest, latest_, 0, S::kKeyMax, Direction::kAscending,
                0, 0, false, false, UINT64_MAX);
  }

  void Scan(FuzzInput* input) {
    Key key_min = input->Below(kKeySpace + 8);
    Key key_max = input->Below(kKeySpace + 8);
    if (key_max < key_min) std::swap(key_min, key_max);
    const uint8_t flags = input->Byte();
    const uint32_t seed = input->Int<uint32_t>();
    const Direction direction =
        (flags & 1) ? Direction::kDescending : Direction::kAscending;
    const auto [snapshot, model] = ChooseSnapshot(flags >> 1);
    const uint32_t read_ahead = (flags >> 2) % 4;
    const bool probe = (flags & 16) != 0;
    const bool writes = (flags & 32) != 0 && snapshot == kSnapshotLatest;
    const uint64_t value_count_max = (flags & 64) ? seed % 64 : UINT64_MAX;
    ScanChecked(snapshot, *model, key_min, key_max, direction, read_ahead, seed,
                probe, writes, value_count_max);
  }

  // Reads until the callback ran; checks it did not run inside Read().
  absl::Status ReadBlocking(ScanTree<S>* scan) {
    struct Done {
      bool done = false;
      absl::Status status;
    } done;
    scan->Read(
        [](void* context, ScanTree<S>*, absl::Status status) {
          auto* d = static_cast<Done*>(context);
          d->done = true;
          d->status = std::move(status);
        },
        &done);
    FUZZ_CHECK(!done.done, "Read() called back from inside the call");
    while (!done.done) storage_->Tick(Storage::TickMode::kWaitForProgress);
    return done.status;
  }

  // Scans [key_min, key_max] at `snapshot` and compares with `model_map`
  // (copied first: writes during the scan change the latest model).
  void ScanChecked(Snapshot snapshot, const Map& model_map, Key key_min,
                   Key key_max, Direction direction, uint32_t read_ahead,
                   uint32_t seed, bool probe, bool writes,
                   uint64_t value_count_max) {
    const bool ascending = direction == Direction::kAscending;
    Trace(absl::StrCat("scan [", key_min, ", ", key_max, "] ",
                       ascending ? "asc" : "desc", " at ", snapshot,
                       " read_ahead ", read_ahead, " seed ", seed,
                       probe ? " probe" : "", writes ? " writes" : "", " max ",
                       value_count_max));
    std::vector<Value> expected;
    for (auto it = model_map.lower_bound(key_min);
         it != model_map.end() && !(key_max < it->first); ++it) {
      expected.push_back(it->second);
    }
    if (!ascending) std::reverse(expected.begin(), expected.end());

    ScanBufferOptions buffer_options;
    buffer_options.read_ahead_blocks = read_ahead;
    absl::StatusOr<std::unique_ptr<ScanBuffer>> buffer =
        ScanBuffer::ForTree(*tree_, buffer_options);
    CheckOk(buffer.status(), "ScanBuffer::ForTree()");
    ScanTree<S> scan;
    CheckOk(scan.Init(tree_.get(), buffer->get(), snapshot, key_min, key_max,
                      direction),
            "ScanTree::Init()");
    Prng prng(seed);
    const double probe_probability = probe ? 0.02 + (seed % 8) * 0.02 : 0;
    const double write_probability = writes ? 0.05 : 0;
    size_t position = 0;
    uint64_t values = 0;
    const Key start_bound = ascending ? key_min : key_max;

    auto where = [&]() {
      return absl::StrCat("op ", op_index_, ", scan [", key_min, ", ", key_max,
                          "] ", ascending ? "asc" : "desc", " at ", snapshot,
                          ", position ", position);
    };
    auto before = [&](Key a, Key b) { return ascending ? a < b : b < a; };
    auto do_probe = [&]() {
      // Probes only move forward: one before the range changes nothing (the
      // values checked from here on show it).
      if (scan.state() != ScanState::kAborted && prng.Chance(0.1) &&
          (ascending ? start_bound > 0 : start_bound < S::kKeyMax)) {
        const Key back = ascending ? start_bound - 1 : start_bound + 1;
        const absl::Status ignored = scan.Probe(back);
        FUZZ_CHECK(ignored.ok(),
                   absl::StrCat(where(), ": a backward probe to ", back,
                                " gave ", ignored.ToString()));
      }
      // Somewhere from the next expected key to a little past the range.
      const Key from = position < expected.size()
                           ? S::key_of(expected[position])
                           : (ascending ? key_max : key_min);
      const Key to = ascending ? key_max : key_min;
      const uint64_t span = ascending ? to - from : from - to;
      const uint64_t step = prng.Uniform(span / 2 + 3);
      const Key key = ascending
                          ? from + std::min<uint64_t>(step, S::kKeyMax - from)
                          : (step > from ? Key{0} : from - step);
      const absl::Status probed = scan.Probe(key);
      FUZZ_CHECK(probed.ok(), absl::StrCat(where(), ": probe to ", key, ": ",
                                           probed.ToString()));
      while (position < expected.size() &&
             before(S::key_of(expected[position]), key)) {
        position++;
      }
    };

    if (prng.Chance(probe_probability)) do_probe();
    bool read_pending = true;
    while (true) {
      if (read_pending) {
        const absl::Status read = ReadBlocking(&scan);
        FUZZ_CHECK(read.ok(),
                   absl::StrCat(where(), ": Read(): ", read.ToString()));
        read_pending = false;
      }
      const ScanNext<Value> next = scan.Next();
      if (next.kind == ScanNextKind::kReadAgain) {
        FUZZ_CHECK(scan.state() == ScanState::kNeedsData,
                   absl::StrCat(where(), ": ReadAgain in state ",
                                ScanStateName(scan.state())));
        if (prng.Chance(probe_probability)) do_probe();
        read_pending = scan.state() == ScanState::kNeedsData;
        continue;
      }
      if (next.kind == ScanNextKind::kEnd) {
        FUZZ_CHECK(
            position == expected.size(),
            absl::StrCat(
                where(),
                ": the scan ended early; next "
                "expected key ",
                S::key_of(expected[std::min(position, expected.size() - 1)])));
        break;
      }
      FUZZ_CHECK(position < expected.size(),
                 absl::StrCat(where(), ": got key ", S::key_of(*next.value),
                              " past the end of the expected values"));
      FUZZ_CHECK(
          std::memcmp(next.value, &expected[position], sizeof(Value)) == 0,
          absl::StrCat(where(), ": got key ", S::key_of(*next.value),
                       S::is_tombstone(*next.value) ? " (tombstone)" : "",
                       ", expected key ", S::key_of(expected[position])));
      position++;
      values++;
      if (values >= value_count_max) {
        scan.Abort();
        const ScanNext<Value> after = scan.Next();
        FUZZ_CHECK(after.kind == ScanNextKind::kEnd,
                   absl::StrCat(where(), ": Next() after Abort() is not End"));
        break;
      }
      if (prng.Chance(write_probability)) {
        const Key key = prng.Uniform(kKeySpace);
        WriteDuringScan(prng.Chance(0.3) ? S::tombstone(key)
                                         : S::Make(key, prng.Next()));
      }
      if (prng.Chance(probe_probability)) do_probe();
    }
  }

  Config config_;
  std::shared_ptr<MemoryDevice> device_;
  std::unique_ptr<MemoryStorage> memory_;
  std::unique_ptr<FaultStorage> fault_;
  Storage* storage_ = nullptr;
  std::unique_ptr<Tree<S>> tree_;
  AlignedBuffer frame_;
  Map latest_;
  Map checkpointed_;
  std::vector<Held> snapshots_;
  size_t op_index_ = 0;
};

// Runs one input (see the file comment).
int Run(const uint8_t* data, size_t size) {
  FuzzInput input(data, size);
  const Config config = Config::From(&input);
  Harness harness(config);
  for (size_t op = 0; op < kOpCountMax && !input.empty(); op++) {
    harness.Step(&input, op);
  }
  harness.CheckEverything();
  return 0;
}

}  // namespace
}  // namespace fuzz
}  // namespace lsmscan

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return lsmscan::fuzz::Run(data, size);
}
