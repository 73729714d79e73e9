// bench/fence_shapes.h: the recent_clustered tree has the shape its comment
// claims (an old dense bottom level; every newer level holds only hot-window
// keys of the top of the old key range, or appends above it), and shape
// names parse. bench/delay_storage.h: reads of slow blocks complete after
// the others and no earlier than their delay, with the right bytes.

#include "lsmscan/bench/fence_shapes.h"

#include <chrono>
#include <cstdint>
#include <cstring>
#include <memory>
#include <vector>

#include "gtest/gtest.h"
#include "lsmscan/bench/delay_storage.h"
#include "lsmscan/lsm/schema.h"
#include "lsmscan/lsm/tree.h"
#include "lsmscan/lsm/tree_testing.h"
#include "lsmscan/storage/aligned_buffer.h"
#include "lsmscan/storage/memory_storage.h"

namespace lsmscan {
namespace bench {
namespace {

using Tree32 = Tree<Record32Schema>;

TEST(FenceShapesTest, NamesRoundTrip) {
  for (FenceShape shape : {FenceShape::kUniform, FenceShape::kRecentClustered,
                           FenceShape::kSlowLevel}) {
    FenceShape parsed = FenceShape::kUniform;
    ASSERT_TRUE(ParseFenceShape(FenceShapeName(shape), &parsed));
    EXPECT_EQ(parsed, shape);
  }
  FenceShape parsed = FenceShape::kUniform;
  EXPECT_FALSE(ParseFenceShape("layered", &parsed));
  EXPECT_FALSE(ParseFenceShape("", &parsed));
}

TEST(FenceShapesTest, RecentClusteredIsADenseBottomUnderClusteredLevels) {
  auto storage = MemoryStorage::Create(testing::SmallStorageOptions());
  ASSERT_TRUE(storage.ok());
  auto tree = Tree32::Create(storage->get(), testing::SmallTreeOptions());
  ASSERT_TRUE(tree.ok());
  constexpr uint64_t kRecords = 4000;
  const RecentWrites recent{.percent = 25,
                            .hot_windows = 8,
                            .window_keys = 20,
                            .hot_from_percent = 50};
  LoadFenceShape(FenceShape::kRecentClustered, kRecords, recent, tree->get());
  const uint32_t bottom = (*tree)->level_count() - 1;
  const auto bottom_fences =
      (*tree)->manifest().Fences(bottom, kSnapshotLatest);
  ASSERT_NE(bottom_fences, nullptr);
  ASSERT_GT(bottom_fences->block_count(), 0u);
  EXPECT_EQ(bottom_fences->keys_min.front(), 0u);
  EXPECT_EQ(bottom_fences->keys_max.back(), kRecords - 1);
  bool appended = false;
  uint32_t upper_levels = 0;
  for (uint32_t level = 0; level < bottom; level++) {
    const auto fences = (*tree)->manifest().Fences(level, kSnapshotLatest);
    if (fences == nullptr || fences->block_count() == 0) continue;
    upper_levels++;
    // Nothing newer than the bottom level below the hot part of the range.
    EXPECT_GE(fences->keys_min.front(), kRecords / 2) << "L" << level;
    appended = appended || fences->keys_max.back() >= kRecords;
  }
  EXPECT_GT(upper_levels, 0u);
  EXPECT_TRUE(appended);
  const std::string gaps = SeekGapsDescription(**tree, kRecords, 1000);
  EXPECT_NE(gaps.find("L0 "), std::string::npos) << gaps;
}

TEST(DelayStorageTest, SlowReadsCompleteLastAndNotBeforeTheirDelay) {
  auto created = MemoryStorage::Create(testing::SmallStorageOptions());
  ASSERT_TRUE(created.ok());
  Storage* inner = created->get();
  const uint32_t size = inner->block_size_bytes();
  AlignedBuffer data(size);
  for (BlockAddress address = 0; address < 4; address++) {
    std::memset(data.data(), static_cast<int>(address), size);
    Storage::Write write;
    write.address = address;
    write.data = data.data();
    write.callback = [](Storage::Write* w) { ASSERT_TRUE(w->status.ok()); };
    inner->SubmitWrite(&write);
    inner->RunUntilIdle();
  }
  const auto delay = std::chrono::milliseconds(50);
  DelayStorage storage(inner, {2}, delay);
  struct Probe {
    Storage::Read read;
    std::vector<BlockAddress>* order = nullptr;
  };
  std::vector<BlockAddress> order;
  std::vector<Probe> probes(4);
  const auto start = DelayStorage::Clock::now();
  for (BlockAddress address = 0; address < 4; address++) {
    Probe& probe = probes[address];
    probe.order = &order;
    probe.read.address = address;
    probe.read.context = &probe;
    probe.read.callback = [](Storage::Read* r) {
      ASSERT_TRUE(r->status.ok());
      EXPECT_EQ(static_cast<uint8_t>(r->data[0]), r->address);
      static_cast<Probe*>(r->context)->order->push_back(r->address);
    };
    storage.SubmitRead(&probe.read);
  }
  storage.RunUntilIdle();
  // The wall clock only bounds from below: a late completion cannot fail.
  EXPECT_GE(DelayStorage::Clock::now() - start, delay);
  ASSERT_EQ(order.size(), 4u);
  EXPECT_EQ(order.back(), 2u);
  EXPECT_EQ(storage.slow_read_count(), 1u);
}

}  // namespace
}  // namespace bench
}  // namespace lsmscan
