// File: tools/simulator_scans.cc
// -----------------------------------------------------------------------------
//
// The scans a run keeps in flight: started at random ranges, snapshots and
// directions, driven step by step through their state machine (probes,
// aborts mid-scan and mid-read, reads after an abort), every value and
// every end checked against the model.
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

void Simulator::RandomRange(Key* key_min, Key* key_max) {
  const uint64_t space = config_.key_space;
  const uint64_t shape = prng_.Uniform(100);
  if (shape < 4) {
    *key_min = 0;
    *key_max = kKeyMax;
    return;
  }
  const Key start = workload_.NextKey(&prng_);
  *key_min = start;
  // A range from an edge key ends at kKeyMax at most.
  auto up_to = [&](uint64_t length) {
    return start + std::min<uint64_t>(length, kKeyMax - start);
  };
  if (shape < 12) {
    *key_max = start;
  } else if (shape < 18) {
    *key_min = space + prng_.Uniform(1000);  // Beyond the data.
    *key_max = *key_min + prng_.Uniform(1000);
  } else if (shape < 55) {
    *key_max = up_to(prng_.Uniform(64));
  } else if (shape < 85) {
    *key_max = up_to(prng_.Uniform(space / 8 + 1));
  } else {
    *key_max = up_to(prng_.Uniform(space));
  }
}

void Simulator::EnsureScanObjects(ScanSlot* slot) {
  if (slot->buffer == nullptr) {
    ScanBufferOptions options;
    options.read_ahead_blocks =
        static_cast<uint32_t>(prng_.Range(0, config_.read_ahead_max));
    // Mostly the merge with fence heads; the one without, for contrast.
    options.fence_heads = prng_.Chance(0.8);
    absl::StatusOr<std::unique_ptr<ScanBuffer>> buffer =
        ScanBuffer::ForTree(*tree_, options);
    LSMSCAN_ASSERT_MSG(buffer.ok(), "ScanBuffer::ForTree failed");
    slot->buffer = std::move(buffer).value();
  }
  if (slot->scan == nullptr) slot->scan = std::make_unique<SimScan>();
}

void Simulator::StartRandomScan() {
  ScanSlot* free_slot = nullptr;
  for (auto& slot : scans_) {
    if (!slot->active) free_slot = slot.get();
  }
  if (free_slot == nullptr) {
    if (scans_.size() >= config_.scan_slots) return;
    scans_.push_back(std::make_unique<ScanSlot>());
    free_slot = scans_.back().get();
  }
  Snapshot snapshot = kSnapshotLatest;
  uint64_t model_seq = model_.seq();
  if (!snapshots_.empty() && prng_.Chance(0.35)) {
    const HeldSnapshot& held = snapshots_[prng_.Uniform(snapshots_.size())];
    snapshot = held.snapshot;
    model_seq = held.model_seq;
  }
  Key key_min = 0;
  Key key_max = 0;
  RandomRange(&key_min, &key_max);
  const Direction direction =
      prng_.Chance(0.5) ? Direction::kAscending : Direction::kDescending;
  free_slot->quiet = false;
  if (!InitScan(free_slot, snapshot, model_seq, key_min, key_max, direction)) {
    return;
  }
  free_slot->speed = static_cast<uint32_t>(
      prng_.Chance(0.3) ? prng_.Range(32, 256) : prng_.Range(1, 12));
}

bool Simulator::InitScan(ScanSlot* slot, Snapshot snapshot, uint64_t model_seq,
                         Key key_min, Key key_max, Direction direction) {
  EnsureScanObjects(slot);
  if (!slot->quiet && key_min < key_max && prng_.Chance(0.01)) {
    const absl::Status inverted = slot->scan->Init(
        tree_.get(), slot->buffer.get(), snapshot, key_max, key_min, direction);
    if (!absl::IsInvalidArgument(inverted)) {
      Fail(absl::StrCat("Init with key_min > key_max: ", inverted.ToString()));
      return false;
    }
  }
  const absl::Status status = slot->scan->Init(
      tree_.get(), slot->buffer.get(), snapshot, key_min, key_max, direction);
  if (!status.ok()) {
    Fail(absl::StrCat("ScanTree::Init: ", status.ToString()));
    return false;
  }
  slot->active = true;
  slot->id = next_scan_id_++;
  slot->read_pending = slot->read_done = slot->read_after_abort = false;
  slot->model_seq = model_seq;
  slot->snapshot = snapshot;
  slot->key_min = key_min;
  slot->key_max = key_max;
  slot->direction = direction;
  slot->start = direction == Direction::kAscending ? key_min : key_max;
  slot->last.reset();
  slot->values = 0;
  slot->speed = 64;
  if (!slot->quiet) stats_.scans_started++;
  Trace(key_min, key_max);
  Log("scan #%d [%s, %s] %s at snapshot %s (seq %d)", slot->id,
      KeyString(key_min), KeyString(key_max), DirectionName(direction),
      SnapshotString(snapshot), model_seq);
  return true;
}

