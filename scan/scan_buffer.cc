#include "lsmscan/scan/scan_buffer.h"

#include "absl/strings/str_cat.h"

namespace lsmscan {

absl::StatusOr<std::unique_ptr<ScanBuffer>> ScanBuffer::Create(
    uint32_t level_count, uint32_t block_size_bytes, bool frames,
    const ScanBufferOptions& options) {
  if (options.read_ahead_blocks > kReadAheadBlocksMax) {
    return absl::InvalidArgumentError(
        absl::StrCat("read_ahead_blocks must be at most ", kReadAheadBlocksMax,
                     ", got ", options.read_ahead_blocks));
  }
  if (level_count == 0) {
    return absl::InvalidArgumentError("level_count must be positive");
  }
  return std::unique_ptr<ScanBuffer>(
      new ScanBuffer(level_count, block_size_bytes, options, frames));
}

ScanBuffer::ScanBuffer(uint32_t level_count, uint32_t block_size_bytes,
                       const ScanBufferOptions& options, bool frames)
    : level_count_(level_count),
      block_size_bytes_(block_size_bytes),
      read_ahead_blocks_(options.read_ahead_blocks),
      use_fences_(options.use_fences),
      fence_heads_(options.fence_heads),
      memory_(frames ? size_t{level_count} * (2 + read_ahead_blocks_) *
                           block_size_bytes
                     : 0),
      slots_(new ScanBlockSlot[size_t{level_count} * (read_ahead_blocks_ + 1)]),
      levels_(new ScanLevelSlots[level_count]) {
  const uint32_t slot_count = data_slot_count();
  for (uint32_t level = 0; level < level_count; level++) {
    ScanLevelSlots& slots = levels_[level];
    slots.index_frame = index_frame(level);
    slots.data = std::span<ScanBlockSlot>(
        slots_.get() + size_t{level} * slot_count, slot_count);
    for (uint32_t i = 0; i < slot_count; i++) {
      slots.data[i].frame = data_frame(level, i);
    }
  }
}

ScanBuffer::~ScanBuffer() {
  LSMSCAN_ASSERT_MSG(!in_use_,
                     "a ScanBuffer destroyed while a scan uses it: destroy "
                     "(or Reset()) the scan first");
}

std::byte* ScanBuffer::frame(uint32_t level, uint32_t index) {
  LSMSCAN_ASSERT(level < level_count_);
  LSMSCAN_ASSERT(index < 2 + read_ahead_blocks_);
  if (!has_frames()) return nullptr;
  const size_t frame_index = size_t{level} * (2 + read_ahead_blocks_) + index;
  return memory_.data() + frame_index * block_size_bytes_;
}

std::byte* ScanBuffer::index_frame(uint32_t level) { return frame(level, 0); }

std::byte* ScanBuffer::data_frame(uint32_t level, uint32_t slot) {
  LSMSCAN_ASSERT(slot < data_slot_count());
  return frame(level, 1 + slot);
}

}  // namespace lsmscan
