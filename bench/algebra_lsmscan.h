// File: bench/algebra_lsmscan.h
// -----------------------------------------------------------------------------
//
// lsmscan's side of //bench:algebra_benchmark: the index in a Tree on the
// memory storage (zero-copy), compacted; the query as a ScanIntersection or
// ScanDifference of two ScanTreeSources (the zig-zag), or as both scans
// read whole and then std::set_intersection / std::set_difference.

#ifndef LSMSCAN_BENCH_ALGEBRA_LSMSCAN_H_
#define LSMSCAN_BENCH_ALGEBRA_LSMSCAN_H_

#include <algorithm>
#include <cstdint>
#include <functional>
#include <iterator>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "lsmscan/bench/algebra_workload.h"
#include "lsmscan/lsm/schema.h"
#include "lsmscan/lsm/tree.h"
#include "lsmscan/lsm/tree_blocking.h"
#include "lsmscan/scan/scan_buffer.h"
#include "lsmscan/scan/scan_difference.h"
#include "lsmscan/scan/scan_intersection.h"
#include "lsmscan/scan/scan_tree.h"
#include "lsmscan/scan/scan_tree_source.h"
#include "lsmscan/storage/base/assert.h"
#include "lsmscan/storage/memory_storage.h"

namespace lsmscan {
namespace bench {
namespace algebra {

using Schema32 = Record32Schema;
using Tree32 = Tree<Schema32>;

// (field, id) -> id, for ScanTreeSource.
struct IdProjection {
  using Key = uint64_t;
  Key Project(const Schema32::Value& value) const {
    return Schema32::key_of(value) & kIdMask;
  }
  uint64_t TreeKey(const Key& id, const uint64_t& key_min) const {
    return (key_min & ~kIdMask) | id;
  }
};

class LsmscanIndex {
 public:
  void Load(const Pattern& pattern, uint32_t block_size) {
    StorageOptions storage_options;
    storage_options.block_size_bytes = block_size;
    storage_options.block_count_max =
        6 * (pattern.a.size() + pattern.b.size()) * 32 / block_size + 4096;
    auto storage = MemoryStorage::Create(storage_options);
    LSMSCAN_ASSERT(storage.ok());
    storage_ = std::move(storage).value();
    auto tree = Tree32::Create(storage_.get(), TreeOptions());
    LSMSCAN_ASSERT(tree.ok());
    tree_ = std::move(tree).value();
    for (uint64_t field : {kFieldA, kFieldB}) {
      for (uint64_t id : field == kFieldA ? pattern.a : pattern.b) {
        const absl::Status put = PutWithBackPressure(
            tree_.get(), Schema32::Make(IndexKey(field, id), id));
        LSMSCAN_ASSERT(put.ok());
      }
    }
    LSMSCAN_ASSERT(CompactAllBlocking(tree_.get()).ok());
    for (auto& buffer : buffers_) {
      // Zero-copy storage: blocks are resident, read-ahead has nothing to do.
      auto made = ScanBuffer::ForTree(*tree_, {.read_ahead_blocks = 0});
      LSMSCAN_ASSERT(made.ok());
      buffer = std::move(made).value();
    }
  }

  // The zig-zag: ScanIntersection or ScanDifference of the two scans.
  Outcome ZigZag(Op op, Direction direction) {
    const double start = CpuSeconds();
    ScanTreeSource<Schema32, IdProjection> a, b;
    Init(&a, kFieldA, 0, direction);
    Init(&b, kFieldB, 1, direction);
    ScanSource<uint64_t>* sources[] = {&a, &b};
    ScanIntersection<uint64_t> intersection;
    ScanDifference<uint64_t> difference;
    ScanSource<uint64_t>* root = &intersection;
    if (op == Op::kIntersection) {
      LSMSCAN_ASSERT(intersection.Init(sources).ok());
    } else {
      LSMSCAN_ASSERT(difference.Init(sources).ok());
      root = &difference;
    }
    Outcome outcome;
    while (true) {
      ReadBlocking(root);
      SourceNext<uint64_t> next = root->Next();
      for (; next.kind == ScanNextKind::kValue; next = root->Next()) {
        outcome.results++;
        outcome.checksum += next.key;
      }
      if (next.kind == ScanNextKind::kEnd) break;
    }
    outcome.seconds = CpuSeconds() - start;
    outcome.data_blocks = root->stats().levels.data_blocks;
    return outcome;
  }

