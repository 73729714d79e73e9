// File: bench/algebra_workload.h
// -----------------------------------------------------------------------------
//
// The data and queries of //bench:algebra_benchmark (see its file comment):
// an index keyed (field, id) packed as field << 32 | id, two fields (scans
// A and B), their id sets for each overlap pattern, the two queries, and
// what one run of one method returns.

#ifndef LSMSCAN_BENCH_ALGEBRA_WORKLOAD_H_
#define LSMSCAN_BENCH_ALGEBRA_WORKLOAD_H_

#include <time.h>

#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "lsmscan/storage/base/prng.h"

namespace lsmscan {
namespace bench {
namespace algebra {

using Ids = std::vector<uint64_t>;

inline constexpr uint64_t kFieldA = 1;
inline constexpr uint64_t kFieldB = 2;
inline constexpr uint64_t kIdMask = 0xFFFFFFFFull;

inline uint64_t IndexKey(uint64_t field, uint64_t id) {
  return (field << 32) | id;
}

// The CPU time of this thread: on this shared 2-core machine it counts
// what the query did, not the time other processes held the CPU.
inline double CpuSeconds() {
  timespec now;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now);
  return static_cast<double>(now.tv_sec) +
         1e-9 * static_cast<double>(now.tv_nsec);
}

enum class Op { kIntersection, kDifference };

inline const char* OpName(Op op) {
  return op == Op::kIntersection ? "A AND B" : "A MINUS B";
}

// One run of one method.
struct Outcome {
  uint64_t results = 0;
  uint64_t checksum = 0;  // Sum of the ids returned.
  uint64_t data_blocks = 0;
  double seconds = 0;
};

// The two id sets of one pattern.
struct Pattern {
  std::string name;
  Ids a;
  Ids b;
};

inline Pattern Clustered(uint64_t entries, uint64_t cluster_ids,
                         uint32_t percent) {
  Pattern pattern;
  pattern.name = absl::StrCat("clustered ", percent, "%");
  const uint64_t shared = cluster_ids * percent / 100;
  const uint64_t stride = 2 * cluster_ids + cluster_ids / 2;
  for (uint64_t base = 0; pattern.a.size() < entries; base += stride) {
    for (uint64_t i = 0; i < cluster_ids && pattern.a.size() < entries; i++) {
      pattern.a.push_back(base + i);
      pattern.b.push_back(base + cluster_ids - shared + i);
    }
  }
  return pattern;
}

inline Pattern Interleaved(uint64_t entries) {
  Pattern pattern;
  pattern.name = "interleaved 1%";
  Prng prng(17);
  for (uint64_t id = 0; id < 100 * entries; id++) {
    if (prng.Uniform(100) == 0) pattern.a.push_back(id);
    if (prng.Uniform(100) == 0) pattern.b.push_back(id);
  }
  return pattern;
}

}  // namespace algebra
}  // namespace bench
}  // namespace lsmscan

#endif  // LSMSCAN_BENCH_ALGEBRA_WORKLOAD_H_