void Simulator::DriveScans() {
  for (auto& slot : scans_) {
    if (failed_) return;
    if (slot->active || slot->unexpected_callback) DriveScan(slot.get());
  }
}

void Simulator::DriveScan(ScanSlot* slot) {
  if (slot->unexpected_callback) {
    return Fail(absl::StrCat("scan #", slot->id,
                             ": Read() called back when it should not"));
  }
  if (slot->read_pending) {
    if (!slot->read_done) {
      if (!slot->quiet && prng_.Chance(config_.abort_mid_read_probability)) {
        AbortScan(slot, /*mid_read=*/true);
      }
      return;
    }
    if (!OnReadDone(slot)) return;
  }
  switch (slot->scan->state()) {
    case ScanState::kIdle:
    case ScanState::kNeedsData:
      return PrepareRead(slot);
    case ScanState::kSeeking:
    case ScanState::kAborted:
      return TakeValues(slot);
    case ScanState::kBuffering:
      return Fail(absl::StrCat("scan #", slot->id,
                               " is buffering with no Read() pending"));
  }
}

bool Simulator::OnReadDone(ScanSlot* slot) {
  slot->read_pending = false;
  slot->read_done = false;
  const absl::Status status = slot->read_status;
  const ScanState state = slot->scan->state();
  if (slot->read_after_abort) {
    if (state != ScanState::kAborted || status != slot->scan->status()) {
      Fail(absl::StrCat("scan #", slot->id, ": Read() after Abort() gave ",
                        status.ToString(), " in state ", ScanStateName(state)));
      return false;
    }
    EndScan(slot, ScanOutcome::kAborted, status);
    return false;
  }
  if (status.ok()) {
    if (state == ScanState::kSeeking) return true;
    Fail(absl::StrCat("scan #", slot->id, ": Read() OK but state ",
                      ScanStateName(state)));
    return false;
  }
  if (state != ScanState::kAborted || slot->scan->status() != status) {
    Fail(absl::StrCat("scan #", slot->id, ": Read() failed with ",
                      status.ToString(), " but the scan is ",
                      ScanStateName(state), " with ",
                      slot->scan->status().ToString()));
    return false;
  }
  if (!ExpectedError(status, false)) {
    Fail(absl::StrCat("scan #", slot->id, " failed: ", status.ToString()));
    return false;
  }
  EndScan(slot, ScanOutcome::kFailed, status);
  return false;
}

void Simulator::PrepareRead(ScanSlot* slot) {
  if (!slot->quiet && prng_.Chance(config_.probe_probability)) {
    ProbeScan(slot);
    if (failed_) return;
    const ScanState state = slot->scan->state();
    if (state == ScanState::kSeeking || state == ScanState::kAborted) return;
  }
  IssueRead(slot);
}

void Simulator::IssueRead(ScanSlot* slot) {
  slot->read_pending = true;
  slot->read_done = false;
  slot->read_after_abort = false;
  slot->read_tick = ticks_;
  slot->scan->Read(&OnScanRead, slot);
  if (slot->read_done) {
    return Fail(absl::StrCat("scan #", slot->id,
                             ": Read() called back from inside the call"));
  }
  if (slot->scan->state() != ScanState::kBuffering) {
    return Fail(absl::StrCat("scan #", slot->id, ": after Read() the state is ",
                             ScanStateName(slot->scan->state())));
  }
  // Abort with the Read() just submitted (its completion may be queued).
  if (!slot->quiet && prng_.Chance(config_.abort_mid_read_probability / 4)) {
    AbortScan(slot, /*mid_read=*/true);
  }
}

