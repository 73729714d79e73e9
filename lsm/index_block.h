// File: lsm/index_block.h
// -----------------------------------------------------------------------------
//
// Index blocks: one per table, listing the table's data blocks in key order.
// For data block i it holds checksum[i], address[i], key_min[i], key_max[i]
// in four parallel arrays (structure of arrays, so a binary search over
// key_max touches only keys). Each array starts at a 16-byte boundary:
//
//   [ header (64 B) | checksum[n] (16 B each) | address[n] (8 B each) | pad
//     | key_min[n] | pad | key_max[n] | zero padding ]
//
// with n = header.count and key size = header.element_size. Rung 2 of the
// ladder (block -> table -> level -> merge -> scan tree).

#ifndef LSMSCAN_LSM_INDEX_BLOCK_H_
#define LSMSCAN_LSM_INDEX_BLOCK_H_

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <vector>

#include "absl/status/status.h"
#include "lsmscan/lsm/block_header.h"
#include "lsmscan/lsm/checksum.h"
#include "lsmscan/storage/base/assert.h"
#include "lsmscan/storage/storage.h"

namespace lsmscan {

// IndexBlockLayout
//
// Byte offsets of the four arrays for `count` entries of `key_size` bytes.
struct IndexBlockLayout {
  size_t checksums_offset = 0;
  size_t addresses_offset = 0;
  size_t keys_min_offset = 0;
  size_t keys_max_offset = 0;
  size_t size_bytes = 0;  // Header + arrays: the block's size_bytes.

  static constexpr size_t RoundUp16(size_t n) { return (n + 15) / 16 * 16; }

  static constexpr IndexBlockLayout For(size_t count, size_t key_size) {
    IndexBlockLayout layout;
    layout.checksums_offset = kBlockHeaderSizeBytes;
    layout.addresses_offset =
        RoundUp16(layout.checksums_offset + count * sizeof(Checksum128));
    layout.keys_min_offset =
        RoundUp16(layout.addresses_offset + count * sizeof(BlockAddress));
    layout.keys_max_offset =
        RoundUp16(layout.keys_min_offset + count * key_size);
    layout.size_bytes = layout.keys_max_offset + count * key_size;
    return layout;
  }
};

// IndexBlockEntryCountMax()
//
// The most data blocks one index block can list.
constexpr uint32_t IndexBlockEntryCountMax(uint32_t block_size_bytes,
                                           size_t key_size) {
  uint32_t count = static_cast<uint32_t>(
      (block_size_bytes - kBlockHeaderSizeBytes) /
      (sizeof(Checksum128) + sizeof(BlockAddress) + 2 * key_size));
  while (count > 0 &&
         IndexBlockLayout::For(count, key_size).size_bytes > block_size_bytes) {
    count--;
  }
  return count;
}

// IndexBlockView<Key>
//
// Read access to a verified index block; spans point into the block.
template <typename Key>
class IndexBlockView {
 public:
  explicit IndexBlockView(const std::byte* block) : block_(block) {
    const BlockHeader header = ReadHeader(block);
    LSMSCAN_ASSERT(header.block_type == BlockType::kIndex);
    LSMSCAN_ASSERT(header.element_size == sizeof(Key));
    count_ = header.count;
    layout_ = IndexBlockLayout::For(count_, sizeof(Key));
  }

  uint32_t count() const { return count_; }
  std::span<const Checksum128> checksums() const {
    return {At<Checksum128>(layout_.checksums_offset), count_};
  }
  std::span<const BlockAddress> addresses() const {
    return {At<BlockAddress>(layout_.addresses_offset), count_};
  }
  std::span<const Key> keys_min() const {
    return {At<Key>(layout_.keys_min_offset), count_};
  }
  std::span<const Key> keys_max() const {
    return {At<Key>(layout_.keys_max_offset), count_};
  }

 private:
  template <typename T>
  const T* At(size_t offset) const {
    static_assert(alignof(T) <= 16);
    return reinterpret_cast<const T*>(block_ + offset);
  }

