// File: scan/scan_tree_read.h
// -----------------------------------------------------------------------------
//
// ScanTree<S>'s read side: Read() (every level fetches what it needs, all
// at once, and the scan calls back when the last one is ready, from a
// Tick(), never re-entrantly; with fence heads as soon as the merge can go
// on without the levels still loading), ReadResident() (the same when every
// block is
// already resident: an answer now and no callback), and the levels'
// completions (LevelReady(), FinishRead()). Part of ScanTree: include
// lsmscan/scan/scan_tree.h (which includes this file after the class;
// including this file alone works too).

#ifndef LSMSCAN_SCAN_SCAN_TREE_READ_H_
#define LSMSCAN_SCAN_SCAN_TREE_READ_H_

#include <cstdint>

#include "absl/status/status.h"
#include "lsmscan/lsm/schema.h"
#include "lsmscan/scan/scan_tree.h"
#include "lsmscan/storage/base/assert.h"
#include "lsmscan/storage/storage.h"

namespace lsmscan {

template <Schema S>
void ScanTree<S>::Read(ReadCallback callback, void* context) {
  LSMSCAN_ASSERT(callback != nullptr);
  LSMSCAN_ASSERT_MSG(
      state_ != ScanState::kBuffering && state_ != ScanState::kSeeking,
      "Read() is allowed only in the idle, needs_data and "
      "aborted states");
  if (state_ == ScanState::kAborted) {
    LSMSCAN_ASSERT_MSG(storage_ != nullptr,
                       "Read() on a scan that was never Init()ed: it has no "
                       "storage to call back from");
    LSMSCAN_ASSERT_MSG(callback_ == nullptr,
                       "Read() while a Read() is pending");
    callback_ = callback;
    callback_context_ = context;
    stats_.reads++;
    // The next tick of a Read() aborted before it completed may still be
    // queued; it delivers this callback (see NextTickCallback()).
    if (!next_tick_pending_) {
      next_tick_pending_ = true;
      storage_->SubmitNextTick(&next_tick_);
    }
    return;
  }
  LSMSCAN_ASSERT(!next_tick_pending_);
  callback_ = callback;
  callback_context_ = context;
  stats_.reads++;
  state_ = ScanState::kBuffering;
  // The levels see what the merge took from them before they load more.
  merge_.SyncLevels();
  StartLevels();
  // Every level that needs data starts loading now, so their reads are in
  // flight together; levels that have data top up their read-ahead.
  pending_level_count_ = 0;
  for (uint32_t level = 0; level < level_count_; level++) {
    if (!scan_levels_[level]->Fetch()) pending_level_count_++;
  }
  for (uint32_t level = 0; level < level_count_; level++) {
    scan_levels_[level]->ReadAhead();
  }
  // Never call back from inside Read().
  if (pending_level_count_ == 0 || MergeCanGoOn()) {
    next_tick_pending_ = true;
    storage_->SubmitNextTick(&next_tick_);
  }
}

template <Schema S>
void ScanTree<S>::StartLevels() {
  if (levels_started_) return;
  for (uint32_t level = 0; level < level_count_; level++) {
    scan_levels_[level]->Start(view_.snapshot, key_min_, key_max_, direction_);
  }
  levels_started_ = true;
}

template <Schema S>
bool ScanTree<S>::ReadResident() {
  if (state_ == ScanState::kAborted) return false;  // Read() reports it.
  LSMSCAN_ASSERT_MSG(
      state_ == ScanState::kIdle || state_ == ScanState::kNeedsData,
      "ReadResident() is allowed only in the idle, needs_data and aborted "
      "states");
  LSMSCAN_ASSERT(!next_tick_pending_);
  merge_.SyncLevels();
  StartLevels();
  for (uint32_t level = 0; level < level_count_; level++) {
    ScanTreeLevel<S>& scan_level = *scan_levels_[level];
    // Only resident blocks: a level that must read (or wants to start
    // read-ahead, or failed) leaves the work to Read().
    if (scan_level.Advance(ScanTreeLevel<S>::Mode::kResidentOnly) ==
            LevelProgress::kPending ||
        !scan_level.status().ok() || scan_level.read_ahead_wanted()) {
      return false;
    }
  }
  stats_.resident_reads++;
  merge_.Rebuild();
  merge_.clear_read_ahead_due();
  state_ = ScanState::kSeeking;
  return true;
}

template <Schema S>
void ScanTree<S>::NextTickCallback(Storage::NextTick* next_tick) {
  auto* self = static_cast<ScanTree*>(next_tick->context);
  self->next_tick_pending_ = false;
  if (self->state_ == ScanState::kBuffering) {
    self->FinishRead();
    return;
  }
  // Read() on an aborted scan; or Abort() during the read (whose callback
  // is then not called: callback_ was cleared).
  if (self->state_ == ScanState::kAborted && self->callback_ != nullptr) {
    ReadCallback callback = std::exchange(self->callback_, nullptr);
    callback(self->callback_context_, self, self->status_);
  }
}

template <Schema S>
void ScanTree<S>::LevelReady(uint32_t level) {
  (void)level;
  LSMSCAN_ASSERT(state_ == ScanState::kBuffering);
  LSMSCAN_ASSERT(pending_level_count_ > 0);
  --pending_level_count_;
  // A next tick already queued completes the read.
  if (next_tick_pending_) return;
  if (pending_level_count_ == 0 || MergeCanGoOn()) FinishRead();
}

template <Schema S>
bool ScanTree<S>::MergeCanGoOn() {
  if (!buffer_->fence_heads()) return false;
  for (uint32_t level = 0; level < level_count_; level++) {
    // A failure ends the read at once only when nothing else is awaited.
    if (!scan_levels_[level]->status().ok()) return false;
  }
  merge_.Rebuild();
  return !merge_.pending();
}

template <Schema S>
void ScanTree<S>::FinishRead() {
  LSMSCAN_ASSERT(state_ == ScanState::kBuffering);
  // With fence heads the merge may go on while levels still load: their
  // reads complete as read-ahead.
  for (uint32_t level = 0; level < level_count_; level++) {
    scan_levels_[level]->StopWaiting();
  }
  pending_level_count_ = 0;
  for (uint32_t level = 0; level < level_count_; level++) {
    if (!scan_levels_[level]->status().ok() && status_.ok()) {
      status_ = scan_levels_[level]->status();
    }
  }
  ReadCallback callback = std::exchange(callback_, nullptr);
  if (status_.ok()) {
    merge_.Rebuild();
    merge_.clear_read_ahead_due();  // Read() just started every level's loads.
    state_ = ScanState::kSeeking;
  } else {
    Abort();
  }
  callback(callback_context_, this, status_);
}

}  // namespace lsmscan

#endif  // LSMSCAN_SCAN_SCAN_TREE_READ_H_
