// File: lsm/block_header.h
// -----------------------------------------------------------------------------
//
// The 64-byte header at the start of every block lsmscan writes, and the
// checks a block must pass before any layer reads its body. The layout is
// specified byte by byte in doc/format.md; this file is its code twin.
//
//   offset  size  field
//   0       16    checksum        XXH3-128 of bytes [16, size_bytes)
//   16      4     magic           "LSMB" (0x424D534C little-endian)
//   20      2     format_version  kFormatVersion
//   22      1     block_type      BlockType
//   23      1     reserved        zero
//   24      8     address         the block's own address
//   32      4     size_bytes      header + used body, <= block_size_bytes
//   36      4     schema_id       SchemaId() of the tree's schema
//   40      8     snapshot_min    superblock: its sequence number;
//                                 data/index: the tree's op when the block
//                                 was written (informational, not checked)
//   48      4     count           data: values; index: data blocks;
//                                 manifest: tables
//   52      2     element_size    data: value size; index: key size;
//                                 manifest: entry size
//   54      2     level           index: the level the table was written
//                                 for (informational: a table moved down a
//                                 level keeps it); else zero
//   56      8     reserved        zero

#ifndef LSMSCAN_LSM_BLOCK_HEADER_H_
#define LSMSCAN_LSM_BLOCK_HEADER_H_

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "lsmscan/lsm/checksum.h"
#include "lsmscan/storage/storage.h"

namespace lsmscan {

static_assert(std::endian::native == std::endian::little,
              "lsmscan's on-disk format is little-endian; so must the host be");

inline constexpr uint32_t kBlockMagic = 0x424D534C;  // "LSMB"
// The version of every layout in doc/format.md; a change to any of them
// needs a new version. 2: the superblock records the schema's name. 3: the
// record schemas keep their tombstone flag in a byte of its own. 4: manifest
// entries record each table's tombstone count. 5: four superblock copies,
// two per checkpoint.
inline constexpr uint16_t kFormatVersion = 5;

// BlockType
//
// On disk. Do not renumber: files written by earlier builds use these values.
enum class BlockType : uint8_t {
  kSuperblock = 1,
  kManifest = 2,
  kIndex = 3,
  kData = 4,
};

// BlockTypeName()
//
// "superblock", "manifest", "index", "data", or "unknown".
const char* BlockTypeName(BlockType type);

// BlockHeader
//
// The header's in-memory image (identical to the bytes on disk).
struct BlockHeader {
  Checksum128 checksum;
  uint32_t magic = kBlockMagic;
  uint16_t format_version = kFormatVersion;
  BlockType block_type = BlockType::kData;
  uint8_t reserved_0 = 0;
  uint64_t address = 0;
  uint32_t size_bytes = 0;
  uint32_t schema_id = 0;
  uint64_t snapshot_min = 0;
  uint32_t count = 0;
  uint16_t element_size = 0;
  uint16_t level = 0;
  uint64_t reserved_1 = 0;
};
static_assert(sizeof(BlockHeader) == 64);
static_assert(offsetof(BlockHeader, magic) == 16);
static_assert(offsetof(BlockHeader, block_type) == 22);
static_assert(offsetof(BlockHeader, address) == 24);
static_assert(offsetof(BlockHeader, size_bytes) == 32);
static_assert(offsetof(BlockHeader, schema_id) == 36);
static_assert(offsetof(BlockHeader, snapshot_min) == 40);
static_assert(offsetof(BlockHeader, count) == 48);
static_assert(offsetof(BlockHeader, element_size) == 52);
static_assert(offsetof(BlockHeader, level) == 54);
static_assert(std::has_unique_object_representations_v<BlockHeader>);

inline constexpr size_t kBlockHeaderSizeBytes = sizeof(BlockHeader);

// ReadHeader()
//
// Copies the header out of a block's first bytes.
inline BlockHeader ReadHeader(const std::byte* block) {
  BlockHeader header;
  std::memcpy(&header, block, sizeof(header));
  return header;
}

// SealBlock()
//
// Completes a block whose header fields (all but `checksum`) and body are
// written: zeroes the padding after `size_bytes`, computes the checksum and
// stores it. Returns the checksum, which the block's parent records.
Checksum128 SealBlock(std::byte* block, uint32_t block_size_bytes);

// BlockExpectation
//
// What the reader of a block knows about it before reading.
struct BlockExpectation {
  BlockAddress address = 0;
  Checksum128 checksum;
  BlockType type = BlockType::kData;
  uint32_t schema_id = 0;
};

// VerifyBlock()
//
// Checks a block read from storage, in this order: its header checksum
// equals `expected.checksum` (the parent's reference); its size is sane;
// the checksum over its bytes matches; then magic, version, type, address,
// size and schema. Returns DataLoss naming the first failed check.
absl::Status VerifyBlock(const std::byte* block, uint32_t block_size_bytes,
                         const BlockExpectation& expected);

// VerifyBlockSelf()
//
// As VerifyBlock(), without a parent's checksum to compare against (for
// superblocks, which have no parent). `expected.checksum` is ignored.
absl::Status VerifyBlockSelf(const std::byte* block, uint32_t block_size_bytes,
                             const BlockExpectation& expected);

// SchemaId()
//
// A 32-bit fingerprint of a schema's name and sizes, stored in every block.
uint32_t SchemaId(absl::string_view name, size_t key_size_bytes,
                  size_t value_size_bytes);

}  // namespace lsmscan

#endif  // LSMSCAN_LSM_BLOCK_HEADER_H_
