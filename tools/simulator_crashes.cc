// File: tools/simulator_crashes.cc
// -----------------------------------------------------------------------------
//
// Faults and crashes: the storage stack (a FaultStorage over a memory
// device), which errors the injected faults explain, crash points (at a
// random write, often inside a checkpoint), restarts, and the check that
// the reopened tree equals the model at the last durable checkpoint.
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

void Simulator::CreateStorage() {
  if (device_ == nullptr) {
    absl::StatusOr<std::shared_ptr<MemoryDevice>> device =
        MemoryDevice::Create(config_.storage);
    LSMSCAN_ASSERT_MSG(device.ok(), "cannot reserve the memory device");
    device_ = std::move(device).value();
  }
  memory_ = MemoryStorage::Open(device_);
  storage_ = memory_.get();
  if (config_.zero_copy) return;
  fault_ = std::make_unique<FaultStorage>(memory_.get(), config_.faults,
                                          fault_seeds_.Next());
  storage_ = fault_.get();
}

bool Simulator::OpenTree(bool create) {
  if (fault_ != nullptr) {
    // Recovery reads without faults unless asked (see doc/reliability.md).
    FaultOptions quiet = config_.faults;
    quiet.write_error_probability = 0;
    if (!options_.open_faults || create) {
      quiet.read_error_probability = 0;
      quiet.read_corruption_probability = 0;
    }
    // Open() reads every table's index block and fails on any fault: keep
    // the chance that one attempt succeeds above about a third.
    const double cap = 0.5 / static_cast<double>(2 + tables_at_close_);
    quiet.read_error_probability = std::min(quiet.read_error_probability, cap);
    quiet.read_corruption_probability =
        std::min(quiet.read_corruption_probability, cap);
    fault_->set_options(quiet);
  }
  for (uint32_t attempt = 0; attempt < kRetryMax; attempt++) {
    absl::StatusOr<std::unique_ptr<SimTree>> tree =
        create ? SimTree::Create(storage_, config_.tree)
               : SimTree::Open(storage_, config_.tree);
    if (tree.ok()) {
      tree_ = std::move(tree).value();
      if (fault_ != nullptr) fault_->set_options(config_.faults);
      ResetSealTracking();
      return true;
    }
    Trace(0x0FE2, static_cast<uint64_t>(tree.status().code()));
    Log("%s failed: %s", create ? "create" : "open", tree.status().ToString());
    if (!(options_.open_faults && !create &&
          ExpectedError(tree.status(), false))) {
      Fail(absl::StrCat(create ? "Tree::Create" : "Tree::Open",
                        " failed: ", tree.status().ToString()));
      return false;
    }
    stats_.open_retries++;
  }
  Fail("Tree::Open failed under read faults on every attempt");
  return false;
}

void Simulator::CloseTree() {
  tables_at_close_ = 0;
  if (tree_ != nullptr) {
    for (uint32_t level = 0; level < tree_->level_count(); level++) {
      tables_at_close_ += tree_->manifest().live_table_count(level);
    }
  }
  for (auto& slot : scans_) slot->scan.reset();
  if (verify_scan_ != nullptr) verify_scan_->scan.reset();
  snapshots_.clear();
  tree_.reset();
  if (fault_ != nullptr) {
    const FaultStats& faults = fault_->fault_stats();
    stats_.faults.reads_failed += faults.reads_failed;
    stats_.faults.writes_failed += faults.writes_failed;
    stats_.faults.reads_corrupted += faults.reads_corrupted;
    stats_.faults.completions_delayed += faults.completions_delayed;
    stats_.faults.writes_dropped += faults.writes_dropped;
  }
  fault_.reset();
  memory_.reset();
  storage_ = nullptr;
}

bool Simulator::ExpectedError(const absl::Status& status, bool writes) const {
  const FaultOptions& f = config_.faults;
  const bool crashed = Crashed();
  if (absl::IsDataLoss(status)) {
    return f.read_corruption_probability > 0 || crashed;
  }
  if (absl::IsInternal(status)) {
    return f.read_error_probability > 0 ||
           (writes && f.write_error_probability > 0);
  }
  // A small device fills up: only writers may run out of blocks.
  if (absl::IsResourceExhausted(status)) return writes && config_.small_device;
  return absl::IsOutOfRange(status) && crashed;
}

void Simulator::ScheduleCrash() {
  crash_point_set_ = false;
  crash_due_op_ = UINT64_MAX;
  if (fault_ == nullptr || !config_.crashes) return;
  crash_due_op_ = ops_issued_ + prng_.Range(config_.crash_interval / 2,
                                            config_.crash_interval * 3 / 2);
}

void Simulator::MaybeSetCrashPoint(WorkKind kind) {
  if (crash_point_set_ || ops_issued_ < crash_due_op_) return;
  if (kind != WorkKind::kCheckpoint && !prng_.Chance(0.3)) return;
  // The tree is idle: every write it issued has completed, so the storage's
  // write count is exact and the crash lands inside this work.
  SetCrashPoint(prng_.Uniform(kind == WorkKind::kCheckpoint ? 24 : 64));
}

