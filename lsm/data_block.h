// File: lsm/data_block.h
// -----------------------------------------------------------------------------
//
// Data blocks: a BlockHeader, then `count` values, strictly ascending by key,
// packed back to back (no per-value framing), so a reader binary-searches
// the values in place. Rung 1 of the iterator ladder:
// block -> table -> level -> merge -> scan tree.
//
//   [ header (64 B) | value 0 | value 1 | ... | value count-1 | zero padding ]

#ifndef LSMSCAN_LSM_DATA_BLOCK_H_
#define LSMSCAN_LSM_DATA_BLOCK_H_

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>

#include "absl/status/status.h"
#include "lsmscan/lsm/block_header.h"
#include "lsmscan/lsm/schema.h"
#include "lsmscan/storage/base/assert.h"

namespace lsmscan {

// DataBlockValueCountMax()
//
// How many values of `Value` fit in one data block.
template <typename Value>
constexpr uint32_t DataBlockValueCountMax(uint32_t block_size_bytes) {
  return static_cast<uint32_t>((block_size_bytes - kBlockHeaderSizeBytes) /
                               sizeof(Value));
}

// DataBlockValues()
//
// The values of a verified data block. The span points into `block`.
template <Schema S>
std::span<const typename S::Value> DataBlockValues(const std::byte* block) {
  using Value = typename S::Value;
  static_assert(alignof(Value) <= kBlockHeaderSizeBytes);
  const BlockHeader header = ReadHeader(block);
  LSMSCAN_ASSERT(header.block_type == BlockType::kData);
  LSMSCAN_ASSERT(header.element_size == sizeof(Value));
  return {reinterpret_cast<const Value*>(block + kBlockHeaderSizeBytes),
          header.count};
}

// DataBlockBuilder<S>
//
// Fills one block frame with values in ascending key order.
template <Schema S>
class DataBlockBuilder {
 public:
  using Value = typename S::Value;

  // Starts a block in `frame` (block_size_bytes, caller-owned).
  void Reset(std::byte* frame, uint32_t block_size_bytes) {
    frame_ = frame;
    block_size_bytes_ = block_size_bytes;
    count_ = 0;
    count_max_ = DataBlockValueCountMax<Value>(block_size_bytes);
    LSMSCAN_ASSERT(count_max_ > 0);
  }

  // Appends `value`. REQUIRES: !full(); key_of(value) > the last key.
  void Add(const Value& value) {
    LSMSCAN_ASSERT(frame_ != nullptr);
    LSMSCAN_ASSERT(count_ < count_max_);
    if (count_ > 0) LSMSCAN_ASSERT(last_key_ < S::key_of(value));
    std::memcpy(frame_ + kBlockHeaderSizeBytes + count_ * sizeof(Value), &value,
                sizeof(Value));
    last_key_ = S::key_of(value);
    if (count_ == 0) first_key_ = last_key_;
    count_++;
  }

  // Writes the header and checksum; returns the checksum.
  // REQUIRES: !empty().
  Checksum128 Seal(BlockAddress address, uint32_t schema_id,
                   uint64_t snapshot_min) {
    LSMSCAN_ASSERT(count_ > 0);
    BlockHeader header;
    header.block_type = BlockType::kData;
    header.address = address;
    header.size_bytes =
        static_cast<uint32_t>(kBlockHeaderSizeBytes + count_ * sizeof(Value));
    header.schema_id = schema_id;
    header.snapshot_min = snapshot_min;
    header.count = count_;
    header.element_size = sizeof(Value);
    std::memcpy(frame_, &header, sizeof(header));
    return SealBlock(frame_, block_size_bytes_);
  }

  bool empty() const { return count_ == 0; }
  bool full() const { return count_ == count_max_; }
  uint32_t count() const { return count_; }
  const typename S::Key& first_key() const { return first_key_; }
  const typename S::Key& last_key() const { return last_key_; }

 private:
  std::byte* frame_ = nullptr;
  uint32_t block_size_bytes_ = 0;
  uint32_t count_ = 0;
  uint32_t count_max_ = 0;
  typename S::Key first_key_{};
  typename S::Key last_key_{};
};

// ValidateDataBlock()
//
// Structural checks of a data block whose checksum has been verified: value
// size, count and size agree. DataLoss otherwise. O(1).
template <Schema S>
absl::Status ValidateDataBlock(const std::byte* block,
                               uint32_t block_size_bytes) {
  using Value = typename S::Value;
  const BlockHeader header = ReadHeader(block);
  if (header.block_type != BlockType::kData) {
    return absl::DataLossError("data block: holds another block type");
  }
  if (header.element_size != sizeof(Value)) {
    return absl::DataLossError("data block: value size differs from schema");
  }
  if (header.count == 0 ||
      header.count > DataBlockValueCountMax<Value>(block_size_bytes) ||
      header.size_bytes !=
          kBlockHeaderSizeBytes + header.count * sizeof(Value)) {
    return absl::DataLossError("data block: count and size disagree");
  }
  return absl::OkStatus();
}

// DataBlockKeysAscend()
//
// True iff the keys strictly ascend (one pass over the keys).
template <Schema S>
bool DataBlockKeysAscend(std::span<const typename S::Value> values) {
  for (size_t i = 1; i < values.size(); i++) {
    if (!(S::key_of(values[i - 1]) < S::key_of(values[i]))) return false;
  }
  return true;
}

// ValidateDataBlockContents()
//
// ValidateDataBlock() and the keys strictly ascending, else DataLoss
// ("data block: keys out of order"): what a block with a valid checksum
// must also be before a reader binary-searches it. O(count), one pass; the
// grid runs it when it verifies a block in full (GridOptions), so once per
// block load, not per value.
template <Schema S>
absl::Status ValidateDataBlockContents(const std::byte* block,
                                       uint32_t block_size_bytes) {
  const absl::Status valid = ValidateDataBlock<S>(block, block_size_bytes);
  if (!valid.ok()) return valid;
  if (!DataBlockKeysAscend<S>(DataBlockValues<S>(block))) {
    return absl::DataLossError("data block: keys out of order");
  }
  return absl::OkStatus();
}

}  // namespace lsmscan

#endif  // LSMSCAN_LSM_DATA_BLOCK_H_
