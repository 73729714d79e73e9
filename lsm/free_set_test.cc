// Unit tests of FreeSet: lowest-first allocation, exhaustion, immediate and
// staged release, checkpoints, high water and reserved blocks, plus a
// randomized test against a std::set model.
//
// The randomized test prints its seed; rerun it with LSMSCAN_SEED=<seed>.

#include "lsmscan/lsm/free_set.h"

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "gtest/gtest.h"
#include "lsmscan/storage/base/prng.h"
#include "lsmscan/storage/storage_testing.h"

namespace lsmscan {
namespace {

BlockAddress MustAcquire(FreeSet& free_set) {
  const absl::StatusOr<BlockAddress> address = free_set.Acquire();
  EXPECT_TRUE(address.ok()) << address.status();
  return address.ok() ? *address : ~BlockAddress{0};
}

TEST(FreeSetTest, ReservedBlocksAreAcquiredFromTheStart) {
  FreeSet free_set(100, 2);
  EXPECT_EQ(free_set.block_count_max(), 100u);
  EXPECT_TRUE(free_set.acquired(0));
  EXPECT_TRUE(free_set.acquired(1));
  EXPECT_FALSE(free_set.acquired(2));
  EXPECT_EQ(free_set.acquired_count(), 2u);
  EXPECT_EQ(free_set.staged_count(), 0u);
  EXPECT_EQ(free_set.high_water(), 2u);
}

TEST(FreeSetTest, AcquireHandsOutTheLowestFreeBlock) {
  FreeSet free_set(200, 2);
  for (BlockAddress expected = 2; expected < 150; expected++) {
    ASSERT_EQ(MustAcquire(free_set), expected);
    ASSERT_TRUE(free_set.acquired(expected));
  }
  EXPECT_EQ(free_set.acquired_count(), 150u);
  // Freed blocks are reused lowest first, across words.
  free_set.Release(100);
  free_set.Release(7);
  free_set.Release(70);
  EXPECT_EQ(free_set.acquired_count(), 147u);
  EXPECT_FALSE(free_set.acquired(7));
  EXPECT_EQ(MustAcquire(free_set), 7u);
  EXPECT_EQ(MustAcquire(free_set), 70u);
  EXPECT_EQ(MustAcquire(free_set), 100u);
  EXPECT_EQ(MustAcquire(free_set), 150u);
}

TEST(FreeSetTest, ExhaustionIsResourceExhausted) {
  for (uint64_t count_max : {3u, 10u, 63u, 64u, 65u, 128u, 130u}) {
    SCOPED_TRACE(count_max);
    FreeSet free_set(count_max, 2);
    for (BlockAddress expected = 2; expected < count_max; expected++) {
      ASSERT_EQ(MustAcquire(free_set), expected);
    }
    EXPECT_EQ(free_set.acquired_count(), count_max);
    EXPECT_EQ(free_set.high_water(), count_max);
    for (int i = 0; i < 3; i++) {
      const absl::StatusOr<BlockAddress> none = free_set.Acquire();
      ASSERT_FALSE(none.ok());
      EXPECT_EQ(none.status().code(), absl::StatusCode::kResourceExhausted);
      EXPECT_NE(none.status().message().find(std::to_string(count_max)),
                std::string::npos)
          << none.status();
    }
    // Freeing one makes it available again, and only it.
    free_set.Release(count_max - 1);
    EXPECT_EQ(MustAcquire(free_set), count_max - 1);
    EXPECT_FALSE(free_set.Acquire().ok());
    free_set.Release(2);
    EXPECT_EQ(MustAcquire(free_set), 2u);
    EXPECT_FALSE(free_set.Acquire().ok());
  }
}

TEST(FreeSetTest, ReleaseOfANonDurableBlockFreesItAtOnce) {
  FreeSet free_set(64, 2);
  const BlockAddress a = MustAcquire(free_set);
  const BlockAddress b = MustAcquire(free_set);
  free_set.Release(a);
  EXPECT_FALSE(free_set.acquired(a));
  EXPECT_FALSE(free_set.staged(a));
  EXPECT_EQ(free_set.staged_count(), 0u);
  EXPECT_EQ(free_set.acquired_count(), 3u);
  EXPECT_EQ(MustAcquire(free_set), a);
  (void)b;
}

TEST(FreeSetTest, ReleaseOfAMarkedBlockIsStagedUntilCheckpointed) {
  FreeSet free_set(64, 2);
  free_set.MarkAcquired(5);
  free_set.MarkAcquired(2);
  EXPECT_TRUE(free_set.acquired(5));
  EXPECT_EQ(free_set.acquired_count(), 4u);
  EXPECT_EQ(free_set.high_water(), 6u);
  free_set.Release(5);
  EXPECT_TRUE(free_set.staged(5));
  EXPECT_TRUE(free_set.acquired(5));
  EXPECT_EQ(free_set.staged_count(), 1u);
  EXPECT_EQ(free_set.acquired_count(), 4u);
  // Staged blocks are not handed out.
  EXPECT_EQ(MustAcquire(free_set), 3u);
  EXPECT_EQ(MustAcquire(free_set), 4u);
  EXPECT_EQ(MustAcquire(free_set), 6u);
  free_set.Checkpointed();
  EXPECT_FALSE(free_set.staged(5));
  EXPECT_FALSE(free_set.acquired(5));
  EXPECT_EQ(free_set.staged_count(), 0u);
  EXPECT_EQ(free_set.acquired_count(), 6u);  // 0, 1, 2, 3, 4, 6.
  EXPECT_EQ(MustAcquire(free_set), 5u);
}

TEST(FreeSetTest, BlocksAcquiredBeforeACheckpointBecomeDurable) {
  FreeSet free_set(256, 2);
  const BlockAddress before = MustAcquire(free_set);  // 2
  const BlockAddress far = [&] {
    BlockAddress last = 0;
    for (int i = 0; i < 100; i++) last = MustAcquire(free_set);
    return last;
  }();  // 102, in the second word.
  free_set.Checkpointed();
  const BlockAddress after = MustAcquire(free_set);  // 103
  free_set.Release(before);
  free_set.Release(far);
  free_set.Release(after);
  EXPECT_TRUE(free_set.staged(before));
  EXPECT_TRUE(free_set.staged(far));
  EXPECT_FALSE(free_set.staged(after));
  EXPECT_FALSE(free_set.acquired(after));
  EXPECT_EQ(free_set.staged_count(), 2u);
  EXPECT_EQ(MustAcquire(free_set), after);  // Not the staged ones.
  free_set.Release(after);
  free_set.Checkpointed();
  EXPECT_EQ(free_set.staged_count(), 0u);
  EXPECT_FALSE(free_set.acquired(before));
  EXPECT_FALSE(free_set.acquired(far));
  EXPECT_EQ(MustAcquire(free_set), before);
  EXPECT_EQ(MustAcquire(free_set), far);
  // A block acquired after the last checkpoint and released is free at once
  // even when the same address was durable before.
  const BlockAddress again = before;
  free_set.Release(again);
  EXPECT_FALSE(free_set.acquired(again));
}

TEST(FreeSetTest, HighWater) {
  FreeSet free_set(130, 0);
  EXPECT_EQ(free_set.high_water(), 0u);
  EXPECT_EQ(MustAcquire(free_set), 0u);
  EXPECT_EQ(free_set.high_water(), 1u);
  for (int i = 0; i < 70; i++) MustAcquire(free_set);
  EXPECT_EQ(free_set.high_water(), 71u);
  free_set.Release(70);
  EXPECT_EQ(free_set.high_water(), 70u);
  free_set.Release(10);
  EXPECT_EQ(free_set.high_water(), 70u);  // A hole below does not matter.
  free_set.MarkAcquired(129);
  EXPECT_EQ(free_set.high_water(), 130u);
  free_set.Release(129);  // Durable: staged, still acquired.
  EXPECT_EQ(free_set.high_water(), 130u);
  free_set.Checkpointed();
  EXPECT_EQ(free_set.high_water(), 70u);
  // Everything acquired: the padding bits past 130 never count.
  while (free_set.Acquire().ok()) {
  }
  EXPECT_EQ(free_set.high_water(), 130u);
}

TEST(FreeSetTest, ReservedBlocksAreNeverHandedOut) {
  FreeSet free_set(40, 5);
  std::set<BlockAddress> seen;
  while (true) {
    const absl::StatusOr<BlockAddress> address = free_set.Acquire();
    if (!address.ok()) break;
    ASSERT_GE(*address, 5u);
    ASSERT_LT(*address, 40u);
    ASSERT_TRUE(seen.insert(*address).second) << "handed out twice";
  }
  EXPECT_EQ(seen.size(), 35u);
  free_set.Checkpointed();
  for (BlockAddress a : seen) free_set.Release(a);
  free_set.Checkpointed();
  EXPECT_EQ(free_set.acquired_count(), 5u);
  for (BlockAddress a = 0; a < 5; a++) EXPECT_TRUE(free_set.acquired(a));
  EXPECT_EQ(MustAcquire(free_set), 5u);
}

TEST(FreeSetDeathTest, MisuseAborts) {
  FreeSet free_set(100, 2);
  const BlockAddress a = MustAcquire(free_set);
  free_set.MarkAcquired(50);
  EXPECT_DEATH(free_set.Release(0), "assertion failed");    // Reserved.
  EXPECT_DEATH(free_set.Release(1), "assertion failed");    // Reserved.
  EXPECT_DEATH(free_set.Release(60), "assertion failed");   // Not acquired.
  EXPECT_DEATH(free_set.Release(100), "assertion failed");  // Out of range.
  EXPECT_DEATH(free_set.MarkAcquired(a), "block referenced twice");
  EXPECT_DEATH(free_set.MarkAcquired(50), "block referenced twice");
  EXPECT_DEATH(free_set.MarkAcquired(100), "assertion failed");
  free_set.Release(50);
  EXPECT_DEATH(free_set.Release(50), "assertion failed");  // Staged already.
  EXPECT_DEATH(FreeSet(5, 5), "assertion failed");
}

// FreeSetRun
//
// A FreeSet beside a model of it: the acquired blocks, the durable ones
// (acquired at the last checkpoint) and the staged ones (released since).
class FreeSetRun {
 public:
  FreeSetRun(Prng* prng, uint64_t count_max, uint64_t reserved)
      : prng_(prng),
        count_max_(count_max),
        reserved_(reserved),
        free_set_(count_max, reserved) {
    for (BlockAddress a = 0; a < reserved; a++) {
      acquired_.insert(a);
      durable_.insert(a);
    }
  }

