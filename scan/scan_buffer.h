// File: scan/scan_buffer.h
// -----------------------------------------------------------------------------
//
// The memory one scan reads disk levels into, allocated once and reused by
// scan after scan (TigerBeetle's ScanBuffer). Per level it holds one index
// block frame and `1 + read_ahead_blocks` data block frames:
//
//   size_bytes = level_count * (2 + read_ahead_blocks) * block_size_bytes
//
// on a copying storage (pread, io_uring). On a zero-copy storage (memory,
// mmap) blocks are read in place, and the buffer holds no frames at all:
// size_bytes = 0. Besides the frames it holds the state of each level's
// reads (ScanLevelSlots: about 220 bytes per frame, schema-independent), so
// that a scan object itself stays small and cheap to make. Either way
// nothing is allocated after Create().
//
// A buffer serves one scan at a time, and must outlive the scans that use
// it.

#ifndef LSMSCAN_SCAN_SCAN_BUFFER_H_
#define LSMSCAN_SCAN_SCAN_BUFFER_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>

#include "absl/status/statusor.h"
#include "lsmscan/lsm/grid.h"
#include "lsmscan/storage/aligned_buffer.h"
#include "lsmscan/storage/base/assert.h"

namespace lsmscan {

// kReadAheadBlocksMax
//
// The most data blocks a level may load ahead of the one being read.
inline constexpr uint32_t kReadAheadBlocksMax = 64;

// ScanBufferOptions
struct ScanBufferOptions {
  // Data blocks each level loads ahead while the merge reads the current
  // one, in [0, kReadAheadBlocksMax]. Read-ahead overlaps device time with
  // CPU time on copying storages; zero-copy storages need none.
  uint32_t read_ahead_blocks = 1;
  // Whether scans may find data blocks through the levels' fence keys
  // (lsm/level_fences.h) when their snapshot allows it (the default), or
  // always walk the manifest and index blocks (for tests and A/B
  // measurements of the two paths).
  bool use_fences = true;
  // Whether a level waiting for a block enters the merge with that block's
  // first key as its head (its fence: scan/scan_merge.h), so the other
  // levels' values before it flow while it loads, and Read() completes as
  // soon as the merge can go on (the default); or the merge stops at the
  // first level that waits, and Read() waits for every level (for A/B
  // measurements of the two).
  bool fence_heads = true;
};

// ScanBlockSlot
//
// One data block slot of a scan's level: the read in flight into it, or the
// verified block it holds (pinned). Used by the level of the scan that
// holds the buffer (scan_tree_level.h); free between scans.
struct ScanBlockSlot {
  enum class State : uint8_t {
    kFree,
    kLoading,  // A read of `block_index` is in flight.
    kReady,    // `block` holds the verified data block.
    kStale,    // A read from before a reset; dropped on arrival.
  };

  Grid::Read read;
  BlockRef block;
  std::byte* frame = nullptr;  // Null on a zero-copy storage.
  State state = State::kFree;
  uint32_t block_index = 0;
};

// ScanLevelSlots
//
// What one level of a scan reads into: its index block read and frame, and
// its `1 + read_ahead_blocks` data block slots, in a ring.
struct ScanLevelSlots {
  Grid::Read index_read;
  std::byte* index_frame = nullptr;  // Null on a zero-copy storage.
  std::span<ScanBlockSlot> data;
};

// ScanBuffer
class ScanBuffer {
 public:
  // ScanBuffer::Create()
  //
  // Sizes a buffer for trees of `level_count` levels of `block_size_bytes`
  // blocks; `frames` is false for zero-copy storages. InvalidArgument for
  // a read-ahead beyond kReadAheadBlocksMax.
  static absl::StatusOr<std::unique_ptr<ScanBuffer>> Create(
      uint32_t level_count, uint32_t block_size_bytes, bool frames,
      const ScanBufferOptions& options);

  // ScanBuffer::ForTree()
  //
  // A buffer that fits `tree` (any Tree<S>).
  template <typename TreeType>
  static absl::StatusOr<std::unique_ptr<ScanBuffer>> ForTree(
      const TreeType& tree, const ScanBufferOptions& options = {}) {
    return Create(tree.level_count(), tree.grid().block_size_bytes(),
                  !tree.storage()->zero_copy(), options);
  }

  ScanBuffer(const ScanBuffer&) = delete;
  ScanBuffer& operator=(const ScanBuffer&) = delete;
  // REQUIRES: no scan uses the buffer (in_use() is false).
  ~ScanBuffer();

  uint32_t level_count() const { return level_count_; }
  uint32_t block_size_bytes() const { return block_size_bytes_; }
  uint32_t read_ahead_blocks() const { return read_ahead_blocks_; }
  bool use_fences() const { return use_fences_; }
  bool fence_heads() const { return fence_heads_; }
  // Data block slots per level: the current block plus the read-ahead.
  uint32_t data_slot_count() const { return read_ahead_blocks_ + 1; }
  bool has_frames() const { return memory_.size() > 0; }
  // The bytes of block frames this buffer holds (the formula in the file
  // comment); the slots' state adds about 220 bytes per frame.
  size_t size_bytes() const { return memory_.size(); }

  // ScanBuffer::index_frame(), data_frame()
  //
  // Frames of `level`; nullptr when the buffer has none (zero-copy).
  std::byte* index_frame(uint32_t level);
  std::byte* data_frame(uint32_t level, uint32_t slot);

  // ScanBuffer::level_slots()
  //
  // The read state of `level` (its frames included), for the scan that
  // holds the buffer.
  ScanLevelSlots* level_slots(uint32_t level) {
    LSMSCAN_ASSERT(level < level_count_);
    return &levels_[level];
  }

  // Set while a scan uses the buffer.
  bool in_use() const { return in_use_; }
  void set_in_use(bool in_use) {
    LSMSCAN_ASSERT(in_use_ != in_use);
    in_use_ = in_use;
  }

 private:
  ScanBuffer(uint32_t level_count, uint32_t block_size_bytes,
             const ScanBufferOptions& options, bool frames);

  std::byte* frame(uint32_t level, uint32_t index);

  uint32_t level_count_;
  uint32_t block_size_bytes_;
  uint32_t read_ahead_blocks_;
  bool use_fences_;
  bool fence_heads_;
  AlignedBuffer memory_;
  std::unique_ptr<ScanBlockSlot[]> slots_;
  std::unique_ptr<ScanLevelSlots[]> levels_;
  bool in_use_ = false;
};

}  // namespace lsmscan

#endif  // LSMSCAN_SCAN_SCAN_BUFFER_H_
