// Scans over the memory tables' sorted runs (lsm/table_memory.h).
//
// A scan at kSnapshotLatest right after writes sees them (the suffix written
// since the last read becomes a run); writes made while a scan is open go on
// into the same mutable table, which is not sealed for the scan's sake, and
// the scan keeps returning exactly the state at its Init(); overwrites and
// tombstones across runs resolve newest first, in both directions; the runs
// a table holds stay within kMemoryTableRunCountMax.
//
// Seeded; rerun a failure with LSMSCAN_SEED=<seed>.

#include <cstdint>
#include <cstring>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "gtest/gtest.h"
#include "lsmscan/lsm/direction.h"
#include "lsmscan/lsm/schema.h"
#include "lsmscan/lsm/tree.h"
#include "lsmscan/lsm/tree_testing.h"
#include "lsmscan/scan/scan_buffer.h"
#include "lsmscan/scan/scan_testing.h"
#include "lsmscan/scan/scan_tree.h"
#include "lsmscan/storage/aligned_buffer.h"
#include "lsmscan/storage/base/prng.h"
#include "lsmscan/storage/memory_storage.h"
#include "lsmscan/storage/storage_testing.h"

namespace lsmscan {
namespace {

using Schema32 = Record32Schema;
using Value = Schema32::Value;
using Tree32 = Tree<Schema32>;
using ::lsmscan::testing::CheckpointBlocking;
using ::lsmscan::testing::CheckScan;
using ::lsmscan::testing::CompactBlocking;
using ::lsmscan::testing::GetBlocking;
using ::lsmscan::testing::Model;
using ::lsmscan::testing::ReadBlocking;
using ::lsmscan::testing::ScanCheckOptions;
using ::lsmscan::testing::ScanCheckResult;
using ::lsmscan::testing::SmallStorageOptions;
using ::lsmscan::testing::SmallTreeOptions;

struct Fixture {
  std::unique_ptr<MemoryStorage> storage;
  std::unique_ptr<Tree32> tree;
  std::unique_ptr<ScanBuffer> buffer;
};

Fixture MakeFixture(const TreeOptions& options) {
  Fixture fixture;
  auto storage = MemoryStorage::Create(SmallStorageOptions());
  LSMSCAN_ASSERT(storage.ok());
  fixture.storage = std::move(*storage);
  auto tree = Tree32::Create(fixture.storage.get(), options);
  LSMSCAN_ASSERT(tree.ok());
  fixture.tree = std::move(*tree);
  auto buffer = ScanBuffer::ForTree(*fixture.tree);
  LSMSCAN_ASSERT(buffer.ok());
  fixture.buffer = std::move(*buffer);
  return fixture;
}

// Old code sealed the mutable table at the first Put after any scan had
// pinned it (a tiny sealed table per scan-then-write).
TEST(ScanMemoryRunsTest, APutWhileAScanIsOpenGoesIntoTheSameTable) {
  Fixture f = MakeFixture(SmallTreeOptions());
  for (uint64_t key = 0; key < 10; key++) {
    ASSERT_TRUE(f.tree->Put(Schema32::Make(key, 1)).ok());
  }
  auto scan_owner = std::make_unique<ScanTree<Schema32>>();
  ScanTree<Schema32>& scan = *scan_owner;
  ASSERT_TRUE(scan.Init(f.tree.get(), f.buffer.get(), kSnapshotLatest, 0, 100,
                        Direction::kAscending)
                  .ok());
  ASSERT_TRUE(ReadBlocking(&scan, f.storage.get()).ok());
  ScanNext<Value> next = scan.Next();
  ASSERT_EQ(next.kind, ScanNextKind::kValue);
  EXPECT_EQ(Schema32::key_of(*next.value), 0u);
  const uint64_t seals = f.tree->stats().seals;
  // Writes while the scan reads: a new key in its range, an overwrite, a
  // tombstone.
  ASSERT_TRUE(f.tree->Put(Schema32::Make(50, 2)).ok());
  ASSERT_TRUE(f.tree->Put(Schema32::Make(5, 2)).ok());
  ASSERT_TRUE(f.tree->Remove(7).ok());
  EXPECT_EQ(f.tree->stats().seals, seals);
  EXPECT_EQ(f.tree->memory_tables().immutables().size(), 0u);
  // The open scan sees the state at its Init().
  uint64_t expected_key = 1;
  while (true) {
    next = scan.Next();
    if (next.kind == ScanNextKind::kReadAgain) {
      ASSERT_TRUE(ReadBlocking(&scan, f.storage.get()).ok());
      continue;
    }
    if (next.kind == ScanNextKind::kEnd) break;
    EXPECT_EQ(Schema32::key_of(*next.value), expected_key);
    const Value expected = Schema32::Make(expected_key, 1);
    EXPECT_EQ(std::memcmp(next.value, &expected, sizeof(Value)), 0);
    expected_key++;
  }
  EXPECT_EQ(expected_key, 10u);
  scan_owner.reset();  // Gives the buffer back.
  // A new scan sees the writes: two runs in one table, the newer winning.
  Model<Schema32> model;
  for (uint64_t key = 0; key < 10; key++) model.Put(Schema32::Make(key, 1));
  model.Put(Schema32::Make(50, 2));
  model.Put(Schema32::Make(5, 2));
  model.Put(Schema32::tombstone(7));
  Prng prng(1);
  for (Direction direction : {Direction::kAscending, Direction::kDescending}) {
    const ScanCheckResult result =
        CheckScan(f.tree.get(), f.buffer.get(), kSnapshotLatest, 0, 100,
                  direction, model.latest(), &prng);
    ASSERT_TRUE(result.status.ok()) << result.status;
    EXPECT_EQ(result.values, 10u);
  }
  EXPECT_EQ(f.tree->memory_tables().mutable_table().run_count(), 2u);
  EXPECT_EQ(f.tree->stats().seals, seals);
}

// Random writes (puts, overwrites, tombstones) with scans at the latest
// state after them, ascending and descending; some scans write between
// their values (a scan open across writes), some compactions run. Every
// scan must equal the model as of its Init(); no table holds more runs
// than the bound.
TEST(ScanMemoryRunsTest, ScansAfterAndDuringWritesMatchTheModel) {
  const uint64_t seed = ::lsmscan::testing::SeedFromEnvironment(0x5C4E);
  SCOPED_TRACE("seed " + std::to_string(seed) +
               " (rerun with LSMSCAN_SEED=" + std::to_string(seed) + ")");
  Prng prng(seed);
  TreeOptions options = SmallTreeOptions();
  options.memory_table_value_count_max = 500;
  Fixture f = MakeFixture(options);
  Model<Schema32> model;
  const uint64_t key_space = 700;
  uint64_t scans = 0;
  uint64_t writes_during_scans = 0;
  auto write = [&](bool during_scan) {
    const uint64_t key = prng.Uniform(key_space);
    const Value value = prng.Chance(0.15) ? Schema32::tombstone(key)
                                          : Schema32::Make(key, prng.Next());
    const absl::Status status = f.tree->Put(value);
    if (absl::IsResourceExhausted(status)) return;  // Compacted below.
    ASSERT_TRUE(status.ok()) << status;
    model.Put(value);
    if (during_scan) writes_during_scans++;
  };
  for (int op = 0; op < 3000; op++) {
    const uint64_t kind = prng.Uniform(100);
    if (kind < 80) {
      write(false);
    } else if (kind < 97) {
      const uint64_t a = prng.Uniform(key_space);
      const uint64_t b = prng.Uniform(key_space);
      const Direction direction =
          prng.Chance(0.5) ? Direction::kAscending : Direction::kDescending;
      // The model as of Init(); writes between values change only `model`.
      const std::map<uint64_t, Value> at_init = model.latest();
      ScanCheckOptions check;
      if (prng.Chance(0.5)) {
        check.between_values = [&] {
          if (prng.Chance(0.3)) write(true);
        };
      }
      const ScanCheckResult result = CheckScan(
          f.tree.get(), f.buffer.get(), kSnapshotLatest, std::min(a, b),
          std::max(a, b), direction, at_init, &prng, check);
      ASSERT_TRUE(result.status.ok()) << result.status;
      ASSERT_FALSE(::testing::Test::HasFailure()) << "op " << op;
      scans++;
    } else {
      ASSERT_TRUE(CompactBlocking(f.tree.get()).ok());
    }
    const MemoryTables<Schema32>& memory = f.tree->memory_tables();
    if (memory.has_mutable()) {
      ASSERT_LE(memory.mutable_table().run_count(),
                kMemoryTableRunCountMax - 1);
    }
    for (const TableMemory<Schema32>* table : memory.immutables()) {
      ASSERT_LE(table->run_count(), kMemoryTableRunCountMax);
    }
  }
  EXPECT_GT(scans, 300u);
  EXPECT_GT(writes_during_scans, 100u);
  // And all of it once more after a full compaction.
  ASSERT_TRUE(CompactBlocking(f.tree.get()).ok());
  for (Direction direction : {Direction::kAscending, Direction::kDescending}) {
    const ScanCheckResult result =
        CheckScan(f.tree.get(), f.buffer.get(), kSnapshotLatest, 0, key_space,
                  direction, model.latest(), &prng);
    ASSERT_TRUE(result.status.ok()) << result.status;
    EXPECT_EQ(result.values, model.latest().size());
  }
}

// Issue 13, item 2: Abort() gives back the read view at once (the memory
// tables always; the snapshot too when no read is in flight), so an
// abandoned scan pins nothing a compaction or a write needs.
TEST(ScanMemoryRunsTest, AbortReleasesTheReadView) {
  Fixture f = MakeFixture(SmallTreeOptions());
  for (uint64_t key = 0; key < 10; key++) {
    ASSERT_TRUE(f.tree->Put(Schema32::Make(key, 1)).ok());
  }
  const TableMemory<Schema32>& table = f.tree->memory_tables().mutable_table();
  {
    ScanTree<Schema32> scan;
    ASSERT_TRUE(scan.Init(f.tree.get(), f.buffer.get(), kSnapshotLatest, 0, 100,
                          Direction::kAscending)
                    .ok());
    ASSERT_TRUE(ReadBlocking(&scan, f.storage.get()).ok());
    ASSERT_EQ(scan.Next().kind, ScanNextKind::kValue);
    EXPECT_EQ(table.reader_count(), 1u);
    scan.Abort();
    EXPECT_EQ(table.reader_count(), 0u);
  }
  // With a read in flight (data on disk, a Read() not yet delivered): the
  // memory tables at once, the rest at destruction.
  ASSERT_TRUE(CompactBlocking(f.tree.get()).ok());
  ASSERT_TRUE(CheckpointBlocking(f.tree.get()).ok());
  ASSERT_TRUE(f.tree->Put(Schema32::Make(200, 1)).ok());
  {
    ScanTree<Schema32> scan;
    ASSERT_TRUE(scan.Init(f.tree.get(), f.buffer.get(), kSnapshotLatest, 0, 300,
                          Direction::kAscending)
                    .ok());
    EXPECT_EQ(f.tree->memory_tables().mutable_table().reader_count(), 1u);
    scan.Read([](void*, ScanTree<Schema32>*, absl::Status) {}, nullptr);
    scan.Abort();
    EXPECT_EQ(f.tree->memory_tables().mutable_table().reader_count(), 0u);
  }
}

// Issue 13, item 2: an aborted scan whose read is still in flight keeps its
// snapshot (the blocks being read) but no memory table. Old code kept every
// sealed table the reader's snapshot could see, so a flushed table stayed in
// the pool until the scan was destroyed, and a few such scans wedged writes.
TEST(ScanMemoryRunsTest, AnAbortedScanWithAReadInFlightHoldsNoFlushedTable) {
  Fixture f = MakeFixture(SmallTreeOptions());
  for (uint64_t key = 0; key < 100; key++) {
    ASSERT_TRUE(f.tree->Put(Schema32::Make(key, 1)).ok());
  }
  ASSERT_TRUE(CheckpointBlocking(f.tree.get()).ok());
  // Writes until the mutable table fills and is sealed (no Tick(): it is
  // not flushed yet), so the scan below reads a sealed table.
  uint64_t key_next = 1000;
  while (f.tree->memory_tables().unflushed_count() == 0) {
    ASSERT_LT(key_next, 1000u + 1000000u) << "the mutable table never sealed";
    ASSERT_TRUE(f.tree->Put(Schema32::Make(key_next++, 1)).ok());
  }
  ScanTree<Schema32> scan;
  ASSERT_TRUE(scan.Init(f.tree.get(), f.buffer.get(), kSnapshotLatest, 0,
                        key_next, Direction::kAscending)
                  .ok());
  scan.Read([](void*, ScanTree<Schema32>*, absl::Status) {}, nullptr);
  ASSERT_GT(scan.in_flight_count(), 0u);
  scan.Abort();
  // The sealed table is flushed to level 0 and retired while the scan,
  // aborted, still waits for its read (it never reads memory again).
  ASSERT_TRUE(CheckpointBlocking(f.tree.get()).ok());
  ASSERT_EQ(f.tree->memory_tables().unflushed_count(), 0u);
  EXPECT_EQ(f.tree->memory_tables().retired_count(), 0u)
      << "a flushed memory table is kept for an aborted scan";
  // The scan's snapshot still holds what it reads: the tree stays whole.
  AlignedBuffer frame(f.storage->block_size_bytes());
  for (uint64_t key :
       {uint64_t{0}, uint64_t{99}, uint64_t{1000}, key_next - 1}) {
    absl::StatusOr<std::optional<Value>> value =
        GetBlocking(f.tree.get(), key, kSnapshotLatest, frame.data());
    ASSERT_TRUE(value.ok()) << value.status();
    EXPECT_TRUE(value->has_value()) << key;
  }
}

}  // namespace
}  // namespace lsmscan
