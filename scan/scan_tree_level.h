// File: scan/scan_tree_level.h
// -----------------------------------------------------------------------------
//
// One disk level of a scan: rung 3 of the ladder (block -> table -> level ->
// merge -> scan tree). It walks the level's tables in scan direction, at the
// scan's snapshot, within [key_min, key_max], and offers the merge one
// buffered slice of values at a time.
//
// The walk (TigerBeetle's ScanTreeLevel):
//
//   kLoadingManifest  ask the manifest (in memory) for the next table that
//                     is visible at the snapshot and meets the range; none
//                     left -> kFinished.
//   kLoadingIndex     load its index block; binary-search the run of data
//                     blocks that meets the range (none -> next table).
//   kIterating        queue those data blocks in order into the level's
//                     `1 + read_ahead` slots; once every one of them is
//                     queued -> kLoadingManifest, past the table just
//                     walked (unless the range ends inside it).
//   kFinished         no more tables in range.
//
// With the level's fence keys (LevelFences: every data block of the level's
// live tables in flat arrays, given when the scan's snapshot sees exactly
// those tables), the walk needs neither the manifest nor index blocks: one
// binary search over the level's blocks finds the run of blocks meeting the
// range, and kIterating queues them in order across tables, then
// kFinished.
//
// The walk runs ahead of the merge: the slots form one queue in scan order,
// which may hold the last blocks of one table and the first of the next, so
// the next table's index block loads while the merge still reads the
// previous table's blocks (no pipeline bubble at table boundaries). The
// merge takes values from the head of the queue, each block sliced to the
// range when it reaches the head. The level has ended when the walk has
// finished and the queue is empty.
//
// Two modes of progress. Advance(kResidentOnly) never submits I/O: it moves
// on only through blocks already resident and verified (a loaded read-ahead
// block, a cache hit, a verified zero-copy block); the merge calls it from
// Next(). Advance(kMaySubmit) also submits reads; the scan calls it from
// Read(). When a submitted read completes, the level carries on and, if the
// scan is waiting for it, tells the scan through LevelReady().
//
// Reads in flight when the level is reset (probe, abort) are not cancelled:
// a generation number marks them stale, and their blocks are dropped when
// they arrive.
//
// The walk's steps and read completions are defined in
// scan_tree_level_walk.h; this file holds the class, the queue's head and
// Probe().

#ifndef LSMSCAN_SCAN_SCAN_TREE_LEVEL_H_
#define LSMSCAN_SCAN_SCAN_TREE_LEVEL_H_

#include <algorithm>
#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <utility>

#include "absl/status/status.h"
#include "lsmscan/lsm/data_block.h"
#include "lsmscan/lsm/direction.h"
#include "lsmscan/lsm/grid.h"
#include "lsmscan/lsm/index_block.h"
#include "lsmscan/lsm/level_fences.h"
#include "lsmscan/lsm/manifest.h"
#include "lsmscan/lsm/schema.h"
#include "lsmscan/lsm/table_info.h"
#include "lsmscan/scan/scan_buffer.h"
#include "lsmscan/scan/scan_level_owner.h"
#include "lsmscan/scan/search.h"
#include "lsmscan/storage/base/assert.h"

namespace lsmscan {

// LevelProgress
//
// Where a level stands after an attempt to advance.
enum class LevelProgress : uint8_t {
  kValues,   // values() is not empty.
  kPending,  // It needs a read (or one is in flight).
  kEnd,      // Nothing more in range.
  kFailed,   // A read failed: see status(). The scan must end with it.
};

// ScanLevelStats
struct ScanLevelStats {
  uint64_t index_blocks = 0;
  uint64_t data_blocks = 0;
  uint64_t resident_blocks = 0;  // Blocks taken without a read.
};

// ScanTreeLevel<S>
template <Schema S>
class ScanTreeLevel {
 public:
  using Key = typename S::Key;
  using Value = typename S::Value;

  enum class State : uint8_t {
    kLoadingManifest,
    kLoadingIndex,
    kIterating,
    kFinished,
  };

  ScanTreeLevel() = default;
  ScanTreeLevel(const ScanTreeLevel&) = delete;
  ScanTreeLevel& operator=(const ScanTreeLevel&) = delete;