  // One random operation; if it changed anything, the free set is compared
  // with the model.
  void Step(int step) {
    const uint64_t op = prng_->Uniform(100);
    if (op < 45) {
      ASSERT_NO_FATAL_FAILURE(Acquire(step));
    } else if (op < 80) {
      if (!Release()) return;
    } else if (op < 88) {
      if (!MarkAcquired()) return;
    } else {
      Checkpoint();
    }
    ASSERT_NO_FATAL_FAILURE(Compare(step));
  }

 private:
  // Acquire() takes the lowest free block, or is ResourceExhausted.
  void Acquire(int step) {
    const absl::StatusOr<BlockAddress> got = free_set_.Acquire();
    BlockAddress lowest = 0;
    while (lowest < count_max_ && acquired_.count(lowest) != 0) lowest++;
    if (lowest == count_max_) {
      ASSERT_FALSE(got.ok()) << "step " << step;
      ASSERT_EQ(got.status().code(), absl::StatusCode::kResourceExhausted);
    } else {
      ASSERT_TRUE(got.ok()) << "step " << step << ": " << got.status();
      ASSERT_EQ(*got, lowest) << "step " << step;
      acquired_.insert(lowest);
    }
  }

  // Releases a random releasable block; false if there is none.
  bool Release() {
    const std::optional<BlockAddress> a = PickReleasable();
    if (!a.has_value()) return false;
    free_set_.Release(*a);
    if (durable_.count(*a) != 0) {
      staged_.insert(*a);
    } else {
      acquired_.erase(*a);
    }
    return true;
  }

