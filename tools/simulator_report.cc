// File: tools/simulator_report.cc
// -----------------------------------------------------------------------------
//
// What a run reports: adding up the stats of several seeds, the
// human-readable summary, and the command that replays a seed.

#include <algorithm>
#include <cstdint>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "lsmscan/tools/simulator_lib.h"

namespace lsmscan {
namespace simulator {

void SimulatorStats::Add(const SimulatorStats& other) {
  ops += other.ops;
  puts += other.puts;
  overwrites += other.overwrites;
  removes += other.removes;
  backpressure += other.backpressure;
  gets += other.gets;
  scans_started += other.scans_started;
  scans_completed += other.scans_completed;
  scans_aborted += other.scans_aborted;
  scans_failed += other.scans_failed;
  aborts_mid_read += other.aborts_mid_read;
  reads_after_abort += other.reads_after_abort;
  probes += other.probes;
  probes_backward += other.probes_backward;
  read_agains += other.read_agains;
  values_checked += other.values_checked;
  gets_failed += other.gets_failed;
  snapshots_acquired += other.snapshots_acquired;
  snapshots_released += other.snapshots_released;
  snapshots_refused += other.snapshots_refused;
  compactions += other.compactions;
  compact_alls += other.compact_alls;
  checkpoints += other.checkpoints;
  checkpoints_durable += other.checkpoints_durable;
  work_failed += other.work_failed;
  out_of_space += other.out_of_space;
  busy_rejections += other.busy_rejections;
  deepest_level = std::max(deepest_level, other.deepest_level);
  live_tables_max = std::max(live_tables_max, other.live_tables_max);
  faults.reads_failed += other.faults.reads_failed;
  faults.writes_failed += other.faults.writes_failed;
  faults.reads_corrupted += other.faults.reads_corrupted;
  faults.completions_delayed += other.faults.completions_delayed;
  faults.writes_dropped += other.faults.writes_dropped;
  crashes += other.crashes;
  mid_checkpoint_crashes += other.mid_checkpoint_crashes;
  restarts += other.restarts;
  open_retries += other.open_retries;
  recovered_values += other.recovered_values;
  divergences += other.divergences;
  ticks += other.ticks;
  seconds += other.seconds;
}

std::string FormatStats(const SimulatorStats& s) {
  const double ops_per_second = s.seconds > 0 ? s.ops / s.seconds : 0;
  return absl::StrFormat(
      "ops:        %d in %.2f s (%.0f ops/s), %d ticks\n"
      "writes:     %d puts, %d overwrites, %d removes, %d back-pressured\n"
      "gets:       %d (%d ended by an injected fault)\n"
      "scans:      %d started, %d completed, %d aborted (%d mid-read, %d "
      "read after abort), %d ended by an injected fault\n"
      "            %d probes (%d backward, no-ops), %d read-agains\n"
      "values:     %d checked against the model\n"
      "snapshots:  %d acquired, %d released, %d refused (memory-table "
      "limit)\n"
      "work:       %d compactions, %d compact-alls, %d checkpoints (%d "
      "durable), %d ended by a fault (%d out of space), %d refused while "
      "busy\n"
      "trees:      up to %d levels holding tables, up to %d live tables\n"
      "faults:     %d read errors, %d bit flips, %d write errors, %d "
      "delayed completions, %d writes dropped by crashes\n"
      "crashes:    %d survived (%d mid-checkpoint), %d clean restarts, %d "
      "open retries, %d values checked after reopening\n"
      "divergences: %d",
      s.ops, s.seconds, ops_per_second, s.ticks, s.puts, s.overwrites,
      s.removes, s.backpressure, s.gets, s.gets_failed, s.scans_started,
      s.scans_completed, s.scans_aborted, s.aborts_mid_read,
      s.reads_after_abort, s.scans_failed, s.probes, s.probes_backward,
      s.read_agains, s.values_checked, s.snapshots_acquired,
      s.snapshots_released, s.snapshots_refused, s.compactions, s.compact_alls,
      s.checkpoints, s.checkpoints_durable, s.work_failed, s.out_of_space,
      s.busy_rejections, s.deepest_level, s.live_tables_max,
      s.faults.reads_failed, s.faults.reads_corrupted, s.faults.writes_failed,
      s.faults.completions_delayed, s.faults.writes_dropped, s.crashes,
      s.mid_checkpoint_crashes, s.restarts, s.open_retries, s.recovered_values,
      s.divergences);
}

std::string ReproCommand(uint64_t seed, uint64_t ops,
                         const SimulatorOptions& options) {
  return absl::StrCat("bazel run //tools:simulator -- --seed=", seed,
                      " --ops=", ops,
                      options.open_faults ? " --open_faults" : "",
                      options.no_background ? " --no_background" : "");
}

}  // namespace simulator
}  // namespace lsmscan
