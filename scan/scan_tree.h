// File: scan/scan_tree.h
// -----------------------------------------------------------------------------
//
// ScanTree: a range scan over one Tree, after TigerBeetle's ScanTree. It
// yields, in key order (ascending or descending), every live value visible
// at one snapshot within [key_min, key_max], merging the mutable memory
// table, the immutable ones and every disk level. Rung 5 of the ladder
// (block -> table -> level -> merge -> scan tree).
//
// Life cycle (an explicit state machine; see doc/scan.md for the diagram):
//
//   Init()                                  -> kIdle       (no I/O)
//   Read(callback)   from kIdle/kNeedsData  -> kBuffering  (levels fetch,
//                                                           all at once)
//   ...every level buffered or finished...  -> kSeeking,  callback(OK)
//   ReadResident()   from kIdle/kNeedsData  -> kSeeking at once if every
//                    level can go on from resident blocks (no callback);
//                    else false, nothing changed: call Read()
//   Next() in kSeeking: a value, or
//          ReadAgain when a level must load -> kNeedsData (call Read())
//          End when nothing is left             (stays kSeeking; the scan
//          then releases its blocks, memory tables and snapshot)
//   Probe(key) in kIdle/kSeeking/kNeedsData:   skip ahead to `key`
//   Rescan(range, direction) in kIdle/kSeeking/kNeedsData -> kIdle (the
//                                              same read view; no I/O)
//   Abort() in any state                    -> kAborted
//   Reset() in any state                    -> kAborted, everything given
//                                              back (Init() and the
//                                              destructor do it too)
//   A storage error or a block failing its checksum ends the scan: the
//   callback gets the Status and the state is kAborted. A failed Init()
//   leaves the scan kAborted with status() holding the error, which Read()
//   reports through its callback; so does a scan never Init()ed (Next():
//   End, status() FailedPrecondition). doc/scan.md has the table of every
//   call in every state.
//
// Merge precedence: for equal keys the newest stream wins: mutable table >
// immutable tables (newest first) > level 0 > level 1 > ... Older versions
// are skipped, and so are tombstones (a removed key is not returned).
//
// Next() never does I/O and never blocks: when a level's buffered block is
// used up it moves on only through blocks already resident (a read-ahead
// block that has arrived, a block-cache hit, a verified zero-copy block);
// otherwise it returns ReadAgain. It also returns ReadAgain, with values
// still buffered, when a level has room for a batch of read-ahead: the
// caller's Read() starts those loads, so they overlap with the values left
// (only on copying storages, where blocks are not resident by themselves).
// Read(), Next() and Probe() allocate nothing; all memory is the caller's
// ScanBuffer plus this object.
//
// Thread safety: none. One thread owns the tree, its storage and the scan.
//
// Read(), ReadResident() and the levels' completions are defined in
// scan_tree_read.h, the merge (Next()'s slow path) and Probe() in
// scan_tree_merge.h, the teardown (Abort, release) in scan_tree_release.h;
// this file holds the types, the class, and the set-up (Init, Rescan).
//
// Example:
//
//   ScanTree<Record32Schema> scan;
//   CHECK_OK(scan.Init(tree, buffer, kSnapshotLatest, 100, 200,
//                      Direction::kAscending));
//   scan.Read(&OnRead, &state);   // OnRead calls scan.Next() until
//                                 // ReadAgain (Read again) or End.

#ifndef LSMSCAN_SCAN_SCAN_TREE_H_
#define LSMSCAN_SCAN_SCAN_TREE_H_

#include <algorithm>
#include <array>
#include <bit>
#include <cstdint>
#include <span>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "lsmscan/lsm/direction.h"
#include "lsmscan/lsm/read_view.h"
#include "lsmscan/lsm/schema.h"
#include "lsmscan/lsm/tree.h"
#include "lsmscan/lsm/tree_options.h"
#include "lsmscan/scan/scan_buffer.h"
#include "lsmscan/scan/scan_level_owner.h"
#include "lsmscan/scan/scan_merge.h"
#include "lsmscan/scan/scan_tree_level.h"
#include "lsmscan/scan/search.h"
#include "lsmscan/storage/base/assert.h"
#include "lsmscan/storage/storage.h"

