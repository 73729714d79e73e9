// File: scan/scan_iterator.h
// -----------------------------------------------------------------------------
//
// A blocking, RocksDB-style iterator over a ScanTree, for callers who want a
// plain loop rather than callbacks:
//
//   ScanIterator<Record32Schema> it(tree, buffer);
//   for (it.Seek(100); it.Valid(); it.Next()) Use(it.value());
//   CHECK_OK(it.status());
//   for (it.SeekForPrev(100); it.Valid(); it.Prev()) Use(it.value());
//   it.Reset();  // Done for now: the iterator holds nothing.
//
// As RocksDB's: Next() moves to larger keys and Prev() to smaller ones,
// whichever seek positioned the iterator; SeekToFirst(), SeekToLast(). Each
// seek reads the tree as it is at that seek (kSnapshotLatest), or at the
// snapshot given at construction; Next() and Prev() stay at that seek's
// snapshot, direction switches included (RocksDB pins its view when the
// iterator is made and until Refresh(); here each seek refreshes it).
//
// What it holds, and when: an idle iterator (made, Reset(), or past its
// last value) holds nothing: no snapshot, no memory table, no block, and
// its buffer is free for another scan. From a seek until it is no longer
// Valid(), it holds the scan's read view (the memory tables as they were at
// the seek) and the buffer. Reset(), another seek, the end of the values, an
// error, and destruction each give everything back. The iterator is small (its
// large state is in the caller's ScanBuffer): making and destroying an idle
// one costs well under a microsecond (bench/scan_benchmark.cc,
// IteratorMakeAndDestroy).
//
// When the scan answers ReadAgain, the iterator calls Read() and ticks the
// storage until the data is there, so Next() and Prev() may block on I/O
// here (and only here). Where every block is resident (a warm block cache,
// a zero-copy storage) it goes on at once instead (ScanTree::ReadResident()):
// no trip through the storage loop. Other scans and compactions on the same
// storage progress while it waits, since their callbacks run from the same
// Tick(). Do not use an iterator from inside a storage callback.
//
// Direction switches (Prev() after Seek(), Next() after SeekForPrev())
// restart the scan at the current key in the other direction, at the same
// snapshot and over the same memory tables (ScanTree::Rescan()): about the
// cost of a seek (each level finds its table and block again, usually
// resident since they were just read; no new snapshot), then the current
// key itself is skipped. Switching at every step is therefore a seek per
// step; scan in one direction where you can.
//
// Seek(key, upper) positions at the first value >= key within [.., upper];
// SeekForPrev(key, lower) at the last value <= key within [lower, ..]. The
// other bound, and both for the one-argument forms, is the key type's
// numeric limit: a direction switch can then reach every key, as in
// RocksDB. For keys without std::numeric_limits, the two-argument seeks
// bound a later direction switch by their target instead.

#ifndef LSMSCAN_SCAN_SCAN_ITERATOR_H_
#define LSMSCAN_SCAN_SCAN_ITERATOR_H_

#include <limits>
#include <utility>

#include "absl/status/status.h"
#include "lsmscan/lsm/direction.h"
#include "lsmscan/lsm/schema.h"
#include "lsmscan/lsm/tree.h"
#include "lsmscan/scan/scan_blocking.h"
#include "lsmscan/scan/scan_buffer.h"
#include "lsmscan/scan/scan_tree.h"
#include "lsmscan/storage/base/assert.h"

namespace lsmscan {

// ScanIterator<S>
template <Schema S>
class ScanIterator {
 public:
  using Key = typename S::Key;
  using Value = typename S::Value;

  // An idle iterator over `tree` at `snapshot` (kSnapshotLatest: each seek
  // reads the tree as it is then), reading disk levels into `buffer`. Holds
  // nothing until a seek; allocates nothing. `tree` and `buffer` must
  // outlive it.
  ScanIterator(Tree<S>* tree, ScanBuffer* buffer,
               Snapshot snapshot = kSnapshotLatest)
      : tree_(tree), buffer_(buffer), snapshot_(snapshot) {}

  // Gives back everything it holds (as Reset()).
  ~ScanIterator() = default;
  ScanIterator(const ScanIterator&) = delete;
  ScanIterator& operator=(const ScanIterator&) = delete;

  // ScanIterator::Seek()
  //
  // Positions at the first value with key >= `target`, up to `upper`
  // (inclusive). Valid() iff there is one. Next() then moves to larger
  // keys, Prev() to smaller ones (below `target` too, down to the key
  // type's lowest key).
  void Seek(const Key& target, const Key& upper) {
    Start(Lowest(target), upper, target, upper, Direction::kAscending);
  }
  void Seek(
      const Key& target) requires std::numeric_limits<Key>::is_specialized {
    Seek(target, std::numeric_limits<Key>::max());
  }

  // ScanIterator::SeekForPrev()
  //
  // Positions at the last value with key <= `target`, down to `lower`
  // (inclusive). Prev() then moves to smaller keys, Next() to larger ones.
  void SeekForPrev(const Key& target, const Key& lower) {
    Start(lower, Highest(target), lower, target, Direction::kDescending);
  }
  void SeekForPrev(
      const Key& target) requires std::numeric_limits<Key>::is_specialized {
    SeekForPrev(target, std::numeric_limits<Key>::lowest());
  }

