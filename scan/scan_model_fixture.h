// File: scan/scan_model_fixture.h
// -----------------------------------------------------------------------------
//
// The tree the scan's differential tests walk (scan_model_test.cc,
// scan_iterator_model_test.cc): built by a seeded workload of puts,
// overwrites and removes with compactions between, snapshots along the
// way, and its model; plus the reads the tests run between values (point
// reads and other scans of the same storage, checked against the model).

#ifndef LSMSCAN_SCAN_SCAN_MODEL_FIXTURE_H_
#define LSMSCAN_SCAN_SCAN_MODEL_FIXTURE_H_

#include <cstdint>
#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <vector>

#include "absl/status/status.h"
#include "gtest/gtest.h"
#include "lsmscan/lsm/direction.h"
#include "lsmscan/lsm/schema.h"
#include "lsmscan/lsm/tree.h"
#include "lsmscan/lsm/tree_testing.h"
#include "lsmscan/scan/scan_buffer.h"
#include "lsmscan/scan/scan_testing.h"
#include "lsmscan/storage/aligned_buffer.h"
#include "lsmscan/storage/base/prng.h"
#include "lsmscan/storage/storage_testing.h"

namespace lsmscan {
namespace testing {

// The schema of the model tests' tree.
using ModelSchema = Record32Schema;

// Keys are drawn from [0, kKeyCount).
inline constexpr uint64_t kKeyCount = 6000;

// 4 KiB blocks, up to 2^15 of them.
inline StorageOptions TestStorageOptions() {
  StorageOptions options;
  options.block_size_bytes = 4096;
  options.block_count_max = 1 << 15;
  return options;
}

// A tree built by a seeded workload, and its model.
class ScanFixture {
 public:
  ScanFixture(Backend backend, uint64_t seed, const TreeOptions& options)
      : prng_(seed), factory_(backend, TestStorageOptions(), seed) {
    auto storage = factory_.Open(OpenMode::kCreate);
    EXPECT_TRUE(storage.ok()) << storage.status();
    storage_ = std::move(storage).value();
    auto tree = Tree<ModelSchema>::Create(storage_->get(), options);
    EXPECT_TRUE(tree.ok()) << tree.status();
    tree_ = std::move(tree).value();
  }

  // Random writes; a compaction whenever the memory tables fill up, and a
  // snapshot now and then.
  void Build(uint64_t write_count) {
    for (uint64_t i = 0; i < write_count; i++) {
      const uint64_t key = prng_.Chance(0.3) ? prng_.Uniform(kKeyCount / 8)
                                             : prng_.Uniform(kKeyCount);
      const ModelSchema::Value value =
          prng_.Chance(0.15) ? ModelSchema::tombstone(key)
                             : ModelSchema::Make(key, prng_.Next());
      Write(value);
      if (prng_.Chance(0.0008)) TakeSnapshot();
    }
  }

  void Write(const ModelSchema::Value& value) {
    absl::Status status = tree_->Put(value);
    while (absl::IsResourceExhausted(status)) {
      ASSERT_TRUE(CompactBlocking(tree_.get()).ok());
      status = tree_->Put(value);
      if (absl::IsResourceExhausted(status)) {
        ASSERT_FALSE(handles_.empty()) << status;
        ReleaseSnapshot();
      }
    }
    ASSERT_TRUE(status.ok()) << status;
    model_.Put(value);
  }

  // Takes a snapshot; past the memory-table limit, checkpoints first.
  void TakeSnapshot() {
    auto handle = AcquireSnapshotAfterCheckpoint(tree_.get());
    ASSERT_TRUE(handle.ok()) << handle.status();
    ASSERT_LE(tree_->snapshot_memory_table_count(),
              tree_->snapshot_memory_table_count_max());
    // The same op twice (no write in between): one model copy, two holds.
    if (!model_.frozen().contains(handle->snapshot())) {
      model_.Freeze(handle->snapshot());
    }
    handles_.push_back(*handle);
  }

  void ReleaseSnapshot() {
    const SnapshotHandle handle = handles_.front();
    handles_.erase(handles_.begin());
    ASSERT_TRUE(tree_->ReleaseSnapshot(handle).ok());
    for (const SnapshotHandle& other : handles_) {
      if (other.snapshot() == handle.snapshot()) return;
    }
    model_.Thaw(handle.snapshot());
  }

  // A write the tree takes without compacting (it may refuse one while an
  // iterator holds the memory tables); returns whether it was taken.
  bool TryWrite(const ModelSchema::Value& value) {
    const absl::Status status = tree_->Put(value);
    if (absl::IsResourceExhausted(status)) return false;
    EXPECT_TRUE(status.ok()) << status;
    if (!status.ok()) return false;
    model_.Put(value);
    return true;
  }

