// Unit tests of Manifest: NextTable() in both directions with and without an
// exclusive bound, visibility across snapshots, FindTable(), Overlapping(),
// Retire()/Remove() and CheckInvariants(), plus a seeded randomized test
// against a brute-force reference that walks whole levels as a scan does.
//
// The randomized test prints its seed; rerun it with LSMSCAN_SEED=<seed>.

#include "lsmscan/lsm/manifest.h"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "lsmscan/lsm/direction.h"
#include "lsmscan/lsm/table_info.h"
#include "lsmscan/storage/base/prng.h"
#include "lsmscan/storage/storage_testing.h"

namespace lsmscan {
namespace {

using Key = uint64_t;
using Table = ManifestTable<Key>;
using Info = TableInfo<Key>;

Table MakeTable(uint8_t level, Key key_min, Key key_max, BlockAddress index,
                Snapshot snapshot_min = 1,
                Snapshot snapshot_max = kSnapshotForever) {
  Table table;
  table.info.level = level;
  table.info.key_min = key_min;
  table.info.key_max = key_max;
  table.info.snapshot_min = snapshot_min;
  table.info.snapshot_max = snapshot_max;
  table.info.index_address = index;
  table.info.index_checksum = Checksum128{index, ~index};
  table.info.value_count = 10 * index;
  table.info.data_block_count = 2;
  table.data_addresses = {index * 100 + 1, index * 100 + 2};
  return table;
}

// The index addresses NextTable() yields walking `level` like a scan: each
// call passes the previous table's boundary as key_exclusive.
std::vector<BlockAddress> Walk(const Manifest<Key>& manifest, uint32_t level,
                               Snapshot snapshot, Key key_min, Key key_max,
                               Direction direction) {
  std::vector<BlockAddress> result;
  std::optional<Key> exclusive;
  const size_t limit = manifest.tables(level).size() + 1;
  while (result.size() <= limit) {
    const std::optional<Info> table = manifest.NextTable(
        level, snapshot, key_min, key_max, exclusive, direction);
    if (!table.has_value()) break;
    result.push_back(table->index_address);
    exclusive =
        direction == Direction::kAscending ? table->key_max : table->key_min;
  }
  return result;
}

using Addresses = std::vector<BlockAddress>;

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

// ---------------------------------------------------------------------------
// Randomized: a history of compactions per level (each replaces the live
// tables meeting a random range by new disjoint tables, retiring the old at
// the previous snapshot), then walks at random snapshots and ranges against
// a brute-force reference.

struct Model {
  std::vector<std::vector<Info>> levels;  // Every table in the manifest.
};

Addresses Reference(const Model& model, uint32_t level, Snapshot snapshot,
                    Key key_min, Key key_max, Direction direction) {
  std::vector<Info> visible;
  for (const Info& info : model.levels[level]) {
    if (info.visible(snapshot) && info.intersects(key_min, key_max)) {
      visible.push_back(info);
    }
  }
  std::sort(visible.begin(), visible.end(),
            [](const Info& a, const Info& b) { return a.key_min < b.key_min; });
  for (size_t i = 1; i < visible.size(); i++) {
    EXPECT_LT(visible[i - 1].key_max, visible[i].key_min)
        << "the generator made overlapping tables";
  }
  Addresses result;
  for (const Info& info : visible) result.push_back(info.index_address);
  if (direction == Direction::kDescending) {
    std::reverse(result.begin(), result.end());
  }
  return result;
}

// The reference for one NextTable() call with an arbitrary exclusive bound.
std::optional<BlockAddress> ReferenceNext(const Model& model, uint32_t level,
                                          Snapshot snapshot, Key key_min,
                                          Key key_max,
                                          std::optional<Key> exclusive,
                                          Direction direction) {
  std::optional<Info> best;
  for (const Info& info : model.levels[level]) {
    if (!info.visible(snapshot) || !info.intersects(key_min, key_max)) continue;
    if (exclusive.has_value()) {
      if (direction == Direction::kAscending && !(info.key_max > *exclusive)) {
        continue;
      }
      if (direction == Direction::kDescending && !(info.key_max < *exclusive)) {
        continue;
      }
    }
    if (!best.has_value() || Before(direction, info.key_max, best->key_max)) {
      best = info;
    }
  }
  if (!best.has_value()) return std::nullopt;
  return best->index_address;
}

// What the randomized walks must have met: layouts where visibility matters.
struct WalkCoverage {
  uint64_t long_walks = 0;       // Walks of 3 or more tables.
  uint64_t retired_visible = 0;  // Walks that returned a retired table.
};

// RandomLayout
//
// One random layout of kLevelCount levels: a history of compactions applied
// alike to the manifest under test and to the brute-force model, then
// random queries of both.
class RandomLayout {
 public:
  static constexpr uint32_t kLevelCount = 3;

