// File: scan/scan_merge.h
// -----------------------------------------------------------------------------
//
// ScanMerge: the k-way merge of a scan's streams (rung 4 of the ladder:
// block -> table -> level -> merge -> scan tree). Streams are memory table
// slices and disk levels (ScanTreeLevel), numbered newest first; the merge
// yields their values in key order (scan direction), the newest version of
// each key only, tombstones dropped.
//
// Each stream is a cursor over its buffered values (front pointer and count
// left), and the heads are keys held inline in a loser tree
// (loser_tree.h). The merge adapts to the length of runs (values of one
// stream that precede every other head):
//
//   * short runs (finely interleaved levels): each value taken replays the
//     winner's path with its stream's next key, log2(streams) branch-free
//     comparisons of inline keys, nothing else;
//   * long runs: once a stream has won kRunStreak values in a row, a gallop
//     finds how many of its next values precede the runner-up (the best
//     head of every other stream), and those are returned with a pointer
//     step and a tombstone check each. A compacted tree's block is one run.
//     A stream that keeps the lead after the first value of a new block
//     (or of a rebuilt merge) gallops at once.
//
// When the run ends, the merge is back to replaying value by value.
//
// Value lifetime: the value returned by Pop() stays where it is until the
// next Pop() (or Probe/Rebuild): its stream is advanced only then, so the
// block holding it stays pinned (TigerBeetle's KWayMerge defers its
// replace the same way).
//
// A level whose buffered values are used up moves on only through resident
// blocks (ScanTreeLevel::Advance(kResidentOnly)); otherwise its head is
// pending. A pending level that knows a fence (ScanTreeLevel::PendingFence():
// a key none of its later values precedes) enters the tree with it, ordered
// before an equal key, so every other stream's values strictly before the
// fence still flow; one that knows none precedes every key. Pop() stops with
// kPending only when a pending head reaches the root, after asking its level
// once more whether the block has become resident meanwhile.
//
// The levels' own `values()` lag behind the cursors while the merge runs;
// SyncLevels() hands the consumed counts back before anything else looks at
// a level (Read(), Probe()).

#ifndef LSMSCAN_SCAN_SCAN_MERGE_H_
#define LSMSCAN_SCAN_SCAN_MERGE_H_

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

#include "lsmscan/lsm/direction.h"
#include "lsmscan/lsm/schema.h"
#include "lsmscan/scan/loser_tree.h"
#include "lsmscan/scan/scan_tree_level.h"
#include "lsmscan/scan/search.h"
#include "lsmscan/storage/base/assert.h"

namespace lsmscan {

// kScanStreamCountMax
//
// Streams one scan merges: one per sorted run of each memory table it sees
// (at most kSealedTableCountMax tables of kMemoryTableRunCountMax runs,
// lsm/table_memory.h), and one per level (a power of two for the loser
// tree).
inline constexpr uint32_t kScanStreamCountMax = 128;

// MergeStop
//
// Why Pop() returned no value.
enum class MergeStop : uint8_t {
  kPending,    // The next value may come from a level that must load.
  kReadAhead,  // A level has room for read-ahead only Read() can start.
  kEnd,        // Every stream has ended.
};

// ScanMerge<S>
template <Schema S>
class ScanMerge {
 public:
  using Key = typename S::Key;
  using Value = typename S::Value;

  // ScanMerge::Reset()
  //
  // No streams; merges in `direction`.
  void Reset(Direction direction) {
    direction_ = direction;
    stream_count_ = 0;
    taken_ = kNoStream;
    run_begin_ = run_end_ = nullptr;
    run_length_ = 0;
    streak_ = 0;
    has_key_last_ = false;
    has_key_returned_ = false;
    taken_returned_ = false;
    check_last_ = false;
    read_ahead_due_ = false;
    values_ = 0;
    runs_ = 0;
    fenced_ = 0;
    tree_.Reset(0, direction);
  }

  // ScanMerge::AddMemory(), AddLevel()
  //
  // Appends a stream (the next older one). Memory: `values` ascending, in
  // range. A level's values are taken from it once Rebuild() runs.
  void AddMemory(std::span<const Value> values) {
    Stream& stream = NewStream();
    stream.level = nullptr;
    stream.loaded = true;
    Load(&stream, values);
  }
  void AddLevel(ScanTreeLevel<S>* level) {
    Stream& stream = NewStream();
    stream.level = level;
    stream.front = nullptr;
    stream.left = 0;
    stream.loaded = false;
    stream.has_fence = false;
  }

