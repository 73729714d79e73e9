// File: scan/scan_lookup.h
// -----------------------------------------------------------------------------
//
// ScanLookup<S>: turns each id of a scan (any ScanSource, e.g. an
// intersection of index scans) into the object with that key in another
// tree, by point reads (Tree::Get), many in flight at once, and yields the
// objects in the scan's order (TigerBeetle's ScanLookup). It has the scan
// contract:
//
//   Init()                                  -> kIdle      (no I/O)
//   Read(cb) from kIdle/kNeedsData          -> kBuffering: reads the ids
//        source when it needs data, takes ids while a slot is free and
//        starts a Get for each; cb(OK) from a later Tick() once the oldest
//        lookup has completed (and the ids source is not reading)
//                                           -> kSeeking
//   Next() in kSeeking: the next object in id order, or ReadAgain
//        (-> kNeedsData) when the oldest lookup is still in flight, or End
//   Probe(key): drops buffered results before `key`, probes the ids source
//   Abort() in any state                    -> kAborted
//
// Lookups overlap with consumption: lookups started by one Read() complete
// in the background while Next() returns earlier results, and Next()
// answers ReadAgain early once half the slots are free, so the next Read()
// starts more lookups while results remain.
//
// Results are read at the lookup's snapshot: pass a snapshot acquired from
// the objects tree (Tree::AcquireSnapshot) to see the objects as they were
// when the index snapshot was taken; with kSnapshotLatest each object is
// read as of its own Get.
//
// Errors: a failed read of the ids or of an object ends the lookup (the
// Read() callback, or the Read() after a ReadAgain, carries it; state
// kAborted). An id without an object at the snapshot is NotFound, unless
// `skip_missing` is set.
//
// Memory, fixed at Init(): `lookups_in_flight_max` slots, each a GetRequest
// and, on a copying storage, one block frame:
//
//   bytes ~= lookups_in_flight_max * (sizeof(GetRequest<S>) + 8
//                                     + block_size_bytes if copying)
//
// Init() allocates them when a larger count than before is asked for;
// Read(), Next(), Probe() and Abort() allocate nothing.
//
// Example:
//
//   ScanLookup<OrderSchema> orders;
//   CHECK_OK(orders.Init(&ids, orders_tree, snapshot, {.lookups_in_flight_max
//                                                       = 32}));
//   orders.Read(&OnRead, &state);  // then Next() until ReadAgain or End

#ifndef LSMSCAN_SCAN_SCAN_LOOKUP_H_
#define LSMSCAN_SCAN_SCAN_LOOKUP_H_

#include <cstdint>
#include <memory>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "lsmscan/lsm/direction.h"
#include "lsmscan/lsm/schema.h"
#include "lsmscan/lsm/tree.h"
#include "lsmscan/lsm/tree_get.h"
#include "lsmscan/scan/scan_lookup_slots.h"
#include "lsmscan/scan/scan_source.h"
#include "lsmscan/scan/scan_tree.h"
#include "lsmscan/storage/base/assert.h"
#include "lsmscan/storage/storage.h"

namespace lsmscan {

// kScanLookupInFlightMax
//
// The most point reads one lookup keeps in flight.
inline constexpr uint32_t kScanLookupInFlightMax = 1024;

// ScanLookupOptions
struct ScanLookupOptions {
  // Point reads in flight at once (= results buffered), in
  // [1, kScanLookupInFlightMax].
  uint32_t lookups_in_flight_max = 16;
  // An id whose object is absent at the snapshot: skipped (true), or the
  // end of the lookup with NotFound (false, the default: an index entry
  // without its object is an inconsistency).
  bool skip_missing = false;
};

// ScanLookupStats
struct ScanLookupStats {
  uint64_t values = 0;       // Objects returned by Next().
  uint64_t read_agains = 0;  // Times Next() returned ReadAgain...
  uint64_t read_aheads = 0;  // ...of which to start more lookups early.
  uint64_t reads = 0;        // Read() calls.
  uint64_t lookups = 0;      // Gets started.
  uint64_t missing = 0;      // Ids skipped for want of an object.
  uint64_t cancelled = 0;    // Lookups dropped by Probe() or Abort().
  ScanStats ids;             // The ids source's statistics.
};

// ScanLookup<S>
template <Schema S>
class ScanLookup {
 public:
  using Key = typename S::Key;
  using Value = typename S::Value;
  // Completion of Read(): OK (state kSeeking) or the error that ended the
  // lookup (state kAborted). Runs from a storage's Tick(), never inside
  // Read().
  using ReadCallback = void (*)(void* context, ScanLookup* lookup,
                                absl::Status status);

