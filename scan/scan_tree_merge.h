// File: scan/scan_tree_merge.h
// -----------------------------------------------------------------------------
//
// ScanTree<S>'s merge: how Next() picks the next live value among the
// streams (the memory table slices and the levels), and how Probe() skips
// them ahead. Part of ScanTree: include lsmscan/scan/scan_tree.h (which
// includes this file after the class; including this file alone works too).
//
// The streams' heads sit in a tournament tree (tournament_tree.h). The
// winner's stream yields a *run*: every value strictly before the runner-up's
// head, found by galloping (at least one: a value tied with an older
// stream's head is a run of one), which Next() then hands out without
// touching the tournament (PopRun() in scan_tree.h). When the run is drained,
// EndRun() consumes it from its stream, refreshes that stream's head (a
// level moves on through resident blocks only, never submitting I/O) and
// replays the tournament. Equal keys: the stream with the lower index (the
// newer data) wins; the older versions that follow are skipped, and so are
// tombstones. A pending head (a level that needs a read) beats every key,
// so Next() answers ReadAgain before it could emit a value out of order.
//
// Probe(key) closes the current run. A key at or behind the last value
// returned changes nothing; a key the merge has already taken (tombstones
// and older versions are taken past the last value returned) moves the
// range's start only. Otherwise it cuts every memory slice to start at
// `key`, probes each level (which keeps what it has buffered past `key`),
// and rebuilds the tournament.

#ifndef LSMSCAN_SCAN_SCAN_TREE_MERGE_H_
#define LSMSCAN_SCAN_SCAN_TREE_MERGE_H_

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>

#include "absl/status/status.h"
#include "lsmscan/lsm/direction.h"
#include "lsmscan/lsm/schema.h"
#include "lsmscan/scan/scan_tree.h"
#include "lsmscan/scan/scan_tree_level.h"
#include "lsmscan/scan/search.h"
#include "lsmscan/scan/tournament_tree.h"
#include "lsmscan/storage/base/assert.h"

