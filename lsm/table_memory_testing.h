// File: lsm/table_memory_testing.h
// -----------------------------------------------------------------------------
//
// Helpers for tests of memory tables (testonly): byte equality of values,
// and the merge of a table's runs as a reader sees them.

#ifndef LSMSCAN_LSM_TABLE_MEMORY_TESTING_H_
#define LSMSCAN_LSM_TABLE_MEMORY_TESTING_H_

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <span>
#include <vector>

#include "lsmscan/lsm/schema.h"
#include "lsmscan/lsm/table_memory.h"

namespace lsmscan {
namespace testing {

// Whether two values hold the same bytes.
template <typename S>
bool SameBytes(const typename S::Value& a, const typename S::Value& b) {
  return std::memcmp(&a, &b, sizeof(a)) == 0;
}

// The merge of a table's first `run_count` runs (all by default), newest
// run winning on equal keys.
template <typename S>
std::vector<typename S::Value> Merged(const TableMemory<S>& table,
                                      uint32_t run_count = UINT32_MAX) {
  std::vector<typename S::Value> out;
  std::vector<std::span<const typename S::Value>> runs;
  for (uint32_t i = std::min(run_count, table.run_count()); i > 0; i--) {
    runs.push_back(table.run(i - 1));  // Newest first.
  }
  while (true) {
    int best = -1;
    for (size_t i = 0; i < runs.size(); i++) {
      if (runs[i].empty()) continue;
      if (best < 0 ||
          S::key_of(runs[i].front()) < S::key_of(runs[best].front())) {
        best = static_cast<int>(i);
      }
    }
    if (best < 0) return out;
    const typename S::Key key = S::key_of(runs[best].front());
    out.push_back(runs[best].front());
    for (auto& run : runs) {
      if (!run.empty() && !(key < S::key_of(run.front()))) {
        run = run.subspan(1);
      }
    }
  }
}

}  // namespace testing
}  // namespace lsmscan

#endif  // LSMSCAN_LSM_TABLE_MEMORY_TESTING_H_
