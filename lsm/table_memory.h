// File: lsm/table_memory.h
// -----------------------------------------------------------------------------
//
// A memory table: up to `value_count_max` values in one preallocated array.
// Puts append; `Sort()` orders the values by key and keeps only the newest
// write of each key (so a tombstone shadows the puts before it). Sorting is
// incremental: the values already sorted stay in place, only the new suffix
// is sorted and then merged in, through a scratch array of the same size.
// Nothing allocates after construction.
//
// A tree has one *mutable* table (accepting puts) and a few *immutable*
// ones: sealed tables waiting to be flushed to level 0 (see tree.h for how
// snapshots see them).
//
// Thread safety: none.

#ifndef LSMSCAN_LSM_TABLE_MEMORY_H_
#define LSMSCAN_LSM_TABLE_MEMORY_H_

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <memory>
#include <span>
#include <utility>

#include "lsmscan/lsm/schema.h"
#include "lsmscan/lsm/table_info.h"
#include "lsmscan/storage/base/assert.h"

namespace lsmscan {

// TableMemory<S>
template <Schema S>
class TableMemory {
 public:
  using Key = typename S::Key;
  using Value = typename S::Value;

  explicit TableMemory(uint32_t value_count_max)
      : value_count_max_(value_count_max),
        values_(new Value[value_count_max]),
        scratch_(new Value[value_count_max]) {
    LSMSCAN_ASSERT(value_count_max > 0);
  }

  TableMemory(const TableMemory&) = delete;
  TableMemory& operator=(const TableMemory&) = delete;

  // TableMemory::Put()
  //
  // Appends `value` (newer than every value before it). Returns false, doing
  // nothing, if the table is full. REQUIRES: not sealed, no readers.
  bool Put(const Value& value) {
    LSMSCAN_ASSERT(!sealed_);
    LSMSCAN_ASSERT(reader_count_ == 0);
    if (count_ == value_count_max_) return false;
    values_[count_++] = value;
    return true;
  }

  // TableMemory::Sort()
  //
  // Sorts by key, keeping the newest value of each key. Idempotent.
  void Sort();

  // TableMemory::values()
  //
  // The sorted values. REQUIRES: sorted().
  std::span<const Value> values() const {
    LSMSCAN_ASSERT(sorted());
    return {values_.get(), count_};
  }

  // TableMemory::Seal()
  //
  // Makes the table immutable, visible from `snapshot_min` on. Sorts first.
  void Seal(Snapshot snapshot_min) {
    LSMSCAN_ASSERT(!sealed_);
    Sort();
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
    LSMSCAN_ASSERT(snapshot_max_ == kSnapshotForever);
    LSMSCAN_ASSERT(snapshot_min_ <= snapshot_max);
    snapshot_max_ = snapshot_max;
  }

  // TableMemory::Reset()
  //
  // Empties the table for reuse as a mutable table. REQUIRES: no readers.
  void Reset() {
    LSMSCAN_ASSERT(reader_count_ == 0);
    count_ = 0;
    sorted_count_ = 0;
    sealed_ = false;
    snapshot_min_ = 0;
    snapshot_max_ = kSnapshotForever;
  }

  // Readers (scans, gets) pin the table so it is neither changed nor reused.
  void Pin() { reader_count_++; }
  void Unpin() {
    LSMSCAN_ASSERT(reader_count_ > 0);
    reader_count_--;
  }

  bool visible(Snapshot snapshot) const {
    return sealed_ && snapshot_min_ <= snapshot && snapshot <= snapshot_max_;
  }

  uint32_t count() const { return count_; }
  uint32_t value_count_max() const { return value_count_max_; }
  bool empty() const { return count_ == 0; }
  bool full() const { return count_ == value_count_max_; }
  bool sorted() const { return sorted_count_ == count_; }
  bool sealed() const { return sealed_; }
  bool retired() const { return snapshot_max_ != kSnapshotForever; }
  uint32_t reader_count() const { return reader_count_; }
  Snapshot snapshot_min() const { return snapshot_min_; }
  Snapshot snapshot_max() const { return snapshot_max_; }

