// File: scan/scan_combinator.h
// -----------------------------------------------------------------------------
//
// ScanCombinator<Key>: what ScanUnion, ScanIntersection and ScanDifference
// share (TigerBeetle's ScanMerge): the sources, their cached heads, the
// Read() that reads every source needing data at once, Probe(), Abort() and
// the state machine. Each operator adds only NextFromHeads(): how to pick
// the next key from the heads.
//
// Heads. For each source the combinator caches its head, the next key it
// returned and the combinator has not used yet, as a copy:
//
//   kUnknown  not asked yet (after a key was used, a probe, or a read)
//   kPending  Next() answered ReadAgain: the source waits for Read()
//   kKey      `key` is the source's next key
//   kEnd      the source has ended
//
// State machine (the states of ScanTree, doc/scan.md "Scan algebra"):
//
//   Init()                                  -> kIdle      (no I/O)
//   Read(cb) from kIdle/kNeedsData          -> kBuffering: every source in
//        kIdle or kNeedsData reads, all at once; cb(OK) from a later Tick()
//        when the last one called back     -> kSeeking
//   Next() in kSeeking: a key, or ReadAgain -> kNeedsData, or End (stays
//        kSeeking; the sources are then aborted, freeing what they hold)
//   Probe(key)  not in kBuffering: heads behind `key` are dropped and their
//        sources probed to `key`
//   Abort() in any state, or a source's read error -> kAborted
//
// Batches. A combinator reads its sources through NextBatch() (a source's
// keys a stretch at a time, one virtual call for up to
// kScanBatchKeyCountMax keys) and keeps what it has not used yet beside the
// head; a probe first skips keys of the batch and probes the source only
// when the batch holds none at or past its target.
//
// An operator may find keys ahead from the batches alone (an intersection
// whose sources' batches agree); Next() returns those inline, and Probe()
// skips them first.
//
// Memory: the combinator object itself (fixed arrays of kScanSourceCountMax
// heads and batches, up to 256 bytes of keys each, and as many keys found
// ahead); nothing is allocated after Init().

#ifndef LSMSCAN_SCAN_SCAN_COMBINATOR_H_
#define LSMSCAN_SCAN_SCAN_COMBINATOR_H_

#include <algorithm>
#include <array>
#include <bit>
#include <cstdint>
#include <span>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "lsmscan/lsm/direction.h"
#include "lsmscan/scan/scan_source.h"
#include "lsmscan/scan/scan_tree.h"
#include "lsmscan/storage/base/assert.h"
#include "lsmscan/storage/storage.h"

namespace lsmscan {

// kScanCatchUpStepCount
//
// The most keys a lagging source is stepped through with Next() before it
// is probed. A probe re-seeks every level of a tree (the CPU of tens of
// steps on resident data), so a target a few keys ahead is cheaper to
// reach by stepping; 16 keys mostly stay within the block being read, so
// the steps rarely cost I/O that a probe would have saved. Each source's
// budget adapts within [1, kScanCatchUpStepCount]: halved when stepping
// fell short and a probe was needed, doubled when stepping reached the
// target, so a source whose gaps are long is probed at once. Measured with
// //bench:algebra_benchmark (bench/RESULTS.md, "Scan algebra").
inline constexpr uint32_t kScanCatchUpStepCount = 16;

static_assert(kScanSourceCountMax <= 64, "heads are tracked in a uint64_t");

// kScanBatchKeyCountMax<Key>
//
// The most keys a combinator takes from one source per NextBatch(): up to
// 256 bytes of keys, at most 32. Each source's batch adapts within [1, this
// count]: doubled when a whole batch was used, halved when a probe skipped
// keys of it, so a source read key by key (an overlap) is read in batches
// and one probed at every key is not read ahead for nothing.
template <typename Key>
inline constexpr uint32_t kScanBatchKeyCountMax =
    std::clamp<uint32_t>(static_cast<uint32_t>(256 / sizeof(Key)), 1, 32);

// ScanCombinator<Key>
template <typename Key>
class ScanCombinator : public ScanSource<Key> {
 public:
  using ReadCallback = typename ScanSource<Key>::ReadCallback;

  // Waits (ticking the storage) for a pending next-tick callback, then
  // gives the sources back. REQUIRES: the sources are still alive.
  ~ScanCombinator() override { Release(); }

  void Read(ReadCallback callback, void* context) final;
  SourceNext<Key> Next() final;
  absl::Status Probe(const Key& key) final;
  void Abort() final;

