// Randomized test of Manifest against a brute-force reference: random
// histories of compactions, then walks (as a scan's level makes them),
// Overlapping(), FindTable() and single NextTable() steps at random
// snapshots and ranges.
//
// It prints its seed; rerun it with LSMSCAN_SEED=<seed>.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "gtest/gtest.h"
#include "lsmscan/lsm/direction.h"
#include "lsmscan/lsm/manifest.h"
#include "lsmscan/lsm/manifest_testing.h"
#include "lsmscan/lsm/table_info.h"
#include "lsmscan/storage/base/prng.h"
#include "lsmscan/storage/storage_testing.h"

namespace lsmscan {
namespace {

using ::lsmscan::manifest_testing::Addresses;
using ::lsmscan::manifest_testing::Info;
using ::lsmscan::manifest_testing::Key;
using ::lsmscan::manifest_testing::MakeTable;
using ::lsmscan::manifest_testing::Table;
using ::lsmscan::manifest_testing::Walk;

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

}  // namespace
}  // namespace lsmscan
