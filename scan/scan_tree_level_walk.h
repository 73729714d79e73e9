// File: scan/scan_tree_level_walk.h
// -----------------------------------------------------------------------------
//
// ScanTreeLevel<S>'s walk: the state machine that finds the level's tables
// in range (manifest), loads each one's index block, and queues the data
// blocks that meet the range into the level's slots, in scan order; and the
// read completions that move it on. Part of ScanTreeLevel: include
// lsmscan/scan/scan_tree_level.h (which includes this file after the class;
// including this file alone works too). The states are in that file's
// comment.
//
// A step takes a block that is already resident (a cache hit, a verified
// zero-copy block) at once, in either mode; only in kMaySubmit does it
// submit a read. Reads are submitted in batches of ReadAheadBatch() free
// slots so several batches are in flight while the merge reads the rest. A
// completion from before a reset (a probe, an abort) is dropped.

#ifndef LSMSCAN_SCAN_SCAN_TREE_LEVEL_WALK_H_
#define LSMSCAN_SCAN_SCAN_TREE_LEVEL_WALK_H_

#include <algorithm>
#include <cstdint>
#include <optional>
#include <span>
#include <utility>

#include "absl/status/status.h"
#include "lsmscan/lsm/data_block.h"
#include "lsmscan/lsm/direction.h"
#include "lsmscan/lsm/grid.h"
#include "lsmscan/lsm/index_block.h"
#include "lsmscan/lsm/table_info.h"
#include "lsmscan/scan/scan_tree_level.h"
#include "lsmscan/scan/search.h"
#include "lsmscan/storage/base/assert.h"

