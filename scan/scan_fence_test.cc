// Fence heads (scan/scan_merge.h): a level waiting for a block enters the
// merge with that block's first key, so the other levels' values before it
// flow while its read is outstanding. Here one level's every data block is
// slow (the fault wrapper holds its reads for many ticks): with fence heads
// every value before that level's first key is returned before its read
// completes, and nothing at or past it; with fence heads off (the merge as
// it was) nothing is returned before it completes. Both walks (fence keys,
// index blocks), both directions; the values always equal the model.

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <memory>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "lsmscan/lsm/direction.h"
#include "lsmscan/lsm/schema.h"
#include "lsmscan/lsm/tree.h"
#include "lsmscan/lsm/tree_testing.h"
#include "lsmscan/scan/scan_buffer.h"
#include "lsmscan/scan/scan_testing.h"
#include "lsmscan/scan/scan_tree.h"
#include "lsmscan/storage/base/prng.h"
#include "lsmscan/storage/fault_storage.h"
#include "lsmscan/storage/memory_storage.h"

namespace lsmscan {
namespace {

using Schema32 = Record32Schema;
using Value = Schema32::Value;
using Tree32 = Tree<Schema32>;

constexpr uint32_t kSlowTicks = 500;

class ScanFenceTest : public ::testing::Test {
 protected:
  // A layered tree: random keys of [0, 6000) (overwrites and removes among
  // them) compacted into the levels, then newer versions of keys of
  // [3000, 3300) flushed on top. Its levels start and end at different keys.
  void SetUp() override {
    auto inner = MemoryStorage::Create(testing::SmallStorageOptions());
    ASSERT_TRUE(inner.ok());
    inner_ = std::move(inner).value();
    storage_ = std::make_unique<FaultStorage>(inner_.get(), FaultOptions(), 7);
    TreeOptions options = testing::SmallTreeOptions();
    options.cache_block_count = 0;  // Every block is a read.
    auto tree = Tree32::Create(storage_.get(), options);
    ASSERT_TRUE(tree.ok());
    tree_ = std::move(tree).value();
    Prng prng(11);
    for (int i = 0; i < 4000; i++) {
      const uint64_t key = prng.Uniform(6000);
      Put(prng.Chance(0.1) ? Schema32::tombstone(key)
                           : Schema32::Make(key, prng.Next()));
    }
    Put(Schema32::Make(3000, 1));
    Put(Schema32::Make(3299, 1));
    ASSERT_TRUE(testing::CheckpointBlocking(tree_.get()).ok());
    ASSERT_TRUE(testing::CompactBlocking(tree_.get()).ok());
    Put(Schema32::Make(3000, 2));
    Put(Schema32::Make(3299, 2));
    for (int i = 0; i < 150; i++) {
      const uint64_t key = 3000 + prng.Uniform(300);
      Put(prng.Chance(0.2) ? Schema32::tombstone(key)
                           : Schema32::Make(key, prng.Next()));
    }
    ASSERT_TRUE(testing::CheckpointBlocking(tree_.get()).ok());
  }

  void Put(const Value& value) {
    ASSERT_TRUE(testing::PutWithBackPressure(tree_.get(), value).ok());
    model_.Put(value);
  }

  // The level whose first block (in `direction`) starts furthest into the
  // scan: its fence, and every data block address of it (made slow).
  void PickSlowLevel(Direction direction, uint64_t* fence,
                     std::vector<BlockAddress>* blocks) {
    bool found = false;
    for (uint32_t level = 0; level < tree_->level_count(); level++) {
      const auto fences = tree_->manifest().Fences(level, kSnapshotLatest);
      if (fences == nullptr || fences->block_count() == 0) continue;
      const uint64_t first = direction == Direction::kAscending
                                 ? fences->keys_min.front()
                                 : fences->keys_max.back();
      if (found && !Before(direction, *fence, first)) continue;
      found = true;
      *fence = first;
      *blocks = fences->addresses;
    }
    ASSERT_TRUE(found);
  }

  // Scans everything; returns the values, and how many of them came before
  // the first slow read completed.
  void Scan(const ScanBufferOptions& options, Direction direction,
            std::vector<Value>* values, uint64_t* before_slow) {
    auto buffer = ScanBuffer::ForTree(*tree_, options);
    ASSERT_TRUE(buffer.ok());
    ScanTree<Schema32> scan;
    ASSERT_TRUE(scan.Init(tree_.get(), buffer->get(), kSnapshotLatest, 0,
                          Schema32::kKeyMax, direction)
                    .ok());
    const uint64_t slow_done = storage_->fault_stats().slow_reads_completed;
    *before_slow = 0;
    while (true) {
      ASSERT_TRUE(testing::ReadBlocking(&scan, storage_.get()).ok());
      ScanNext<Value> next = scan.Next();
      for (; next.kind == ScanNextKind::kValue; next = scan.Next()) {
        values->push_back(*next.value);
        if (storage_->fault_stats().slow_reads_completed == slow_done) {
          (*before_slow)++;
        }
      }
      if (next.kind == ScanNextKind::kEnd) break;
    }
    EXPECT_GT(storage_->fault_stats().slow_reads_completed, slow_done);
  }