  explicit RandomLayout(Prng* prng)
      : prng_(prng),
        key_space_(prng->Range(8, 400)),
        manifest_(kLevelCount),
        live_(kLevelCount) {
    model_.levels.resize(kLevelCount);
  }

  // Runs 1 to 60 random compactions.
  void Build() {
    const int operations = static_cast<int>(prng_->Range(1, 60));
    for (int op = 0; op < operations; op++) {
      ASSERT_NO_FATAL_FAILURE(Compact());
    }
  }

  // The manifest's counts and order agree with the model.
  void CheckShape() const {
    manifest_.CheckInvariants();
    for (uint32_t level = 0; level < kLevelCount; level++) {
      ASSERT_EQ(manifest_.live_table_count(level), live_[level].size());
      ASSERT_EQ(manifest_.tables(level).size(), model_.levels[level].size());
      const std::vector<Table>& tables = manifest_.tables(level);
      for (size_t i = 1; i < tables.size(); i++) {
        const Info& p = tables[i - 1].info;
        const Info& q = tables[i].info;
        ASSERT_TRUE(
            p.key_max < q.key_max ||
            (p.key_max == q.key_max && p.snapshot_min <= q.snapshot_min));
      }
    }
  }

  // Walks, Overlapping(), FindTable() and single NextTable() steps at a
  // random level, snapshot and range, each against the model.
  void CheckRandomQuery(WalkCoverage* coverage) {
    const uint32_t level = static_cast<uint32_t>(prng_->Uniform(kLevelCount));
    const Snapshot at =
        prng_->Chance(0.05) ? kSnapshotForever : prng_->Range(0, snapshot_ + 1);
    Key min = prng_->Uniform(key_space_ + 4);
    Key max = prng_->Uniform(key_space_ + 4);
    if (max < min) std::swap(min, max);
    if (prng_->Chance(0.1)) {
      min = 0;
      max = key_space_ + 10;
    }
    SCOPED_TRACE("level " + std::to_string(level) + ", snapshot " +
                 std::to_string(at) + ", range [" + std::to_string(min) + ", " +
                 std::to_string(max) + "]");
    ASSERT_NO_FATAL_FAILURE(CheckWalks(level, at, min, max, coverage));
    ASSERT_NO_FATAL_FAILURE(CheckOverlappingAndFind(level, at, min, max));
    ASSERT_NO_FATAL_FAILURE(CheckNextTableSteps(level, at, min, max));
  }

 private:
  // One compaction: replaces the live tables of a random level meeting a
  // random range by new disjoint tables, retiring the old at the previous
  // snapshot; now and then frees some retired tables.
  void Compact() {
    snapshot_ += prng_->Range(1, 3);
    const uint32_t level = static_cast<uint32_t>(prng_->Uniform(kLevelCount));
    const Key a = prng_->Uniform(key_space_);
    const Key b =
        std::min<Key>(key_space_ - 1, a + prng_->Uniform(key_space_ / 3 + 1));
    Key lo = a;
    Key hi = b;
    RetireMeeting(level, a, b, &lo, &hi);
    // New disjoint tables inside [lo, hi] (sometimes none: a deletion).
    if (!prng_->Chance(0.15)) InsertDisjoint(level, lo, hi);
    // Now and then, collect some retired tables.
    if (prng_->Chance(0.1)) {
      ASSERT_NO_FATAL_FAILURE(RemoveSomeRetired(level));
    }
  }

  // Retires the live tables of `level` meeting [a, b]; widens [lo, hi] to
  // cover them.
  void RetireMeeting(uint32_t level, Key a, Key b, Key* lo, Key* hi) {
    std::vector<Info> kept;
    for (const Info& info : live_[level]) {
      if (!info.intersects(a, b)) {
        kept.push_back(info);
        continue;
      }
      *lo = std::min(*lo, info.key_min);
      *hi = std::max(*hi, info.key_max);
      manifest_.Retire(level, info.index_address, snapshot_ - 1);
      for (Info& m : model_.levels[level]) {
        if (m.index_address == info.index_address)
          m.snapshot_max = snapshot_ - 1;
      }
    }
    live_[level] = kept;
  }

  // Inserts random disjoint tables inside [lo, hi] into `level`.
  void InsertDisjoint(uint32_t level, Key lo, Key hi) {
    Key cursor = lo;
    while (cursor <= hi) {
      const Key start = cursor + prng_->Uniform(3);
      if (start > hi) break;
      const Key end = std::min(hi, start + prng_->Uniform(key_space_ / 8 + 1));
      Table table = MakeTable(static_cast<uint8_t>(level), start, end,
                              next_address_++, snapshot_);
      live_[level].push_back(table.info);
      model_.levels[level].push_back(table.info);
      manifest_.Insert(std::move(table));
      cursor = end + 1;
    }
  }

