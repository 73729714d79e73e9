// File: lsm/snapshot_set.h
// -----------------------------------------------------------------------------
//
// The live snapshots of a tree, each with its number of holders (acquired
// snapshots and open readers). A sorted vector: a tree has few live
// snapshots, and registering one (every scan does) allocates nothing once
// the reserved capacity covers them.

#ifndef LSMSCAN_LSM_SNAPSHOT_SET_H_
#define LSMSCAN_LSM_SNAPSHOT_SET_H_

#include <algorithm>
#include <cstdint>
#include <utility>
#include <vector>

#include "lsmscan/lsm/table_info.h"
#include "lsmscan/storage/base/assert.h"

namespace lsmscan {

// SnapshotSet
class SnapshotSet {
 public:
  explicit SnapshotSet(size_t capacity) { entries_.reserve(capacity); }

  // Adds one holder of `snapshot`.
  void Add(Snapshot snapshot) {
    auto it = LowerBound(snapshot);
    if (it != entries_.end() && it->first == snapshot) {
      it->second++;
      return;
    }
    entries_.insert(it, {snapshot, 1});
  }

  // Removes one holder of `snapshot`. REQUIRES: Contains(snapshot).
  void Remove(Snapshot snapshot) {
    auto it = LowerBound(snapshot);
    LSMSCAN_ASSERT(it != entries_.end() && it->first == snapshot);
    LSMSCAN_ASSERT(it->second > 0);
    if (--it->second == 0) entries_.erase(it);
  }

  bool Contains(Snapshot snapshot) const {
    auto it = LowerBound(snapshot);
    return it != entries_.end() && it->first == snapshot;
  }

  // Whether any live snapshot lies in [min, max].
  bool AnyIn(Snapshot min, Snapshot max) const {
    auto it = LowerBound(min);
    return it != entries_.end() && it->first <= max;
  }

  size_t size() const { return entries_.size(); }

 private:
  using Entry = std::pair<Snapshot, uint32_t>;

  std::vector<Entry>::iterator LowerBound(Snapshot snapshot) {
    return std::lower_bound(
        entries_.begin(), entries_.end(), snapshot,
        [](const Entry& entry, Snapshot s) { return entry.first < s; });
  }
  std::vector<Entry>::const_iterator LowerBound(Snapshot snapshot) const {
    return std::lower_bound(
        entries_.begin(), entries_.end(), snapshot,
        [](const Entry& entry, Snapshot s) { return entry.first < s; });
  }

  std::vector<Entry> entries_;  // Sorted by snapshot; holders > 0.
};

}  // namespace lsmscan

#endif  // LSMSCAN_LSM_SNAPSHOT_SET_H_
