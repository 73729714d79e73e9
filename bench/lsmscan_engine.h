// File: bench/lsmscan_engine.h
// -----------------------------------------------------------------------------
//
// lsmscan's side of //bench:compare: loading a Dataset into a Tree, and the
// workloads as ScanTree loops (Init, Read, Next until End), hashing every
// record the way the RocksDB side does (bench/record_digest.h).

#ifndef LSMSCAN_BENCH_LSMSCAN_ENGINE_H_
#define LSMSCAN_BENCH_LSMSCAN_ENGINE_H_

#include <chrono>
#include <cstdint>
#include <cstring>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "lsmscan/bench/dataset.h"
#include "lsmscan/bench/dataset_value.h"
#include "lsmscan/bench/engine.h"
#include "lsmscan/bench/record_digest.h"
#include "lsmscan/lsm/schema.h"
#include "lsmscan/lsm/tree.h"
#include "lsmscan/lsm/tree_blocking.h"
#include "lsmscan/scan/scan_buffer.h"
#include "lsmscan/scan/scan_tree.h"
#include "lsmscan/storage/base/status_macros.h"
#include "lsmscan/storage/storage.h"

namespace lsmscan {
namespace bench {

// WriteCounters
//
// How often a put found the memory tables full and ran a compaction
// itself (inside the put's time), and those compactions' total seconds.
struct WriteCounters {
  uint64_t puts = 0;
  uint64_t stalls = 0;
  double stall_seconds = 0;
};

// PutPacing()
//
// Puts `value`. While the tree answers ResourceExhausted (memory tables
// full: today's back-pressure, see lsm/tree.h), runs Compact() to
// completion, counting it in `counters`, and tries again; a tree that paces
// compaction by its writes never answers so, and then this is a plain Put.
// Gives up (returning the ResourceExhausted) if compacting three times in a
// row frees nothing, e.g. when a reader pins the memory tables.
template <Schema S>
absl::Status PutPacing(Tree<S>* tree, const typename S::Value& value,
                       WriteCounters* counters) {
  counters->puts++;
  for (int attempt = 0;; attempt++) {
    absl::Status status = tree->Put(value);
    if (!absl::IsResourceExhausted(status) || attempt == 3) return status;
    counters->stalls++;
    const auto start = std::chrono::steady_clock::now();
    absl::Status compacted = CompactBlocking(tree);
    counters->stall_seconds +=
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
            .count();
    if (absl::IsFailedPrecondition(compacted)) {
      // A compaction of the tree's own is running: let it progress.
      tree->storage()->Tick(Storage::TickMode::kWaitForProgress);
    } else if (!compacted.ok()) {
      return compacted;
    }
  }
}

// LoadTree()
//
// Applies `operations` to `tree` (through PutPacing), then for the
// compacted shape compacts everything into one sorted run; otherwise
// settles the tree (Compact(): sealed memory tables flushed, no level over
// its size), as the RocksDB side waits for its background work. `progress(done,
// total)` is called every 1% or so.
template <Schema S>
absl::Status LoadTree(Tree<S>* tree, const Dataset& dataset,
                      const std::vector<Operation>& operations, Shape shape,
                      const std::function<void(uint64_t, uint64_t)>& progress) {
  using Value = typename S::Value;
  if (dataset.value_size_bytes() != sizeof(Value) ||
      dataset.payload_size_bytes() != sizeof(Value{}.payload)) {
    return absl::InvalidArgumentError(
        "dataset and schema value or payload sizes differ");
  }
  WriteCounters counters;
  const uint64_t step = std::max<uint64_t>(1, operations.size() / 100);
  for (uint64_t i = 0; i < operations.size(); i++) {
    const Value value = DatasetValue<S>(dataset, operations[i]);
    LSMSCAN_RETURN_IF_ERROR(PutPacing(tree, value, &counters));
    if (i % step == 0) progress(i, operations.size());
  }
  progress(operations.size(), operations.size());
  if (shape == Shape::kCompacted) return CompactAllBlocking(tree);
  // Settle, as RocksDB's side waits for its flushes and compactions: flush
  // the sealed memory tables and compact over-full levels, keeping the
  // mutable table (RocksDB keeps its active memtable).
  return CompactBlocking(tree);
}

// TreeLayout()
//
// Sorted runs (non-empty memory tables and levels), bytes of live tables
// (data and index blocks), and "L0 4, L1 16 tables; memory: 1 sealed +
// 20000 mutable values".
template <Schema S>
Layout TreeLayout(const Tree<S>& tree) {
  Layout layout;
  std::string levels;
  const uint64_t block_bytes = tree.grid().block_size_bytes();
  for (uint32_t level = 0; level < tree.level_count(); level++) {
    const uint64_t count = tree.manifest().live_table_count(level);
    if (count == 0) continue;
    layout.sorted_runs++;
    absl::StrAppend(&levels, levels.empty() ? "" : ", ", "L", level, " ",
                    count);
    for (const auto& table : tree.manifest().tables(level)) {
      if (table.info.snapshot_max != kSnapshotForever) continue;
      layout.bytes_on_disk += (table.info.data_block_count + 1) * block_bytes;
    }
  }
  const MemoryTables<S>& memory = tree.memory_tables();
  uint64_t sealed = 0;
  for (const TableMemory<S>* table : memory.immutables()) {
    sealed += table->retired() ? 0 : 1;
  }
  const uint64_t mutable_count =
      memory.has_mutable() ? memory.mutable_table().count() : 0;
  layout.sorted_runs += static_cast<uint32_t>(sealed) + (mutable_count > 0);
  layout.description =
      absl::StrCat(levels.empty() ? "no" : levels, " tables; memory: ", sealed,
                   " sealed + ", mutable_count, " mutable values");
  return layout;
}

// LsmscanEngine<S>
template <Schema S>
class LsmscanEngine final : public Engine {
 public:
  using Value = typename S::Value;