namespace lsmscan {

// One stream per sorted run of each memory table a scan sees, one per level.
static_assert(kSealedTableCountMax * kMemoryTableRunCountMax + kLevelCountMax <=
              kScanStreamCountMax);

// ScanState
enum class ScanState : uint8_t {
  kIdle,       // Initialised; no read yet.
  kBuffering,  // A Read() is in flight.
  kSeeking,    // Next() may be called.
  kNeedsData,  // Next() returned ReadAgain: call Read().
  kAborted,    // Abort() was called, or a read failed (see status()).
};

const char* ScanStateName(ScanState state);

// The status of a scan that was never Init()ed (one shared object: copying
// it allocates nothing).
inline const absl::Status& NeverInitializedStatus() {
  static const absl::Status* const status = new absl::Status(
      absl::FailedPreconditionError("the scan was never Init()ed"));
  return *status;
}

// ScanNextKind
enum class ScanNextKind : uint8_t { kValue, kReadAgain, kEnd };

// ScanNext<Value>
//
// What Next() returns. `value` points into a block or memory table the
// scan keeps pinned, and stays valid, its bytes unchanged, until the next
// call on the scan (Next(), Read(), Probe(), Abort(), Init(), destruction),
// whatever runs meanwhile: point reads, other scans, compactions on the same
// storage, any Tick(). Copy it to keep it longer.
template <typename Value>
struct ScanNext {
  ScanNextKind kind;
  const Value* value;
};

// ScanStats
struct ScanStats {
  uint64_t values = 0;          // Values returned by Next().
  uint64_t read_agains = 0;     // Times Next() returned ReadAgain.
  uint64_t read_aheads = 0;     // ...of which to start read-ahead early.
  uint64_t reads = 0;           // Read() calls.
  uint64_t resident_reads = 0;  // ReadResident() calls that made it ready.
  uint64_t runs = 0;            // Times a stream took the lead in the merge
                                // (runs of values from one stream).
  uint64_t fenced = 0;          // Times a level waiting for a block entered
                                // the merge with its fence (scan_merge.h).
  ScanLevelStats levels;        // Summed over the levels.
};

// ScanTree<S>
template <Schema S>
class ScanTree final : private ScanLevelOwner {
 public:
  using Key = typename S::Key;
  using Value = typename S::Value;
  // Completion of Read(): OK (state kSeeking) or the error that ended the
  // scan (state kAborted). Runs from the storage's Tick(), never inside
  // Read().
  using ReadCallback = void (*)(void* context, ScanTree* scan,
                                absl::Status status);

  // A scan that was never Init()ed: state kAborted, status()
  // FailedPrecondition; Next() answers End. Allocates nothing.
  ScanTree() {
    next_tick_.context = this;
    next_tick_.callback = &ScanTree::NextTickCallback;
  }
  ScanTree(const ScanTree&) = delete;
  ScanTree& operator=(const ScanTree&) = delete;
  // As Reset().
  ~ScanTree() { Release(); }

  // ScanTree::Init()
  //
  // Prepares a scan of [key_min, key_max] at `snapshot` (kSnapshotLatest,
  // or one acquired from the tree) in `direction`, reading disk levels into
  // `buffer`. Sorts the memory tables if needed and slices them to the
  // range; no I/O. Works in every state: whatever its outcome, it first
  // ends the scan's previous use as Reset() does (a Read() in flight never
  // calls back). Errors: InvalidArgument (key_min > key_max, no buffer or a
  // buffer that does not fit the tree), FailedPrecondition (a snapshot that
  // is not live, a buffer in use by another scan). After an error the scan
  // is kAborted with status() holding it: Next() answers End, Read() calls
  // back with it. REQUIRES: `tree` is not null.
  absl::Status Init(Tree<S>* tree, ScanBuffer* buffer, Snapshot snapshot,
                    const Key& key_min, const Key& key_max,
                    Direction direction);

