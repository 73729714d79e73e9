#include "lsmscan/bench/ycsb.h"

#include <cstdio>
#include <set>
#include <vector>

#include "gtest/gtest.h"
#include "lsmscan/storage/base/prng.h"

namespace lsmscan {
namespace bench {
namespace {

constexpr uint64_t kSeed = 4242;

TEST(Fnv1a64Test, KnownValues) {
  // FNV-1a 64 over the eight little-endian bytes of the value.
  EXPECT_EQ(Fnv1a64(0), 0xa8c7f832281a39c5ull);
  EXPECT_EQ(Fnv1a64(1), 0x89cd31291d2aefa4ull);
  EXPECT_LT(YcsbKey(12345), uint64_t{1} << 63);
}

TEST(ZipfianGeneratorTest, InRangeAndSkewedLikeZipf) {
  std::printf("seed %llu\n", static_cast<unsigned long long>(kSeed));
  const ZipfianGenerator zipf(100, 0.99);
  Prng prng(kSeed);
  std::vector<uint64_t> counts(100, 0);
  constexpr int kDraws = 200'000;
  for (int i = 0; i < kDraws; i++) {
    const uint64_t item = zipf.Next(&prng);
    ASSERT_LT(item, 100u);
    counts[item]++;
  }
  // P(i) is proportional to 1 / (i + 1)^0.99: item 0 is drawn about 2^0.99
  // = 1.99 times as often as item 1 and 10^0.99 = 9.8 times as item 9.
  EXPECT_NEAR(static_cast<double>(counts[0]) / counts[1], 1.99, 0.15);
  EXPECT_NEAR(static_cast<double>(counts[0]) / counts[9], 9.77, 1.2);
  // And P(0) = 1 / zeta(100).
  EXPECT_NEAR(static_cast<double>(counts[0]) / kDraws,
              1.0 / ZipfianGenerator::Zeta(100, 0.99), 0.01);
}

TEST(ScrambledZipfianTest, SpreadsPopularItemsAndStaysInRange) {
  const ScrambledZipfian chooser(1000);
  Prng prng(kSeed);
  std::vector<uint64_t> counts(1000, 0);
  for (int i = 0; i < 100'000; i++) {
    const uint64_t item = chooser.Next(&prng);
    ASSERT_LT(item, 1000u);
    counts[item]++;
  }
  uint64_t most = 0;
  for (uint64_t i = 1; i < 1000; i++) {
    if (counts[i] > counts[most]) most = i;
  }
  // Skewed: the most popular item is far above the uniform 100 draws...
  EXPECT_GT(counts[most], 1000u);
  // ...and, scrambled, it is not simply item 0.
  EXPECT_NE(most, 0u);
}

TEST(YcsbWorkloadETest, FivePercentInsertsOfNewKeysAndScansOfExistingOnes) {
  constexpr uint64_t kRecords = 10'000;
  constexpr uint64_t kOps = 100'000;
  const std::vector<YcsbOp> ops = YcsbWorkloadE(kRecords, kOps, kSeed);
  ASSERT_EQ(ops.size(), kOps);
  std::set<uint64_t> keys;
  for (uint64_t i = 0; i < kRecords; i++) keys.insert(YcsbKey(i));
  uint64_t inserts = 0;
  uint64_t length_sum = 0;
  for (const YcsbOp& op : ops) {
    if (op.insert) {
      // The next key of the insert sequence.
      EXPECT_EQ(op.key, YcsbKey(kRecords + inserts));
      keys.insert(op.key);
      inserts++;
      continue;
    }
    ASSERT_GE(op.length, 1u);
    ASSERT_LE(op.length, 100u);
    length_sum += op.length;
    // Scans start at a key that exists at that point of the run.
    ASSERT_TRUE(keys.count(op.key) == 1) << op.key;
  }
  EXPECT_NEAR(static_cast<double>(inserts) / kOps, 0.05, 0.005);
  EXPECT_NEAR(static_cast<double>(length_sum) / (kOps - inserts), 50.5, 1.0);
}

TEST(YcsbWorkloadETest, DeterministicInTheSeed) {
  const std::vector<YcsbOp> a = YcsbWorkloadE(1000, 5000, kSeed);
  const std::vector<YcsbOp> b = YcsbWorkloadE(1000, 5000, kSeed);
  const std::vector<YcsbOp> c = YcsbWorkloadE(1000, 5000, kSeed + 1);
  bool same = true;
  bool differs = false;
  for (size_t i = 0; i < a.size(); i++) {
    same = same && a[i].key == b[i].key && a[i].length == b[i].length &&
           a[i].insert == b[i].insert;
    differs = differs || a[i].key != c[i].key;
  }
  EXPECT_TRUE(same);
  EXPECT_TRUE(differs);
}

}  // namespace
}  // namespace bench
}  // namespace lsmscan
