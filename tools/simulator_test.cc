// Runs the deterministic simulator (tools/simulator_lib.h) for a few seeds
// so `bazel test //...` covers it, and checks that a seed replays exactly.
// Longer runs: bazel run //tools:simulator -- --seed=1000 --seeds=20
// --ops=50000

#include <cstdint>

#include "gtest/gtest.h"
#include "lsmscan/tools/simulator_lib.h"

namespace lsmscan {
namespace simulator {
namespace {

constexpr uint64_t kSeedCount = 12;  // Mid-checkpoint crashes are rare.
constexpr uint64_t kOps = 20000;     // Enough for crashes mid-checkpoint.

SimulatorResult RunSeed(uint64_t seed, uint64_t ops) {
  SimulatorOptions options;
  options.seed = seed;
  options.ops = ops;
  return RunSimulation(options);
}

TEST(SimulatorTest, SeedsRunWithoutDivergence) {
  SimulatorStats total;
  for (uint64_t seed = 1; seed <= kSeedCount; seed++) {
    const SimulatorResult result = RunSeed(seed, kOps);
    EXPECT_TRUE(result.ok) << "seed " << seed << ": " << result.failure
                           << "\n  config: " << result.config
                           << "\n  reproduce: "
                           << ReproCommand(seed, result.failed_at_op, {});
    EXPECT_EQ(result.stats.divergences, 0u);
    EXPECT_EQ(result.stats.ops, kOps);
    total.Add(result.stats);
  }
  // These seeds cover what the simulator is for.
  EXPECT_GT(total.scans_completed, 0u);
  EXPECT_GT(total.aborts_mid_read, 0u);
  EXPECT_GT(total.probes, 0u);
  EXPECT_GT(total.values_checked, 0u);
  EXPECT_GT(total.snapshots_acquired, 0u);
  EXPECT_GT(total.checkpoints_durable, 0u);
  EXPECT_GT(total.faults.reads_failed, 0u);
  EXPECT_GT(total.faults.reads_corrupted, 0u);
  EXPECT_GT(total.faults.completions_delayed, 0u);
  EXPECT_GT(total.crashes, 0u);
  EXPECT_GT(total.mid_checkpoint_crashes, 0u);
  EXPECT_GT(total.recovered_values, 0u);
}

TEST(SimulatorTest, ASeedReplaysExactly) {
  const SimulatorResult first = RunSeed(7, 2000);
  const SimulatorResult second = RunSeed(7, 2000);
  ASSERT_TRUE(first.ok) << first.failure;
  EXPECT_EQ(first.digest, second.digest);
  EXPECT_EQ(first.config, second.config);
  EXPECT_EQ(first.stats.values_checked, second.stats.values_checked);
  EXPECT_EQ(first.stats.ticks, second.stats.ticks);
}

TEST(SimulatorTest, AShorterRunIsAPrefixOfALongerOne) {
  // What makes --ops=<failed_at_op> a reproduction: the first k operations
  // do not depend on how many follow. Equal configurations, and the longer
  // run checks at least what the shorter one did.
  const SimulatorResult shorter = RunSeed(3, 1000);
  const SimulatorResult longer = RunSeed(3, 3000);
  ASSERT_TRUE(shorter.ok) << shorter.failure;
  ASSERT_TRUE(longer.ok) << longer.failure;
  EXPECT_EQ(shorter.config, longer.config);
  EXPECT_LT(shorter.stats.values_checked, longer.stats.values_checked);
}

TEST(SimulatorTest, AnotherSeedDoesSomethingElse) {
  EXPECT_NE(RunSeed(1, 500).digest, RunSeed(2, 500).digest);
}

TEST(SimulatorTest, ReproCommandNamesSeedOpsAndFlags) {
  SimulatorOptions options;
  EXPECT_EQ(ReproCommand(42, 1234, options),
            "bazel run //tools:simulator -- --seed=42 --ops=1234");
  options.open_faults = true;
  EXPECT_EQ(
      ReproCommand(42, 1234, options),
      "bazel run //tools:simulator -- --seed=42 --ops=1234 --open_faults");
}

}  // namespace
}  // namespace simulator
}  // namespace lsmscan
