// File: scan/scan_merge_heads.h
// -----------------------------------------------------------------------------
//
// ScanMerge<S>'s heads of streams whose cursor is empty: a level moves on
// through resident blocks, or enters the tree pending, with its fence (the
// next block's first key in scan direction, ScanTreeLevel::PendingFence())
// when it knows one; and the retry of a pending winner before the merge
// stops. Part of ScanMerge: include lsmscan/scan/scan_merge.h (which
// includes this file after the class; including this file alone works too).
// The ordering of heads and why no value passes a fence: doc/scan.md,
// "Fence heads".

#ifndef LSMSCAN_SCAN_SCAN_MERGE_HEADS_H_
#define LSMSCAN_SCAN_SCAN_MERGE_HEADS_H_

#include <cstdint>

#include "lsmscan/lsm/schema.h"
#include "lsmscan/scan/head_kind.h"
#include "lsmscan/scan/scan_merge.h"
#include "lsmscan/scan/scan_tree_level.h"
#include "lsmscan/storage/base/assert.h"

namespace lsmscan {

template <Schema S>
typename ScanMerge<S>::Head ScanMerge<S>::Refresh(uint32_t index) {
  Stream& stream = streams_[index];
  stream.has_fence = false;
  if (stream.left > 0) return tree_.KeyHead(S::key_of(*stream.front), index);
  ScanTreeLevel<S>* level = stream.level;
  if (level == nullptr) return tree_.End(index);
  LSMSCAN_ASSERT(stream.loaded);
  level->Consume(level->values().size());  // The cursor took them all.
  return LevelHead(index);
}

template <Schema S>
typename ScanMerge<S>::Head ScanMerge<S>::LevelHead(uint32_t index) {
  Stream& stream = streams_[index];
  ScanTreeLevel<S>* level = stream.level;
  stream.has_fence = false;
  switch (level->Advance(ScanTreeLevel<S>::Mode::kResidentOnly)) {
    case LevelProgress::kValues:
      stream.loaded = true;
      Load(&stream, level->values());
      // Loads to start while values are still buffered: ask for a Read().
      if (level->read_ahead_wanted()) read_ahead_due_ = true;
      return tree_.KeyHead(S::key_of(*stream.front), index);
    case LevelProgress::kPending:
      stream.loaded = false;  // Read() fills the level: it is the authority.
      if (fence_heads_ && level->PendingFence(&stream.fence)) {
        stream.has_fence = true;
        fenced_++;
        return tree_.FenceHead(stream.fence, index);
      }
      return tree_.PendingHead(index);
    case LevelProgress::kFailed:  // Read() reports the failure.
      stream.loaded = false;
      return tree_.PendingHead(index);
    case LevelProgress::kEnd:
      stream.loaded = false;
      return tree_.End(index);
  }
  LSMSCAN_UNREACHABLE();
}

template <Schema S>
template <Direction D>
bool ScanMerge<S>::RetryPending(const Head& head) {
  const uint32_t index = Tree::stream(head);
  Stream& stream = streams_[index];
  if (!fence_heads_ || stream.level == nullptr || stream.loaded) return false;
  // The level's values() are empty (the cursor handed them all back); only
  // a resident block or a moved fence changes its head.
  const Head fresh = LevelHead(index);
  if (!tree_.Less(head, fresh) && !tree_.Less(fresh, head)) return false;
  tree_.template ReplayWinner<D>(fresh);
  // Whoever wins now may hold an older version of the key taken last; a
  // winner that keeps the lead after its first value looks for its run.
  check_last_ = true;
  streak_ = kRunStreak - 1;
  if (tree_.kind(tree_.winner()) == HeadKind::kKey) runs_++;
  return true;
}

}  // namespace lsmscan

#endif  // LSMSCAN_SCAN_SCAN_MERGE_HEADS_H_