  ScanLookup() = default;
  ScanLookup(const ScanLookup&) = delete;
  ScanLookup& operator=(const ScanLookup&) = delete;
  // Waits (ticking the objects tree's storage) for lookups in flight.
  // REQUIRES: the ids source is still alive.
  ~ScanLookup() { Release(); }

  // ScanLookup::Init()
  //
  // Looks up the ids of `ids` (Init()ed, not yet read, unclaimed) in
  // `objects` at `snapshot`. Errors: InvalidArgument (null arguments,
  // lookups_in_flight_max out of range), FailedPrecondition (a source
  // already read or claimed, a snapshot that is not live). No I/O.
  absl::Status Init(ScanSource<Key>* ids, Tree<S>* objects, Snapshot snapshot,
                    const ScanLookupOptions& options = {});

  // ScanLookup::Read()
  //
  // Starts lookups and calls back when the next result is ready (see the
  // file comment). On an aborted lookup it just calls back with status().
  // REQUIRES: state kIdle, kNeedsData or kAborted.
  void Read(ReadCallback callback, void* context);

  // ScanLookup::Next()
  //
  // The next object, ReadAgain or End. The value stays valid until the next
  // call on the lookup. REQUIRES: state kSeeking, kNeedsData or kAborted.
  ScanNext<Value> Next();

  // ScanLookup::Probe()
  //
  // Skips ahead: the next object has a key at or past `key`. A key already
  // passed changes nothing. REQUIRES: not kBuffering.
  absl::Status Probe(const Key& key);

  // ScanLookup::Abort()
  //
  // Ends the lookup in any state (and its ids source); lookups in flight
  // complete later and are dropped. A Read() in flight never calls back.
  void Abort();

  ScanState state() const { return state_; }
  const absl::Status& status() const { return status_; }
  Direction direction() const {
    LSMSCAN_ASSERT_MSG(ids_ != nullptr, "direction() before Init()");
    return ids_->direction();
  }
  // Gets started and not completed (including dropped ones).
  uint32_t in_flight_count() const { return in_flight_count_; }
  ScanLookupStats stats() const {
    ScanLookupStats stats = stats_;
    if (ids_ != nullptr) stats.ids = ids_->stats();
    return stats;
  }

 private:
  static constexpr uint32_t kNoSlot = UINT32_MAX;

  using Slots = ScanLookupSlots<S, ScanLookup>;
  using Slot = typename Slots::Slot;
  using SlotState = typename Slots::SlotState;

  void Release();
  // Takes ids and starts lookups while a slot is free; starts a read of the
  // ids source when it needs one.
  void Pump();
  void Submit(const Key& key);
  void ReleaseReturned();
  // Drops the oldest result (a lookup in flight completes later).
  void DropHead();
  // The error the oldest result carries, if it is complete.
  absl::Status HeadError() const;
  bool ReadyToFinish() const;
  void Finish();
  void FailRead(absl::Status status);
  ScanNext<Value> NeedsData();
  static void IdsReadCallback(void* context, ScanSource<Key>* source,
                              absl::Status status);
  static void GetCallback(GetRequest<S>* request);
  static void NextTickCallback(Storage::NextTick* next_tick);

  ScanSource<Key>* ids_ = nullptr;
  Tree<S>* objects_ = nullptr;
  Snapshot snapshot_ = kSnapshotLatest;
  bool skip_missing_ = false;

