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
#include "lsmscan/scan/scan_blocking.h"
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
      ScanChecked({.direction = direction}, latest_);
      for (const Held& held : snapshots_) {
        ScanChecked({.snapshot = held.snapshot,
                     .direction = direction,
                     .read_ahead = 1},
                    held.model);
      }
    }
  }

 private:
  struct Held {
    SnapshotHandle handle;
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
    absl::StatusOr<SnapshotHandle> handle = tree_->AcquireSnapshot();
    // Refused past the memory-table limit (tree.h): nothing is held.
    if (absl::IsResourceExhausted(handle.status()) &&
        tree_->snapshot_memory_table_count() <=
            tree_->snapshot_memory_table_count_max()) {
      return;
    }
    CheckOk(handle.status(), "AcquireSnapshot()");
    Trace(absl::StrCat("acquire snapshot ", handle->snapshot()));
    snapshots_.push_back({*handle, handle->snapshot(), latest_});
  }

  void ReleaseSnapshot(uint8_t which) {
    if (snapshots_.empty()) return;
    const size_t index = which % snapshots_.size();
    Trace(absl::StrCat("release snapshot ", snapshots_[index].snapshot));
    CheckOk(tree_->ReleaseSnapshot(snapshots_[index].handle),
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
    ScanChecked({.direction = Direction::kAscending}, latest_);
  }

  void Scan(FuzzInput* input) {
    ScanPlan plan;
    plan.key_min = input->Below(kKeySpace + 8);
    plan.key_max = input->Below(kKeySpace + 8);
    if (plan.key_max < plan.key_min) std::swap(plan.key_min, plan.key_max);
    const uint8_t flags = input->Byte();
    plan.seed = input->Int<uint32_t>();
    plan.direction =
        (flags & 1) ? Direction::kDescending : Direction::kAscending;
    const auto [snapshot, model] = ChooseSnapshot(flags >> 1);
    plan.snapshot = snapshot;
    plan.read_ahead = (flags >> 2) % 4;
    plan.probe = (flags & 16) != 0;
    plan.writes = (flags & 32) != 0 && snapshot == kSnapshotLatest;
    plan.value_count_max = (flags & 64) ? plan.seed % 64 : UINT64_MAX;
    ScanChecked(plan, *model);
  }

  // Reads until the callback ran (scan_blocking.h asserts it did not run
  // inside Read()).
  absl::Status ReadBlocking(ScanTree<S>* scan) {
    return lsmscan::ReadBlocking(scan, storage_);
  }

  // What a checked scan reads: a range, a direction, a snapshot, a
  // read-ahead, and the seed of the generator that decides when it probes,
  // writes (to the tree, mid-scan) and aborts. By default, the whole key
  // space at the latest snapshot, without probes, writes or aborts.
  struct ScanPlan {
    Snapshot snapshot = kSnapshotLatest;
    Key key_min = 0;
    Key key_max = S::kKeyMax;
    Direction direction = Direction::kAscending;
    uint32_t read_ahead = 0;
    uint32_t seed = 0;
    bool probe = false;
    bool writes = false;
    uint64_t value_count_max = UINT64_MAX;  // Then Abort().
  };

  // Scans as `plan` says and compares with `model_map` (copied first:
  // writes during the scan change the latest model).
  void ScanChecked(const ScanPlan& plan, const Map& model_map) {
    Trace(absl::StrCat("scan [", plan.key_min, ", ", plan.key_max, "] ",
                       plan.direction == Direction::kAscending ? "asc" : "desc",
                       " at ", plan.snapshot, " read_ahead ", plan.read_ahead,
                       " seed ", plan.seed, plan.probe ? " probe" : "",
                       plan.writes ? " writes" : "", " max ",
                       plan.value_count_max));
    CheckedScan scan(this, plan, model_map);
    scan.Run();
  }

  // CheckedScan
  //
  // One scan of the tree beside the values the model expects of it, and
  // where it stands among them.
  class CheckedScan {
   public:
    CheckedScan(Harness* harness, const ScanPlan& plan, const Map& model_map)
        : harness_(harness),
          plan_(plan),
          ascending_(plan.direction == Direction::kAscending),
          prng_(plan.seed),
          probe_probability_(plan.probe ? 0.02 + (plan.seed % 8) * 0.02 : 0),
          write_probability_(plan.writes ? 0.05 : 0) {
      for (auto it = model_map.lower_bound(plan.key_min);
           it != model_map.end() && !(plan.key_max < it->first); ++it) {
        expected_.push_back(it->second);
      }
      if (!ascending_) std::reverse(expected_.begin(), expected_.end());
      ScanBufferOptions buffer_options;
      buffer_options.read_ahead_blocks = plan.read_ahead;
      absl::StatusOr<std::unique_ptr<ScanBuffer>> buffer =
          ScanBuffer::ForTree(*harness->tree_, buffer_options);
      CheckOk(buffer.status(), "ScanBuffer::ForTree()");
      buffer_ = *std::move(buffer);
      CheckOk(scan_.Init(harness->tree_.get(), buffer_.get(), plan.snapshot,
                         plan.key_min, plan.key_max, plan.direction),
              "ScanTree::Init()");
    }

    // Reads to the end (or the abort), checking every value.
    void Run() {
      if (prng_.Chance(probe_probability_)) Probe();
      bool read_pending = true;
      while (true) {
        if (read_pending) {
          const absl::Status read = harness_->ReadBlocking(&scan_);
          FUZZ_CHECK(read.ok(),
                     absl::StrCat(Where(), ": Read(): ", read.ToString()));
          read_pending = false;
        }
        const ScanNext<Value> next = scan_.Next();
        if (next.kind == ScanNextKind::kReadAgain) {
          FUZZ_CHECK(scan_.state() == ScanState::kNeedsData,
                     absl::StrCat(Where(), ": ReadAgain in state ",
                                  ScanStateName(scan_.state())));
          if (prng_.Chance(probe_probability_)) Probe();
          read_pending = scan_.state() == ScanState::kNeedsData;
          continue;
        }
        if (next.kind == ScanNextKind::kEnd) {
          FUZZ_CHECK(
              position_ == expected_.size(),
              absl::StrCat(
                  Where(), ": the scan ended early; next expected key ",
                  S::key_of(
                      expected_[std::min(position_, expected_.size() - 1)])));
          return;
        }
        if (!TakeValue(*next.value)) return;
      }
    }

   private:
    // Checks one value; then maybe aborts (false), writes or probes.
    bool TakeValue(const Value& value) {
      FUZZ_CHECK(position_ < expected_.size(),
                 absl::StrCat(Where(), ": got key ", S::key_of(value),
                              " past the end of the expected values"));
      FUZZ_CHECK(
          std::memcmp(&value, &expected_[position_], sizeof(Value)) == 0,
          absl::StrCat(Where(), ": got key ", S::key_of(value),
                       S::is_tombstone(value) ? " (tombstone)" : "",
                       ", expected key ", S::key_of(expected_[position_])));
      position_++;
      values_++;
      if (values_ >= plan_.value_count_max) {
        scan_.Abort();
        const ScanNext<Value> after = scan_.Next();
        FUZZ_CHECK(after.kind == ScanNextKind::kEnd,
                   absl::StrCat(Where(), ": Next() after Abort() is not End"));
        return false;
      }
      if (prng_.Chance(write_probability_)) {
        const Key key = prng_.Uniform(kKeySpace);
        harness_->WriteDuringScan(
            prng_.Chance(0.3) ? S::tombstone(key) : S::Make(key, prng_.Next()));
      }
      if (prng_.Chance(probe_probability_)) Probe();
      return true;
    }

    // Sometimes a backward probe (a no-op), then a probe from the next
    // expected key to a little past the range; skips the values it passes.
    void Probe() {
      // Probes only move forward: one before the range changes nothing (the
      // values checked from here on show it).
      const Key start_bound = ascending_ ? plan_.key_min : plan_.key_max;
      if (scan_.state() != ScanState::kAborted && prng_.Chance(0.1) &&
          (ascending_ ? start_bound > 0 : start_bound < S::kKeyMax)) {
        const Key back = ascending_ ? start_bound - 1 : start_bound + 1;
        const absl::Status ignored = scan_.Probe(back);
        FUZZ_CHECK(ignored.ok(),
                   absl::StrCat(Where(), ": a backward probe to ", back,
                                " gave ", ignored.ToString()));
      }
      // Somewhere from the next expected key to a little past the range.
      const Key from = position_ < expected_.size()
                           ? S::key_of(expected_[position_])
                           : (ascending_ ? plan_.key_max : plan_.key_min);
      const Key to = ascending_ ? plan_.key_max : plan_.key_min;
      const uint64_t span = ascending_ ? to - from : from - to;
      const uint64_t step = prng_.Uniform(span / 2 + 3);
      const Key key = ascending_
                          ? from + std::min<uint64_t>(step, S::kKeyMax - from)
                          : (step > from ? Key{0} : from - step);
      const absl::Status probed = scan_.Probe(key);
      FUZZ_CHECK(probed.ok(), absl::StrCat(Where(), ": probe to ", key, ": ",
                                           probed.ToString()));
      while (position_ < expected_.size() &&
             Before(S::key_of(expected_[position_]), key)) {
        position_++;
      }
    }

    bool Before(Key a, Key b) const { return ascending_ ? a < b : b < a; }

    std::string Where() const {
      return absl::StrCat("op ", harness_->op_index_, ", scan [", plan_.key_min,
                          ", ", plan_.key_max, "] ",
                          ascending_ ? "asc" : "desc", " at ", plan_.snapshot,
                          ", position ", position_);
    }

    Harness* harness_;
    const ScanPlan plan_;
    const bool ascending_;
    Prng prng_;
    const double probe_probability_;
    const double write_probability_;
    std::vector<Value> expected_;
    std::unique_ptr<ScanBuffer> buffer_;
    ScanTree<S> scan_;
    size_t position_ = 0;
    uint64_t values_ = 0;
  };

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
