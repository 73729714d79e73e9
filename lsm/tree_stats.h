// File: lsm/tree_stats.h
// -----------------------------------------------------------------------------
//
// What Tree::stats() reports: counters since the tree was created or opened,
// and the shape of its levels.

#ifndef LSMSCAN_LSM_TREE_STATS_H_
#define LSMSCAN_LSM_TREE_STATS_H_

#include <array>
#include <cstdint>

#include "lsmscan/lsm/tree_options.h"

namespace lsmscan {

// TreeLevelStats
//
// What the live tables of one level hold (tombstones purged at the last
// level: its `tombstones` is always 0).
struct TreeLevelStats {
  uint64_t tables = 0;
  uint64_t values = 0;      // Tombstones included.
  uint64_t tombstones = 0;  // Of `values`.
};

// TreeStats
//
// Counters since the tree was created or opened, and the shape of its
// levels now.
struct TreeStats {
  uint64_t puts = 0;
  uint64_t seals = 0;
  uint64_t flushes = 0;      // Memory table -> level 0 jobs.
  uint64_t compactions = 0;  // Level -> level jobs that rewrote tables.
  uint64_t moves = 0;        // Level -> level jobs that only moved one.
  // The most level-0 tables one flush merged its memory table over.
  uint64_t flush_targets_max = 0;
  uint64_t values_compacted = 0;
  uint64_t checkpoints = 0;
  uint64_t tables_freed = 0;
  uint64_t gets = 0;
  // Per level (the first level_count() entries): its live tables now.
  std::array<TreeLevelStats, kLevelCountMax> levels{};
  // The tree's shape now, in sorted runs (what a scan merges): the memory
  // tables' runs not yet flushed (an unsorted suffix counts as one), and
  // memory_runs plus one per non-empty level.
  uint64_t memory_runs = 0;
  uint64_t sorted_runs = 0;
};

}  // namespace lsmscan

#endif  // LSMSCAN_LSM_TREE_STATS_H_
