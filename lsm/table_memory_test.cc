// Unit tests of TableMemory and MemoryTableSorter: runs sorted with
// newest-wins deduplication (the suffix into a new run, merged with newer
// runs), tombstones, capacity, sealing/retiring and pinning, plus a seeded
// randomized differential test against std::map.
//
// The randomized tests print their seed; rerun one with LSMSCAN_SEED=<seed>.

#include "lsmscan/lsm/table_memory.h"

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <map>
#include <span>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "lsmscan/lsm/memory_table_sorter.h"
#include "lsmscan/lsm/memory_tables.h"
#include "lsmscan/lsm/schema.h"
#include "lsmscan/lsm/schema_testing.h"
#include "lsmscan/lsm/table_info.h"
#include "lsmscan/lsm/table_memory_testing.h"
#include "lsmscan/storage/base/prng.h"
#include "lsmscan/storage/storage_testing.h"

namespace lsmscan {
namespace {

using S32 = Record32Schema;
using Value32 = S32::Value;

using ::lsmscan::testing::Merged;
using ::lsmscan::testing::SameBytes;
using ::lsmscan::testing::Wide128Schema;

// Sorts `table`'s suffix and every unpinned run into one run, as a reader
// of a whole table would see it (the sorter in one step).
template <typename S>
void SortAll(TableMemory<S>* table) {
  if (table->sorted()) return;
  MemoryTableSorter<S> sorter(table->value_count_max());
  sorter.Start(table, table->pinned_run_count());
  sorter.Finish();
}

std::vector<uint64_t> Keys(const TableMemory<S32>& table) {
  std::vector<uint64_t> keys;
  for (const Value32& value : Merged(table)) keys.push_back(S32::key_of(value));
  return keys;
}

TEST(TableMemoryTest, StartsEmpty) {
  TableMemory<S32> table(10);
  EXPECT_TRUE(table.empty());
  EXPECT_FALSE(table.full());
  EXPECT_TRUE(table.sorted());
  EXPECT_FALSE(table.sealed());
  EXPECT_FALSE(table.retired());
  EXPECT_EQ(table.count(), 0u);
  EXPECT_EQ(table.value_count_max(), 10u);
  EXPECT_EQ(table.reader_count(), 0u);
  EXPECT_TRUE(Merged(table).empty());
  SortAll(&table);
  EXPECT_TRUE(Merged(table).empty());
}

TEST(TableMemoryTest, SortOrdersKeysAndNewestWriteWins) {
  TableMemory<S32> table(16);
  ASSERT_TRUE(table.Put(S32::Make(5, 1)));
  ASSERT_TRUE(table.Put(S32::Make(3, 1)));
  ASSERT_TRUE(table.Put(S32::Make(5, 2)));
  ASSERT_TRUE(table.Put(S32::Make(9, 1)));
  ASSERT_TRUE(table.Put(S32::Make(5, 3)));
  ASSERT_TRUE(table.Put(S32::Make(3, 2)));
  EXPECT_FALSE(table.sorted());
  EXPECT_EQ(table.count(), 6u);
  SortAll(&table);
  EXPECT_TRUE(table.sorted());
  ASSERT_EQ(Keys(table), (std::vector<uint64_t>{3, 5, 9}));
  EXPECT_TRUE(SameBytes<S32>(Merged(table)[0], S32::Make(3, 2)));
  EXPECT_TRUE(SameBytes<S32>(Merged(table)[1], S32::Make(5, 3)));
  EXPECT_TRUE(SameBytes<S32>(Merged(table)[2], S32::Make(9, 1)));
  EXPECT_EQ(table.count(), 3u);
  // Idempotent.
  SortAll(&table);
  ASSERT_EQ(Keys(table), (std::vector<uint64_t>{3, 5, 9}));
  EXPECT_TRUE(SameBytes<S32>(Merged(table)[1], S32::Make(5, 3)));
}

TEST(TableMemoryTest, ManyWritesOfOneKeyKeepTheLast) {
  for (uint32_t n : {2u, 3u, 7u, 64u, 65u, 1000u}) {
    TableMemory<S32> table(n);
    for (uint32_t i = 0; i < n; i++) ASSERT_TRUE(table.Put(S32::Make(42, i)));
    SortAll(&table);
    ASSERT_EQ(table.count(), 1u) << n;
    EXPECT_TRUE(SameBytes<S32>(Merged(table)[0], S32::Make(42, n - 1))) << n;
  }
}

TEST(TableMemoryTest, IncrementalSortMergesNewerOverOlder) {
  TableMemory<S32> table(32);
  for (uint64_t key : {10, 20, 30, 40})
    ASSERT_TRUE(table.Put(S32::Make(key, 1)));
  SortAll(&table);
  ASSERT_EQ(Keys(table), (std::vector<uint64_t>{10, 20, 30, 40}));
  // New keys before, between and after the sorted ones, and overwrites.
  for (uint64_t key : {45, 5, 20, 25, 40, 20}) {
    ASSERT_TRUE(table.Put(S32::Make(key, 2 + key)));
  }
  EXPECT_FALSE(table.sorted());
  SortAll(&table);
  ASSERT_EQ(Keys(table), (std::vector<uint64_t>{5, 10, 20, 25, 30, 40, 45}));
  const std::vector<Value32> values = Merged(table);
  EXPECT_TRUE(SameBytes<S32>(values[0], S32::Make(5, 7)));
  EXPECT_TRUE(SameBytes<S32>(values[1], S32::Make(10, 1)));
  EXPECT_TRUE(SameBytes<S32>(values[2], S32::Make(20, 22)));
  EXPECT_TRUE(SameBytes<S32>(values[3], S32::Make(25, 27)));
  EXPECT_TRUE(SameBytes<S32>(values[4], S32::Make(30, 1)));
  EXPECT_TRUE(SameBytes<S32>(values[5], S32::Make(40, 42)));
  EXPECT_TRUE(SameBytes<S32>(values[6], S32::Make(45, 47)));
  // A third round that only overwrites.
  ASSERT_TRUE(table.Put(S32::Make(10, 100)));
  ASSERT_TRUE(table.Put(S32::Make(45, 100)));
  SortAll(&table);
  EXPECT_EQ(table.count(), 7u);
  EXPECT_TRUE(SameBytes<S32>(Merged(table)[1], S32::Make(10, 100)));
  EXPECT_TRUE(SameBytes<S32>(Merged(table)[6], S32::Make(45, 100)));
}

TEST(TableMemoryTest, TombstonesShadowEarlierPutsAndArePutOver) {
  TableMemory<S32> table(16);
  ASSERT_TRUE(table.Put(S32::Make(1, 1)));
  ASSERT_TRUE(table.Put(S32::Make(2, 1)));
  ASSERT_TRUE(table.Put(S32::tombstone(1)));
  ASSERT_TRUE(table.Put(S32::tombstone(3)));  // Of a key never put.
  SortAll(&table);
  ASSERT_EQ(Keys(table), (std::vector<uint64_t>{1, 2, 3}));
  EXPECT_TRUE(S32::is_tombstone(Merged(table)[0]));
  EXPECT_FALSE(S32::is_tombstone(Merged(table)[1]));
  EXPECT_TRUE(S32::is_tombstone(Merged(table)[2]));
  // Across an incremental sort: a tombstone shadows a sorted value, and a
  // later put revives a tombstoned key.
  ASSERT_TRUE(table.Put(S32::tombstone(2)));
  ASSERT_TRUE(table.Put(S32::Make(1, 9)));
  SortAll(&table);
  ASSERT_EQ(Keys(table), (std::vector<uint64_t>{1, 2, 3}));
  EXPECT_TRUE(SameBytes<S32>(Merged(table)[0], S32::Make(1, 9)));
  EXPECT_TRUE(S32::is_tombstone(Merged(table)[1]));
  EXPECT_TRUE(S32::is_tombstone(Merged(table)[2]));
}

TEST(TableMemoryTest, FullTableRejectsPutUntilSortMakesRoom) {
  TableMemory<S32> table(4);
  ASSERT_TRUE(table.Put(S32::Make(1, 1)));
  ASSERT_TRUE(table.Put(S32::Make(1, 2)));
  ASSERT_TRUE(table.Put(S32::Make(2, 1)));
  ASSERT_TRUE(table.Put(S32::Make(1, 3)));
  EXPECT_TRUE(table.full());
  EXPECT_FALSE(table.Put(S32::Make(7, 7)));
  EXPECT_EQ(table.count(), 4u);
  // The rejected put left no trace.
  SortAll(&table);
  ASSERT_EQ(Keys(table), (std::vector<uint64_t>{1, 2}));
  EXPECT_TRUE(SameBytes<S32>(Merged(table)[0], S32::Make(1, 3)));
  EXPECT_FALSE(table.full());
  // Deduplication freed two slots.
  EXPECT_TRUE(table.Put(S32::Make(7, 7)));
  EXPECT_TRUE(table.Put(S32::Make(0, 7)));
  EXPECT_TRUE(table.full());
  EXPECT_FALSE(table.Put(S32::Make(8, 8)));
  SortAll(&table);
  ASSERT_EQ(Keys(table), (std::vector<uint64_t>{0, 1, 2, 7}));
}

TEST(TableMemoryTest, CapacityOfOne) {
  TableMemory<S32> table(1);
  ASSERT_TRUE(table.Put(S32::Make(3, 1)));
  EXPECT_FALSE(table.Put(S32::Make(4, 1)));
  SortAll(&table);
  ASSERT_EQ(Keys(table), (std::vector<uint64_t>{3}));
}

TEST(TableMemoryTest, SealRetireAndVisibility) {
  TableMemory<S32> table(8);
  ASSERT_TRUE(table.Put(S32::Make(2, 1)));
  ASSERT_TRUE(table.Put(S32::Make(1, 1)));
  // A mutable table is visible at no snapshot (the tree reads it directly).
  for (Snapshot s : {Snapshot{0}, Snapshot{10}, kSnapshotForever}) {
    EXPECT_FALSE(table.visible(s)) << s;
  }
  table.Seal(10);
  EXPECT_TRUE(table.sealed());
  EXPECT_FALSE(table.sorted());  // Seal sorts nothing: O(1).
  SortAll(&table);  // The sorter still may (a sealed table takes no puts).
  EXPECT_TRUE(table.sorted());
  ASSERT_EQ(Keys(table), (std::vector<uint64_t>{1, 2}));
  EXPECT_FALSE(table.retired());
  EXPECT_EQ(table.snapshot_min(), 10u);
  EXPECT_EQ(table.snapshot_max(), kSnapshotForever);
  EXPECT_FALSE(table.visible(0));
  EXPECT_FALSE(table.visible(9));
  EXPECT_TRUE(table.visible(10));
  EXPECT_TRUE(table.visible(11));
  EXPECT_TRUE(table.visible(kSnapshotForever));
  table.Retire(20);
  EXPECT_TRUE(table.retired());
  EXPECT_EQ(table.snapshot_max(), 20u);
  EXPECT_FALSE(table.visible(9));
  EXPECT_TRUE(table.visible(10));
  EXPECT_TRUE(table.visible(20));
  EXPECT_FALSE(table.visible(21));
  EXPECT_FALSE(table.visible(kSnapshotForever));
  // Values stay readable after retirement.
  ASSERT_EQ(Keys(table), (std::vector<uint64_t>{1, 2}));
  table.Reset();
  EXPECT_TRUE(table.empty());
  EXPECT_FALSE(table.sealed());
  EXPECT_FALSE(table.retired());
  EXPECT_TRUE(table.sorted());
  EXPECT_FALSE(table.visible(15));
  EXPECT_EQ(table.snapshot_min(), 0u);
  EXPECT_EQ(table.snapshot_max(), kSnapshotForever);
  // Reusable as a mutable table.
  ASSERT_TRUE(table.Put(S32::Make(5, 5)));
  SortAll(&table);
  ASSERT_EQ(Keys(table), (std::vector<uint64_t>{5}));
}

TEST(TableMemoryTest, RetireAtTheSealSnapshotIsVisibleOnlyThere) {
  TableMemory<S32> table(2);
  ASSERT_TRUE(table.Put(S32::Make(1, 1)));
  table.Seal(7);
  SortAll(&table);
  table.Retire(7);
  EXPECT_FALSE(table.visible(6));
  EXPECT_TRUE(table.visible(7));
  EXPECT_FALSE(table.visible(8));
}

TEST(TableMemoryTest, EmptyTableCanBeSealed) {
  TableMemory<S32> table(2);
  table.Seal(3);
  EXPECT_TRUE(table.sealed());
  EXPECT_TRUE(table.visible(3));
  EXPECT_TRUE(Merged(table).empty());
}

TEST(TableMemoryTest, PinAndUnpinCountReaders) {
  TableMemory<S32> table(4);
  ASSERT_TRUE(table.Put(S32::Make(1, 1)));
  SortAll(&table);
  table.Pin(1);
  table.Pin(0);
  EXPECT_EQ(table.reader_count(), 2u);
  EXPECT_EQ(table.pinned_run_count(), 1u);
  table.Seal(1);
  table.Retire(5);  // Retiring does not disturb readers.
  EXPECT_EQ(Merged(table).size(), 1u);
  table.Unpin(1);
  EXPECT_EQ(table.reader_count(), 1u);
  EXPECT_EQ(table.pinned_run_count(), 0u);
  table.Unpin(0);
  EXPECT_EQ(table.reader_count(), 0u);
  table.Reset();
  EXPECT_TRUE(table.empty());
}

// A reader pins the runs that exist when it starts: later puts and sorts
// build new runs after them and never move or change the pinned ones; the
// newest run wins on equal keys.
TEST(TableMemoryTest, PinnedRunsStayWhileWritesAndSortsGoOn) {
  TableMemory<S32> table(64);
  MemoryTableSorter<S32> sorter(64);
  for (uint64_t key : {30, 10, 20}) ASSERT_TRUE(table.Put(S32::Make(key, 1)));
  SortAll(&table);
  ASSERT_EQ(table.run_count(), 1u);
  table.Pin(1);
  const std::vector<Value32> pinned(table.run(0).begin(), table.run(0).end());
  const Value32* pinned_at = table.run(0).data();
  // Overwrites, a tombstone and new keys, while the reader reads run 0.
  ASSERT_TRUE(table.Put(S32::Make(20, 2)));
  ASSERT_TRUE(table.Put(S32::tombstone(10)));
  ASSERT_TRUE(table.Put(S32::Make(5, 2)));
  ASSERT_TRUE(table.Put(S32::Make(20, 3)));
  EXPECT_EQ(table.suffix_count(), 4u);
  sorter.Start(&table, table.pinned_run_count());
  sorter.Finish();
  ASSERT_EQ(table.run_count(), 2u);
  EXPECT_EQ(table.run(0).data(), pinned_at);
  ASSERT_EQ(table.run(0).size(), pinned.size());
  for (size_t i = 0; i < pinned.size(); i++) {
    EXPECT_TRUE(SameBytes<S32>(table.run(0)[i], pinned[i])) << i;
  }
  ASSERT_EQ(table.run(1).size(), 3u);  // 5, 10 (tombstone), 20 (the newest).
  const std::vector<Value32> merged = Merged(table);
  ASSERT_EQ(Keys(table), (std::vector<uint64_t>{5, 10, 20, 30}));
  EXPECT_TRUE(SameBytes<S32>(merged[0], S32::Make(5, 2)));
  EXPECT_TRUE(S32::is_tombstone(merged[1]));
  EXPECT_TRUE(SameBytes<S32>(merged[2], S32::Make(20, 3)));
  EXPECT_TRUE(SameBytes<S32>(merged[3], S32::Make(30, 1)));
  // Unpinned, the runs merge into one.
  table.Unpin(1);
  ASSERT_TRUE(table.Put(S32::Make(30, 4)));
  SortAll(&table);
  ASSERT_EQ(table.run_count(), 1u);
  ASSERT_EQ(Keys(table), (std::vector<uint64_t>{5, 10, 20, 30}));
  EXPECT_TRUE(SameBytes<S32>(Merged(table)[3], S32::Make(30, 4)));
}

// The sorter in slices of a small budget gives the same run as in one step,
// and each slice stays near its budget.
TEST(TableMemoryTest, SorterInBoundedStepsMatchesOneStep) {
  const uint64_t seed = testing::SeedFromEnvironment(0x5057);
  SCOPED_TRACE("seed " + std::to_string(seed));
  Prng prng(seed);
  for (uint32_t capacity : {1u, 255u, 256u, 257u, 3000u}) {
    TableMemory<S32> sliced(capacity);
    TableMemory<S32> whole(capacity);
    for (uint32_t i = 0; i < capacity; i++) {
      const Value32 value = prng.Chance(0.2)
                                ? S32::tombstone(prng.Uniform(capacity))
                                : S32::Make(prng.Uniform(capacity), i);
      ASSERT_TRUE(sliced.Put(value));
      ASSERT_TRUE(whole.Put(value));
    }
    SortAll(&whole);
    MemoryTableSorter<S32> sorter(capacity);
    sorter.Start(&sliced, 0);
    const uint64_t budget = 512;
    // A block sort of 256 entries may pass the budget once per slice.
    const uint64_t slice_max = budget + 256 * 16 * 8;
    int slices = 0;
    while (sorter.active()) {
      EXPECT_LE(sorter.Step(budget), slice_max);
      slices++;
    }
    EXPECT_GT(slices, capacity > 256 ? 10 : 0) << capacity;
    ASSERT_EQ(sliced.run_count(), 1u);
    ASSERT_EQ(sliced.count(), whole.count());
    for (uint32_t i = 0; i < whole.count(); i++) {
      ASSERT_TRUE(SameBytes<S32>(sliced.run(0)[i], whole.run(0)[i])) << i;
    }
  }
}

TEST(TableMemoryTest, WideKeysSortOnBothWords) {
  using W = Wide128Schema;
  using Key = W::Key;
  TableMemory<W> table(16);
  const Key big = static_cast<Key>(1) << 64;
  ASSERT_TRUE(table.Put(W::Value{big + 1, 0, 1}));
  ASSERT_TRUE(table.Put(W::Value{~uint64_t{0}, 0, 1}));  // Below `big`.
  ASSERT_TRUE(table.Put(W::Value{big, 0, 1}));
  ASSERT_TRUE(table.Put(W::Value{big + 1, 0, 2}));
  ASSERT_TRUE(table.Put(W::tombstone(big)));
  SortAll(&table);
  ASSERT_EQ(table.count(), 3u);
  EXPECT_TRUE(Merged(table)[0].key == ~uint64_t{0});
  EXPECT_TRUE(Merged(table)[1].key == big);
  EXPECT_TRUE(W::is_tombstone(Merged(table)[1]));
  EXPECT_TRUE(Merged(table)[2].key == big + 1);
  EXPECT_EQ(Merged(table)[2].payload, 2u);
}

// Randomized differential test: random puts and tombstones from a small key
// space, sorted at random points, against a std::map of the newest write per
// key. Runs over several capacities (odd ones exercise the merge sort's
// ragged last runs).
template <typename S, typename MakeValue>
void RunDifferential(uint64_t seed, MakeValue make_value) {
  using Key = typename S::Key;
  using Value = typename S::Value;
  Prng prng(seed);
  for (int round = 0; round < 40; round++) {
    const uint32_t capacity = static_cast<uint32_t>(
        prng.Chance(0.3) ? prng.Range(1, 9) : prng.Range(10, 1500));
    const uint64_t key_space = prng.Range(1, 2 * uint64_t{capacity} + 2);
    SCOPED_TRACE("round " + std::to_string(round) + ", capacity " +
                 std::to_string(capacity) + ", key space " +
                 std::to_string(key_space));
    TableMemory<S> table(capacity);
    std::map<Key, Value> model;
    const int steps = static_cast<int>(prng.Range(1, 4 * uint64_t{capacity}));
    for (int step = 0; step < steps; step++) {
      if (prng.Chance(0.1) || table.full()) {
        SortAll(&table);
        ASSERT_EQ(table.count(), model.size());
        const std::vector<Value> values = Merged(table);
        auto it = model.begin();
        for (size_t i = 0; i < values.size(); i++, ++it) {
          ASSERT_TRUE(S::key_of(values[i]) == it->first) << "index " << i;
          ASSERT_TRUE(SameBytes<S>(values[i], it->second)) << "index " << i;
        }
        if (table.full()) {
          // Every key is distinct: nothing more fits.
          ASSERT_FALSE(table.Put(make_value(Key{}, 0, false)));
          break;
        }
        continue;
      }
      const Key key = static_cast<Key>(prng.Uniform(key_space));
      const Value value =
          make_value(key, prng.Next(), /*tombstone=*/prng.Chance(0.2));
      ASSERT_TRUE(table.Put(value));
      model[S::key_of(value)] = value;
    }
    SortAll(&table);
    ASSERT_EQ(table.count(), model.size());
    auto it = model.begin();
    for (const Value& value : Merged(table)) {
      ASSERT_TRUE(S::key_of(value) == it->first);
      ASSERT_TRUE(SameBytes<S>(value, it->second));
      ++it;
    }
    // Half the time, seal it and check once more, as a flush would read it.
    if (prng.Chance(0.5)) {
      table.Seal(round + 1);
      ASSERT_EQ(table.count(), model.size());
    }
  }
}

TEST(TableMemoryTest, RandomizedAgainstStdMap) {
  const uint64_t seed = testing::SeedFromEnvironment(0x7AB1E);
  SCOPED_TRACE("seed " + std::to_string(seed) +
               " (rerun with LSMSCAN_SEED=" + std::to_string(seed) + ")");
  RunDifferential<S32>(
      seed, [](uint64_t key, uint64_t payload, bool tombstone) {
        return tombstone ? S32::tombstone(key) : S32::Make(key, payload);
      });
}

TEST(TableMemoryTest, RandomizedAgainstStdMapWideKeys) {
  using W = Wide128Schema;
  const uint64_t seed = testing::SeedFromEnvironment(0x1D3A);
  SCOPED_TRACE("seed " + std::to_string(seed) +
               " (rerun with LSMSCAN_SEED=" + std::to_string(seed) + ")");
  RunDifferential<W>(seed, [](W::Key key, uint64_t payload, bool tombstone) {
    // Spread the small random keys over both words.
    const W::Key wide = ((key / 3) << 64) | (key % 3);
    if (tombstone) return W::tombstone(wide);
    return W::Value{wide, 0, payload};
  });
}

// The same differential over Record128 values, the largest shipped schema.
TEST(TableMemoryTest, RandomizedAgainstStdMapRecord128) {
  using S = Record128Schema;
  const uint64_t seed = testing::SeedFromEnvironment(128);
  SCOPED_TRACE("seed " + std::to_string(seed) +
               " (rerun with LSMSCAN_SEED=" + std::to_string(seed) + ")");
  RunDifferential<S>(seed, [](uint64_t key, uint64_t payload, bool tombstone) {
    return tombstone ? S::tombstone(key) : S::Make(key, payload);
  });
}

TEST(TableMemoryDeathTest, MisuseAborts) {
  {
    TableMemory<S32> table(4);
    ASSERT_TRUE(table.Put(S32::Make(2, 1)));
    EXPECT_DEATH(table.run(0), "assertion failed");     // No run yet.
    EXPECT_DEATH(table.Retire(5), "assertion failed");  // Not sealed.
    table.Seal(5);
    EXPECT_DEATH(table.Retire(8), "assertion failed");  // Not sorted.
    EXPECT_DEATH(table.Put(S32::Make(3, 1)), "assertion failed");
    EXPECT_DEATH(table.Seal(6), "assertion failed");
    SortAll(&table);
    EXPECT_DEATH(table.Retire(4), "assertion failed");  // Before snapshot_min.
    table.Retire(8);
    EXPECT_DEATH(table.Retire(9), "assertion failed");  // Twice.
  }
  {
    TableMemory<S32> table(4);
    EXPECT_DEATH(table.Unpin(0), "assertion failed");
    EXPECT_DEATH(table.Pin(1), "assertion failed");  // No such run.
    table.Pin(0);
    EXPECT_DEATH(table.Reset(), "assertion failed");
    table.Unpin(0);
    ASSERT_TRUE(table.Put(S32::Make(3, 1)));
    SortAll(&table);
    table.Pin(1);
    ASSERT_TRUE(table.Put(S32::Make(4, 1)));
    // The sorter never writes over a pinned run.
    MemoryTableSorter<S32> sorter(4);
    EXPECT_DEATH(sorter.Start(&table, 0), "assertion failed");
    table.Unpin(1);
  }
  EXPECT_DEATH(
      {
        TableMemory<S32> table(0);
        (void)table;
      },
      "assertion failed");
}

}  // namespace
}  // namespace lsmscan
