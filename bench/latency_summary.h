// File: bench/latency_summary.h
// -----------------------------------------------------------------------------
//
// Per-operation latencies, recorded as TickClock ticks (bench/tick_clock.h)
// one per operation, summarised as the percentiles a write benchmark
// reports. Percentiles are nearest-rank: the p-th percentile of n samples is
// the ceil(p * n)-th smallest (p99.9 of 1,000 samples is the 999th), always
// a sample that occurred.

#ifndef LSMSCAN_BENCH_LATENCY_SUMMARY_H_
#define LSMSCAN_BENCH_LATENCY_SUMMARY_H_

#include <cstdint>
#include <span>
#include <vector>

#include "lsmscan/bench/tick_clock.h"

namespace lsmscan {
namespace bench {

// NearestRankIndex()
//
// Where the nearest-rank `fraction` quantile of `count` ascending samples
// stands: ceil(fraction * count) - 1, clamped to [0, count - 1].
// REQUIRES: count > 0; 0 <= fraction <= 1.
size_t NearestRankIndex(size_t count, double fraction);

// NearestRank()
//
// The nearest-rank `fraction` quantile of `sorted` (ascending):
// sorted[NearestRankIndex(n, fraction)]. 0 for no samples.
// REQUIRES: `sorted` is ascending; 0 <= fraction <= 1.
uint64_t NearestRank(std::span<const uint64_t> sorted, double fraction);

// Percentile()
//
// The nearest-rank `fraction` quantile of `samples`, in any order (0 for
// none). REQUIRES: 0 <= fraction <= 1.
double Percentile(std::vector<double> samples, double fraction);

// LatencySummary
//
// In nanoseconds.
struct LatencySummary {
  uint64_t count = 0;
  double mean_ns = 0;
  double p50_ns = 0;
  double p99_ns = 0;
  double p999_ns = 0;
  double max_ns = 0;
};

// Summarize()
//
// Sorts `ticks` (one sample per operation) in place and summarises it in
// nanoseconds by `clock`'s rate.
LatencySummary Summarize(std::vector<uint64_t>* ticks, const TickClock& clock);

}  // namespace bench
}  // namespace lsmscan

#endif  // LSMSCAN_BENCH_LATENCY_SUMMARY_H_
