// File: lsm/compaction_planner.h
// -----------------------------------------------------------------------------
//
// Which compaction job a tree runs next, and how full a level may get: the
// policy, apart from the I/O (compaction.h runs a job) and the schedule
// (tree_compaction.h starts jobs and commits them).
//
// The policy, after TigerBeetle's:
//   1. The first level i (not the last) holding more live tables than
//      LevelTableCountMax(i) = growth_factor^(i+1) gives one table to level
//      i + 1: the one overlapping the fewest tables there (the least write
//      amplification). With no overlap the table just moves, unless it
//      holds tombstones and is going to the last level: then it is
//      rewritten alone, without them.
//   2. Else the oldest sealed memory table not yet flushed goes to level 0,
//      merged over the level-0 tables it overlaps.
//   3. Else there is nothing to do.
// Levels come before flushes so that a flush merges over at most
// LevelTableCountMax(0) level-0 tables, however fast writes seal tables:
// flushing first let level 0 grow without bound under steady writes, each
// flush rewriting all of it (write amplification 121 instead of 15 at 1 M
// puts of 1,000 B; bench/RESULTS.md). Level jobs never add to level 0, so
// a waiting flush runs after finitely many of them. When compacting
// everything (CompactAll()), flushes come first and every level but the
// last goes down to nothing.
// A job writing the last level drops tombstones: nothing older lies below.
// So the last level never holds a tombstone (Tree::Commit() asserts it),
// and CompactAll() leaves none.
//
// The planner only reads the manifest and the memory tables it is given.

#ifndef LSMSCAN_LSM_COMPACTION_PLANNER_H_
#define LSMSCAN_LSM_COMPACTION_PLANNER_H_

#include <algorithm>
#include <cstdint>
#include <span>
#include <utility>
#include <vector>

#include "lsmscan/lsm/manifest.h"
#include "lsmscan/lsm/memory_tables.h"
#include "lsmscan/lsm/schema.h"
#include "lsmscan/lsm/table_info.h"
#include "lsmscan/lsm/table_memory.h"
#include "lsmscan/storage/base/assert.h"

namespace lsmscan {

// CompactionPlan<S>
//
// One planned compaction job.
template <Schema S>
struct CompactionPlan {
  using Key = typename S::Key;

  bool valid = false;                       // False: nothing to do.
  TableMemory<S>* memory_source = nullptr;  // A memory table to flush, or:
  std::vector<TableInfo<Key>> sources;      // One table of the level above.
  std::vector<TableInfo<Key>> targets;  // Overlapping tables of output_level.
  uint8_t output_level = 0;
  bool move = false;  // A source with no targets: change its level only.
  bool drop_tombstones = false;  // The output is the last level.
};

// CompactionPlanner<S>
//
// `manifest` and `memory_tables` must outlive the planner.
template <Schema S>
class CompactionPlanner {
 public:
  using Key = typename S::Key;
  using Value = typename S::Value;

  CompactionPlanner(const Manifest<Key>* manifest,
                    const MemoryTables<S>* memory_tables, uint32_t level_count,
                    uint32_t growth_factor)
      : manifest_(manifest),
        memory_tables_(memory_tables),
        level_count_(level_count),
        growth_factor_(growth_factor) {}

  // CompactionPlanner::Next()
  //
  // The next job at op `op` (the policy above); `all` compacts every level
  // but the last down to nothing. Not valid if there is nothing to do.
  CompactionPlan<S> Next(Snapshot op, bool all) const;

  // CompactionPlanner::LevelTableCountMax()
  //
  // How many live tables level `level` may hold before it is compacted
  // (UINT64_MAX past the range of uint64_t). REQUIRES: level < level_count.
  uint64_t LevelTableCountMax(uint32_t level) const;

 private:
  CompactionPlan<S> PlanFlush(TableMemory<S>* memory, Snapshot op) const;
  CompactionPlan<S> PlanLevel(uint32_t level, Snapshot op) const;

  const Manifest<Key>* manifest_;
  const MemoryTables<S>* memory_tables_;
  uint32_t level_count_;
  uint32_t growth_factor_;
};

// -----------------------------------------------------------------------------
// Implementation.

template <Schema S>
CompactionPlan<S> CompactionPlanner<S>::Next(Snapshot op, bool all) const {
  TableMemory<S>* memory = memory_tables_->OldestUnflushed();
  if (memory != nullptr && all) return PlanFlush(memory, op);
  for (uint32_t level = 0; level + 1 < level_count_; level++) {
    const uint64_t count_max = all ? 0 : LevelTableCountMax(level);
    if (manifest_->live_table_count(level) > count_max) {
      return PlanLevel(level, op);
    }
  }
  if (memory != nullptr) return PlanFlush(memory, op);
  return CompactionPlan<S>();
}

template <Schema S>
uint64_t CompactionPlanner<S>::LevelTableCountMax(uint32_t level) const {
  LSMSCAN_ASSERT(level < level_count_);
  uint64_t count = 1;
  for (uint32_t i = 0; i <= level; i++) {
    if (count > UINT64_MAX / growth_factor_) return UINT64_MAX;
    count *= growth_factor_;
  }
  return count;
}

template <Schema S>
CompactionPlan<S> CompactionPlanner<S>::PlanFlush(TableMemory<S>* memory,
                                                  Snapshot op) const {
  CompactionPlan<S> plan;
  plan.valid = true;
  plan.memory_source = memory;
  // The key range of its runs.
  LSMSCAN_ASSERT(memory->sorted());
  LSMSCAN_ASSERT(memory->run_count() > 0);
  Key key_min = S::key_of(memory->run(0).front());
  Key key_max = S::key_of(memory->run(0).back());
  for (uint32_t i = 1; i < memory->run_count(); i++) {
    key_min = std::min(key_min, S::key_of(memory->run(i).front()));
    key_max = std::max(key_max, S::key_of(memory->run(i).back()));
  }
  plan.targets = manifest_->Overlapping(0, op, key_min, key_max);
  plan.output_level = 0;
  plan.drop_tombstones = plan.output_level + 1u == level_count_;
  return plan;
}

template <Schema S>
CompactionPlan<S> CompactionPlanner<S>::PlanLevel(uint32_t level,
                                                  Snapshot op) const {
  // The live table of `level` overlapping the fewest tables below it
  // (TigerBeetle's choice: least write amplification).
  CompactionPlan<S> plan;
  size_t best_overlap = SIZE_MAX;
  for (const ManifestTable<Key>& table : manifest_->tables(level)) {
    if (table.info.snapshot_max != kSnapshotForever) continue;
    std::vector<TableInfo<Key>> targets = manifest_->Overlapping(
        level + 1, op, table.info.key_min, table.info.key_max);
    if (targets.size() >= best_overlap) continue;
    best_overlap = targets.size();
    plan.valid = true;
    plan.sources = {table.info};
    plan.targets = std::move(targets);
    if (best_overlap == 0) break;
  }
  LSMSCAN_ASSERT(plan.valid);
  plan.output_level = static_cast<uint8_t>(level + 1);
  plan.drop_tombstones = plan.output_level + 1u == level_count_;
  // A move keeps the table's blocks, tombstones and all: into the last
  // level, a table with tombstones is rewritten (alone) to drop them.
  plan.move = plan.targets.empty() &&
              !(plan.drop_tombstones && plan.sources[0].tombstone_count > 0);
  return plan;
}

}  // namespace lsmscan

#endif  // LSMSCAN_LSM_COMPACTION_PLANNER_H_