  // ScanMerge::Rebuild()
  //
  // Hands the consumed counts back to the levels, refreshes every head
  // (levels move on through resident blocks only) and rebuilds the tree.
  void Rebuild();

  // ScanMerge::SyncLevels()
  //
  // Drops the value returned last (if any) and hands every level the count
  // of values taken from its buffered block, so each level's values() is
  // exactly what is left; the merge takes them up again at Rebuild().
  void SyncLevels();

  // ScanMerge::CutTo()
  //
  // Drops the values of memory streams before `key` (scan direction). Call
  // after SyncLevels(), then Rebuild().
  void CutMemoryTo(const Key& key);

  // ScanMerge::PopRun()
  //
  // The next value of the current run (see the file comment), or null:
  // then call Pop(). Inline: the common case of long runs.
  const Value* PopRun() {
    while (run_begin_ != run_end_) {
      const Value* value =
          direction_ == Direction::kAscending ? run_begin_++ : --run_end_;
      if (!S::is_tombstone(*value)) {
        LSMSCAN_EXPENSIVE_ASSERT(BeforeEveryFence(S::key_of(*value)));
        values_++;
        return value;
      }
    }
    return nullptr;
  }

  // ScanMerge::TakeRun()
  //
  // Up to `count_max` values of the current run at once, tombstones
  // included, as that many PopRun() calls would take them, in ascending
  // memory order (a descending scan's next value is the span's last).
  // Empty when no run is live: then call Pop().
  std::span<const Value> TakeRun(size_t count_max) {
    const size_t count =
        std::min(count_max, static_cast<size_t>(run_end_ - run_begin_));
    const Value* first = run_begin_;
    if (direction_ == Direction::kAscending) {
      run_begin_ += count;
    } else {
      run_end_ -= count;
      first = run_end_;
    }
    uint64_t values = 0;  // A local: no store to values_ per value.
    for (size_t i = 0; i < count; i++) {
      values += S::is_tombstone(first[i]) ? 0 : 1;
    }
    values_ += values;
    return {first, count};
  }

  // ScanMerge::Pop()
  //
  // The next value, or null with the reason in `stop`. The value stays
  // valid (and its block pinned) until the next call on the merge.
  const Value* Pop(MergeStop* stop) {
    // A run is live only after its stream's front was taken.
    LSMSCAN_EXPENSIVE_ASSERT(run_length_ == 0 || taken_ != kNoStream);
    return direction_ == Direction::kAscending
               ? PopIn<Direction::kAscending>(stop)
               : PopIn<Direction::kDescending>(stop);
  }

  // Whether the winner is pending (Pop() would stop with kPending, unless
  // read-ahead is due first).
  bool pending() const {
    return tree_.kind(tree_.winner()) == HeadKind::kPending;
  }
  // The key of the last value taken (returned or skipped), if any.
  bool has_key_last() const { return has_key_last_; }
  const Key& key_last() const { return key_last_; }
  // The key of the last value returned (not a tombstone), if any. Both are
  // exact after SyncLevels(); between calls they may lag behind by the
  // value returned last and the run it is in.
  bool has_key_returned() const { return has_key_returned_; }
  const Key& key_returned() const { return key_returned_; }
  uint32_t stream_count() const { return stream_count_; }
  // Values returned, and times a stream took the lead (runs merged).
  uint64_t values() const { return values_; }
  uint64_t runs() const { return runs_; }
  // Times a pending level entered the tree with its fence.
  uint64_t fenced() const { return fenced_; }
  void clear_read_ahead_due() { read_ahead_due_ = false; }

  // ScanMerge::UseFenceHeads()
  //
  // Whether pending levels enter the tree with their fences (the default)
  // or as heads that precede every key (the merge before fences, kept for
  // A/B measurements). Call before Rebuild().
  void UseFenceHeads(bool use) { fence_heads_ = use; }
  bool fence_heads() const { return fence_heads_; }

  // ScanMerge::BeforeEveryFence()
  //
  // Whether `key` strictly precedes (scan direction) the fence of every
  // level whose head is pending with one: what every value the merge
  // returns must satisfy (checked where kVerify). O(streams).
  bool BeforeEveryFence(const Key& key) const {
    for (uint32_t i = 0; i < stream_count_; i++) {
      const Stream& stream = streams_[i];
      if (stream.has_fence && !Before(direction_, key, stream.fence)) {
        return false;
      }
    }
    return true;
  }

