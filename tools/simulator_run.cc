// File: tools/simulator_run.cc
// -----------------------------------------------------------------------------
//
// The run of one seed and its event loop: set-up, one operation and a few
// ticks per step, hang detection, the final drain and checks, and the
// run's digest and first divergence.
//
// Part of the simulator (the API is simulator_lib.h; doc/reliability.md).

#include "lsmscan/tools/simulator_run.h"

#include <algorithm>
#include <chrono>
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
#include "lsmscan/tools/simulator_types.h"

namespace lsmscan {
namespace simulator {

Simulator::Simulator(const SimulatorOptions& options)
    : options_(options),
      config_prng_(Mix(options.seed) ^ 0xC0FF1Eull),
      config_(RandomConfig(&config_prng_)),
      prng_(Mix(options.seed ^ 0x5EED5EEDull)),
      fault_seeds_(Mix(options.seed ^ 0xFA17FA17ull)),
      workload_(config_.key_space),
      stats_(result_.stats) {
  // Not drawn from the seed: --no_background runs a seed's same workload
  // with only the simulator's explicit work compacting.
  config_.tree.background_compaction = !options.no_background;
  result_.config = DescribeConfig(config_);
  result_.digest = Mix(options.seed);
}

void Simulator::Trace(uint64_t a, uint64_t b) {
  result_.digest = Mix(result_.digest ^ Mix(a + 0x9E3779B97F4A7C15ull * b));
}

void Simulator::Fail(const std::string& message) {
  if (failed_) return;
  failed_ = true;
  result_.ok = false;
  result_.failed_at_op = ops_issued_;
  result_.failure =
      absl::StrCat("at op ", ops_issued_, " (tick ", ticks_, "): ", message);
  stats_.divergences++;
  Log("FAILURE: %s", message);
}

// --- Set-up and tear-down ----------------------------------------------------

SimulatorResult Simulator::Run() {
  const auto begin = std::chrono::steady_clock::now();
  Log("seed %d: %s", options_.seed, result_.config);
  CreateStorage();
  if (OpenTree(/*create=*/true)) {
    ScheduleCrash();
    while (!failed_ && ops_issued_ < options_.ops) Step();
    if (!failed_) Finish();
  }
  Teardown();
  stats_.ticks = ticks_;
  stats_.seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - begin)
          .count();
  return result_;
}

void Simulator::ResetSealTracking() {
  seal_seqs_.assign(1, model_.seq());
  seals_seen_ = 0;
  durable_seq_ = model_.seq();
}

void Simulator::Teardown() {
  if (tree_ == nullptr) {
    CloseTree();
    return;
  }
  // After a failure, clients may still be in flight: wait for them, and
  // leak the tree rather than trip its destructor's checks if they hang.
  for (auto& slot : scans_) slot->scan.reset();
  auto busy = [&] {
    for (const auto& slot : gets_) {
      if (slot->in_flight) return true;
    }
    return work_.in_flight || tree_->busy();
  };
  for (uint64_t i = 0; i < kHangTicks && busy(); i++) {
    TickOnce(Storage::TickMode::kWaitForProgress);
  }
  if (busy()) {
    (void)tree_.release();
    (void)fault_.release();
    (void)memory_.release();
    return;
  }
  CloseTree();
}

// --- The event loop ----------------------------------------------------------

void Simulator::Step() {
  IssueOp();
  if (!failed_) DriveScans();
  const uint64_t ticks = prng_.Range(1, 3);
  for (uint64_t i = 0; i < ticks && !failed_; i++) {
    TickOnce(Storage::TickMode::kPoll);
  }
  if (!failed_ && Crashed()) Restart(/*crash=*/true);
  if (!failed_) CheckHangs();
}

void Simulator::IssueOp() {
  ops_issued_++;
  stats_.ops++;
  if (options_.progress != nullptr) *options_.progress = ops_issued_;
  if (ops_issued_ >= crash_due_op_ && ops_issued_ - crash_due_op_ >= 2000 &&
      !crash_point_set_ && !tree_->busy()) {
    SetCrashPoint(prng_.Uniform(40));  // Whatever writes come next.
  }
  if (prng_.Chance(0.002)) CheckContracts();
  const OpKind kind = workload_.NextOp(&prng_);
  Trace(ops_issued_, static_cast<uint64_t>(kind));
  switch (kind) {
    case OpKind::kWrite:
      return DoWrite();
    case OpKind::kGet:
      return StartRandomGet();
    case OpKind::kScan:
      return StartRandomScan();
    case OpKind::kAcquire:
      return AcquireSnapshot();
    case OpKind::kRelease:
      if (snapshots_.empty()) return;
      return ReleaseSnapshot(prng_.Uniform(snapshots_.size()));
    case OpKind::kCompact:
      return StartWork(WorkKind::kCompact);
    case OpKind::kCompactAll:
      return StartWork(WorkKind::kCompactAll);
    case OpKind::kCheckpoint:
      return StartWork(WorkKind::kCheckpoint);
    case OpKind::kRestart:
      return Restart(/*crash=*/false);
  }
}

void Simulator::CheckContracts() {
  // Handles nobody holds: releasing them is refused and changes nothing.
  const uint32_t held_count = tree_->snapshot_count();
  if (!absl::IsInvalidArgument(tree_->ReleaseSnapshot(SnapshotHandle()))) {
    return Fail("ReleaseSnapshot() of a default handle succeeded");
  }
  if (released_.has_value() &&
      !absl::IsInvalidArgument(tree_->ReleaseSnapshot(*released_))) {
    return Fail("a second ReleaseSnapshot() of one handle succeeded");
  }
  if (tree_->snapshot_count() != held_count) {
    return Fail("a refused ReleaseSnapshot() changed the snapshots held");
  }
  // A snapshot nobody holds: every read at it is refused.
  constexpr Snapshot kNeverLive = kSnapshotLatest - 1;
  SimScan scan;
  ScanSlot* busy = nullptr;
  for (auto& slot : scans_) {
    if (slot->active) busy = slot.get();
  }
  if (busy != nullptr) {
    const absl::Status status =
        scan.Init(tree_.get(), busy->buffer.get(), kSnapshotLatest, 0, 1,
                  Direction::kAscending);
    if (!absl::IsFailedPrecondition(status)) {
      return Fail(
          absl::StrCat("Init() with a buffer in use: ", status.ToString()));
    }
  }
  absl::StatusOr<std::unique_ptr<ScanBuffer>> buffer =
      ScanBuffer::ForTree(*tree_);
  LSMSCAN_ASSERT_MSG(buffer.ok(), "ScanBuffer::ForTree failed");
  const absl::Status dead = scan.Init(tree_.get(), buffer->get(), kNeverLive, 0,
                                      1, Direction::kAscending);
  if (!absl::IsFailedPrecondition(dead)) {
    Fail(
        absl::StrCat("Init() at a snapshot never acquired: ", dead.ToString()));
  }
}

void Simulator::TickOnce(Storage::TickMode mode) {
  storage_->Tick(mode);
  ticks_++;
  NoteSeals();
  ProcessGets();
  ProcessWork();
}

void Simulator::CheckHangs() {
  for (const auto& slot : scans_) {
    if (slot->active && slot->read_pending && !slot->read_done &&
        ticks_ - slot->read_tick > kHangTicks) {
      return Fail(absl::StrCat("scan #", slot->id, " read never completed"));
    }
  }
  for (const auto& slot : gets_) {
    if (slot->in_flight && !slot->done &&
        ticks_ - slot->start_tick > kHangTicks) {
      return Fail("a get never completed");
    }
  }
  if (work_.in_flight && !work_.done &&
      ticks_ - work_.start_tick > 20 * kHangTicks) {
    Fail(absl::StrCat(WorkName(work_.kind), " never completed"));
  }
}

bool Simulator::WaitFor(const char* what, const std::function<bool()>& done) {
  const uint64_t begin = ticks_;
  while (!failed_ && !done()) {
    if (ticks_ - begin > 20 * kHangTicks) {
      Fail(absl::StrCat("hang while waiting for ", what));
      return false;
    }
    TickOnce(Storage::TickMode::kWaitForProgress);
  }
  return !failed_;
}

void Simulator::Finish() {
  Log("finishing: draining clients");
  auto idle = [&] {
    for (const auto& slot : scans_) {
      if (slot->active) return false;
    }
    for (const auto& slot : gets_) {
      if (slot->in_flight) return false;
    }
    return !work_.in_flight;
  };
  const uint64_t begin = ticks_;
  while (!failed_ && !idle()) {
    if (ticks_ - begin > 20 * kHangTicks) return Fail("hang while draining");
    DriveScans();
    TickOnce(Storage::TickMode::kPoll);
  }
  if (!failed_ && Crashed()) Restart(/*crash=*/true);
  if (failed_) return;
  crash_due_op_ = UINT64_MAX;
  if (fault_ != nullptr) fault_->set_options(config_.faults);
  VerifyAll("final state");
  if (!failed_ && Checkpoint()) Restart(/*crash=*/false);
}

SimulatorResult RunSimulation(const SimulatorOptions& options) {
  Simulator simulator(options);
  return simulator.Run();
}

}  // namespace simulator
}  // namespace lsmscan
