// File: scan/scan_tree_merge.h
// -----------------------------------------------------------------------------
//
// ScanTree<S>'s merge side: Next()'s slow path over the merge of the
// streams (ScanMerge, scan_merge.h: the memory table slices and the levels)
// and Probe(). Part of ScanTree: include lsmscan/scan/scan_tree.h (which
// includes this file after the class; including this file alone works too).
//
// Equal keys: the stream with the lower index (the newer data) wins; the
// older versions that follow are skipped, and so are tombstones. A pending
// head (a level that needs a read) beats every key at or past its fence
// (every key, if it knows none), so Next() answers ReadAgain before it
// could emit a value out of order (doc/scan.md, "Fence heads").
//
// Probe(key): a key at or behind the last value returned changes nothing; a
// key the merge has already taken (tombstones and older versions are taken
// past the last value returned) moves the range's start only. Otherwise it
// cuts every memory slice to start at `key`, probes each level (which keeps
// what it has buffered past `key`), and rebuilds the merge.

#ifndef LSMSCAN_SCAN_SCAN_TREE_MERGE_H_
#define LSMSCAN_SCAN_SCAN_TREE_MERGE_H_

#include "absl/status/status.h"
#include "lsmscan/lsm/direction.h"
#include "lsmscan/lsm/schema.h"
#include "lsmscan/scan/scan_merge.h"
#include "lsmscan/scan/scan_tree.h"
#include "lsmscan/scan/search.h"
#include "lsmscan/storage/base/assert.h"

namespace lsmscan {

template <Schema S>
ScanNext<typename S::Value> ScanTree<S>::Stopped(MergeStop stop) {
  switch (stop) {
    case MergeStop::kReadAhead:
      // A level has room for a batch of read-ahead: Read() starts it, and
      // the merge resumes where it is.
      state_ = ScanState::kNeedsData;
      stats_.read_agains++;
      stats_.read_aheads++;
      return {ScanNextKind::kReadAgain, nullptr};
    case MergeStop::kPending:
      state_ = ScanState::kNeedsData;
      stats_.read_agains++;
      return {ScanNextKind::kReadAgain, nullptr};
    case MergeStop::kEnd:
      ended_ = true;
      ReleaseAtEnd();
      return {ScanNextKind::kEnd, nullptr};
  }
  LSMSCAN_UNREACHABLE();
}

template <Schema S>
ScanNext<typename S::Value> ScanTree<S>::NextSlow() {
  switch (state_) {
    case ScanState::kSeeking: {
      MergeStop stop;
      const Value* value = merge_.Pop(&stop);
      if (value != nullptr) return {ScanNextKind::kValue, value};
      return Stopped(stop);
    }
    case ScanState::kNeedsData:
      return {ScanNextKind::kReadAgain, nullptr};
    case ScanState::kAborted:
      return {ScanNextKind::kEnd, nullptr};
    case ScanState::kIdle:
    case ScanState::kBuffering:
      break;
  }
  LSMSCAN_ASSERT_MSG(false, "Next() before Read() completed");
  LSMSCAN_UNREACHABLE();
}

template <Schema S>
absl::Status ScanTree<S>::Probe(const Key& key) {
  LSMSCAN_ASSERT_MSG(state_ != ScanState::kBuffering,
                     "Probe() while a Read() is in flight");
  if (state_ == ScanState::kAborted) return absl::OkStatus();
  const Key& start = direction_ == Direction::kAscending ? key_min_ : key_max_;
  // Behind the start: nothing to skip (probes only move forward).
  if (Before(direction_, key, start)) return absl::OkStatus();
  const Key& end = direction_ == Direction::kAscending ? key_max_ : key_min_;
  if (Before(direction_, end, key)) {
    Abort();  // Past the end: nothing is left.
    status_ = absl::OkStatus();
    return absl::OkStatus();
  }
  // The levels get back what the merge took from them (the value returned
  // last included), and the merge is rebuilt from what is left.
  merge_.SyncLevels();
  // At or behind the last value returned: already passed, nothing changes.
  const bool passed = merge_.has_key_returned() &&
                      !Before(direction_, merge_.key_returned(), key);
  // The merge may have taken keys past the last value returned (tombstones,
  // older versions): the range's start moves, but the streams are already
  // past `key`, so there is nothing to skip in them.
  const bool taken =
      merge_.has_key_last() && !Before(direction_, merge_.key_last(), key);
  if (!passed) {
    if (direction_ == Direction::kAscending) {
      key_min_ = key;
    } else {
      key_max_ = key;
    }
  }
  if (passed || taken) {
    if (state_ == ScanState::kSeeking) merge_.Rebuild();
    return absl::OkStatus();
  }
  if (levels_started_) {
    for (uint32_t level = 0; level < level_count_; level++) {
      scan_levels_[level]->Probe(key);
    }
  }
  merge_.CutMemoryTo(key);
  if (state_ == ScanState::kSeeking || state_ == ScanState::kNeedsData) {
    merge_.Rebuild();
    state_ = merge_.pending() ? ScanState::kNeedsData : ScanState::kSeeking;
  }
  return absl::OkStatus();
}

}  // namespace lsmscan

#endif  // LSMSCAN_SCAN_SCAN_TREE_MERGE_H_
