#include "lsmscan/bench/write_load.h"

#include <time.h>

namespace lsmscan {
namespace bench {

double ThreadCpuSeconds() {
  timespec now{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now);
  return static_cast<double>(now.tv_sec) + 1e-9 * now.tv_nsec;
}

double ProcessCpuSeconds() {
  timespec now{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &now);
  return static_cast<double>(now.tv_sec) + 1e-9 * now.tv_nsec;
}

std::string LsmscanShape(const TreeStats& stats, uint32_t level_count) {
  std::string levels;
  for (uint32_t level = 0; level < level_count; level++) {
    if (stats.levels[level].tables == 0) continue;
    absl::StrAppend(&levels, levels.empty() ? "" : ", ", "L", level, " ",
                    stats.levels[level].tables);
  }
  return absl::StrCat(levels.empty() ? "no" : levels, " tables; ",
                      stats.memory_runs, " memory run",
                      stats.memory_runs == 1 ? "" : "s");
}

}  // namespace bench
}  // namespace lsmscan
