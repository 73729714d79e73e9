// Background compaction (TreeOptions::background_compaction) seen through
// writes and scans: a sustained write loop that ticks the storage as an event
// loop would never sees ResourceExhausted and never calls Compact(); the
// compaction goes on while a scan is paused; NotifyWhenWritable() calls back
// once; and a seeded differential test mixes writes, scans, snapshots and
// explicit Compact()/CompactAll()/Checkpoint() with the background work.
//
// Reproduce a failure with the seed it prints:
//   LSMSCAN_SEED=<seed> bazel test //scan:scan_background_compaction_test

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <map>
#include <memory>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "lsmscan/lsm/direction.h"
#include "lsmscan/lsm/schema.h"
#include "lsmscan/lsm/tree.h"
#include "lsmscan/lsm/tree_blocking.h"
#include "lsmscan/lsm/tree_testing.h"
#include "lsmscan/scan/scan_buffer.h"
#include "lsmscan/scan/scan_testing.h"
#include "lsmscan/scan/scan_tree.h"
#include "lsmscan/storage/base/prng.h"
#include "lsmscan/storage/memory_storage.h"
#include "lsmscan/storage/storage_testing.h"

namespace lsmscan {
namespace {

using Schema32 = Record32Schema;
using Value = Schema32::Value;
using Tree32 = Tree<Schema32>;
using Map = std::map<uint64_t, Value>;
using ::lsmscan::testing::CheckScan;
using ::lsmscan::testing::Model;
using ::lsmscan::testing::ReadBlocking;
using ::lsmscan::testing::ScanCheckResult;

StorageOptions TestStorageOptions() {
  StorageOptions options;
  options.block_size_bytes = 4096;
  options.block_count_max = 1 << 16;
  return options;
}

// Small memory tables (1,024 values) and tables (8 data blocks): many
// seals, flushes and level compactions per million writes.
TreeOptions PacedOptions() {
  TreeOptions options;
  options.level_count = 5;
  options.growth_factor = 4;
  options.table_data_block_count_max = 8;
  options.memory_table_value_count_max = 1024;
  options.immutable_table_count_max = 2;
  options.cache_block_count = 64;
  return options;
}

struct TestTree {
  std::unique_ptr<MemoryStorage> storage;
  std::unique_ptr<Tree32> tree;
};

TestTree MakeTree(const TreeOptions& options) {
  TestTree t;
  auto storage = MemoryStorage::Create(TestStorageOptions());
  EXPECT_TRUE(storage.ok()) << storage.status();
  t.storage = std::move(storage).value();
  auto tree = Tree32::Create(t.storage.get(), options);
  EXPECT_TRUE(tree.ok()) << tree.status();
  t.tree = std::move(tree).value();
  return t;
}

// Scans the whole key space at `snapshot` and checks it against `model`.
void ExpectScanEquals(Tree32* tree, Snapshot snapshot, const Map& model,
                      uint64_t key_count, Prng* prng) {
  auto buffer = ScanBuffer::ForTree(*tree);
  ASSERT_TRUE(buffer.ok());
  for (Direction direction : {Direction::kAscending, Direction::kDescending}) {
    const ScanCheckResult result =
        CheckScan(tree, buffer->get(), snapshot, 0, key_count - 1, direction,
                  model, prng);
    ASSERT_TRUE(result.status.ok()) << result.status;
    EXPECT_EQ(result.values, model.size());
  }
}

// The levels keep their configured shape: every level but the last holds
// at most LevelTableCountMax() tables.
void ExpectShape(const Tree32& tree) {
  const TreeStats stats = tree.stats();
  for (uint32_t level = 0; level + 1 < tree.level_count(); level++) {
    EXPECT_LE(stats.levels[level].tables, tree.LevelTableCountMax(level))
        << "level " << level;
  }
}

// A writer that ticks the storage once per write (TickMode::kPoll, as an
// event loop does between requests) and never calls Compact(): no write
// is refused, and the tree ends equal to the model, in its shape.
TEST(BackgroundCompactionTest, SustainedWritesNeverSeeResourceExhausted) {
  const uint64_t seed = testing::SeedFromEnvironment(1414);
  SCOPED_TRACE(absl::StrCat("LSMSCAN_SEED=", seed));
  Prng prng(seed);
  TestTree t = MakeTree(PacedOptions());
  Model<Schema32> model;
  constexpr uint64_t kWrites = 1'000'000;
  constexpr uint64_t kKeyCount = 200'000;
  uint64_t sorted_runs_max = 0;
  for (uint64_t i = 0; i < kWrites; i++) {
    const uint64_t key = prng.Uniform(kKeyCount);
    const Value value = prng.Chance(0.1) ? Schema32::tombstone(key)
                                         : Schema32::Make(key, prng.Next());
    const absl::Status status = t.tree->Put(value);
    ASSERT_TRUE(status.ok()) << "write " << i << ": " << status;
    model.Put(value);
    t.storage->Tick(Storage::TickMode::kPoll);
    if (i % 4096 == 0) {
      sorted_runs_max = std::max(sorted_runs_max, t.tree->stats().sorted_runs);
    }
  }
  const TreeStats during = t.tree->stats();
  EXPECT_GT(during.flushes, kWrites / 1024 / 2);
  EXPECT_GT(during.compactions + during.moves, 0u);
  // Memory runs are bounded by the pool; disk runs by the level count.
  EXPECT_LE(sorted_runs_max,
            t.tree->level_count() + 3 * kMemoryTableRunCountMax);
  // Idle ticks finish what the last writes owe; the shape is then kept.
  t.storage->RunUntilIdle();
  EXPECT_FALSE(t.tree->background_busy());
  ExpectShape(*t.tree);
  const TreeStats end = t.tree->stats();
  std::printf(
      "sorted runs: at most %llu while writing, %llu at the end; "
      "%llu flushes, %llu compactions, %llu moves\n",
      static_cast<unsigned long long>(sorted_runs_max),
      static_cast<unsigned long long>(end.sorted_runs),
      static_cast<unsigned long long>(end.flushes),
      static_cast<unsigned long long>(end.compactions),
      static_cast<unsigned long long>(end.moves));
  ExpectScanEquals(t.tree.get(), kSnapshotLatest, model.latest(), kKeyCount,
                   &prng);
}

// Writes `count` values with a tick after each; none is refused.
void WriteTicking(TestTree* t, Model<Schema32>* model, Prng* prng,
                  uint64_t count, uint64_t key_count) {
  for (uint64_t i = 0; i < count; i++) {
    const Value value = Schema32::Make(prng->Uniform(key_count), prng->Next());
    const absl::Status status = t->tree->Put(value);
    ASSERT_TRUE(status.ok()) << status;
    model->Put(value);
    t->storage->Tick(Storage::TickMode::kPoll);
  }
}

// A scan stopped between a ReadAgain and its Read() holds its snapshot;
// meanwhile writes go on and background compaction flushes and compacts
// (retiring tables the scan still reads); the scan then ends equal to the
// model at its start.
TEST(BackgroundCompactionTest, CompactionProgressesWhileAScanIsPaused) {
  const uint64_t seed = testing::SeedFromEnvironment(77);
  SCOPED_TRACE(absl::StrCat("LSMSCAN_SEED=", seed));
  Prng prng(seed);
  TestTree t = MakeTree(PacedOptions());
  Model<Schema32> model;
  constexpr uint64_t kKeyCount = 50'000;
  ASSERT_NO_FATAL_FAILURE(WriteTicking(&t, &model, &prng, 60'000, kKeyCount));
  const Map at_start = model.latest();
  auto buffer = ScanBuffer::ForTree(*t.tree);
  ASSERT_TRUE(buffer.ok());
  ScanTree<Schema32> scan;
  ASSERT_TRUE(scan.Init(t.tree.get(), buffer->get(), kSnapshotLatest, 0,
                        kKeyCount - 1, Direction::kAscending)
                  .ok());
  std::vector<Value> seen;
  bool paused_once = false;
  ASSERT_TRUE(ReadBlocking(&scan, t.storage.get()).ok());
  while (true) {
    const ScanNext<Value> next = scan.Next();
    if (next.kind == ScanNextKind::kEnd) break;
    if (next.kind == ScanNextKind::kValue) {
      seen.push_back(*next.value);
      continue;
    }
    if (!paused_once && !seen.empty()) {
      // Paused in kNeedsData: the writer and the compaction go on.
      paused_once = true;
      const TreeStats before = t.tree->stats();
      ASSERT_NO_FATAL_FAILURE(
          WriteTicking(&t, &model, &prng, 30'000, kKeyCount));
      const TreeStats after = t.tree->stats();
      EXPECT_GT(after.flushes, before.flushes);
      EXPECT_GT(after.compactions + after.moves,
                before.compactions + before.moves);
      EXPECT_GT(after.tables_freed, before.tables_freed);
    }
    ASSERT_TRUE(ReadBlocking(&scan, t.storage.get()).ok());
  }
  ASSERT_TRUE(paused_once) << "the scan never asked to read";
  ASSERT_TRUE(scan.status().ok()) << scan.status();
  ASSERT_EQ(seen.size(), at_start.size());
  size_t i = 0;
  for (const auto& [key, value] : at_start) {
    ASSERT_EQ(std::memcmp(&seen[i], &value, sizeof(Value)), 0)
        << "value " << i << " (key " << key << ")";
    i++;
  }
}

// A seeded mix of writes, removes, full scans (each merging while the
// background work ticks), snapshots held across many compactions, and
// explicit Compact(), CompactAll() and Checkpoint() started while background
// work runs (joining it) or blocking; every scan equals the model at its
// snapshot. Writes refused while snapshots hold every table wait with
// WaitWritableBlocking(), or release a snapshot when nothing can free one.
class RandomRun {
 public:
  RandomRun(testing::Backend backend, uint64_t seed)
      : prng_(seed), factory_(backend, TestStorageOptions(), seed) {
    auto storage = factory_.Open(OpenMode::kCreate);
    EXPECT_TRUE(storage.ok()) << storage.status();
    storage_ = std::move(storage).value();
    auto tree = Tree32::Create(storage_->get(), testing::SmallTreeOptions());
    EXPECT_TRUE(tree.ok()) << tree.status();
    tree_ = std::move(tree).value();
    auto buffer = ScanBuffer::ForTree(*tree_);
    EXPECT_TRUE(buffer.ok());
    buffer_ = std::move(buffer).value();
  }

  ~RandomRun() {
    while (explicit_.running) storage()->Tick(Storage::TickMode::kPoll);
    while (!handles_.empty()) Release();
  }

  void Run(uint64_t op_count) {
    for (uint64_t op = 0; op < op_count; op++) {
      SCOPED_TRACE(absl::StrCat("op ", op));
      const uint64_t r = prng_.Uniform(1000);
      if (r < 800) {
        const uint64_t key = prng_.Uniform(kKeyCount);
        ASSERT_NO_FATAL_FAILURE(Write(r < 700 ? Schema32::Make(key, op)
                                              : Schema32::tombstone(key)));
      } else if (r < 803) {
        ASSERT_NO_FATAL_FAILURE(CheckAt(kSnapshotLatest, model_.latest()));
      } else if (r < 805 && !handles_.empty()) {
        const Snapshot snapshot =
            handles_[prng_.Uniform(handles_.size())].snapshot();
        ASSERT_NO_FATAL_FAILURE(CheckAt(snapshot, model_.at(snapshot)));
      } else if (r < 809 && handles_.size() < 6) {
        auto handle = tree_->AcquireSnapshot();
        // The documented snapshot limit (snapshots holding too many memory
        // tables) refuses some: that is not this test's concern.
        if (absl::IsResourceExhausted(handle.status())) continue;
        ASSERT_TRUE(handle.ok()) << handle.status();
        if (!model_.frozen().contains(handle->snapshot())) {
          model_.Freeze(handle->snapshot());
        }
        handles_.push_back(*handle);
      } else if (r < 812 && !handles_.empty()) {
        Release();
      } else if (r < 815) {
        ASSERT_NO_FATAL_FAILURE(StartExplicit());
      } else if (r < 816 && !tree_->busy()) {
        ASSERT_TRUE(CompactBlocking(tree_.get()).ok());
      }
      const uint64_t ticks = prng_.Chance(0.1) ? prng_.Uniform(8) : 1;
      for (uint64_t i = 0; i < ticks; i++) {
        storage()->Tick(Storage::TickMode::kPoll);
      }
      ASSERT_TRUE(explicit_.status.ok()) << explicit_.status;
      ASSERT_TRUE(tree_->background_status().ok());
    }
    while (explicit_.running) storage()->Tick(Storage::TickMode::kPoll);
    while (!handles_.empty()) Release();
    storage()->RunUntilIdle();
    ExpectShape(*tree_);
    ASSERT_NO_FATAL_FAILURE(CheckAt(kSnapshotLatest, model_.latest()));
  }

 private:
  static constexpr uint64_t kKeyCount = 6000;

  struct Explicit {
    bool running = false;
    absl::Status status;
  };

  Storage* storage() { return storage_->get(); }

  void Write(const Value& value) {
    absl::Status status = tree_->Put(value);
    while (absl::IsResourceExhausted(status)) {
      const absl::Status waited = WaitWritableBlocking(tree_.get());
      if (absl::IsResourceExhausted(waited)) {
        // Nothing in flight frees a table: the snapshots hold them all.
        ASSERT_FALSE(handles_.empty()) << waited;
        Release();
      } else {
        ASSERT_TRUE(waited.ok()) << waited;
      }
      status = tree_->Put(value);
    }
    ASSERT_TRUE(status.ok()) << status;
    model_.Put(value);
  }

  void Release() {
    const SnapshotHandle handle = handles_.front();
    handles_.erase(handles_.begin());
    ASSERT_TRUE(tree_->ReleaseSnapshot(handle).ok());
    for (const SnapshotHandle& other : handles_) {
      if (other.snapshot() == handle.snapshot()) return;
    }
    model_.Thaw(handle.snapshot());
  }

  // Starts Compact(), CompactAll() or Checkpoint() without waiting; while
  // one runs, another is refused with FailedPrecondition.
  void StartExplicit() {
    auto done = [](void* context, absl::Status status) {
      auto* e = static_cast<Explicit*>(context);
      e->running = false;
      e->status = std::move(status);
    };
    const uint64_t which = prng_.Uniform(3);
    const absl::Status started = which == 0 ? tree_->Compact(+done, &explicit_)
                                 : which == 1
                                     ? tree_->CompactAll(+done, &explicit_)
                                     : tree_->Checkpoint(+done, &explicit_);
    if (explicit_.running) {
      ASSERT_TRUE(absl::IsFailedPrecondition(started)) << started;
      return;
    }
    ASSERT_TRUE(started.ok()) << started;
    explicit_.running = true;
  }

  void CheckAt(Snapshot snapshot, const Map& model) {
    const Direction direction =
        prng_.Chance(0.5) ? Direction::kAscending : Direction::kDescending;
    const ScanCheckResult result =
        CheckScan(tree_.get(), buffer_.get(), snapshot, 0, kKeyCount - 1,
                  direction, model, &prng_);
    ASSERT_TRUE(result.status.ok()) << result.status;
    ASSERT_EQ(result.values, model.size());
  }

  Prng prng_;
  testing::TestStorageFactory factory_;
  std::unique_ptr<testing::StorageUnderTest> storage_;
  std::unique_ptr<Tree32> tree_;
  std::unique_ptr<ScanBuffer> buffer_;
  Model<Schema32> model_;
  std::vector<SnapshotHandle> handles_;
  Explicit explicit_;
};

class BackgroundModelTest : public ::testing::TestWithParam<testing::Backend> {
};

TEST_P(BackgroundModelTest, RandomOpsMatchTheModel) {
  const uint64_t seed = testing::SeedFromEnvironment(0xBEA7);
  SCOPED_TRACE(absl::StrCat("LSMSCAN_SEED=", seed, " backend ",
                            testing::BackendName(GetParam())));
  std::printf("LSMSCAN_SEED=%llu\n", static_cast<unsigned long long>(seed));
  RandomRun run(GetParam(), seed);
  ASSERT_NO_FATAL_FAILURE(run.Run(60'000));
}

INSTANTIATE_TEST_SUITE_P(
    Backends, BackgroundModelTest,
    ::testing::Values(testing::Backend::kMemory, testing::Backend::kPread,
                      testing::Backend::kFaultDelays),
    [](const ::testing::TestParamInfo<testing::Backend>& info) {
      return testing::BackendName(info.param);
    });

struct Notified {
  int count = 0;
  absl::Status status;
};

void CountNotification(void* context, absl::Status status) {
  auto* notified = static_cast<Notified*>(context);
  notified->count++;
  notified->status = std::move(status);
}

// Fills the memory tables without ticking; returns the writes taken.
uint64_t FillUntilRefused(Tree32* tree) {
  for (uint64_t i = 0;; i++) {
    const absl::Status status = tree->Put(Schema32::Make(i, i));
    if (absl::IsResourceExhausted(status)) return i;
    EXPECT_TRUE(status.ok()) << status;
  }
}

// With compaction off, the waiter is not called while nothing frees a
// table, then exactly once, from a Tick(), after Compact() freed one.
TEST(NotifyWhenWritableTest, RunsExactlyOnceAfterCompactFreesATable) {
  TreeOptions options = PacedOptions();
  options.background_compaction = false;
  TestTree t = MakeTree(options);
  const uint64_t taken = FillUntilRefused(t.tree.get());
  EXPECT_EQ(taken, 3u * 1024u);  // The whole pool: 1 + 2 tables.
  Notified notified;
  ASSERT_TRUE(t.tree->NotifyWhenWritable(&CountNotification, &notified).ok());
  EXPECT_TRUE(absl::IsFailedPrecondition(
      t.tree->NotifyWhenWritable(&CountNotification, &notified)));
  for (int i = 0; i < 10; i++) t.storage->Tick(Storage::TickMode::kPoll);
  EXPECT_EQ(notified.count, 0);
  ASSERT_TRUE(CompactBlocking(t.tree.get()).ok());
  for (int i = 0; i < 10; i++) t.storage->Tick(Storage::TickMode::kPoll);
  EXPECT_EQ(notified.count, 1);
  EXPECT_TRUE(notified.status.ok()) << notified.status;
  EXPECT_TRUE(t.tree->Put(Schema32::Make(1, 1)).ok());
}

// With background compaction on, a writer that filled the tables without
// ticking waits by ticking: the waiter runs once, never inside the call.
TEST(NotifyWhenWritableTest, RunsExactlyOnceWhenBackgroundWorkFreesATable) {
  TestTree t = MakeTree(PacedOptions());
  FillUntilRefused(t.tree.get());
  Notified notified;
  ASSERT_TRUE(t.tree->NotifyWhenWritable(&CountNotification, &notified).ok());
  EXPECT_EQ(notified.count, 0);
  uint64_t ticks = 0;
  while (notified.count == 0 && ticks < 1'000'000) {
    t.storage->Tick(Storage::TickMode::kPoll);
    ticks++;
  }
  EXPECT_EQ(notified.count, 1);
  EXPECT_TRUE(notified.status.ok()) << notified.status;
  t.storage->RunUntilIdle();
  EXPECT_EQ(notified.count, 1);
  EXPECT_TRUE(t.tree->Put(Schema32::Make(1, 1)).ok());
}

// When a write would succeed now, the waiter still runs from a Tick().
TEST(NotifyWhenWritableTest, CallsBackFromATickWhenAlreadyWritable) {
  TestTree t = MakeTree(PacedOptions());
  Notified notified;
  ASSERT_TRUE(t.tree->NotifyWhenWritable(&CountNotification, &notified).ok());
  EXPECT_EQ(notified.count, 0);
  t.storage->Tick(Storage::TickMode::kPoll);
  EXPECT_EQ(notified.count, 1);
  // Cancelled waiters are never called.
  ASSERT_TRUE(t.tree->NotifyWhenWritable(&CountNotification, &notified).ok());
  t.tree->CancelNotifyWhenWritable();
  t.storage->RunUntilIdle();
  EXPECT_EQ(notified.count, 1);
}

// PutWithBackPressure() waits on NotifyWhenWritable() with background
// compaction on: 100,000 writes with no tick of the caller's own.
TEST(NotifyWhenWritableTest, PutWithBackPressureWaitsForBackgroundWork) {
  TestTree t = MakeTree(PacedOptions());
  Model<Schema32> model;
  Prng prng(5);
  for (uint64_t i = 0; i < 100'000; i++) {
    const Value value = Schema32::Make(prng.Uniform(30'000), i);
    ASSERT_TRUE(PutWithBackPressure(t.tree.get(), value).ok());
    model.Put(value);
  }
  EXPECT_GT(t.tree->stats().flushes, 0u);
  ExpectScanEquals(t.tree.get(), kSnapshotLatest, model.latest(), 30'000,
                   &prng);
}

}  // namespace
}  // namespace lsmscan
