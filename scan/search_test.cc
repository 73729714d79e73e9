// The searches of scan/search.h against std::partition_point and plain
// loops: every target around and between the keys of sorted arrays of many
// sizes and spreads (dense, evenly spaced, clustered, exponential, with
// the extremes of the key type), both directions.

#include "lsmscan/scan/search.h"

#include <algorithm>
#include <cstdint>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "lsmscan/lsm/schema.h"
#include "lsmscan/storage/base/prng.h"

namespace lsmscan {
namespace {

// 8-byte keys with no tombstone bit: the whole uint64_t range.
struct WideKeySchema {
  using Key = uint64_t;
  struct Value {
    uint64_t key;
  };
  static constexpr const char* kName = "test.wide";
  static Key key_of(const Value& value) { return value.key; }
  static Value tombstone(Key key) { return {key}; }
  static bool is_tombstone(const Value&) { return false; }
};
static_assert(Schema<WideKeySchema>);
using Value = WideKeySchema::Value;

std::vector<Value> MakeKeys(int spread, size_t size, Prng* prng) {
  std::vector<uint64_t> keys;
  uint64_t key = prng->Uniform(1000);
  for (size_t i = 0; i < size; i++) {
    switch (spread) {
      case 0:  // Dense.
        key += 1;
        break;
      case 1:  // Evenly spaced.
        key += 8;
        break;
      case 2:  // Random gaps.
        key += 1 + prng->Uniform(100);
        break;
      case 3:  // Clusters far apart.
        key += prng->Chance(0.05) ? 1'000'000'000 : 1;
        break;
      case 4:  // Exponential.
        key = key * 2 + 1;
        if (key > (uint64_t{1} << 62)) key = (uint64_t{1} << 62) + i;
        break;
      default:  // The extremes of the key type.
        key = i == 0 ? 0 : UINT64_MAX - (size - i) * prng->Uniform(3);
        break;
    }
    keys.push_back(key);
  }
  std::sort(keys.begin(), keys.end());
  keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
  std::vector<Value> values;
  for (uint64_t k : keys) values.push_back({k});
  return values;
}

TEST(SearchTest, PartitionPointByKeyMatchesPartitionPoint) {
  Prng prng(7);
  for (int spread = 0; spread < 6; spread++) {
    for (size_t size : {0u, 1u, 2u, 3u, 15u, 16u, 17u, 100u, 2047u}) {
      const std::vector<Value> values = MakeKeys(spread, size, &prng);
      std::vector<uint64_t> targets = {0, 1, UINT64_MAX, UINT64_MAX - 1};
      for (const Value& value : values) {
        for (int64_t delta : {-2, -1, 0, 1, 2}) {
          targets.push_back(value.key + static_cast<uint64_t>(delta));
        }
      }
      for (int i = 0; i < 50; i++) targets.push_back(prng.Next());
      for (uint64_t target : targets) {
        for (bool inclusive : {false, true}) {
          const size_t expected = static_cast<size_t>(
              std::partition_point(values.begin(), values.end(),
                                   [&](const Value& v) {
                                     return inclusive ? v.key <= target
                                                      : v.key < target;
                                   }) -
              values.begin());
          ASSERT_EQ(
              PartitionPointByKey<WideKeySchema>(values, target, inclusive),
              expected)
              << "spread " << spread << " size " << values.size() << " target "
              << target << " inclusive " << inclusive;
        }
      }
    }
  }
}

TEST(SearchTest, SliceToRangeMatchesALoop) {
  Prng prng(8);
  for (int spread = 0; spread < 6; spread++) {
    for (size_t size : {size_t{0}, size_t{1}, size_t{2}, size_t{500}}) {
      const std::vector<Value> values = MakeKeys(spread, size, &prng);
      for (int i = 0; i < 2000; i++) {
        uint64_t a = values.empty() ? prng.Next()
                                    : values[prng.Uniform(values.size())].key +
                                          prng.Uniform(3) - 1;
        uint64_t b = prng.Chance(0.5) ? a + prng.Uniform(50) : prng.Next();
        if (b < a) std::swap(a, b);
        // Bounds outside the values too: a range holding all of them, or
        // reaching past one end.
        if (prng.Chance(0.2)) a = 0;
        if (prng.Chance(0.2)) b = UINT64_MAX;
        for (Direction direction :
             {Direction::kAscending, Direction::kDescending}) {
          const std::span<const Value> slice =
              SliceToRange<WideKeySchema>(values, a, b, direction);
          size_t first = 0;
          while (first < values.size() && values[first].key < a) first++;
          size_t end = first;
          while (end < values.size() && values[end].key <= b) end++;
          ASSERT_EQ(slice.data() - values.data(), static_cast<ptrdiff_t>(first))
              << "[" << a << ", " << b << "] " << DirectionName(direction);
          ASSERT_EQ(slice.size(), end - first);
        }
      }
    }
  }
}

TEST(SearchTest, GallopCountCountsThePrefix) {
  std::vector<int> values(300);
  for (size_t n = 0; n <= values.size(); n++) {
    for (size_t i = 0; i < values.size(); i++) values[i] = i < n ? 1 : 0;
    const std::span<const int> all(values);
    EXPECT_EQ(GallopCount(all, false, [](int v) { return v == 1; }), n);
    EXPECT_EQ(GallopCount(all, true, [](int v) { return v == 0; }),
              values.size() - n);
  }
}

}  // namespace
}  // namespace lsmscan
