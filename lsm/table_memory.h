// File: lsm/table_memory.h
// -----------------------------------------------------------------------------
//
// A memory table: up to `value_count_max` values in one array allocated at
// construction, kept in write order as *sorted runs* followed by an unsorted
// *suffix* (TigerBeetle's memory table):
//
//   values: [ run 0 | run 1 | ... | run k-1 | suffix ]   (k <=
//   kMemoryTableRunCountMax)
//             older writes  ..................  newer writes
//
// Put() only appends to the suffix: O(1), nothing sorted, nothing moved. A
// run holds the values of a span of writes sorted by key, with only the
// newest write of each key (a tombstone shadows the puts before it); for a
// key in several runs the newest run wins. MemoryTableSorter
// (memory_table_sorter.h) turns the suffix, and when it merges the newest
// runs with it, into one new run; nothing else moves values.
//
// Readers (scans, gets) read runs in place and pin a prefix of them
// (Pin(run_count)): pinned runs never move or change, while appends and
// sorts beyond them go on. So a reader sees exactly the runs that existed
// when it started, and a pinned table keeps taking writes.
//
// A tree has one *mutable* table (taking puts) and a few *sealed*
// (immutable) ones waiting to be flushed to level 0 (memory_tables.h).
//
// Thread safety: none.

#ifndef LSMSCAN_LSM_TABLE_MEMORY_H_
#define LSMSCAN_LSM_TABLE_MEMORY_H_

#include <algorithm>
#include <array>
#include <cstdint>
#include <memory>
#include <span>

#include "lsmscan/lsm/schema.h"
#include "lsmscan/lsm/table_info.h"
#include "lsmscan/lsm/tree_options.h"
#include "lsmscan/storage/base/assert.h"

namespace lsmscan {

// TableMemory<S>
template <Schema S>
class TableMemory {
 public:
  using Key = typename S::Key;
  using Value = typename S::Value;

  explicit TableMemory(uint32_t value_count_max)
      : value_count_max_(value_count_max), values_(new Value[value_count_max]) {
    LSMSCAN_ASSERT(value_count_max > 0);
  }

  TableMemory(const TableMemory&) = delete;
  TableMemory& operator=(const TableMemory&) = delete;

  // TableMemory::Put()
  //
  // Appends `value` (newer than every value before it) to the suffix.
  // Returns false, doing nothing, if the table is full. REQUIRES: not
  // sealed. Readers of the runs are not disturbed.
  bool Put(const Value& value) {
    LSMSCAN_ASSERT(!sealed_);
    if (count_ == value_count_max_) return false;
    values_[count_++] = value;
    return true;
  }

  // TableMemory::run()
  //
  // Run `index` (0 = the oldest): ascending keys, unique. Valid, and
  // unchanged, while a reader pins at least index + 1 runs.
  std::span<const Value> run(uint32_t index) const {
    LSMSCAN_ASSERT(index < run_count_);
    return {values_.get() + run_begins_[index],
            run_begins_[index + 1] - run_begins_[index]};
  }

  // Where run `index` begins (run_begin(run_count()) is where the suffix
  // begins).
  uint32_t run_begin(uint32_t index) const {
    LSMSCAN_ASSERT(index <= run_count_);
    return run_begins_[index];
  }
  uint32_t run_size(uint32_t index) const {
    return run_begin(index + 1) - run_begin(index);
  }

  // --- For MemoryTableSorter -------------------------------------------------

  // The values from position `begin` on, written in place by the sorter.
  // REQUIRES: no pinned run reaches past `begin`.
  Value* unpinned_values(uint32_t begin) {
    LSMSCAN_ASSERT(begin >= run_begins_[pinned_run_count()]);
    return values_.get() + begin;
  }
  const Value* all_values() const { return values_.get(); }

  // TableMemory::ReplaceWithRun()
  //
  // Runs [first_run, run_count()) and the suffix have been replaced, in
  // place, by one run of `run_value_count` values starting at
  // run_begin(first_run): records it. The table then has no suffix.
  // REQUIRES: first_run >= pinned_run_count(), first_run <
  // kMemoryTableRunCountMax, the run no longer than what it replaces.
  void ReplaceWithRun(uint32_t first_run, uint32_t run_value_count) {
    LSMSCAN_ASSERT(first_run <= run_count_);
    LSMSCAN_ASSERT(first_run >= pinned_run_count());
    LSMSCAN_ASSERT(first_run < kMemoryTableRunCountMax);
    const uint32_t begin = run_begins_[first_run];
    LSMSCAN_ASSERT(run_value_count > 0);
    LSMSCAN_ASSERT(begin + run_value_count <= count_);
    run_count_ = first_run + 1;
    count_ = begin + run_value_count;
    run_begins_[run_count_] = count_;
    LSMSCAN_EXPENSIVE_ASSERT(RunAscends(run_count_ - 1));
  }

