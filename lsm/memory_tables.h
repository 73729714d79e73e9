// File: lsm/memory_tables.h
// -----------------------------------------------------------------------------
//
// The tree's memory tables: one mutable table taking puts, and up to
// `immutable_count_max` sealed ones, all from a pool allocated at open.
//
// The pool holds 1 + immutable_count_max tables. When every one is sealed
// (flushing, or kept for readers), there is no mutable table until one is
// freed: writes get back-pressure meanwhile.
//
// Life of a table: mutable -> Seal(op) (immutable, visible at snapshots
// >= op, waiting for its flush) -> Retire(C - 1) when its flush to level 0
// commits at op C -> free again once no reader pins it and no live snapshot
// falls in [op, C - 1]. A retired table keeps its slot until then, so open
// scans and snapshots keep seeing exactly what they saw.

#ifndef LSMSCAN_LSM_MEMORY_TABLES_H_
#define LSMSCAN_LSM_MEMORY_TABLES_H_

#include <array>
#include <cstdint>
#include <memory>
#include <vector>

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
  using VisibleTables = std::array<Table*, kSealedTableCountMax>;

  MemoryTables(uint32_t value_count_max, uint32_t immutable_count_max) {
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

  // MemoryTables::can_replace()
  //
  // Whether a sealed mutable table would be replaced by a free one at once.
  bool can_replace() const { return !free_.empty(); }

  // MemoryTables::Seal()
  //
  // Makes the mutable table immutable at `snapshot_min` and takes a free
  // one as the next mutable table, if any. REQUIRES: has_mutable(), the
  // mutable table is not empty.
  void Seal(Snapshot snapshot_min) {
    LSMSCAN_ASSERT(mutable_ != nullptr);
    LSMSCAN_ASSERT(!mutable_->empty());
    mutable_->Seal(snapshot_min);
    immutables_.push_back(mutable_);
    mutable_ = nullptr;
    TakeFreeAsMutable();
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
  // The immutable tables visible at `snapshot`, newest first; returns how
  // many were written to `tables`.
  uint32_t Visible(Snapshot snapshot, VisibleTables* tables) const {
    uint32_t count = 0;
    for (size_t i = immutables_.size(); i > 0; i--) {
      Table* table = immutables_[i - 1];
      if (!table->visible(snapshot)) continue;
      LSMSCAN_ASSERT(count < tables->size());
      (*tables)[count++] = table;
    }
    return count;
  }

  // MemoryTables::Collect()
  //
  // Frees retired tables no reader pins and no live snapshot sees;
  // `any_live_in(min, max)` answers the latter. Returns how many were freed.
  template <typename AnyLiveIn>
  uint32_t Collect(const AnyLiveIn& any_live_in) {
    uint32_t freed = 0;
    for (size_t i = 0; i < immutables_.size();) {
      Table* table = immutables_[i];
      const bool collectable =
          table->retired() && table->reader_count() == 0 &&
          !any_live_in(table->snapshot_min(), table->snapshot_max());
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

  // Sealed tables that were flushed and wait to be freed.
  uint32_t retired_count() const {
    uint32_t count = 0;
    for (const Table* table : immutables_) count += table->retired() ? 1 : 0;
    return count;
  }

  // Sealed tables, oldest first (flushed or not).
  const std::vector<Table*>& immutables() const { return immutables_; }
  uint32_t free_count() const { return static_cast<uint32_t>(free_.size()); }

 private:
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
};

}  // namespace lsmscan

#endif  // LSMSCAN_LSM_MEMORY_TABLES_H_
