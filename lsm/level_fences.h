// File: lsm/level_fences.h
// -----------------------------------------------------------------------------
//
// LevelFences: every data block of one level's live tables, in key order, in
// flat in-memory arrays (the fence keys of the level). With them a scan finds
// the data block holding a key by one binary search over the level, and
// walks from block to block across tables, without the manifest walk or an
// index block (which it otherwise reads for every table it enters).
//
// The manifest keeps one per level, rebuilt when the level's live tables
// change (Manifest::Fences()). A version is immutable and shared: a scan
// holds the version it started with for its whole life.
//
// Memory: 40 bytes per data block (two keys of 8 bytes, an address, a
// checksum) for 8-byte keys: 0.06% of the data with 64 KiB blocks.

#ifndef LSMSCAN_LSM_LEVEL_FENCES_H_
#define LSMSCAN_LSM_LEVEL_FENCES_H_

#include <cstdint>
#include <span>
#include <vector>

#include "lsmscan/lsm/checksum.h"
#include "lsmscan/storage/storage.h"

namespace lsmscan {

// LevelFences<Key>
//
// Block i of the level holds keys in [keys_min[i], keys_max[i]]; ranges
// ascend and do not overlap. `addresses` and `checksums` locate and verify
// it, as its table's index block would.
template <typename Key>
struct LevelFences {
  std::vector<Key> keys_min;
  std::vector<Key> keys_max;
  std::vector<BlockAddress> addresses;
  std::vector<Checksum128> checksums;

  uint32_t block_count() const {
    return static_cast<uint32_t>(addresses.size());
  }

  // Appends a table's blocks (in key order, after every block so far).
  void Append(std::span<const Key> table_keys_min,
              std::span<const Key> table_keys_max,
              std::span<const BlockAddress> table_addresses,
              std::span<const Checksum128> table_checksums) {
    keys_min.insert(keys_min.end(), table_keys_min.begin(),
                    table_keys_min.end());
    keys_max.insert(keys_max.end(), table_keys_max.begin(),
                    table_keys_max.end());
    addresses.insert(addresses.end(), table_addresses.begin(),
                     table_addresses.end());
    checksums.insert(checksums.end(), table_checksums.begin(),
                     table_checksums.end());
  }

  // Whether the arrays agree in size and the block ranges ascend without
  // overlap. O(n).
  bool Valid() const {
    const size_t n = addresses.size();
    if (keys_min.size() != n || keys_max.size() != n || checksums.size() != n)
      return false;
    for (size_t i = 0; i < n; i++) {
      if (keys_max[i] < keys_min[i]) return false;
      if (i > 0 && !(keys_max[i - 1] < keys_min[i])) return false;
    }
    return true;
  }
};

}  // namespace lsmscan

#endif  // LSMSCAN_LSM_LEVEL_FENCES_H_
