// Unit tests of Manifest: NextTable() in both directions with and without an
// exclusive bound, visibility across snapshots, FindTable(), Overlapping(),
// Retire()/Remove() and CheckInvariants(). The randomized test against a
// brute-force reference is manifest_model_test.cc.

#include "lsmscan/lsm/manifest.h"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "gtest/gtest.h"
#include "lsmscan/lsm/direction.h"
#include "lsmscan/lsm/manifest_testing.h"
#include "lsmscan/lsm/table_info.h"

namespace lsmscan {
namespace {

using ::lsmscan::manifest_testing::Addresses;
using ::lsmscan::manifest_testing::Info;
using ::lsmscan::manifest_testing::Key;
using ::lsmscan::manifest_testing::MakeTable;
using ::lsmscan::manifest_testing::Table;
using ::lsmscan::manifest_testing::Walk;

class ManifestTest : public ::testing::Test {
 protected:
  // Level 1: live tables [0,9] (10), [10,19] (11), [30,39] (12).
  void InsertThreeLive() {
    manifest_.Insert(MakeTable(1, 30, 39, 12));
    manifest_.Insert(MakeTable(1, 0, 9, 10));
    manifest_.Insert(MakeTable(1, 10, 19, 11));
  }

  Manifest<Key> manifest_{4};
};

TEST_F(ManifestTest, EmptyManifestHasNoTables) {
  EXPECT_EQ(manifest_.level_count(), 4u);
  for (uint32_t level = 0; level < 4; level++) {
    EXPECT_EQ(manifest_.live_table_count(level), 0u);
    EXPECT_TRUE(manifest_.tables(level).empty());
    EXPECT_FALSE(
        manifest_
            .NextTable(level, 5, 0, 100, std::nullopt, Direction::kAscending)
            .has_value());
    EXPECT_FALSE(
        manifest_
            .NextTable(level, 5, 0, 100, std::nullopt, Direction::kDescending)
            .has_value());
    EXPECT_FALSE(manifest_.FindTable(level, 5, 7).has_value());
  }
  manifest_.CheckInvariants();
}

TEST_F(ManifestTest, InsertKeepsEachLevelSortedByKeyMax) {
  InsertThreeLive();
  manifest_.Insert(MakeTable(2, 5, 5, 20));
  const std::vector<Table>& tables = manifest_.tables(1);
  ASSERT_EQ(tables.size(), 3u);
  EXPECT_EQ(tables[0].info.index_address, 10u);
  EXPECT_EQ(tables[1].info.index_address, 11u);
  EXPECT_EQ(tables[2].info.index_address, 12u);
  EXPECT_EQ(manifest_.live_table_count(1), 3u);
  EXPECT_EQ(manifest_.live_table_count(2), 1u);
  EXPECT_EQ(manifest_.live_table_count(0), 0u);
  manifest_.CheckInvariants();
}

TEST_F(ManifestTest, AscendingWalk) {
  InsertThreeLive();
  EXPECT_EQ(Walk(manifest_, 1, 5, 0, 100, Direction::kAscending),
            (Addresses{10, 11, 12}));
  EXPECT_EQ(Walk(manifest_, 1, 5, 5, 35, Direction::kAscending),
            (Addresses{10, 11, 12}));
  EXPECT_EQ(Walk(manifest_, 1, 5, 9, 10, Direction::kAscending),
            (Addresses{10, 11}));
  EXPECT_EQ(Walk(manifest_, 1, 5, 12, 25, Direction::kAscending),
            (Addresses{11}));
  EXPECT_EQ(Walk(manifest_, 1, 5, 20, 29, Direction::kAscending),
            Addresses{});  // The gap between tables.
  EXPECT_EQ(Walk(manifest_, 1, 5, 40, 1000, Direction::kAscending),
            Addresses{});  // Beyond the last table.
  EXPECT_EQ(Walk(manifest_, 1, 5, 39, 39, Direction::kAscending),
            (Addresses{12}));
  EXPECT_EQ(Walk(manifest_, 1, 5, 0, 0, Direction::kAscending),
            (Addresses{10}));
}

TEST_F(ManifestTest, AscendingWithKeyExclusive) {
  InsertThreeLive();
  auto next = [&](Key min, Key max, std::optional<Key> exclusive) {
    const std::optional<Info> table =
        manifest_.NextTable(1, 5, min, max, exclusive, Direction::kAscending);
    return table.has_value() ? table->index_address : BlockAddress{0};
  };
  EXPECT_EQ(next(0, 100, std::nullopt), 10u);
  EXPECT_EQ(next(0, 100, 9), 11u);
  EXPECT_EQ(next(0, 100, 8), 10u);  // key_max 9 > 8: still ahead.
  EXPECT_EQ(next(0, 100, 19), 12u);
  EXPECT_EQ(next(0, 100, 25), 12u);
  EXPECT_EQ(next(0, 100, 39), 0u);
  EXPECT_EQ(next(0, 100, 1000), 0u);
  EXPECT_EQ(next(0, 15, 9), 11u);
  EXPECT_EQ(next(0, 15, 19), 0u);   // Table 12 is outside [0, 15].
  EXPECT_EQ(next(31, 35, 0), 12u);  // key_min dominates a low exclusive.
}

TEST_F(ManifestTest, DescendingWalk) {
  InsertThreeLive();
  EXPECT_EQ(Walk(manifest_, 1, 5, 0, 100, Direction::kDescending),
            (Addresses{12, 11, 10}));
  EXPECT_EQ(Walk(manifest_, 1, 5, 5, 35, Direction::kDescending),
            (Addresses{12, 11, 10}));
  EXPECT_EQ(Walk(manifest_, 1, 5, 9, 10, Direction::kDescending),
            (Addresses{11, 10}));
  EXPECT_EQ(Walk(manifest_, 1, 5, 20, 29, Direction::kDescending), Addresses{});
  EXPECT_EQ(Walk(manifest_, 1, 5, 25, 30, Direction::kDescending),
            (Addresses{12}));
  EXPECT_EQ(Walk(manifest_, 1, 5, 21, 29, Direction::kDescending), Addresses{});
  EXPECT_EQ(Walk(manifest_, 1, 5, 40, 1000, Direction::kDescending),
            Addresses{});
  EXPECT_EQ(Walk(manifest_, 1, 5, 0, 0, Direction::kDescending),
            (Addresses{10}));
}

TEST_F(ManifestTest, DescendingWithKeyExclusive) {
  InsertThreeLive();
  auto next = [&](Key min, Key max, std::optional<Key> exclusive) {
    const std::optional<Info> table =
        manifest_.NextTable(1, 5, min, max, exclusive, Direction::kDescending);
    return table.has_value() ? table->index_address : BlockAddress{0};
  };
  EXPECT_EQ(next(0, 100, std::nullopt), 12u);
  EXPECT_EQ(next(0, 100, 30), 11u);
  EXPECT_EQ(next(0, 100, 39), 11u);  // key_max 39 is not below 39.
  EXPECT_EQ(next(0, 100, 40), 12u);
  EXPECT_EQ(next(0, 100, 10), 10u);
  EXPECT_EQ(next(0, 100, 0), 0u);
  EXPECT_EQ(next(0, 100, 25), 11u);
  EXPECT_EQ(next(12, 100, 10), 0u);  // Table 10 is outside [12, 100].
}

// Three generations of level 0 (index address in parentheses):
//   snapshots 1..5:   A (1) [0, 99]
//   snapshots 6..9:   B (2) [0, 49], C (3) [50, 99]
//   snapshots 10..:   D (4) [0, 29], E (5) [40, 120]
// plus F (6) [200, 300], live from snapshot 3 on.
class ManifestSnapshotTest : public ::testing::Test {
 protected:
  void SetUp() override {
    manifest_.Insert(MakeTable(0, 0, 99, 1, 1, 5));   // A
    manifest_.Insert(MakeTable(0, 0, 49, 2, 6, 9));   // B
    manifest_.Insert(MakeTable(0, 50, 99, 3, 6, 9));  // C
    manifest_.Insert(MakeTable(0, 0, 29, 4, 10));     // D
    manifest_.Insert(MakeTable(0, 40, 120, 5, 10));   // E
    manifest_.Insert(MakeTable(0, 200, 300, 6, 3));   // F
    manifest_.CheckInvariants();
  }
  Manifest<Key> manifest_{2};
};

TEST_F(ManifestSnapshotTest, WalksSeeOnlyTheirSnapshotsTables) {
  for (Direction d : {Direction::kAscending, Direction::kDescending}) {
    SCOPED_TRACE(DirectionName(d));
    auto walk = [&](Snapshot s, Key min, Key max) {
      Addresses result = Walk(manifest_, 0, s, min, max, d);
      if (d == Direction::kDescending)
        std::reverse(result.begin(), result.end());
      return result;
    };
    EXPECT_EQ(walk(0, 0, 1000), Addresses{});
    EXPECT_EQ(walk(1, 0, 1000), (Addresses{1}));
    EXPECT_EQ(walk(3, 0, 1000), (Addresses{1, 6}));
    EXPECT_EQ(walk(5, 0, 1000), (Addresses{1, 6}));
    EXPECT_EQ(walk(6, 0, 1000), (Addresses{2, 3, 6}));
    EXPECT_EQ(walk(9, 0, 1000), (Addresses{2, 3, 6}));
    EXPECT_EQ(walk(10, 0, 1000), (Addresses{4, 5, 6}));
    EXPECT_EQ(walk(kSnapshotForever, 0, 1000), (Addresses{4, 5, 6}));
    EXPECT_EQ(walk(7, 45, 55), (Addresses{2, 3}));
    EXPECT_EQ(walk(11, 30, 39), Addresses{});  // D ends at 29, E starts at 40.
    EXPECT_EQ(walk(4, 30, 39), (Addresses{1}));
    EXPECT_EQ(walk(11, 100, 250), (Addresses{5, 6}));
    EXPECT_EQ(walk(8, 100, 250), (Addresses{6}));
    EXPECT_EQ(walk(2, 100, 250), Addresses{});
  }
}

TEST_F(ManifestSnapshotTest, FindTable) {
  auto find = [&](Snapshot s, Key key) {
    const std::optional<Info> t = manifest_.FindTable(0, s, key);
    return t.has_value() ? t->index_address : BlockAddress{0};
  };
  EXPECT_EQ(find(3, 0), 1u);
  EXPECT_EQ(find(3, 99), 1u);
  EXPECT_EQ(find(3, 100), 0u);
  EXPECT_EQ(find(3, 250), 6u);
  EXPECT_EQ(find(2, 250), 0u);
  EXPECT_EQ(find(7, 49), 2u);
  EXPECT_EQ(find(7, 50), 3u);
  EXPECT_EQ(find(12, 35), 0u);  // A gap only at the newest snapshot.
  EXPECT_EQ(find(12, 40), 5u);
  EXPECT_EQ(find(12, 120), 5u);
  EXPECT_EQ(find(12, 121), 0u);
  EXPECT_EQ(find(0, 0), 0u);
  const std::optional<Info> info = manifest_.FindTable(0, 7, 60);
  ASSERT_TRUE(info.has_value());
  EXPECT_EQ(info->key_min, 50u);
  EXPECT_EQ(info->key_max, 99u);
  EXPECT_EQ(info->snapshot_min, 6u);
  EXPECT_EQ(info->snapshot_max, 9u);
  EXPECT_EQ(info->index_checksum, (Checksum128{3, ~uint64_t{3}}));
  EXPECT_EQ(info->data_block_count, 2u);
}

TEST_F(ManifestSnapshotTest, Overlapping) {
  auto overlapping = [&](Snapshot s, Key min, Key max) {
    Addresses result;
    for (const Info& info : manifest_.Overlapping(0, s, min, max)) {
      result.push_back(info.index_address);
    }
    return result;
  };
  EXPECT_EQ(overlapping(12, 0, 1000), (Addresses{4, 5, 6}));
  EXPECT_EQ(overlapping(12, 29, 40), (Addresses{4, 5}));
  EXPECT_EQ(overlapping(12, 30, 39), Addresses{});
  EXPECT_EQ(overlapping(7, 49, 50), (Addresses{2, 3}));
  EXPECT_EQ(overlapping(4, 0, 1000), (Addresses{1, 6}));
  EXPECT_EQ(overlapping(4, 301, 1000), Addresses{});
}

TEST_F(ManifestSnapshotTest, LiveCountsRetireAndRemove) {
  EXPECT_EQ(manifest_.live_table_count(0), 3u);  // D, E, F.
  EXPECT_EQ(manifest_.tables(0).size(), 6u);
  // Retire E at 14: snapshot 14 still sees it, 15 does not.
  manifest_.Retire(0, 5, 14);
  EXPECT_EQ(manifest_.live_table_count(0), 2u);
  EXPECT_EQ(manifest_.Find(0, 5)->info.snapshot_max, 14u);
  EXPECT_TRUE(manifest_.FindTable(0, 14, 60).has_value());
  EXPECT_FALSE(manifest_.FindTable(0, 15, 60).has_value());
  manifest_.CheckInvariants();
  // Remove the retired tables A, B and E; their blocks come back.
  const Table removed = manifest_.Remove(0, 5);
  EXPECT_EQ(removed.info.index_address, 5u);
  EXPECT_EQ(removed.data_addresses, (std::vector<BlockAddress>{501, 502}));
  manifest_.Remove(0, 1);
  manifest_.Remove(0, 2);
  EXPECT_EQ(manifest_.tables(0).size(), 3u);
  EXPECT_EQ(manifest_.live_table_count(0), 2u);
  EXPECT_EQ(manifest_.Find(0, 1), nullptr);
  EXPECT_EQ(manifest_.Find(0, 5), nullptr);
  EXPECT_NE(manifest_.Find(0, 3), nullptr);
  EXPECT_EQ(manifest_.Find(1, 3), nullptr);                 // Another level.
  EXPECT_FALSE(manifest_.FindTable(0, 4, 10).has_value());  // A is gone.
  EXPECT_EQ(manifest_.FindTable(0, 7, 60)->index_address, 3u);
  manifest_.CheckInvariants();
}

TEST(ManifestOccupiedLevelsTest, ABitPerLevelHoldingATableOfAnyLifetime) {
  Manifest<Key> manifest(7);
  EXPECT_EQ(manifest.occupied_levels(), 0u);
  manifest.Insert(MakeTable(3, 0, 10, 1, 1, 4));  // Retired at 4.
  manifest.Insert(MakeTable(3, 20, 30, 2));
  manifest.Insert(MakeTable(6, 0, 100, 3));
  EXPECT_EQ(manifest.occupied_levels(), (1u << 3) | (1u << 6));
  manifest.Retire(3, 2, 9);
  // Retired tables still count: older snapshots read them.
  EXPECT_EQ(manifest.occupied_levels(), (1u << 3) | (1u << 6));
  manifest.Remove(3, 1);
  EXPECT_EQ(manifest.occupied_levels(), (1u << 3) | (1u << 6));
  manifest.Remove(3, 2);  // Its last table.
  EXPECT_EQ(manifest.occupied_levels(), 1u << 6);
  EXPECT_FALSE(manifest.MayIntersect(3, 0, 100));
  manifest.Insert(MakeTable(0, 5, 6, 4));
  EXPECT_EQ(manifest.occupied_levels(), 1u | (1u << 6));
  manifest.CheckInvariants();
}

TEST(ManifestWideKeyTest, WalksWith16ByteKeys) {
  using Wide = unsigned __int128;
  Manifest<Wide> manifest(1);
  const Wide high = static_cast<Wide>(1) << 64;
  for (uint64_t i = 0; i < 4; i++) {
    ManifestTable<Wide> table;
    table.info.key_min = high * i + 10;
    table.info.key_max = high * i + 20;
    table.info.index_address = i + 1;
    table.info.snapshot_min = 1;
    manifest.Insert(table);
  }
  manifest.CheckInvariants();
  std::optional<Wide> exclusive;
  std::vector<BlockAddress> seen;
  while (auto t = manifest.NextTable(0, 1, 15, high * 3 + 10, exclusive,
                                     Direction::kDescending)) {
    seen.push_back(t->index_address);
    exclusive = t->key_min;
  }
  EXPECT_EQ(seen, (std::vector<BlockAddress>{4, 3, 2, 1}));
  EXPECT_FALSE(manifest.FindTable(0, 1, high + 21).has_value());
  EXPECT_EQ(manifest.FindTable(0, 1, high * 2 + 15)->index_address, 3u);
}

TEST(ManifestDeathTest, CheckInvariantsCatchesOverlappingLiveTables) {
  Manifest<Key> manifest(2);
  manifest.Insert(MakeTable(1, 0, 10, 1));
  manifest.Insert(MakeTable(1, 20, 30, 2));
  manifest.CheckInvariants();
  manifest.Insert(MakeTable(1, 10, 15, 3));  // Shares key 10 with table 1.
  EXPECT_DEATH(manifest.CheckInvariants(), "live tables of a level overlap");
}

TEST(ManifestDeathTest, CheckInvariantsCatchesNestedLiveTables) {
  Manifest<Key> manifest(1);
  manifest.Insert(MakeTable(0, 0, 100, 1));
  manifest.Insert(MakeTable(0, 40, 50, 2));
  EXPECT_DEATH(manifest.CheckInvariants(), "live tables of a level overlap");
}

TEST(ManifestInvariantsTest, OverlapWithARetiredTableIsFine) {
  Manifest<Key> manifest(1);
  manifest.Insert(MakeTable(0, 0, 100, 1, 1, 4));
  manifest.Insert(MakeTable(0, 40, 50, 2, 5));
  manifest.CheckInvariants();  // Does not abort.
  EXPECT_EQ(manifest.live_table_count(0), 1u);
}

TEST(ManifestDeathTest, MisuseAborts) {
  Manifest<Key> manifest(2);
  manifest.Insert(MakeTable(0, 0, 10, 1));
  manifest.Insert(MakeTable(0, 20, 30, 2, 1, 5));
  EXPECT_DEATH(manifest.Insert(MakeTable(2, 0, 1, 3)), "assertion failed");
  EXPECT_DEATH(manifest.Insert(MakeTable(0, 5, 4, 3)), "assertion failed");
  EXPECT_DEATH(manifest.Insert(MakeTable(0, 50, 60, 3, 9, 8)),
               "assertion failed");
  {
    Table bad = MakeTable(0, 50, 60, 3);
    bad.data_addresses.pop_back();  // data_block_count disagrees.
    EXPECT_DEATH(manifest.Insert(bad), "assertion failed");
  }
  EXPECT_DEATH(manifest.Retire(0, 99, 5), "assertion failed");  // Unknown.
  EXPECT_DEATH(manifest.Retire(0, 2, 6), "assertion failed");   // Retired.
  EXPECT_DEATH(manifest.Retire(0, 1, 0), "assertion failed");   // < min.
  EXPECT_DEATH(manifest.Remove(0, 1), "assertion failed");      // Live.
  EXPECT_DEATH(manifest.Remove(0, 99), "unreachable");
  EXPECT_DEATH(
      manifest.NextTable(2, 1, 0, 1, std::nullopt, Direction::kAscending),
      "assertion failed");
  EXPECT_DEATH(
      manifest.NextTable(0, 1, 5, 4, std::nullopt, Direction::kAscending),
      "assertion failed");
  // The manifest is unchanged by the aborted calls (they ran in children).
  EXPECT_EQ(manifest.live_table_count(0), 1u);
  manifest.CheckInvariants();
}

}  // namespace
}  // namespace lsmscan

