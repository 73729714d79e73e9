#include "lsmscan/scan/scan_group.h"

#include <cstdint>
#include <map>
#include <memory>
#include <vector>

#include "gtest/gtest.h"
#include "lsmscan/lsm/schema.h"
#include "lsmscan/lsm/tree.h"
#include "lsmscan/lsm/tree_testing.h"
#include "lsmscan/scan/scan_buffer.h"
#include "lsmscan/scan/scan_iterator.h"
#include "lsmscan/scan/scan_testing.h"
#include "lsmscan/scan/scan_tree.h"
#include "lsmscan/storage/base/prng.h"
#include "lsmscan/storage/storage_testing.h"

namespace lsmscan {
namespace {

using Schema32 = Record32Schema;
using Value = Schema32::Value;
using Tree32 = Tree<Schema32>;
using ::lsmscan::testing::Backend;
using ::lsmscan::testing::CompactBlocking;
using ::lsmscan::testing::Model;
using ::lsmscan::testing::PutWithBackPressure;
using ::lsmscan::testing::SmallTreeOptions;

class ScanAdaptorsTest : public testing::DelayedTreeFixture {
 protected:
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(CreateDelayedTree(/*cache_block_count=*/0));
    Prng prng(5);
    for (uint64_t i = 0; i < 8000; i++) {
      const uint64_t key = prng.Uniform(5000);
      const Value value =
          prng.Chance(0.1) ? Schema32::tombstone(key) : Schema32::Make(key, i);
      ASSERT_TRUE(PutWithBackPressure(tree_.get(), value).ok());
      model_.Put(value);
    }
    ASSERT_TRUE(CompactBlocking(tree_.get()).ok());
  }

  Model<Schema32> model_;
};

TEST_F(ScanAdaptorsTest, ManyScansInFlightOnOneLoop) {
  constexpr uint32_t kScanCount = 12;
  std::vector<std::unique_ptr<ScanBuffer>> buffers;
  std::vector<std::unique_ptr<ScanTree<Schema32>>> scans;
  ScanGroup<Schema32> group;
  for (uint32_t i = 0; i < kScanCount; i++) {
    auto buffer = ScanBuffer::ForTree(*tree_);
    ASSERT_TRUE(buffer.ok());
    buffers.push_back(std::move(buffer).value());
    scans.push_back(std::make_unique<ScanTree<Schema32>>());
    const uint64_t key_min = i * 400;
    const Direction direction =
        i % 2 == 0 ? Direction::kAscending : Direction::kDescending;
    ASSERT_TRUE(scans.back()
                    ->Init(tree_.get(), buffers.back().get(), kSnapshotLatest,
                           key_min, key_min + 999, direction)
                    .ok());
    EXPECT_EQ(group.Add(scans.back().get()), i);
  }
  std::vector<std::vector<uint64_t>> seen(kScanCount);
  ASSERT_TRUE(group
                  .Run(
                      storage_->get(),
                      [](void* context, uint32_t index, const Value& value) {
                        auto* s =
                            static_cast<std::vector<std::vector<uint64_t>>*>(
                                context);
                        (*s)[index].push_back(Schema32::key_of(value));
                      },
                      &seen)
                  .ok());
  for (uint32_t i = 0; i < kScanCount; i++) {
    std::vector<uint64_t> expected;
    const uint64_t key_min = i * 400;
    for (auto it = model_.latest().lower_bound(key_min);
         it != model_.latest().end() && it->first <= key_min + 999; ++it) {
      expected.push_back(it->first);
    }
    if (i % 2 == 1) std::reverse(expected.begin(), expected.end());
    EXPECT_EQ(seen[i], expected) << "scan " << i;
  }
  // The scans really overlapped.
  EXPECT_GT(group.concurrent_reads_max(), kScanCount / 2);
}

TEST_F(ScanAdaptorsTest, IteratorSeeksLikeRocksDb) {
  auto buffer = ScanBuffer::ForTree(*tree_);
  ASSERT_TRUE(buffer.ok());
  ScanIterator<Schema32> it(tree_.get(), buffer->get());
  // Seek: the first key >= target, then ascending.
  it.Seek(1234);
  auto expected = model_.latest().lower_bound(1234);
  for (int i = 0; i < 300; i++, ++expected) {
    ASSERT_TRUE(it.Valid());
    EXPECT_EQ(it.key(), expected->first);
    it.Next();
  }
  // SeekForPrev: the last key <= target, then descending with Prev().
  it.SeekForPrev(4000);
  auto upper = model_.latest().upper_bound(4000);
  for (int i = 0; i < 300; i++) {
    --upper;
    ASSERT_TRUE(it.Valid());
    EXPECT_EQ(it.key(), upper->first);
    it.Prev();
  }
  // Past the end: not valid, no error.
  it.Seek(100000);
  EXPECT_FALSE(it.Valid());
  EXPECT_TRUE(it.status().ok());
  // A whole scan counts every live key.
  uint64_t count = 0;
  for (it.Seek(0); it.Valid(); it.Next()) count++;
  EXPECT_EQ(count, model_.latest().size());
}

}  // namespace
}  // namespace lsmscan
