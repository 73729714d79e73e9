// File: lsm/memory_tables.h
// -----------------------------------------------------------------------------
//
// The tree's memory tables: one mutable table taking puts, and up to
// `immutable_count_max` sealed ones, all from a pool allocated at open, and
// the one sorter (memory_table_sorter.h) that turns their unsorted suffixes
// into sorted runs.
//
// The pool holds 1 + immutable_count_max tables. When every one is sealed
// (flushing, or kept for readers), there is no mutable table until one is
// freed: writes get back-pressure meanwhile.
//
// Life of a table: mutable (puts append; a reader at the latest snapshot
// first sorts the suffix into a run) -> Seal(op): immutable, visible at
// snapshots >= op, O(1) -> its suffix sorted into a run (SortStep(), a
// slice at a time in the background, or at once by a reader that needs
// it) -> flushed: Retire(C - 1) when its flush to level 0 commits at op C
// -> free again once no reader pins it and no live snapshot falls in
// [op, C - 1]. A retired table keeps its slot until then, so open scans
// and snapshots keep seeing exactly what they saw.
//
// Runs per table are bounded by kMemoryTableRunCountMax (what a scan merges
// as streams). A new run merges with the newest runs before it while they
// are no larger than it (a binary counter: each value is merged
// O(log(value_count_max)) times), and with more of them when the bound
// would be passed. The mutable table keeps at most
// kMemoryTableRunCountMax - 1 runs, so sealing it adds at most one more.
// Runs a reader pins are never merged; if pins leave no room for a new run,
// the mutable table is sealed instead (PrepareLatest() says so).
//
// Snapshots and back-pressure. A table a user snapshot holds (its runs from
// before its seal, or the whole of it from its seal to its retirement) keeps
// its slot until the snapshot is released: flushing it does not free it.
// Tree::AcquireSnapshot() keeps the rule
//
//   (R) user snapshots hold at most snapshot_table_count_max() = pool - 2
//       tables (SnapshotTableCount()),
//
// refusing the snapshot that would break it. Only AcquireSnapshot() makes a
// table held: sealing moves a table's holds with it, a flush only ends a
// table's lifetime (no new snapshot can see it), and a freed table has no
// holds. So (R) holds in every state. Claim: if a Put() is refused
// (ResourceExhausted: the mutable table is full and no table is free, or
// there is no mutable table) and Compact() then completes OK, with no write
// meanwhile and no reader holding a memory table, the next Put() succeeds.
// Proof: Compact() flushes every sealed table (it runs until the planner
// has nothing left, and the planner has nothing left only when no sealed
// table is unflushed: compaction_planner.h), and Collect() (after every flush)
// frees every flushed table no live snapshot sees; with no reader, the live
// snapshots are the users', so every sealed table left is held. By (R) at least
// two tables are not held; neither is sealed, so they are the mutable table and
// free ones. Collect() makes a free table mutable if there was none, leaving a
// mutable table and at least one free table, or an empty mutable table: Put()
// seals a full mutable table into the free one, or appends.

#ifndef LSMSCAN_LSM_MEMORY_TABLES_H_
#define LSMSCAN_LSM_MEMORY_TABLES_H_

#include <array>
#include <cstdint>
#include <memory>
#include <vector>

#include "lsmscan/lsm/memory_table_sorter.h"
#include "lsmscan/lsm/read_view.h"
#include "lsmscan/lsm/schema.h"
#include "lsmscan/lsm/table_memory.h"
#include "lsmscan/lsm/tree_options.h"
#include "lsmscan/storage/base/assert.h"

namespace lsmscan {

// MemoryTables<S>
template <Schema S>
class MemoryTables {
 public:
  using Table = TableMemory<S>;
  using Value = typename S::Value;
  using VisibleTables = std::array<ReadViewTable<S>, kSealedTableCountMax>;