  // ScanTree::Read()
  //
  // Loads what the levels need (every level concurrently) and calls back
  // when all are buffered or finished. In state kAborted (Abort(), a
  // failed read or Init(), Reset()) it just calls back with status(); the
  // scan stays aborted. The callback always runs from the storage's Tick(),
  // never inside Read(). REQUIRES: state kIdle, kNeedsData or kAborted, and
  // Init() was called once (a scan never Init()ed has no storage to call
  // back from).
  void Read(ReadCallback callback, void* context);

  // ScanTree::ReadResident()
  //
  // Read() without the trip through the storage loop when none is needed:
  // if every level can go on from resident blocks alone (verified zero-copy
  // blocks, block-cache hits) and none wants to start read-ahead, the scan
  // is ready now: returns true in state kSeeking, and no callback is made.
  // Otherwise returns false, and the scan is as before (same state, nothing
  // submitted): call Read(). Never calls back, never does I/O; it may take
  // resident blocks a later Read() goes on from. In state kAborted it
  // returns false (Read() reports the status). REQUIRES: state kIdle,
  // kNeedsData or kAborted.
  //
  //   if (!scan.ReadResident()) scan.Read(&OnRead, &state);
  bool ReadResident();

  // ScanTree::Next()
  //
  // The next value in scan direction, ReadAgain, or End (see the file
  // comment). The value stays valid until the next call on the scan (see
  // ScanNext). REQUIRES: state kSeeking, kNeedsData or kAborted (the latter
  // two answer ReadAgain and End; status() tells an aborted scan's end from
  // an error).
  ScanNext<Value> Next() {
    // The common case inline: the next value of a run (never in a state
    // but kSeeking).
    const Value* value = merge_.PopRun();
    if (value != nullptr) return {ScanNextKind::kValue, value};
    return NextSlow();
  }

  // ScanTree::TakeRun()
  //
  // Up to `count_max` of the values Next() would return next, when they
  // lie in one run the merge has at hand (no merge step, no I/O): possibly
  // none, then call Next(). Tombstones are included, for the caller to
  // skip; the span is in ascending key order (a descending scan's next
  // value is its last). Valid, like Next()'s values, until the next call
  // on the scan. In a state other than kSeeking: empty.
  std::span<const Value> TakeRun(size_t count_max) {
    return merge_.TakeRun(count_max);
  }

  // ScanTree::Probe()
  //
  // Moves the start of the range to `key` (key_min when ascending, key_max
  // when descending), so the next value is at or past `key`. Probes only
  // move forward: a key before the range's current start, or one the scan
  // has already passed (at or behind the last value *returned*), changes
  // nothing and returns OK (TigerBeetle's rule, so zig-zag callers need not
  // clamp). A key past the end of the range ends the scan (state kAborted,
  // status OK). In kAborted it changes nothing. Always returns OK.
  // REQUIRES: not kBuffering.
  absl::Status Probe(const Key& key);

  // ScanTree::Abort()
  //
  // Ends the scan in any state; reads in flight are absorbed when they
  // complete (a pending callback is not called). Next() then returns End;
  // status() is unchanged. It gives back the memory tables at once, and the
  // snapshot too when no read is in flight (else at the next Init(),
  // Reset() or destruction, as the blocks being read need it). The buffer
  // is held until Reset(), Init() or destruction.
  void Abort();