  // ScanTreeLevel::Init()
  //
  // Binds the level to the tree's grid and manifest and to its slots and
  // frames in `buffer` (whose slots are all free: the buffer's previous
  // scan waited for its reads). Called once per scan buffer use.
  void Init(Grid* grid, const Manifest<Key>* manifest, uint32_t level,
            ScanBuffer* buffer, ScanLevelOwner* owner) {
    LSMSCAN_ASSERT(in_flight_count_ == 0);
    grid_ = grid;
    manifest_ = manifest;
    level_ = level;
    owner_ = owner;
    ScanLevelSlots* slots = buffer->level_slots(level);
    slots_ = slots->data;
    slot_count_ = static_cast<uint32_t>(slots_.size());
    index_frame_ = slots->index_frame;
    index_read_ = &slots->index_read;
    index_read_->context = this;
    index_read_->callback = &ScanTreeLevel::IndexReadCallback;
    for (Slot& slot : slots_) {
      LSMSCAN_ASSERT(slot.state == SlotState::kFree);
      LSMSCAN_ASSERT(!slot.block);
      slot.read.context = this;
      slot.read.callback = &ScanTreeLevel::DataReadCallback;
    }
    index_loading_ = false;
    queue_head_ = 0;
    queue_count_ = 0;
  }

  // ScanTreeLevel::UseFences()
  //
  // The level's fence keys for this scan, or null (the walk then goes
  // through the manifest and index blocks). REQUIRES: they describe exactly
  // the tables visible at the scan's snapshot (Manifest::Fences()). Call
  // after Init(), before Start().
  void UseFences(std::shared_ptr<const LevelFences<Key>> fences) {
    fences_ = std::move(fences);
  }

  // ScanTreeLevel::Start()
  //
  // Begins a walk of [key_min, key_max] at `snapshot` in `direction`.
  void Start(Snapshot snapshot, const Key& key_min, const Key& key_max,
             Direction direction) {
    snapshot_ = snapshot;
    key_min_ = key_min;
    key_max_ = key_max;
    direction_ = direction;
    status_ = absl::OkStatus();
    stats_ = ScanLevelStats();
    Restart();
  }

  // The values the merge may take: the current block's values in range,
  // ascending in memory (a descending merge takes them from the back).
  std::span<const Value> values() const { return values_; }

  // ScanTreeLevel::Consume()
  //
  // Drops `count` values from the front of values() in scan direction.
  void Consume(size_t count) {
    LSMSCAN_ASSERT(count <= values_.size());
    values_ = direction_ == Direction::kAscending
                  ? values_.subspan(count)
                  : values_.first(values_.size() - count);
  }

  enum class Mode : uint8_t { kResidentOnly, kMaySubmit };

  // ScanTreeLevel::Advance()
  //
  // Makes values() non-empty if it can in `mode` (see the file comment).
  LevelProgress Advance(Mode mode);

  // ScanTreeLevel::Fetch()
  //
  // Advance(kMaySubmit); if that has to wait for a read, remembers that the
  // scan is waiting and returns false: LevelReady() follows from Tick().
  bool Fetch() {
    LSMSCAN_ASSERT(!waiting_);
    if (Advance(Mode::kMaySubmit) != LevelProgress::kPending) return true;
    waiting_ = true;
    return false;
  }
  // Returns true if the level needs no waiting (values, the end, or a
  // failure the scan reports).

  // ScanTreeLevel::ReadAhead()
  //
  // Walks as far as the free slots allow, submitting reads (the next blocks,
  // the next table's index block) without waiting for them.
  void ReadAhead() { Walk(Mode::kMaySubmit); }

  // ScanTreeLevel::Probe()
  //
  // Narrows the range to start at `key` (scan direction): keeps the buffered
  // block if it still has values at or past `key` (and, once the walk has
  // ended, the blocks queued behind it). Else, with fence keys, moves the
  // walk forward to the first block that may hold `key` or later (keeping
  // the blocks queued from there on); without them, drops everything
  // loaded and restarts the walk from the manifest. REQUIRES: `key` is not
  // before the range's start, and every value before it was taken or is
  // out of range (ScanTree::Probe() calls it only then).
  void Probe(const Key& key);

  // ScanTreeLevel::Abort()
  //
  // Drops everything; in-flight reads are absorbed when they arrive.
  void Abort() {
    generation_++;
    DropLoaded();
    state_ = State::kFinished;
    waiting_ = false;
    fences_.reset();
  }

  // ScanTreeLevel::read_ahead_wanted()
  //
  // True when the level has room for a batch of read-ahead that only a
  // submitting Advance() (from Read()) can start: the scan then answers
  // ReadAgain early, so the loads overlap with the values still buffered.
  bool read_ahead_wanted() const { return read_ahead_wanted_; }