  MemoryTables(uint32_t value_count_max, uint32_t immutable_count_max)
      : sorter_(value_count_max) {
    LSMSCAN_ASSERT(immutable_count_max > 0);
    LSMSCAN_ASSERT(immutable_count_max <= kImmutableTableCountMax);
    for (uint32_t i = 0; i < immutable_count_max + 1; i++) {
      pool_.push_back(std::make_unique<Table>(value_count_max));
      free_.push_back(pool_.back().get());
    }
    mutable_ = free_.back();
    free_.pop_back();
    immutables_.reserve(immutable_count_max + 1);
  }

  // Whether there is a mutable table (see the file comment).
  bool has_mutable() const { return mutable_ != nullptr; }

  // REQUIRES: has_mutable().
  Table& mutable_table() {
    LSMSCAN_ASSERT(mutable_ != nullptr);
    return *mutable_;
  }
  const Table& mutable_table() const {
    LSMSCAN_ASSERT(mutable_ != nullptr);
    return *mutable_;
  }

  // Whether a Put() would find room: a mutable table not full, or a free
  // table to replace a full one.
  bool writable() const {
    return mutable_ != nullptr && (!mutable_->full() || !free_.empty());
  }

  // MemoryTables::can_replace()
  //
  // Whether a sealed mutable table would be replaced by a free one at once.
  bool can_replace() const { return !free_.empty(); }

  // MemoryTables::Seal()
  //
  // Makes the mutable table immutable at `snapshot_min` and takes a free
  // one as the next mutable table, if any. O(1): its suffix is sorted
  // later. REQUIRES: has_mutable(), the mutable table is not empty.
  void Seal(Snapshot snapshot_min) {
    LSMSCAN_ASSERT(mutable_ != nullptr);
    LSMSCAN_ASSERT(!mutable_->empty());
    mutable_->Seal(snapshot_min);
    immutables_.push_back(mutable_);
    mutable_ = nullptr;
    TakeFreeAsMutable();
  }

  // MemoryTables::PrepareLatest()
  //
  // Before a reader of the latest state pins the mutable table: sorts its
  // suffix into a run (merging newer runs as the file comment says). False
  // if pinned runs leave no room for one: the caller must seal it.
  bool PrepareLatest() {
    if (!has_mutable() || mutable_->sorted()) return true;
    const uint32_t first_run =
        FirstRunToSort(*mutable_, kMemoryTableRunCountMax - 1);
    if (first_run + 1 > kMemoryTableRunCountMax - 1) return false;
    SortNow(mutable_, first_run);
    return true;
  }

  // MemoryTables::PrepareSealed()
  //
  // Before a reader pins the sealed tables visible at `snapshot`: sorts
  // those with a suffix (finishing a background sort if one is running).
  void PrepareSealed(Snapshot snapshot) {
    for (Table* table : immutables_) {
      // A table seen through a snapshot hold is seen in its (sorted) runs.
      if (!table->visible(snapshot) || table->sorted()) continue;
      SortNow(table, FirstRunToSort(*table, kMemoryTableRunCountMax));
    }
  }

  // MemoryTables::SortStep()
  //
  // One slice of background sorting, about `budget_bytes` of work: the
  // sort in progress, else the oldest sealed table with a suffix. Returns
  // the bytes spent (0: nothing to sort).
  uint64_t SortStep(uint64_t budget_bytes) {
    if (!sorter_.active()) {
      Table* table = OldestUnsorted();
      if (table == nullptr) return 0;
      sorter_.Start(table, FirstRunToSort(*table, kMemoryTableRunCountMax));
    }
    return sorter_.Step(budget_bytes);
  }

  // Whether SortStep() has work: a sealed table not fully sorted.
  bool sort_pending() const {
    return sorter_.active() || OldestUnsorted() != nullptr;
  }

  // The bytes of sorting left (for pacing; an estimate).
  uint64_t sort_backlog_bytes() const {
    uint64_t bytes = 0;
    for (const Table* table : immutables_) {
      bytes += MemoryTableSorter<S>::CostBytes(table->suffix_count());
    }
    return bytes;
  }

