// File: lsm/manifest_testing.h
// -----------------------------------------------------------------------------
//
// Test support for manifests (testonly): tables made to order, and the walk
// a scan's level makes through a level, for manifests of uint64_t keys.

#ifndef LSMSCAN_LSM_MANIFEST_TESTING_H_
#define LSMSCAN_LSM_MANIFEST_TESTING_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "lsmscan/lsm/direction.h"
#include "lsmscan/lsm/manifest.h"
#include "lsmscan/lsm/table_info.h"

namespace lsmscan {
namespace manifest_testing {

using Key = uint64_t;
using Table = ManifestTable<Key>;
using Info = TableInfo<Key>;
using Addresses = std::vector<BlockAddress>;

// MakeTable()
//
// A table of `level` over [key_min, key_max] with index block `index`
// (its checksum, counts and data block addresses derived from `index`),
// visible at [snapshot_min, snapshot_max].
inline Table MakeTable(uint8_t level, Key key_min, Key key_max,
                       BlockAddress index, Snapshot snapshot_min = 1,
                       Snapshot snapshot_max = kSnapshotForever) {
  Table table;
  table.info.level = level;
  table.info.key_min = key_min;
  table.info.key_max = key_max;
  table.info.snapshot_min = snapshot_min;
  table.info.snapshot_max = snapshot_max;
  table.info.index_address = index;
  table.info.index_checksum = Checksum128{index, ~index};
  table.info.value_count = 10 * index;
  table.info.data_block_count = 2;
  table.data_addresses = {index * 100 + 1, index * 100 + 2};
  return table;
}

// The index addresses NextTable() yields walking `level` like a scan: each
// call passes the previous table's boundary as key_exclusive.
inline std::vector<BlockAddress> Walk(const Manifest<Key>& manifest,
                                      uint32_t level, Snapshot snapshot,
                                      Key key_min, Key key_max,
                                      Direction direction) {
  std::vector<BlockAddress> result;
  std::optional<Key> exclusive;
  const size_t limit = manifest.tables(level).size() + 1;
  while (result.size() <= limit) {
    const std::optional<Info> table = manifest.NextTable(
        level, snapshot, key_min, key_max, exclusive, direction);
    if (!table.has_value()) break;
    result.push_back(table->index_address);
    exclusive =
        direction == Direction::kAscending ? table->key_max : table->key_min;
  }
  return result;
}

}  // namespace manifest_testing
}  // namespace lsmscan

#endif  // LSMSCAN_LSM_MANIFEST_TESTING_H_