  void ExpectModel(const std::vector<Value>& values, Direction direction) {
    std::vector<Value> expected;
    for (const auto& [key, value] : model_.latest()) expected.push_back(value);
    if (direction == Direction::kDescending) {
      std::reverse(expected.begin(), expected.end());
    }
    ASSERT_EQ(values.size(), expected.size());
    for (size_t i = 0; i < values.size(); i++) {
      ASSERT_EQ(std::memcmp(&values[i], &expected[i], sizeof(Value)), 0)
          << "value " << i << " key " << Schema32::key_of(values[i])
          << ", expected key " << Schema32::key_of(expected[i]);
    }
  }

  // Live keys strictly before `fence` in `direction`.
  uint64_t CountBefore(uint64_t fence, Direction direction) const {
    uint64_t count = 0;
    for (const auto& entry : model_.latest()) {
      if (Before(direction, entry.first, fence)) count++;
    }
    return count;
  }

  std::unique_ptr<Storage> inner_;
  std::unique_ptr<FaultStorage> storage_;
  std::unique_ptr<Tree32> tree_;
  testing::Model<Schema32> model_;
};

TEST_F(ScanFenceTest, ValuesFlowWhileASlowLevelLoads) {
  for (Direction direction : {Direction::kAscending, Direction::kDescending}) {
    uint64_t fence = 0;
    std::vector<BlockAddress> slow;
    ASSERT_NO_FATAL_FAILURE(PickSlowLevel(direction, &fence, &slow));
    const uint64_t expected_before = CountBefore(fence, direction);
    // The other levels hold many values before the slow level's first key.
    ASSERT_GT(expected_before, 200u) << "fence " << fence;
    FaultOptions faults;
    faults.slow_blocks = slow;
    faults.slow_block_ticks = kSlowTicks;
    storage_->set_options(faults);
    for (bool use_fences : {true, false}) {
      for (bool fence_heads : {true, false}) {
        SCOPED_TRACE(absl::StrCat(DirectionName(direction), " fence ", fence,
                                  use_fences ? " fence keys" : " index blocks",
                                  fence_heads ? " fence heads" : " no fences"));
        std::vector<Value> values;
        uint64_t before_slow = 0;
        ASSERT_NO_FATAL_FAILURE(Scan({.read_ahead_blocks = 1,
                                      .use_fences = use_fences,
                                      .fence_heads = fence_heads},
                                     direction, &values, &before_slow));
        ASSERT_NO_FATAL_FAILURE(ExpectModel(values, direction));
        if (fence_heads) {
          // Exactly the values before the fence flowed: none at or past it
          // (the slow level may hold a newer version of the fence key).
          EXPECT_EQ(before_slow, expected_before);
        } else {
          // The merge as it was waits for every level's first block.
          EXPECT_EQ(before_slow, 0u);
        }
      }
    }
    storage_->set_options(FaultOptions());
  }
}

// The same tree under random delays and reorderings of every completion,
// with slow blocks too: every scan still equals the model (and the merge's
// own check, that no value passes a fence, holds in this build).
TEST_F(ScanFenceTest, DelayedAndReorderedCompletionsMatchTheModel) {
  for (Direction direction : {Direction::kAscending, Direction::kDescending}) {
    uint64_t fence = 0;
    std::vector<BlockAddress> slow;
    ASSERT_NO_FATAL_FAILURE(PickSlowLevel(direction, &fence, &slow));
    for (uint32_t read_ahead : {0u, 1u, 4u}) {
      FaultOptions faults;
      faults.delay_probability = 0.5;
      faults.delay_ticks_max = 6;
      faults.slow_blocks = slow;
      faults.slow_block_ticks = 3;
      storage_->set_options(faults);
      SCOPED_TRACE(
          absl::StrCat(DirectionName(direction), " read-ahead ", read_ahead));
      std::vector<Value> values;
      uint64_t before_slow = 0;
      ASSERT_NO_FATAL_FAILURE(Scan({.read_ahead_blocks = read_ahead}, direction,
                                   &values, &before_slow));
      ASSERT_NO_FATAL_FAILURE(ExpectModel(values, direction));
    }
    storage_->set_options(FaultOptions());
  }
}

}  // namespace
}  // namespace lsmscan
