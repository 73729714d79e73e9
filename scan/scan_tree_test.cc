// ScanTree's state machine: every legal transition, every illegal call, and
// the edge cases of Init, Probe and Abort. The randomized comparison with a
// model is scan_model_test.cc.

#include "lsmscan/scan/scan_tree.h"

#include <algorithm>
#include <cstdint>
#include <memory>
#include <set>
#include <span>
#include <vector>

#include "absl/status/status.h"
#include "gtest/gtest.h"
#include "lsmscan/lsm/direction.h"
#include "lsmscan/lsm/schema.h"
#include "lsmscan/lsm/tree.h"
#include "lsmscan/lsm/tree_testing.h"
#include "lsmscan/scan/scan_buffer.h"
#include "lsmscan/scan/scan_testing.h"
#include "lsmscan/storage/memory_storage.h"
#include "lsmscan/storage/storage_testing.h"

namespace lsmscan {
namespace {

using Schema32 = Record32Schema;
using Value = Schema32::Value;
using Tree32 = Tree<Schema32>;
using Scan32 = ScanTree<Schema32>;
using ::lsmscan::testing::Backend;
using ::lsmscan::testing::CompactBlocking;
using ::lsmscan::testing::PutWithBackPressure;
using ::lsmscan::testing::ReadBlocking;
using ::lsmscan::testing::SmallTreeOptions;
using ::lsmscan::testing::StorageUnderTest;
using ::lsmscan::testing::TestStorageFactory;

StorageOptions TestStorageOptions() {
  StorageOptions options;
  options.block_size_bytes = 4096;
  options.block_count_max = 1 << 14;
  return options;
}

// A tree with keys 0, 2, 4, ..., 2 * (count - 1) (payload seed = key), on
// disk levels, and a scan buffer for it.
class ScanTreeTest : public ::testing::Test {
 protected:
  void SetUp() override { Build(Backend::kMemory, 1000); }

  void Build(Backend backend, uint64_t count) {
    scan_.reset();
    buffer_.reset();
    tree_.reset();
    storage_.reset();
    factory_ =
        std::make_unique<TestStorageFactory>(backend, TestStorageOptions());
    auto storage = factory_->Open(OpenMode::kCreate);
    ASSERT_TRUE(storage.ok());
    storage_ = std::move(storage).value();
    TreeOptions options = SmallTreeOptions();
    options.cache_block_count = 0;
    auto tree = Tree32::Create(storage_->get(), options);
    ASSERT_TRUE(tree.ok());
    tree_ = std::move(tree).value();
    for (uint64_t i = 0; i < count; i++) {
      ASSERT_TRUE(
          PutWithBackPressure(tree_.get(), Schema32::Make(2 * i, 2 * i)).ok());
    }
    ASSERT_TRUE(CompactBlocking(tree_.get()).ok());
    auto buffer = ScanBuffer::ForTree(*tree_);
    ASSERT_TRUE(buffer.ok());
    buffer_ = std::move(buffer).value();
    scan_ = std::make_unique<Scan32>();
  }

  Storage* storage() { return storage_->get(); }

  // Takes values until ReadAgain or End; returns their keys.
  std::vector<uint64_t> TakeAvailable(Scan32* scan, ScanNextKind* last) {
    std::vector<uint64_t> keys;
    while (true) {
      const ScanNext<Value> next = scan->Next();
      *last = next.kind;
      if (next.kind != ScanNextKind::kValue) return keys;
      keys.push_back(Schema32::key_of(*next.value));
    }
  }

  // Runs the scan to its end (Read on ReadAgain); returns all keys.
  std::vector<uint64_t> Drain(Scan32* scan) {
    std::vector<uint64_t> keys;
    while (true) {
      ScanNextKind last = ScanNextKind::kEnd;
      std::vector<uint64_t> more = TakeAvailable(scan, &last);
      keys.insert(keys.end(), more.begin(), more.end());
      if (last == ScanNextKind::kEnd) return keys;
      EXPECT_EQ(scan->state(), ScanState::kNeedsData);
      EXPECT_TRUE(ReadBlocking(scan, storage()).ok());
    }
  }

