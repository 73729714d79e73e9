// Tests of EvenSample: exactly min(count, n) items, in order, starting at
// the first, reaching the stream's last part, with gaps that differ by at
// most the final stride, for stream lengths around every power of two.

#include "lsmscan/tools/lsmscan/even_sample.h"

#include <algorithm>
#include <cstdint>
#include <vector>

#include "gtest/gtest.h"

namespace lsmscan {
namespace tool {
namespace {

TEST(EvenSampleTest, SpreadsOverStreamsOfAnyLength) {
  constexpr size_t kCount = 64;
  for (uint64_t n = 0; n < 20000; n += (n < 300 ? 1 : 97)) {
    EvenSample<uint64_t> sample(kCount);
    for (uint64_t i = 0; i < n; i++) sample.Add(i);
    const std::vector<uint64_t> taken = sample.Take();
    ASSERT_EQ(taken.size(), std::min<uint64_t>(kCount, n)) << n;
    if (n == 0) continue;
    EXPECT_EQ(taken.front(), 0u);
    uint64_t gap_min = UINT64_MAX;
    uint64_t gap_max = 0;
    for (size_t i = 1; i < taken.size(); i++) {
      ASSERT_LT(taken[i - 1], taken[i]) << n;
      gap_min = std::min(gap_min, taken[i] - taken[i - 1]);
      gap_max = std::max(gap_max, taken[i] - taken[i - 1]);
    }
    // The last item sampled lies in the stream's last (n / count + 1)-wide
    // stretch, times two for the stride, and the gaps are even.
    const uint64_t even_gap = n / kCount + 1;
    EXPECT_GE(taken.back() + 2 * even_gap + 1, n) << n;
    if (taken.size() > 1) {
      EXPECT_LE(gap_max - gap_min, gap_min + 1) << n;
    }
  }
}

}  // namespace
}  // namespace tool
}  // namespace lsmscan
