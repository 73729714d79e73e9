// Unit tests of BlockCache: Lookup/Reserve/Publish/Abandon/Pin/Unpin/
// Invalidate, CLOCK eviction around pinned frames, and collisions in the
// address table. The randomized test against an exact model is
// block_cache_model_test.cc.

#include "lsmscan/lsm/block_cache.h"

#include <algorithm>
#include <cstdint>
#include <set>
#include <vector>

#include "gtest/gtest.h"
#include "lsmscan/lsm/block_cache_testing.h"
#include "lsmscan/lsm/checksum.h"

namespace lsmscan {
namespace {

using ::lsmscan::block_cache_testing::ChecksumOf;
using ::lsmscan::block_cache_testing::Fill;
using ::lsmscan::block_cache_testing::Frame;
using ::lsmscan::block_cache_testing::Holds;
using ::lsmscan::block_cache_testing::Insert;
using ::lsmscan::block_cache_testing::kBlockSize;
using ::lsmscan::block_cache_testing::kNoFrame;

TEST(BlockCacheTest, EmptyCacheMisses) {
  BlockCache cache(4, kBlockSize);
  EXPECT_EQ(cache.frame_count(), 4u);
  EXPECT_EQ(cache.Lookup(0, ChecksumOf(0, 0)), kNoFrame);
  EXPECT_EQ(cache.Lookup(12345, ChecksumOf(12345, 0)), kNoFrame);
  EXPECT_EQ(cache.miss_count(), 2u);
  EXPECT_EQ(cache.hit_count(), 0u);
  cache.Invalidate(7);  // Absent: nothing happens.
}

TEST(BlockCacheTest, FramesAreDistinctAndAligned) {
  BlockCache cache(5, kBlockSize);
  std::set<Frame> frames;
  for (uint32_t i = 0; i < 5; i++) {
    const Frame frame = cache.Reserve();
    ASSERT_NE(frame, kNoFrame);
    ASSERT_TRUE(frames.insert(frame).second);
    ASSERT_GE(frame, 0);
    ASSERT_LT(frame, 5);
    EXPECT_EQ(reinterpret_cast<uintptr_t>(cache.data(frame)) % 4096, 0u);
  }
  // Frames do not overlap: filling each leaves the others intact.
  for (Frame f : frames) Fill(cache, f, static_cast<BlockAddress>(f), 1);
  for (Frame f : frames) {
    EXPECT_TRUE(Holds(cache, f, static_cast<BlockAddress>(f), 1)) << f;
  }
}

TEST(BlockCacheTest, PublishedBlocksAreFoundPinned) {
  BlockCache cache(4, kBlockSize);
  const Frame frame = Insert(cache, 7);
  ASSERT_NE(frame, kNoFrame);
  EXPECT_EQ(cache.Lookup(7, ChecksumOf(7, 0)), frame);
  EXPECT_TRUE(Holds(cache, frame, 7, 0));
  EXPECT_EQ(cache.hit_count(), 1u);
  // Another checksum or address misses.
  EXPECT_EQ(cache.Lookup(7, ChecksumOf(7, 1)), kNoFrame);
  EXPECT_EQ(cache.Lookup(8, ChecksumOf(7, 0)), kNoFrame);
  EXPECT_EQ(cache.miss_count(), 2u);
  cache.Unpin(frame);  // The lookup's pin.
  cache.Unpin(frame);  // Publish's pin.
  EXPECT_EQ(cache.Lookup(7, ChecksumOf(7, 0)), frame);
  cache.Unpin(frame);
}

TEST(BlockCacheTest, AbandonedFrameIsNotMappedAndIsReusable) {
  BlockCache cache(2, kBlockSize);
  const Frame a = cache.Reserve();
  const Frame b = cache.Reserve();
  ASSERT_NE(a, kNoFrame);
  ASSERT_NE(b, kNoFrame);
  EXPECT_EQ(cache.Reserve(), kNoFrame);  // Both pinned by their reservers.
  Fill(cache, a, 3, 0);
  cache.Abandon(a);
  EXPECT_EQ(cache.Lookup(3, ChecksumOf(3, 0)), kNoFrame);
  EXPECT_EQ(cache.Reserve(), a);
  cache.Abandon(a);
  cache.Abandon(b);
}

TEST(BlockCacheTest, ReserveReturnsNoFrameWhenAllArePinned) {
  BlockCache cache(3, kBlockSize);
  const Frame f0 = Insert(cache, 10);
  const Frame f1 = Insert(cache, 11);
  const Frame f2 = Insert(cache, 12);
  for (int i = 0; i < 5; i++) EXPECT_EQ(cache.Reserve(), kNoFrame);
  // Still all found.
  for (BlockAddress a : {10, 11, 12}) {
    const Frame f = cache.Lookup(a, ChecksumOf(a, 0));
    ASSERT_NE(f, kNoFrame);
    cache.Unpin(f);
  }
  // Unpinning one frame makes exactly that one reservable (evicting 11).
  cache.Unpin(f1);
  EXPECT_EQ(cache.Reserve(), f1);
  EXPECT_EQ(cache.Lookup(11, ChecksumOf(11, 0)), kNoFrame);
  EXPECT_EQ(cache.Reserve(), kNoFrame);
  cache.Abandon(f1);
  // Pin() also protects a frame.
  cache.Unpin(f0);
  cache.Pin(f0);
  EXPECT_NE(cache.Reserve(), f0);
  (void)f2;
}

TEST(BlockCacheTest, PublishOfAnAddressAlreadyPresentReturnsTheExistingFrame) {
  BlockCache cache(2, kBlockSize);
  // Two concurrent reads of one block each reserved a frame.
  const Frame first = cache.Reserve();
  const Frame second = cache.Reserve();
  ASSERT_NE(first, kNoFrame);
  ASSERT_NE(second, kNoFrame);
  Fill(cache, first, 5, 0);
  Fill(cache, second, 5, 0);
  EXPECT_EQ(cache.Publish(first, 5, ChecksumOf(5, 0)), first);
  EXPECT_EQ(cache.Publish(second, 5, ChecksumOf(5, 0)), first);
  // `second` was given back: the only reservable frame, and unmapped.
  EXPECT_EQ(cache.Reserve(), second);
  cache.Abandon(second);
  // `first` carries both pins.
  cache.Unpin(first);
  EXPECT_NE(cache.Reserve(), first);  // Still pinned once.
  // (The frame just reserved is `second` again.)
  cache.Abandon(second);
  cache.Unpin(first);
  EXPECT_EQ(cache.Lookup(5, ChecksumOf(5, 0)), first);
  cache.Unpin(first);
}

TEST(BlockCacheTest, PublishOverAnOlderBlockAtTheSameAddress) {
  BlockCache cache(2, kBlockSize);
  const Frame first = cache.Reserve();
  const Frame second = cache.Reserve();
  Fill(cache, first, 5, 0);
  Fill(cache, second, 5, 1);
  EXPECT_EQ(cache.Publish(first, 5, ChecksumOf(5, 0)), first);
  // The older block is pinned: the newer one is handed out unmapped.
  EXPECT_EQ(cache.Publish(second, 5, ChecksumOf(5, 1)), second);
  EXPECT_EQ(cache.Lookup(5, ChecksumOf(5, 1)), kNoFrame);
  EXPECT_EQ(cache.Lookup(5, ChecksumOf(5, 0)), first);
  cache.Unpin(first);
  cache.Unpin(second);  // Unmapped and unpinned: free again.
  EXPECT_EQ(cache.Reserve(), second);
  Fill(cache, second, 5, 1);
  // With the older block unpinned, the newer one replaces it.
  cache.Unpin(first);
  EXPECT_EQ(cache.Publish(second, 5, ChecksumOf(5, 1)), second);
  EXPECT_EQ(cache.Lookup(5, ChecksumOf(5, 0)), kNoFrame);
  EXPECT_EQ(cache.Lookup(5, ChecksumOf(5, 1)), second);
  cache.Unpin(second);
  cache.Unpin(second);
}

TEST(BlockCacheTest, EvictionTakesOnlyUnpinnedFrames) {
  BlockCache cache(4, kBlockSize);
  const Frame a = Insert(cache, 100);
  const Frame b = Insert(cache, 101);
  const Frame c = Insert(cache, 102);
  const Frame d = Insert(cache, 103);
  cache.Unpin(b);
  cache.Unpin(d);
  // A and C stay pinned through many evictions.
  for (BlockAddress address = 1000; address < 1100; address++) {
    const Frame frame = cache.Reserve();
    ASSERT_NE(frame, kNoFrame);
    ASSERT_NE(frame, a);
    ASSERT_NE(frame, c);
    Fill(cache, frame, address, 0);
    ASSERT_EQ(cache.Publish(frame, address, ChecksumOf(address, 0)), frame);
    cache.Unpin(frame);
  }
  for (BlockAddress address : {100, 102}) {
    const Frame frame = cache.Lookup(address, ChecksumOf(address, 0));
    ASSERT_NE(frame, kNoFrame) << address;
    EXPECT_TRUE(Holds(cache, frame, address, 0));
    cache.Unpin(frame);
  }
  // The two most recent blocks are in the two unpinned frames.
  EXPECT_EQ(cache.Lookup(101, ChecksumOf(101, 0)), kNoFrame);
  EXPECT_EQ(cache.Lookup(103, ChecksumOf(103, 0)), kNoFrame);
  int resident = 0;
  for (BlockAddress address = 1000; address < 1100; address++) {
    const Frame frame = cache.Lookup(address, ChecksumOf(address, 0));
    if (frame == kNoFrame) continue;
    resident++;
    EXPECT_TRUE(frame == b || frame == d);
    EXPECT_TRUE(Holds(cache, frame, address, 0));
    cache.Unpin(frame);
  }
  EXPECT_EQ(resident, 2);
  cache.Unpin(a);
  cache.Unpin(c);
}

TEST(BlockCacheTest, EachReserveOfAFullCacheEvictsExactlyOneBlock) {
  BlockCache cache(3, kBlockSize);
  for (BlockAddress a : {1, 2, 3}) cache.Unpin(Insert(cache, a));
  const Frame frame = cache.Reserve();
  ASSERT_NE(frame, kNoFrame);
  int resident = 0;
  for (BlockAddress a : {1, 2, 3}) {
    const Frame f = cache.Lookup(a, ChecksumOf(a, 0));
    if (f == kNoFrame) continue;
    resident++;
    EXPECT_NE(f, frame);
    cache.Unpin(f);
  }
  EXPECT_EQ(resident, 2);
  cache.Abandon(frame);
}

TEST(BlockCacheTest, InvalidateForgetsTheBlock) {
  BlockCache cache(4, kBlockSize);
  const Frame frame = Insert(cache, 9);
  cache.Unpin(frame);
  cache.Invalidate(9);
  EXPECT_EQ(cache.Lookup(9, ChecksumOf(9, 0)), kNoFrame);
  cache.Invalidate(9);  // Twice is harmless.
  // The address can be cached again with new contents.
  const Frame again = Insert(cache, 9, 1);
  ASSERT_NE(again, kNoFrame);
  EXPECT_EQ(cache.Lookup(9, ChecksumOf(9, 0)), kNoFrame);
  const Frame found = cache.Lookup(9, ChecksumOf(9, 1));
  EXPECT_EQ(found, again);
  EXPECT_TRUE(Holds(cache, again, 9, 1));
  cache.Unpin(again);
  cache.Unpin(again);
}

// The bucket block_cache.cc hashes `address` to in a table of `table_size`
// (a copy of its hash, used only to build colliding addresses; if the hash
// changes, the tests below still hold, they just collide less).
size_t BucketOf(BlockAddress address, size_t table_size) {
  return static_cast<size_t>((address * 0x9E3779B97F4A7C15ull) >> 20) &
         (table_size - 1);
}

// Addresses whose home buckets are `buckets` (round robin), `count` in all.
std::vector<BlockAddress> AddressesIn(const std::vector<size_t>& buckets,
                                      size_t table_size, size_t count) {
  std::vector<BlockAddress> result;
  for (BlockAddress a = 0; result.size() < count; a++) {
    if (BucketOf(a, table_size) == buckets[result.size() % buckets.size()]) {
      result.push_back(a);
    }
  }
  return result;
}

TEST(BlockCacheTest, InvalidatingOneOfCollidingAddressesKeepsTheOthers) {
  // 8 frames: a 16-bucket table. Fill it with addresses that all hash to one
  // bucket, or to a cluster wrapping around the end of the table, then
  // invalidate them in every rotation order: each removal must keep every
  // other entry's probe chain intact.
  constexpr uint32_t kFrames = 8;
  constexpr size_t kTable = 16;
  const std::vector<std::vector<size_t>> layouts = {
      {3}, {15}, {14, 15, 0}, {15, 0, 1}, {0, 15}, {7, 8}, {1, 3, 5, 7}};
  for (const std::vector<size_t>& buckets : layouts) {
    const std::vector<BlockAddress> addresses =
        AddressesIn(buckets, kTable, kFrames);
    for (uint32_t rotation = 0; rotation < kFrames; rotation++) {
      for (bool backwards : {false, true}) {
        BlockCache cache(kFrames, kBlockSize);
        for (BlockAddress address : addresses) {
          cache.Unpin(Insert(cache, address));
        }
        for (uint32_t k = 0; k < kFrames; k++) {
          auto nth = [&](uint32_t j) {
            const uint32_t i = (rotation + j) % kFrames;
            return addresses[backwards ? kFrames - 1 - i : i];
          };
          const BlockAddress gone = nth(k);
          cache.Invalidate(gone);
          EXPECT_EQ(cache.Lookup(gone, ChecksumOf(gone, 0)), kNoFrame);
          for (uint32_t j = k + 1; j < kFrames; j++) {
            const BlockAddress kept = nth(j);
            const Frame f = cache.Lookup(kept, ChecksumOf(kept, 0));
            ASSERT_NE(f, kNoFrame)
                << "buckets[0] " << buckets[0] << ", rotation " << rotation
                << ", lost " << kept;
            EXPECT_TRUE(Holds(cache, f, kept, 0));
            cache.Unpin(f);
          }
        }
      }
    }
  }
}

TEST(BlockCacheTest, EvictionFromCollidingChainsKeepsTheOthers) {
  // Evictions unmap too: cycle many colliding addresses through a small
  // cache, keeping some pinned, and check the pinned ones stay findable.
  constexpr uint32_t kFrames = 4;
  constexpr size_t kTable = 8;
  const std::vector<BlockAddress> addresses =
      AddressesIn({6, 7, 0}, kTable, 40);
  BlockCache cache(kFrames, kBlockSize);
  const Frame pinned_a = Insert(cache, addresses[0]);
  const Frame pinned_b = Insert(cache, addresses[1]);
  for (int cycle = 0; cycle < 5; cycle++) {
    for (size_t i = 2; i < addresses.size(); i++) {
      const BlockAddress address = addresses[i];
      cache.Invalidate(address);  // A new version of the block is read.
      const Frame f = Insert(cache, address, cycle);
      ASSERT_NE(f, kNoFrame);
      cache.Unpin(f);
      for (size_t p = 0; p < 2; p++) {
        const Frame found =
            cache.Lookup(addresses[p], ChecksumOf(addresses[p], 0));
        ASSERT_EQ(found, p == 0 ? pinned_a : pinned_b) << "cycle " << cycle;
        cache.Unpin(found);
      }
      // The block just published is found too.
      const Frame found = cache.Lookup(address, ChecksumOf(address, cycle));
      ASSERT_EQ(found, f);
      cache.Unpin(found);
      if (i % 3 == 0) cache.Invalidate(address);
    }
  }
  cache.Unpin(pinned_a);
  cache.Unpin(pinned_b);
}

TEST(BlockCacheDeathTest, MisuseAborts) {
  BlockCache cache(2, kBlockSize);
  const Frame frame = Insert(cache, 4);
  EXPECT_DEATH(cache.Invalidate(4), "a block still being read is rewritten");
  EXPECT_DEATH(cache.Abandon(frame), "assertion failed");  // Mapped.
  EXPECT_DEATH(cache.Publish(frame, 5, ChecksumOf(5, 0)), "assertion failed");
  cache.Unpin(frame);
  EXPECT_DEATH(cache.Unpin(frame), "assertion failed");
  const Frame other = cache.Reserve();
  ASSERT_NE(other, kNoFrame);
  EXPECT_DEATH(cache.Pin(other), "assertion failed");  // Not mapped.
  cache.Abandon(other);
  EXPECT_DEATH(BlockCache(0, kBlockSize), "assertion failed");
}

}  // namespace
}  // namespace lsmscan
