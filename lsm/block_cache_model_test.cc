// Randomized test of BlockCache against an exact model of which address
// (and version) each frame holds and how many pins the test holds on each:
// every mapped block must be found and every unmapped one must miss, across
// many insert/invalidate cycles that exercise backward-shift deletion.
//
// It prints its seed; rerun it with LSMSCAN_SEED=<seed>.

#include <algorithm>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "lsmscan/lsm/block_cache.h"
#include "lsmscan/lsm/block_cache_testing.h"
#include "lsmscan/storage/base/prng.h"
#include "lsmscan/storage/storage.h"
#include "lsmscan/storage/storage_testing.h"

namespace lsmscan {
namespace {

using ::lsmscan::block_cache_testing::ChecksumOf;
using ::lsmscan::block_cache_testing::Fill;
using ::lsmscan::block_cache_testing::Frame;
using ::lsmscan::block_cache_testing::Holds;
using ::lsmscan::block_cache_testing::kBlockSize;
using ::lsmscan::block_cache_testing::kNoFrame;

// ---------------------------------------------------------------------------
// Randomized, against an exact model: which address (and version) each
// frame maps, and how many pins the test holds on each frame.

struct CacheModel {
  explicit CacheModel(uint32_t frames) : mapped(frames), pins(frames, 0) {}
  std::vector<std::optional<BlockAddress>> mapped;  // Frame -> address.
  std::vector<uint32_t> pins;
  std::map<BlockAddress, Frame> where;       // Address -> frame, if mapped.
  std::map<BlockAddress, uint64_t> version;  // The current version.

  bool all_pinned() const {
    for (uint32_t p : pins) {
      if (p == 0) return false;
    }
    return true;
  }
  void Unmap(Frame frame) {
    if (mapped[frame].has_value()) where.erase(*mapped[frame]);
    mapped[frame].reset();
  }
  void Map(Frame frame, BlockAddress address) {
    mapped[frame] = address;
    where[address] = frame;
  }
};

// What a run exercised, so the test can insist it did something.
struct Coverage {
  uint64_t evictions = 0;
  uint64_t invalidations = 0;  // Of mapped blocks.
  uint64_t hits = 0;
  uint64_t all_pinned = 0;  // Reserve() returned kNoFrame.
  uint64_t races = 0;       // Publish() found the block already there.
};

// ModelRun
//
// One randomized run of a cache of `frames` frames against CacheModel:
// random reads (hits, misses, abandoned reservations), racing reads of one
// block, invalidations and pin releases; every 25 steps, every address is
// looked up and checked.
class ModelRun {
 public:
  ModelRun(uint64_t seed, uint32_t frames, Coverage* coverage)
      : prng_(seed),
        frames_(frames),
        cache_(frames, kBlockSize),
        model_(frames),
        coverage_(coverage) {
    // Addresses: a few small ones and a few random 64-bit ones.
    const uint64_t address_count =
        prng_.Range(frames, 4 * uint64_t{frames} + 4);
    for (uint64_t i = 0; i < address_count; i++) {
      addresses_.push_back(
          prng_.Chance(0.5) ? i : prng_.Next() >> prng_.Uniform(40));
    }
    std::sort(addresses_.begin(), addresses_.end());
    addresses_.erase(std::unique(addresses_.begin(), addresses_.end()),
                     addresses_.end());
  }

  // Runs `steps` random steps, then checks every address once more and the
  // cache's hit and miss counts.
  void Run(int steps) {
    for (int step = 0; step < steps; step++) {
      const BlockAddress address = addresses_[prng_.Uniform(addresses_.size())];
      const uint64_t v = model_.version[address];
      const uint64_t op = prng_.Uniform(100);
      step_complete_ = false;
      if (op < 50) {
        Read(step, address, v);
      } else if (op < 58) {
        RacingReads(address, v);
      } else if (op < 75) {
        Invalidate(address);
      } else {
        ReleasePin();
      }
      if (::testing::Test::HasFatalFailure()) return;
      if (step_complete_ && step % 25 == 0) {
        CheckAll(step);
        if (::testing::Test::HasFatalFailure()) return;
      }
    }
    CheckAll(steps);
    EXPECT_EQ(cache_.hit_count() + cache_.miss_count(), lookups_);
  }

 private:
  // A read: a hit, or a reservation and (usually) a publish.
  void Read(int step, BlockAddress address, uint64_t v) {
    const Frame hit = cache_.Lookup(address, ChecksumOf(address, v));
    lookups_++;
    auto it = model_.where.find(address);
    if (it != model_.where.end()) {
      ASSERT_EQ(hit, it->second) << "step " << step;
      ASSERT_TRUE(Holds(cache_, hit, address, v)) << "step " << step;
      model_.pins[hit]++;
      coverage_->hits++;
      return;
    }
    ASSERT_EQ(hit, kNoFrame) << "step " << step;
    const Frame frame = cache_.Reserve();
    if (model_.all_pinned()) {
      ASSERT_EQ(frame, kNoFrame) << "step " << step;
      coverage_->all_pinned++;
      return;
    }
    ASSERT_NE(frame, kNoFrame) << "step " << step;
    ASSERT_EQ(model_.pins[frame], 0u) << "step " << step << ": pinned frame";
    if (model_.mapped[frame].has_value()) coverage_->evictions++;
    model_.Unmap(frame);  // Evicted, if it held a block.
    model_.pins[frame] = 1;
    if (prng_.Chance(0.1)) {
      cache_.Abandon(frame);
      model_.pins[frame] = 0;
      return;
    }
    Fill(cache_, frame, address, v);
    ASSERT_EQ(cache_.Publish(frame, address, ChecksumOf(address, v)), frame);
    model_.Map(frame, address);
    if (prng_.Chance(0.7)) {
      cache_.Unpin(frame);
      model_.pins[frame] = 0;
    }
    step_complete_ = true;
  }