  // Both scans read whole, then std::set_intersection / set_difference.
  Outcome Full(Op op, Direction direction) {
    const double start = CpuSeconds();
    Outcome outcome;
    ScanTreeSource<Schema32, IdProjection> a, b;
    Init(&a, kFieldA, 0, direction);
    Init(&b, kFieldB, 1, direction);
    ReadAll(&a, &ids_a_);
    ReadAll(&b, &ids_b_);
    result_.clear();
    if (direction == Direction::kAscending) {
      SetOp(op, ids_a_.begin(), ids_a_.end(), ids_b_.begin(), ids_b_.end(),
            std::less<uint64_t>());
    } else {
      SetOp(op, ids_a_.begin(), ids_a_.end(), ids_b_.begin(), ids_b_.end(),
            std::greater<uint64_t>());
    }
    for (uint64_t id : result_) outcome.checksum += id;
    outcome.results = result_.size();
    outcome.seconds = CpuSeconds() - start;
    outcome.data_blocks =
        a.stats().levels.data_blocks + b.stats().levels.data_blocks;
    return outcome;
  }

  std::string Shape() const {
    std::string shape;
    for (uint32_t level = 0; level < tree_->level_count(); level++) {
      const uint64_t count = tree_->manifest().live_table_count(level);
      if (count > 0) absl::StrAppend(&shape, "L", level, " ", count, " tables");
    }
    return shape;
  }

 private:
  void Init(ScanTreeSource<Schema32, IdProjection>* source, uint64_t field,
            int buffer, Direction direction) {
    const absl::Status status =
        source->Init(tree_.get(), buffers_[buffer].get(), kSnapshotLatest,
                     IndexKey(field, 0), IndexKey(field, kIdMask), direction);
    LSMSCAN_ASSERT(status.ok());
  }

  void ReadBlocking(ScanSource<uint64_t>* source) {
    bool done = false;
    source->Read(
        [](void* context, ScanSource<uint64_t>*, absl::Status status) {
          LSMSCAN_ASSERT(status.ok());
          *static_cast<bool*>(context) = true;
        },
        &done);
    while (!done) storage_->Tick(Storage::TickMode::kWaitForProgress);
  }

  void ReadAll(ScanSource<uint64_t>* source, Ids* ids) {
    ids->clear();
    while (true) {
      ReadBlocking(source);
      SourceNext<uint64_t> next = source->Next();
      for (; next.kind == ScanNextKind::kValue; next = source->Next()) {
        ids->push_back(next.key);
      }
      if (next.kind == ScanNextKind::kEnd) return;
    }
  }

  template <typename Iterator, typename Compare>
  void SetOp(Op op, Iterator a, Iterator a_end, Iterator b, Iterator b_end,
             Compare compare) {
    if (op == Op::kIntersection) {
      std::set_intersection(a, a_end, b, b_end, std::back_inserter(result_),
                            compare);
    } else {
      std::set_difference(a, a_end, b, b_end, std::back_inserter(result_),
                          compare);
    }
  }

  std::unique_ptr<MemoryStorage> storage_;
  std::unique_ptr<Tree32> tree_;
  std::unique_ptr<ScanBuffer> buffers_[2];
  Ids ids_a_, ids_b_, result_;
};

}  // namespace algebra
}  // namespace bench
}  // namespace lsmscan

#endif  // LSMSCAN_BENCH_ALGEBRA_LSMSCAN_H_
