// File: lsm/tree_testing.h
// -----------------------------------------------------------------------------
//
// Test support for trees (testonly): a reference model (an ordered map per
// snapshot), small tree shapes that put data on many levels with little of
// it, and a googletest fixture holding such a tree. Blocking wrappers are in
// tree_blocking.h.

#ifndef LSMSCAN_LSM_TREE_TESTING_H_
#define LSMSCAN_LSM_TREE_TESTING_H_

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "gtest/gtest.h"
#include "lsmscan/lsm/schema.h"
#include "lsmscan/lsm/tree.h"
#include "lsmscan/lsm/tree_blocking.h"
#include "lsmscan/storage/aligned_buffer.h"
#include "lsmscan/storage/base/assert.h"
#include "lsmscan/storage/memory_storage.h"
#include "lsmscan/storage/storage.h"

namespace lsmscan {
namespace testing {

using ::lsmscan::AcquireSnapshotAfterCheckpoint;
using ::lsmscan::CheckpointBlocking;
using ::lsmscan::CompactAllBlocking;
using ::lsmscan::CompactBlocking;
using ::lsmscan::GetBlocking;
using ::lsmscan::PutWithBackPressure;

// Model<S>
//
// The reference: what the tree must contain, as an ordered map of live
// values, plus frozen copies for the snapshots a test holds.
template <Schema S>
class Model {
 public:
  using Key = typename S::Key;
  using Value = typename S::Value;
  using Map = std::map<Key, Value>;

  void Put(const Value& value) {
    if (S::is_tombstone(value)) {
      latest_.erase(S::key_of(value));
    } else {
      latest_[S::key_of(value)] = value;
    }
  }
  void Freeze(Snapshot snapshot) { frozen_[snapshot] = latest_; }
  void Thaw(Snapshot snapshot) { frozen_.erase(snapshot); }

  // The map a read at `snapshot` must match.
  const Map& at(Snapshot snapshot) const {
    if (snapshot == kSnapshotLatest) return latest_;
    auto it = frozen_.find(snapshot);
    LSMSCAN_ASSERT(it != frozen_.end());
    return it->second;
  }
  const Map& latest() const { return latest_; }
  void set_latest(Map map) { latest_ = std::move(map); }
  const std::map<Snapshot, Map>& frozen() const { return frozen_; }

 private:
  Map latest_;
  std::map<Snapshot, Map> frozen_;
};

// SmallTreeOptions()
//
// A shape for 4 KiB blocks that spreads a few thousand values over many
// levels: tables of 2 data blocks (252 values of 32 bytes), memory tables
// of 200 values, growth factor 2, five levels.
inline TreeOptions SmallTreeOptions() {
  TreeOptions options;
  options.level_count = 5;
  options.growth_factor = 2;
  options.table_data_block_count_max = 2;
  options.memory_table_value_count_max = 200;
  options.immutable_table_count_max = 2;
  options.cache_block_count = 64;
  options.compaction_write_frame_count = 2;
  return options;
}

// SmallStorageOptions()
//
// 4 KiB blocks, up to 2^14 of them (64 MiB): the storage the small tree
// shapes are sized for.
inline StorageOptions SmallStorageOptions() {
  StorageOptions options;
  options.block_size_bytes = 4096;
  options.block_count_max = 1 << 14;
  return options;
}

// TreeFixture
//
// A googletest fixture: a Record32 tree with SmallTreeOptions() on a fresh
// MemoryStorage with SmallStorageOptions(), created in SetUp(), and a
// block-sized frame for point reads. A test that needs other options calls
// CreateTree() again; a failure to create or open is a fatal test failure.
class TreeFixture : public ::testing::Test {
 protected:
  using Tree32 = Tree<Record32Schema>;

  void SetUp() override { CreateTree(SmallTreeOptions()); }

  // Replaces the storage and the tree with fresh, empty ones.
  void CreateTree(
      const TreeOptions& tree_options,
      const StorageOptions& storage_options = SmallStorageOptions()) {
    tree_.reset();
    absl::StatusOr<std::unique_ptr<MemoryStorage>> storage =
        MemoryStorage::Create(storage_options);
    ASSERT_TRUE(storage.ok()) << storage.status();
    storage_ = std::move(storage).value();
    frame_ = AlignedBuffer::ForBlock(*storage_);
    absl::StatusOr<std::unique_ptr<Tree32>> tree =
        Tree32::Create(storage_.get(), tree_options);
    ASSERT_TRUE(tree.ok()) << tree.status();
    tree_ = std::move(tree).value();
  }

  // Closes the tree and opens it again from the same storage: what the last
  // checkpoint holds.
  void ReopenTree(const TreeOptions& options = SmallTreeOptions()) {
    tree_.reset();
    absl::StatusOr<std::unique_ptr<Tree32>> tree =
        Tree32::Open(storage_.get(), options);
    ASSERT_TRUE(tree.ok()) << tree.status();
    tree_ = std::move(tree).value();
  }

  // The value of `key` at `snapshot`, or nullopt when it has none; a failed
  // read is a test failure (and nullopt).
  std::optional<Record32Schema::Value> Get(
      uint64_t key, Snapshot snapshot = kSnapshotLatest) {
    absl::StatusOr<std::optional<Record32Schema::Value>> result =
        GetBlocking(tree_.get(), key, snapshot, frame_.data());
    EXPECT_TRUE(result.ok()) << result.status();
    return result.ok() ? *result : std::nullopt;
  }

  std::unique_ptr<MemoryStorage> storage_;
  std::unique_ptr<Tree32> tree_;
  AlignedBuffer frame_;
};

}  // namespace testing
}  // namespace lsmscan

#endif  // LSMSCAN_LSM_TREE_TESTING_H_