  // ScanTreeLevel::PendingFence()
  //
  // For a level whose Advance() answered kPending: sets `*fence` to a key
  // that no value the level will still produce precedes in scan direction
  // (ascending: every such key is >= *fence; descending: <=), and returns
  // true; false if the level knows none (or has failed). The bound is the
  // next block's first key (last, descending) from the fence keys or from
  // the table's index block, or the next table's bound from the manifest
  // while its index block loads; cut to the range. O(1), no I/O.
  bool PendingFence(Key* fence) const;

  // ScanTreeLevel::StopWaiting()
  //
  // The scan no longer waits for this level (its Read() completed because
  // the merge can go on without it): reads in flight complete as
  // read-ahead, and LevelReady() is not called.
  void StopWaiting() { waiting_ = false; }

  // The state of the walk; the level itself has ended when the walk is
  // kFinished and nothing is queued (Advance() returns kEnd).
  State state() const { return state_; }
  bool waiting() const { return waiting_; }
  const absl::Status& status() const { return status_; }
  uint32_t in_flight_count() const { return in_flight_count_; }
  const ScanLevelStats& stats() const { return stats_; }

 private:
  static constexpr uint32_t kReadAheadBatchBlocksMax = 32;

  // The slots live in the scan's buffer (scan_buffer.h).
  using Slot = ScanBlockSlot;
  using SlotState = ScanBlockSlot::State;

  // Back to the start of the walk with nothing loaded (Start, probe).
  void Restart() {
    generation_++;
    DropLoaded();
    key_exclusive_.reset();
    waiting_ = false;
    if (fences_ != nullptr) {
      StartFromFences();
    } else {
      state_ = State::kLoadingManifest;
    }
  }
  // The run of the level's blocks meeting [key_min_, key_max_], from the
  // fence keys: kIterating over it, or kFinished if it is empty.
  void StartFromFences();
  // Probe() past the buffered values with fence keys, walk not finished:
  // gallops from the head block (or the next block to queue) to the first
  // block that may hold `key` or later, drops the queued blocks before it
  // and keeps the rest (no binary search over the level, no restart).
  void ProbeFences(const Key& key);

  void DropLoaded();
  // Whether every slot outside the queue is free or stale (kVerify).
  bool UnqueuedSlotsIdle() const {
    for (uint32_t i = queue_count_; i < slot_count_; i++) {
      const SlotState state = slots_[(queue_head_ + i) % slot_count_].state;
      if (state != SlotState::kFree && state != SlotState::kStale) return false;
    }
    return true;
  }
  // Records a failed read. What is buffered stays as it is (the merge may be
  // reading it); the next Advance() reports kFailed.
  void Fail(absl::Status status);
  // Runs the walk as far as it can go in `mode` (see the file comment).
  void Walk(Mode mode);
  // One step of the walk; returns false when it cannot go on in `mode`.
  bool StepManifest();
  bool StepIndex(Mode mode);
  bool StepIterate(Mode mode);
  void UseIndex(BlockRef block);
  void UpdateReadAheadWanted();
  // Blocks a level submits together (see FillSlots()): half the slots, at
  // most kReadAheadBatchBlocksMax, so that with many slots several batches
  // are in flight while the merge reads the rest.
  uint32_t ReadAheadBatch() const {
    return std::clamp<uint32_t>(slot_count_ / 2, 1, kReadAheadBatchBlocksMax);
  }
  // Whether a whole batch of free slots is left.
  bool BatchFits() const {
    return slot_count_ - queue_count_ >= ReadAheadBatch();
  }

  // Takes the next block into `slot`: resident, or read if `submit`.
  bool IssueNextBlock(bool submit, Slot* slot);
  void FillSlots(Mode mode);
  void PopHead();
  void SliceHead();

  BlockExpectation NextBlockExpectation() const {
    if (fences_ != nullptr) {
      return {fences_->addresses[next_block_], fences_->checksums[next_block_],
              BlockType::kData, 0};
    }
    const IndexBlockView<Key> index(index_block_.data());
    return {index.addresses()[next_block_], index.checksums()[next_block_],
            BlockType::kData, 0};
  }

  // The queue of data block slots, in scan order.
  Slot& QueueSlot(uint32_t position) {
    return slots_[(queue_head_ + position) % slot_count_];
  }