  // ScanIterator::SeekToFirst(), SeekToLast()
  //
  // Positions at the smallest (largest) key of the tree.
  void SeekToFirst() requires std::numeric_limits<Key>::is_specialized {
    Seek(std::numeric_limits<Key>::lowest());
  }
  void SeekToLast() requires std::numeric_limits<Key>::is_specialized {
    SeekForPrev(std::numeric_limits<Key>::max());
  }

  // ScanIterator::Next()
  //
  // Moves to the next larger key. After SeekForPrev() (or Prev()) this
  // switches direction at the same snapshot (see the file comment for its
  // cost). REQUIRES: Valid().
  void Next() { Step(Direction::kAscending); }

  // ScanIterator::Prev()
  //
  // Moves to the next smaller key; after Seek() (or Next()) this switches
  // direction at the same snapshot. REQUIRES: Valid().
  void Prev() { Step(Direction::kDescending); }

  // ScanIterator::Reset()
  //
  // Gives back everything the iterator holds (the scan's snapshot, memory
  // tables, blocks and buffer; waiting for its reads in flight): it is idle,
  // not Valid(), status() OK.
  void Reset() {
    scan_.Reset();
    valid_ = false;
    status_ = absl::OkStatus();
  }

  // True iff positioned at a value (false at the end or on an error).
  bool Valid() const { return valid_; }
  // REQUIRES: Valid(). Valid until the next call on the iterator.
  const Value& value() const {
    LSMSCAN_ASSERT_MSG(valid_, "value() of an iterator that is not Valid()");
    return *value_;
  }
  Key key() const { return S::key_of(value()); }
  // OK unless a seek's Init() or a read failed (the iterator is then not
  // Valid()).
  const absl::Status& status() const { return status_; }
  // The direction of the values since the last seek or switch.
  Direction direction() const { return scan_.direction(); }
  const ScanTree<S>& scan() const { return scan_; }

 private:
  // The bounds of a direction switch: the key type's limits where it has
  // them, else the seek's own target.
  static Key Lowest(const Key& target) {
    if constexpr (std::numeric_limits<Key>::is_specialized) {
      (void)target;
      return std::numeric_limits<Key>::lowest();
    } else {
      return target;
    }
  }
  static Key Highest(const Key& target) {
    if constexpr (std::numeric_limits<Key>::is_specialized) {
      (void)target;
      return std::numeric_limits<Key>::max();
    } else {
      return target;
    }
  }

  // A seek: scans [key_min, key_max] in `direction`; a later switch may
  // reach [lower, upper].
  void Start(const Key& lower, const Key& upper, const Key& key_min,
             const Key& key_max, Direction direction) {
    valid_ = false;
    lower_ = lower;
    upper_ = upper;
    status_ =
        scan_.Init(tree_, buffer_, snapshot_, key_min, key_max, direction);
    if (!status_.ok()) {
      scan_.Reset();  // Holds nothing after a failed seek either.
      return;
    }
    Pump();
  }

  void Step(Direction direction) {
    LSMSCAN_ASSERT_MSG(valid_,
                       "Next() or Prev() of an iterator that is not "
                       "Valid()");
    if (direction == scan_.direction()) {
      Pump();
      return;
    }
    // The other way from the current key, at the same snapshot: the scan
    // restarts there and returns the current key first, which is skipped.
    const Key current = S::key_of(*value_);
    const bool ascending = direction == Direction::kAscending;
    status_ = scan_.Rescan(ascending ? current : lower_,
                           ascending ? upper_ : current, direction);
    LSMSCAN_ASSERT(status_.ok());  // It holds its view while Valid().
    Pump();
    if (valid_ && !(S::key_of(*value_) < current) &&
        !(current < S::key_of(*value_))) {
      Pump();
    }
  }

  // Makes the scan ready: at once if every block it needs is resident
  // (ScanTree::ReadResident()), else Read() and tick the storage until the
  // scan calls back; false on error.
  bool ReadBlocking() {
    if (scan_.ReadResident()) return true;
    status_ = lsmscan::ReadBlocking(&scan_, tree_->storage());
    return status_.ok();
  }

  // Moves to the scan's next value; at the end or on an error the iterator
  // gives everything back.
  void Pump() {
    while (true) {
      if (scan_.state() == ScanState::kIdle ||
          scan_.state() == ScanState::kNeedsData) {
        if (!ReadBlocking()) break;
      }
      const ScanNext<Value> next = scan_.Next();
      if (next.kind == ScanNextKind::kValue) {
        value_ = next.value;
        valid_ = true;
        return;
      }
      if (next.kind == ScanNextKind::kEnd) break;
    }
    valid_ = false;
    value_ = nullptr;
    scan_.Reset();  // Idle: holds nothing between scans.
  }

  Tree<S>* tree_;
  ScanBuffer* buffer_;
  Snapshot snapshot_;
  ScanTree<S> scan_;
  const Value* value_ = nullptr;
  Key lower_{};
  Key upper_{};
  bool valid_ = false;
  absl::Status status_;
};

}  // namespace lsmscan

#endif  // LSMSCAN_SCAN_SCAN_ITERATOR_H_
