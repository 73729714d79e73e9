// File: lsm/direction.h
// -----------------------------------------------------------------------------
//
// Scan direction, and the few direction-aware helpers every layer shares
// (TigerBeetle's direction.zig). Stored data is always ascending; a
// descending scan reads it from the back.

#ifndef LSMSCAN_LSM_DIRECTION_H_
#define LSMSCAN_LSM_DIRECTION_H_

#include <cstdint>

namespace lsmscan {

// Direction
enum class Direction : uint8_t { kAscending, kDescending };

// DirectionName()
inline const char* DirectionName(Direction direction) {
  return direction == Direction::kAscending ? "ascending" : "descending";
}

// Before()
//
// True iff `a` comes strictly before `b` in `direction`.
template <typename Key>
inline bool Before(Direction direction, const Key& a, const Key& b) {
  return direction == Direction::kAscending ? a < b : b < a;
}

}  // namespace lsmscan

#endif  // LSMSCAN_LSM_DIRECTION_H_