  // MemoryTables::OldestUnflushed()
  //
  // The oldest sealed table not yet retired (flushed), or null.
  Table* OldestUnflushed() const {
    for (Table* table : immutables_) {
      if (!table->retired()) return table;
    }
    return nullptr;
  }

  // MemoryTables::Visible()
  //
  // The tables a read at `snapshot` sees and how many of their runs, newest
  // first: the mutable table (all of it when `latest`, else the runs a
  // snapshot hold took), then the sealed ones. Returns how many were
  // written to `tables`.
  uint32_t Visible(Snapshot snapshot, bool latest,
                   VisibleTables* tables) const {
    uint32_t count = 0;
    if (mutable_ != nullptr) {
      const uint32_t runs =
          latest ? mutable_->run_count() : mutable_->VisibleRunCount(snapshot);
      if (runs > 0) (*tables)[count++] = {mutable_, runs};
    }
    for (size_t i = immutables_.size(); i > 0; i--) {
      Table* table = immutables_[i - 1];
      const uint32_t runs = table->VisibleRunCount(snapshot);
      if (runs == 0) continue;
      LSMSCAN_ASSERT(count < tables->size());
      (*tables)[count++] = {table, runs};
    }
    return count;
  }

  // MemoryTables::HoldForSnapshot()
  //
  // A user snapshot at `snapshot` holds the mutable table's runs (sorting
  // its suffix into a run first). False, holding nothing, when the table is
  // empty (nothing to hold) or readers and snapshots pin so many runs that
  // no new one fits: the caller then seals it (a sealed table is seen by
  // snapshots from its seal on).
  bool HoldForSnapshot(Snapshot snapshot) {
    if (!has_mutable() || mutable_->empty() || !PrepareLatest()) return false;
    mutable_->HoldForSnapshot(snapshot);
    return true;
  }

  // Whether a snapshot now would see the mutable table as the newest
  // snapshot hold does (so it may share that snapshot's op).
  bool mutable_held_as_is() const {
    return has_mutable() && mutable_->held_as_is();
  }

  // MemoryTables::ReleaseSnapshot()
  //
  // Gives back what a user snapshot at `snapshot` held (at most one table).
  void ReleaseSnapshot(Snapshot snapshot) {
    for (const std::unique_ptr<Table>& table : pool_) {
      if (table->ReleaseForSnapshot(snapshot)) return;
    }
  }

  // MemoryTables::SnapshotTableCount()
  //
  // The tables user snapshots hold: each keeps its pool slot until those
  // snapshots are released, flushed or not. A table is held if a snapshot
  // holds its runs from before its seal, or if it is sealed and
  // `any_user_in(min, max)` (a user snapshot in [min, max]) is true for its
  // lifetime. With `plus_new`, also counts the tables a snapshot taken now
  // would hold: the mutable table if it is not empty, and every sealed
  // table not yet flushed (retired tables are invisible at the current op).
  template <typename AnyUserIn>
  uint32_t SnapshotTableCount(const AnyUserIn& any_user_in,
                              bool plus_new) const {
    uint32_t count = 0;
    for (const std::unique_ptr<Table>& table : pool_) {
      const bool held = table->snapshot_held() ||
                        (table->sealed() && any_user_in(table->snapshot_min(),
                                                        table->snapshot_max()));
      const bool seen_now =
          plus_new &&
          (table.get() == mutable_ ? !table->empty()
                                   : table->sealed() && !table->retired());
      count += held || seen_now ? 1 : 0;
    }
    return count;
  }

  // The most tables user snapshots may hold: the pool less two, so that a
  // mutable table and a sealed one that Compact() can flush and free always
  // exist (Tree::AcquireSnapshot() enforces it).
  uint32_t snapshot_table_count_max() const {
    return static_cast<uint32_t>(pool_.size()) - 2;
  }

