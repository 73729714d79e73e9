// File: lsm/manifest.h
// -----------------------------------------------------------------------------
//
// The manifest: for every level, every table that some live snapshot may
// still see, with its key range and lifetime. Held entirely in memory (it is
// persisted at checkpoints, see manifest_codec.h), so `NextTable()` — the
// primitive a scan's levels walk with — never does I/O.
//
// Within a level, tables are kept sorted by (key_max, snapshot_min). At any
// one snapshot the visible tables of a level are disjoint, so among them
// key_max order is key order; tables of other snapshots are skipped.
//
// Invariants (checked by CheckInvariants() in the expensive tier):
//   1. Each level is sorted by (key_max, snapshot_min).
//   2. key_min <= key_max, snapshot_min <= snapshot_max for every table.
//   3. At the latest snapshot, each level's visible tables are disjoint.
//   4. `live_table_count(level)` counts tables with snapshot_max = forever;
//      `live_value_count(level)` and `live_tombstone_count(level)` sum their
//      value and tombstone counts.
//   5. Each non-empty level's bounds (MayIntersect()) hold every table's
//      key range.
//   6. occupied_levels() has the bit of every non-empty level, and no other.
//
// Thread safety: none (the tree's owner thread).

#ifndef LSMSCAN_LSM_MANIFEST_H_
#define LSMSCAN_LSM_MANIFEST_H_

#include <algorithm>
#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "lsmscan/lsm/checksum.h"
#include "lsmscan/lsm/direction.h"
#include "lsmscan/lsm/level_fences.h"
#include "lsmscan/lsm/table_info.h"
#include "lsmscan/storage/base/assert.h"

namespace lsmscan {

// ManifestTable<Key>
//
// A table as the tree tracks it in memory: its info plus the addresses of
// its data blocks (so freeing it needs no I/O) and, optionally, what its
// index block says of each data block (key range, checksum), so scans can
// find blocks without reading the index (LevelFences). Either all three of
// those are filled (one entry per data block) or none is.
template <typename Key>
struct ManifestTable {
  TableInfo<Key> info;
  std::vector<BlockAddress> data_addresses;
  std::vector<Key> data_keys_min;
  std::vector<Key> data_keys_max;
  std::vector<Checksum128> data_checksums;

  bool has_fences() const {
    return data_keys_min.size() == info.data_block_count &&
           data_keys_max.size() == info.data_block_count &&
           data_checksums.size() == info.data_block_count;
  }
};

// Manifest<Key>
template <typename Key>
class Manifest {
 public:
  explicit Manifest(uint32_t level_count)
      : levels_(level_count),
        live_counts_(level_count),
        bounds_(level_count),
        fences_(level_count) {
    LSMSCAN_ASSERT(level_count > 0);
    LSMSCAN_ASSERT(level_count <= 32);  // occupied_levels() has a bit each.
  }

  uint32_t level_count() const { return static_cast<uint32_t>(levels_.size()); }

  // Manifest::Insert()
  //
  // Adds a table to `table.info.level`.
  void Insert(ManifestTable<Key> table) {
    const uint32_t level = table.info.level;
    LSMSCAN_ASSERT(level < levels_.size());
    LSMSCAN_ASSERT(!(table.info.key_max < table.info.key_min));
    LSMSCAN_ASSERT(table.info.snapshot_min <= table.info.snapshot_max);
    LSMSCAN_ASSERT(table.info.data_block_count == table.data_addresses.size());
    LSMSCAN_ASSERT(table.has_fences() || (table.data_keys_min.empty() &&
                                          table.data_keys_max.empty() &&
                                          table.data_checksums.empty()));
    std::vector<ManifestTable<Key>>& tables = levels_[level];
    LevelChanged(level, table.info.snapshot_max == kSnapshotForever
                            ? table.info.snapshot_min
                            : table.info.snapshot_max + 1);
    auto position = std::upper_bound(
        tables.begin(), tables.end(), table.info,
        [](const TableInfo<Key>& info, const ManifestTable<Key>& other) {
          return Less(info, other.info);
        });
    if (table.info.snapshot_max == kSnapshotForever) {
      live_counts_[level].Add(table.info);
    } else {
      retired_count_++;
    }
    LevelBounds& bounds = bounds_[level];
    if (tables.empty() || table.info.key_min < bounds.key_min) {
      bounds.key_min = table.info.key_min;
    }
    if (tables.empty() || bounds.key_max < table.info.key_max) {
      bounds.key_max = table.info.key_max;
    }
    tables.insert(position, std::move(table));
    occupied_levels_ |= uint32_t{1} << level;
  }

