// Unit tests of TableMemory: sorting with newest-wins deduplication
// (incremental), tombstones, capacity, sealing/retiring and pinning, plus a
// seeded randomized differential test against std::map.
//
// The randomized tests print their seed; rerun one with LSMSCAN_SEED=<seed>.

#include "lsmscan/lsm/table_memory.h"

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <map>
#include <span>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "lsmscan/lsm/schema.h"
#include "lsmscan/lsm/table_info.h"
#include "lsmscan/storage/base/prng.h"
#include "lsmscan/storage/storage_testing.h"

namespace lsmscan {
namespace {

using S32 = Record32Schema;
using Value32 = S32::Value;

// A schema with a 16-byte key.
struct Wide128Schema {
  using Key = unsigned __int128;
  struct Value {
    Key key;
    uint64_t flags;
    uint64_t payload;
  };
  static constexpr const char* kName = "test.wide128";
  static Key key_of(const Value& value) { return value.key; }
  static Value tombstone(Key key) { return Value{key, 1, 0}; }
  static bool is_tombstone(const Value& value) {
    return (value.flags & 1) != 0;
  }
};
static_assert(Schema<Wide128Schema>);

// The seed of a randomized test: LSMSCAN_SEED if set, else `fallback`.

template <typename S>
bool SameBytes(const typename S::Value& a, const typename S::Value& b) {
  return std::memcmp(&a, &b, sizeof(a)) == 0;
}

std::vector<uint64_t> Keys(const TableMemory<S32>& table) {
  std::vector<uint64_t> keys;
  for (const Value32& value : table.values())
    keys.push_back(S32::key_of(value));
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
  EXPECT_TRUE(table.values().empty());
  table.Sort();
  EXPECT_TRUE(table.values().empty());
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
  table.Sort();
  EXPECT_TRUE(table.sorted());
  ASSERT_EQ(Keys(table), (std::vector<uint64_t>{3, 5, 9}));
  EXPECT_TRUE(SameBytes<S32>(table.values()[0], S32::Make(3, 2)));
  EXPECT_TRUE(SameBytes<S32>(table.values()[1], S32::Make(5, 3)));
  EXPECT_TRUE(SameBytes<S32>(table.values()[2], S32::Make(9, 1)));
  EXPECT_EQ(table.count(), 3u);
  // Idempotent.
  table.Sort();
  ASSERT_EQ(Keys(table), (std::vector<uint64_t>{3, 5, 9}));
  EXPECT_TRUE(SameBytes<S32>(table.values()[1], S32::Make(5, 3)));
}

TEST(TableMemoryTest, ManyWritesOfOneKeyKeepTheLast) {
  for (uint32_t n : {2u, 3u, 7u, 64u, 65u, 1000u}) {
    TableMemory<S32> table(n);
    for (uint32_t i = 0; i < n; i++) ASSERT_TRUE(table.Put(S32::Make(42, i)));
    table.Sort();
    ASSERT_EQ(table.count(), 1u) << n;
    EXPECT_TRUE(SameBytes<S32>(table.values()[0], S32::Make(42, n - 1))) << n;
  }
}

TEST(TableMemoryTest, IncrementalSortMergesNewerOverOlder) {
  TableMemory<S32> table(32);
  for (uint64_t key : {10, 20, 30, 40})
    ASSERT_TRUE(table.Put(S32::Make(key, 1)));
  table.Sort();
  ASSERT_EQ(Keys(table), (std::vector<uint64_t>{10, 20, 30, 40}));
  // New keys before, between and after the sorted ones, and overwrites.
  for (uint64_t key : {45, 5, 20, 25, 40, 20}) {
    ASSERT_TRUE(table.Put(S32::Make(key, 2 + key)));
  }
  EXPECT_FALSE(table.sorted());
  table.Sort();
  ASSERT_EQ(Keys(table), (std::vector<uint64_t>{5, 10, 20, 25, 30, 40, 45}));
  const std::span<const Value32> values = table.values();
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
  table.Sort();
  EXPECT_EQ(table.count(), 7u);
  EXPECT_TRUE(SameBytes<S32>(table.values()[1], S32::Make(10, 100)));
  EXPECT_TRUE(SameBytes<S32>(table.values()[6], S32::Make(45, 100)));
}

TEST(TableMemoryTest, TombstonesShadowEarlierPutsAndArePutOver) {
  TableMemory<S32> table(16);
  ASSERT_TRUE(table.Put(S32::Make(1, 1)));
  ASSERT_TRUE(table.Put(S32::Make(2, 1)));
  ASSERT_TRUE(table.Put(S32::tombstone(1)));
  ASSERT_TRUE(table.Put(S32::tombstone(3)));  // Of a key never put.
  table.Sort();
  ASSERT_EQ(Keys(table), (std::vector<uint64_t>{1, 2, 3}));
  EXPECT_TRUE(S32::is_tombstone(table.values()[0]));
  EXPECT_FALSE(S32::is_tombstone(table.values()[1]));
  EXPECT_TRUE(S32::is_tombstone(table.values()[2]));
  // Across an incremental sort: a tombstone shadows a sorted value, and a
  // later put revives a tombstoned key.
  ASSERT_TRUE(table.Put(S32::tombstone(2)));
  ASSERT_TRUE(table.Put(S32::Make(1, 9)));
  table.Sort();
  ASSERT_EQ(Keys(table), (std::vector<uint64_t>{1, 2, 3}));
  EXPECT_TRUE(SameBytes<S32>(table.values()[0], S32::Make(1, 9)));
  EXPECT_TRUE(S32::is_tombstone(table.values()[1]));
  EXPECT_TRUE(S32::is_tombstone(table.values()[2]));
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
  table.Sort();
  ASSERT_EQ(Keys(table), (std::vector<uint64_t>{1, 2}));
  EXPECT_TRUE(SameBytes<S32>(table.values()[0], S32::Make(1, 3)));
  EXPECT_FALSE(table.full());
  // Deduplication freed two slots.
  EXPECT_TRUE(table.Put(S32::Make(7, 7)));
  EXPECT_TRUE(table.Put(S32::Make(0, 7)));
  EXPECT_TRUE(table.full());
  EXPECT_FALSE(table.Put(S32::Make(8, 8)));
  table.Sort();
  ASSERT_EQ(Keys(table), (std::vector<uint64_t>{0, 1, 2, 7}));
}

TEST(TableMemoryTest, CapacityOfOne) {
  TableMemory<S32> table(1);
  ASSERT_TRUE(table.Put(S32::Make(3, 1)));
  EXPECT_FALSE(table.Put(S32::Make(4, 1)));
  table.Sort();
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
  EXPECT_TRUE(table.sorted());  // Seal sorts.
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
  table.Sort();
  ASSERT_EQ(Keys(table), (std::vector<uint64_t>{5}));
}

TEST(TableMemoryTest, RetireAtTheSealSnapshotIsVisibleOnlyThere) {
  TableMemory<S32> table(2);
  ASSERT_TRUE(table.Put(S32::Make(1, 1)));
  table.Seal(7);
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
  EXPECT_TRUE(table.values().empty());
}

TEST(TableMemoryTest, PinAndUnpinCountReaders) {
  TableMemory<S32> table(4);
  ASSERT_TRUE(table.Put(S32::Make(1, 1)));
  table.Seal(1);
  table.Pin();
  table.Pin();
  EXPECT_EQ(table.reader_count(), 2u);
  // Readers may read (and a sorted table may be "sorted" again).
  table.Sort();
  EXPECT_EQ(table.values().size(), 1u);
  table.Retire(5);  // Retiring does not disturb readers.
  table.Unpin();
  EXPECT_EQ(table.reader_count(), 1u);
  table.Unpin();
  EXPECT_EQ(table.reader_count(), 0u);
  table.Reset();
  EXPECT_TRUE(table.empty());
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
  table.Sort();
  ASSERT_EQ(table.count(), 3u);
  EXPECT_TRUE(table.values()[0].key == ~uint64_t{0});
  EXPECT_TRUE(table.values()[1].key == big);
  EXPECT_TRUE(W::is_tombstone(table.values()[1]));
  EXPECT_TRUE(table.values()[2].key == big + 1);
  EXPECT_EQ(table.values()[2].payload, 2u);
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
        table.Sort();
        ASSERT_EQ(table.count(), model.size());
        const std::span<const Value> values = table.values();
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
    table.Sort();
    ASSERT_EQ(table.count(), model.size());
    auto it = model.begin();
    for (const Value& value : table.values()) {
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
    EXPECT_DEATH(table.values(), "assertion failed");   // Not sorted.
    EXPECT_DEATH(table.Retire(5), "assertion failed");  // Not sealed.
    table.Seal(5);
    EXPECT_DEATH(table.Put(S32::Make(3, 1)), "assertion failed");
    EXPECT_DEATH(table.Seal(6), "assertion failed");
    EXPECT_DEATH(table.Retire(4), "assertion failed");  // Before snapshot_min.
    table.Retire(8);
    EXPECT_DEATH(table.Retire(9), "assertion failed");  // Twice.
  }
  {
    TableMemory<S32> table(4);
    EXPECT_DEATH(table.Unpin(), "assertion failed");
    table.Pin();
    EXPECT_DEATH(table.Put(S32::Make(3, 1)), "assertion failed");
    EXPECT_DEATH(table.Reset(), "assertion failed");
    table.Unpin();
    ASSERT_TRUE(table.Put(S32::Make(3, 1)));
    table.Pin();
    EXPECT_DEATH(table.Sort(), "assertion failed");  // Unsorted, pinned.
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