  // Owns `storage` and `tree`; scans read through a buffer with
  // `read_ahead_blocks` of read-ahead.
  static absl::StatusOr<std::unique_ptr<LsmscanEngine>> Create(
      std::unique_ptr<Storage> storage, std::unique_ptr<Tree<S>> tree,
      std::string variant, Temperature temperature,
      uint32_t read_ahead_blocks) {
    LSMSCAN_ASSIGN_OR_RETURN(
        std::unique_ptr<ScanBuffer> buffer,
        ScanBuffer::ForTree(*tree, {.read_ahead_blocks = read_ahead_blocks}));
    return std::unique_ptr<LsmscanEngine>(
        new LsmscanEngine(std::move(storage), std::move(tree),
                          std::move(buffer), std::move(variant), temperature));
  }

  ~LsmscanEngine() override {
    scan_.reset();  // Before the tree it reads.
    tree_.reset();
  }

  std::string family() const override { return "lsmscan"; }
  std::string variant() const override { return variant_; }
  Temperature temperature() const override { return temperature_; }
  uint64_t device_reads() const override {
    return storage_->stats().read_count;
  }
  uint64_t device_requests() const override {
    return storage_->stats().device_read_count;
  }
  Layout layout() const override { return TreeLayout(*tree_); }
  Tree<S>* tree() { return tree_.get(); }

  absl::StatusOr<ScanOutcome> FullScan(Direction direction) override {
    ScanOutcome outcome;
    LSMSCAN_RETURN_IF_ERROR(
        Scan(0, S::kKeyMax, direction, UINT64_MAX, &outcome));
    return outcome;
  }

  absl::StatusOr<ScanOutcome> RangeScans(std::span<const uint64_t> starts,
                                         uint64_t length,
                                         Direction direction) override {
    ScanOutcome outcome;
    for (uint64_t start : starts) {
      LSMSCAN_RETURN_IF_ERROR(
          Scan(start, start + length - 1, direction, UINT64_MAX, &outcome));
    }
    return outcome;
  }

