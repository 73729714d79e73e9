// File: lsm/checksum.h
// -----------------------------------------------------------------------------
//
// 128-bit block checksums: XXH3-128 (xxHash). Every block carries the
// checksum of its own bytes in its header, and every parent (index block,
// manifest, superblock) stores its children's checksums, so a read is
// accepted only if the bytes hash to what the parent expects.

#ifndef LSMSCAN_LSM_CHECKSUM_H_
#define LSMSCAN_LSM_CHECKSUM_H_

#include <cstddef>
#include <cstdint>
#include <string>

namespace lsmscan {

// Checksum128
//
// A 128-bit checksum, stored little-endian as (low, high).
struct Checksum128 {
  uint64_t low = 0;
  uint64_t high = 0;

  friend bool operator==(const Checksum128&, const Checksum128&) = default;
  // 32 hex digits, high word first.
  std::string ToHex() const;
};
static_assert(sizeof(Checksum128) == 16);

// ChecksumBytes()
//
// XXH3-128 of `size` bytes at `data`.
Checksum128 ChecksumBytes(const void* data, size_t size);

}  // namespace lsmscan

#endif  // LSMSCAN_LSM_CHECKSUM_H_
