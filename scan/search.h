// File: scan/search.h
// -----------------------------------------------------------------------------
//
// Searches over sorted values that touch few cache lines. A seek pays one
// search to find where a range starts (an interpolation search for integer
// keys); where it ends is usually near (short ranges), so a galloping
// search from the start finds it in the cache lines already loaded instead
// of paying a second cold search.

#ifndef LSMSCAN_SCAN_SEARCH_H_
#define LSMSCAN_SCAN_SEARCH_H_

#include <algorithm>
#include <concepts>
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

// PartitionPointByKey()
//
// The number of leading values of ascending `values` whose key is below
// `target` (with `inclusive`, at or below it): std::partition_point over
// keys. For unsigned integer keys of up to 8 bytes it is an interpolation
// search: one probe where `target` would sit if the keys between the first
// and last value were evenly spread, then a gallop from that probe and a
// binary search of the bracket it finds. Evenly spread keys (dense or
// spaced ids, timestamps at a steady rate) cost a handful of cache lines
// instead of a binary search's log2(n) scattered ones; any other spread
// costs at most about twice the binary search. (Further interpolation
// rounds touch fewer lines on random keys but each waits for the last
// probe's key: measured slower here, see bench/RESULTS.md.)
template <Schema S>
size_t PartitionPointByKey(std::span<const typename S::Value> values,
                           const typename S::Key& target, bool inclusive) {
  using Key = typename S::Key;
  using Value = typename S::Value;
  // Whether a value is among the leading values counted.
  auto below = [&](const Value& value) {
    const Key key = S::key_of(value);
    return inclusive ? !(target < key) : key < target;
  };
  const size_t size = values.size();
  if constexpr (std::unsigned_integral<Key> && sizeof(Key) <= 8) {
    if (size < 16) {
      return static_cast<size_t>(
          std::partition_point(values.begin(), values.end(), below) -
          values.begin());
    }
    if (!below(values[0])) return 0;
    if (below(values[size - 1])) return size;
    // below(values[low]) and !below(values[high]).
    size_t low = 0;
    size_t high = size - 1;
    const double first = static_cast<double>(S::key_of(values[0]));
    const double last = static_cast<double>(S::key_of(values[size - 1]));
    const double fraction =
        (static_cast<double>(target) - first) / std::max(1.0, last - first);
    const size_t guess =
        std::clamp<size_t>(static_cast<size_t>(std::max(0.0, fraction) *
                                               static_cast<double>(size - 1)),
                           1, size - 2);
    // Gallop away from the guess (the probes' addresses do not depend on
    // the keys loaded, so they overlap), then bisect the bracket.
    size_t step = 1;
    if (below(values[guess])) {
      low = guess;
      while (low + step < high && below(values[low + step])) {
        low += step;
        step *= 2;
      }
      high = std::min(high, low + step);
    } else {
      high = guess;
      while (high - low > step && !below(values[high - step])) {
        high -= step;
        step *= 2;
      }
      if (high - low > step) low = high - step;  // Else low stays.
    }
    while (high - low > 1) {
      const size_t middle = low + (high - low) / 2;
      if (below(values[middle])) {
        low = middle;
      } else {
        high = middle;
      }
    }
    return high;
  } else {
    return static_cast<size_t>(
        std::partition_point(values.begin(), values.end(), below) -
        values.begin());
  }
}

// SliceToRange()
//
// The values of ascending `values` with keys in [key_min, key_max]: one
// search (PartitionPointByKey()) for the end the scan starts from, a gallop
// for the other. Each end is first checked against the bound in O(1): a
// block wholly inside the range (every block a scan walks into, but its
// first and last) costs no search at all.
template <Schema S>
std::span<const typename S::Value> SliceToRange(
    std::span<const typename S::Value> values, const typename S::Key& key_min,
    const typename S::Key& key_max, Direction direction) {
  using Value = typename S::Value;
  if (values.empty()) return values;
  if (direction == Direction::kAscending) {
    const size_t begin = S::key_of(values.front()) < key_min
                             ? PartitionPointByKey<S>(values, key_min, false)
                             : 0;
    const std::span<const Value> rest = values.subspan(begin);
    if (rest.empty() || !(key_max < S::key_of(rest.back()))) return rest;
    return rest.first(GallopCount(rest, false, [&](const Value& v) {
      return !(key_max < S::key_of(v));
    }));
  }
  const size_t end = key_max < S::key_of(values.back())
                         ? PartitionPointByKey<S>(values, key_max, true)
                         : values.size();
  const std::span<const Value> rest = values.first(end);
  if (rest.empty() || !(S::key_of(rest.front()) < key_min)) return rest;
  return rest.last(GallopCount(
      rest, true, [&](const Value& v) { return !(S::key_of(v) < key_min); }));
}

}  // namespace lsmscan

#endif  // LSMSCAN_SCAN_SEARCH_H_