namespace lsmscan {
namespace {

// A table with its two data blocks' keys: [key_min, mid] and [mid+1,
// key_max].
Table MakeFencedTable(uint8_t level, Key key_min, Key key_max,
                      BlockAddress index, Snapshot snapshot_min = 1) {
  Table table = MakeTable(level, key_min, key_max, index, snapshot_min);
  const Key mid = key_min + (key_max - key_min) / 2;
  table.data_keys_min = {key_min, mid + 1};
  table.data_keys_max = {mid, key_max};
  table.data_checksums = {Checksum128{index, 1}, Checksum128{index, 2}};
  return table;
}

TEST(ManifestFencesTest, FlatArraysOfTheLiveTablesBlocksInKeyOrder) {
  Manifest<Key> manifest(3);
  manifest.Insert(MakeFencedTable(1, 30, 39, 12));
  manifest.Insert(MakeFencedTable(1, 0, 9, 10));
  manifest.Insert(MakeFencedTable(1, 10, 19, 11));
  const auto fences = manifest.Fences(1, /*snapshot=*/5);
  ASSERT_NE(fences, nullptr);
  EXPECT_TRUE(fences->Valid());
  EXPECT_EQ(fences->keys_min, (std::vector<Key>{0, 5, 10, 15, 30, 35}));
  EXPECT_EQ(fences->keys_max, (std::vector<Key>{4, 9, 14, 19, 34, 39}));
  EXPECT_EQ(fences->addresses, (Addresses{1001, 1002, 1101, 1102, 1201, 1202}));
  EXPECT_EQ(fences->checksums[3], (Checksum128{11, 2}));
  // An empty level has empty fences; the same version until a change.
  ASSERT_NE(manifest.Fences(0, 5), nullptr);
  EXPECT_EQ(manifest.Fences(0, 5)->block_count(), 0u);
  EXPECT_EQ(manifest.Fences(1, 5), fences);
}

TEST(ManifestFencesTest, OnlySnapshotsThatSeeExactlyTheLiveTables) {
  Manifest<Key> manifest(3);
  manifest.Insert(MakeFencedTable(1, 0, 9, 10, /*snapshot_min=*/3));
  EXPECT_EQ(manifest.Fences(1, 2), nullptr);  // Before the table existed.
  const auto before = manifest.Fences(1, 3);
  ASSERT_NE(before, nullptr);
  // Op 7 replaces the table: snapshots up to 6 still see the old one.
  manifest.Retire(1, 10, 6);
  manifest.Insert(MakeFencedTable(1, 0, 19, 20, /*snapshot_min=*/7));
  EXPECT_EQ(manifest.Fences(1, 6), nullptr);
  const auto after = manifest.Fences(1, 7);
  ASSERT_NE(after, nullptr);
  EXPECT_EQ(after->addresses, (Addresses{2001, 2002}));
  // A version handed out earlier is unchanged.
  EXPECT_EQ(before->addresses, (Addresses{1001, 1002}));
  // Other levels are not affected.
  EXPECT_NE(manifest.Fences(2, 3), nullptr);
  // Removing the retired table changes nothing a scan sees.
  manifest.Remove(1, 10);
  EXPECT_EQ(manifest.Fences(1, 7), after);
}

TEST(ManifestFencesTest, NoneWhileALiveTableLacksBlockKeys) {
  Manifest<Key> manifest(3);
  manifest.Insert(MakeFencedTable(1, 0, 9, 10));
  manifest.Insert(MakeTable(1, 20, 29, 11));  // No block keys.
  EXPECT_EQ(manifest.Fences(1, 5), nullptr);
  manifest.Retire(1, 11, 5);
  EXPECT_NE(manifest.Fences(1, 6), nullptr);
}

TEST(ManifestFencesTest, MayIntersectHoldsEveryTableOfEveryLifetime) {
  Manifest<Key> manifest(3);
  EXPECT_FALSE(manifest.MayIntersect(1, 0, 1000));
  manifest.Insert(MakeTable(1, 10, 19, 10));
  manifest.Insert(MakeTable(1, 40, 49, 11, 1, /*snapshot_max=*/4));
  EXPECT_TRUE(manifest.MayIntersect(1, 0, 10));
  EXPECT_TRUE(manifest.MayIntersect(1, 49, 100));
  EXPECT_TRUE(manifest.MayIntersect(1, 25, 30));  // Conservative: a gap.
  EXPECT_FALSE(manifest.MayIntersect(1, 0, 9));
  EXPECT_FALSE(manifest.MayIntersect(1, 50, 100));
  manifest.Remove(1, 11);  // The bounds shrink to what is left.
  EXPECT_FALSE(manifest.MayIntersect(1, 40, 49));
  manifest.CheckInvariants();
}

}  // namespace
}  // namespace lsmscan
