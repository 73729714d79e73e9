// File: scan/scan_iterator.h
// -----------------------------------------------------------------------------
//
// A blocking, RocksDB-style iterator over a ScanTree, for callers who want a
// plain loop rather than callbacks:
//
//   ScanIterator<Record32Schema> it(tree, buffer);
//   for (it.Seek(100); it.Valid(); it.Next()) Use(it.value());
//   CHECK_OK(it.status());
//
// When the scan answers ReadAgain, the iterator calls Read() and ticks the
// storage until the data is there, so Next() may block on I/O here (and
// only here). Other scans and compactions on the same storage progress
// while it waits, since their callbacks run from the same Tick().
//
// Seek(key, upper) scans ascending over [key, upper]; SeekForPrev(key,
// lower) descending over [lower, key]. Bounds default to the key type's
// numeric limits where it has them.

#ifndef LSMSCAN_SCAN_SCAN_ITERATOR_H_
#define LSMSCAN_SCAN_SCAN_ITERATOR_H_

#include <limits>
#include <utility>

#include "absl/status/status.h"
#include "lsmscan/lsm/direction.h"
#include "lsmscan/lsm/schema.h"
#include "lsmscan/lsm/tree.h"
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

  // Iterates `tree` at `snapshot`, reading disk levels into `buffer`.
  ScanIterator(Tree<S>* tree, ScanBuffer* buffer,
               Snapshot snapshot = kSnapshotLatest)
      : tree_(tree), buffer_(buffer), snapshot_(snapshot) {}

  // ScanIterator::Seek()
  //
  // Positions at the first value with key >= `target` (up to `upper`),
  // ascending. Valid() iff there is one.
  void Seek(const Key& target, const Key& upper) {
    Start(target, upper, Direction::kAscending);
  }
  void Seek(
      const Key& target) requires std::numeric_limits<Key>::is_specialized {
    Seek(target, std::numeric_limits<Key>::max());
  }

  // ScanIterator::SeekForPrev()
  //
  // Positions at the last value with key <= `target` (down to `lower`),
  // descending: Next() then moves to smaller keys.
  void SeekForPrev(const Key& target, const Key& lower) {
    Start(lower, target, Direction::kDescending);
  }
  void SeekForPrev(
      const Key& target) requires std::numeric_limits<Key>::is_specialized {
    SeekForPrev(target, std::numeric_limits<Key>::lowest());
  }

  // ScanIterator::Next()
  //
  // Moves to the next value in the direction of the last seek.
  // REQUIRES: Valid().
  void Next() {
    LSMSCAN_ASSERT(valid_);
    Pump();
  }

  // True iff positioned at a value (false at the end or on an error).
  bool Valid() const { return valid_; }
  // REQUIRES: Valid(). Valid until the next call on the iterator.
  const Value& value() const {
    LSMSCAN_ASSERT(valid_);
    return *value_;
  }
  Key key() const { return S::key_of(value()); }
  // OK unless a read failed (the iterator is then not Valid()).
  const absl::Status& status() const { return status_; }
  const ScanTree<S>& scan() const { return scan_; }

 private:
  void Start(const Key& key_min, const Key& key_max, Direction direction) {
    valid_ = false;
    status_ =
        scan_.Init(tree_, buffer_, snapshot_, key_min, key_max, direction);
    if (!status_.ok()) return;
    if (!ReadBlocking()) return;
    Pump();
  }

  // Reads and ticks the storage until the scan calls back; false on error.
  bool ReadBlocking() {
    struct Done {
      bool done = false;
      absl::Status status;
    } done;
    scan_.Read(
        [](void* context, ScanTree<S>*, absl::Status status) {
          auto* d = static_cast<Done*>(context);
          d->done = true;
          d->status = std::move(status);
        },
        &done);
    while (!done.done)
      tree_->storage()->Tick(Storage::TickMode::kWaitForProgress);
    status_ = std::move(done.status);
    return status_.ok();
  }

  void Pump() {
    while (true) {
      const ScanNext<Value> next = scan_.Next();
      switch (next.kind) {
        case ScanNextKind::kValue:
          value_ = next.value;
          valid_ = true;
          return;
        case ScanNextKind::kEnd:
          valid_ = false;
          return;
        case ScanNextKind::kReadAgain:
          if (!ReadBlocking()) {
            valid_ = false;
            return;
          }
          break;
      }
    }
  }

  Tree<S>* tree_;
  ScanBuffer* buffer_;
  Snapshot snapshot_;
  ScanTree<S> scan_;
  const Value* value_ = nullptr;
  bool valid_ = false;
  absl::Status status_;
};

}  // namespace lsmscan

#endif  // LSMSCAN_SCAN_SCAN_ITERATOR_H_
