// File: tools/simulator_run.h
// -----------------------------------------------------------------------------
//
// The Simulator class: one run of one seed (RunSimulation() in
// simulator_lib.h makes one). The class is declared here and defined by
// concern in simulator_run.cc, simulator_ops.cc, simulator_scans.cc and
// simulator_crashes.cc.
//
// Part of the simulator (the API is simulator_lib.h; doc/reliability.md).

#ifndef LSMSCAN_TOOLS_SIMULATOR_RUN_H_
#define LSMSCAN_TOOLS_SIMULATOR_RUN_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "lsmscan/lsm/direction.h"
#include "lsmscan/lsm/table_info.h"
#include "lsmscan/storage/base/prng.h"
#include "lsmscan/storage/fault_storage.h"
#include "lsmscan/storage/memory_storage.h"
#include "lsmscan/storage/storage.h"
#include "lsmscan/tools/simulator_clients.h"
#include "lsmscan/tools/simulator_config.h"
#include "lsmscan/tools/simulator_lib.h"
#include "lsmscan/tools/simulator_model.h"
#include "lsmscan/tools/simulator_types.h"
#include "lsmscan/tools/simulator_workload.h"

namespace lsmscan {
namespace simulator {

// A request outstanding for this many ticks is a hang.
constexpr uint64_t kHangTicks = 2'000'000;
// Attempts at an operation that injected faults may fail (open, verify).
constexpr uint32_t kRetryMax = 2000;

// Simulator
//
// One run of one seed: the tree, its storage stack, the model, the clients
// in flight, and every decision's Prng. Its members are defined by concern:
// the run and its event loop in simulator_run.cc, the operations on the
// tree in simulator_ops.cc, scans in simulator_scans.cc, faults, crashes and
// recovery in simulator_crashes.cc.
class Simulator {
 public:
  explicit Simulator(const SimulatorOptions& options);
  Simulator(const Simulator&) = delete;
  Simulator& operator=(const Simulator&) = delete;

  // Runs the whole simulation once.
  SimulatorResult Run();

 private:
  // --- The run and its event loop (simulator_run.cc).
  // Ends the run whatever its state; leaks the tree if clients hang.
  void Teardown();
  // Starts seal tracking over for a new tree: its durable state is now.
  void ResetSealTracking();
  // One operation, a few scan steps, 1..3 ticks, then crash handling.
  void Step();
  // Issues one operation of the workload.
  void IssueOp();
  // Ticks the storage once and handles what completed.
  void TickOnce(Storage::TickMode mode);
  // Calls that must be refused are refused (rarely: they cost a buffer).
  void CheckContracts();
  // Fails the run if a request is outstanding for too long.
  void CheckHangs();
  // Ticks until `done()`; false (after Fail()) on a hang.
  bool WaitFor(const char* what, const std::function<bool()>& done);
  // Drains every client, checks everything, checkpoints and reopens.
  void Finish();
  // Records the first divergence; the run then winds down.
  void Fail(const std::string& message);
  // Mixes an event into the run's digest.
  void Trace(uint64_t a, uint64_t b = 0);
  template <typename... Args>
  void Log(const absl::FormatSpec<Args...>& format, const Args&... args);

  // --- Operations on the tree, each checked (simulator_ops.cc).
  // Writes.
  // One put or remove, applied to the model iff the tree took it.
  void DoWrite();
  // Answers ResourceExhausted: compaction, idle scans, snapshots.
  void RelieveBackPressure();
  // Records the model sequence of each seal the tree made since last time.
  void NoteSeals();
  // Drops model versions no reader or crash can need any more.
  void MaybePrune();

  // Gets.
  void StartGet(Key key, Snapshot snapshot, uint64_t model_seq, GetSlot* slot);
  void StartRandomGet();
  // Checks the gets that completed.
  void ProcessGets();
  void CheckGet(GetSlot* slot);

  // Snapshots.
  void AcquireSnapshot();
  void ReleaseSnapshot(size_t index);

  // Compaction and checkpoints.
  // Starts `kind` if the tree is idle (else sometimes checks it is refused).
  void StartWork(WorkKind kind);
  absl::Status CallWork(WorkKind kind);
  void ExpectBusy(WorkKind kind);
  static void OnWorkDone(void* context, absl::Status status);
  // Checks the work that completed; a durable checkpoint moves durable_seq_.
  void ProcessWork();
  void NoteTreeShape();

