// File: scan/scan_level_owner.h
// -----------------------------------------------------------------------------
//
// ScanLevelOwner: the one call a scan's level (scan_tree_level.h) makes back
// into the scan that owns it (scan_tree.h). With the interface on its own,
// the headers depend one way: scan_tree.h -> scan_tree_level.h -> this file.

#ifndef LSMSCAN_SCAN_SCAN_LEVEL_OWNER_H_
#define LSMSCAN_SCAN_SCAN_LEVEL_OWNER_H_

#include <cstdint>

namespace lsmscan {

// ScanLevelOwner
//
// What a level calls back into: the scan tree.
class ScanLevelOwner {
 public:
  // The level the scan was waiting for (after Fetch() returned false) has
  // values, has finished, or failed (see status()).
  virtual void LevelReady(uint32_t level) = 0;

 protected:
  ~ScanLevelOwner() = default;
};

}  // namespace lsmscan

#endif  // LSMSCAN_SCAN_SCAN_LEVEL_OWNER_H_