  // --- Readers ---------------------------------------------------------------

  // TableMemory::Pin(), Unpin()
  //
  // A reader holds (then lets go of) runs [0, run_count): they stay where
  // they are, unchanged, until unpinned. REQUIRES: run_count <=
  // run_count(); Unpin() matches a Pin() with the same count.
  void Pin(uint32_t run_count) {
    LSMSCAN_ASSERT(run_count <= run_count_);
    pins_[run_count]++;
  }
  void Unpin(uint32_t run_count) {
    LSMSCAN_ASSERT(pins_[run_count] > 0);
    pins_[run_count]--;
  }

  // The most runs any reader pins (0 if none).
  uint32_t pinned_run_count() const {
    for (uint32_t count = kMemoryTableRunCountMax; count > 0; count--) {
      if (pins_[count] > 0) return count;
    }
    return 0;
  }
  uint32_t reader_count() const {
    uint32_t count = 0;
    for (uint32_t pins : pins_) count += pins;
    return count;
  }

  // --- Snapshots -------------------------------------------------------------

  // TableMemory::HoldForSnapshot()
  //
  // A user snapshot at `snapshot` (newer than every one held before) sees
  // the table's runs as they are now: pins them until
  // ReleaseForSnapshot(snapshot). REQUIRES: not sealed, sorted, not empty.
  void HoldForSnapshot(Snapshot snapshot) {
    LSMSCAN_ASSERT(!sealed_);
    LSMSCAN_ASSERT(sorted());
    LSMSCAN_ASSERT(run_count_ > 0);
    if (snapshot_hold_count_ == 0 ||
        snapshot_holds_[snapshot_hold_count_ - 1].run_count != run_count_) {
      // Each hold is on more runs than the one before: at most
      // kMemoryTableRunCountMax of them.
      LSMSCAN_ASSERT(snapshot_hold_count_ < snapshot_holds_.size());
      LSMSCAN_ASSERT(snapshot_hold_count_ == 0 ||
                     snapshot_holds_[snapshot_hold_count_ - 1].snapshot <
                         snapshot);
      snapshot_holds_[snapshot_hold_count_++] = {snapshot, run_count_, 0};
    }
    snapshot_holds_[snapshot_hold_count_ - 1].holders++;
    Pin(run_count_);
  }

  // Whether run_count() == the runs the newest snapshot hold sees (a new
  // snapshot now would see nothing new in this table).
  bool held_as_is() const {
    return snapshot_hold_count_ > 0 &&
           snapshot_holds_[snapshot_hold_count_ - 1].run_count == run_count_ &&
           sorted();
  }

  // Whether a user snapshot holds runs of this table (a hold taken before
  // its seal and not yet released).
  bool snapshot_held() const {
    for (uint32_t i = 0; i < snapshot_hold_count_; i++) {
      if (snapshot_holds_[i].holders > 0) return true;
    }
    return false;
  }

  // TableMemory::ReleaseForSnapshot()
  //
  // Gives back the hold of a user snapshot at `snapshot`, if it holds this
  // table (HeldRunCount(snapshot) > 0); returns whether it did.
  bool ReleaseForSnapshot(Snapshot snapshot) {
    SnapshotHold* hold = FindHold(snapshot);
    if (hold == nullptr) return false;
    LSMSCAN_ASSERT(hold->holders > 0);
    hold->holders--;
    Unpin(hold->run_count);
    return true;
  }

  // TableMemory::VisibleRunCount()
  //
  // How many runs (the oldest) a read at `snapshot` sees: all of them from
  // the seal to the retirement; before the seal, those a snapshot hold took
  // (0 if none). Not for kSnapshotLatest on the mutable table (all of it).
  uint32_t VisibleRunCount(Snapshot snapshot) const {
    if (snapshot > snapshot_max_) return 0;
    if (sealed_ && snapshot >= snapshot_min_) return run_count_;
    const SnapshotHold* hold =
        const_cast<TableMemory*>(this)->FindHold(snapshot);
    return hold == nullptr ? 0 : hold->run_count;
  }