  // MarkAcquired of a free block (as Open does while rebuilding); false if
  // the random block is acquired already.
  bool MarkAcquired() {
    const BlockAddress a = prng_->Uniform(count_max_);
    if (acquired_.count(a) != 0) return false;
    free_set_.MarkAcquired(a);
    acquired_.insert(a);
    durable_.insert(a);
    return true;
  }

  void Checkpoint() {
    free_set_.Checkpointed();
    for (BlockAddress a : staged_) acquired_.erase(a);
    staged_.clear();
    durable_ = acquired_;
  }

  // Releasable: acquired, not reserved, not staged.
  std::optional<BlockAddress> PickReleasable() {
    std::vector<BlockAddress> candidates;
    for (BlockAddress a : acquired_) {
      if (a >= reserved_ && staged_.count(a) == 0) candidates.push_back(a);
    }
    if (candidates.empty()) return std::nullopt;
    return candidates[prng_->Uniform(candidates.size())];
  }

  // Counts and high water every step; every block every 16 steps.
  void Compare(int step) const {
    ASSERT_EQ(free_set_.acquired_count(), acquired_.size()) << "step " << step;
    ASSERT_EQ(free_set_.staged_count(), staged_.size()) << "step " << step;
    const uint64_t high_water = acquired_.empty() ? 0 : *acquired_.rbegin() + 1;
    ASSERT_EQ(free_set_.high_water(), high_water) << "step " << step;
    if (step % 16 != 0) return;
    for (BlockAddress a = 0; a < count_max_; a++) {
      ASSERT_EQ(free_set_.acquired(a), acquired_.count(a) != 0)
          << "step " << step << ", block " << a;
      ASSERT_EQ(free_set_.staged(a), staged_.count(a) != 0)
          << "step " << step << ", block " << a;
    }
  }

