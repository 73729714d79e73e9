#include "lsmscan/bench/latency_summary.h"

#include <algorithm>
#include <cmath>

namespace lsmscan {
namespace bench {

size_t NearestRankIndex(size_t count, double fraction) {
  const double rank = std::ceil(fraction * static_cast<double>(count));
  const size_t index = static_cast<size_t>(std::max(rank, 1.0)) - 1;
  return std::min(index, count - 1);
}

uint64_t NearestRank(std::span<const uint64_t> sorted, double fraction) {
  if (sorted.empty()) return 0;
  return sorted[NearestRankIndex(sorted.size(), fraction)];
}

double Percentile(std::vector<double> samples, double fraction) {
  if (samples.empty()) return 0;
  std::sort(samples.begin(), samples.end());
  return samples[NearestRankIndex(samples.size(), fraction)];
}

LatencySummary Summarize(std::vector<uint64_t>* ticks, const TickClock& clock) {
  LatencySummary summary;
  summary.count = ticks->size();
  if (ticks->empty()) return summary;
  std::sort(ticks->begin(), ticks->end());
  double total = 0;
  for (uint64_t t : *ticks) total += static_cast<double>(t);
  summary.mean_ns = total / clock.ticks_per_ns() / ticks->size();
  summary.p50_ns = clock.Nanoseconds(NearestRank(*ticks, 0.5));
  summary.p99_ns = clock.Nanoseconds(NearestRank(*ticks, 0.99));
  summary.p999_ns = clock.Nanoseconds(NearestRank(*ticks, 0.999));
  summary.max_ns = clock.Nanoseconds(ticks->back());
  return summary;
}

}  // namespace bench
}  // namespace lsmscan