  // Removes about half the retired tables of `level`.
  void RemoveSomeRetired(uint32_t level) {
    std::vector<Info>& all = model_.levels[level];
    for (size_t i = 0; i < all.size();) {
      if (all[i].snapshot_max != kSnapshotForever && prng_->Chance(0.5)) {
        const Table removed = manifest_.Remove(level, all[i].index_address);
        ASSERT_EQ(removed.info.index_address, all[i].index_address);
        all.erase(all.begin() + static_cast<std::ptrdiff_t>(i));
      } else {
        i++;
      }
    }
  }

  // Whole walks in both directions.
  void CheckWalks(uint32_t level, Snapshot at, Key min, Key max,
                  WalkCoverage* coverage) const {
    for (Direction d : {Direction::kAscending, Direction::kDescending}) {
      const Addresses walked = Walk(manifest_, level, at, min, max, d);
      ASSERT_EQ(walked, Reference(model_, level, at, min, max, d))
          << DirectionName(d);
      if (walked.size() >= 3) coverage->long_walks++;
      for (BlockAddress address : walked) {
        if (manifest_.Find(level, address)->info.snapshot_max !=
            kSnapshotForever) {
          coverage->retired_visible++;
          break;
        }
      }
    }
  }

  // Overlapping() (the ascending walk), and FindTable() of a random key.
  void CheckOverlappingAndFind(uint32_t level, Snapshot at, Key min, Key max) {
    Addresses overlapping;
    for (const Info& info : manifest_.Overlapping(level, at, min, max)) {
      overlapping.push_back(info.index_address);
    }
    ASSERT_EQ(overlapping,
              Reference(model_, level, at, min, max, Direction::kAscending));
    const Key key = prng_->Uniform(key_space_ + 2);
    const std::optional<Info> found = manifest_.FindTable(level, at, key);
    const Addresses holder =
        Reference(model_, level, at, key, key, Direction::kAscending);
    ASSERT_LE(holder.size(), 1u);
    ASSERT_EQ(found.has_value(), holder.size() == 1) << "key " << key;
    if (found.has_value()) {
      ASSERT_EQ(found->index_address, holder[0]);
    }
  }

  // One step with an arbitrary exclusive bound (any bound ascending; at
  // most key_max descending, as a scan never passes more).
  void CheckNextTableSteps(uint32_t level, Snapshot at, Key min, Key max) {
    const Key up_exclusive = prng_->Uniform(key_space_ + 4);
    ASSERT_NO_FATAL_FAILURE(CheckNextTable(level, at, min, max, up_exclusive,
                                           Direction::kAscending));
    const Key down_exclusive = min + prng_->Uniform(max - min + 1);
    ASSERT_NO_FATAL_FAILURE(CheckNextTable(level, at, min, max, down_exclusive,
                                           Direction::kDescending));
  }

  void CheckNextTable(uint32_t level, Snapshot at, Key min, Key max,
                      Key exclusive, Direction direction) const {
    const std::optional<Info> next =
        manifest_.NextTable(level, at, min, max, exclusive, direction);
    const std::optional<BlockAddress> expected =
        ReferenceNext(model_, level, at, min, max, exclusive, direction);
    ASSERT_EQ(next.has_value(), expected.has_value())
        << "exclusive " << exclusive;
    if (next.has_value()) {
      ASSERT_EQ(next->index_address, *expected);
    }
  }

  Prng* prng_;
  const Key key_space_;
  Manifest<Key> manifest_;
  Model model_;
  std::vector<std::vector<Info>> live_;
  BlockAddress next_address_ = 1;
  Snapshot snapshot_ = 1;
};

TEST(ManifestRandomizedTest, NextTableMatchesBruteForce) {
  const uint64_t seed = testing::SeedFromEnvironment(0x3A41F357);
  SCOPED_TRACE("seed " + std::to_string(seed) +
               " (rerun with LSMSCAN_SEED=" + std::to_string(seed) + ")");
  Prng prng(seed);
  WalkCoverage coverage;
  for (int layout = 0; layout < 30; layout++) {
    SCOPED_TRACE("layout " + std::to_string(layout));
    RandomLayout history(&prng);
    ASSERT_NO_FATAL_FAILURE(history.Build());
    ASSERT_NO_FATAL_FAILURE(history.CheckShape());
    for (int query = 0; query < 300; query++) {
      ASSERT_NO_FATAL_FAILURE(history.CheckRandomQuery(&coverage));
    }
  }
  // Coverage: the layouts must make visibility matter.
  EXPECT_GT(coverage.long_walks, 500u);
  EXPECT_GT(coverage.retired_visible, 500u);
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
