// The deterministic simulator (issue 8): runs seeds of tools/simulator_lib.h
// and reports what they did, or the first divergence with the command that
// reproduces it.
//
//   bazel run //tools:simulator -- --seed=S --ops=N [--seeds=K] [--verbose]
//       [--no_background]
//
// Exits 0 iff every seed ran without a divergence. A library assertion
// aborts the process; a SIGABRT handler then prints the seed and the
// reproduction command before the default action.

#include <unistd.h>

#include <csignal>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "lsmscan/tools/simulator_lib.h"

ABSL_FLAG(uint64_t, seed, 1, "The seed to run (the first one with --seeds).");
ABSL_FLAG(uint64_t, ops, 10000, "Operations to issue per seed.");
ABSL_FLAG(uint64_t, seeds, 1,
          "How many consecutive seeds to run, starting at --seed.");
ABSL_FLAG(bool, verbose, false, "Print every operation and check.");
ABSL_FLAG(bool, no_background, false,
          "Turn the tree's background compaction off: only the workload's "
          "Compact(), CompactAll() and Checkpoint() compact.");
ABSL_FLAG(bool, open_faults, false,
          "Also inject read faults while Tree::Open() recovers after a crash "
          "(see doc/reliability.md, known issues).");

namespace {

using ::lsmscan::simulator::FormatStats;
using ::lsmscan::simulator::ReproCommand;
using ::lsmscan::simulator::RunSimulation;
using ::lsmscan::simulator::SimulatorOptions;
using ::lsmscan::simulator::SimulatorResult;
using ::lsmscan::simulator::SimulatorStats;

// What the SIGABRT handler reports: set before each run, updated per op.
volatile uint64_t g_seed = 0;
volatile uint64_t g_ops_issued = 0;
volatile bool g_open_faults = false;
volatile bool g_no_background = false;

// Appends the decimal digits of `value` to `buffer` at `*length`.
void AppendNumber(char* buffer, size_t* length, uint64_t value) {
  char digits[24];
  size_t count = 0;
  do {
    digits[count++] = static_cast<char>('0' + value % 10);
    value /= 10;
  } while (value > 0);
  while (count > 0) buffer[(*length)++] = digits[--count];
}

void AppendText(char* buffer, size_t* length, const char* text) {
  while (*text != '\0') buffer[(*length)++] = *text++;
}

// Prints the seed and the reproduction command (async-signal-safe), then
// lets the abort proceed.
extern "C" void OnAbort(int signal_number) {
  char message[512];
  size_t length = 0;
  AppendText(message, &length,
             "\nsimulator: the process aborted (a library assertion?) at "
             "seed ");
  AppendNumber(message, &length, g_seed);
  AppendText(message, &length, ", op ");
  AppendNumber(message, &length, g_ops_issued);
  AppendText(message, &length,
             "\nreproduce: bazel run //tools:simulator -- --seed=");
  AppendNumber(message, &length, g_seed);
  AppendText(message, &length, " --ops=");
  AppendNumber(message, &length, g_ops_issued);
  if (g_open_faults) AppendText(message, &length, " --open_faults");
  if (g_no_background) AppendText(message, &length, " --no_background");
  AppendText(message, &length, "\n");
  (void)!write(STDERR_FILENO, message, length);
  std::signal(signal_number, SIG_DFL);
  std::raise(signal_number);
}

SimulatorOptions OptionsFor(uint64_t seed, uint64_t ops) {
  SimulatorOptions options;
  options.seed = seed;
  options.ops = ops;
  options.open_faults = absl::GetFlag(FLAGS_open_faults);
  options.no_background = absl::GetFlag(FLAGS_no_background);
  options.verbose = absl::GetFlag(FLAGS_verbose);
  options.log = [](const std::string& line) {
    std::fputs(line.c_str(), stdout);
    std::fputc('\n', stdout);
    std::fflush(stdout);  // Keep the lines before an assertion's abort.
  };
  options.progress = &g_ops_issued;
  return options;
}

// Replays a failure with as few operations as the failure needs; returns
// the shortest --ops known to reproduce it.
uint64_t ConfirmShortestRepro(const SimulatorResult& result, uint64_t seed,
                              uint64_t ops) {
  if (result.failed_at_op == 0 || result.failed_at_op >= ops) return ops;
  SimulatorOptions options = OptionsFor(seed, result.failed_at_op);
  options.verbose = false;
  const SimulatorResult replay = RunSimulation(options);
  return !replay.ok && replay.failure == result.failure ? result.failed_at_op
                                                        : ops;
}

// Runs one seed and prints its report; returns whether it passed.
bool RunSeed(uint64_t seed, uint64_t ops, SimulatorStats* total) {
  g_seed = seed;
  g_ops_issued = 0;
  const SimulatorOptions options = OptionsFor(seed, ops);
  const SimulatorResult result = RunSimulation(options);
  total->Add(result.stats);
  const SimulatorStats& s = result.stats;
  absl::PrintF(
      "seed %d: %s  %d ops  %.0f ops/s  %d scans  %d values  %d faults  %d "
      "crashes  digest %016x\n  config: %s\n",
      seed, result.ok ? "ok" : "FAILED", s.ops,
      s.seconds > 0 ? s.ops / s.seconds : 0.0, s.scans_started,
      s.values_checked,
      s.faults.reads_failed + s.faults.reads_corrupted +
          s.faults.writes_failed + s.faults.completions_delayed,
      s.crashes, result.digest, result.config);
  if (result.ok) return true;
  absl::PrintF("  divergence: %s\n", result.failure);
  const uint64_t shortest = ConfirmShortestRepro(result, seed, ops);
  absl::PrintF("  seed %d failed; reproduce with:\n    %s\n", seed,
               ReproCommand(seed, shortest, options));
  return false;
}

}  // namespace

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "Deterministic simulator of an lsmscan tree under faults and crashes.\n"
      "  bazel run //tools:simulator -- --seed=S --ops=N [--seeds=K] "
      "[--verbose]");
  absl::ParseCommandLine(argc, argv);
  g_open_faults = absl::GetFlag(FLAGS_open_faults);
  g_no_background = absl::GetFlag(FLAGS_no_background);
  std::signal(SIGABRT, &OnAbort);
  const uint64_t first = absl::GetFlag(FLAGS_seed);
  const uint64_t ops = absl::GetFlag(FLAGS_ops);
  const uint64_t count = absl::GetFlag(FLAGS_seeds);
  SimulatorStats total;
  std::vector<uint64_t> failed;
  for (uint64_t seed = first; seed < first + count; seed++) {
    if (!RunSeed(seed, ops, &total)) failed.push_back(seed);
    std::fflush(stdout);
  }
  absl::PrintF(
      "\n%d seeds (%d..%d) x %d ops: %s\n%s\n", count, first, first + count - 1,
      ops,
      failed.empty() ? "all passed" : absl::StrCat(failed.size(), " FAILED"),
      FormatStats(total));
  for (uint64_t seed : failed) {
    absl::PrintF("failed seed: %d\n", seed);
  }
  return failed.empty() ? 0 : 1;
}