  ScanState state() const final { return state_; }
  const absl::Status& status() const final { return status_; }
  Direction direction() const final { return direction_; }
  Storage* storage() const final {
    LSMSCAN_ASSERT_MSG(storage_ != nullptr, "storage() before Init()");
    return storage_;
  }
  ScanStats stats() const final;

  uint32_t source_count() const { return source_count_; }
  // Probes this combinator sent to its sources (zig-zag steps and forwarded
  // probes), not counting those of combinators below it.
  uint64_t probe_count() const { return probe_count_; }

 protected:
  enum class Head : uint8_t { kUnknown, kPending, kKey, kEnd };

  struct Child {
    ScanSource<Key>* source = nullptr;
    ScanCombinator* owner = nullptr;
    Head head = Head::kUnknown;
    Key key{};     // The head, when kKey.
    Key probed{};  // The last key this source was probed to.
    bool has_probed = false;
    // Steps CatchUp() tries before probing (see kScanCatchUpStepCount).
    uint32_t step_budget = kScanCatchUpStepCount;
    // Keys taken from the source by NextBatch() and not used yet, in order:
    // batch[batch_begin, batch_end), all after the head. `batch_stop` is
    // what ended the last NextBatch() (kEnd: the source has ended).
    uint32_t batch_begin = 0;
    uint32_t batch_end = 0;
    uint32_t batch_size = 1;  // Keys the next NextBatch() asks for.
    bool batch_cut = false;   // A probe skipped keys of the last batch.
    ScanNextKind batch_stop = ScanNextKind::kValue;
    std::array<Key, kScanBatchKeyCountMax<Key>> batch{};
  };

  ScanCombinator() = default;

  // ScanCombinator::InitSources()
  //
  // Validates `sources` and claims them: at least `count_min` and at most
  // kScanSourceCountMax, distinct, each Init()ed and not yet read (kIdle),
  // unclaimed, all in one direction. InvalidArgument or FailedPrecondition
  // otherwise (this combinator is then unusable until a successful Init()).
  absl::Status InitSources(std::span<ScanSource<Key>* const> sources,
                           uint32_t count_min);

  // ScanCombinator::NextFromHeads()
  //
  // The operator: the next key, ReadAgain (some source it needs is
  // pending), or End. Called in kSeeking only, never after End.
  virtual SourceNext<Key> NextFromHeads() = 0;

  // The next answer of source `i`: a key of its batch, or else a new
  // batch's first key, ReadAgain or End.
  SourceNext<Key> Take(uint32_t i) {
    Child& child = children_[i];
    if (child.batch_begin < child.batch_end) [[likely]] {
      return {ScanNextKind::kValue, child.batch[child.batch_begin++]};
    }
    return Refill(i);
  }

  // Asks source `i` for its head if it is unknown; returns the head.
  Head Fill(uint32_t i) {
    Child& child = children_[i];
    if (child.head != Head::kUnknown) return child.head;
    return Known(i, Take(i));
  }

  // Records `next`, the answer of source `i` to Next(), as its head (which
  // was unknown); returns the head.
  Head Known(uint32_t i, const SourceNext<Key>& next) {
    Child& child = children_[i];
    unknown_mask_ &= ~(uint64_t{1} << i);
    switch (next.kind) {
      case ScanNextKind::kValue:
        child.head = Head::kKey;
        child.key = next.key;
        break;
      case ScanNextKind::kReadAgain:
        child.head = Head::kPending;
        break;
      case ScanNextKind::kEnd:
        child.head = Head::kEnd;
        break;
    }
    return child.head;
  }

  // Forgets the head of source `i`: the next Fill() asks the source.
  void SetUnknown(uint32_t i) {
    children_[i].head = Head::kUnknown;
    unknown_mask_ |= uint64_t{1} << i;
  }

  // ScanCombinator::CatchUp()
  //
  // Moves source `i`, whose head is a key before `target`, to `target`:
  // steps it with Next() a few times, then probes it. Returns its new head:
  // a key at or past `target`, kPending (the source was probed to
  // `target`, so its read starts there) or kEnd.
  Head CatchUp(uint32_t i, const Key& target);

  // Moves source `i` to `target`: drops the keys of its batch before
  // `target`, and probes the source there unless a key of the batch is
  // left, the source has ended, or it was probed there already. Leaves its
  // head alone.
  void ProbeSource(uint32_t i, const Key& target);

  bool Before(const Key& a, const Key& b) const {
    return lsmscan::Before(direction_, a, b);
  }