void Simulator::TakeValues(ScanSlot* slot) {
  for (uint32_t i = 0; i < slot->speed && !failed_; i++) {
    if (!slot->quiet && prng_.Chance(config_.probe_probability)) {
      ProbeScan(slot);
      if (failed_) return;
    }
    if (!slot->quiet && prng_.Chance(config_.abort_probability)) {
      return AbortScan(slot, /*mid_read=*/false);
    }
    const ScanNext<Value> next = slot->scan->Next();
    switch (next.kind) {
      case ScanNextKind::kValue:
        if (!CheckValue(slot, *next.value)) return;
        break;
      case ScanNextKind::kReadAgain:
        stats_.read_agains++;
        if (slot->scan->state() != ScanState::kNeedsData) {
          return Fail(absl::StrCat("scan #", slot->id, ": ReadAgain in state ",
                                   ScanStateName(slot->scan->state())));
        }
        if (prng_.Chance(0.5)) PrepareRead(slot);
        return;
      case ScanNextKind::kEnd:
        return CheckEnd(slot);
    }
  }
}

std::optional<Value> Simulator::ExpectedNext(const ScanSlot& slot) const {
  if (slot.direction == Direction::kAscending) {
    Key from = slot.start;
    if (slot.last.has_value()) {
      if (*slot.last == kKeyMax) return std::nullopt;
      from = std::max(from, *slot.last + 1);
    }
    return model_.Next(slot.model_seq, from, slot.key_max, slot.direction);
  }
  Key from = slot.start;
  if (slot.last.has_value()) {
    if (*slot.last == 0) return std::nullopt;
    from = std::min(from, *slot.last - 1);
  }
  return model_.Next(slot.model_seq, from, slot.key_min, slot.direction);
}

bool Simulator::CheckValue(ScanSlot* slot, const Value& value) {
  const Key key = Rec::key_of(value);
  const std::optional<Value> expected = ExpectedNext(*slot);
  std::string problem;
  if (Rec::is_tombstone(value)) {
    problem = "a tombstone";
  } else if (!expected.has_value()) {
    problem = "a value where the model has none left";
  } else if (Rec::key_of(*expected) != key) {
    problem = absl::StrCat("the wrong key; the model's next key is ",
                           Rec::key_of(*expected));
  } else if (std::memcmp(&value, &*expected, sizeof(Value)) != 0) {
    problem = "a wrong payload (another version's, or corrupt)";
  }
  if (!problem.empty()) {
    Fail(absl::StrCat("scan #", slot->id, " [", KeyString(slot->key_min), ", ",
                      KeyString(slot->key_max), "] ",
                      DirectionName(slot->direction), " at snapshot ",
                      SnapshotString(slot->snapshot), " (model seq ",
                      slot->model_seq, "), value ", slot->values, ": key ", key,
                      " is ", problem));
    return false;
  }
  slot->last = key;
  slot->values++;
  stats_.values_checked++;
  Log("scan #%d: value %d", slot->id, key);
  Trace(key, slot->id);
  return true;
}

void Simulator::CheckEnd(ScanSlot* slot) {
  const std::optional<Value> expected = ExpectedNext(*slot);
  if (expected.has_value()) {
    return Fail(absl::StrCat(
        "scan #", slot->id, " [", KeyString(slot->key_min), ", ",
        KeyString(slot->key_max), "] ", DirectionName(slot->direction),
        " at snapshot ", SnapshotString(slot->snapshot), " (model seq ",
        slot->model_seq, ") ended after ", slot->values,
        " values; the model's next key is ", Rec::key_of(*expected)));
  }
  if (slot->scan->Next().kind != ScanNextKind::kEnd) {
    return Fail(absl::StrCat("scan #", slot->id, ": Next() after End"));
  }
  EndScan(slot, ScanOutcome::kCompleted, absl::OkStatus());
}