  const std::byte* block_;
  uint32_t count_ = 0;
  IndexBlockLayout layout_;
};

// ValidateIndexBlock()
//
// Structural checks of an index block whose checksum has been verified: key
// size, count, size agree, and key ranges ascend without overlap. DataLoss
// otherwise. O(n).
template <typename Key>
absl::Status ValidateIndexBlock(const std::byte* block,
                                uint32_t block_size_bytes) {
  const BlockHeader header = ReadHeader(block);
  if (header.block_type != BlockType::kIndex) {
    return absl::DataLossError("index block: holds another block type");
  }
  if (header.element_size != sizeof(Key)) {
    return absl::DataLossError("index block: key size differs from schema");
  }
  if (header.count == 0 ||
      header.count > IndexBlockEntryCountMax(block_size_bytes, sizeof(Key)) ||
      header.size_bytes !=
          IndexBlockLayout::For(header.count, sizeof(Key)).size_bytes) {
    return absl::DataLossError("index block: count and size disagree");
  }
  const IndexBlockView<Key> view(block);
  for (uint32_t i = 0; i < view.count(); i++) {
    if (view.keys_max()[i] < view.keys_min()[i]) {
      return absl::DataLossError("index block: key_max below key_min");
    }
    if (i > 0 && !(view.keys_max()[i - 1] < view.keys_min()[i])) {
      return absl::DataLossError("index block: data blocks overlap");
    }
  }
  return absl::OkStatus();
}

// IndexBlockBuilder<Key>
//
// Collects one entry per data block (in key order), then lays the block out.
// Capacity is fixed at Init(); Add() never allocates.
template <typename Key>
class IndexBlockBuilder {
 public:
  // Sizes the builder for up to `entry_count_max` entries.
  void Init(uint32_t entry_count_max) {
    LSMSCAN_ASSERT(entry_count_max > 0);
    checksums_.resize(entry_count_max);
    addresses_.resize(entry_count_max);
    keys_min_.resize(entry_count_max);
    keys_max_.resize(entry_count_max);
    count_ = 0;
  }

  void Reset() { count_ = 0; }

  // Appends one data block's entry. REQUIRES: !full(), ranges ascend.
  void Add(const Checksum128& checksum, BlockAddress address,
           const Key& key_min, const Key& key_max) {
    LSMSCAN_ASSERT(count_ < checksums_.size());
    LSMSCAN_ASSERT(!(key_max < key_min));
    if (count_ > 0) LSMSCAN_ASSERT(keys_max_[count_ - 1] < key_min);
    checksums_[count_] = checksum;
    addresses_[count_] = address;
    keys_min_[count_] = key_min;
    keys_max_[count_] = key_max;
    count_++;
  }

  // Lays out the block in `frame`, seals it and returns its checksum.
  // REQUIRES: !empty().
  Checksum128 Seal(std::byte* frame, uint32_t block_size_bytes,
                   BlockAddress address, uint32_t schema_id,
                   uint64_t snapshot_min, uint16_t level) const {
    LSMSCAN_ASSERT(count_ > 0);
    const IndexBlockLayout layout = IndexBlockLayout::For(count_, sizeof(Key));
    LSMSCAN_ASSERT(layout.size_bytes <= block_size_bytes);
    std::memset(frame, 0, layout.size_bytes);
    std::memcpy(frame + layout.checksums_offset, checksums_.data(),
                count_ * sizeof(Checksum128));
    std::memcpy(frame + layout.addresses_offset, addresses_.data(),
                count_ * sizeof(BlockAddress));
    std::memcpy(frame + layout.keys_min_offset, keys_min_.data(),
                count_ * sizeof(Key));
    std::memcpy(frame + layout.keys_max_offset, keys_max_.data(),
                count_ * sizeof(Key));
    BlockHeader header;
    header.block_type = BlockType::kIndex;
    header.address = address;
    header.size_bytes = static_cast<uint32_t>(layout.size_bytes);
    header.schema_id = schema_id;
    header.snapshot_min = snapshot_min;
    header.count = count_;
    header.element_size = sizeof(Key);
    header.level = level;
    std::memcpy(frame, &header, sizeof(header));
    return SealBlock(frame, block_size_bytes);
  }

  bool empty() const { return count_ == 0; }
  bool full() const { return count_ == checksums_.size(); }
  uint32_t count() const { return count_; }
  std::span<const BlockAddress> addresses() const {
    return {addresses_.data(), count_};
  }
  // Per data block, as the block will list them.
  std::span<const Checksum128> block_checksums() const {
    return {checksums_.data(), count_};
  }
  std::span<const Key> block_keys_min() const {
    return {keys_min_.data(), count_};
  }
  std::span<const Key> block_keys_max() const {
    return {keys_max_.data(), count_};
  }
  const Key& key_min() const {
    LSMSCAN_ASSERT(count_ > 0);
    return keys_min_[0];
  }
  const Key& key_max() const {
    LSMSCAN_ASSERT(count_ > 0);
    return keys_max_[count_ - 1];
  }

 private:
  std::vector<Checksum128> checksums_;
  std::vector<BlockAddress> addresses_;
  std::vector<Key> keys_min_;
  std::vector<Key> keys_max_;
  uint32_t count_ = 0;
};

}  // namespace lsmscan

#endif  // LSMSCAN_LSM_INDEX_BLOCK_H_