  // --- Scans (simulator_scans.cc).
  void StartRandomScan();
  void RandomRange(Key* key_min, Key* key_max);
  // Init()s `slot`'s scan and what it must return; false after Fail().
  bool InitScan(ScanSlot* slot, Snapshot snapshot, uint64_t model_seq,
                Key key_min, Key key_max, Direction direction);
  void DriveScans();
  // Advances one scan by one step of its state machine.
  void DriveScan(ScanSlot* slot);
  // Handles a completed Read(); true iff the scan may take values now.
  bool OnReadDone(ScanSlot* slot);
  // Maybe probes, then Read()s unless the probe made that unnecessary.
  void PrepareRead(ScanSlot* slot);
  void IssueRead(ScanSlot* slot);
  // Up to `speed` Next() calls, each value checked.
  void TakeValues(ScanSlot* slot);
  // Checks one value against the model; false after Fail().
  bool CheckValue(ScanSlot* slot, const Value& value);
  // The value the scan must return next, or nullopt at its end.
  std::optional<Value> ExpectedNext(const ScanSlot& slot) const;
  void CheckEnd(ScanSlot* slot);
  void ProbeScan(ScanSlot* slot);
  // A probe key; `*backward` says it lies before the range (a no-op).
  Key RandomProbeKey(const ScanSlot& slot, bool* backward);
  void AbortScan(ScanSlot* slot, bool mid_read);
  void EndScan(ScanSlot* slot, ScanOutcome outcome, absl::Status status);
  // Destroys idle scan objects (releasing their read views).
  void ReleaseIdleScans(double probability);
  void EnsureScanObjects(ScanSlot* slot);

  // --- Faults, crashes, restarts and verification (simulator_crashes.cc).
  // (Re)opens the storage stack on the device (creating it the first time).
  void CreateStorage();
  // Creates or opens the tree; false (after Fail()) if that is impossible.
  bool OpenTree(bool create);
  // Destroys scans, tree and storages (clients must be stopped).
  void CloseTree();
  bool Crashed() const { return fault_ != nullptr && fault_->crashed(); }
  // Whether a fault this run injects (or a crash) explains `status`.
  bool ExpectedError(const absl::Status& status, bool writes) const;
  // Picks the operation after which the next crash is armed.
  void ScheduleCrash();
  // Arms a crash inside the work about to start, when one is due.
  void MaybeSetCrashPoint(WorkKind kind);
  void SetCrashPoint(uint64_t writes_from_now);
  // Stops clients, reopens the device and checks the recovered tree.
  void Restart(bool crash);
  // Aborts scans and waits for gets and background work.
  void StopClients();
  // The whole tree equals the model: a full scan and some gets.
  void VerifyAll(const char* why);
  ScanSlot* verify_slot();
  // One attempt at the full scan; on a fault, narrows the range past the
  // keys already checked and returns false.
  bool VerifyScanPass(ScanSlot* slot, Direction direction, Key* key_min,
                      Key* key_max);
  void VerifyGets(uint32_t count);
  // Takes a durable checkpoint (retrying faults); false if none fits.
  bool Checkpoint();

  SimulatorOptions options_;
  Prng config_prng_;
  Config config_;
  Prng prng_;         // Every decision of the run.
  Prng fault_seeds_;  // One seed per FaultStorage incarnation.
  Workload workload_;
  SimulatorResult result_;
  SimulatorStats& stats_;

  // The storage stack and the tree.
  std::shared_ptr<MemoryDevice> device_;
  std::unique_ptr<MemoryStorage> memory_;
  std::unique_ptr<FaultStorage> fault_;
  Storage* storage_ = nullptr;
  std::unique_ptr<SimTree> tree_;

  // The model, and which of its states a crash must recover.
  Model model_;
  std::vector<uint64_t> seal_seqs_;  // [k]: model seq at the tree's k-th seal.
  uint64_t seals_seen_ = 0;
  uint64_t durable_seq_ = 0;
  uint64_t writes_since_prune_ = 0;

  // Clients.
  std::vector<std::unique_ptr<ScanSlot>> scans_;
  std::unique_ptr<ScanSlot> verify_scan_;
  std::vector<std::unique_ptr<GetSlot>> gets_;
  std::unique_ptr<GetSlot> verify_get_;
  std::vector<HeldSnapshot> snapshots_;
  // The last handle released (releasing it again must be refused).
  std::optional<SnapshotHandle> released_;
  WorkState work_;
  uint64_t next_scan_id_ = 1;

  // Crashes.
  uint64_t crash_due_op_ = UINT64_MAX;
  bool crash_point_set_ = false;

  uint64_t tables_at_close_ = 0;  // Live tables when the tree was closed.
  uint64_t ops_issued_ = 0;
  uint64_t ticks_ = 0;
  bool failed_ = false;
};

template <typename... Args>
void Simulator::Log(const absl::FormatSpec<Args...>& format,
                    const Args&... args) {
  if (!options_.verbose || !options_.log) return;
  options_.log(
      absl::StrCat("op ", ops_issued_, ": ", absl::StrFormat(format, args...)));
}

}  // namespace simulator
}  // namespace lsmscan

#endif  // LSMSCAN_TOOLS_SIMULATOR_RUN_H_