  // MemoryTables::Collect()
  //
  // Frees retired tables no reader pins and no user snapshot sees;
  // `any_user_in(min, max)` answers the latter. A reader's snapshot alone
  // keeps no table: a reader reads only the tables it pins. Returns how
  // many were freed.
  template <typename AnyUserIn>
  uint32_t Collect(const AnyUserIn& any_user_in) {
    uint32_t freed = 0;
    for (size_t i = 0; i < immutables_.size();) {
      Table* table = immutables_[i];
      const bool collectable =
          table->retired() && table->reader_count() == 0 &&
          !any_user_in(table->snapshot_min(), table->snapshot_max());
      if (!collectable) {
        i++;
        continue;
      }
      table->Reset();
      free_.push_back(table);
      immutables_.erase(immutables_.begin() + static_cast<ptrdiff_t>(i));
      freed++;
    }
    TakeFreeAsMutable();
    return freed;
  }

  // Sealed tables not yet flushed (retired).
  uint32_t unflushed_count() const {
    uint32_t count = 0;
    for (const Table* table : immutables_) count += table->retired() ? 0 : 1;
    return count;
  }

  // Sealed tables that were flushed and wait to be freed.
  uint32_t retired_count() const {
    uint32_t count = 0;
    for (const Table* table : immutables_) count += table->retired() ? 1 : 0;
    return count;
  }

  // Sorted runs, plus one per non-empty unsorted suffix, over every table
  // not yet flushed (the mutable one included).
  uint32_t run_count() const {
    uint32_t count = 0;
    auto add = [&count](const Table& table) {
      count += table.run_count() + (table.sorted() ? 0 : 1);
    };
    if (has_mutable()) add(*mutable_);
    for (const Table* table : immutables_) {
      if (!table->retired()) add(*table);
    }
    return count;
  }

  // Sealed tables, oldest first (flushed or not).
  const std::vector<Table*>& immutables() const { return immutables_; }
  uint32_t free_count() const { return static_cast<uint32_t>(free_.size()); }
  uint32_t value_count_max() const { return pool_[0]->value_count_max(); }

 private:
  // The first run to merge into a new run made of the suffix: newer runs no
  // larger than what they join (a binary counter), and more while the table
  // would have more than `run_count_max` runs; never a pinned run.
  static uint32_t FirstRunToSort(const Table& table, uint32_t run_count_max) {
    uint32_t first = table.run_count();
    uint64_t size = table.suffix_count();
    while (first > table.pinned_run_count() &&
           (table.run_size(first - 1) <= size || first + 1 > run_count_max)) {
      size += table.run_size(first - 1);
      first--;
    }
    return first;
  }

  // Sorts `table` from `first_run` at once, after the sort in progress.
  void SortNow(Table* table, uint32_t first_run) {
    if (sorter_.active() && sorter_.table() != table) sorter_.Finish();
    if (sorter_.active()) {
      sorter_.Finish();  // This table's own background sort.
      if (table->sorted()) return;
      first_run = FirstRunToSort(*table, kMemoryTableRunCountMax);
    }
    sorter_.Start(table, first_run);
    sorter_.Finish();
  }

  Table* OldestUnsorted() const {
    for (Table* table : immutables_) {
      if (!table->sorted()) return table;
    }
    return nullptr;
  }

  void TakeFreeAsMutable() {
    if (mutable_ != nullptr || free_.empty()) return;
    mutable_ = free_.back();
    free_.pop_back();
    LSMSCAN_ASSERT(mutable_->empty());
    LSMSCAN_ASSERT(mutable_->reader_count() == 0);
  }

  std::vector<std::unique_ptr<Table>> pool_;
  Table* mutable_ = nullptr;
  std::vector<Table*> immutables_;  // Oldest first.
  std::vector<Table*> free_;
  MemoryTableSorter<S> sorter_;
};

}  // namespace lsmscan

#endif  // LSMSCAN_LSM_MEMORY_TABLES_H_