  // The first key of block `block` in scan direction (its key_min
  // ascending, key_max descending), from the fence keys or `index`.
  Key BlockFence(uint32_t block, const std::byte* index) const;

  static void IndexReadCallback(Grid::Read* read);
  static void DataReadCallback(Grid::Read* read);
  void OnIndexRead(Grid::Read* read);
  void OnDataRead(Slot* slot);
  // After a read completed: carry on if the scan waits for this level.
  void Resume();

  Grid* grid_ = nullptr;
  const Manifest<Key>* manifest_ = nullptr;
  uint32_t level_ = 0;
  ScanLevelOwner* owner_ = nullptr;

  Snapshot snapshot_ = 0;
  Key key_min_{};
  Key key_max_{};
  Direction direction_ = Direction::kAscending;

  State state_ = State::kFinished;
  absl::Status status_;
  bool waiting_ = false;     // The scan waits for LevelReady().
  uint64_t generation_ = 0;  // Bumped by every reset.
  uint32_t in_flight_count_ = 0;

  // The fence keys of the level, if the walk uses them (then next_block_
  // and blocks_left_ count blocks of the level, not of one table).
  std::shared_ptr<const LevelFences<Key>> fences_;

  // kLoadingIndex and kIterating: the current table.
  TableInfo<Key> table_;
  std::optional<Key> key_exclusive_;  // Boundary of the last table walked.
  std::byte* index_frame_ = nullptr;
  Grid::Read* index_read_ = nullptr;  // In the buffer.
  bool index_loading_ = false;
  uint64_t index_generation_ = 0;
  BlockRef index_block_;
  uint32_t next_block_ = 0;   // The next data block to load.
  uint32_t blocks_left_ = 0;  // Data blocks of the table still to load.
  // Without fence keys: how many of the queue's last slots hold blocks of
  // the table whose index block is index_block_ (PendingFence() reads their
  // keys there). The slots before them hold blocks of tables whose index
  // block was let go: the first of those tables' start (key_min ascending,
  // key_max descending) bounds them all.
  uint32_t index_queued_ = 0;
  Key let_go_fence_{};

