// Tests of the tree's compaction: what reaches the last level (tombstones
// purged), the per-level stats.

#include <cstdint>
#include <memory>

#include "absl/status/status.h"
#include "gtest/gtest.h"
#include "lsmscan/lsm/schema.h"
#include "lsmscan/lsm/tree.h"
#include "lsmscan/lsm/tree_testing.h"
#include "lsmscan/storage/aligned_buffer.h"
#include "lsmscan/storage/memory_storage.h"

namespace lsmscan {
namespace {

using Schema32 = Record32Schema;
using Value = Schema32::Value;
using Tree32 = Tree<Schema32>;
using ::lsmscan::testing::CheckpointBlocking;
using ::lsmscan::testing::CompactAllBlocking;
using ::lsmscan::testing::CompactBlocking;
using ::lsmscan::testing::GetBlocking;
using ::lsmscan::testing::PutWithBackPressure;
using ::lsmscan::testing::SmallStorageOptions;
using ::lsmscan::testing::SmallTreeOptions;

class TreeCompactionTest : public testing::TreeFixture {
 protected:
  uint32_t last_level() const { return tree_->level_count() - 1; }

  // Values (tombstones included) in the live tables of `level`.
  uint64_t LiveValueCount(uint32_t level) const {
    uint64_t count = 0;
    for (const ManifestTable<uint64_t>& table :
         tree_->manifest().tables(level)) {
      if (table.info.snapshot_max == kSnapshotForever) {
        count += table.info.value_count;
      }
    }
    return count;
  }
};

// Regression (issue 13, item 3): a table that reached the last level by a
// move (no overlap below it) kept its tombstones, so CompactAll() left 100
// tombstones of absent keys in the last level beside the 100 values.
TEST_F(TreeCompactionTest, CompactAllLeavesNoTombstoneInTheLastLevel) {
  for (uint64_t key = 0; key < 100; key++) {
    ASSERT_TRUE(
        PutWithBackPressure(tree_.get(), Schema32::Make(key, key)).ok());
  }
  for (uint64_t key = 500; key < 600; key++) {
    ASSERT_TRUE(
        PutWithBackPressure(tree_.get(), Schema32::tombstone(key)).ok());
  }
  ASSERT_TRUE(CompactAllBlocking(tree_.get()).ok());
  for (uint32_t level = 0; level < last_level(); level++) {
    EXPECT_EQ(tree_->manifest().live_table_count(level), 0u) << level;
  }
  EXPECT_EQ(LiveValueCount(last_level()), 100u);
  const TreeStats stats = tree_->stats();
  EXPECT_EQ(stats.levels[last_level()].values, 100u);
  EXPECT_EQ(stats.levels[last_level()].tombstones, 0u);
}

// The policy without CompactAll(): a table of tombstones that the planner
// would move into the last level (nothing overlaps it there) is rewritten
// without them; one without tombstones still just moves.
TEST(TreeCompactionMoveTest, AMoveIntoTheLastLevelDropsTombstones) {
  auto storage = MemoryStorage::Create(SmallStorageOptions());
  ASSERT_TRUE(storage.ok());
  TreeOptions options = SmallTreeOptions();
  options.level_count = 2;  // Level 1 is the last; level 0 holds 2 tables.
  auto created = Tree32::Create(storage->get(), options);
  ASSERT_TRUE(created.ok()) << created.status();
  Tree32* tree = created->get();
  // Three disjoint memory tables, flushed one by one: the first and the
  // third all tombstones, the second all values.
  for (uint64_t table = 0; table < 3; table++) {
    for (uint64_t key = table * 1000; key < table * 1000 + 100; key++) {
      const Value value =
          table == 1 ? Schema32::Make(key, key) : Schema32::tombstone(key);
      ASSERT_TRUE(PutWithBackPressure(tree, value).ok());
    }
    // Seals the table and flushes it (a snapshot no longer seals).
    ASSERT_TRUE(CheckpointBlocking(tree).ok());
  }
  const TreeStats stats = tree->stats();
  EXPECT_EQ(stats.levels[1].tombstones, 0u);
  EXPECT_EQ(stats.levels[0].tables + stats.levels[1].tables, 3u - 1u)
      << "a table of tombstones only leaves nothing in the last level";
  EXPECT_EQ(stats.levels[0].values + stats.levels[1].values, 200u);
  EXPECT_EQ(stats.levels[0].tombstones, 100u);
  for (uint32_t level = 0; level < 2; level++) {
    uint64_t values = 0;
    uint64_t tombstones = 0;
    for (const ManifestTable<uint64_t>& table :
         tree->manifest().tables(level)) {
      if (table.info.snapshot_max != kSnapshotForever) continue;
      values += table.info.value_count;
      tombstones += table.info.tombstone_count;
    }
    EXPECT_EQ(stats.levels[level].values, values) << level;
    EXPECT_EQ(stats.levels[level].tombstones, tombstones) << level;
  }
}

// A table's tombstone count is in the checkpoint: the stats of a reopened
// tree are those it had.
TEST_F(TreeCompactionTest, TombstoneCountsSurviveReopening) {
  for (uint64_t key = 0; key < 1000; key++) {
    const Value value =
        key % 3 == 0 ? Schema32::tombstone(key) : Schema32::Make(key, key);
    ASSERT_TRUE(PutWithBackPressure(tree_.get(), value).ok());
  }
  ASSERT_TRUE(CheckpointBlocking(tree_.get()).ok());
  const TreeStats before = tree_->stats();
  uint64_t tombstones = 0;
  for (uint32_t level = 0; level < tree_->level_count(); level++) {
    tombstones += before.levels[level].tombstones;
  }
  EXPECT_GT(tombstones, 0u);
  tree_.reset();
  auto reopened = Tree32::Open(storage_.get(), SmallTreeOptions());
  ASSERT_TRUE(reopened.ok()) << reopened.status();
  tree_ = std::move(reopened).value();
  const TreeStats after = tree_->stats();
  for (uint32_t level = 0; level < tree_->level_count(); level++) {
    EXPECT_EQ(after.levels[level].tables, before.levels[level].tables);
    EXPECT_EQ(after.levels[level].values, before.levels[level].values);
    EXPECT_EQ(after.levels[level].tombstones, before.levels[level].tombstones);
  }
}

}  // namespace
}  // namespace lsmscan