  // ScanMerge::Drop()
  //
  // Forgets every stream's values (the scan ended or was aborted).
  void Drop() {
    for (uint32_t i = 0; i < stream_count_; i++) {
      streams_[i].front = nullptr;
      streams_[i].left = 0;
      streams_[i].loaded = streams_[i].level == nullptr;
      streams_[i].has_fence = false;
    }
    taken_ = kNoStream;
    run_begin_ = run_end_ = nullptr;
    run_length_ = 0;
  }

 private:
  using Tree = LoserTree<Key, kScanStreamCountMax>;
  using Head = typename Tree::Head;
  static constexpr uint32_t kNoStream = UINT32_MAX;
  // Values a stream must win in a row (each replayed through the tree)
  // before the merge looks for the end of its run.
  static constexpr uint32_t kRunStreak = 4;

  struct Stream {
    const Value* front = nullptr;  // The next value in scan direction.
    size_t left = 0;               // Values left, front included.
    ScanTreeLevel<S>* level = nullptr;
    // A level's cursor mirrors its values() (less what the merge took);
    // false once SyncLevels() handed the count back.
    bool loaded = false;
    // The level's head in the tree is pending with this fence.
    bool has_fence = false;
    Key fence{};
  };

  Stream& NewStream() {
    LSMSCAN_ASSERT(stream_count_ < kScanStreamCountMax);
    return streams_[stream_count_++];
  }

  void Load(Stream* stream, std::span<const Value> values) {
    stream->left = values.size();
    stream->front = values.empty() ? nullptr
                    : direction_ == Direction::kAscending
                        ? values.data()
                        : values.data() + values.size() - 1;
  }

  // The values of a stream's cursor, ascending.
  std::span<const Value> Remaining(const Stream& stream) const {
    if (stream.left == 0) return {};
    return direction_ == Direction::kAscending
               ? std::span<const Value>(stream.front, stream.left)
               : std::span<const Value>(stream.front + 1 - stream.left,
                                        stream.left);
  }

  // The head of stream `index` from its cursor; a level whose cursor is
  // used up moves on through resident blocks first.
  Head Refresh(uint32_t index);
  // The head of level stream `index`, whose cursor is empty: its next
  // resident values, or pending (with its fence if it knows one), or end.
  Head LevelHead(uint32_t index);
  // The winner `head` is pending: asks its level again (a read may have
  // landed since, or its fence moved) and replays the new head. False if
  // nothing changed.
  template <Direction D>
  bool RetryPending(const Head& head);

  template <Direction D>
  const Value* PopIn(MergeStop* stop);
  // Takes the winner's front value off its stream.
  template <Direction D>
  void ConsumeWinner();
  // The winner has won kRunStreak values in a row: finds how many of the
  // values after its front precede the runner-up (a gallop), so Pop() can
  // return them without comparisons (a run).
  template <Direction D>
  void StartRun(const Stream& stream);
  // Forgets a run none of whose values was taken.
  void DropRun() {
    run_begin_ = run_end_ = nullptr;
    run_length_ = 0;
  }
  // Brings the winner's cursor up to where its run got to.
  void CloseRun() {
    if (run_length_ == 0) return;
    Stream& stream = streams_[taken_];
    NoteRunReturned(stream);
    // The last value taken is the new front.
    stream.front =
        direction_ == Direction::kAscending ? run_begin_ - 1 : run_end_;
    stream.left -= run_length_ - static_cast<size_t>(run_end_ - run_begin_);
    run_begin_ = run_end_ = nullptr;
    run_length_ = 0;
  }

  // Before CloseRun() moves the cursor: notes the key of the last value
  // the run returned, or (the run's values taken were all tombstones)
  // keeps the front's. Afterwards taken_returned_ says whether the new
  // front, the run's last value taken, was returned.
  void NoteRunReturned(const Stream& stream);
  // The front value of the taken stream is consumed: notes its key.
  void NoteConsumed(const Value& value) {
    key_last_ = S::key_of(value);
    has_key_last_ = true;
    if (taken_returned_) {
      key_returned_ = key_last_;
      has_key_returned_ = true;
    }
  }

