// The scan's differential test: a tree with data on at least four levels
// and in both kinds of memory table, built by random puts, overwrites and
// removes with compactions in between; snapshots taken along the way; then
// random scans (empty ranges, single keys, the whole key space, ranges
// outside the data, random ones), in both directions, with random probes,
// each compared value by value with the model; with point reads and other
// scans of the same storage between values, and calls in other states (a
// failed Init() first; Abort(), Reset(), Init() again mid-scan). On every
// backend, and under a fault wrapper that delays and reorders completions.
//
// Reproduce a failure with the seed it prints:
//   LSMSCAN_SEED=<seed> bazel test //scan:scan_model_test

#include <cstdint>
#include <memory>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "lsmscan/lsm/direction.h"
#include "lsmscan/lsm/schema.h"
#include "lsmscan/lsm/tree.h"
#include "lsmscan/lsm/tree_testing.h"
#include "lsmscan/scan/scan_buffer.h"
#include "lsmscan/scan/scan_model_fixture.h"
#include "lsmscan/scan/scan_testing.h"
#include "lsmscan/scan/scan_tree.h"
#include "lsmscan/storage/aligned_buffer.h"
#include "lsmscan/storage/base/prng.h"
#include "lsmscan/storage/fault_storage.h"
#include "lsmscan/storage/memory_storage.h"
#include "lsmscan/storage/storage_testing.h"

