// File: lsm/memory_table_sorter.h
// -----------------------------------------------------------------------------
//
// MemoryTableSorter: turns the newest part of a memory table — its unsorted
// suffix, and optionally its newest runs with it — into one sorted run,
// keeping only the newest write of each key, in steps of bounded work.
//
// How: it sorts (key, position) entries rather than values, then moves each
// kept value once. Phases, each resumable at any point:
//
//   build      an entry per value of the region
//   sort       std::sort of blocks of kSortBlockEntries entries, then
//              bottom-up merge passes between two entry arrays; entries
//              order by (key, position), so the last entry of each key is
//              its newest write (runs are in write order too)
//   gather     the newest value of each key, in key order, into scratch
//   copy back  scratch into the table, where the region began
//
// Work is counted in bytes moved (entries and values); Step(budget) stops
// at the budget, so the background (tree_compaction.h) can sort a full
// table a slice at a time while the table is not read. The region must not
// overlap a pinned run; only the sorter writes into the table meanwhile
// (a sealed table takes no puts; a mutable one is sorted in one Step()).
//
// Memory, allocated once for the largest table: 2 * value_count_max
// entries and value_count_max values.

#ifndef LSMSCAN_LSM_MEMORY_TABLE_SORTER_H_
#define LSMSCAN_LSM_MEMORY_TABLE_SORTER_H_

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <memory>

#include "lsmscan/lsm/schema.h"
#include "lsmscan/lsm/table_memory.h"
#include "lsmscan/storage/base/assert.h"

namespace lsmscan {

// MemoryTableSorter<S>
template <Schema S>
class MemoryTableSorter {
 public:
  using Key = typename S::Key;
  using Value = typename S::Value;

  // For tables of up to `value_count_max` values.
  explicit MemoryTableSorter(uint32_t value_count_max)
      : value_count_max_(value_count_max),
        entries_(new Entry[value_count_max]),
        other_entries_(new Entry[value_count_max]),
        scratch_(new Value[value_count_max]) {}

  MemoryTableSorter(const MemoryTableSorter&) = delete;
  MemoryTableSorter& operator=(const MemoryTableSorter&) = delete;

  // MemoryTableSorter::Start()
  //
  // Begins sorting runs [first_run, run_count()) of `table` and its suffix
  // into one run. REQUIRES: !active(); first_run >= the table's pinned run
  // count and < kMemoryTableRunCountMax; the region not empty.
  void Start(TableMemory<S>* table, uint32_t first_run);

  // MemoryTableSorter::Step()
  //
  // Works until the sort is done or about `budget_bytes` of entries and
  // values are moved (a step never stops inside a block sort, so it may
  // exceed the budget by one block's cost); returns the bytes moved. Once
  // done the table holds the new run and active() is false.
  uint64_t Step(uint64_t budget_bytes);

  // MemoryTableSorter::Finish()
  //
  // Step() with no budget: completes the sort now.
  void Finish() {
    if (active()) Step(UINT64_MAX);
    LSMSCAN_ASSERT(!active());
  }

  bool active() const { return phase_ != Phase::kIdle; }
  // The table being sorted (null when idle).
  const TableMemory<S>* table() const { return table_; }

  // The bytes a sort of `count` values moves in all (for pacing).
  static uint64_t CostBytes(uint64_t count) {
    uint64_t passes = 1;  // Block sort.
    for (uint64_t width = kSortBlockEntries; width < count; width *= 2) {
      passes++;
    }
    return count * (sizeof(Entry) * (2 + passes) + 2 * sizeof(Value));
  }

 private:
  static constexpr uint32_t kSortBlockEntries = 256;

  struct Entry {
    Key key;
    uint32_t position;  // In the table.
  };
  static bool EntryLess(const Entry& a, const Entry& b) {
    if (a.key < b.key) return true;
    if (b.key < a.key) return false;
    return a.position < b.position;
  }

  enum class Phase : uint8_t {
    kIdle,
    kBuild,
    kSortBlocks,
    kMerge,
    kGather,
    kCopyBack
  };

  uint64_t StepBuild(uint64_t budget);
  uint64_t StepSortBlocks(uint64_t budget);
  uint64_t StepMerge(uint64_t budget);
  uint64_t StepGather(uint64_t budget);
  uint64_t StepCopyBack(uint64_t budget);
  void StartMergePass();
  void Done();

  uint32_t value_count_max_;
  std::unique_ptr<Entry[]> entries_;        // Sorted entries end up here.
  std::unique_ptr<Entry[]> other_entries_;  // Merge passes' other side.
  std::unique_ptr<Value[]> scratch_;

