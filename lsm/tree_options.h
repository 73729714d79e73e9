// File: lsm/tree_options.h
// -----------------------------------------------------------------------------
//
// The shape of a tree, fixed when it is created or opened, and its limits.

#ifndef LSMSCAN_LSM_TREE_OPTIONS_H_
#define LSMSCAN_LSM_TREE_OPTIONS_H_

#include <cstdint>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "lsmscan/lsm/data_block.h"
#include "lsmscan/lsm/index_block.h"
#include "lsmscan/lsm/table_info.h"

namespace lsmscan {

// Limits.
inline constexpr uint32_t kLevelCountMax = 16;
inline constexpr uint32_t kImmutableTableCountMax = 8;
// The largest TreeOptions::snapshot_count_max.
inline constexpr uint32_t kSnapshotCountMax = 1u << 16;

// kMemoryTableRunCountMax
//
// Sorted runs a memory table may hold (table_memory.h): a scan merges each
// as a stream of its own.
inline constexpr uint32_t kMemoryTableRunCountMax = 8;

// kMemorySortStepBytes
//
// The most work (bytes of sort entries and values moved) one tick of the
// tree's background work spends sorting sealed memory tables' suffixes
// (memory_table_sorter.h): about 100-300 us on a current core.
inline constexpr uint64_t kMemorySortStepBytes = uint64_t{1} << 20;

// kCompactionStepBytesMin
//
// The smallest TreeOptions::compaction_step_bytes_max.
inline constexpr uint32_t kCompactionStepBytesMin = 4096;

// kSealedTableCountMax
//
// Sealed memory tables that may exist (and be visible) at once: the whole
// pool, immutable_table_count_max + 1 tables, once Checkpoint(),
// CompactAll() or AcquireSnapshot() seals the mutable table while no free
// table can replace it.
inline constexpr uint32_t kSealedTableCountMax = kImmutableTableCountMax + 1;

// kSnapshotLatest
//
// The snapshot argument meaning "now": the tree's current state, including
// the mutable memory table. It is never a real op number.
inline constexpr Snapshot kSnapshotLatest = kSnapshotForever - 1;

// TreeOptions
//
// Every field has a default suited to 64 KiB blocks.
struct TreeOptions {
  // Disk levels, 1..kLevelCountMax. Level i holds at most
  // growth_factor^(i+1) tables (the last level is unbounded). Recorded in the
  // file: reopening with another count is refused.
  uint32_t level_count = 7;
  uint32_t growth_factor = 8;

  // Data blocks per table (each table also has one index block).
  uint32_t table_data_block_count_max = 64;

  // Values a memory table holds; 0 means one table's worth
  // (table_data_block_count_max * values per data block).
  uint32_t memory_table_value_count_max = 0;

  // Sealed memory tables waiting to be flushed to level 0 (or kept for a
  // snapshot) at once, 1..kImmutableTableCountMax. Puts get
  // ResourceExhausted when the mutable table is full and none is free.
  // User snapshots may hold at most immutable_table_count_max - 1 memory
  // tables at once (a table keeps its slot while a snapshot sees it, even
  // once flushed): AcquireSnapshot() past that is ResourceExhausted, so
  // that Compact() can always relieve writes (tree.h). With 1, a snapshot
  // may hold none: take it right after Checkpoint().
  uint32_t immutable_table_count_max = 2;

  // Block cache frames for copying storages (pread, io_uring); 0 = none.
  uint32_t cache_block_count = 0;

  // Output blocks a compaction keeps in flight.
  uint32_t compaction_write_frame_count = 4;

  // Whether the tree starts the compaction work it needs by itself (flushing
  // sealed memory tables, keeping the levels' shape), in bounded steps from
  // the storage's Tick(), paced by the writes (compaction_pace.h,
  // doc/design.md "Writes, compaction and back-pressure"). The caller must
  // tick the storage for it to run. False: only Compact(), CompactAll() and
  // Checkpoint() do work (tests that need deterministic shapes).
  bool background_compaction = true;

  // The most work one tick of background compaction is granted: bytes of
  // input values merged, or of memory-table sort work, per step (a running
  // job may hold up to twice this across a tick boundary). Bounds the
  // latency a tick adds to the loop; at least kCompactionStepBytesMin.
  uint32_t compaction_step_bytes_max = 256 * 1024;

  // Snapshots users may hold at once (AcquireSnapshot() past it is
  // ResourceExhausted, as past the memory-table limit above),
  // 1..kSnapshotCountMax. Costs 24 bytes each, allocated
  // when the tree is created or opened. Not recorded in the file.
  uint32_t snapshot_count_max = 256;
};

// ValidateTreeOptions()
//
// InvalidArgument naming the first bad field, or OK.
template <typename Key, typename Value>
absl::Status ValidateTreeOptions(const TreeOptions& options,
                                 uint32_t block_size_bytes,
                                 uint64_t block_count_max) {
  // Blocks 0 and 1 hold the superblock copies; a tree needs more.
  if (block_count_max <= 2) {
    return absl::InvalidArgumentError(
        "the storage's block_count_max must be above 2 (blocks 0 and 1 hold "
        "the superblock)");
  }
  if (options.level_count == 0 || options.level_count > kLevelCountMax) {
    return absl::InvalidArgumentError(
        absl::StrCat("level_count must be in [1, ", kLevelCountMax, "], got ",
                     options.level_count));
  }
  if (options.growth_factor < 2) {
    return absl::InvalidArgumentError("growth_factor must be at least 2");
  }
  const uint32_t index_entries_max =
      IndexBlockEntryCountMax(block_size_bytes, sizeof(Key));
  if (options.table_data_block_count_max == 0 ||
      options.table_data_block_count_max > index_entries_max) {
    return absl::InvalidArgumentError(
        absl::StrCat("table_data_block_count_max must be in [1, ",
                     index_entries_max, "] for this block and key size, got ",
                     options.table_data_block_count_max));
  }
  if (DataBlockValueCountMax<Value>(block_size_bytes) == 0) {
    return absl::InvalidArgumentError("a value does not fit in one block");
  }
  // Block headers record element sizes in 16 bits.
  static_assert(sizeof(Value) <= UINT16_MAX, "values are at most 65535 bytes");
  static_assert(sizeof(Key) <= 32000, "keys are at most 32000 bytes");
  if (options.immutable_table_count_max == 0 ||
      options.immutable_table_count_max > kImmutableTableCountMax) {
    return absl::InvalidArgumentError(
        absl::StrCat("immutable_table_count_max must be in [1, ",
                     kImmutableTableCountMax, "]"));
  }
  if (options.compaction_write_frame_count == 0) {
    return absl::InvalidArgumentError(
        "compaction_write_frame_count must be positive");
  }
  if (options.compaction_step_bytes_max < kCompactionStepBytesMin ||
      options.compaction_step_bytes_max < sizeof(Value)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "compaction_step_bytes_max must be at least ", kCompactionStepBytesMin,
        " and at least one value, got ", options.compaction_step_bytes_max));
  }
  if (options.snapshot_count_max == 0 ||
      options.snapshot_count_max > kSnapshotCountMax) {
    return absl::InvalidArgumentError(
        absl::StrCat("snapshot_count_max must be in [1, ", kSnapshotCountMax,
                     "], got ", options.snapshot_count_max));
  }
  return absl::OkStatus();
}

}  // namespace lsmscan

#endif  // LSMSCAN_LSM_TREE_OPTIONS_H_
