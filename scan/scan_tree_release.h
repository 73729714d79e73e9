// File: scan/scan_tree_release.h
// -----------------------------------------------------------------------------
//
// ScanTree<S>'s teardown: how a scan gives back what it holds. Abort() and
// Stop() end it (the levels drop what they loaded, once: DropLoaded());
// ReleaseAtEnd() gives the read view back when Next() returns End;
// Release() (Init(), Reset(), destruction) waits for reads in flight and
// gives back the view and the buffer. Part of ScanTree: include
// lsmscan/scan/scan_tree.h (which includes this file after the class;
// including this file alone works too).

#ifndef LSMSCAN_SCAN_SCAN_TREE_RELEASE_H_
#define LSMSCAN_SCAN_SCAN_TREE_RELEASE_H_

#include <cstdint>

#include "lsmscan/lsm/schema.h"
#include "lsmscan/scan/scan_tree.h"
#include "lsmscan/storage/base/assert.h"
#include "lsmscan/storage/storage.h"

namespace lsmscan {

template <Schema S>
void ScanTree<S>::Release() {
  Abort();
  // Reads cannot be cancelled (the storage may be writing into the buffer):
  // wait for them, so the buffer and this object may go. The same for a
  // queued next tick, which points at this object.
  if (in_flight_count() > 0 || next_tick_pending_) {
    LSMSCAN_ASSERT_MSG(
        !storage_->in_tick(),
        "a scan with reads in flight was destroyed, Reset() or Init()ed "
        "from inside a storage callback, where it cannot wait for them: "
        "Abort() it there, and destroy or reuse it after the callback");
    while (in_flight_count() > 0 || next_tick_pending_) {
      storage_->Tick(Storage::TickMode::kWaitForProgress);
    }
  }
  if (view_.active) tree_->ReleaseReadView(&view_);
  if (buffer_ != nullptr) buffer_->set_in_use(false);
  tree_ = nullptr;
  buffer_ = nullptr;
  level_count_ = 0;
  merge_.Reset(direction_);
}

template <Schema S>
void ScanTree<S>::ReleaseAtEnd() {
  if (!view_.active || in_flight_count() > 0 || next_tick_pending_) return;
  DropLoaded();
  tree_->ReleaseReadView(&view_);
}

template <Schema S>
void ScanTree<S>::DropLoaded() {
  if (dropped_) return;
  for (uint32_t level = 0; level < level_count_; level++) {
    scan_levels_[level]->Abort();
  }
  merge_.Drop();
  dropped_ = true;
}

template <Schema S>
void ScanTree<S>::Stop() {
  DropLoaded();
  pending_level_count_ = 0;
  callback_ = nullptr;  // A Read() in flight never calls back.
  state_ = ScanState::kAborted;
}

template <Schema S>
void ScanTree<S>::Abort() {
  Stop();
  // Holds nothing more than reads in flight need: the memory tables at
  // once, the snapshot (which keeps the blocks being read) when no read is
  // in flight, else at the next Init(), Reset() or destruction.
  if (view_.active) {
    if (in_flight_count() == 0 && !next_tick_pending_) {
      tree_->ReleaseReadView(&view_);
    } else {
      tree_->ReleaseReadViewMemory(&view_);
    }
  }
}

}  // namespace lsmscan

#endif  // LSMSCAN_SCAN_SCAN_TREE_RELEASE_H_
