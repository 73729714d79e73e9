#include "lsmscan/lsm/block_cache.h"

#include <bit>

#include "lsmscan/storage/base/assert.h"

namespace lsmscan {

BlockCache::BlockCache(uint32_t frame_count, uint32_t block_size_bytes)
    : block_size_bytes_(block_size_bytes),
      frames_(static_cast<size_t>(frame_count) * block_size_bytes),
      slots_(frame_count) {
  LSMSCAN_ASSERT(frame_count > 0);
  const size_t table_size = std::bit_ceil(size_t{frame_count} * 2);
  table_.assign(table_size, kNoFrame);
  table_mask_ = table_size - 1;
}

size_t BlockCache::Bucket(BlockAddress address) const {
  return static_cast<size_t>((address * 0x9E3779B97F4A7C15ull) >> 20) &
         table_mask_;
}

size_t BlockCache::Probe(BlockAddress address) const {
  size_t position = Bucket(address);
  // The table is at most half full, so an empty bucket ends every probe.
  while (table_[position] != kNoFrame &&
         slots_[table_[position]].address != address) {
    position = (position + 1) & table_mask_;
  }
  return position;
}

BlockCache::Frame BlockCache::Lookup(BlockAddress address,
                                     const Checksum128& checksum) {
  const Frame frame = table_[Probe(address)];
  if (frame == kNoFrame || slots_[frame].checksum != checksum) {
    miss_count_++;
    return kNoFrame;
  }
  hit_count_++;
  Pin(frame);
  return frame;
}

BlockCache::Frame BlockCache::Reserve() {
  const uint32_t count = frame_count();
  // Two sweeps: the first clears reference bits, the second must then find
  // any unpinned frame.
  for (uint32_t step = 0; step < 2 * count; step++) {
    const Frame frame = static_cast<Frame>(clock_hand_);
    clock_hand_ = (clock_hand_ + 1) % count;
    Slot& slot = slots_[frame];
    if (slot.pin_count > 0) continue;
    if (slot.referenced) {
      slot.referenced = false;
      continue;
    }
    if (slot.mapped) Unmap(frame);
    slot.pin_count = 1;
    return frame;
  }
  return kNoFrame;
}

BlockCache::Frame BlockCache::Publish(Frame frame, BlockAddress address,
                                      const Checksum128& checksum) {
  Slot& slot = slots_[frame];
  LSMSCAN_ASSERT(!slot.mapped);
  LSMSCAN_ASSERT(slot.pin_count == 1);
  size_t position = Probe(address);
  const Frame existing = table_[position];
  if (existing != kNoFrame && slots_[existing].checksum == checksum) {
    // A concurrent read of the same block got here first.
    Abandon(frame);
    Pin(existing);
    return existing;
  }
  if (existing != kNoFrame) {
    // An older block at this address (freed, then rewritten).
    if (slots_[existing].pin_count > 0) {
      // Still read by someone: keep it, and hand this one out unmapped; it
      // becomes free when unpinned.
      return frame;
    }
    Unmap(existing);
    position = Probe(address);
  }
  slot.address = address;
  slot.checksum = checksum;
  slot.mapped = true;
  slot.referenced = true;
  table_[position] = frame;
  return frame;
}

void BlockCache::Abandon(Frame frame) {
  Slot& slot = slots_[frame];
  LSMSCAN_ASSERT(!slot.mapped);
  LSMSCAN_ASSERT(slot.pin_count == 1);
  slot.pin_count = 0;
  slot.referenced = false;
}

void BlockCache::Pin(Frame frame) {
  Slot& slot = slots_[frame];
  LSMSCAN_ASSERT(slot.mapped);
  slot.pin_count++;
  slot.referenced = true;
}

void BlockCache::Unpin(Frame frame) {
  Slot& slot = slots_[frame];
  LSMSCAN_ASSERT(slot.pin_count > 0);
  slot.pin_count--;
}

void BlockCache::Invalidate(BlockAddress address) {
  const Frame frame = table_[Probe(address)];
  if (frame == kNoFrame) return;
  LSMSCAN_ASSERT_MSG(slots_[frame].pin_count == 0,
                     "a block still being read is rewritten");
  Unmap(frame);
}

void BlockCache::Unmap(Frame frame) {
  Slot& slot = slots_[frame];
  LSMSCAN_ASSERT(slot.mapped);
  size_t hole = Probe(slot.address);
  LSMSCAN_ASSERT(table_[hole] == frame);
  slot.mapped = false;
  slot.referenced = false;
  // Backward-shift deletion keeps every probe chain unbroken.
  table_[hole] = kNoFrame;
  size_t position = (hole + 1) & table_mask_;
  while (table_[position] != kNoFrame) {
    const size_t home = Bucket(slots_[table_[position]].address);
    // Move the entry into the hole if its home is not in (hole, position].
    const bool movable =
        ((position - home) & table_mask_) >= ((position - hole) & table_mask_);
    if (movable) {
      table_[hole] = table_[position];
      table_[position] = kNoFrame;
      hole = position;
    }
    position = (position + 1) & table_mask_;
  }
}

}  // namespace lsmscan