  std::span<Slot> slots_;  // In the buffer: a ring, in scan order.
  uint32_t slot_count_ = 0;
  uint32_t queue_head_ = 0;
  uint32_t queue_count_ = 0;
  bool head_sliced_ = false;  // values_ was cut from the head slot's block.
  bool read_ahead_wanted_ = false;
  std::span<const Value> values_;
  ScanLevelStats stats_;
};

// -----------------------------------------------------------------------------
// Implementation.

template <Schema S>
void ScanTreeLevel<S>::DropLoaded() {
  values_ = {};
  // Blocks loading or ready are all queued; the other slots are free or
  // stale (a dropped read still in flight).
  LSMSCAN_EXPENSIVE_ASSERT(UnqueuedSlotsIdle());
  for (uint32_t i = 0; i < queue_count_; i++) {
    Slot& slot = QueueSlot(i);
    if (slot.state == SlotState::kLoading) {
      slot.state = SlotState::kStale;
    } else if (slot.state == SlotState::kReady) {
      slot.block.Reset();
      slot.state = SlotState::kFree;
    }
  }
  queue_head_ = 0;
  queue_count_ = 0;
  head_sliced_ = false;
  read_ahead_wanted_ = false;
  index_block_.Reset();
  index_queued_ = 0;
  // An index read in flight is recognised as stale by its generation.
  blocks_left_ = 0;
}

template <Schema S>
typename S::Key ScanTreeLevel<S>::BlockFence(uint32_t block,
                                             const std::byte* index) const {
  const bool ascending = direction_ == Direction::kAscending;
  if (fences_ != nullptr) {
    return ascending ? fences_->keys_min[block] : fences_->keys_max[block];
  }
  const IndexBlockView<Key> view(index);
  return ascending ? view.keys_min()[block] : view.keys_max()[block];
}

template <Schema S>
bool ScanTreeLevel<S>::PendingFence(Key* fence) const {
  if (!status_.ok() || !values_.empty()) return false;
  const bool index_held = static_cast<bool>(index_block_);
  const std::byte* index = index_held ? index_block_.data() : nullptr;
  Key bound{};
  if (queue_count_ > 0) {
    // The head block is loading (a ready head would have been sliced).
    // Blocks and tables ascend (descend) in scan order, so a bound of the
    // head block bounds the whole level.
    const Slot& head = slots_[queue_head_];
    if (fences_ == nullptr && !(index_held && queue_count_ <= index_queued_)) {
      bound = let_go_fence_;  // Its table's index block was let go.
    } else {
      bound = BlockFence(head.block_index, index);
    }
  } else if (state_ == State::kIterating && blocks_left_ > 0 &&
             (fences_ != nullptr || index_held)) {
    bound = BlockFence(next_block_, index);  // Not resident, not submitted.
  } else if (state_ == State::kLoadingIndex) {
    // The next table, from the manifest, while its index block loads.
    bound =
        direction_ == Direction::kAscending ? table_.key_min : table_.key_max;
  } else {
    return false;
  }
  // Values are cut to the range, so its start bounds them too.
  if (direction_ == Direction::kAscending) {
    *fence = bound < key_min_ ? key_min_ : bound;
  } else {
    *fence = key_max_ < bound ? key_max_ : bound;
  }
  return true;
}

template <Schema S>
void ScanTreeLevel<S>::Fail(absl::Status status) {
  if (status_.ok()) status_ = std::move(status);
  state_ = State::kFinished;
}

template <Schema S>
LevelProgress ScanTreeLevel<S>::Advance(Mode mode) {
  while (true) {
    if (!values_.empty()) return LevelProgress::kValues;
    if (!status_.ok()) return LevelProgress::kFailed;
    if (head_sliced_) PopHead();  // Its values are used up.
    Walk(mode);
    if (!status_.ok()) return LevelProgress::kFailed;
    if (queue_count_ == 0) {
      // Nothing queued: the walk has finished, or it waits for an index
      // block, for a submitting Advance(), or for stale reads to free slots.
      return state_ == State::kFinished ? LevelProgress::kEnd
                                        : LevelProgress::kPending;
    }
    if (QueueSlot(0).state != SlotState::kReady) return LevelProgress::kPending;
    SliceHead();  // Its values may all be out of range: then round again.
  }
}

template <Schema S>
void ScanTreeLevel<S>::PopHead() {
  LSMSCAN_ASSERT(queue_count_ > 0);
  LSMSCAN_ASSERT(values_.empty());
  Slot& head = QueueSlot(0);
  LSMSCAN_ASSERT(head.state == SlotState::kReady);
  head.block.Reset();
  head.state = SlotState::kFree;
  queue_head_ = (queue_head_ + 1) % slot_count_;
  queue_count_--;
  index_queued_ = std::min(index_queued_, queue_count_);
  head_sliced_ = false;
}

template <Schema S>
void ScanTreeLevel<S>::SliceHead() {
  Slot& head = QueueSlot(0);
  LSMSCAN_ASSERT(head.state == SlotState::kReady);
  LSMSCAN_ASSERT(!head_sliced_);
  absl::Status valid =
      ValidateDataBlock<S>(head.block.data(), grid_->block_size_bytes());
  if (!valid.ok()) {
    Fail(std::move(valid));
    return;
  }
  const std::span<const Value> all = DataBlockValues<S>(head.block.data());
  LSMSCAN_EXPENSIVE_ASSERT(DataBlockKeysAscend<S>(all));
  values_ = SliceToRange<S>(all, key_min_, key_max_, direction_);
  head_sliced_ = true;
}

template <Schema S>
void ScanTreeLevel<S>::Probe(const Key& key) {
  if (direction_ == Direction::kAscending) {
    key_min_ = key;
  } else {
    key_max_ = key;
  }
  // A failed level is finished but may still buffer values (Fail() keeps
  // them): they are cut too, so nothing before `key` is returned.
  if (!values_.empty()) {
    if (direction_ == Direction::kAscending) {
      const size_t begin = PartitionPointByKey<S>(values_, key, false);
      values_ = values_.subspan(begin);
    } else {
      const size_t end = PartitionPointByKey<S>(values_, key, true);
      values_ = values_.first(end);
    }
    // The rest of the block, and the blocks after it, are still in range.
    if (!values_.empty()) return;
  }
  // The walk has ended (or failed): blocks still queued are sliced to the
  // narrowed range when they reach the head.
  if (state_ == State::kFinished) return;
  if (fences_ != nullptr) {
    ProbeFences(key);
  } else {
    Restart();
  }
}

}  // namespace lsmscan

// The rest of ScanTreeLevel<S>'s members: the walk and its reads.
#include "lsmscan/scan/scan_tree_level_walk.h"  // IWYU pragma: export

#endif  // LSMSCAN_SCAN_SCAN_TREE_LEVEL_H_