  // Fills the memory tables without compacting: one sealed, one mutable.
  void LeaveDataInMemory() {
    const uint32_t capacity = tree_->options().memory_table_value_count_max;
    for (uint32_t i = 0; i < capacity + capacity / 2; i++) {
      const uint64_t key = prng_.Uniform(kKeyCount);
      Write(prng_.Chance(0.1) ? ModelSchema::tombstone(key)
                              : ModelSchema::Make(key, prng_.Next()));
    }
  }

  uint32_t LevelsWithTables() const {
    uint32_t count = 0;
    for (uint32_t level = 0; level < tree_->level_count(); level++) {
      if (tree_->manifest().live_table_count(level) > 0) count++;
    }
    return count;
  }

  void ReleaseAll() {
    while (!handles_.empty()) ReleaseSnapshot();
  }

  Prng& prng() { return prng_; }
  Tree<ModelSchema>* tree() { return tree_.get(); }
  const Model<ModelSchema>& model() const { return model_; }
  // The snapshots held (one entry per handle).
  std::vector<Snapshot> snapshots() const {
    std::vector<Snapshot> snapshots;
    for (const SnapshotHandle& handle : handles_) {
      snapshots.push_back(handle.snapshot());
    }
    return snapshots;
  }

 private:
  Prng prng_;
  TestStorageFactory factory_;
  std::unique_ptr<StorageUnderTest> storage_;
  std::unique_ptr<Tree<ModelSchema>> tree_;
  Model<ModelSchema> model_;
  std::vector<SnapshotHandle> handles_;
};

// Work run between the values of a scan: now and then a point read of a
// random key, or a short scan on another buffer, both checked against the
// model at the scan's snapshot. On a copying storage with a small cache,
// they evict and reuse cache frames while the scan's value is out.
class ReadsBetweenValues {
 public:
  ReadsBetweenValues(Tree<ModelSchema>* tree, Prng* prng)
      : tree_(tree), prng_(prng) {
    auto buffer = ScanBuffer::ForTree(*tree, {.read_ahead_blocks = 1});
    EXPECT_TRUE(buffer.ok());
    buffer_ = std::move(buffer).value();
  }

  std::function<void()> Work(
      const std::map<uint64_t, ModelSchema::Value>& model, Snapshot snapshot) {
    // At most kWorkPerScan times per scan, so the test's time stays bounded.
    auto budget = std::make_shared<uint32_t>(kWorkPerScan);
    return [this, &model, snapshot, budget]() {
      if (*budget == 0 || !prng_->Chance(0.05)) return;
      (*budget)--;
      const uint64_t key = prng_->Uniform(kKeyCount);
      if (prng_->Chance(0.5)) {
        gets_++;
        auto got = GetBlocking(tree_, key, snapshot, frame_.data());
        ASSERT_TRUE(got.ok()) << got.status();
        const auto it = model.find(key);
        ASSERT_EQ(got->has_value(), it != model.end()) << "get of key " << key;
        if (it != model.end()) {
          EXPECT_EQ(
              std::memcmp(&**got, &it->second, sizeof(ModelSchema::Value)), 0)
              << "get of key " << key;
        }
        return;
      }
      scans_++;
      const Direction direction =
          prng_->Chance(0.5) ? Direction::kAscending : Direction::kDescending;
      const ScanCheckResult result =
          CheckScan(tree_, buffer_.get(), snapshot, key,
                    key + prng_->Uniform(40), direction, model, prng_);
      EXPECT_TRUE(result.status.ok()) << result.status;
    };
  }

  static constexpr uint32_t kWorkPerScan = 12;

  uint64_t gets() const { return gets_; }
  uint64_t scans() const { return scans_; }

 private:
  Tree<ModelSchema>* tree_;
  Prng* prng_;
  std::unique_ptr<ScanBuffer> buffer_;
  AlignedBuffer frame_{4096};
  uint64_t gets_ = 0;
  uint64_t scans_ = 0;
};

class ModelTreeTest : public ::testing::TestWithParam<Backend> {
 protected:
  // The tree both model tests walk, on the backend under test: data on at
  // least four levels and in both kinds of memory table. Copying backends
  // read through a cache of 4 to 8 frames, so evictions happen all the
  // time, and reads between values reuse frames.
  void BuildTree(uint64_t seed) {
    TreeOptions options = SmallTreeOptions();
    options.cache_block_count = 4 + static_cast<uint32_t>(seed % 5);
    fixture_ = std::make_unique<ScanFixture>(GetParam(), seed, options);
    ASSERT_NO_FATAL_FAILURE(fixture_->Build(30000));
    ASSERT_TRUE(CompactBlocking(fixture_->tree()).ok());
    ASSERT_NO_FATAL_FAILURE(fixture_->LeaveDataInMemory());
    ASSERT_GE(fixture_->LevelsWithTables(), 4u);
    ASSERT_FALSE(fixture_->tree()->memory_tables().immutables().empty());
  }

  std::unique_ptr<ScanFixture> fixture_;
};

}  // namespace testing
}  // namespace lsmscan

#endif  // LSMSCAN_SCAN_SCAN_MODEL_FIXTURE_H_