 private:
  static bool KeyLess(const Value& a, const Value& b) {
    return S::key_of(a) < S::key_of(b);
  }

  // Stable bottom-up merge sort of values_[begin, end) via scratch_.
  void StableSort(uint32_t begin, uint32_t end);
  // Keeps the last value of each run of equal keys in values_[begin, end);
  // returns the new end.
  uint32_t DeduplicateKeepLast(uint32_t begin, uint32_t end);
  // Merges sorted, unique [0, middle) and [middle, end) into values_; equal
  // keys keep the (newer) second half's value. Returns the new count.
  uint32_t MergeNewerWins(uint32_t middle, uint32_t end);

  uint32_t value_count_max_;
  std::unique_ptr<Value[]> values_;
  std::unique_ptr<Value[]> scratch_;
  uint32_t count_ = 0;
  uint32_t sorted_count_ = 0;  // values_[0, sorted_count_) is sorted, unique.
  uint32_t reader_count_ = 0;
  bool sealed_ = false;
  Snapshot snapshot_min_ = 0;
  Snapshot snapshot_max_ = kSnapshotForever;
};

template <Schema S>
void TableMemory<S>::Sort() {
  if (sorted()) return;
  LSMSCAN_ASSERT(reader_count_ == 0);
  LSMSCAN_ASSERT(!sealed_);
  StableSort(sorted_count_, count_);
  const uint32_t end = DeduplicateKeepLast(sorted_count_, count_);
  count_ = MergeNewerWins(sorted_count_, end);
  sorted_count_ = count_;
  // Keys strictly ascend: no neighbours out of order or equal.
  LSMSCAN_EXPENSIVE_ASSERT(
      std::adjacent_find(values_.get(), values_.get() + count_,
                         [](const Value& a, const Value& b) {
                           return !KeyLess(a, b);
                         }) == values_.get() + count_);
}

template <Schema S>
void TableMemory<S>::StableSort(uint32_t begin, uint32_t end) {
  const uint32_t count = end - begin;
  Value* source = values_.get() + begin;
  Value* target = scratch_.get() + begin;
  for (uint32_t width = 1; width < count; width *= 2) {
    for (uint32_t low = 0; low < count; low += 2 * width) {
      const uint32_t middle = std::min(low + width, count);
      const uint32_t high = std::min(low + 2 * width, count);
      uint32_t left = low;
      uint32_t right = middle;
      uint32_t out = low;
      while (left < middle && right < high) {
        // Ties take the left (older) value first: stable.
        target[out++] = KeyLess(source[right], source[left]) ? source[right++]
                                                             : source[left++];
      }
      while (left < middle) target[out++] = source[left++];
      while (right < high) target[out++] = source[right++];
    }
    std::swap(source, target);
  }
  if (source != values_.get() + begin) {
    std::memcpy(static_cast<void*>(values_.get() + begin), source,
                count * sizeof(Value));
  }
}

template <Schema S>
uint32_t TableMemory<S>::DeduplicateKeepLast(uint32_t begin, uint32_t end) {
  uint32_t out = begin;
  for (uint32_t i = begin; i < end; i++) {
    const bool last_of_run =
        i + 1 == end || KeyLess(values_[i], values_[i + 1]);
    if (last_of_run) values_[out++] = values_[i];
  }
  return out;
}

template <Schema S>
uint32_t TableMemory<S>::MergeNewerWins(uint32_t middle, uint32_t end) {
  if (middle == 0) return end;
  uint32_t left = 0;
  uint32_t right = middle;
  uint32_t out = 0;
  while (left < middle && right < end) {
    if (KeyLess(values_[left], values_[right])) {
      scratch_[out++] = values_[left++];
    } else if (KeyLess(values_[right], values_[left])) {
      scratch_[out++] = values_[right++];
    } else {
      scratch_[out++] = values_[right++];  // The newer write wins.
      left++;
    }
  }
  while (left < middle) scratch_[out++] = values_[left++];
  while (right < end) scratch_[out++] = values_[right++];
  std::swap(values_, scratch_);
  return out;
}

}  // namespace lsmscan

#endif  // LSMSCAN_LSM_TABLE_MEMORY_H_
