// File: scan/search.h
// -----------------------------------------------------------------------------
//
// Searches over sorted values that touch few cache lines. A seek pays one
// binary search to find where a range starts; where it ends is usually near
// (short ranges), so a galloping search from the start finds it in the
// cache lines already loaded instead of paying a second cold binary search.

#ifndef LSMSCAN_SCAN_SEARCH_H_
#define LSMSCAN_SCAN_SEARCH_H_

#include <algorithm>
#include <cstddef>
#include <span>

#include "lsmscan/lsm/direction.h"
#include "lsmscan/lsm/schema.h"

namespace lsmscan {

// GallopCount()
//
// The number of leading elements (from the front if `from_back` is false,
// else from the back) for which `pred` holds, given that `pred` holds for a
// prefix (a suffix) of `values` only. O(log answer) probes, near the start.
template <typename T, typename Pred>
size_t GallopCount(std::span<const T> values, bool from_back,
                   const Pred& pred) {
  const size_t size = values.size();
  auto holds = [&](size_t i) {
    return pred(from_back ? values[size - 1 - i] : values[i]);
  };
  size_t low = 0;  // holds(i) for every i < low.
  size_t step = 1;
  while (low + step <= size && holds(low + step - 1)) {
    low += step;
    step *= 2;
  }
  size_t high = std::min(size, low + step);  // !holds(high) or high == size.
  while (low < high) {
    const size_t middle = low + (high - low) / 2;
    if (holds(middle)) {
      low = middle + 1;
    } else {
      high = middle;
    }
  }
  return low;
}

// SliceToRange()
//
// The values of ascending `values` with keys in [key_min, key_max]: one
// binary search for the end the scan starts from, a gallop for the other.
template <Schema S>
std::span<const typename S::Value> SliceToRange(
    std::span<const typename S::Value> values, const typename S::Key& key_min,
    const typename S::Key& key_max, Direction direction) {
  using Value = typename S::Value;
  if (direction == Direction::kAscending) {
    const size_t begin = static_cast<size_t>(
        std::partition_point(
            values.begin(), values.end(),
            [&](const Value& v) { return S::key_of(v) < key_min; }) -
        values.begin());
    const std::span<const Value> rest = values.subspan(begin);
    return rest.first(GallopCount(rest, false, [&](const Value& v) {
      return !(key_max < S::key_of(v));
    }));
  }
  const size_t end = static_cast<size_t>(
      std::partition_point(
          values.begin(), values.end(),
          [&](const Value& v) { return !(key_max < S::key_of(v)); }) -
      values.begin());
  const std::span<const Value> rest = values.first(end);
  return rest.last(GallopCount(
      rest, true, [&](const Value& v) { return !(S::key_of(v) < key_min); }));
}

}  // namespace lsmscan

#endif  // LSMSCAN_SCAN_SEARCH_H_