  // Manifest::Find()
  //
  // The table of `level` whose index block is at `index_address`, or null.
  const ManifestTable<Key>* Find(uint32_t level,
                                 BlockAddress index_address) const {
    const std::vector<ManifestTable<Key>>& tables = levels_.at(level);
    for (const ManifestTable<Key>& table : tables) {
      if (table.info.index_address == index_address) return &table;
    }
    return nullptr;
  }

  // Manifest::Retire()
  //
  // Ends the life of a live table: sets its snapshot_max. Snapshots up to
  // `snapshot_max` still see it until it is removed.
  void Retire(uint32_t level, BlockAddress index_address,
              Snapshot snapshot_max) {
    ManifestTable<Key>* table = FindMutable(level, index_address);
    LSMSCAN_ASSERT(table != nullptr);
    LSMSCAN_ASSERT(table->info.snapshot_max == kSnapshotForever);
    LSMSCAN_ASSERT(table->info.snapshot_min <= snapshot_max);
    table->info.snapshot_max = snapshot_max;
    LevelChanged(level, snapshot_max + 1);
    live_counts_[level].Subtract(table->info);
    retired_count_++;
  }

  // Manifest::Remove()
  //
  // Drops a retired table (no live snapshot can see it any more) and returns
  // it, so the caller can free its blocks.
  ManifestTable<Key> Remove(uint32_t level, BlockAddress index_address) {
    std::vector<ManifestTable<Key>>& tables = levels_.at(level);
    for (auto it = tables.begin(); it != tables.end(); ++it) {
      if (it->info.index_address != index_address) continue;
      LSMSCAN_ASSERT(it->info.snapshot_max != kSnapshotForever);
      LSMSCAN_ASSERT(retired_count_ > 0);
      retired_count_--;
      ManifestTable<Key> removed = std::move(*it);
      tables.erase(it);
      if (tables.empty()) occupied_levels_ &= ~(uint32_t{1} << level);
      RecomputeBounds(level);
      return removed;
    }
    LSMSCAN_UNREACHABLE();
  }

  // Manifest::NextTable()
  //
  // The next table of `level`, in `direction`, that is visible at `snapshot`
  // and intersects [key_min, key_max]; with `key_exclusive`, only tables
  // strictly beyond it (ascending: key_max > key_exclusive; descending:
  // key_max < key_exclusive). A scan passes the boundary key of the table it
  // just finished. Returns a copy: no pointer into the manifest survives.
  std::optional<TableInfo<Key>> NextTable(
      uint32_t level, Snapshot snapshot, const Key& key_min, const Key& key_max,
      const std::optional<Key>& key_exclusive, Direction direction) const {
    LSMSCAN_ASSERT(level < levels_.size());
    LSMSCAN_ASSERT(!(key_max < key_min));
    const std::vector<ManifestTable<Key>>& tables = levels_[level];
    // A plain pointer from here on: GCC's -Wmaybe-uninitialized misreads
    // an optional passed down through inlined calls.
    const Key* exclusive =
        key_exclusive.has_value() ? &*key_exclusive : nullptr;
    const TableInfo<Key>* found = nullptr;
    if (direction == Direction::kAscending) {
      found = NextAscending(tables, snapshot, key_min, exclusive);
    } else if (exclusive != nullptr && !(key_max < *exclusive)) {
      found = LastBefore(tables, snapshot, *exclusive);
    } else {
      // An exclusive bound beyond key_max changes nothing: the table holding
      // key_max cannot reach it (it would overlap the table that set it).
      found = NextDescending(tables, snapshot, key_max);
    }
    if (found == nullptr || !found->intersects(key_min, key_max)) {
      return std::nullopt;
    }
    return *found;
  }

  // Manifest::FindTable()
  //
  // The table of `level` visible at `snapshot` whose range contains `key`.
  std::optional<TableInfo<Key>> FindTable(uint32_t level, Snapshot snapshot,
                                          const Key& key) const {
    return NextTable(level, snapshot, key, key, std::nullopt,
                     Direction::kAscending);
  }

  // Manifest::Overlapping()
  //
  // Every table of `level` visible at `snapshot` that intersects
  // [key_min, key_max], in key order.
  std::vector<TableInfo<Key>> Overlapping(uint32_t level, Snapshot snapshot,
                                          const Key& key_min,
                                          const Key& key_max) const {
    std::vector<TableInfo<Key>> result;
    std::optional<Key> after;
    while (true) {
      std::optional<TableInfo<Key>> table = NextTable(
          level, snapshot, key_min, key_max, after, Direction::kAscending);
      if (!table.has_value()) break;
      after = table->key_max;
      result.push_back(*table);
    }
    return result;
  }