void Simulator::SetCrashPoint(uint64_t writes_from_now) {
  FaultOptions options = fault_->fault_options();
  options.write_count_max = fault_->stats().write_count + writes_from_now;
  fault_->set_options(options);
  crash_point_set_ = true;
  Trace(0xC2A5, options.write_count_max);
  Log("crash armed after write %d", options.write_count_max);
}

// --- Restarts and verification
// ------------------------------------------------

void Simulator::Restart(bool crash) {
  if (crash && work_.in_flight && work_.kind == WorkKind::kCheckpoint) {
    stats_.mid_checkpoint_crashes++;
  }
  Log("%s: stopping clients", crash ? "CRASH" : "restart");
  StopClients();
  if (failed_) return;
  CloseTree();
  Trace(0x2E5747, crash ? 1 : 0);
  if (crash) {
    stats_.crashes++;
  } else {
    stats_.restarts++;
  }
  // What survives is the last durable checkpoint; from here on the model
  // starts over from it.
  model_.Reset(model_.MapAt(durable_seq_));
  CreateStorage();
  if (!OpenTree(/*create=*/false)) return;
  Log("reopened at the checkpoint of model seq 0");
  const uint64_t checked = stats_.values_checked;
  VerifyAll(crash ? "after a crash" : "after a restart");
  stats_.recovered_values += stats_.values_checked - checked;
  ScheduleCrash();
}

void Simulator::StopClients() {
  for (auto& slot : scans_) {
    if (slot->active) {
      stats_.scans_aborted++;
      slot->active = false;
    }
    slot->read_pending = false;
    slot->scan.reset();  // Aborts, and waits for reads in flight.
  }
  WaitFor("gets", [&] {
    for (const auto& slot : gets_) {
      if (slot->in_flight) return false;
    }
    return true;
  });
  WaitFor("compaction or checkpoint", [&] { return !work_.in_flight; });
}

void Simulator::VerifyAll(const char* why) {
  Log("verify (%s): full scan and gets at seq %d", why, model_.seq());
  const Direction direction =
      prng_.Chance(0.5) ? Direction::kAscending : Direction::kDescending;
  Key key_min = 0;
  Key key_max = kKeyMax;
  bool done = false;
  for (uint32_t attempt = 0; attempt < kRetryMax && !failed_ && !done;
       attempt++) {
    done = VerifyScanPass(verify_slot(), direction, &key_min, &key_max);
  }
  // A finished scan keeps its read view until destroyed: drop it.
  verify_slot()->scan.reset();
  if (done) return VerifyGets(32);
  if (!failed_) Fail(absl::StrCat("verification (", why, ") never finished"));
}

ScanSlot* Simulator::verify_slot() {
  if (verify_scan_ == nullptr) {
    verify_scan_ = std::make_unique<ScanSlot>();
    verify_scan_->quiet = true;
  }
  return verify_scan_.get();
}

bool Simulator::VerifyScanPass(ScanSlot* slot, Direction direction,
                               Key* key_min, Key* key_max) {
  if (!InitScan(slot, kSnapshotLatest, model_.seq(), *key_min, *key_max,
                direction)) {
    return false;
  }
  const uint64_t begin = ticks_;
  while (!failed_ && slot->active) {
    if (ticks_ - begin > kHangTicks) {
      Fail("verification scan hangs");
      return false;
    }
    DriveScan(slot);
    if (slot->active) TickOnce(Storage::TickMode::kPoll);
  }
  if (failed_) return false;
  if (slot->outcome == ScanOutcome::kCompleted) return true;
  // A fault ended it: resume after the last key checked.
  if (slot->last.has_value()) {
    if (direction == Direction::kAscending) {
      if (*slot->last == kKeyMax) return true;
      *key_min = *slot->last + 1;
    } else {
      if (*slot->last == 0) return true;
      *key_max = *slot->last - 1;
    }
  }
  return false;
}

void Simulator::VerifyGets(uint32_t count) {
  if (verify_get_ == nullptr) {
    verify_get_ = std::make_unique<GetSlot>();
    verify_get_->frame = AlignedBuffer(config_.storage.block_size_bytes);
  }
  for (uint32_t i = 0; i < count && !failed_; i++) {
    const Key key = prng_.Uniform(config_.key_space + 16);
    for (uint32_t attempt = 0; attempt < kRetryMax && !failed_; attempt++) {
      const uint64_t failed_gets = stats_.gets_failed;
      StartGet(key, kSnapshotLatest, model_.seq(), verify_get_.get());
      WaitFor("a verification get", [&] { return !verify_get_->in_flight; });
      if (stats_.gets_failed == failed_gets) break;
    }
  }
}

bool Simulator::Checkpoint() {
  for (uint32_t attempt = 0; attempt < kRetryMax && !failed_; attempt++) {
    const uint64_t durable = stats_.checkpoints_durable;
    StartWork(WorkKind::kCheckpoint);
    if (!WaitFor("the final checkpoint", [&] { return !work_.in_flight; })) {
      return false;
    }
    if (stats_.checkpoints_durable > durable) return true;
    if (absl::IsResourceExhausted(work_.status)) {
      Log("the final checkpoint does not fit the device");
      return false;  // A full small device: nothing more to check.
    }
  }
  if (!failed_) Fail("the final checkpoint never succeeded");
  return false;
}

}  // namespace simulator
}  // namespace lsmscan