  Direction direction_ = Direction::kAscending;
  std::array<Stream, kScanStreamCountMax> streams_;
  uint32_t stream_count_ = 0;
  Tree tree_;
  // The stream of the value Pop() returned last, still to be consumed.
  uint32_t taken_ = kNoStream;
  // A run: `run_length_` values after the winner's front that precede every
  // other head. [run_begin_, run_end_) is what is left of it (ascending
  // memory; a descending run is taken from the back); the stream's cursor is
  // brought up to date by CloseRun().
  const Value* run_begin_ = nullptr;
  const Value* run_end_ = nullptr;
  size_t run_length_ = 0;
  // Values the winner has won in a row since it took over.
  uint32_t streak_ = 0;
  // The key of the last value consumed (ConsumeWinner(), SyncLevels());
  // values with it from older streams are older versions. check_last_: the
  // winner changed since, so its front key must be compared with key_last_.
  Key key_last_{};
  bool has_key_last_ = false;
  // The key of the last value returned, once consumed (see
  // has_key_returned()); taken_returned_: the taken stream's front was
  // returned, not skipped.
  Key key_returned_{};
  bool has_key_returned_ = false;
  bool taken_returned_ = false;
  bool check_last_ = false;
  bool read_ahead_due_ = false;
  bool fence_heads_ = true;
  uint64_t values_ = 0;
  uint64_t runs_ = 0;
  uint64_t fenced_ = 0;
};

// -----------------------------------------------------------------------------
// Implementation.

template <Schema S>
void ScanMerge<S>::SyncLevels() {
  if (taken_ != kNoStream) {
    CloseRun();
    Stream& stream = streams_[taken_];
    NoteConsumed(*stream.front);
    stream.left--;
    stream.front += direction_ == Direction::kAscending ? 1 : -1;
    taken_ = kNoStream;
  }
  DropRun();  // Not started (its stream's front was not taken), if any.
  streak_ = 0;
  for (uint32_t i = 0; i < stream_count_; i++) {
    Stream& stream = streams_[i];
    if (stream.level == nullptr || !stream.loaded) continue;
    const size_t buffered = stream.level->values().size();
    LSMSCAN_ASSERT(stream.left <= buffered);
    stream.level->Consume(buffered - stream.left);
    stream.loaded = false;
    stream.front = nullptr;
    stream.left = 0;
  }
}

template <Schema S>
void ScanMerge<S>::NoteRunReturned(const Stream& stream) {
  const size_t taken = run_length_ - static_cast<size_t>(run_end_ - run_begin_);
  if (taken == 0) return;
  // The run's values taken, from the last one back (scan direction).
  for (size_t i = taken; i-- > 0;) {
    const Value& value = direction_ == Direction::kAscending
                             ? stream.front[1 + i]
                             : *(stream.front - 1 - i);
    if (S::is_tombstone(value)) continue;
    if (i + 1 < taken) {
      // The new front is a tombstone: the key is noted here.
      key_returned_ = S::key_of(value);
      has_key_returned_ = true;
      taken_returned_ = false;
    } else {
      taken_returned_ = true;  // The new front: noted when it is consumed.
    }
    return;
  }
  // Only tombstones: the old front's key, if it was returned.
  if (taken_returned_) {
    key_returned_ = S::key_of(*stream.front);
    has_key_returned_ = true;
    taken_returned_ = false;
  }
}

template <Schema S>
void ScanMerge<S>::CutMemoryTo(const Key& key) {
  LSMSCAN_ASSERT(taken_ == kNoStream);
  for (uint32_t i = 0; i < stream_count_; i++) {
    Stream& stream = streams_[i];
    if (stream.level != nullptr) continue;
    const std::span<const Value> values = Remaining(stream);
    if (direction_ == Direction::kAscending) {
      const size_t begin = PartitionPointByKey<S>(values, key, false);
      Load(&stream, values.subspan(begin));
    } else {
      const size_t end = PartitionPointByKey<S>(values, key, true);
      Load(&stream, values.first(end));
    }
  }
}

template <Schema S>
void ScanMerge<S>::Rebuild() {
  SyncLevels();
  tree_.Reset(stream_count_, direction_);
  for (uint32_t i = 0; i < stream_count_; i++) {
    Stream& stream = streams_[i];
    if (stream.level != nullptr) {
      Load(&stream, stream.level->values());
      stream.loaded = true;
    }
    tree_.Set(i, Refresh(i));
  }
  tree_.Build();
  check_last_ = true;
  // As for a new block (ConsumeWinner()): a winner that keeps the lead
  // after its first value looks for its run at once.
  streak_ = kRunStreak - 1;
  if (tree_.kind(tree_.winner()) == HeadKind::kKey) runs_++;
  LSMSCAN_EXPENSIVE_ASSERT((tree_.CheckInvariants(), true));
}

template <Schema S>
template <Direction D>
void ScanMerge<S>::ConsumeWinner() {
  const uint32_t index = Tree::stream(tree_.winner());
  Stream& stream = streams_[index];
  NoteConsumed(*stream.front);
  stream.front += D == Direction::kAscending ? 1 : -1;
  Head head;
  if (--stream.left != 0) [[likely]] {
    head = Tree::template KeyHeadIn<D>(S::key_of(*stream.front), index);
  } else {
    head = Refresh(index);
    // A new block: if the stream keeps the lead, look for its run at once
    // (a compacted tree's block is one run; one gallop per block is cheap).
    streak_ = kRunStreak - 1;
  }
  tree_.template ReplayWinner<D>(head);
  if (Tree::stream(tree_.winner()) != index) {
    // Another stream takes over: its front may be an older version of the
    // key just taken.
    check_last_ = true;
    streak_ = 0;
    runs_++;
  } else if (++streak_ == kRunStreak && tree_.kind(head) == HeadKind::kKey) {
    StartRun<D>(stream);
  }
}

template <Schema S>
template <Direction D>
void ScanMerge<S>::StartRun(const Stream& stream) {
  streak_ = 0;
  const Head bound = tree_.RunnerUp();
  // The values after the front, in scan direction, that precede `bound`.
  const size_t after = stream.left - 1;
  if (tree_.kind(bound) == HeadKind::kEnd) {
    run_length_ = after;  // No other stream is left: the rest of the block.
  } else {
    const uint32_t index = Tree::stream(tree_.winner());
    const std::span<const Value> rest =
        D == Direction::kAscending
            ? std::span<const Value>(stream.front + 1, after)
            : std::span<const Value>(stream.front - after, after);
    run_length_ =
        GallopCount(rest, D == Direction::kDescending, [&](const Value& value) {
          return tree_.Less(
              Tree::template KeyHeadIn<D>(S::key_of(value), index), bound);
        });
  }
  if (D == Direction::kAscending) {
    run_begin_ = stream.front + 1;
    run_end_ = run_begin_ + run_length_;
  } else {
    run_end_ = stream.front;
    run_begin_ = run_end_ - run_length_;
  }
}

template <Schema S>
template <Direction D>
const typename S::Value* ScanMerge<S>::PopIn(MergeStop* stop) {
  while (true) {
    if (taken_ != kNoStream) {
      // The winner's front was taken (returned by the last call, or skipped
      // just now). A run may have started meanwhile (ConsumeWinner()).
      if (const Value* value = PopRun()) return value;
      CloseRun();
      taken_ = kNoStream;
      ConsumeWinner<D>();
    }
    if (read_ahead_due_) [[unlikely]] {
      // A level has room for a batch of read-ahead: Read() starts it, and
      // the merge resumes where it is. A run found meanwhile starts after
      // the winner's front, which is not taken yet: drop it (the streak
      // finds it again).
      read_ahead_due_ = false;
      DropRun();
      *stop = MergeStop::kReadAhead;
      return nullptr;
    }
    const Head& winner = tree_.winner();
    const HeadKind kind = tree_.kind(winner);
    if (kind != HeadKind::kKey) [[unlikely]] {
      if (kind == HeadKind::kPending && RetryPending<D>(winner)) continue;
      *stop =
          kind == HeadKind::kPending ? MergeStop::kPending : MergeStop::kEnd;
      return nullptr;
    }
    const uint32_t index = Tree::stream(winner);
    const Value* value = streams_[index].front;
    taken_ = index;
    taken_returned_ = false;
    if (check_last_) {
      check_last_ = false;
      const Key key = S::key_of(*value);
      // An older version of the key just taken: skip it.
      if (has_key_last_ && !(key_last_ < key) && !(key < key_last_)) continue;
    }
    if (S::is_tombstone(*value)) continue;
    LSMSCAN_EXPENSIVE_ASSERT(BeforeEveryFence(S::key_of(*value)));
    taken_returned_ = true;
    values_++;
    return value;
  }
}

}  // namespace lsmscan

// The rest of ScanMerge<S>'s members: the heads of levels (fences).
#include "lsmscan/scan/scan_merge_heads.h"  // IWYU pragma: export

#endif  // LSMSCAN_SCAN_SCAN_MERGE_H_
