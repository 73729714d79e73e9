// File: lsm/table_info.h
// -----------------------------------------------------------------------------
//
// What the manifest knows about one table: its key range, its lifetime in
// snapshots, and where its index block is. Rung 2 of the ladder.

#ifndef LSMSCAN_LSM_TABLE_INFO_H_
#define LSMSCAN_LSM_TABLE_INFO_H_

#include <cstdint>
#include <limits>

#include "lsmscan/lsm/checksum.h"
#include "lsmscan/storage/storage.h"

namespace lsmscan {

// Snapshot
//
// A point in the tree's history: an op number. Tree::AcquireSnapshot() hands
// them out; tables and memory tables are visible at an interval of them.
using Snapshot = uint64_t;

// kSnapshotForever
//
// `snapshot_max` of a table that has not been replaced ("not deleted").
inline constexpr Snapshot kSnapshotForever =
    std::numeric_limits<Snapshot>::max();

// TableInfo<Key>
//
// A table is visible at snapshot S iff snapshot_min <= S <= snapshot_max.
// At any one snapshot, the visible tables of a level have disjoint ranges.
template <typename Key>
struct TableInfo {
  Key key_min{};
  Key key_max{};
  Snapshot snapshot_min = 0;
  Snapshot snapshot_max = kSnapshotForever;
  BlockAddress index_address = 0;
  Checksum128 index_checksum;
  uint64_t value_count = 0;      // Tombstones included.
  uint64_t tombstone_count = 0;  // Of value_count.
  uint32_t data_block_count = 0;
  uint8_t level = 0;

  bool visible(Snapshot snapshot) const {
    return snapshot_min <= snapshot && snapshot <= snapshot_max;
  }
  // Whether [key_min, key_max] meets the query range [min, max].
  bool intersects(const Key& min, const Key& max) const {
    return !(key_max < min) && !(max < key_min);
  }
};

}  // namespace lsmscan

#endif  // LSMSCAN_LSM_TABLE_INFO_H_