namespace lsmscan {
namespace {

using Schema32 = Record32Schema;
using Value = Schema32::Value;
using Tree32 = Tree<Schema32>;
using ::lsmscan::testing::Backend;
using ::lsmscan::testing::BackendName;
using ::lsmscan::testing::CheckScan;
using ::lsmscan::testing::CompactBlocking;
using ::lsmscan::testing::kKeyCount;
using ::lsmscan::testing::Model;
using ::lsmscan::testing::ModelTreeTest;
using ::lsmscan::testing::ReadsBetweenValues;
using ::lsmscan::testing::ScanCheckOptions;
using ::lsmscan::testing::ScanCheckResult;
using ::lsmscan::testing::ScanFixture;
using ::lsmscan::testing::SmallTreeOptions;
using ::lsmscan::testing::TestStorageOptions;

// A random range of one of the shapes the scan must handle.
void RandomRange(Prng* prng, uint64_t* key_min, uint64_t* key_max) {
  switch (prng->Uniform(6)) {
    case 0:  // The whole key space.
      *key_min = 0;
      *key_max = Schema32::kKeyMax;
      return;
    case 1:  // A single key.
      *key_min = *key_max = prng->Uniform(kKeyCount);
      return;
    case 2:  // Outside all data.
      *key_min = kKeyCount + prng->Uniform(1000);
      *key_max = *key_min + prng->Uniform(1000);
      return;
    case 3:  // Short.
      *key_min = prng->Uniform(kKeyCount);
      *key_max = *key_min + prng->Uniform(40);
      return;
    default:  // Anything.
      *key_min = prng->Uniform(kKeyCount);
      *key_max = *key_min + prng->Uniform(kKeyCount);
      return;
  }
}
class ScanModelTest : public ModelTreeTest {};

TEST_P(ScanModelTest, ScansMatchTheModel) {
  const uint64_t seed = testing::SeedFromEnvironment(0xC0FFEE);
  SCOPED_TRACE(absl::StrCat("LSMSCAN_SEED=", seed, " backend ",
                            BackendName(GetParam())));
  ASSERT_NO_FATAL_FAILURE(BuildTree(seed));
  ScanFixture& fixture = *fixture_;

  auto buffer = ScanBuffer::ForTree(*fixture.tree(), {.read_ahead_blocks = 2});
  ASSERT_TRUE(buffer.ok());
  Prng& prng = fixture.prng();
  uint64_t read_agains = 0;
  uint64_t values = 0;
  ReadsBetweenValues between(fixture.tree(), &prng);
  uint64_t failed_inits = 0;
  uint64_t interrupts = 0;
  uint64_t resident_reads = 0;
  uint64_t fenced = 0;
  for (int i = 0; i < 400; i++) {
    uint64_t key_min = 0;
    uint64_t key_max = 0;
    RandomRange(&prng, &key_min, &key_max);
    const Direction direction =
        prng.Chance(0.5) ? Direction::kAscending : Direction::kDescending;
    Snapshot snapshot = kSnapshotLatest;
    if (!fixture.snapshots().empty() && prng.Chance(0.3)) {
      snapshot = fixture.snapshots()[prng.Uniform(fixture.snapshots().size())];
    }
    SCOPED_TRACE(absl::StrCat("scan ", i, ": [", key_min, ", ", key_max, "] ",
                              DirectionName(direction), " at snapshot ",
                              snapshot));
    ScanCheckOptions check;
    check.probe_probability = prng.Chance(0.3) ? 0.01 : 0;
    // Calls in other states: a failed Init() first; Abort(), Reset(), a
    // failed or a good Init() mid-scan.
    check.failed_init_probability = 0.1;
    check.interrupt_probability = prng.Chance(0.2) ? 0.005 : 0;
    // Point reads and other scans of the same storage between values.
    if (prng.Chance(0.3)) {
      check.between_values =
          between.Work(fixture.model().at(snapshot), snapshot);
    }
    check.read_resident_probability = prng.Chance(0.5) ? 0.7 : 0;
    const ScanCheckResult result =
        CheckScan(fixture.tree(), buffer->get(), snapshot, key_min, key_max,
                  direction, fixture.model().at(snapshot), &prng, check);
    ASSERT_TRUE(result.status.ok()) << result.status;
    if (::testing::Test::HasFailure()) return;
    read_agains += result.stats.read_agains;
    values += result.values;
    failed_inits += result.failed_inits;
    interrupts += result.interrupts;
    resident_reads += result.resident_reads;
    fenced += result.stats.fenced;
  }
  EXPECT_GT(values, 0u);
  // The resident path ran (on every backend: the small cache holds some
  // blocks, zero-copy storages all of them once verified).
  EXPECT_GT(resident_reads, 0u);
  if (!fixture.tree()->storage()->zero_copy()) {
    EXPECT_GT(read_agains, 0u);  // Buffers ran dry and were refilled.
    // Levels waited for blocks with their fences in the merge (the merge's
    // own check, that no value passes a fence, ran on every value).
    EXPECT_GT(fenced, 0u);
  }
  EXPECT_GT(failed_inits, 10u);
  EXPECT_GT(interrupts, 10u);
  EXPECT_GT(between.gets(), 100u);
  EXPECT_GT(between.scans(), 100u);
  fixture.ReleaseAll();
}

INSTANTIATE_TEST_SUITE_P(Backends, ScanModelTest,
                         ::testing::ValuesIn(testing::AllBackends()),
                         [](const ::testing::TestParamInfo<Backend>& info) {
                           return BackendName(info.param);
                         });

// Many blocks and tables with no cache on a copying backend: without
// read-ahead every block costs a ReadAgain, and read-ahead of every depth
// must not change results; through the manifest and index blocks or
// through the levels' fence keys.
TEST(ScanModelTest, ReadAgainAtEveryBlockWithAnyReadAhead) {
  const uint64_t seed = testing::SeedFromEnvironment(4242);
  SCOPED_TRACE(absl::StrCat("LSMSCAN_SEED=", seed));
  TreeOptions options = SmallTreeOptions();
  options.cache_block_count = 0;
  ScanFixture fixture(Backend::kFaultDelays, seed, options);
  ASSERT_NO_FATAL_FAILURE(fixture.Build(8000));
  ASSERT_TRUE(CompactBlocking(fixture.tree()).ok());
  for (bool fences : {false, true}) {
    for (uint32_t read_ahead : {0u, 1u, 3u, kReadAheadBlocksMax}) {
      // Fence heads on and off (off: the merge stops at the first level that
      // waits), alternating with the read-ahead.
      const bool fence_heads = read_ahead % 2 == 0;
      auto buffer =
          ScanBuffer::ForTree(*fixture.tree(), {.read_ahead_blocks = read_ahead,
                                                .use_fences = fences,
                                                .fence_heads = fence_heads});
      ASSERT_TRUE(buffer.ok());
      for (Direction direction :
           {Direction::kAscending, Direction::kDescending}) {
        SCOPED_TRACE(absl::StrCat(
            "read-ahead ", read_ahead, " ", DirectionName(direction),
            fences ? " fence keys" : " index blocks",
            fence_heads ? " fence heads" : " no fence heads"));
        const ScanCheckResult result = CheckScan(
            fixture.tree(), buffer->get(), kSnapshotLatest, 0, kKeyCount,
            direction, fixture.model().latest(), &fixture.prng());
        ASSERT_TRUE(result.status.ok());
        EXPECT_EQ(result.stats.fenced > 0, fence_heads);
        const uint64_t data_blocks = result.stats.levels.data_blocks;
        EXPECT_GT(data_blocks, 10u);
        // Fence keys replace the index blocks.
        if (fences) {
          EXPECT_EQ(result.stats.levels.index_blocks, 0u);
        }
        // Blocks not resident (this zero-copy storage keeps the ones a scan
        // verified) are submitted by Read() (the first, then one after each
        // ReadAgain), at most a queue per level, and when an index block
        // arrives, at most a queue.
        EXPECT_GE((1 + result.stats.read_agains) * (read_ahead + 1) *
                          fixture.LevelsWithTables() +
                      result.stats.levels.index_blocks * (read_ahead + 1),
                  data_blocks - result.stats.levels.resident_blocks);
        // Where the queue holds less than the scan, ReadAgain is frequent.
        // The deepest read-ahead's queue holds most of this small tree (all
        // of it with fence keys, which the first Read() queues at once).
        if (read_ahead < kReadAheadBlocksMax) {
          EXPECT_GT(result.stats.read_agains, 10u);
        } else if (!fences) {
          EXPECT_GT(result.stats.read_agains, 1u);
        }
      }
    }
  }
  fixture.ReleaseAll();
}

// Corruption under the scan surfaces as an error from Read(), never as data.
TEST(ScanModelTest, InjectedCorruptionEndsTheScanWithAnError) {
  const uint64_t seed = testing::SeedFromEnvironment(99);
  SCOPED_TRACE(absl::StrCat("LSMSCAN_SEED=", seed));
  auto inner = MemoryStorage::Create(TestStorageOptions());
  ASSERT_TRUE(inner.ok());
  FaultStorage storage(inner->get(), FaultOptions(), seed);
  TreeOptions options = SmallTreeOptions();
  options.cache_block_count = 0;
  auto tree = Tree32::Create(&storage, options);
  ASSERT_TRUE(tree.ok());
  Model<Schema32> model;
  Prng prng(seed);
  for (uint64_t i = 0; i < 5000; i++) {
    const Value value = Schema32::Make(prng.Uniform(kKeyCount), i);
    ASSERT_TRUE(testing::PutWithBackPressure(tree->get(), value).ok());
    model.Put(value);
  }
  ASSERT_TRUE(CompactBlocking(tree->get()).ok());
  auto buffer = ScanBuffer::ForTree(**tree);
  ASSERT_TRUE(buffer.ok());
  FaultOptions faults;
  faults.read_corruption_probability = 0.05;
  faults.read_error_probability = 0.02;
  storage.set_options(faults);
  uint64_t failed = 0;
  uint64_t clean = 0;
  for (int i = 0; i < 60; i++) {
    const uint64_t key_min = prng.Uniform(kKeyCount);
    const Direction direction =
        prng.Chance(0.5) ? Direction::kAscending : Direction::kDescending;
    // CheckScan fails the test on any wrong value; a read error is returned.
    const ScanCheckResult result =
        CheckScan(tree->get(), buffer->get(), kSnapshotLatest, key_min,
                  key_min + 800, direction, model.latest(), &prng);
    if (::testing::Test::HasFailure()) return;
    if (result.status.ok()) {
      clean++;
    } else {
      EXPECT_TRUE(absl::IsDataLoss(result.status) ||
                  absl::IsInternal(result.status))
          << result.status;
      failed++;
    }
  }
  EXPECT_GT(failed, 0u);
  EXPECT_GT(clean, 0u);
}

// Regression (found by //tools:simulator --seed=11 --ops=4789): a level
// whose read-ahead read failed keeps its buffered values (the merge may be
// reading them) and is finished; Probe() then returned early without
// cutting them, so the scan went on with keys before the probe.
TEST(ScanTreeFaultTest, ProbeCutsValuesBufferedBeforeAReadAheadFailed) {
  auto inner = MemoryStorage::Create(TestStorageOptions());
  ASSERT_TRUE(inner.ok());
  FaultStorage storage(inner->get(), FaultOptions(), /*seed=*/1);
  TreeOptions options = SmallTreeOptions();
  options.cache_block_count = 16;
  auto tree = Tree32::Create(&storage, options);
  ASSERT_TRUE(tree.ok());
  for (uint64_t key = 0; key < 400; key += 2) {  // One table: two blocks.
    ASSERT_TRUE(
        testing::PutWithBackPressure(tree->get(), Schema32::Make(key, key))
            .ok());
  }
  ASSERT_TRUE(testing::CheckpointBlocking(tree->get()).ok());
  // Key 0's index and data block are now cached: resident for the scan.
  AlignedBuffer frame(4096);
  ASSERT_TRUE(
      testing::GetBlocking(tree->get(), 0, kSnapshotLatest, frame.data()).ok());
  auto buffer = ScanBuffer::ForTree(**tree, {.read_ahead_blocks = 1});
  ASSERT_TRUE(buffer.ok());
  ScanTree<Schema32> scan;
  ASSERT_TRUE(scan.Init(tree->get(), buffer->get(), kSnapshotLatest, 0,
                        Schema32::kKeyMax, Direction::kAscending)
                  .ok());
  // Every read from now on fails, one tick late: after Read() called back.
  FaultOptions faults;
  faults.read_error_probability = 1;
  faults.delay_probability = 1;
  faults.delay_ticks_max = 1;
  storage.set_options(faults);
  ASSERT_TRUE(testing::ReadBlocking(&scan, &storage).ok());
  storage.Tick();              // The read-ahead of block 1 fails now.
  const uint64_t probe = 300;  // Past block 0 (keys 0..250).
  ASSERT_TRUE(scan.Probe(probe).ok());
  const ScanNext<Value> next = scan.Next();
  if (next.kind == ScanNextKind::kValue) {
    EXPECT_GE(Schema32::key_of(*next.value), probe);
  }
  // The failure surfaces as the scan's error.
  ASSERT_EQ(next.kind, ScanNextKind::kReadAgain);
  const absl::Status read = testing::ReadBlocking(&scan, &storage);
  EXPECT_TRUE(absl::IsInternal(read)) << read;
  EXPECT_EQ(scan.state(), ScanState::kAborted);
  storage.set_options(FaultOptions());
}

// Regression (found by //tools:simulator --seed=9 --ops=4051): a scan of a
// tree whose whole memory table pool is sealed (kImmutableTableCountMax + 1
// tables) merges every table.
TEST(ScanTreeMemoryTest, ScansEveryTableOfAFullPool) {
  auto storage = MemoryStorage::Create(TestStorageOptions());
  ASSERT_TRUE(storage.ok());
  TreeOptions options = SmallTreeOptions();
  options.immutable_table_count_max = kImmutableTableCountMax;
  options.memory_table_value_count_max = 4;
  auto tree = Tree32::Create(storage->get(), options);
  ASSERT_TRUE(tree.ok());
  Model<Schema32> model;
  for (uint64_t i = 0;; i++) {
    const Value value = Schema32::Make(i % 23, i);  // Overwrites across tables.
    if (!(*tree)->Put(value).ok()) break;
    model.Put(value);
  }
  // Every table of the pool is sealed but the full mutable one. A snapshot
  // would hold them all: past the limit, so it is refused.
  ASSERT_EQ((*tree)->memory_tables().immutables().size(),
            kImmutableTableCountMax);
  EXPECT_EQ((*tree)->AcquireSnapshot().status().code(),
            absl::StatusCode::kResourceExhausted);
  auto buffer = ScanBuffer::ForTree(**tree);
  ASSERT_TRUE(buffer.ok());
  Prng prng(1);
  for (Direction direction : {Direction::kAscending, Direction::kDescending}) {
    const ScanCheckResult result =
        CheckScan(tree->get(), buffer->get(), kSnapshotLatest, 0, 100,
                  direction, model.latest(), &prng);
    ASSERT_TRUE(result.status.ok()) << result.status;
    EXPECT_EQ(result.values, model.latest().size());
  }
}

// Regression (found by //tools:simulator --seed=1 --ops=1886): Read() on a
// scan aborted while its previous Read() was completing by a next tick (no
// level needed I/O) asserted `!next_tick_pending_`, though Read() is allowed
// on an aborted scan.
TEST(ScanTreeAbortTest, ReadAfterAbortingAReadThatCompletesByNextTick) {
  auto storage = MemoryStorage::Create(TestStorageOptions());
  ASSERT_TRUE(storage.ok());
  auto tree = Tree32::Create(storage->get(), SmallTreeOptions());
  ASSERT_TRUE(tree.ok());
  for (uint64_t key = 0; key < 10; key++) {
    ASSERT_TRUE((*tree)->Put(Schema32::Make(key, key)).ok());  // Memory only.
  }
  auto buffer = ScanBuffer::ForTree(**tree);
  ASSERT_TRUE(buffer.ok());
  ScanTree<Schema32> scan;
  ASSERT_TRUE(scan.Init(tree->get(), buffer->get(), kSnapshotLatest, 0, 100,
                        Direction::kAscending)
                  .ok());
  struct Calls {
    int count = 0;
    absl::Status status = absl::UnknownError("not called");
  } calls;
  auto callback = [](void* context, ScanTree<Schema32>*, absl::Status status) {
    auto* c = static_cast<Calls*>(context);
    c->count++;
    c->status = std::move(status);
  };
  scan.Read(callback, &calls);  // No level has tables: a next tick completes.
  scan.Abort();
  scan.Read(callback, &calls);  // Allowed on an aborted scan.
  EXPECT_EQ(calls.count, 0);    // Never from inside Read().
  (*storage)->RunUntilIdle();
  EXPECT_EQ(calls.count, 1);  // The second Read() calls back, once.
  EXPECT_TRUE(calls.status.ok()) << calls.status;
  EXPECT_EQ(scan.state(), ScanState::kAborted);
  EXPECT_EQ(scan.Next().kind, ScanNextKind::kEnd);
}

}  // namespace
}  // namespace lsmscan
