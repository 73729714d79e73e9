// ScanMerge (scan/scan_merge.h) against a model, value by value: streams
// (memory spans, numbered newest first) built so that every pair of streams
// shares keys, with tombstones, runs of every length (values interleaved
// one by one, and long stretches of one stream), probes, both directions,
// and 1 to 32 streams; for 8-byte integer keys (the packed 128-bit heads)
// and for a struct key (the general comparison). The scan tree's
// differential tests (scan_model_test.cc) cover the merge over disk levels
// on every backend.
//
// Reproduce a failure with the seed it prints:
//   LSMSCAN_SEED=<seed> bazel test //scan:scan_merge_test

#include "lsmscan/scan/scan_merge.h"

#include <algorithm>
#include <compare>
#include <cstdint>
#include <map>
#include <set>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "lsmscan/lsm/schema.h"
#include "lsmscan/scan/loser_tree.h"
#include "lsmscan/storage/base/prng.h"
#include "lsmscan/storage/storage_testing.h"

namespace lsmscan {
namespace {

// A schema with a struct key: the merge's general (unpacked) comparison.
struct PairKeySchema {
  struct Key {
    uint32_t high = 0;
    uint32_t low = 0;
    auto operator<=>(const Key&) const = default;
  };
  struct Value {
    Key key;
    uint32_t version;
    uint32_t tombstone;
  };
  static constexpr const char* kName = "test.pair_key";
  static Key key_of(const Value& value) { return value.key; }
  static Value tombstone(Key key) { return {key, 0, 1}; }
  static bool is_tombstone(const Value& value) { return value.tombstone != 0; }
  static Key FromInt(uint64_t n) {
    // The order of the pairs is the order of n.
    return {static_cast<uint32_t>(n >> 3), static_cast<uint32_t>(n & 7)};
  }
  static Value Make(uint64_t n, uint32_t version) {
    return {FromInt(n), version, 0};
  }
};
static_assert(Schema<PairKeySchema>);

struct Record32Ints : Record32Schema {
  static Key FromInt(uint64_t n) { return n; }
};

template <typename S>
typename S::Value MakeValue(uint64_t n, uint32_t version, bool tombstone) {
  if constexpr (std::is_same_v<S, PairKeySchema>) {
    return tombstone ? S::tombstone(S::FromInt(n)) : S::Make(n, version);
  } else {
    return tombstone ? S::tombstone(n) : S::Make(n, version);
  }
}

// Streams of sorted unique keys (as integers): a stretch of keys of its own
// per stream (long runs), random keys from a shared space (short runs),
// and for every pair of streams keys held by both (ties).
std::vector<std::set<uint64_t>> MakeKeys(uint32_t stream_count, Prng* prng) {
  std::vector<std::set<uint64_t>> keys(stream_count);
  const uint64_t space = 4000;
  for (uint32_t i = 0; i < stream_count; i++) {
    const uint64_t start = prng->Uniform(space);
    const uint64_t length = prng->Uniform(300);
    for (uint64_t k = start; k < start + length; k++) keys[i].insert(k);
    const uint64_t randoms = prng->Uniform(400);
    for (uint64_t n = 0; n < randoms; n++) keys[i].insert(prng->Uniform(space));
    for (uint32_t j = 0; j < stream_count; j++) {
      if (i == j) continue;
      // The same keys for (i, j) and (j, i): both streams hold them.
      const uint64_t a = std::min(i, j);
      const uint64_t b = std::max(i, j);
      keys[i].insert(space + (a * 32 + b) * 3);
      keys[i].insert(prng->Uniform(space));  // Chance ties as well.
    }
  }
  return keys;
}

template <typename S>
void CheckMerge(uint32_t stream_count, Direction direction,
                double probe_probability, Prng* prng) {
  using Value = typename S::Value;
  using Key = typename S::Key;
  const std::vector<std::set<uint64_t>> keys = MakeKeys(stream_count, prng);
  std::vector<std::vector<Value>> streams(stream_count);
  // The model: each key's newest version (the lowest stream index).
  std::map<uint64_t, Value> newest;
  for (uint32_t i = 0; i < stream_count; i++) {
    for (uint64_t n : keys[i]) {
      const Value value = MakeValue<S>(n, i, prng->Chance(0.2));
      streams[i].push_back(value);
      newest.emplace(n, value);  // Kept if a newer stream put it first.
    }
  }
  std::vector<std::pair<uint64_t, Value>> expected;
  for (const auto& [n, value] : newest) {
    if (!S::is_tombstone(value)) expected.emplace_back(n, value);
  }
  if (direction == Direction::kDescending) {
    std::reverse(expected.begin(), expected.end());
  }
  ScanMerge<S> merge;
  merge.Reset(direction);
  for (const auto& stream : streams) merge.AddMemory(stream);
  merge.Rebuild();
  size_t position = 0;
  const Value* previous = nullptr;
  Value previous_copy{};
  while (true) {
    if (prng->Chance(probe_probability) && position < expected.size()) {
      // Skip ahead to a key at or past the next expected one.
      const uint64_t skip = prng->Uniform(40);
      const size_t target = std::min(expected.size(), position + skip);
      const uint64_t n = target < expected.size() ? expected[target].first
                         : direction == Direction::kAscending ? 1 << 20
                                                              : 0;
      const Key key = S::FromInt(n);
      merge.SyncLevels();
      if (!merge.has_key_last() || Before(direction, merge.key_last(), key)) {
        merge.CutMemoryTo(key);
        while (position < expected.size() &&
               Before(direction, S::FromInt(expected[position].first), key)) {
          position++;
        }
      }
      merge.Rebuild();
      previous = nullptr;
    }
    MergeStop stop;
    const Value* value = merge.PopRun();
    if (value == nullptr) value = merge.Pop(&stop);
    // The value returned last is still there, unchanged.
    if (previous != nullptr) {
      ASSERT_EQ(std::memcmp(previous, &previous_copy, sizeof(Value)), 0);
    }
    if (value == nullptr) {
      ASSERT_EQ(stop, MergeStop::kEnd);
      break;
    }
    ASSERT_LT(position, expected.size()) << "a value past the expected end";
    ASSERT_EQ(std::memcmp(value, &expected[position].second, sizeof(Value)), 0)
        << "value " << position << " of " << expected.size()
        << ": expected key " << expected[position].first;
    position++;
    previous = value;
    previous_copy = *value;
  }
  EXPECT_EQ(position, expected.size());
}

template <typename S>
void CheckAllShapes(uint64_t seed) {
  Prng prng(seed);
  for (uint32_t stream_count : {1u, 2u, 3u, 5u, 7u, 8u, 9u, 17u, 32u}) {
    for (Direction direction :
         {Direction::kAscending, Direction::kDescending}) {
      for (double probes : {0.0, 0.02}) {
        SCOPED_TRACE(absl::StrCat(stream_count, " streams, ",
                                  DirectionName(direction), ", probes ",
                                  probes));
        ASSERT_NO_FATAL_FAILURE(
            CheckMerge<S>(stream_count, direction, probes, &prng));
      }
    }
  }
}

TEST(ScanMergeTest, IntegerKeysMatchTheModel) {
  const uint64_t seed = testing::SeedFromEnvironment(16);
  SCOPED_TRACE(absl::StrCat("LSMSCAN_SEED=", seed));
  for (uint64_t round = 0; round < 4; round++) {
    ASSERT_NO_FATAL_FAILURE(CheckAllShapes<Record32Ints>(seed + round));
  }
}

TEST(ScanMergeTest, StructKeysMatchTheModel) {
  const uint64_t seed = testing::SeedFromEnvironment(17);
  SCOPED_TRACE(absl::StrCat("LSMSCAN_SEED=", seed));
  for (uint64_t round = 0; round < 4; round++) {
    ASSERT_NO_FATAL_FAILURE(CheckAllShapes<PairKeySchema>(seed + round));
  }
}

TEST(ScanMergeTest, NoStreamsEndsAtOnce) {
  ScanMerge<Record32Schema> merge;
  merge.Reset(Direction::kAscending);
  merge.Rebuild();
  MergeStop stop;
  EXPECT_EQ(merge.PopRun(), nullptr);
  EXPECT_EQ(merge.Pop(&stop), nullptr);
  EXPECT_EQ(stop, MergeStop::kEnd);
}

// The packed heads order as the general ones: key in scan direction, then
// class (a fence before an equal key), then stream; unbounded pending
// first, end last.
TEST(LoserTreeTest, PackedHeadsOrderAsGeneralHeads) {
  Prng prng(3);
  using Packed = MergeOrder<uint64_t>;
  struct Wide {
    uint64_t value;
    auto operator<=>(const Wide&) const = default;
  };
  using General = MergeOrder<Wide>;
  for (Direction direction : {Direction::kAscending, Direction::kDescending}) {
    for (int i = 0; i < 20000; i++) {
      uint64_t key[2];
      uint32_t klass[2];
      uint32_t stream[2];
      for (int j = 0; j < 2; j++) {
        key[j] = prng.Chance(0.5) ? prng.Uniform(4) : prng.Next();
        if (prng.Chance(0.05)) key[j] = UINT64_MAX;
        klass[j] = static_cast<uint32_t>(prng.Uniform(4));
        stream[j] = static_cast<uint32_t>(prng.Uniform(3));
      }
      const auto pa = Packed::Make(direction, klass[0], key[0], stream[0]);
      const auto pb = Packed::Make(direction, klass[1], key[1], stream[1]);
      const auto ga = General::Make(direction, klass[0], {key[0]}, stream[0]);
      const auto gb = General::Make(direction, klass[1], {key[1]}, stream[1]);
      ASSERT_EQ(Packed::Less(direction, pa, pb),
                General::Less(direction, ga, gb))
          << key[0] << "/" << klass[0] << "/" << stream[0] << " vs " << key[1]
          << "/" << klass[1] << "/" << stream[1];
      if (klass[0] == Packed::kClassKey || klass[0] == Packed::kClassFence) {
        ASSERT_EQ(Packed::KeyOf(direction, pa), key[0]);
      }
    }
  }
}

// ReplayWinner() and RunnerUp() agree with a linear scan of the heads.
TEST(LoserTreeTest, WinnerAndRunnerUpMatchALinearScan) {
  Prng prng(5);
  for (uint32_t leaves : {1u, 2u, 3u, 6u, 16u, 31u}) {
    for (Direction direction :
         {Direction::kAscending, Direction::kDescending}) {
      LoserTree<uint64_t, 32> tree;
      tree.Reset(leaves, direction);
      std::vector<LoserTree<uint64_t, 32>::Head> heads(leaves);
      auto random_head = [&](uint32_t leaf) {
        switch (prng.Uniform(8)) {
          case 0:
            return tree.PendingHead(leaf);
          case 1:
            return tree.End(leaf);
          case 2:
            return tree.FenceHead(prng.Uniform(50), leaf);
          default:
            return tree.KeyHead(prng.Uniform(50), leaf);
        }
      };
      for (uint32_t leaf = 0; leaf < leaves; leaf++) {
        heads[leaf] = random_head(leaf);
        tree.Set(leaf, heads[leaf]);
      }
      tree.Build();
      for (int step = 0; step < 2000; step++) {
        uint32_t best = 0;
        for (uint32_t leaf = 1; leaf < leaves; leaf++) {
          if (tree.Less(heads[leaf], heads[best])) best = leaf;
        }
        ASSERT_EQ(tree.stream(tree.winner()), best);
        uint32_t second = UINT32_MAX;
        for (uint32_t leaf = 0; leaf < leaves; leaf++) {
          if (leaf == best) continue;
          if (second == UINT32_MAX || tree.Less(heads[leaf], heads[second])) {
            second = leaf;
          }
        }
        const auto runner_up = tree.RunnerUp();
        if (second == UINT32_MAX) {
          ASSERT_EQ(tree.kind(runner_up), HeadKind::kEnd);
        } else {
          ASSERT_EQ(tree.stream(runner_up), second);
        }
        heads[best] = random_head(best);
        if (direction == Direction::kAscending) {
          tree.ReplayWinner<Direction::kAscending>(heads[best]);
        } else {
          tree.ReplayWinner<Direction::kDescending>(heads[best]);
        }
      }
    }
  }
}

}  // namespace
}  // namespace lsmscan