  // Manifest::MayIntersect()
  //
  // False only if no table of `level`, of any lifetime, meets [key_min,
  // key_max]: a scan at any snapshot can leave the level out. O(1).
  bool MayIntersect(uint32_t level, const Key& key_min,
                    const Key& key_max) const {
    LSMSCAN_ASSERT(level < levels_.size());
    if (levels_[level].empty()) return false;
    const LevelBounds& bounds = bounds_[level];
    return !(bounds.key_max < key_min) && !(key_max < bounds.key_min);
  }

  // Manifest::occupied_levels()
  //
  // Bit i is set when level i holds a table of any lifetime: the levels
  // MayIntersect() can be true for, so a scan need not look at the others.
  uint32_t occupied_levels() const { return occupied_levels_; }

  // Manifest::Fences()
  //
  // The fence keys of `level`'s live tables (LevelFences), if a scan at
  // `snapshot` sees exactly those tables (no table of the level was added or
  // retired after `snapshot`) and every one of them carries its blocks'
  // keys; else null. Rebuilt here, once after each change of the level's
  // live tables (O(data blocks of the level), allocates); a version handed
  // out stays valid for as long as it is held.
  std::shared_ptr<const LevelFences<Key>> Fences(uint32_t level,
                                                 Snapshot snapshot) const {
    LSMSCAN_ASSERT(level < levels_.size());
    LevelFenceState& state = fences_[level];
    if (snapshot < state.live_since) return nullptr;
    if (!state.built) {
      state.current = BuildFences(level);
      state.built = true;
    }
    return state.current;
  }

  // Manifest::tables()
  //
  // Every table of `level`, of every lifetime, in (key_max, snapshot_min)
  // order.
  const std::vector<ManifestTable<Key>>& tables(uint32_t level) const {
    return levels_.at(level);
  }

  // Manifest::retired_table_count()
  //
  // Tables of all levels that are retired but not yet removed.
  uint64_t retired_table_count() const { return retired_count_; }

  // Manifest::live_table_count()
  //
  // Tables of `level` that are not retired (visible at the latest snapshot).
  uint64_t live_table_count(uint32_t level) const {
    return live_counts_.at(level).tables;
  }

  // Manifest::live_value_count(), live_tombstone_count()
  //
  // Values (tombstones included) and tombstones in the live tables of
  // `level`.
  uint64_t live_value_count(uint32_t level) const {
    return live_counts_.at(level).values;
  }
  uint64_t live_tombstone_count(uint32_t level) const {
    return live_counts_.at(level).tombstones;
  }

  // Manifest::CheckInvariants()
  //
  // Aborts if an invariant of the file comment is broken. O(n).
  void CheckInvariants() const;

 private:
  static bool Less(const TableInfo<Key>& a, const TableInfo<Key>& b) {
    if (a.key_max < b.key_max) return true;
    if (b.key_max < a.key_max) return false;
    return a.snapshot_min < b.snapshot_min;
  }

  // A level's fences and from which snapshot on its visible tables are its
  // live ones.
  struct LevelFenceState {
    Snapshot live_since = 0;
    bool built = false;
    std::shared_ptr<const LevelFences<Key>> current;
  };

  // The live tables of `level` changed; a snapshot sees exactly the new live
  // set from `since` on.
  void LevelChanged(uint32_t level, Snapshot since) {
    LevelFenceState& state = fences_[level];
    state.live_since = std::max(state.live_since, since);
    state.built = false;
    state.current.reset();
  }

  std::shared_ptr<const LevelFences<Key>> BuildFences(uint32_t level) const {
    auto fences = std::make_shared<LevelFences<Key>>();
    for (const ManifestTable<Key>& table : levels_[level]) {
      if (table.info.snapshot_max != kSnapshotForever) continue;
      if (!table.has_fences()) return nullptr;
      fences->Append(table.data_keys_min, table.data_keys_max,
                     table.data_addresses, table.data_checksums);
    }
    LSMSCAN_EXPENSIVE_ASSERT(fences->Valid());
    return fences;
  }

  // The smallest key_min and largest key_max of a level's tables (of every
  // lifetime); meaningless for an empty level.
  struct LevelBounds {
    Key key_min{};
    Key key_max{};
  };

  void RecomputeBounds(uint32_t level) {
    const std::vector<ManifestTable<Key>>& tables = levels_[level];
    if (tables.empty()) return;
    LevelBounds bounds{tables.front().info.key_min, tables.back().info.key_max};
    for (const ManifestTable<Key>& table : tables) {
      if (table.info.key_min < bounds.key_min)
        bounds.key_min = table.info.key_min;
    }
    bounds_[level] = bounds;
  }

  ManifestTable<Key>* FindMutable(uint32_t level, BlockAddress index_address) {
    return const_cast<ManifestTable<Key>*>(
        static_cast<const Manifest*>(this)->Find(level, index_address));
  }