  // ScanTree::Rescan()
  //
  // Starts a new scan of [key_min, key_max] in `direction` at the same
  // snapshot and over the same memory tables as the current one: it keeps
  // the read view, so it sees exactly what the scan saw (even at
  // kSnapshotLatest, whatever was written since Init()). State kIdle, no
  // I/O; what the levels had loaded is dropped (reads in flight are
  // absorbed). ScanIterator switches direction with it. Errors, with the
  // scan left as it was: InvalidArgument (key_min > key_max),
  // FailedPrecondition when the scan is not live: state kAborted (never
  // Init()ed, Init() failed, Abort(), a failed read, Reset()), or Next()
  // returned End (which gives the read view back). In stats(), values, runs
  // and the levels' block counts restart at zero; reads and read_agains
  // keep counting. REQUIRES: not kBuffering.
  absl::Status Rescan(const Key& key_min, const Key& key_max,
                      Direction direction);

  // ScanTree::Reset()
  //
  // Ends the scan in any state, as Abort() does, then waits (ticking the
  // storage) for its reads in flight and gives back everything it holds:
  // the snapshot, the memory tables, the buffer. The scan is then kAborted
  // with status() OK until the next Init(). REQUIRES: not inside a callback
  // of the storage while reads are in flight (it cannot wait there; Abort()
  // there and Reset() afterwards); this is checked.
  void Reset() {
    Release();
    status_ = absl::OkStatus();
  }

  ScanState state() const { return state_; }
  const absl::Status& status() const { return status_; }
  Direction direction() const { return direction_; }
  Snapshot snapshot() const { return view_.snapshot; }
  const Key& key_min() const { return key_min_; }
  const Key& key_max() const { return key_max_; }
  // Reads submitted by this scan and not completed yet.
  uint32_t in_flight_count() const;
  ScanStats stats() const;

 private:
  // Ends the scan (Abort()), waits for its reads in flight, and gives back
  // the read view and the buffer.
  void Release();
  // Sets the scan up on `tree` (Init() after its checks).
  absl::Status Start(Tree<S>* tree, ScanBuffer* buffer, Snapshot snapshot,
                     const Key& key_min, const Key& key_max,
                     Direction direction);
  // Sets up the merge of [key_min, key_max] in `direction` over the view's
  // memory tables and the levels (Init() and Rescan()); state kIdle.
  void SetUpScan(const Key& key_min, const Key& key_max, Direction direction);
  // At the end of the scan: unpins every block and memory table and gives
  // the snapshot back, so a finished scan holds nothing until Init() or its
  // destruction (unless reads are still in flight; they keep the view).
  void ReleaseAtEnd();
  // One stream per run of a memory table, newest run first.
  void AddMemoryStreams(const ReadViewTable<S>& table);
  // Adds to the merge, in level order, every level whose tables may meet
  // [key_min_, key_max_] and every level this scan has read before (a
  // Rescan() keeps them: their reads may still be in flight).
  void AddLevels();
  // Starts every level's walk, once per scan.
  void StartLevels();
  // Ends the scan as Abort() does but keeps the read view (Rescan()).
  void Stop();
  // Aborts every level (their reads in flight become stale) and empties
  // the merge, unless that was done since the scan was set up.
  void DropLoaded();
  ScanNext<Value> NextSlow();
  // What Next() answers when the merge stops.
  ScanNext<Value> Stopped(MergeStop stop);
  void LevelReady(uint32_t level) override;
  // During kBuffering, with fence heads: rebuilds the merge and answers
  // whether its next value (or its end) is known without the levels still
  // loading, so Read() may complete before they do.
  bool MergeCanGoOn();
  void FinishRead();
  static void NextTickCallback(Storage::NextTick* next_tick);

  // The storage of the tree last passed to Init() (kept after Reset() and
  // failed Init()s, so Read() can call back from its Tick()).
  Storage* storage_ = nullptr;
  Tree<S>* tree_ = nullptr;       // Set while the scan holds a view.
  ScanBuffer* buffer_ = nullptr;  // Set while the scan holds the buffer.
  ReadView<S> view_;
  Key key_min_{};
  Key key_max_{};
  Direction direction_ = Direction::kAscending;
  ScanState state_ = ScanState::kAborted;
  absl::Status status_ = NeverInitializedStatus();
  bool levels_started_ = false;
  bool ended_ = false;  // Next() returned End.
  // The levels and the merge hold nothing (Stop() or ReleaseAtEnd() dropped
  // it, and no level has started since): Stop() has nothing to drop.
  bool dropped_ = true;