  std::array<Child, kScanSourceCountMax> children_;
  uint32_t source_count_ = 0;
  // Keys an operator found ahead (all after the key it returned), which
  // Next() returns inline before it asks NextFromHeads() again:
  // results_[results_begin_, results_end_). Only in state kSeeking.
  std::array<Key, kScanBatchKeyCountMax<Key>> results_{};
  uint32_t results_begin_ = 0;
  uint32_t results_end_ = 0;
  // Bit i set iff children_[i].head is kUnknown.
  uint64_t unknown_mask_ = 0;

 private:
  void Release();
  void AbortSources();
  // Next() with no key found ahead left: asks the operator.
  [[gnu::noinline]] SourceNext<Key> NextFromOperator();
  // Next() outside kSeeking, or after End.
  SourceNext<Key> NextNotSeeking();
  // Next() when NextFromHeads() gave no key (or an error was found).
  SourceNext<Key> NextStopped(SourceNext<Key> next);
  void FinishRead();
  void FailRead(absl::Status status);
  static void SourceReadCallback(void* context, ScanSource<Key>* source,
                                 absl::Status status);
  static void NextTickCallback(Storage::NextTick* next_tick);
  // Take() with the batch of source `i` used up: a new batch.
  SourceNext<Key> Refill(uint32_t i);

  Storage* storage_ = nullptr;
  Direction direction_ = Direction::kAscending;
  ScanState state_ = ScanState::kAborted;
  absl::Status status_;
  // A source's Probe() failed inside Next(): delivered by the next Read().
  absl::Status error_;
  bool ended_ = false;
  Key key_last_{};
  bool has_key_last_ = false;

  // Read() in flight.
  ReadCallback callback_ = nullptr;
  void* callback_context_ = nullptr;
  uint32_t reading_count_ = 0;
  Storage::NextTick next_tick_;
  bool next_tick_pending_ = false;