  // First index whose key_max >= key (or > key if `strict`).
  static size_t LowerBound(const std::vector<ManifestTable<Key>>& tables,
                           const Key& key, bool strict) {
    return static_cast<size_t>(
        std::partition_point(tables.begin(), tables.end(),
                             [&](const ManifestTable<Key>& table) {
                               return strict ? !(key < table.info.key_max)
                                             : table.info.key_max < key;
                             }) -
        tables.begin());
  }

  static const TableInfo<Key>* NextAscending(
      const std::vector<ManifestTable<Key>>& tables, Snapshot snapshot,
      const Key& key_min, const Key* key_exclusive) {
    size_t begin = LowerBound(tables, key_min, /*strict=*/false);
    if (key_exclusive != nullptr) {
      begin = std::max(begin, LowerBound(tables, *key_exclusive, true));
    }
    for (size_t i = begin; i < tables.size(); i++) {
      if (tables[i].info.visible(snapshot)) return &tables[i].info;
    }
    return nullptr;
  }

  // The visible table containing key_max, else the last one before it.
  static const TableInfo<Key>* NextDescending(
      const std::vector<ManifestTable<Key>>& tables, Snapshot snapshot,
      const Key& key_max) {
    const size_t begin = LowerBound(tables, key_max, /*strict=*/false);
    for (size_t i = begin; i < tables.size(); i++) {
      if (!tables[i].info.visible(snapshot)) continue;
      if (!(key_max < tables[i].info.key_min)) return &tables[i].info;
      break;
    }
    return LastBefore(tables, snapshot, key_max);
  }

  // The last visible table whose key_max is below `bound`.
  static const TableInfo<Key>* LastBefore(
      const std::vector<ManifestTable<Key>>& tables, Snapshot snapshot,
      const Key& bound) {
    for (size_t i = LowerBound(tables, bound, /*strict=*/false); i > 0; i--) {
      if (tables[i - 1].info.visible(snapshot)) return &tables[i - 1].info;
    }
    return nullptr;
  }

  // What the live tables of one level hold.
  struct LiveCounts {
    uint64_t tables = 0;
    uint64_t values = 0;
    uint64_t tombstones = 0;

    void Add(const TableInfo<Key>& info) {
      tables++;
      values += info.value_count;
      tombstones += info.tombstone_count;
    }
    void Subtract(const TableInfo<Key>& info) {
      LSMSCAN_ASSERT(tables > 0);
      LSMSCAN_ASSERT(values >= info.value_count);
      LSMSCAN_ASSERT(tombstones >= info.tombstone_count);
      tables--;
      values -= info.value_count;
      tombstones -= info.tombstone_count;
    }
  };

  std::vector<std::vector<ManifestTable<Key>>> levels_;
  std::vector<LiveCounts> live_counts_;
  std::vector<LevelBounds> bounds_;
  uint32_t occupied_levels_ = 0;  // occupied_levels()
  mutable std::vector<LevelFenceState> fences_;
  uint64_t retired_count_ = 0;
};

template <typename Key>
void Manifest<Key>::CheckInvariants() const {
  for (uint32_t level = 0; level < levels_.size(); level++) {
    const std::vector<ManifestTable<Key>>& tables = levels_[level];
    LiveCounts live;
    const TableInfo<Key>* previous_live = nullptr;
    for (size_t i = 0; i < tables.size(); i++) {
      const TableInfo<Key>& info = tables[i].info;
      LSMSCAN_ASSERT(info.level == level);
      LSMSCAN_ASSERT(!(info.key_max < info.key_min));
      LSMSCAN_ASSERT(info.snapshot_min <= info.snapshot_max);
      if (i > 0) LSMSCAN_ASSERT(!Less(info, tables[i - 1].info));
      LSMSCAN_ASSERT(info.tombstone_count <= info.value_count);
      if (info.snapshot_max != kSnapshotForever) continue;
      live.Add(info);
      if (previous_live != nullptr) {
        LSMSCAN_ASSERT_MSG(previous_live->key_max < info.key_min,
                           "live tables of a level overlap");
      }
      previous_live = &info;
    }
    LSMSCAN_ASSERT(live.tables == live_counts_[level].tables);
    LSMSCAN_ASSERT(live.values == live_counts_[level].values);
    LSMSCAN_ASSERT(live.tombstones == live_counts_[level].tombstones);
    for (const ManifestTable<Key>& table : tables) {
      LSMSCAN_ASSERT(!(table.info.key_min < bounds_[level].key_min));
      LSMSCAN_ASSERT(!(bounds_[level].key_max < table.info.key_max));
    }
    LSMSCAN_ASSERT(((occupied_levels_ >> level) & 1) == !tables.empty());
  }
}

}  // namespace lsmscan

#endif  // LSMSCAN_LSM_MANIFEST_H_