  std::array<ScanTreeLevel<S>, kLevelCountMax> levels_;
  // The levels this scan reads: those whose tables may meet its range
  // (Manifest::MayIntersect()), in level order. No other level does any
  // work for the scan.
  std::array<ScanTreeLevel<S>*, kLevelCountMax> scan_levels_{};
  uint32_t level_count_ = 0;
  // Bit `level` set: levels_[level] was Init()ed for this scan (Start()
  // clears the bits; AddLevels() sets them).
  uint32_t levels_initialized_ = 0;
  ScanMerge<S> merge_;

  // Read() in flight.
  ReadCallback callback_ = nullptr;
  void* callback_context_ = nullptr;
  uint32_t pending_level_count_ = 0;
  Storage::NextTick next_tick_;
  bool next_tick_pending_ = false;
  ScanStats stats_;
};

// -----------------------------------------------------------------------------
// Implementation.

inline const char* ScanStateName(ScanState state) {
  switch (state) {
    case ScanState::kIdle:
      return "idle";
    case ScanState::kBuffering:
      return "buffering";
    case ScanState::kSeeking:
      return "seeking";
    case ScanState::kNeedsData:
      return "needs_data";
    case ScanState::kAborted:
      return "aborted";
  }
  return "unknown";
}

template <Schema S>
absl::Status ScanTree<S>::Init(Tree<S>* tree, ScanBuffer* buffer,
                               Snapshot snapshot, const Key& key_min,
                               const Key& key_max, Direction direction) {
  LSMSCAN_ASSERT_MSG(tree != nullptr, "Init() without a tree");
  // Whatever the outcome, the previous use of the scan ends here: a
  // rejected Init() must not leave it running on its old range.
  Release();
  storage_ = tree->storage();
  stats_ = ScanStats();
  absl::Status status =
      Start(tree, buffer, snapshot, key_min, key_max, direction);
  // On an error the scan stays kAborted (Release()), reporting it.
  status_ = status;
  return status;
}

template <Schema S>
absl::Status ScanTree<S>::Start(Tree<S>* tree, ScanBuffer* buffer,
                                Snapshot snapshot, const Key& key_min,
                                const Key& key_max, Direction direction) {
  if (key_max < key_min) {
    return absl::InvalidArgumentError("scan range: key_min > key_max");
  }
  if (buffer == nullptr || buffer->level_count() < tree->level_count() ||
      buffer->block_size_bytes() != tree->grid().block_size_bytes() ||
      (!tree->storage()->zero_copy() && !buffer->has_frames())) {
    return absl::InvalidArgumentError(
        "the scan buffer is missing or does not fit this tree (levels, block "
        "size, or frames for a copying storage): make it with "
        "ScanBuffer::ForTree()");
  }
  if (buffer->in_use()) {
    return absl::FailedPreconditionError(
        "the scan buffer is in use by another scan");
  }
  absl::StatusOr<ReadView<S>> view = tree->AcquireReadView(snapshot);
  if (!view.ok()) return view.status();
  tree_ = tree;
  buffer_ = buffer;
  buffer_->set_in_use(true);
  view_ = *view;
  levels_initialized_ = 0;
  level_count_ = 0;
  SetUpScan(key_min, key_max, direction);
  return absl::OkStatus();
}

template <Schema S>
void ScanTree<S>::SetUpScan(const Key& key_min, const Key& key_max,
                            Direction direction) {
  key_min_ = key_min;
  key_max_ = key_max;
  direction_ = direction;
  levels_started_ = false;
  ended_ = false;
  dropped_ = false;
  merge_.Reset(direction_);
  for (uint32_t i = 0; i < view_.table_count; i++) {
    AddMemoryStreams(view_.tables[i]);
  }
  AddLevels();
  state_ = ScanState::kIdle;
}

template <Schema S>
void ScanTree<S>::AddLevels() {
  const auto& manifest = tree_->manifest();
  level_count_ = 0;
  merge_.UseFenceHeads(buffer_->fence_heads());
  // Empty levels cost nothing: only the occupied ones are looked at, in
  // level order (newest first, as the merge's precedence needs).
  for (uint32_t occupied = manifest.occupied_levels(); occupied != 0;
       occupied &= occupied - 1) {
    const auto level = static_cast<uint32_t>(std::countr_zero(occupied));
    const uint32_t bit = uint32_t{1} << level;
    if ((levels_initialized_ & bit) == 0) {
      if (!manifest.MayIntersect(level, key_min_, key_max_)) continue;
      levels_[level].Init(&tree_->grid(), &manifest, level, buffer_, this);
      levels_initialized_ |= bit;
    }
    // At every set-up, Rescan()'s too: Stop() let the fences go with the
    // rest of what the level held.
    if (buffer_->use_fences()) {
      levels_[level].UseFences(manifest.Fences(level, view_.snapshot));
    }
    scan_levels_[level_count_++] = &levels_[level];
    merge_.AddLevel(&levels_[level]);
  }
}

template <Schema S>
absl::Status ScanTree<S>::Rescan(const Key& key_min, const Key& key_max,
                                 Direction direction) {
  LSMSCAN_ASSERT_MSG(state_ != ScanState::kBuffering,
                     "Rescan() while a Read() is in flight");
  if (state_ == ScanState::kAborted || ended_ || !view_.active) {
    return absl::FailedPreconditionError(absl::StrCat(
        "Rescan() of a scan that is not live (", ScanStateName(state_),
        ended_ ? ", ended" : "",
        "): Init() it; Rescan() keeps the read view of a scan that runs"));
  }
  if (key_max < key_min) {
    return absl::InvalidArgumentError("scan range: key_min > key_max");
  }
  Stop();  // Drops what the levels loaded (their reads become stale);
           // keeps the read view.
  status_ = absl::OkStatus();
  SetUpScan(key_min, key_max, direction);
  return absl::OkStatus();
}

template <Schema S>
void ScanTree<S>::AddMemoryStreams(const ReadViewTable<S>& table) {
  for (uint32_t run = table.run_count; run > 0; run--) {
    const std::span<const Value> values =
        SliceToRange<S>(table.run(run - 1), key_min_, key_max_, direction_);
    // A run with nothing in range is no stream at all.
    if (!values.empty()) merge_.AddMemory(values);
  }
}

template <Schema S>
uint32_t ScanTree<S>::in_flight_count() const {
  uint32_t count = 0;
  for (uint32_t level = 0; level < level_count_; level++) {
    count += scan_levels_[level]->in_flight_count();
  }
  return count;
}

template <Schema S>
ScanStats ScanTree<S>::stats() const {
  ScanStats stats = stats_;
  stats.values = merge_.values();
  stats.runs = merge_.runs();
  stats.fenced = merge_.fenced();
  for (uint32_t level = 0; level < level_count_; level++) {
    const ScanLevelStats& level_stats = scan_levels_[level]->stats();
    stats.levels.index_blocks += level_stats.index_blocks;
    stats.levels.data_blocks += level_stats.data_blocks;
    stats.levels.resident_blocks += level_stats.resident_blocks;
  }
  return stats;
}

}  // namespace lsmscan

// The rest of ScanTree<S>'s members: the merge and Probe(), the reads
// (Read(), ReadResident(), the levels' completions) and the teardown
// (Abort(), Release()).
#include "lsmscan/scan/scan_tree_merge.h"    // IWYU pragma: export
#include "lsmscan/scan/scan_tree_read.h"     // IWYU pragma: export
#include "lsmscan/scan/scan_tree_release.h"  // IWYU pragma: export

#endif  // LSMSCAN_SCAN_SCAN_TREE_H_
