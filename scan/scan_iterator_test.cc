// ScanIterator used the way RocksDB users use it: what it holds and when
// it gives it back (Reset(), a new seek, the end, destruction), cheap idle
// iterators, SeekToFirst()/SeekToLast(), and direction switches (Prev()
// after Seek(), Next() after SeekForPrev()) at the same snapshot. The
// randomized walks against a model are in scan_iterator_model_test.cc.

#include "lsmscan/scan/scan_iterator.h"

#include <cstdint>
#include <cstring>
#include <map>
#include <memory>
#include <vector>

#include "absl/status/status.h"
#include "gtest/gtest.h"
#include "lsmscan/lsm/schema.h"
#include "lsmscan/lsm/tree.h"
#include "lsmscan/lsm/tree_testing.h"
#include "lsmscan/scan/scan_buffer.h"
#include "lsmscan/scan/scan_testing.h"
#include "lsmscan/scan/scan_tree.h"
#include "lsmscan/storage/base/prng.h"
#include "lsmscan/storage/fault_storage.h"
#include "lsmscan/storage/storage_testing.h"

namespace lsmscan {
namespace {

using Schema32 = Record32Schema;
using Value = Schema32::Value;
using Tree32 = Tree<Schema32>;
using Iterator32 = ScanIterator<Schema32>;
using ::lsmscan::testing::Backend;
using ::lsmscan::testing::CheckpointBlocking;
using ::lsmscan::testing::CompactAllBlocking;
using ::lsmscan::testing::CompactBlocking;
using ::lsmscan::testing::PutWithBackPressure;
using ::lsmscan::testing::SmallTreeOptions;

// An idle iterator is small: its per-level read state lives in the
// caller's ScanBuffer, not in the object (it was 250,568 bytes). The bound
// leaves room for the scan's fixed arrays (16 levels, 32 streams).
static_assert(sizeof(ScanIterator<Record32Schema>) <= 16 * 1024);
static_assert(sizeof(ScanIterator<Record128Schema>) <= 16 * 1024);
static_assert(sizeof(ScanTree<Record32Schema>) <= 16 * 1024);

TEST(ScanIteratorSizeTest, AnIteratorIsSmall) {
  // The same bounds, reported with the actual sizes.
  EXPECT_LE(sizeof(ScanIterator<Record32Schema>), 16u * 1024);
  EXPECT_LE(sizeof(ScanTree<Record32Schema>), 16u * 1024);
  RecordProperty("sizeof_ScanIterator_Record32",
                 static_cast<int>(sizeof(ScanIterator<Record32Schema>)));
  // What moved into the buffer: one slot per data block frame.
  EXPECT_LE(sizeof(ScanBlockSlot), 256u);
  RecordProperty("sizeof_ScanBlockSlot",
                 static_cast<int>(sizeof(ScanBlockSlot)));
}

// Keys 0, 2, ..., 3998 on disk (payload seed = key) on a copying storage
// with delayed completions, and a buffer.
class ScanIteratorTest : public testing::DelayedTreeFixture {
 protected:
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(CreateDelayedTree(/*cache_block_count=*/8));
    for (uint64_t key = 0; key < 4000; key += 2) {
      ASSERT_TRUE(
          PutWithBackPressure(tree_.get(), Schema32::Make(key, key)).ok());
    }
    ASSERT_TRUE(CompactBlocking(tree_.get()).ok());
    auto buffer = ScanBuffer::ForTree(*tree_);
    ASSERT_TRUE(buffer.ok());
    buffer_ = std::move(buffer).value();
  }

  // Whether something pins the mutable table: a put then seals it.
  bool PutSeals(uint64_t key) {
    const uint64_t seals = tree_->stats().seals;
    const absl::Status put = tree_->Put(Schema32::Make(key, key));
    EXPECT_TRUE(put.ok()) << put;
    return tree_->stats().seals > seals;
  }

  // Seeks `it` to the first key, then reads on with every read failing
  // until the iterator stops (the cache holds 8 of the tree's blocks).
  void SeekIntoReadErrors(Iterator32* it) {
    it->SeekToFirst();
    ASSERT_TRUE(it->Valid());
    FaultOptions faults = storage_->fault()->fault_options();
    faults.read_error_probability = 1;
    storage_->fault()->set_options(faults);
    uint64_t steps = 0;
    while (it->Valid()) {
      it->Next();
      ASSERT_LT(++steps, 2000u) << "no read failed";
    }
    faults.read_error_probability = 0;
    storage_->fault()->set_options(faults);
  }