  TableMemory<S>* table_ = nullptr;
  Phase phase_ = Phase::kIdle;
  uint32_t first_run_ = 0;
  uint32_t begin_ = 0;     // Table position of the region's first value.
  uint32_t count_ = 0;     // Values in the region.
  uint32_t position_ = 0;  // Progress within the phase (or merge pass).
  // Merge passes: runs of `width_` entries in `source` merge into `target`.
  uint32_t width_ = 0;
  Entry* source_ = nullptr;
  Entry* target_ = nullptr;
  // The pair being merged: [left_, middle_) and [right_, end_) of source.
  uint32_t left_ = 0;
  uint32_t middle_ = 0;
  uint32_t right_ = 0;
  uint32_t end_ = 0;
  bool pair_open_ = false;
  uint32_t kept_ = 0;  // Values gathered (one per key).
};

// -----------------------------------------------------------------------------
// Implementation.

template <Schema S>
void MemoryTableSorter<S>::Start(TableMemory<S>* table, uint32_t first_run) {
  LSMSCAN_ASSERT(!active());
  LSMSCAN_ASSERT(first_run <= table->run_count());
  LSMSCAN_ASSERT(first_run >= table->pinned_run_count());
  LSMSCAN_ASSERT(first_run < kMemoryTableRunCountMax);
  table_ = table;
  first_run_ = first_run;
  begin_ = table->run_begin(first_run);
  count_ = table->count() - begin_;
  LSMSCAN_ASSERT(count_ > 0);
  LSMSCAN_ASSERT(count_ <= value_count_max_);
  position_ = 0;
  kept_ = 0;
  phase_ = Phase::kBuild;
}

template <Schema S>
uint64_t MemoryTableSorter<S>::Step(uint64_t budget_bytes) {
  uint64_t spent = 0;
  while (active() && spent < budget_bytes) {
    const uint64_t left = budget_bytes - spent;
    switch (phase_) {
      case Phase::kBuild:
        spent += StepBuild(left);
        break;
      case Phase::kSortBlocks:
        spent += StepSortBlocks(left);
        break;
      case Phase::kMerge:
        spent += StepMerge(left);
        break;
      case Phase::kGather:
        spent += StepGather(left);
        break;
      case Phase::kCopyBack:
        spent += StepCopyBack(left);
        break;
      case Phase::kIdle:
        LSMSCAN_UNREACHABLE();
    }
  }
  return spent;
}

template <Schema S>
uint64_t MemoryTableSorter<S>::StepBuild(uint64_t budget) {
  const Value* values = table_->all_values() + begin_;
  const uint64_t n =
      std::min<uint64_t>(count_ - position_, budget / sizeof(Entry) + 1);
  for (uint64_t i = 0; i < n; i++, position_++) {
    entries_[position_] =
        Entry{S::key_of(values[position_]), begin_ + position_};
  }
  if (position_ == count_) {
    position_ = 0;
    phase_ = Phase::kSortBlocks;
  }
  return n * sizeof(Entry);
}

template <Schema S>
uint64_t MemoryTableSorter<S>::StepSortBlocks(uint64_t budget) {
  uint64_t spent = 0;
  while (position_ < count_ && spent < budget) {
    const uint32_t end = std::min(count_, position_ + kSortBlockEntries);
    // A lambda, not the function's address: std::sort inlines it.
    std::sort(entries_.get() + position_, entries_.get() + end,
              [](const Entry& a, const Entry& b) { return EntryLess(a, b); });
    spent += uint64_t{end - position_} * sizeof(Entry) * 8;
    position_ = end;
  }
  if (position_ == count_) {
    width_ = kSortBlockEntries;
    source_ = entries_.get();
    target_ = other_entries_.get();
    StartMergePass();
  }
  return spent;
}

template <Schema S>
void MemoryTableSorter<S>::StartMergePass() {
  position_ = 0;
  pair_open_ = false;
  if (width_ >= count_) {
    // Sorted: the entries are in `source_`.
    if (source_ != entries_.get()) {
      // An odd number of passes: the result is in the other array.
      entries_.swap(other_entries_);
    }
    position_ = 0;
    phase_ = Phase::kGather;
    return;
  }
  phase_ = Phase::kMerge;
}

template <Schema S>
uint64_t MemoryTableSorter<S>::StepMerge(uint64_t budget) {
  uint64_t moved = 0;
  while (position_ < count_ && moved * sizeof(Entry) < budget) {
    if (!pair_open_) {
      left_ = position_;
      middle_ = std::min(count_, left_ + width_);
      right_ = middle_;
      end_ = std::min(count_, left_ + 2 * width_);
      pair_open_ = true;
    }
    while (position_ < end_ && moved * sizeof(Entry) < budget) {
      const bool take_right =
          left_ == middle_ ||
          (right_ < end_ && EntryLess(source_[right_], source_[left_]));
      target_[position_++] = take_right ? source_[right_++] : source_[left_++];
      moved++;
    }
    if (position_ == end_) pair_open_ = false;
  }
  if (position_ == count_) {
    std::swap(source_, target_);
    width_ *= 2;
    StartMergePass();
  }
  return moved * sizeof(Entry);
}

template <Schema S>
uint64_t MemoryTableSorter<S>::StepGather(uint64_t budget) {
  const Value* values = table_->all_values();
  uint64_t spent = 0;
  while (position_ < count_ && spent < budget) {
    const Entry& entry = entries_[position_];
    // The last entry of a key is its newest write.
    const bool newest =
        position_ + 1 == count_ || entry.key < entries_[position_ + 1].key;
    spent += sizeof(Entry);
    if (newest) {
      scratch_[kept_++] = values[entry.position];
      spent += sizeof(Value);
    }
    position_++;
  }
  if (position_ == count_) {
    position_ = 0;
    phase_ = Phase::kCopyBack;
  }
  return spent;
}

template <Schema S>
uint64_t MemoryTableSorter<S>::StepCopyBack(uint64_t budget) {
  const uint64_t n =
      std::min<uint64_t>(kept_ - position_, budget / sizeof(Value) + 1);
  std::memcpy(static_cast<void*>(table_->unpinned_values(begin_) + position_),
              scratch_.get() + position_, n * sizeof(Value));
  position_ += static_cast<uint32_t>(n);
  if (position_ == kept_) Done();
  return n * sizeof(Value);
}

template <Schema S>
void MemoryTableSorter<S>::Done() {
  table_->ReplaceWithRun(first_run_, kept_);
  table_ = nullptr;
  phase_ = Phase::kIdle;
}

}  // namespace lsmscan

#endif  // LSMSCAN_LSM_MEMORY_TABLE_SORTER_H_