  // The point reads (allocated by Init() and kept for later Init()s) and
  // the results in id order.
  Slots slots_;
  uint32_t in_flight_count_ = 0;
  uint32_t returned_ = kNoSlot;  // Holds the value Next() returned last.

  ScanState state_ = ScanState::kAborted;
  absl::Status status_;
  absl::Status error_;  // Found by Next(): delivered by the next Read().
  bool ended_ = false;
  bool ids_ended_ = false;
  bool ids_reading_ = false;
  Key key_last_{};
  bool has_key_last_ = false;

  ReadCallback callback_ = nullptr;
  void* callback_context_ = nullptr;
  Storage::NextTick next_tick_;
  bool next_tick_pending_ = false;
  ScanLookupStats stats_;
};

// -----------------------------------------------------------------------------
// Implementation.

template <Schema S>
absl::Status ScanLookup<S>::Init(ScanSource<Key>* ids, Tree<S>* objects,
                                 Snapshot snapshot,
                                 const ScanLookupOptions& options) {
  LSMSCAN_ASSERT_MSG(state_ != ScanState::kBuffering,
                     "Init() while a Read() is in flight");
  Release();
  if (ids == nullptr || objects == nullptr) {
    return absl::InvalidArgumentError("a null ids source or objects tree");
  }
  if (options.lookups_in_flight_max < 1 ||
      options.lookups_in_flight_max > kScanLookupInFlightMax) {
    return absl::InvalidArgumentError(absl::StrCat(
        "lookups_in_flight_max must be in [1, ", kScanLookupInFlightMax,
        "], not ", options.lookups_in_flight_max));
  }
  if (ids->claimed()) {
    return absl::FailedPreconditionError(
        "the ids source is already read by a combinator or lookup");
  }
  if (ids->state() != ScanState::kIdle) {
    return absl::FailedPreconditionError(
        "the ids source must be Init()ed and not yet read (state idle)");
  }
  if (!objects->SnapshotIsLive(snapshot)) {
    return absl::FailedPreconditionError(absl::StrCat(
        "snapshot ", snapshot, " is not live in the objects tree"));
  }
  const bool copying = !objects->storage()->zero_copy();
  slots_.Reset(options.lookups_in_flight_max,
               copying ? objects->grid().block_size_bytes() : 0, this,
               &ScanLookup::GetCallback);
  ScanSourceClaim<Key>::Claim(ids);
  ids_ = ids;
  objects_ = objects;
  snapshot_ = snapshot;
  skip_missing_ = options.skip_missing;
  returned_ = kNoSlot;
  state_ = ScanState::kIdle;
  status_ = error_ = absl::OkStatus();
  ended_ = ids_ended_ = ids_reading_ = has_key_last_ = false;
  stats_ = ScanLookupStats();
  next_tick_.context = this;
  next_tick_.callback = &ScanLookup::NextTickCallback;
  return absl::OkStatus();
}

template <Schema S>
void ScanLookup<S>::Release() {
  if (objects_ == nullptr) return;
  Abort();
  // Gets in flight write into the slots, and the next tick points here.
  while (in_flight_count_ > 0 || next_tick_pending_) {
    objects_->storage()->Tick(Storage::TickMode::kWaitForProgress);
  }
  ScanSourceClaim<Key>::Release(ids_);
  ids_ = nullptr;
  objects_ = nullptr;
}

template <Schema S>
void ScanLookup<S>::Read(ReadCallback callback, void* context) {
  LSMSCAN_ASSERT(callback != nullptr);
  LSMSCAN_ASSERT_MSG(
      state_ == ScanState::kIdle || state_ == ScanState::kNeedsData ||
          state_ == ScanState::kAborted,
      "Read() is allowed only in the idle, needs_data and aborted states");
  LSMSCAN_ASSERT_MSG(callback_ == nullptr, "Read() while a Read() is pending");
  stats_.reads++;
  if (!error_.ok() && state_ == ScanState::kNeedsData) {
    Abort();
    status_ = error_;
  }
  callback_ = callback;
  callback_context_ = context;
  if (state_ != ScanState::kAborted) {
    state_ = ScanState::kBuffering;
    ReleaseReturned();
    Pump();
    if (!ReadyToFinish()) return;  // A completion finishes the read.
  }
  // Never call back from inside Read().
  if (!next_tick_pending_) {
    next_tick_pending_ = true;
    objects_->storage()->SubmitNextTick(&next_tick_);
  }
}

template <Schema S>
void ScanLookup<S>::Pump() {
  LSMSCAN_ASSERT(state_ == ScanState::kBuffering);
  while (slots_.free_count() > 0 && !ids_ended_ && !ids_reading_) {
    const ScanState ids_state = ids_->state();
    if (ids_state == ScanState::kIdle || ids_state == ScanState::kNeedsData) {
      ids_reading_ = true;
      ids_->Read(&ScanLookup::IdsReadCallback, this);
      return;
    }
    const SourceNext<Key> next = ids_->Next();
    switch (next.kind) {
      case ScanNextKind::kValue:
        Submit(next.key);
        break;
      case ScanNextKind::kEnd:
        ids_ended_ = true;
        break;
      case ScanNextKind::kReadAgain:
        // The ids source is in kNeedsData now: the next round reads it.
        LSMSCAN_ASSERT(ids_->state() == ScanState::kNeedsData);
        break;
    }
  }
}

template <Schema S>
void ScanLookup<S>::Submit(const Key& key) {
  Slot& slot = slots_.Push();
  slot.request.key = key;
  slot.request.snapshot = snapshot_;
  in_flight_count_++;
  stats_.lookups++;
  objects_->Get(&slot.request);
}

template <Schema S>
void ScanLookup<S>::ReleaseReturned() {
  if (returned_ == kNoSlot) return;
  slots_.Free(std::exchange(returned_, kNoSlot));
}

template <Schema S>
void ScanLookup<S>::DropHead() {
  const uint32_t index = slots_.PopHead();
  Slot& slot = slots_.at(index);
  if (slot.state == SlotState::kInFlight) {
    slot.state = SlotState::kCancelled;  // Freed on completion.
    stats_.cancelled++;
  } else {
    slots_.Free(index);
  }
}

template <Schema S>
absl::Status ScanLookup<S>::HeadError() const {
  if (slots_.ring_count() == 0) return absl::OkStatus();
  const Slot& head = slots_.head();
  if (head.state != SlotState::kDone) return absl::OkStatus();
  if (!head.request.status.ok()) return head.request.status;
  if (!head.request.found && !skip_missing_) {
    return absl::NotFoundError(
        "an id of the scan has no object in the objects tree at the "
        "lookup's snapshot (set skip_missing to skip such ids)");
  }
  return absl::OkStatus();
}

template <Schema S>
bool ScanLookup<S>::ReadyToFinish() const {
  if (ids_reading_) return false;
  if (slots_.ring_count() == 0) return ids_ended_;
  return slots_.head().state == SlotState::kDone;
}

template <Schema S>
void ScanLookup<S>::Finish() {
  LSMSCAN_ASSERT(state_ == ScanState::kBuffering);
  absl::Status error = HeadError();
  if (!error.ok()) {
    FailRead(std::move(error));
    return;
  }
  state_ = ScanState::kSeeking;
  ReadCallback callback = std::exchange(callback_, nullptr);
  callback(callback_context_, this, absl::OkStatus());
}

template <Schema S>
void ScanLookup<S>::FailRead(absl::Status status) {
  ReadCallback callback = std::exchange(callback_, nullptr);
  Abort();
  status_ = std::move(status);
  callback(callback_context_, this, status_);
}

template <Schema S>
void ScanLookup<S>::IdsReadCallback(void* context, ScanSource<Key>*,
                                    absl::Status status) {
  auto* self = static_cast<ScanLookup*>(context);
  LSMSCAN_ASSERT(self->ids_reading_);
  LSMSCAN_ASSERT(self->state_ == ScanState::kBuffering);
  self->ids_reading_ = false;
  if (!status.ok()) {
    self->FailRead(std::move(status));
    return;
  }
  self->Pump();
  if (self->ReadyToFinish()) self->Finish();
}

template <Schema S>
void ScanLookup<S>::GetCallback(GetRequest<S>* request) {
  auto* slot = static_cast<Slot*>(request->context);
  ScanLookup* self = slot->owner;
  LSMSCAN_ASSERT(self->in_flight_count_ > 0);
  self->in_flight_count_--;
  if (slot->state == SlotState::kCancelled) {
    self->slots_.Free(self->slots_.IndexOf(slot));
    if (self->state_ != ScanState::kBuffering) return;
    self->Pump();  // A slot is free again.
  } else {
    LSMSCAN_ASSERT(slot->state == SlotState::kInFlight);
    slot->state = SlotState::kDone;
    if (self->state_ != ScanState::kBuffering) return;
  }
  if (self->ReadyToFinish()) self->Finish();
}

template <Schema S>
void ScanLookup<S>::NextTickCallback(Storage::NextTick* next_tick) {
  auto* self = static_cast<ScanLookup*>(next_tick->context);
  self->next_tick_pending_ = false;
  if (self->state_ == ScanState::kBuffering) {
    if (self->ReadyToFinish()) self->Finish();
    return;
  }
  if (self->state_ == ScanState::kAborted && self->callback_ != nullptr) {
    ReadCallback callback = std::exchange(self->callback_, nullptr);
    callback(self->callback_context_, self, self->status_);
  }
}

template <Schema S>
ScanNext<typename S::Value> ScanLookup<S>::NeedsData() {
  state_ = ScanState::kNeedsData;
  stats_.read_agains++;
  return {ScanNextKind::kReadAgain, nullptr};
}

template <Schema S>
ScanNext<typename S::Value> ScanLookup<S>::Next() {
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
  if (ended_) return {ScanNextKind::kEnd, nullptr};
  ReleaseReturned();
  while (true) {
    if (slots_.ring_count() == 0) {
      if (!ids_ended_) return NeedsData();
      ended_ = true;
      return {ScanNextKind::kEnd, nullptr};
    }
    // Half the slots free and more ids to come: let Read() start lookups
    // now, while the results buffered keep Next() busy.
    const uint32_t free_count = slots_.free_count();
    if (!ids_ended_ && free_count > 0 && 2 * free_count >= slots_.count()) {
      stats_.read_aheads++;
      return NeedsData();
    }
    const Slot& head = slots_.head();
    if (head.state != SlotState::kDone) return NeedsData();
    error_ = HeadError();
    if (!error_.ok()) return NeedsData();  // Read() delivers it.
    if (!head.request.found) {
      stats_.missing++;
      DropHead();
      continue;
    }
    returned_ = slots_.PopHead();
    key_last_ = head.request.key;
    has_key_last_ = true;
    stats_.values++;
    return {ScanNextKind::kValue, &head.request.value};
  }
}

template <Schema S>
absl::Status ScanLookup<S>::Probe(const Key& key) {
  LSMSCAN_ASSERT_MSG(state_ != ScanState::kBuffering,
                     "Probe() while a Read() is in flight");
  if (state_ == ScanState::kAborted || ended_) return absl::OkStatus();
  if (has_key_last_ && !Before(ids_->direction(), key_last_, key)) {
    return absl::OkStatus();  // Already passed.
  }
  ReleaseReturned();
  while (slots_.ring_count() > 0 &&
         Before(ids_->direction(), slots_.head().request.key, key)) {
    DropHead();
  }
  if (ids_ended_) return absl::OkStatus();
  absl::Status probed = ids_->Probe(key);
  if (!probed.ok()) {
    Abort();
    status_ = probed;
  }
  return probed;
}

template <Schema S>
void ScanLookup<S>::Abort() {
  if (ids_ != nullptr) ids_->Abort();
  ids_reading_ = false;  // Its callback never comes.
  ReleaseReturned();
  while (slots_.ring_count() > 0) DropHead();
  callback_ = nullptr;  // A Read() in flight never calls back.
  state_ = ScanState::kAborted;
}

}  // namespace lsmscan

#endif  // LSMSCAN_SCAN_SCAN_LOOKUP_H_