  ScanStats stats_;
  uint64_t probe_count_ = 0;
};

// -----------------------------------------------------------------------------
// Implementation.

template <typename Key>
absl::Status ScanCombinator<Key>::InitSources(
    std::span<ScanSource<Key>* const> sources, uint32_t count_min) {
  LSMSCAN_ASSERT_MSG(state_ != ScanState::kBuffering,
                     "Init() while a Read() is in flight");
  if (this->claimed()) {
    return absl::FailedPreconditionError(
        "Init() of a source that a combinator or lookup reads");
  }
  Release();
  if (sources.size() < count_min || sources.size() > kScanSourceCountMax) {
    return absl::InvalidArgumentError(
        absl::StrCat("a combinator reads ", count_min, " to ",
                     kScanSourceCountMax, " sources, not ", sources.size()));
  }
  for (size_t i = 0; i < sources.size(); i++) {
    ScanSource<Key>* source = sources[i];
    if (source == nullptr || source == this) {
      return absl::InvalidArgumentError(
          "a null source, or the combinator "
          "itself as its source");
    }
    for (size_t j = 0; j < i; j++) {
      if (sources[j] == source) {
        return absl::InvalidArgumentError("a source given twice");
      }
    }
    if (source->claimed()) {
      return absl::FailedPreconditionError(
          "a source already read by a combinator or lookup (a source feeds "
          "one reader)");
    }
    if (source->state() != ScanState::kIdle) {
      return absl::FailedPreconditionError(
          "every source must be Init()ed and not yet read (state idle)");
    }
    if (source->direction() != sources[0]->direction()) {
      return absl::InvalidArgumentError(
          "the sources of a combinator must scan in one direction");
    }
  }
  source_count_ = static_cast<uint32_t>(sources.size());
  unknown_mask_ = 0;
  results_begin_ = 0;
  results_end_ = 0;
  for (uint32_t i = 0; i < source_count_; i++) {
    ScanSourceClaim<Key>::Claim(sources[i]);
    children_[i] = Child{sources[i], this};
    unknown_mask_ |= uint64_t{1} << i;
  }
  storage_ = sources[0]->storage();
  direction_ = sources[0]->direction();
  state_ = ScanState::kIdle;
  status_ = absl::OkStatus();
  error_ = absl::OkStatus();
  ended_ = false;
  has_key_last_ = false;
  reading_count_ = 0;
  stats_ = ScanStats();
  probe_count_ = 0;
  next_tick_.context = this;
  next_tick_.callback = &ScanCombinator::NextTickCallback;
  return absl::OkStatus();
}

template <typename Key>
void ScanCombinator<Key>::Release() {
  if (source_count_ == 0) return;
  Abort();
  // The next tick holds a pointer to this object: let it run first.
  while (next_tick_pending_) {
    storage_->Tick(Storage::TickMode::kWaitForProgress);
  }
  for (uint32_t i = 0; i < source_count_; i++) {
    ScanSourceClaim<Key>::Release(children_[i].source);
    children_[i] = Child();
  }
  source_count_ = 0;
  unknown_mask_ = 0;
}

template <typename Key>
void ScanCombinator<Key>::AbortSources() {
  for (uint32_t i = 0; i < source_count_; i++) children_[i].source->Abort();
}

template <typename Key>
void ScanCombinator<Key>::Abort() {
  results_begin_ = 0;
  results_end_ = 0;
  AbortSources();
  reading_count_ = 0;
  callback_ = nullptr;  // A Read() in flight never calls back.
  state_ = ScanState::kAborted;
}

template <typename Key>
void ScanCombinator<Key>::Read(ReadCallback callback, void* context) {
  LSMSCAN_ASSERT(callback != nullptr);
  LSMSCAN_ASSERT_MSG(
      state_ == ScanState::kIdle || state_ == ScanState::kNeedsData ||
          state_ == ScanState::kAborted,
      "Read() is allowed only in the idle, needs_data and aborted states");
  stats_.reads++;
  if (!error_.ok() && state_ == ScanState::kNeedsData) {
    Abort();
    status_ = error_;
  }
  LSMSCAN_ASSERT_MSG(callback_ == nullptr, "Read() while a Read() is pending");
  callback_ = callback;
  callback_context_ = context;
  if (state_ != ScanState::kAborted) {
    state_ = ScanState::kBuffering;
    // Every source that needs data reads now, so all their reads are in
    // flight together. Heads that waited are asked again afterwards.
    reading_count_ = 0;
    for (uint32_t i = 0; i < source_count_; i++) {
      Child& child = children_[i];
      if (child.head == Head::kPending) SetUnknown(i);
      const ScanState source_state = child.source->state();
      if (source_state != ScanState::kIdle &&
          source_state != ScanState::kNeedsData) {
        continue;
      }
      reading_count_++;
      child.source->Read(&ScanCombinator::SourceReadCallback, &child);
    }
    if (reading_count_ > 0) return;
  }
  // Nothing to read (or aborted): call back from the next tick, never from
  // inside Read(). A next tick still queued from before does it.
  if (!next_tick_pending_) {
    next_tick_pending_ = true;
    storage_->SubmitNextTick(&next_tick_);
  }
}

template <typename Key>
void ScanCombinator<Key>::SourceReadCallback(void* context,
                                             ScanSource<Key>* source,
                                             absl::Status status) {
  auto* child = static_cast<Child*>(context);
  ScanCombinator* self = child->owner;
  LSMSCAN_ASSERT(child->source == source);
  LSMSCAN_ASSERT(self->state_ == ScanState::kBuffering);
  LSMSCAN_ASSERT(self->reading_count_ > 0);
  self->reading_count_--;
  if (!status.ok()) {
    self->FailRead(std::move(status));
    return;
  }
  if (self->reading_count_ == 0) self->FinishRead();
}

template <typename Key>
void ScanCombinator<Key>::NextTickCallback(Storage::NextTick* next_tick) {
  auto* self = static_cast<ScanCombinator*>(next_tick->context);
  self->next_tick_pending_ = false;
  if (self->state_ == ScanState::kBuffering) {
    if (self->reading_count_ == 0) self->FinishRead();
    return;
  }
  if (self->state_ == ScanState::kAborted && self->callback_ != nullptr) {
    ReadCallback callback = std::exchange(self->callback_, nullptr);
    callback(self->callback_context_, self, self->status_);
  }
}

template <typename Key>
void ScanCombinator<Key>::FinishRead() {
  LSMSCAN_ASSERT(state_ == ScanState::kBuffering);
  LSMSCAN_ASSERT(reading_count_ == 0);
  state_ = ScanState::kSeeking;
  ReadCallback callback = std::exchange(callback_, nullptr);
  callback(callback_context_, this, absl::OkStatus());
}

template <typename Key>
void ScanCombinator<Key>::FailRead(absl::Status status) {
  LSMSCAN_ASSERT(!status.ok());
  ReadCallback callback = std::exchange(callback_, nullptr);
  // The other sources' reads in flight never call back once aborted.
  Abort();
  status_ = std::move(status);
  callback(callback_context_, this, status_);
}

template <typename Key>
SourceNext<Key> ScanCombinator<Key>::Next() {
  // Only the keys found ahead inline: the rest (NextFromHeads()) is out of
  // line, so this path saves no registers.
  if (results_begin_ < results_end_) [[likely]] {
    const Key key = results_[results_begin_++];
    LSMSCAN_ASSERT(Before(key_last_, key));  // has_key_last_ holds here.
    key_last_ = key;
    stats_.values++;
    return {ScanNextKind::kValue, key};
  }
  return NextFromOperator();
}

template <typename Key>
SourceNext<Key> ScanCombinator<Key>::NextFromOperator() {
  results_begin_ = 0;
  results_end_ = 0;
  if (state_ != ScanState::kSeeking || ended_) [[unlikely]] {
    return NextNotSeeking();
  }
  const SourceNext<Key> next = NextFromHeads();
  // The common case inline: a key, no error found meanwhile.
  if (next.kind == ScanNextKind::kValue && error_.ok()) [[likely]] {
    LSMSCAN_ASSERT(!has_key_last_ || Before(key_last_, next.key));
    key_last_ = next.key;
    has_key_last_ = true;
    stats_.values++;
    return next;
  }
  return NextStopped(next);
}

template <typename Key>
SourceNext<Key> ScanCombinator<Key>::NextNotSeeking() {
  switch (state_) {
    case ScanState::kSeeking:
      break;
    case ScanState::kNeedsData:
      return {ScanNextKind::kReadAgain, Key{}};
    case ScanState::kAborted:
      return {ScanNextKind::kEnd, Key{}};
    case ScanState::kIdle:
    case ScanState::kBuffering:
      LSMSCAN_ASSERT_MSG(false, "Next() before Read() completed");
  }
  LSMSCAN_ASSERT(ended_);
  return {ScanNextKind::kEnd, Key{}};
}

template <typename Key>
SourceNext<Key> ScanCombinator<Key>::NextStopped(SourceNext<Key> next) {
  // A source's Probe() failed inside NextFromHeads(): Read() delivers it.
  if (!error_.ok()) next = {ScanNextKind::kReadAgain, Key{}};
  results_end_ = 0;  // Keys found ahead are not returned after a stop.
  switch (next.kind) {
    case ScanNextKind::kValue:
      LSMSCAN_UNREACHABLE();  // Next() returns keys itself.
    case ScanNextKind::kReadAgain:
      state_ = ScanState::kNeedsData;
      stats_.read_agains++;
      break;
    case ScanNextKind::kEnd:
      // Free what the sources still hold (pinned blocks, read-ahead).
      ended_ = true;
      AbortSources();
      break;
  }
  return next;
}

template <typename Key>
absl::Status ScanCombinator<Key>::Probe(const Key& key) {
  LSMSCAN_ASSERT_MSG(state_ != ScanState::kBuffering,
                     "Probe() while a Read() is in flight");
  if (state_ == ScanState::kAborted || ended_) return absl::OkStatus();
  // Already passed: nothing to skip.
  if (has_key_last_ && !Before(key_last_, key)) return absl::OkStatus();
  // Keys found ahead: those before `key` are skipped; if one is left, it is
  // the next key, and the sources are already past it.
  while (results_begin_ < results_end_ &&
         Before(results_[results_begin_], key)) {
    results_begin_++;
  }
  if (results_begin_ < results_end_) return absl::OkStatus();
  for (uint32_t i = 0; i < source_count_; i++) {
    const Child& child = children_[i];
    if (child.head == Head::kEnd) continue;
    // A head at or past `key` is still the source's next key.
    if (child.head == Head::kKey && !Before(child.key, key)) continue;
    ProbeSource(i, key);
    SetUnknown(i);
  }
  if (!error_.ok()) {
    Abort();
    status_ = error_;
    return status_;
  }
  if (state_ == ScanState::kNeedsData) {
    // A probe may have made the data the sources waited for resident.
    bool waiting = false;
    for (uint32_t i = 0; i < source_count_; i++) {
      const ScanState source_state = children_[i].source->state();
      waiting = waiting || source_state == ScanState::kNeedsData ||
                source_state == ScanState::kIdle;
    }
    if (!waiting) state_ = ScanState::kSeeking;
  }
  return absl::OkStatus();
}

template <typename Key>
ScanStats ScanCombinator<Key>::stats() const {
  ScanStats stats = stats_;
  for (uint32_t i = 0; i < source_count_; i++) {
    const ScanStats source = children_[i].source->stats();
    stats.levels.index_blocks += source.levels.index_blocks;
    stats.levels.data_blocks += source.levels.data_blocks;
    stats.levels.resident_blocks += source.levels.resident_blocks;
  }
  return stats;
}

}  // namespace lsmscan

// The members that move a source's head: its batch (Refill()), probes
// (ProbeSource()) and the zig-zag's catching up (CatchUp()).
#include "lsmscan/scan/scan_combinator_heads.h"  // IWYU pragma: export

#endif  // LSMSCAN_SCAN_SCAN_COMBINATOR_H_