  Prng* prng_;
  const uint64_t count_max_;
  const uint64_t reserved_;
  FreeSet free_set_;
  std::set<BlockAddress> acquired_;
  std::set<BlockAddress> durable_;
  std::set<BlockAddress> staged_;
};

// Randomized against a model: the acquired, durable and staged sets.
TEST(FreeSetRandomizedTest, MatchesASetModel) {
  const uint64_t seed = testing::SeedFromEnvironment(0xF8EE5E7);
  SCOPED_TRACE("seed " + std::to_string(seed) +
               " (rerun with LSMSCAN_SEED=" + std::to_string(seed) + ")");
  Prng prng(seed);
  for (int round = 0; round < 60; round++) {
    const uint64_t count_max = prng.Range(1, 300);
    const uint64_t reserved = prng.Uniform(std::min<uint64_t>(count_max, 4));
    SCOPED_TRACE("round " + std::to_string(round) + ": " +
                 std::to_string(count_max) + " blocks, " +
                 std::to_string(reserved) + " reserved");
    FreeSetRun run(&prng, count_max, reserved);
    const int steps = static_cast<int>(prng.Range(10, 1500));
    for (int step = 0; step < steps; step++) {
      ASSERT_NO_FATAL_FAILURE(run.Step(step));
    }
  }
}

}  // namespace
}  // namespace lsmscan