  // Two reads of one block race; the second publish yields the first's
  // frame.
  void RacingReads(BlockAddress address, uint64_t v) {
    if (model_.where.count(address) != 0) return;
    const Frame first = cache_.Reserve();
    if (first == kNoFrame) {
      ASSERT_TRUE(model_.all_pinned());
      return;
    }
    ASSERT_EQ(model_.pins[first], 0u);
    model_.Unmap(first);
    model_.pins[first] = 1;
    const Frame second = cache_.Reserve();
    if (second == kNoFrame) {
      ASSERT_TRUE(model_.all_pinned());
      cache_.Abandon(first);
      model_.pins[first] = 0;
      return;
    }
    ASSERT_NE(second, first);
    ASSERT_EQ(model_.pins[second], 0u);
    model_.Unmap(second);
    model_.pins[second] = 1;
    Fill(cache_, first, address, v);
    Fill(cache_, second, address, v);
    ASSERT_EQ(cache_.Publish(first, address, ChecksumOf(address, v)), first);
    model_.Map(first, address);
    ASSERT_EQ(cache_.Publish(second, address, ChecksumOf(address, v)), first);
    coverage_->races++;
    model_.pins[second] = 0;
    model_.pins[first]++;
    cache_.Unpin(first);
    model_.pins[first]--;
    step_complete_ = true;
  }

  // The block is rewritten or freed: invalidate, then bump its version.
  void Invalidate(BlockAddress address) {
    auto it = model_.where.find(address);
    if (it != model_.where.end() && model_.pins[it->second] > 0) return;
    cache_.Invalidate(address);
    if (it != model_.where.end()) {
      model_.Unmap(it->second);
      coverage_->invalidations++;
    }
    model_.version[address]++;
    step_complete_ = true;
  }

  // Release a pin the test holds.
  void ReleasePin() {
    std::vector<Frame> held;
    for (uint32_t f = 0; f < frames_; f++) {
      if (model_.pins[f] > 0 && model_.mapped[f].has_value()) {
        held.push_back(static_cast<Frame>(f));
      }
    }
    if (held.empty()) return;
    const Frame f = held[prng_.Uniform(held.size())];
    cache_.Unpin(f);
    model_.pins[f]--;
    step_complete_ = true;
  }

  // Every address is cached iff the model maps it, in the model's frame,
  // with the model's version; a stale version never hits.
  void CheckAll(int step) {
    for (BlockAddress address : addresses_) {
      const uint64_t v = model_.version[address];
      const Frame f = cache_.Lookup(address, ChecksumOf(address, v));
      lookups_++;
      auto it = model_.where.find(address);
      if (it == model_.where.end()) {
        ASSERT_EQ(f, kNoFrame)
            << "step " << step << ": " << address << " should not be cached";
        continue;
      }
      ASSERT_EQ(f, it->second)
          << "step " << step << ": " << address << " lost from the table";
      ASSERT_TRUE(Holds(cache_, f, address, v)) << "step " << step;
      cache_.Unpin(f);
      ASSERT_EQ(cache_.Lookup(address, ChecksumOf(address, v + 1)), kNoFrame);
      lookups_++;
    }
  }

  Prng prng_;
  const uint32_t frames_;
  BlockCache cache_;
  CacheModel model_;
  Coverage* coverage_;
  std::vector<BlockAddress> addresses_;
  uint64_t lookups_ = 0;
  // The step ran to its end: the periodic check may follow (a step that
  // returned early, having done nothing or only taken a pin, skips it).
  bool step_complete_ = false;
};

TEST(BlockCacheRandomizedTest, MatchesAnExactModel) {
  const uint64_t seed = testing::SeedFromEnvironment(0xCAC4E);
  SCOPED_TRACE("seed " + std::to_string(seed) +
               " (rerun with LSMSCAN_SEED=" + std::to_string(seed) + ")");
  Prng seeds(seed);
  Coverage coverage;
  for (uint32_t frames : {1u, 2u, 3u, 4u, 5u, 8u, 13u, 16u, 31u, 64u}) {
    for (int run = 0; run < 3; run++) {
      SCOPED_TRACE(std::to_string(frames) + " frames, run " +
                   std::to_string(run));
      ModelRun(seeds.Next(), frames, &coverage).Run(3000);
      if (HasFatalFailure()) return;
    }
  }
  EXPECT_GT(coverage.evictions, 1000u);
  EXPECT_GT(coverage.invalidations, 300u);
  EXPECT_GT(coverage.hits, 1000u);
  EXPECT_GT(coverage.all_pinned, 10u);
  EXPECT_GT(coverage.races, 100u);
}

}  // namespace
}  // namespace lsmscan
