// File: tools/simulator_ops.cc
// -----------------------------------------------------------------------------
//
// The operations a run issues on the tree, each checked against the model:
// writes (and what back-pressure asks), gets, snapshots, and Compact(),
// CompactAll() and Checkpoint() with what their callbacks report.
//
// Part of the simulator (the API is simulator_lib.h; doc/reliability.md).

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "lsmscan/lsm/direction.h"
#include "lsmscan/lsm/table_info.h"
#include "lsmscan/scan/scan_buffer.h"
#include "lsmscan/scan/scan_tree.h"
#include "lsmscan/storage/aligned_buffer.h"
#include "lsmscan/storage/base/assert.h"
#include "lsmscan/storage/fault_storage.h"
#include "lsmscan/storage/memory_storage.h"
#include "lsmscan/storage/storage.h"
#include "lsmscan/tools/simulator_clients.h"
#include "lsmscan/tools/simulator_lib.h"
#include "lsmscan/tools/simulator_run.h"
#include "lsmscan/tools/simulator_types.h"

namespace lsmscan {
namespace simulator {

// --- Writes
// -------------------------------------------------------------------

void Simulator::DoWrite() {
  NoteSeals();
  const Key key = workload_.NextKey(&prng_);
  const bool remove = prng_.Chance(workload_.remove_probability());
  const Value value =
      remove ? Rec::tombstone(key) : Rec::Make(key, prng_.Next());
  const absl::Status status = remove ? tree_->Remove(key) : tree_->Put(value);
  NoteSeals();
  Trace(key, static_cast<uint64_t>(status.code()));
  if (absl::IsResourceExhausted(status)) {
    stats_.backpressure++;
    Log("put %d: back-pressure", key);
    return RelieveBackPressure();
  }
  if (!status.ok()) return Fail(absl::StrCat("Put: ", status.ToString()));
  const bool live = model_.Get(key, model_.seq()).has_value();
  if (remove) {
    stats_.removes++;
  } else if (live) {
    stats_.overwrites++;
  } else {
    stats_.puts++;
  }
  model_.Apply(value);
  Log("%s %d (seq %d)", remove ? "remove" : "put", key, model_.seq());
  writes_since_prune_++;
  MaybePrune();
}

void Simulator::RelieveBackPressure() {
  if (!tree_->busy()) StartWork(WorkKind::kCompact);
  // Finished scans keep their read view (and its memory tables) until they
  // are initialised again or destroyed.
  ReleaseIdleScans(0.5);
  if (!snapshots_.empty() && prng_.Chance(0.2)) ReleaseSnapshot(0);
}

void Simulator::NoteSeals() {
  const uint64_t seals = tree_->stats().seals;
  while (seals_seen_ < seals) {
    seal_seqs_.push_back(model_.seq());
    seals_seen_++;
  }
}

void Simulator::MaybePrune() {
  if (writes_since_prune_ < config_.key_space / 2 + 1024) return;
  writes_since_prune_ = 0;
  const uint64_t flushes = tree_->stats().flushes;
  uint64_t seq_min = std::min(durable_seq_, seal_seqs_.at(flushes));
  for (const HeldSnapshot& held : snapshots_) {
    seq_min = std::min(seq_min, held.model_seq);
  }
  for (const auto& slot : scans_) {
    if (slot->active) seq_min = std::min(seq_min, slot->model_seq);
  }
  for (const auto& slot : gets_) {
    if (slot->in_flight) seq_min = std::min(seq_min, slot->model_seq);
  }
  model_.Prune(seq_min);
}

// --- Gets --------------------------------------------------------------------

void Simulator::StartRandomGet() {
  GetSlot* free_slot = nullptr;
  for (auto& slot : gets_) {
    if (!slot->in_flight) free_slot = slot.get();
  }
  if (free_slot == nullptr) {
    if (gets_.size() >= config_.get_slots) return;
    gets_.push_back(std::make_unique<GetSlot>());
    free_slot = gets_.back().get();
    free_slot->frame = AlignedBuffer(config_.storage.block_size_bytes);
  }
  Snapshot snapshot = kSnapshotLatest;
  uint64_t model_seq = model_.seq();
  if (!snapshots_.empty() && prng_.Chance(0.3)) {
    const HeldSnapshot& held = snapshots_[prng_.Uniform(snapshots_.size())];
    snapshot = held.snapshot;
    model_seq = held.model_seq;
  }
  const Key key = prng_.Chance(0.05) ? config_.key_space + prng_.Uniform(1000)
                                     : workload_.NextKey(&prng_);
  StartGet(key, snapshot, model_seq, free_slot);
}

void Simulator::StartGet(Key key, Snapshot snapshot, uint64_t model_seq,
                         GetSlot* slot) {
  stats_.gets++;
  GetRequest<Rec>& request = slot->request;
  request.key = key;
  request.snapshot = snapshot;
  // Zero-copy storages need no frame.
  request.frame =
      storage_->zero_copy() && prng_.Chance(0.5) ? nullptr : slot->frame.data();
  request.callback = &OnGetDone;
  request.context = slot;
  slot->in_flight = true;
  slot->done = false;
  slot->model_seq = model_seq;
  slot->start_tick = ticks_;
  Log("get %d at snapshot %s (seq %d)", key, SnapshotString(snapshot),
      model_seq);
  tree_->Get(&request);
  if (slot->done) Fail("Get() called back from inside the call");
}

void Simulator::ProcessGets() {
  for (auto& slot : gets_) {
    if (slot->unexpected_callback) return Fail("a get called back twice");
    if (slot->in_flight && slot->done) CheckGet(slot.get());
  }
  if (verify_get_ != nullptr && verify_get_->in_flight && verify_get_->done) {
    CheckGet(verify_get_.get());
  }
}

void Simulator::CheckGet(GetSlot* slot) {
  slot->in_flight = false;
  const GetRequest<Rec>& request = slot->request;
  Trace(request.key, static_cast<uint64_t>(request.status.code()));
  if (!request.status.ok()) {
    if (!ExpectedError(request.status, false)) {
      return Fail(absl::StrCat("get ", request.key, " at snapshot ",
                               SnapshotString(request.snapshot), ": ",
                               request.status.ToString()));
    }
    stats_.gets_failed++;
    Log("get %d: %s (allowed)", request.key, request.status.ToString());
    return;
  }
  const std::optional<Value> expected =
      model_.Get(request.key, slot->model_seq);
  if (request.found != expected.has_value() ||
      (expected.has_value() &&
       std::memcmp(&request.value, &*expected, sizeof(Value)) != 0)) {
    return Fail(absl::StrCat(
        "get ", request.key, " at snapshot ", SnapshotString(request.snapshot),
        " (model seq ", slot->model_seq, "): got ",
        request.found ? "a value" : "nothing", ", model has ",
        expected.has_value() ? "a value" : "nothing",
        request.found && expected.has_value() ? " (payload differs)" : ""));
  }
  stats_.values_checked++;
}

// --- Snapshots ---------------------------------------------------------------

void Simulator::AcquireSnapshot() {
  if (snapshots_.size() >= config_.snapshot_max) return;
  NoteSeals();
  const absl::StatusOr<SnapshotHandle> handle = tree_->AcquireSnapshot();
  NoteSeals();
  if (tree_->snapshot_memory_table_count() >
      tree_->snapshot_memory_table_count_max()) {
    return Fail("snapshots hold more memory tables than the limit");
  }
  if (absl::IsResourceExhausted(handle.status())) {
    // Past the memory-table limit (tree.h): refused, nothing held.
    stats_.snapshots_refused++;
    Log("acquire snapshot: refused (memory-table limit)");
    return;
  }
  if (!handle.ok()) {
    return Fail(absl::StrCat("AcquireSnapshot: ", handle.status().ToString()));
  }
  const Snapshot snapshot = handle->snapshot();
  snapshots_.push_back(HeldSnapshot{*handle, snapshot, model_.seq()});
  stats_.snapshots_acquired++;
  Trace(snapshot, model_.seq());
  Log("acquire snapshot %d (seq %d)", snapshot, model_.seq());
}

void Simulator::ReleaseSnapshot(size_t index) {
  const HeldSnapshot held = snapshots_[index];
  snapshots_.erase(snapshots_.begin() + static_cast<ptrdiff_t>(index));
  const absl::Status status = tree_->ReleaseSnapshot(held.handle);
  if (!status.ok()) {
    return Fail(absl::StrCat("ReleaseSnapshot(", held.snapshot,
                             "): ", status.ToString()));
  }
  released_ = held.handle;
  stats_.snapshots_released++;
  Trace(held.snapshot, 0x5E1EA5E);
  Log("release snapshot %d", held.snapshot);
}

// --- Compaction and checkpoints ----------------------------------------------

void Simulator::StartWork(WorkKind kind) {
  if (tree_->busy()) {
    if (prng_.Chance(0.2)) ExpectBusy(kind);
    return;
  }
  MaybeSetCrashPoint(kind);
  work_ = WorkState();
  work_.in_flight = true;
  work_.kind = kind;
  work_.start_tick = ticks_;
  Log("start %s", WorkName(kind));
  const absl::Status status = CallWork(kind);
  if (!status.ok()) {
    return Fail(absl::StrCat(WorkName(kind), ": ", status.ToString()));
  }
  if (work_.done) return Fail("work called back from inside the call");
  switch (kind) {
    case WorkKind::kCompact:
      stats_.compactions++;
      break;
    case WorkKind::kCompactAll:
      stats_.compact_alls++;
      break;
    case WorkKind::kCheckpoint:
      stats_.checkpoints++;
      break;
  }
}

absl::Status Simulator::CallWork(WorkKind kind) {
  switch (kind) {
    case WorkKind::kCompact:
      return tree_->Compact(&Simulator::OnWorkDone, this);
    case WorkKind::kCompactAll:
      return tree_->CompactAll(&Simulator::OnWorkDone, this);
    case WorkKind::kCheckpoint:
      return tree_->Checkpoint(&Simulator::OnWorkDone, this);
  }
  LSMSCAN_UNREACHABLE();
}

void Simulator::ExpectBusy(WorkKind kind) {
  const absl::Status status = CallWork(kind);
  if (!absl::IsFailedPrecondition(status)) {
    return Fail(absl::StrCat(WorkName(kind),
                             " while busy: expected "
                             "FailedPrecondition, got ",
                             status.ToString()));
  }
  stats_.busy_rejections++;
}

void Simulator::OnWorkDone(void* context, absl::Status status) {
  auto* self = static_cast<Simulator*>(context);
  WorkState& work = self->work_;
  if (!work.in_flight || work.done) {
    self->Fail("a Compact/Checkpoint callback ran twice");
    return;
  }
  work.done = true;
  work.status = std::move(status);
  work.flushes = self->tree_->stats().flushes;
  work.writes_dropped =
      self->fault_ != nullptr ? self->fault_->fault_stats().writes_dropped : 0;
}

void Simulator::NoteTreeShape() {
  uint64_t tables = 0;
  for (uint32_t level = 0; level < tree_->level_count(); level++) {
    const uint64_t count = tree_->manifest().live_table_count(level);
    tables += count;
    if (count > 0) {
      stats_.deepest_level =
          std::max<uint64_t>(stats_.deepest_level, level + 1);
    }
  }
  stats_.live_tables_max = std::max(stats_.live_tables_max, tables);
}

void Simulator::ProcessWork() {
  if (!work_.in_flight || !work_.done) return;
  work_.in_flight = false;
  NoteTreeShape();
  // Tombstones never survive in the last level (compaction_planner.h).
  const TreeStats tree_stats = tree_->stats();
  if (tree_stats.levels[tree_->level_count() - 1].tombstones != 0) {
    return Fail(absl::StrCat(
        "the last level holds ",
        tree_stats.levels[tree_->level_count() - 1].tombstones, " tombstones"));
  }
  Trace(static_cast<uint64_t>(work_.kind),
        static_cast<uint64_t>(work_.status.code()));
  Log("%s done: %s", WorkName(work_.kind), work_.status.ToString());
  if (!work_.status.ok()) {
    if (!ExpectedError(work_.status, true)) {
      return Fail(absl::StrCat(WorkName(work_.kind),
                               " failed: ", work_.status.ToString()));
    }
    stats_.work_failed++;
    if (absl::IsResourceExhausted(work_.status)) stats_.out_of_space++;
    return;
  }
  // A checkpoint is durable iff a copy of its superblock reached the device
  // (Open recovers it from one copy and rewrites the other). Its two copies
  // are its last writes and a crash drops every write after its point, so:
  // iff no write but the last one was dropped.
  if (work_.kind != WorkKind::kCheckpoint || work_.writes_dropped > 1) return;
  if (work_.flushes > seals_seen_) {
    return Fail("the tree flushed more memory tables than it sealed");
  }
  durable_seq_ = seal_seqs_[work_.flushes];
  stats_.checkpoints_durable++;
  Log("checkpoint durable at seq %d", durable_seq_);
}

}  // namespace simulator
}  // namespace lsmscan