namespace lsmscan {

template <Schema S>
void ScanTreeLevel<S>::Walk(Mode mode) {
  bool moving = true;
  while (moving && status_.ok()) {
    switch (state_) {
      case State::kFinished:
        moving = false;
        break;
      case State::kLoadingManifest:
        moving = StepManifest();
        break;
      case State::kLoadingIndex:
        moving = StepIndex(mode);
        break;
      case State::kIterating:
        moving = StepIterate(mode);
        break;
    }
  }
  UpdateReadAheadWanted();
}

template <Schema S>
bool ScanTreeLevel<S>::StepManifest() {
  const std::optional<TableInfo<Key>> table = manifest_->NextTable(
      level_, snapshot_, key_min_, key_max_, key_exclusive_, direction_);
  if (!table.has_value()) {
    state_ = State::kFinished;
    return false;
  }
  table_ = *table;
  state_ = State::kLoadingIndex;
  return true;
}

template <Schema S>
bool ScanTreeLevel<S>::StepIndex(Mode mode) {
  if (index_loading_) return false;  // Wait for it.
  const BlockExpectation expected{table_.index_address, table_.index_checksum,
                                  BlockType::kIndex, 0};
  BlockRef resident = grid_->TryReadResident(expected);
  if (resident) {
    stats_.resident_blocks++;
    UseIndex(std::move(resident));
    return true;
  }
  if (mode == Mode::kResidentOnly) return false;
  index_loading_ = true;
  index_generation_ = generation_;
  in_flight_count_++;
  index_read_->expected = expected;
  index_read_->frame = index_frame_;
  grid_->SubmitRead(index_read_);
  return false;
}

template <Schema S>
void ScanTreeLevel<S>::UseIndex(BlockRef block) {
  LSMSCAN_ASSERT(state_ == State::kLoadingIndex);
  stats_.index_blocks++;
  absl::Status valid =
      ValidateIndexBlock<Key>(block.data(), grid_->block_size_bytes());
  if (!valid.ok()) {
    Fail(std::move(valid));
    return;
  }
  const IndexBlockView<Key> index(block.data());
  // The run of data blocks meeting [key_min, key_max]: from the first whose
  // key_max >= key_min to the last whose key_min <= key_max.
  const std::span<const Key> keys_max = index.keys_max();
  const std::span<const Key> keys_min = index.keys_min();
  const auto first = static_cast<uint32_t>(
      std::partition_point(keys_max.begin(), keys_max.end(),
                           [&](const Key& key) { return key < key_min_; }) -
      keys_max.begin());
  const auto end = static_cast<uint32_t>(
      std::partition_point(keys_min.begin(), keys_min.end(),
                           [&](const Key& key) { return !(key_max_ < key); }) -
      keys_min.begin());
  key_exclusive_ =
      direction_ == Direction::kAscending ? table_.key_max : table_.key_min;
  state_ = State::kIterating;
  if (first >= end) {
    blocks_left_ = 0;  // The range falls between this table's blocks.
    return;
  }
  index_block_ = std::move(block);
  index_queued_ = 0;
  blocks_left_ = end - first;
  next_block_ = direction_ == Direction::kAscending ? first : end - 1;
}

template <Schema S>
void ScanTreeLevel<S>::StartFromFences() {
  const std::span<const Key> keys_min = fences_->keys_min;
  const std::span<const Key> keys_max = fences_->keys_max;
  // From the first block whose key_max >= key_min to the last whose
  // key_min <= key_max: a binary search for the end the scan starts from,
  // a gallop for the other (short ranges end near where they start).
  uint32_t first = 0;
  uint32_t end = 0;
  if (direction_ == Direction::kAscending) {
    first = static_cast<uint32_t>(
        std::partition_point(keys_max.begin(), keys_max.end(),
                             [&](const Key& key) { return key < key_min_; }) -
        keys_max.begin());
    end = first + static_cast<uint32_t>(GallopCount(
                      keys_min.subspan(first), false,
                      [&](const Key& key) { return !(key_max_ < key); }));
  } else {
    end = static_cast<uint32_t>(
        std::partition_point(
            keys_min.begin(), keys_min.end(),
            [&](const Key& key) { return !(key_max_ < key); }) -
        keys_min.begin());
    first = end - static_cast<uint32_t>(GallopCount(
                      keys_max.first(end), true,
                      [&](const Key& key) { return !(key < key_min_); }));
  }
  if (first >= end) {
    state_ = State::kFinished;  // The range falls between blocks.
    return;
  }
  blocks_left_ = end - first;
  next_block_ = direction_ == Direction::kAscending ? first : end - 1;
  state_ = State::kIterating;
}

template <Schema S>
void ScanTreeLevel<S>::ProbeFences(const Key& key) {
  LSMSCAN_ASSERT(fences_ != nullptr);
  LSMSCAN_ASSERT(state_ == State::kIterating);
  LSMSCAN_ASSERT(values_.empty());
  const bool ascending = direction_ == Direction::kAscending;
  // The blocks still to return, in scan order: from the head block (or the
  // next one to queue) on. Every block before them was used up or lies
  // before the range's old start, so holds nothing at or past `key`.
  const int64_t step = ascending ? 1 : -1;
  const int64_t from =
      queue_count_ > 0 ? QueueSlot(0).block_index : int64_t{next_block_};
  const int64_t left = int64_t{queue_count_} + blocks_left_;
  // Those wholly before `key`: a gallop from `from`, as the next block
  // holding `key` is usually near (a zig-zag's probes move a little ahead).
  uint64_t skip = 0;
  if (ascending) {
    skip = GallopCount(
        std::span<const Key>(fences_->keys_max).subspan(from, left), false,
        [&](const Key& block_max) { return block_max < key; });
  } else {
    skip = GallopCount(
        std::span<const Key>(fences_->keys_min).subspan(from + 1 - left, left),
        true, [&](const Key& block_min) { return key < block_min; });
  }
  // A sliced head holds nothing in range at or past `key` (Probe() cut its
  // values to none): it goes too.
  if (head_sliced_ && skip == 0) skip = 1;
  const auto popped =
      static_cast<uint32_t>(std::min<uint64_t>(skip, queue_count_));
  for (uint32_t i = 0; i < popped; i++) {
    Slot& head = QueueSlot(0);
    if (head.state == SlotState::kReady) {
      PopHead();
      continue;
    }
    head.state = SlotState::kStale;  // Dropped when its read completes.
    queue_head_ = (queue_head_ + 1) % slot_count_;
    queue_count_--;
  }
  head_sliced_ = false;
  // Past every queued block: the walk skips the unqueued ones too.
  const auto unqueued = static_cast<uint32_t>(skip - popped);
  LSMSCAN_ASSERT(unqueued <= blocks_left_);
  next_block_ = static_cast<uint32_t>(next_block_ + step * unqueued);
  blocks_left_ -= unqueued;
  waiting_ = false;
  if (queue_count_ == 0 && blocks_left_ == 0) state_ = State::kFinished;
  UpdateReadAheadWanted();
}

template <Schema S>
bool ScanTreeLevel<S>::StepIterate(Mode mode) {
  FillSlots(mode);
  // Blocks still to queue: not resident (resident-only mode), the slots are
  // full, or stale reads still hold the free ones.
  if (blocks_left_ > 0) return false;
  if (fences_ != nullptr) {
    state_ = State::kFinished;  // The run of blocks covered the range.
    return true;
  }
  // Every block of the table is queued: on to the next table, unless the
  // range ends inside this one. The index block is no longer needed; the
  // table's start still bounds its blocks queued (PendingFence()), unless
  // blocks of an earlier table are queued before them.
  if (queue_count_ == index_queued_) {
    let_go_fence_ =
        direction_ == Direction::kAscending ? table_.key_min : table_.key_max;
  }
  index_block_.Reset();
  index_queued_ = 0;
  const bool range_ends_here = direction_ == Direction::kAscending
                                   ? !(table_.key_max < key_max_)
                                   : !(key_min_ < table_.key_min);
  state_ = range_ends_here ? State::kFinished : State::kLoadingManifest;
  return true;
}

template <Schema S>
void ScanTreeLevel<S>::FillSlots(Mode mode) {
  // Reads go out in batches (ReadAheadBatch()), so consecutive blocks reach
  // the storage together (io_uring merges them into one large request),
  // unless nothing is queued (the merge may be waiting).
  const bool submit =
      mode == Mode::kMaySubmit && (queue_count_ == 0 || BatchFits());
  while (blocks_left_ > 0 && queue_count_ < slot_count_) {
    Slot& slot = QueueSlot(queue_count_);
    if (slot.state != SlotState::kFree) break;  // A stale read holds it.
    if (!IssueNextBlock(submit, &slot)) break;
  }
}

template <Schema S>
void ScanTreeLevel<S>::UpdateReadAheadWanted() {
  // Only read-ahead proper counts: with an empty queue the level is pending
  // anyway, and ReadAgain follows from that.
  if (queue_count_ == 0 || !status_.ok()) {
    read_ahead_wanted_ = false;
  } else if (state_ == State::kLoadingIndex) {
    read_ahead_wanted_ = !index_loading_;  // The next table's index block.
  } else if (state_ == State::kIterating) {
    read_ahead_wanted_ = blocks_left_ > 0 && BatchFits() &&
                         QueueSlot(queue_count_).state == SlotState::kFree;
  } else {
    read_ahead_wanted_ = false;
  }
}

template <Schema S>
bool ScanTreeLevel<S>::IssueNextBlock(bool submit, Slot* slot) {
  const BlockExpectation expected = NextBlockExpectation();
  BlockRef resident = grid_->TryReadResident(expected);
  if (resident) {
    stats_.resident_blocks++;
    stats_.data_blocks++;
    slot->block = std::move(resident);
    slot->state = SlotState::kReady;
  } else if (!submit) {
    return false;
  } else {
    slot->state = SlotState::kLoading;
    in_flight_count_++;
    slot->read.expected = expected;
    slot->read.frame = slot->frame;
    grid_->SubmitRead(&slot->read);
  }
  slot->block_index = next_block_;
  if (fences_ == nullptr) index_queued_++;
  if (direction_ == Direction::kAscending) {
    next_block_++;
  } else {
    next_block_--;
  }
  blocks_left_--;
  queue_count_++;
  return true;
}

template <Schema S>
void ScanTreeLevel<S>::IndexReadCallback(Grid::Read* read) {
  static_cast<ScanTreeLevel*>(read->context)->OnIndexRead(read);
}

template <Schema S>
void ScanTreeLevel<S>::OnIndexRead(Grid::Read* read) {
  LSMSCAN_ASSERT(index_loading_);
  LSMSCAN_ASSERT(in_flight_count_ > 0);
  index_loading_ = false;
  in_flight_count_--;
  BlockRef block = std::move(read->block);
  if (index_generation_ != generation_ || !status_.ok()) {
    // From before a reset, or the level failed meanwhile (a data block
    // read ahead of this index block): not wanted any more.
    block.Reset();
  } else if (!read->status.ok()) {
    Fail(read->status);
  } else {
    UseIndex(std::move(block));
    // Queue the table's first blocks now, behind those still buffered, so
    // their reads overlap with the merge (this is a storage callback, not
    // Next(): submitting is allowed).
    if (!waiting_) Walk(Mode::kMaySubmit);
  }
  Resume();
}

template <Schema S>
void ScanTreeLevel<S>::DataReadCallback(Grid::Read* read) {
  auto* self = static_cast<ScanTreeLevel*>(read->context);
  for (uint32_t i = 0; i < self->slot_count_; i++) {
    if (&self->slots_[i].read == read) {
      self->OnDataRead(&self->slots_[i]);
      return;
    }
  }
  LSMSCAN_UNREACHABLE();
}

template <Schema S>
void ScanTreeLevel<S>::OnDataRead(Slot* slot) {
  LSMSCAN_ASSERT(in_flight_count_ > 0);
  in_flight_count_--;
  BlockRef block = std::move(slot->read.block);
  if (slot->state == SlotState::kStale) {
    block.Reset();
    slot->state = SlotState::kFree;
  } else {
    LSMSCAN_ASSERT(slot->state == SlotState::kLoading);
    if (!slot->read.status.ok()) {
      // Never ready, so nothing queued after it is used; the level reports
      // kFailed from now on.
      slot->state = SlotState::kFree;
      Fail(slot->read.status);
    } else {
      stats_.data_blocks++;
      slot->block = std::move(block);
      slot->state = SlotState::kReady;
    }
  }
  Resume();
}

template <Schema S>
void ScanTreeLevel<S>::Resume() {
  if (!waiting_) return;
  if (Advance(Mode::kMaySubmit) == LevelProgress::kPending) return;
  waiting_ = false;
  owner_->LevelReady(level_);
}

}  // namespace lsmscan

#endif  // LSMSCAN_SCAN_SCAN_TREE_LEVEL_WALK_H_