  std::unique_ptr<ScanBuffer> buffer_;
};

// Regression (issue 13, item 8): an iterator past its last value kept the
// scan buffer (and, with reads in flight, the snapshot); now an iterator
// that is not Valid() holds nothing.
TEST_F(ScanIteratorTest, AnIteratorPastItsLastValueHoldsNothing) {
  ASSERT_TRUE(tree_->Put(Schema32::Make(1, 1)).ok());  // In the mutable table.
  Iterator32 it(tree_.get(), buffer_.get());
  uint64_t count = 0;
  for (it.Seek(3000); it.Valid(); it.Next()) count++;
  EXPECT_TRUE(it.status().ok());
  EXPECT_EQ(count, 500u);
  EXPECT_FALSE(buffer_->in_use());  // Another scan may take the buffer.
  EXPECT_FALSE(PutSeals(3));
  // Seeking past every key: not Valid, holds nothing either.
  it.Seek(100000);
  EXPECT_FALSE(it.Valid());
  EXPECT_TRUE(it.status().ok());
  EXPECT_FALSE(buffer_->in_use());
}

// Regression (issue 13, item 8; a YCSB-E driver's finding): an iterator
// left Valid() after its last wanted record pinned the mutable table (the
// next Put sealed a tiny table) and there was no way to end it early.
// Reset() gives everything back.
TEST_F(ScanIteratorTest, ResetGivesEverythingBack) {
  ASSERT_TRUE(tree_->Put(Schema32::Make(1, 1)).ok());
  Iterator32 it(tree_.get(), buffer_.get());
  it.Seek(0);
  ASSERT_TRUE(it.Valid());
  EXPECT_TRUE(buffer_->in_use());
  // Since memory tables became sorted runs (issue 14) a Put no longer
  // seals a table a scan reads, so the buffer is what shows the hold.
  it.Reset();
  EXPECT_FALSE(it.Valid());
  EXPECT_TRUE(it.status().ok());
  EXPECT_FALSE(buffer_->in_use());
  EXPECT_FALSE(PutSeals(5));
  it.Reset();  // Idle already: nothing happens.
  EXPECT_FALSE(it.Valid());
}

// Destruction gives everything back, after any number of seeks (each seek
// gives the previous one's scan back first: scan_life_cycle_test.cc).
TEST_F(ScanIteratorTest, DestructionGivesEverythingBack) {
  ASSERT_TRUE(tree_->Put(Schema32::Make(1, 1)).ok());
  {
    Iterator32 it(tree_.get(), buffer_.get());
    it.Seek(0);
    ASSERT_TRUE(it.Valid());
    EXPECT_TRUE(buffer_->in_use());
    it.Seek(10);
    ASSERT_TRUE(it.Valid());
    EXPECT_EQ(it.key(), 10u);
    EXPECT_TRUE(buffer_->in_use());
  }
  EXPECT_FALSE(buffer_->in_use());
  EXPECT_FALSE(PutSeals(13));
}

// The YCSB-E pattern: short scans with inserts between them, one iterator
// reused (Reset after each scan) or one made per scan. The memory tables
// fill only with the inserts: no seal happens before a table is full.
TEST_F(ScanIteratorTest, ShortScansBetweenInsertsSealNoTinyTables) {
  // Start with an empty mutable table (a checkpoint flushes it).
  ASSERT_TRUE(testing::CheckpointBlocking(tree_.get()).ok());
  ASSERT_TRUE(!tree_->memory_tables().has_mutable() ||
              tree_->memory_tables().mutable_table().empty());
  Prng prng(3);
  Iterator32 reused(tree_.get(), buffer_.get());
  const uint64_t seals = tree_->stats().seals;
  const uint32_t capacity = tree_->options().memory_table_value_count_max;
  for (uint32_t op = 0; op < capacity - 1; op++) {
    const uint64_t start = prng.Uniform(4000);
    const uint64_t length = 1 + prng.Uniform(100);
    uint64_t taken = 0;
    if (op % 2 == 0) {
      for (reused.Seek(start); reused.Valid() && taken < length;
           reused.Next()) {
        taken++;
      }
      reused.Reset();
    } else {
      Iterator32 it(tree_.get(), buffer_.get());
      for (it.Seek(start); it.Valid() && taken < length; it.Next()) taken++;
    }
    ASSERT_TRUE(tree_->Put(Schema32::Make(4001 + 2 * op, op)).ok());
  }
  EXPECT_EQ(tree_->stats().seals, seals);
}

TEST_F(ScanIteratorTest, SeekToFirstAndSeekToLast) {
  Iterator32 it(tree_.get(), buffer_.get());
  it.SeekToFirst();
  ASSERT_TRUE(it.Valid());
  EXPECT_EQ(it.key(), 0u);
  it.Prev();  // Before the first key: the end.
  EXPECT_FALSE(it.Valid());
  EXPECT_TRUE(it.status().ok());
  it.SeekToLast();
  ASSERT_TRUE(it.Valid());
  EXPECT_EQ(it.key(), 3998u);
  EXPECT_EQ(it.direction(), Direction::kDescending);
  it.Next();  // After the last key: the end.
  EXPECT_FALSE(it.Valid());
  EXPECT_FALSE(buffer_->in_use());
}

// Regression (issue 13, item 8): Next() after SeekForPrev() moved to smaller
// keys; as in RocksDB it moves to larger ones, and Prev() to smaller ones.
TEST_F(ScanIteratorTest, NextAfterSeekForPrevMovesToLargerKeys) {
  Iterator32 it(tree_.get(), buffer_.get());
  it.SeekForPrev(101);
  ASSERT_TRUE(it.Valid());
  EXPECT_EQ(it.key(), 100u);
  it.Next();
  ASSERT_TRUE(it.Valid());
  EXPECT_EQ(it.key(), 102u);
  EXPECT_EQ(it.direction(), Direction::kAscending);
  it.Prev();
  ASSERT_TRUE(it.Valid());
  EXPECT_EQ(it.key(), 100u);
  it.Prev();
  ASSERT_TRUE(it.Valid());
  EXPECT_EQ(it.key(), 98u);
  EXPECT_EQ(it.direction(), Direction::kDescending);
}

// Direction switches read the snapshot of the seek: writes made since are
// not seen, in either direction, as with RocksDB's iterator.
TEST_F(ScanIteratorTest, DirectionSwitchesStayAtTheSeeksSnapshot) {
  Iterator32 it(tree_.get(), buffer_.get());
  it.Seek(1000);
  ASSERT_TRUE(it.Valid());
  it.Next();
  ASSERT_TRUE(it.Valid());
  ASSERT_EQ(it.key(), 1002u);
  // After the seek: new keys on both sides, an overwrite, a removal, and a
  // compaction that flushes them.
  ASSERT_TRUE(tree_->Put(Schema32::Make(999, 1)).ok());
  ASSERT_TRUE(tree_->Put(Schema32::Make(1003, 1)).ok());
  ASSERT_TRUE(tree_->Put(Schema32::Make(998, 12345)).ok());
  ASSERT_TRUE(tree_->Remove(996).ok());
  ASSERT_TRUE(CompactBlocking(tree_.get()).ok());
  std::vector<uint64_t> keys;
  auto step = [&](bool forward) {
    if (forward) {
      it.Next();
    } else {
      it.Prev();
    }
    ASSERT_TRUE(it.Valid());
    keys.push_back(it.key());
    const Value expected = Schema32::Make(it.key(), it.key());
    EXPECT_EQ(std::memcmp(&it.value(), &expected, sizeof(Value)), 0)
        << "key " << it.key();
  };
  for (bool forward : {false, false, false, false, true, true, true, true}) {
    ASSERT_NO_FATAL_FAILURE(step(forward));
  }
  EXPECT_EQ(keys,
            (std::vector<uint64_t>{1000, 998, 996, 994, 996, 998, 1000, 1002}));
  // A new seek sees the writes.
  it.SeekForPrev(1003);
  ASSERT_TRUE(it.Valid());
  EXPECT_EQ(it.key(), 1003u);
  it.Prev();
  ASSERT_TRUE(it.Valid());
  EXPECT_EQ(it.key(), 1002u);
}

// A direction switch reaches levels the seek left out. The last level
// holds 0..3998; a newer level holds 3000 (overwritten), 5001 and 5003.
// SeekForPrev(2998) leaves the newer level out (its keys miss [0, 2998]);
// Next() then scans [2998, max] and must read it: 3000 comes back with its
// new value. Seek(5003) leaves nothing out, and Prev() passes 3000 again.
TEST_F(ScanIteratorTest, ADirectionSwitchReadsALevelTheSeekLeftOut) {
  ASSERT_TRUE(CompactAllBlocking(tree_.get()).ok());
  ASSERT_TRUE(tree_->Put(Schema32::Make(3000, 7)).ok());
  ASSERT_TRUE(tree_->Put(Schema32::Make(5001, 5001)).ok());
  ASSERT_TRUE(tree_->Put(Schema32::Make(5003, 5003)).ok());
  ASSERT_TRUE(CheckpointBlocking(tree_.get()).ok());  // Flushes them.
  const auto stats = tree_->stats();
  uint32_t levels_with_tables = 0;
  for (uint32_t level = 0; level < tree_->level_count(); level++) {
    if (stats.levels[level].tables > 0) levels_with_tables++;
  }
  ASSERT_GE(levels_with_tables, 2u) << "the new keys are not in a level "
                                       "of their own";
  const Value new_3000 = Schema32::Make(3000, 7);

  Iterator32 it(tree_.get(), buffer_.get());
  it.SeekForPrev(2998);
  ASSERT_TRUE(it.Valid());
  ASSERT_EQ(it.key(), 2998u);
  it.Next();
  ASSERT_TRUE(it.Valid()) << it.status();
  ASSERT_EQ(it.key(), 3000u);
  EXPECT_EQ(std::memcmp(&it.value(), &new_3000, sizeof(Value)), 0)
      << "3000 came back with its old value: the newer level was not read";
  it.Seek(3996);
  ASSERT_TRUE(it.Valid());
  for (uint64_t expected : {3998u, 5001u, 5003u}) {
    it.Next();
    ASSERT_TRUE(it.Valid()) << it.status();
    EXPECT_EQ(it.key(), expected);
  }
}

// A seek with an empty range is an error the iterator reports, holding
// nothing.
TEST_F(ScanIteratorTest, ASeekWithAnEmptyRangeReportsIt) {
  Iterator32 it(tree_.get(), buffer_.get());
  it.Seek(100, /*upper=*/50);
  EXPECT_FALSE(it.Valid());
  EXPECT_TRUE(absl::IsInvalidArgument(it.status())) << it.status();
  EXPECT_FALSE(buffer_->in_use());
  it.Seek(100, 200);  // The next seek clears it.
  EXPECT_TRUE(it.Valid());
  EXPECT_TRUE(it.status().ok());
}

// The iterator's states: never seeked, Valid(), past its last value, after
// a failed seek, after a read error, Reset(). In every one a seek works,
// Reset() works, and Next()/Prev()/value() are an assertion unless
// Valid(); only a Valid() iterator holds the buffer.
TEST_F(ScanIteratorTest, EveryCallInEveryState) {
  enum class State { kNew, kValid, kEnded, kSeekFailed, kReadFailed, kReset };
  for (State state : {State::kNew, State::kValid, State::kEnded,
                      State::kSeekFailed, State::kReadFailed, State::kReset}) {
    SCOPED_TRACE(static_cast<int>(state));
    Iterator32 it(tree_.get(), buffer_.get());
    absl::StatusCode code = absl::StatusCode::kOk;
    switch (state) {
      case State::kNew:
        break;
      case State::kValid:
        it.Seek(100);
        break;
      case State::kEnded:
        it.SeekForPrev(2);
        it.Prev();
        it.Prev();
        break;
      case State::kSeekFailed:
        it.SeekForPrev(1, /*lower=*/2);
        code = absl::StatusCode::kInvalidArgument;
        break;
      case State::kReadFailed:
        ASSERT_NO_FATAL_FAILURE(SeekIntoReadErrors(&it));
        code = absl::StatusCode::kInternal;
        break;
      case State::kReset:
        it.Seek(100);
        it.Reset();
        break;
    }
    EXPECT_EQ(it.Valid(), state == State::kValid);
    EXPECT_EQ(it.status().code(), code) << it.status();
    EXPECT_EQ(buffer_->in_use(), state == State::kValid);
    if (state != State::kValid) {
      EXPECT_DEATH(it.Next(),
                   "Next\\(\\) or Prev\\(\\) of an iterator that "
                   "is not Valid\\(\\)");
      EXPECT_DEATH(it.Prev(),
                   "Next\\(\\) or Prev\\(\\) of an iterator that "
                   "is not Valid\\(\\)");
      EXPECT_DEATH((void)it.value(),
                   "value\\(\\) of an iterator that is not "
                   "Valid\\(\\)");
    } else {
      EXPECT_EQ(it.key(), 100u);
    }
    // A seek works in every state, and clears an error.
    it.SeekToLast();
    ASSERT_TRUE(it.Valid());
    EXPECT_EQ(it.key(), 3998u);
    EXPECT_TRUE(it.status().ok());
    it.Reset();
    EXPECT_FALSE(it.Valid());
    EXPECT_TRUE(it.status().ok());
    EXPECT_FALSE(buffer_->in_use());
  }
}

// Regression (issue 13, item 8): after a read error the iterator kept the
// aborted scan's read view and buffer; now the error ends it and it gives
// everything back like any other end.
TEST_F(ScanIteratorTest, AReadErrorEndsTheIteratorAndGivesEverythingBack) {
  ASSERT_TRUE(tree_->Put(Schema32::Make(1, 1)).ok());  // In the mutable table.
  Iterator32 it(tree_.get(), buffer_.get());
  ASSERT_NO_FATAL_FAILURE(SeekIntoReadErrors(&it));
  EXPECT_FALSE(it.Valid());
  EXPECT_TRUE(absl::IsInternal(it.status())) << it.status();
  EXPECT_FALSE(buffer_->in_use());
  EXPECT_FALSE(PutSeals(3));
}

}  // namespace
}  // namespace lsmscan
