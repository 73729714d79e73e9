// File: lsm/superblock.h
// -----------------------------------------------------------------------------
//
// The superblock: the root of a checkpoint. Four copies live at blocks 0-3,
// in two slots of two: the checkpoint with sequence s writes both copies of
// slot s % 2 (blocks s % 2 and s % 2 + 2), and counts only once both are
// written and synced. The other slot holds the previous checkpoint, intact
// whatever a crash does to these writes; and a checkpoint that counted
// survives the loss of any one copy. Open picks the valid copy with the
// highest sequence number (tree_recovery.h) and rewrites a copy of its slot
// that does not hold it. The layout of a copy, after the 64-byte block
// header (block_type = superblock, address = the copy's block, snapshot_min
// = sequence), is:
//
//   offset  size   field
//   64      4      block_size_bytes
//   68      2      key_size_bytes
//   70      2      value_size_bytes
//   72      4      level_count
//   76      4      manifest_block_count (n)
//   80      8      op                the tree's op at the checkpoint
//   88      8      sequence
//   96      2      schema_name_size_bytes (at most kSchemaNameSizeMax)
//   98      14     reserved (zero)
//   112     64     schema_name       the schema's kName, zero-padded
//   176     32*n   manifest blocks: { u64 address, u64 reserved, u128 checksum
//   }

#ifndef LSMSCAN_LSM_SUPERBLOCK_H_
#define LSMSCAN_LSM_SUPERBLOCK_H_

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "lsmscan/lsm/checksum.h"
#include "lsmscan/storage/storage.h"

namespace lsmscan {

// Superblock copies: blocks [0, kSuperblockCopyCount), never used otherwise.
inline constexpr uint32_t kSuperblockCopyCount = 4;
// Copies written per checkpoint (its slot), so that it survives the loss of
// one; the slots alternate between checkpoints.
inline constexpr uint32_t kSuperblockCopiesPerCheckpoint = 2;
inline constexpr uint32_t kSuperblockSlotCount =
    kSuperblockCopyCount / kSuperblockCopiesPerCheckpoint;
inline constexpr size_t kSuperblockFixedSizeBytes = 176;
inline constexpr size_t kSuperblockReferenceSizeBytes = 32;
// The longest schema name (Schema::kName) a superblock records, in bytes.
inline constexpr size_t kSchemaNameSizeMax = 64;

// BlockReference
//
// Where a child block is, and the checksum it must have.
struct BlockReference {
  BlockAddress address = 0;
  Checksum128 checksum;
  friend bool operator==(const BlockReference&,
                         const BlockReference&) = default;
};

// Superblock
//
// The decoded contents of one superblock copy.
struct Superblock {
  uint64_t sequence = 0;
  uint64_t op = 0;
  uint32_t block_size_bytes = 0;
  uint32_t schema_id = 0;
  uint16_t key_size_bytes = 0;
  uint16_t value_size_bytes = 0;
  uint32_t level_count = 0;
  // The schema's name (S::kName), so a reader that does not know the schema
  // can still name it. At most kSchemaNameSizeMax bytes.
  std::string schema_name;
  std::vector<BlockReference> manifest_blocks;
};

// ValidateSchemaName()
//
// InvalidArgument if `name` does not fit a superblock (more than
// kSchemaNameSizeMax bytes), else OK.
absl::Status ValidateSchemaName(absl::string_view name);

// SuperblockManifestBlockCountMax()
//
// How many manifest blocks one superblock can reference.
constexpr size_t SuperblockManifestBlockCountMax(uint32_t block_size_bytes) {
  return (block_size_bytes - kSuperblockFixedSizeBytes) /
         kSuperblockReferenceSizeBytes;
}

// SuperblockAddress()
//
// Copy `copy` (0 or 1) of the checkpoint with `sequence`: block
// sequence % 2, and block sequence % 2 + 2.
constexpr BlockAddress SuperblockAddress(uint64_t sequence, uint32_t copy = 0) {
  return sequence % kSuperblockSlotCount +
         BlockAddress{copy} * kSuperblockSlotCount;
}

// SuperblockHolds()
//
// Whether the copy at `address` may hold the checkpoint with `sequence`.
constexpr bool SuperblockHolds(BlockAddress address, uint64_t sequence) {
  return address < kSuperblockCopyCount &&
         address % kSuperblockSlotCount == sequence % kSuperblockSlotCount;
}

// EncodeSuperblock()
//
// Writes `superblock` into `frame` (block_size_bytes) as the sealed block
// for copy `copy` of its checkpoint, SuperblockAddress(sequence, copy).
// REQUIRES: the manifest references fit; ValidateSchemaName() is OK;
// copy < kSuperblockCopiesPerCheckpoint.
void EncodeSuperblock(const Superblock& superblock, std::byte* frame,
                      uint32_t block_size_bytes, uint32_t copy = 0);

// DecodeSuperblock()
//
// Verifies and decodes one copy read from `address`. Errors:
// FailedPrecondition "not an lsmscan file" (no magic) or "format version"
// (an intact superblock of another format version: the message names it),
// DataLoss (checksum or fields corrupt), InvalidArgument (written with
// another block size: the message names it).
absl::StatusOr<Superblock> DecodeSuperblock(const std::byte* block,
                                            uint32_t block_size_bytes,
                                            BlockAddress address);

// ChooseSuperblock()
//
// Given the decode results of every copy (index = address), the newest
// valid one; if none is valid, the most telling error (another block size
// or a foreign file over plain corruption).
absl::StatusOr<Superblock> ChooseSuperblock(
    std::span<const absl::StatusOr<Superblock>, kSuperblockCopyCount> copies);

}  // namespace lsmscan

#endif  // LSMSCAN_LSM_SUPERBLOCK_H_