Key Simulator::RandomProbeKey(const ScanSlot& slot, bool* backward) {
  *backward = false;
  const bool up = slot.direction == Direction::kAscending;
  const uint64_t roll = prng_.Uniform(100);
  if (roll < 5) {  // Before the range: must change nothing.
    if (up && slot.key_min > 0) {
      *backward = true;
      return prng_.Uniform(slot.key_min);
    }
    if (!up && slot.key_max < kKeyMax) {
      *backward = true;
      return slot.key_max + 1 + prng_.Uniform(kKeyMax - slot.key_max);
    }
  }
  if (roll < 20) {  // Past the end of the range.
    if (up) return slot.key_max == kKeyMax ? kKeyMax : slot.key_max + 1;
    return slot.key_min == 0 ? 0 : slot.key_min - 1;
  }
  const Key base = slot.last.has_value()
                       ? (up ? std::max(slot.start, *slot.last)
                             : std::min(slot.start, *slot.last))
                       : slot.start;
  const uint64_t room = up ? kKeyMax - base : base;
  const uint64_t step =
      std::min(room, roll < 60 ? prng_.Uniform(8)
                               : prng_.Uniform(config_.key_space / 4 + 2));
  return up ? base + step : base - step;
}

void Simulator::ProbeScan(ScanSlot* slot) {
  if (slot->scan->state() == ScanState::kAborted) {
    // A scan ended by a probe past its end ignores later probes.
    if (!slot->scan->Probe(slot->start).ok()) {
      Fail(absl::StrCat("scan #", slot->id, ": Probe() after the end failed"));
    }
    return;
  }
  bool backward = false;
  const Key key = RandomProbeKey(*slot, &backward);
  const absl::Status status = slot->scan->Probe(key);
  stats_.probes++;
  Trace(key, static_cast<uint64_t>(status.code()));
  Log("scan #%d: probe %s%s", slot->id, KeyString(key),
      backward ? " (backward)" : "");
  if (backward) {
    // A no-op: the values checked from here on show that nothing moved.
    if (!status.ok()) {
      return Fail(absl::StrCat("scan #", slot->id, ": backward Probe(", key,
                               ") gave ", status.ToString()));
    }
    stats_.probes_backward++;
    return;
  }
  if (!status.ok()) {
    return Fail(absl::StrCat("scan #", slot->id, ": Probe(", key,
                             "): ", status.ToString()));
  }
  if (Before(slot->direction, slot->start, key)) slot->start = key;
}

void Simulator::AbortScan(ScanSlot* slot, bool mid_read) {
  slot->scan->Abort();
  slot->read_pending = false;
  slot->read_done = false;
  if (mid_read) stats_.aborts_mid_read++;
  Log("scan #%d: abort%s", slot->id, mid_read ? " mid-read" : "");
  if (slot->scan->state() != ScanState::kAborted ||
      slot->scan->Next().kind != ScanNextKind::kEnd) {
    return Fail(absl::StrCat("scan #", slot->id,
                             ": after Abort() the scan is not ended"));
  }
  if (prng_.Chance(0.3)) {
    // Read() on an aborted scan calls back with its status.
    stats_.reads_after_abort++;
    slot->read_pending = true;
    slot->read_after_abort = true;
    slot->read_tick = ticks_;
    slot->scan->Read(&OnScanRead, slot);
    return;
  }
  EndScan(slot, ScanOutcome::kAborted, absl::OkStatus());
}

void Simulator::EndScan(ScanSlot* slot, ScanOutcome outcome,
                        absl::Status status) {
  slot->active = false;
  slot->read_pending = false;
  slot->read_after_abort = false;
  slot->outcome = outcome;
  slot->end_status = std::move(status);
  Trace(slot->id, slot->values * 4 + static_cast<uint64_t>(outcome));
  Log("scan #%d ends: %s after %d values", slot->id,
      outcome == ScanOutcome::kCompleted ? std::string("completed")
      : outcome == ScanOutcome::kAborted ? std::string("aborted")
                                         : slot->end_status.ToString(),
      slot->values);
  if (slot->quiet) return;
  switch (outcome) {
    case ScanOutcome::kCompleted:
      stats_.scans_completed++;
      break;
    case ScanOutcome::kAborted:
      stats_.scans_aborted++;
      break;
    case ScanOutcome::kFailed:
      stats_.scans_failed++;
      break;
  }
  // Half the scans are destroyed when they end, half kept for reuse.
  if (prng_.Chance(0.5)) slot->scan.reset();
}

void Simulator::ReleaseIdleScans(double probability) {
  for (auto& slot : scans_) {
    if (!slot->active && slot->scan != nullptr && prng_.Chance(probability)) {
      slot->scan.reset();
    }
  }
}

}  // namespace simulator
}  // namespace lsmscan
