// File: bench/fence_shapes.h
// -----------------------------------------------------------------------------
//
// The trees //bench:fence_benchmark measures fence heads on (issue 19).
//
//   uniform:          //bench:compare's layered dataset: random inserts, then
//                     ~10% overwrites and ~5% deletes of random keys; every
//                     level spans the whole key space.
//   recent_clustered: an old dense bottom level (every key of [0, records)
//                     once, compacted into one sorted run), then recent
//                     writes, --recent_percent of `records`, concentrated in
//                     key space and interleaved in time: half are new
//                     versions (1 in 10 a delete) of keys in a few narrow hot
//                     windows of the old key range, half appends of new keys
//                     above it in ascending order. This is the time-series /
//                     secondary-index case: new entries of an index on
//                     (time) or (series, time) land at the end of the key
//                     space, and updates of a few hot series or tenants land
//                     in narrow windows, over older data that compaction has
//                     pushed into a dense bottom level. The upper levels then
//                     hold little data, and with the windows in the top of
//                     the key range (hot_from_percent) start well after most
//                     seek keys.
//   slow_level:       recent_clustered, read through a storage that delays
//                     every read of the newest disk level's blocks (a slow
//                     device region) by a fixed wall-clock time.
//
// Seeks are uniform over the old key range [0, records) for every shape.

#ifndef LSMSCAN_BENCH_FENCE_SHAPES_H_
#define LSMSCAN_BENCH_FENCE_SHAPES_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "lsmscan/lsm/schema.h"
#include "lsmscan/lsm/tree.h"

namespace lsmscan {
namespace bench {

// FenceShape
enum class FenceShape : uint8_t { kUniform, kRecentClustered, kSlowLevel };

// FenceShapeName(), ParseFenceShape()
//
// "uniform", "recent_clustered", "slow_level"; Parse returns false for any
// other name.
const char* FenceShapeName(FenceShape shape);
bool ParseFenceShape(std::string_view name, FenceShape* shape);

// RecentWrites
//
// The recent writes of recent_clustered (and slow_level).
struct RecentWrites {
  uint32_t percent = 25;      // Of the old records.
  uint32_t hot_windows = 16;  // Narrow windows of the old key range.
  uint32_t window_keys = 0;   // Keys per window; 0: records / 1024.
  // The windows lie in the old key range's top (100 - hot_from_percent)%:
  // 0 spreads them over all of it (hot tenants of an index); 90 puts them
  // in its last tenth (late points of a time series keyed by time).
  uint32_t hot_from_percent = 0;
};

// LoadFenceShape()
//
// Writes `shape`'s tree of `records` old 32-byte records into `tree` (empty,
// background compaction on), lets it settle (Compact()) and checkpoints it.
void LoadFenceShape(FenceShape shape, uint64_t records,
                    const RecentWrites& recent, Tree<Record32Schema>* tree);

// LevelsDescription()
//
// "L0 2 tables 64 blocks [1000000, 1250000], L6 ..." for the live tables of
// every non-empty level: how the tree looks to a scan.
std::string LevelsDescription(const Tree<Record32Schema>& tree);

// SeekGapsDescription()
//
// Where fences can help at a seek, from the fence keys alone: per level,
// the share of `samples` uniform seek keys of [0, records) for which the
// level's first block meeting [key, end] starts after the key (its fence is
// then past the seek key: the other levels' values before it may flow while
// it loads), and how many distinct such blocks they need (few means a small
// cache keeps them resident, and no read is waited for anyway).
std::string SeekGapsDescription(const Tree<Record32Schema>& tree,
                                uint64_t records, uint32_t samples);

// NewestLevelBlocks()
//
// Every data block address of the newest non-empty disk level (slow_level
// delays their reads), and that level in `*level`.
std::vector<BlockAddress> NewestLevelBlocks(const Tree<Record32Schema>& tree,
                                            uint32_t* level);

}  // namespace bench
}  // namespace lsmscan

#endif  // LSMSCAN_BENCH_FENCE_SHAPES_H_