  absl::StatusOr<ScanOutcome> SeekScans(std::span<const uint64_t> starts,
                                        uint32_t count) override {
    ScanOutcome outcome;
    for (uint64_t start : starts) {
      LSMSCAN_RETURN_IF_ERROR(
          Scan(start, S::kKeyMax, Direction::kAscending, count, &outcome));
    }
    return outcome;
  }

  absl::Status Put(uint64_t key, std::span<const uint8_t> payload) override {
    Value value{};
    if (payload.size() != value.payload.size()) {
      return absl::InvalidArgumentError("payload size differs from schema's");
    }
    value.key = key;
    std::memcpy(value.payload.data(), payload.data(), payload.size());
    return PutPacing(tree_.get(), value, &writes_);
  }

  std::string WriteStats() const override {
    if (writes_.puts == 0) return "";
    const TreeStats& stats = tree_->stats();
    return absl::StrFormat(
        "%u puts; %u found the memory tables full and compacted first "
        "(%.2f s in all); tree totals: %u flushes, %u compactions, %u moves",
        writes_.puts, writes_.stalls, writes_.stall_seconds, stats.flushes,
        stats.compactions, stats.moves);
  }

 private:
  LsmscanEngine(std::unique_ptr<Storage> storage, std::unique_ptr<Tree<S>> tree,
                std::unique_ptr<ScanBuffer> buffer, std::string variant,
                Temperature temperature)
      : storage_(std::move(storage)),
        tree_(std::move(tree)),
        buffer_(std::move(buffer)),
        scan_(std::make_unique<ScanTree<S>>()),
        variant_(std::move(variant)),
        temperature_(temperature) {}

  // Scans [key_min, key_max] in `direction`, hashing at most `limit`
  // records, and folds the scan's digest into `outcome`.
  absl::Status Scan(uint64_t key_min, uint64_t key_max, Direction direction,
                    uint64_t limit, ScanOutcome* outcome) {
    ScanTree<S>& scan = *scan_;
    LSMSCAN_RETURN_IF_ERROR(scan.Init(tree_.get(), buffer_.get(),
                                      kSnapshotLatest, key_min, key_max,
                                      direction));
    digest_.Reset();
    uint64_t records = 0;
    while (records < limit) {
      LSMSCAN_RETURN_IF_ERROR(ReadBlocking(&scan));
      ScanNext<Value> next = scan.Next();
      for (; next.kind == ScanNextKind::kValue; next = scan.Next()) {
        const Value& value = *next.value;
        digest_.Add(S::key_of(value), value.payload.data(),
                    value.payload.size());
        if (++records == limit) break;
      }
      if (next.kind == ScanNextKind::kEnd) break;
    }
    // Stopped before its end: Abort() gives the memory tables back at once
    // (ScanTree::Abort()), so the next Put() finds the mutable table free;
    // the scan object is reused by the next Init(), as a user would.
    if (records == limit) scan.Abort();
    outcome->records += records;
    outcome->digest = FoldDigest(outcome->digest, digest_.Finish());
    return absl::OkStatus();
  }

  absl::Status ReadBlocking(ScanTree<S>* scan) {
    if (scan->ReadResident()) return absl::OkStatus();  // All resident.
    read_done_ = false;
    scan->Read(
        [](void* context, ScanTree<S>*, absl::Status status) {
          auto* self = static_cast<LsmscanEngine*>(context);
          self->read_done_ = true;
          self->read_status_ = std::move(status);
        },
        this);
    while (!read_done_) storage_->Tick(Storage::TickMode::kWaitForProgress);
    return read_status_;
  }

  std::unique_ptr<Storage> storage_;
  std::unique_ptr<Tree<S>> tree_;
  std::unique_ptr<ScanBuffer> buffer_;
  std::unique_ptr<ScanTree<S>> scan_;
  std::string variant_;
  Temperature temperature_;
  RecordDigest digest_;
  WriteCounters writes_;
  bool read_done_ = false;
  absl::Status read_status_;
};

}  // namespace bench
}  // namespace lsmscan

#endif  // LSMSCAN_BENCH_LSMSCAN_ENGINE_H_
