#include "lsmscan/bench/latency_summary.h"

#include <cstdint>
#include <vector>

#include "gtest/gtest.h"

namespace lsmscan {
namespace bench {
namespace {

TEST(NearestRankTest, EmptyIsZero) { EXPECT_EQ(NearestRank({}, 0.5), 0u); }

TEST(NearestRankTest, OneSampleIsEveryPercentile) {
  const std::vector<uint64_t> sorted = {7};
  EXPECT_EQ(NearestRank(sorted, 0.0), 7u);
  EXPECT_EQ(NearestRank(sorted, 0.5), 7u);
  EXPECT_EQ(NearestRank(sorted, 1.0), 7u);
}

TEST(NearestRankTest, RanksOfOneThousandSamples) {
  std::vector<uint64_t> sorted;
  for (uint64_t i = 1; i <= 1000; i++) sorted.push_back(i * 10);
  EXPECT_EQ(NearestRank(sorted, 0.5), 5000u);    // The 500th.
  EXPECT_EQ(NearestRank(sorted, 0.99), 9900u);   // The 990th.
  EXPECT_EQ(NearestRank(sorted, 0.999), 9990u);  // The 999th.
  EXPECT_EQ(NearestRank(sorted, 1.0), 10000u);   // The largest.
  EXPECT_EQ(NearestRank(sorted, 0.0), 10u);      // Clamped to the first.
  EXPECT_EQ(NearestRank(sorted, 0.0005), 10u);   // ceil(0.5) = 1st.
  EXPECT_EQ(NearestRank(sorted, 0.0015), 20u);   // ceil(1.5) = 2nd.
}

TEST(NearestRankTest, TailOfFewSamplesIsTheMaximum) {
  // With 100 samples, p99.9 is the 100th: one outlier in 100 shows.
  std::vector<uint64_t> sorted(100, 1);
  sorted.back() = 1000;
  EXPECT_EQ(NearestRank(sorted, 0.99), 1u);
  EXPECT_EQ(NearestRank(sorted, 0.999), 1000u);
}

TEST(SummarizeTest, SortsAndConvertsTicksToNanoseconds) {
  const TickClock clock = TickClock::Calibrate(1);
  const double rate = clock.ticks_per_ns();
  ASSERT_GT(rate, 0);
  // 1,000 samples in reverse order: i * 1000 ticks for i = 1000..1.
  std::vector<uint64_t> ticks;
  for (uint64_t i = 1000; i >= 1; i--) ticks.push_back(i * 1000);
  const LatencySummary summary = Summarize(&ticks, clock);
  EXPECT_TRUE(std::is_sorted(ticks.begin(), ticks.end()));
  EXPECT_EQ(summary.count, 1000u);
  EXPECT_DOUBLE_EQ(summary.p50_ns, 500'000 / rate);
  EXPECT_DOUBLE_EQ(summary.p99_ns, 990'000 / rate);
  EXPECT_DOUBLE_EQ(summary.p999_ns, 999'000 / rate);
  EXPECT_DOUBLE_EQ(summary.max_ns, 1'000'000 / rate);
  EXPECT_NEAR(summary.mean_ns, 500'500 / rate, 1e-6 * 500'500 / rate);
}

TEST(SummarizeTest, NoSamples) {
  const TickClock clock = TickClock::Calibrate(1);
  std::vector<uint64_t> ticks;
  const LatencySummary summary = Summarize(&ticks, clock);
  EXPECT_EQ(summary.count, 0u);
  EXPECT_EQ(summary.max_ns, 0);
}

TEST(TickClockTest, MeasuresElapsedTimeAtTheCalibratedRate) {
  const TickClock clock = TickClock::Calibrate(20);
  EXPECT_GT(clock.read_cost_ns(), 0);
  const auto start = std::chrono::steady_clock::now();
  const uint64_t ticks_start = TickClock::Now();
  while (std::chrono::steady_clock::now() - start <
         std::chrono::milliseconds(20)) {
  }
  const double ns = clock.Nanoseconds(TickClock::Now() - ticks_start);
  // At least the 20 ms waited (less 10% for rate error), and not wildly
  // more (a descheduled test may overshoot; 10x is far beyond that).
  EXPECT_GT(ns, 18e6);
  EXPECT_LT(ns, 200e6);
}

TEST(PacerTest, HoldsTheRateAndNeverWaitsAtRateZero) {
  const TickClock clock = TickClock::Calibrate(20);
  // 2,000 operations at 100,000/s: due over 20 ms.
  const Pacer pacer(100'000, clock);
  const uint64_t start = TickClock::Now();
  for (uint64_t i = 0; i < 2000; i++) pacer.WaitTurn(i);
  const double ns = clock.Nanoseconds(TickClock::Now() - start);
  // Operation 1,999 is due at 19.99 ms (less 10% for rate error).
  EXPECT_GT(ns, 18e6);
  const Pacer unpaced(0, clock);
  const uint64_t unpaced_start = TickClock::Now();
  for (uint64_t i = 0; i < 2000; i++) unpaced.WaitTurn(i);
  EXPECT_LT(clock.Nanoseconds(TickClock::Now() - unpaced_start), 10e6);
}

}  // namespace
}  // namespace bench
}  // namespace lsmscan
