// File: lsm/block_cache_testing.h
// -----------------------------------------------------------------------------
//
// Test support for BlockCache (testonly): frames filled with bytes that
// name the block and version they hold, and the checksums that go with
// them.

#ifndef LSMSCAN_LSM_BLOCK_CACHE_TESTING_H_
#define LSMSCAN_LSM_BLOCK_CACHE_TESTING_H_

#include <cstdint>
#include <cstring>

#include "gtest/gtest.h"
#include "lsmscan/lsm/block_cache.h"
#include "lsmscan/lsm/checksum.h"
#include "lsmscan/storage/storage.h"

namespace lsmscan {
namespace block_cache_testing {

using Frame = BlockCache::Frame;
inline constexpr Frame kNoFrame = BlockCache::kNoFrame;
inline constexpr uint32_t kBlockSize = 4096;

// The checksum of (address, version).
inline Checksum128 ChecksumOf(BlockAddress address, uint64_t version) {
  return Checksum128{address * 0x9E3779B97F4A7C15ull + version,
                     version ^ 0xC0FFEE};
}

// Fills a frame with bytes that identify (address, version).
inline void Fill(BlockCache& cache, Frame frame, BlockAddress address,
                 uint64_t version) {
  std::byte* data = cache.data(frame);
  std::memcpy(data, &address, 8);
  std::memcpy(data + 8, &version, 8);
  std::memset(data + 16, static_cast<int>((address + version) & 0xFF),
              kBlockSize - 16);
}

// Whether a frame holds (address, version).
inline bool Holds(BlockCache& cache, Frame frame, BlockAddress address,
                  uint64_t version) {
  const std::byte* data = cache.data(frame);
  BlockAddress a;
  uint64_t v;
  std::memcpy(&a, data, 8);
  std::memcpy(&v, data + 8, 8);
  if (a != address || v != version) return false;
  const std::byte fill = static_cast<std::byte>((address + version) & 0xFF);
  return data[16] == fill && data[kBlockSize - 1] == fill;
}

// Reserves a frame, fills it and publishes (address, version); returns the
// published frame, pinned.
inline Frame Insert(BlockCache& cache, BlockAddress address,
                    uint64_t version = 0) {
  const Frame frame = cache.Reserve();
  EXPECT_NE(frame, kNoFrame);
  if (frame == kNoFrame) return kNoFrame;
  Fill(cache, frame, address, version);
  return cache.Publish(frame, address, ChecksumOf(address, version));
}

}  // namespace block_cache_testing
}  // namespace lsmscan

#endif  // LSMSCAN_LSM_BLOCK_CACHE_TESTING_H_