namespace lsmscan {

template <Schema S>
void ScanTree<S>::ConsumeStream(uint32_t stream, size_t count) {
  Stream& s = streams_[stream];
  if (s.level != nullptr) {
    s.level->Consume(count);
  } else {
    s.values = direction_ == Direction::kAscending
                   ? s.values.subspan(count)
                   : s.values.first(s.values.size() - count);
  }
}

template <Schema S>
void ScanTree<S>::RefreshHead(uint32_t stream) {
  Stream& s = streams_[stream];
  HeadKind kind = HeadKind::kEnd;
  if (s.level != nullptr) {
    switch (s.level->Advance(ScanTreeLevel<S>::Mode::kResidentOnly)) {
      case LevelProgress::kValues:
        kind = HeadKind::kKey;
        break;
      case LevelProgress::kPending:
      case LevelProgress::kFailed:  // Read() reports the failure.
        kind = HeadKind::kPending;
        break;
      case LevelProgress::kEnd:
        kind = HeadKind::kEnd;
        break;
    }
    // Loads to start while values are still buffered: ask for a Read().
    if (kind == HeadKind::kKey && s.level->read_ahead_wanted()) {
      read_ahead_due_ = true;
    }
  } else if (!s.values.empty()) {
    kind = HeadKind::kKey;
  }
  merge_.Set(stream, kind,
             kind == HeadKind::kKey ? S::key_of(StreamFront(stream)) : Key{});
}

template <Schema S>
void ScanTree<S>::RebuildMerge() {
  for (uint32_t stream = 0; stream < stream_count_; stream++) {
    RefreshHead(stream);
  }
  merge_.Build();
  LSMSCAN_EXPENSIVE_ASSERT((merge_.CheckInvariants(), true));
}

template <Schema S>
size_t ScanTree<S>::RunLength(uint32_t stream, uint32_t bound) const {
  const std::span<const Value> values = StreamValues(stream);
  if (bound == decltype(merge_)::kNone ||
      merge_.kind(bound) == HeadKind::kEnd) {
    return values.size();
  }
  LSMSCAN_ASSERT(merge_.kind(bound) == HeadKind::kKey);
  const Key& limit = merge_.key(bound);
  // Values strictly before `limit` in scan direction. Gallop from the front:
  // runs are often short when levels interleave.
  return GallopCount(values, direction_ == Direction::kDescending,
                     [&](const Value& value) {
                       return Before(direction_, S::key_of(value), limit);
                     });
}

template <Schema S>
void ScanTree<S>::NoteReturned(size_t taken) {
  for (size_t i = 0; i < taken; i++) {
    // The taken values from the last one back, in scan direction.
    const Value& value = direction_ == Direction::kAscending
                             ? run_origin_[taken - 1 - i]
                             : run_origin_[run_length_ - taken + i];
    if (!S::is_tombstone(value)) {
      key_returned_ = S::key_of(value);
      has_key_returned_ = true;
      return;
    }
  }
}

template <Schema S>
void ScanTree<S>::EndRun() {
  LSMSCAN_ASSERT(run_stream_ != kNoStream);
  LSMSCAN_ASSERT(run_begin_ == run_end_);
  // The last value of the run in scan direction.
  const Value* last = direction_ == Direction::kAscending
                          ? run_origin_ + run_length_ - 1
                          : run_origin_;
  key_last_ = S::key_of(*last);
  has_key_last_ = true;
  NoteReturned(run_length_);
  ConsumeStream(run_stream_, run_length_);
  RefreshHead(run_stream_);
  merge_.Replay(run_stream_);
  run_stream_ = kNoStream;
  run_begin_ = run_end_ = run_origin_ = nullptr;
  run_length_ = 0;
}

template <Schema S>
ScanNext<typename S::Value> ScanTree<S>::NextSlow() {
  switch (state_) {
    case ScanState::kSeeking:
      break;
    case ScanState::kNeedsData:
      return {ScanNextKind::kReadAgain, nullptr};
    case ScanState::kAborted:
      return {ScanNextKind::kEnd, nullptr};
    case ScanState::kIdle:
    case ScanState::kBuffering:
      LSMSCAN_ASSERT_MSG(false, "Next() before Read() completed");
  }
  if (run_stream_ != kNoStream) EndRun();
  while (true) {
    if (read_ahead_due_) {
      // A level has room for a batch of read-ahead: Read() starts it, and
      // the merge resumes where it is.
      read_ahead_due_ = false;
      state_ = ScanState::kNeedsData;
      stats_.read_agains++;
      stats_.read_aheads++;
      return {ScanNextKind::kReadAgain, nullptr};
    }
    const uint32_t winner = merge_.winner();
    switch (merge_.kind(winner)) {
      case HeadKind::kPending:
        state_ = ScanState::kNeedsData;
        stats_.read_agains++;
        return {ScanNextKind::kReadAgain, nullptr};
      case HeadKind::kEnd:
        ReleaseAtEnd();
        return {ScanNextKind::kEnd, nullptr};
      case HeadKind::kKey:
        break;
    }
    const Key& key = merge_.key(winner);
    if (has_key_last_ && !(key_last_ < key) && !(key < key_last_)) {
      // An older version of the key just taken: skip it.
      ConsumeStream(winner, 1);
      RefreshHead(winner);
      merge_.Replay(winner);
      continue;
    }
    // A run: `length` values that no other stream can precede. Tied with
    // an older stream's head, the winner's first value is a run of one (the
    // older versions are skipped once it is taken). Either way the stream is
    // consumed, and its head refreshed, only when the run ends, in a later
    // call: the block holding a returned value stays pinned until then.
    const size_t length =
        std::max<size_t>(1, RunLength(winner, merge_.RunnerUp()));
    const std::span<const Value> values = StreamValues(winner);
    run_origin_ = direction_ == Direction::kAscending
                      ? values.data()
                      : values.data() + values.size() - length;
    run_begin_ = run_origin_;
    run_end_ = run_origin_ + length;
    run_length_ = length;
    run_stream_ = winner;
    stats_.runs++;
    const Value* value = PopRun();
    if (value != nullptr) return {ScanNextKind::kValue, value};
    EndRun();  // The whole run was tombstones.
  }
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
  const bool run_closed = run_stream_ != kNoStream;
  if (run_closed) {
    // Close the run at the current position.
    const size_t taken =
        direction_ == Direction::kAscending
            ? static_cast<size_t>(run_begin_ - run_origin_)
            : static_cast<size_t>(run_origin_ + run_length_ - run_end_);
    if (taken > 0) {
      const Value* last =
          direction_ == Direction::kAscending ? run_begin_ - 1 : run_end_;
      key_last_ = S::key_of(*last);
      has_key_last_ = true;
      NoteReturned(taken);
    }
    ConsumeStream(run_stream_, taken);
    run_stream_ = kNoStream;
    run_begin_ = run_end_ = run_origin_ = nullptr;
    run_length_ = 0;
  }
  // At or behind the last value returned: already passed, nothing changes.
  const bool passed =
      has_key_returned_ && !Before(direction_, key_returned_, key);
  // The merge may have taken keys past the last value returned (tombstones,
  // older versions): the range's start moves, but the streams are already
  // past `key`, so there is nothing to skip in them.
  const bool taken = has_key_last_ && !Before(direction_, key_last_, key);
  if (!passed) {
    if (direction_ == Direction::kAscending) {
      key_min_ = key;
    } else {
      key_max_ = key;
    }
  }
  if (passed || taken) {
    if (run_closed && state_ == ScanState::kSeeking) RebuildMerge();
    return absl::OkStatus();
  }
  CutStreams(key);
  if (state_ == ScanState::kSeeking || state_ == ScanState::kNeedsData) {
    RebuildMerge();
    const bool pending = merge_.kind(merge_.winner()) == HeadKind::kPending;
    state_ = pending ? ScanState::kNeedsData : ScanState::kSeeking;
  }
  return absl::OkStatus();
}

template <Schema S>
void ScanTree<S>::CutStreams(const Key& key) {
  for (uint32_t stream = 0; stream < stream_count_; stream++) {
    Stream& s = streams_[stream];
    if (s.level != nullptr) {
      if (levels_started_) s.level->Probe(key);
      continue;
    }
    // Cut the memory slice to start at `key`.
    if (direction_ == Direction::kAscending) {
      const auto begin = std::partition_point(
          s.values.begin(), s.values.end(),
          [&](const Value& value) { return S::key_of(value) < key; });
      s.values =
          s.values.subspan(static_cast<size_t>(begin - s.values.begin()));
    } else {
      const auto end = std::partition_point(
          s.values.begin(), s.values.end(),
          [&](const Value& value) { return !(key < S::key_of(value)); });
      s.values = s.values.first(static_cast<size_t>(end - s.values.begin()));
    }
  }
}

}  // namespace lsmscan

#endif  // LSMSCAN_SCAN_SCAN_TREE_MERGE_H_