  // --- Life cycle ------------------------------------------------------------

  // TableMemory::Seal()
  //
  // Makes the table immutable, visible from `snapshot_min` on. Sorts
  // nothing: the suffix is sorted later (memory_tables.h).
  void Seal(Snapshot snapshot_min) {
    LSMSCAN_ASSERT(!sealed_);
    sealed_ = true;
    snapshot_min_ = snapshot_min;
    snapshot_max_ = kSnapshotForever;
  }

  // TableMemory::Retire()
  //
  // Its values are on disk from `snapshot_max + 1` on; older snapshots and
  // pinned readers may still read it here.
  void Retire(Snapshot snapshot_max) {
    LSMSCAN_ASSERT(sealed_);
    LSMSCAN_ASSERT(sorted());
    LSMSCAN_ASSERT(snapshot_max_ == kSnapshotForever);
    LSMSCAN_ASSERT(snapshot_min_ <= snapshot_max);
    snapshot_max_ = snapshot_max;
  }

  // TableMemory::Reset()
  //
  // Empties the table for reuse as a mutable table. REQUIRES: no readers.
  void Reset() {
    LSMSCAN_ASSERT(reader_count() == 0);
    count_ = 0;
    run_count_ = 0;
    run_begins_[0] = 0;
    snapshot_hold_count_ = 0;
    sealed_ = false;
    snapshot_min_ = 0;
    snapshot_max_ = kSnapshotForever;
  }

  bool visible(Snapshot snapshot) const {
    return sealed_ && snapshot_min_ <= snapshot && snapshot <= snapshot_max_;
  }

  uint32_t count() const { return count_; }
  uint32_t run_count() const { return run_count_; }
  // Values written since the last sort (not in any run).
  uint32_t suffix_count() const { return count_ - run_begins_[run_count_]; }
  uint32_t value_count_max() const { return value_count_max_; }
  bool empty() const { return count_ == 0; }
  bool full() const { return count_ == value_count_max_; }
  bool sorted() const { return suffix_count() == 0; }
  bool sealed() const { return sealed_; }
  bool retired() const { return snapshot_max_ != kSnapshotForever; }
  Snapshot snapshot_min() const { return snapshot_min_; }
  Snapshot snapshot_max() const { return snapshot_max_; }

 private:
  // Snapshots holding the table before its seal: `run_count` runs from
  // `snapshot` until the next hold's snapshot.
  struct SnapshotHold {
    Snapshot snapshot;
    uint32_t run_count;
    uint32_t holders;
  };

  // The hold a snapshot at `snapshot` before the seal reads through (the
  // newest hold not after it), or null.
  SnapshotHold* FindHold(Snapshot snapshot) {
    if (snapshot > snapshot_max_) return nullptr;
    if (sealed_ && snapshot >= snapshot_min_) return nullptr;
    for (uint32_t i = snapshot_hold_count_; i > 0; i--) {
      if (snapshot_holds_[i - 1].snapshot <= snapshot) {
        return &snapshot_holds_[i - 1];
      }
    }
    return nullptr;
  }

  bool RunAscends(uint32_t index) const {
    const std::span<const Value> values = run(index);
    return std::adjacent_find(values.begin(), values.end(),
                              [](const Value& a, const Value& b) {
                                return !(S::key_of(a) < S::key_of(b));
                              }) == values.end();
  }

  uint32_t value_count_max_;
  std::unique_ptr<Value[]> values_;
  uint32_t count_ = 0;
  uint32_t run_count_ = 0;
  // run i is [run_begins_[i], run_begins_[i + 1]); the suffix starts at
  // run_begins_[run_count_].
  std::array<uint32_t, kMemoryTableRunCountMax + 1> run_begins_{};
  // pins_[n]: readers pinning runs [0, n).
  std::array<uint32_t, kMemoryTableRunCountMax + 1> pins_{};
  std::array<SnapshotHold, kMemoryTableRunCountMax> snapshot_holds_{};
  uint32_t snapshot_hold_count_ = 0;
  bool sealed_ = false;
  Snapshot snapshot_min_ = 0;
  Snapshot snapshot_max_ = kSnapshotForever;
};

}  // namespace lsmscan

#endif  // LSMSCAN_LSM_TABLE_MEMORY_H_