  std::unique_ptr<TestStorageFactory> factory_;
  std::unique_ptr<StorageUnderTest> storage_;
  std::unique_ptr<Tree32> tree_;
  std::unique_ptr<ScanBuffer> buffer_;
  std::unique_ptr<Scan32> scan_;
};

TEST_F(ScanTreeTest, InitRejectsBadArguments) {
  EXPECT_EQ(scan_
                ->Init(tree_.get(), buffer_.get(), kSnapshotLatest, 10, 9,
                       Direction::kAscending)
                .code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(scan_
                ->Init(tree_.get(), buffer_.get(), /*snapshot=*/777, 0, 10,
                       Direction::kAscending)
                .code(),
            absl::StatusCode::kFailedPrecondition);
  auto small = ScanBuffer::Create(1, 4096, false, {});
  ASSERT_TRUE(small.ok());
  EXPECT_EQ(scan_
                ->Init(tree_.get(), small->get(), kSnapshotLatest, 0, 10,
                       Direction::kAscending)
                .code(),
            absl::StatusCode::kInvalidArgument);
  ASSERT_TRUE(scan_
                  ->Init(tree_.get(), buffer_.get(), kSnapshotLatest, 0, 10,
                         Direction::kAscending)
                  .ok());
  Scan32 other;
  EXPECT_EQ(other
                .Init(tree_.get(), buffer_.get(), kSnapshotLatest, 0, 10,
                      Direction::kAscending)
                .code(),
            absl::StatusCode::kFailedPrecondition);  // The buffer is in use.
  EXPECT_EQ(scan_->state(), ScanState::kIdle);
}

TEST_F(ScanTreeTest, LegalTransitionsOfAWholeScan) {
  ASSERT_TRUE(scan_
                  ->Init(tree_.get(), buffer_.get(), kSnapshotLatest, 0, 1998,
                         Direction::kAscending)
                  .ok());
  EXPECT_EQ(scan_->state(), ScanState::kIdle);
  struct Seen {
    bool called = false;
    absl::Status status;
    ScanState state_in_callback = ScanState::kIdle;
  } seen;
  scan_->Read(
      [](void* context, Scan32* scan, absl::Status status) {
        auto* s = static_cast<Seen*>(context);
        s->called = true;
        s->status = status;
        s->state_in_callback = scan->state();
      },
      &seen);
  EXPECT_EQ(scan_->state(), ScanState::kBuffering);
  EXPECT_FALSE(seen.called);  // Never from inside Read().
  while (!seen.called) storage()->Tick(Storage::TickMode::kWaitForProgress);
  ASSERT_TRUE(seen.status.ok());
  EXPECT_EQ(seen.state_in_callback, ScanState::kSeeking);
  const std::vector<uint64_t> keys = Drain(scan_.get());
  ASSERT_EQ(keys.size(), 1000u);
  for (uint64_t i = 0; i < keys.size(); i++) EXPECT_EQ(keys[i], 2 * i);
  EXPECT_GT(scan_->stats().read_agains, 0u);  // Blocks were read in turn.
  EXPECT_EQ(scan_->state(), ScanState::kSeeking);
  EXPECT_EQ(scan_->Next().kind, ScanNextKind::kEnd);  // End stays End.
  scan_->Abort();
  EXPECT_EQ(scan_->state(), ScanState::kAborted);
  EXPECT_EQ(scan_->Next().kind, ScanNextKind::kEnd);
  // Read() on an aborted scan just calls back, with its status.
  EXPECT_TRUE(ReadBlocking(scan_.get(), storage()).ok());
  EXPECT_EQ(scan_->state(), ScanState::kAborted);
}

// Read-ahead crosses table boundaries: once a table's blocks are all queued,
// the level reads the next table's index block and queues its blocks behind
// (or, with the level's fence keys, goes on to the next table's blocks at
// once), so with a window as deep as the level the merge never waits at a
// boundary.
TEST_F(ScanTreeTest, ReadAheadCrossesTableBoundaries) {
  Build(Backend::kPread, 1000);  // Copying: every block is a real read.
  // 1000 values in tables of 2 blocks (252 values): 4 tables, 8 blocks.
  for (bool fences : {false, true}) {
    SCOPED_TRACE(fences ? "fence keys" : "manifest and index blocks");
    auto buffer = ScanBuffer::ForTree(
        *tree_, {.read_ahead_blocks = 8, .use_fences = fences});
    ASSERT_TRUE(buffer.ok());
    ASSERT_TRUE(scan_
                    ->Init(tree_.get(), buffer->get(), kSnapshotLatest, 0, 1998,
                           Direction::kAscending)
                    .ok());
    ASSERT_TRUE(ReadBlocking(scan_.get(), storage()).ok());
    // Let the reads started so far, and those their completions start, land.
    while (scan_->in_flight_count() > 0) {
      storage()->Tick(Storage::TickMode::kWaitForProgress);
    }
    // Still in the first table, yet every table's blocks are loaded (and,
    // without fence keys, every table's index block was used).
    const ScanNext<Value> first = scan_->Next();
    ASSERT_EQ(first.kind, ScanNextKind::kValue);
    EXPECT_EQ(Schema32::key_of(*first.value), 0u);
    EXPECT_EQ(scan_->stats().levels.index_blocks, fences ? 0u : 4u);
    EXPECT_EQ(scan_->stats().levels.data_blocks, 8u);
    // The rest comes without a single ReadAgain.
    ScanNextKind last = ScanNextKind::kValue;
    const std::vector<uint64_t> rest = TakeAvailable(scan_.get(), &last);
    EXPECT_EQ(last, ScanNextKind::kEnd);
    ASSERT_EQ(rest.size(), 999u);
    for (uint64_t i = 0; i < rest.size(); i++) EXPECT_EQ(rest[i], 2 * (i + 1));
    EXPECT_EQ(scan_->stats().read_agains, 0u);
    scan_ = std::make_unique<Scan32>();  // Before the buffer it uses.
  }
}

// A Rescan() (the iterator's direction switch) walks with the fence keys
// as Init() does, reading no index block.
TEST_F(ScanTreeTest, RescanKeepsUsingTheFenceKeys) {
  Build(Backend::kPread, 1000);  // 4 tables: without fences, 4 index blocks.
  ASSERT_TRUE(scan_
                  ->Init(tree_.get(), buffer_.get(), kSnapshotLatest, 0, 1998,
                         Direction::kAscending)
                  .ok());
  ASSERT_TRUE(ReadBlocking(scan_.get(), storage()).ok());
  ASSERT_EQ(scan_->Next().kind, ScanNextKind::kValue);
  EXPECT_EQ(scan_->stats().levels.index_blocks, 0u);
  for (Direction direction : {Direction::kDescending, Direction::kAscending}) {
    ASSERT_TRUE(scan_->Rescan(600, 1800, direction).ok());
    ASSERT_TRUE(ReadBlocking(scan_.get(), storage()).ok());
    const std::vector<uint64_t> keys = Drain(scan_.get());
    ASSERT_EQ(keys.size(), 601u);
    const bool ascending = direction == Direction::kAscending;
    EXPECT_EQ(keys.front(), ascending ? 600u : 1800u);
    EXPECT_EQ(keys.back(), ascending ? 1800u : 600u);
    EXPECT_EQ(scan_->stats().levels.index_blocks, 0u);
    EXPECT_GT(scan_->stats().levels.data_blocks, 0u);
    // Rescan() needs a live scan: start one again before the next round.
    ASSERT_TRUE(scan_
                    ->Init(tree_.get(), buffer_.get(), kSnapshotLatest, 0, 1998,
                           Direction::kAscending)
                    .ok());
  }
}

TEST_F(ScanTreeTest, AFinishedScanHoldsNothing) {
  ASSERT_TRUE(tree_->Put(Schema32::Make(1, 1)).ok());  // In the mutable table.
  ASSERT_TRUE(scan_
                  ->Init(tree_.get(), buffer_.get(), kSnapshotLatest, 0, 9,
                         Direction::kAscending)
                  .ok());
  ASSERT_TRUE(ReadBlocking(scan_.get(), storage()).ok());
  EXPECT_EQ(Drain(scan_.get()).size(), 6u);
  // The mutable table is no longer pinned: a put writes to it directly
  // instead of sealing it, and its snapshot is no longer held.
  const uint64_t seals = tree_->stats().seals;
  ASSERT_TRUE(tree_->Put(Schema32::Make(3, 3)).ok());
  EXPECT_EQ(tree_->stats().seals, seals);
  EXPECT_EQ(scan_->Next().kind, ScanNextKind::kEnd);
  EXPECT_EQ(scan_->Probe(8).code(), absl::StatusCode::kOk);
  EXPECT_EQ(scan_->Next().kind, ScanNextKind::kEnd);
}

TEST_F(ScanTreeTest, DescendingScanAndEmptyRanges) {
  ASSERT_TRUE(scan_
                  ->Init(tree_.get(), buffer_.get(), kSnapshotLatest, 11, 20,
                         Direction::kDescending)
                  .ok());
  ASSERT_TRUE(ReadBlocking(scan_.get(), storage()).ok());
  EXPECT_EQ(Drain(scan_.get()), (std::vector<uint64_t>{20, 18, 16, 14, 12}));
  for (auto [low, high] :
       {std::pair<uint64_t, uint64_t>{1, 1}, {5000, 6000}, {1999, 1999}}) {
    ASSERT_TRUE(scan_
                    ->Init(tree_.get(), buffer_.get(), kSnapshotLatest, low,
                           high, Direction::kAscending)
                    .ok());
    ASSERT_TRUE(ReadBlocking(scan_.get(), storage()).ok());
    EXPECT_TRUE(Drain(scan_.get()).empty()) << low << ".." << high;
  }
}

TEST_F(ScanTreeTest, EmptyTreeEndsAtOnce) {
  Build(Backend::kMemory, 0);
  ASSERT_TRUE(scan_
                  ->Init(tree_.get(), buffer_.get(), kSnapshotLatest, 0,
                         Schema32::kKeyMax, Direction::kAscending)
                  .ok());
  ASSERT_TRUE(ReadBlocking(scan_.get(), storage()).ok());
  EXPECT_EQ(scan_->Next().kind, ScanNextKind::kEnd);
}

// Probes only move forward: a key behind the range's start, or one already
// returned, is a no-op that returns OK (TigerBeetle's rule), in every state
// and both directions.
TEST_F(ScanTreeTest, ProbeBehindTheStartOrPassedKeysChangesNothing) {
  ASSERT_TRUE(scan_
                  ->Init(tree_.get(), buffer_.get(), kSnapshotLatest, 100, 1998,
                         Direction::kAscending)
                  .ok());
  EXPECT_TRUE(scan_->Probe(50).ok());  // Behind the start, in kIdle.
  EXPECT_EQ(scan_->state(), ScanState::kIdle);
  EXPECT_EQ(scan_->key_min(), 100u);
  ASSERT_TRUE(ReadBlocking(scan_.get(), storage()).ok());
  EXPECT_TRUE(scan_->Probe(0).ok());  // Behind the start, in kSeeking.
  ScanNext<Value> next = scan_->Next();
  ASSERT_EQ(next.kind, ScanNextKind::kValue);
  EXPECT_EQ(Schema32::key_of(*next.value), 100u);
  next = scan_->Next();
  ASSERT_EQ(Schema32::key_of(*next.value), 102u);
  // 101 and 102 are behind the scan's position: nothing changes.
  ASSERT_TRUE(scan_->Probe(101).ok());
  ASSERT_TRUE(scan_->Probe(102).ok());
  EXPECT_TRUE(scan_->Probe(99).ok());
  EXPECT_EQ(scan_->key_min(), 100u);
  const std::vector<uint64_t> keys = Drain(scan_.get());
  ASSERT_EQ(keys.size(), 948u);  // 104, 106, ..., 1998.
  EXPECT_EQ(keys.front(), 104u);

  // Descending: the start is key_max; keys above it are behind.
  ASSERT_TRUE(scan_
                  ->Init(tree_.get(), buffer_.get(), kSnapshotLatest, 0, 300,
                         Direction::kDescending)
                  .ok());
  EXPECT_TRUE(scan_->Probe(1000).ok());
  EXPECT_EQ(scan_->key_max(), 300u);
  ASSERT_TRUE(ReadBlocking(scan_.get(), storage()).ok());
  next = scan_->Next();
  ASSERT_EQ(next.kind, ScanNextKind::kValue);
  EXPECT_EQ(Schema32::key_of(*next.value), 300u);
  EXPECT_TRUE(scan_->Probe(301).ok());
  EXPECT_TRUE(scan_->Probe(300).ok());
  next = scan_->Next();
  ASSERT_EQ(next.kind, ScanNextKind::kValue);
  EXPECT_EQ(Schema32::key_of(*next.value), 298u);
  EXPECT_EQ(Drain(scan_.get()).size(), 149u);  // 296, ..., 0.
}

TEST_F(ScanTreeTest, ProbePastTheEndEndsTheScan) {
  ASSERT_TRUE(scan_
                  ->Init(tree_.get(), buffer_.get(), kSnapshotLatest, 0, 500,
                         Direction::kDescending)
                  .ok());
  ASSERT_TRUE(ReadBlocking(scan_.get(), storage()).ok());
  ASSERT_EQ(scan_->Next().kind, ScanNextKind::kValue);
  // Descending: the range ends at key_min 0; probing "below" it is past it.
  ASSERT_TRUE(scan_->Probe(0).ok());
  std::vector<uint64_t> keys = Drain(scan_.get());
  EXPECT_EQ(keys, std::vector<uint64_t>{0});
  ASSERT_TRUE(scan_
                  ->Init(tree_.get(), buffer_.get(), kSnapshotLatest, 10, 500,
                         Direction::kAscending)
                  .ok());
  ASSERT_TRUE(scan_->Probe(501).ok());
  EXPECT_EQ(scan_->state(), ScanState::kAborted);
  EXPECT_TRUE(scan_->status().ok());
  EXPECT_EQ(scan_->Next().kind, ScanNextKind::kEnd);
}

TEST_F(ScanTreeTest, ALatestScanKeepsItsViewWhileTheTreeChanges) {
  ASSERT_TRUE(tree_->Put(Schema32::Make(1, 1)).ok());  // In the mutable table.
  ASSERT_TRUE(scan_
                  ->Init(tree_.get(), buffer_.get(), kSnapshotLatest, 0, 9,
                         Direction::kAscending)
                  .ok());
  // Writes and a compaction after Init are not seen by the scan.
  ASSERT_TRUE(tree_->Put(Schema32::Make(3, 3)).ok());
  ASSERT_TRUE(tree_->Remove(4).ok());
  ASSERT_TRUE(CompactBlocking(tree_.get()).ok());
  ASSERT_TRUE(ReadBlocking(scan_.get(), storage()).ok());
  EXPECT_EQ(Drain(scan_.get()), (std::vector<uint64_t>{0, 1, 2, 4, 6, 8}));
  // A new scan sees the changes; the removed key is not returned.
  ASSERT_TRUE(scan_
                  ->Init(tree_.get(), buffer_.get(), kSnapshotLatest, 0, 9,
                         Direction::kAscending)
                  .ok());
  ASSERT_TRUE(ReadBlocking(scan_.get(), storage()).ok());
  EXPECT_EQ(Drain(scan_.get()), (std::vector<uint64_t>{0, 1, 2, 3, 6, 8}));
}

TEST_F(ScanTreeTest, NewestVersionWinsAcrossMemoryAndLevels) {
  // Key 10 on disk (seed 10), overwritten in a run a snapshot holds, then
  // in a newer run of the same table; key 12 removed in memory.
  ASSERT_TRUE(tree_->Put(Schema32::Make(10, 111)).ok());
  // That put sealed the full mutable table: flush it, so the snapshot holds
  // one memory table (the limit of the default pool).
  ASSERT_TRUE(CompactBlocking(tree_.get()).ok());
  ASSERT_TRUE(tree_->AcquireSnapshot().ok());  // Holds that run.
  ASSERT_TRUE(tree_->Put(Schema32::Make(10, 222)).ok());
  ASSERT_TRUE(tree_->Remove(12).ok());
  ASSERT_TRUE(scan_
                  ->Init(tree_.get(), buffer_.get(), kSnapshotLatest, 10, 14,
                         Direction::kAscending)
                  .ok());
  ASSERT_TRUE(ReadBlocking(scan_.get(), storage()).ok());
  ScanNext<Value> next = scan_->Next();
  ASSERT_EQ(next.kind, ScanNextKind::kValue);
  EXPECT_EQ(next.value->payload, Schema32::Make(10, 222).payload);
  next = scan_->Next();
  ASSERT_EQ(next.kind, ScanNextKind::kValue);
  EXPECT_EQ(Schema32::key_of(*next.value), 14u);
  EXPECT_EQ(scan_->Next().kind, ScanNextKind::kEnd);
}

// TakeRun() hands over exactly the values Next() would return next,
// tombstones included for the caller to skip: a scan taken by TakeRun()
// spans of 1 to 40 values, and by Next() where a span is empty, returns the
// model's keys in both directions, across levels and a memory table that
// holds tombstones.
TEST_F(ScanTreeTest, TakeRunHandsOverWhatNextWouldReturn) {
  Build(Backend::kMemory, 3000);
  std::set<uint64_t> model;
  for (uint64_t i = 0; i < 3000; i++) model.insert(2 * i);
  // In the memory table: tombstones of a few keys on disk, and above the
  // disk's keys a stretch of values and tombstones only it holds (a run
  // with tombstones in it).
  for (uint64_t key = 0; key < 6000; key += 2 * 97) {
    ASSERT_TRUE(
        PutWithBackPressure(tree_.get(), Schema32::tombstone(key)).ok());
    model.erase(key);
  }
  for (uint64_t key = 6000; key < 6400; key++) {
    const bool odd = key % 2 == 1;
    ASSERT_TRUE(PutWithBackPressure(tree_.get(), odd ? Schema32::tombstone(key)
                                                     : Schema32::Make(key, key))
                    .ok());
    if (!odd) model.insert(key);
  }
  for (Direction direction : {Direction::kAscending, Direction::kDescending}) {
    SCOPED_TRACE(DirectionName(direction));
    Scan32 scan;
    ASSERT_TRUE(scan.Init(tree_.get(), buffer_.get(), kSnapshotLatest, 100,
                          6300, direction)
                    .ok());
    ASSERT_TRUE(ReadBlocking(&scan, storage()).ok());
    std::vector<uint64_t> keys;
    uint64_t spans = 0, tombstones = 0;
    size_t ask = 1;
    while (true) {
      const std::span<const Value> run = scan.TakeRun(ask);
      ASSERT_LE(run.size(), ask);
      ask = ask % 40 + 1;
      if (!run.empty()) {
        spans++;
        for (size_t i = 0; i < run.size(); i++) {
          const Value& value = direction == Direction::kAscending
                                   ? run[i]
                                   : run[run.size() - 1 - i];
          tombstones += Schema32::is_tombstone(value) ? 1 : 0;
          if (!Schema32::is_tombstone(value)) {
            keys.push_back(Schema32::key_of(value));
          }
        }
        continue;
      }
      const ScanNext<Value> next = scan.Next();
      if (next.kind == ScanNextKind::kEnd) break;
      if (next.kind == ScanNextKind::kReadAgain) {
        ASSERT_TRUE(ReadBlocking(&scan, storage()).ok());
        continue;
      }
      keys.push_back(Schema32::key_of(*next.value));
    }
    std::vector<uint64_t> expected(model.lower_bound(100),
                                   model.upper_bound(6300));
    if (direction == Direction::kDescending) {
      std::reverse(expected.begin(), expected.end());
    }
    EXPECT_EQ(keys, expected);
    EXPECT_GT(spans, 100u);
    EXPECT_GT(tombstones, 0u);
  }
}

using ScanTreeDeathTest = ScanTreeTest;

TEST_F(ScanTreeDeathTest, IllegalCallsAbort) {
  ASSERT_TRUE(scan_
                  ->Init(tree_.get(), buffer_.get(), kSnapshotLatest, 0, 100,
                         Direction::kAscending)
                  .ok());
  auto ignore = [](void*, Scan32*, absl::Status) {};
  EXPECT_DEATH(scan_->Next(), "Next\\(\\) before Read\\(\\) completed");
  scan_->Read(ignore, nullptr);
  EXPECT_DEATH(scan_->Read(ignore, nullptr), "Read\\(\\) is allowed only");
  EXPECT_DEATH((void)scan_->Probe(50),
               "Probe\\(\\) while a Read\\(\\) is in flight");
  EXPECT_DEATH(scan_->Next(), "Next\\(\\) before Read\\(\\) completed");
  storage()->RunUntilIdle();
  EXPECT_EQ(scan_->state(), ScanState::kSeeking);
  EXPECT_DEATH(scan_->Read(ignore, nullptr), "Read\\(\\) is allowed only");
}

}  // namespace
}  // namespace lsmscan
