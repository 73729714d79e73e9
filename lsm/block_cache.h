// File: lsm/block_cache.h
// -----------------------------------------------------------------------------
//
// A bounded cache of verified blocks, for storages that copy (pread,
// io_uring): `frame_count` block frames allocated once, an open-addressing
// table from address to frame, CLOCK eviction. A frame in use by a reader is
// *pinned* and never evicted; a cache whose frames are all pinned simply
// declines to cache more (the reader then uses its own frame).
//
// Nothing here allocates after construction.

#ifndef LSMSCAN_LSM_BLOCK_CACHE_H_
#define LSMSCAN_LSM_BLOCK_CACHE_H_

#include <cstddef>
#include <cstdint>
#include <vector>

#include "lsmscan/lsm/checksum.h"
#include "lsmscan/storage/aligned_buffer.h"
#include "lsmscan/storage/storage.h"

namespace lsmscan {

// BlockCache
class BlockCache {
 public:
  using Frame = int32_t;
  static constexpr Frame kNoFrame = -1;

  BlockCache(uint32_t frame_count, uint32_t block_size_bytes);

  // BlockCache::Lookup()
  //
  // The frame holding `address` with checksum `checksum`, pinned, or kNoFrame.
  Frame Lookup(BlockAddress address, const Checksum128& checksum);

  // BlockCache::Reserve()
  //
  // A frame to read a block into: free, or the next unpinned one the clock
  // finds (evicting its block). Pinned and mapped to nothing; kNoFrame if
  // every frame is pinned.
  Frame Reserve();

  // BlockCache::Publish()
  //
  // Maps a reserved frame, now holding verified `address`, so lookups find
  // it; returns the frame to read, pinned. If another frame holds the same
  // block, that one is returned instead and `frame` is given back. If it
  // holds an older block at `address`, that one is dropped, or, while it is
  // pinned, `frame` is returned unmapped (it frees itself when unpinned).
  Frame Publish(Frame frame, BlockAddress address, const Checksum128& checksum);

  // BlockCache::Abandon()
  //
  // Gives back a reserved frame that received no valid block.
  void Abandon(Frame frame);

  void Pin(Frame frame);
  void Unpin(Frame frame);

  // BlockCache::Invalidate()
  //
  // Forgets `address` (it is being rewritten or freed). REQUIRES: unpinned.
  void Invalidate(BlockAddress address);

  std::byte* data(Frame frame) {
    return frames_.data() + static_cast<size_t>(frame) * block_size_bytes_;
  }
  uint32_t frame_count() const { return static_cast<uint32_t>(slots_.size()); }
  uint64_t hit_count() const { return hit_count_; }
  uint64_t miss_count() const { return miss_count_; }

 private:
  struct Slot {
    BlockAddress address = 0;
    Checksum128 checksum;
    uint32_t pin_count = 0;
    bool mapped = false;
    bool referenced = false;  // CLOCK bit.
  };

  size_t Bucket(BlockAddress address) const;
  // The table position holding `address`, or the empty one ending its probe.
  size_t Probe(BlockAddress address) const;
  void Unmap(Frame frame);

  uint32_t block_size_bytes_;
  AlignedBuffer frames_;
  std::vector<Slot> slots_;
  std::vector<Frame> table_;  // kNoFrame = empty; linear probing.
  size_t table_mask_ = 0;
  uint32_t clock_hand_ = 0;
  uint64_t hit_count_ = 0;
  uint64_t miss_count_ = 0;
};

}  // namespace lsmscan

#endif  // LSMSCAN_LSM_BLOCK_CACHE_H_
