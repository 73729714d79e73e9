// File: bench/lsmscan_engine.h
// -----------------------------------------------------------------------------
//
// lsmscan's side of //bench:compare: loading a Dataset into a Tree, and the
// workloads as ScanTree loops (Init, Read, Next until End), touching every
// record the way the RocksDB side does.

#ifndef LSMSCAN_BENCH_LSMSCAN_ENGINE_H_
#define LSMSCAN_BENCH_LSMSCAN_ENGINE_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "lsmscan/bench/dataset.h"
#include "lsmscan/bench/engine.h"
#include "lsmscan/lsm/schema.h"
#include "lsmscan/lsm/tree.h"
#include "lsmscan/lsm/tree_blocking.h"
#include "lsmscan/scan/scan_buffer.h"
#include "lsmscan/scan/scan_tree.h"
#include "lsmscan/storage/base/status_macros.h"
#include "lsmscan/storage/storage.h"

namespace lsmscan {
namespace bench {

// LoadTree()
//
// Applies the dataset's operations for `shape` to `tree`, compacting when
// the memory tables fill up (as a running system would), then for the
// compacted shape compacts everything into one sorted run. `progress(done,
// total)` is called every 1% or so.
template <Schema S>
absl::Status LoadTree(Tree<S>* tree, const Dataset& dataset, Shape shape,
                      const std::function<void(uint64_t, uint64_t)>& progress) {
  using Value = typename S::Value;
  static_assert(sizeof(Value) >= 16);
  if (dataset.value_size_bytes() != sizeof(Value)) {
    return absl::InvalidArgumentError("dataset and schema value sizes differ");
  }
  const std::vector<Operation> operations = dataset.Operations(shape);
  const uint64_t step = std::max<uint64_t>(1, operations.size() / 100);
  for (uint64_t i = 0; i < operations.size(); i++) {
    const Operation& operation = operations[i];
    Value value{};
    if (operation.remove) {
      value = S::tombstone(operation.key);
    } else {
      value.key_word = operation.key;
      dataset.Payload(operation.key, operation.version, value.payload.data());
    }
    LSMSCAN_RETURN_IF_ERROR(PutWithBackPressure(tree, value));
    if (i % step == 0) progress(i, operations.size());
  }
  progress(operations.size(), operations.size());
  if (shape == Shape::kCompacted) return CompactAllBlocking(tree);
  return absl::OkStatus();
}

// DescribeTreeShape()
//
// "L0 4, L1 16, L2 9 tables; memory 1 sealed + 20000 values".
template <Schema S>
std::string DescribeTreeShape(const Tree<S>& tree) {
  std::string levels;
  for (uint32_t level = 0; level < tree.level_count(); level++) {
    const uint64_t count = tree.manifest().live_table_count(level);
    if (count == 0) continue;
    absl::StrAppend(&levels, levels.empty() ? "" : ", ", "L", level, " ",
                    count);
  }
  const MemoryTables<S>& memory = tree.memory_tables();
  uint64_t sealed = 0;
  for (const TableMemory<S>* table : memory.immutables()) {
    sealed += table->retired() ? 0 : 1;
  }
  const uint64_t mutable_count =
      memory.has_mutable() ? memory.mutable_table().count() : 0;
  return absl::StrCat(levels.empty() ? "no" : levels,
                      " tables; memory: ", sealed, " sealed table(s) + ",
                      mutable_count, " mutable values");
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
  std::string DescribeShape() const override {
    return DescribeTreeShape(*tree_);
  }
  Tree<S>* tree() { return tree_.get(); }

  absl::StatusOr<ScanOutcome> FullScan(Direction direction) override {
    ScanOutcome outcome;
    LSMSCAN_RETURN_IF_ERROR(Scan(0, S::kKeyMax, direction, &outcome));
    return outcome;
  }

  absl::StatusOr<ScanOutcome> RangeScans(std::span<const uint64_t> starts,
                                         uint64_t length,
                                         Direction direction) override {
    ScanOutcome outcome;
    for (uint64_t start : starts) {
      LSMSCAN_RETURN_IF_ERROR(
          Scan(start, start + length - 1, direction, &outcome));
    }
    return outcome;
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

  absl::Status Scan(uint64_t key_min, uint64_t key_max, Direction direction,
                    ScanOutcome* outcome) {
    ScanTree<S>& scan = *scan_;
    LSMSCAN_RETURN_IF_ERROR(scan.Init(tree_.get(), buffer_.get(),
                                      kSnapshotLatest, key_min, key_max,
                                      direction));
    uint64_t records = 0;
    uint64_t checksum = 0;
    while (true) {
      LSMSCAN_RETURN_IF_ERROR(ReadBlocking(&scan));
      ScanNext<Value> next = scan.Next();
      for (; next.kind == ScanNextKind::kValue; next = scan.Next()) {
        const Value& value = *next.value;
        checksum +=
            Touch(S::key_of(value), value.payload.data(), value.payload.size());
        records++;
      }
      if (next.kind == ScanNextKind::kEnd) break;
    }
    outcome->records += records;
    outcome->checksum += checksum;
    return absl::OkStatus();
  }

  absl::Status ReadBlocking(ScanTree<S>* scan) {
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
  bool read_done_ = false;
  absl::Status read_status_;
};

}  // namespace bench
}  // namespace lsmscan

#endif  // LSMSCAN_BENCH_LSMSCAN_ENGINE_H_
