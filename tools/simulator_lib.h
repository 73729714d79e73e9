// File: tools/simulator_lib.h
// -----------------------------------------------------------------------------
//
// A deterministic simulator of one lsmscan tree under a random workload,
// random storage faults and random crashes, checked against a reference
// model (issue 8). Everything a run does derives from one seed: the tree's
// shape, the workload, the faults, the crash points. Only the Prng decides
// (never time, never addresses), so a seed replays exactly.
//
// One run:
//
//   * derives a configuration from the seed: block size (4/8/16 KiB), tree
//     shape (levels, growth factor, table size, memory table capacity,
//     immutable tables, cache, compaction frames), scan read-ahead, key
//     space, device size (a few seeds use a tiny one that fills up), fault
//     probabilities, crash frequency, client counts;
//   * creates a Tree<Record32Schema> on a FaultStorage over a MemoryStorage
//     on a MemoryDevice (a few seeds use a plain, zero-copy MemoryStorage);
//   * runs `ops` operations from one event loop: puts, overwrites and
//     removes in phases (write-, range-, point-heavy, mixed) over uniform,
//     sequential and hot-spot keys; gets; several ScanTree objects in flight
//     at once (each with its own ScanBuffer) at kSnapshotLatest or held
//     snapshots, over random ranges in both directions, with probes and
//     aborts mid-scan and mid-read; snapshot acquire/release; Compact(),
//     CompactAll() and Checkpoint() in flight while all of that runs;
//   * checks every scan value and every get against a multi-version model,
//     allowing an error (DataLoss/Internal) only where a fault was possible
//     and never a wrong value;
//   * crashes at a random write (FaultStorage::write_count_max), including
//     mid-checkpoint, reopens the device with Tree::Open and checks the tree
//     equals the model at the last durable checkpoint, value by value.
//
// The first divergence ends the run: `SimulatorResult::failure` says what
// diverged and `failed_at_op` how many operations reproduce it.
//
// Example:
//
//   SimulatorOptions options;
//   options.seed = 42;
//   options.ops = 50000;
//   const SimulatorResult result = RunSimulation(options);
//   if (!result.ok) std::puts(result.failure.c_str());

#ifndef LSMSCAN_TOOLS_SIMULATOR_LIB_H_
#define LSMSCAN_TOOLS_SIMULATOR_LIB_H_

#include <cstdint>
#include <functional>
#include <string>

#include "lsmscan/storage/fault_storage.h"

namespace lsmscan {
namespace simulator {

// SimulatorOptions
//
// What to run. Only `seed` and `ops` (and `open_faults`, `no_background`)
// change what a run does; the rest changes what it reports.
struct SimulatorOptions {
  uint64_t seed = 1;
  // Operations to issue before the final checks. A run's first k
  // operations do not depend on `ops`, so a failure at op k reproduces with
  // ops = k.
  uint64_t ops = 10000;
  // Also inject read faults while Tree::Open() recovers after a crash (off
  // by default: see doc/reliability.md, "Known issues").
  bool open_faults = false;
  // Runs the tree with TreeOptions::background_compaction off: only the
  // workload's Compact(), CompactAll() and Checkpoint() compact (on by
  // default: the tree schedules its own compactions besides them).
  bool no_background = false;
  // Logs every operation and check through `log`.
  bool verbose = false;
  // Receives verbose lines (without a newline). Unset: nothing is logged.
  std::function<void(const std::string&)> log;
  // If set, kept equal to the number of operations issued so far, so a
  // signal handler can name the op an assertion failed at.
  volatile uint64_t* progress = nullptr;
};

// SimulatorStats
//
// What a run did, by kind. Every counter is deterministic for a seed except
// `seconds`.
struct SimulatorStats {
  uint64_t ops = 0;  // Operations issued (the --ops budget).
  // Writes.
  uint64_t puts = 0;        // Of a key not live in the model.
  uint64_t overwrites = 0;  // Of a key live in the model.
  uint64_t removes = 0;
  uint64_t backpressure = 0;  // Put() answered ResourceExhausted.
  // Reads.
  uint64_t gets = 0;
  uint64_t scans_started = 0;
  uint64_t scans_completed = 0;  // Read to the end and checked.
  uint64_t scans_aborted = 0;    // By Abort(), mid-scan or mid-read.
  uint64_t scans_failed = 0;     // Ended by an injected fault's error.
  uint64_t aborts_mid_read = 0;
  uint64_t reads_after_abort = 0;
  uint64_t probes = 0;
  uint64_t probes_backward = 0;  // Backward probes (no-ops).
  uint64_t read_agains = 0;
  uint64_t values_checked = 0;  // Scan values and get results compared.
  uint64_t gets_failed = 0;     // Ended by an injected fault's error.
  // Snapshots and background work.
  uint64_t snapshots_acquired = 0;
  uint64_t snapshots_released = 0;
  uint64_t snapshots_refused = 0;  // Past the memory-table limit.
  uint64_t compactions = 0;
  uint64_t compact_alls = 0;
  uint64_t checkpoints = 0;
  uint64_t checkpoints_durable = 0;
  uint64_t work_failed = 0;      // Compact/Checkpoint ended by a fault.
  uint64_t out_of_space = 0;     // ...of which a small device was full.
  uint64_t busy_rejections = 0;  // A second Compact/Checkpoint refused.
  // The tree's shape, sampled after each Compact/Checkpoint (maxima).
  uint64_t deepest_level = 0;  // 1 + the deepest level holding a table.
  uint64_t live_tables_max = 0;
  // Faults, crashes and recovery.
  FaultStats faults;
  uint64_t crashes = 0;  // Crashes survived (reopened, checked).
  uint64_t mid_checkpoint_crashes = 0;
  uint64_t restarts = 0;          // Clean shutdowns and reopens.
  uint64_t open_retries = 0;      // Tree::Open() failed by a fault, retried.
  uint64_t recovered_values = 0;  // Values checked after reopening.
  uint64_t divergences = 0;
  uint64_t ticks = 0;
  double seconds = 0;  // Wall time (not deterministic).

  // SimulatorStats::Add()
  //
  // Adds every counter of `other` to this one.
  void Add(const SimulatorStats& other);
};

// SimulatorResult
//
// The outcome of one run.
struct SimulatorResult {
  bool ok = true;
  // What diverged (empty if ok).
  std::string failure;
  // Operations issued when the failure was found: the shortest --ops that
  // reproduces it.
  uint64_t failed_at_op = 0;
  // The configuration the seed chose, in one line.
  std::string config;
  SimulatorStats stats;
  // A hash of everything the run did and saw: equal for equal runs.
  uint64_t digest = 0;
};

// RunSimulation()
//
// Runs one seed as described in the file comment. Never aborts on a
// divergence (it returns it); a library assertion still aborts the process.
SimulatorResult RunSimulation(const SimulatorOptions& options);

// FormatStats()
//
// A multi-line, human-readable summary of `stats` (no trailing newline).
std::string FormatStats(const SimulatorStats& stats);

// ReproCommand()
//
// The command that replays `seed` for `ops` operations (with the flags of
// `options` that change a run).
std::string ReproCommand(uint64_t seed, uint64_t ops,
                         const SimulatorOptions& options);

}  // namespace simulator
}  // namespace lsmscan

#endif  // LSMSCAN_TOOLS_SIMULATOR_LIB_H_
