#include "lsmscan/lsm/superblock.h"

#include <cstring>

#include "absl/strings/str_cat.h"
#include "lsmscan/lsm/block_header.h"
#include "lsmscan/storage/base/assert.h"

namespace lsmscan {
namespace {

template <typename T>
void Put(std::byte* frame, size_t offset, T value) {
  std::memcpy(frame + offset, &value, sizeof(T));
}

template <typename T>
T Get(const std::byte* block, size_t offset) {
  T value;
  std::memcpy(&value, block + offset, sizeof(T));
  return value;
}

// Whether `block` is an intact (checksum-valid) superblock of another format
// version: a file written by another build, not a corrupt one.
bool IsIntactOtherVersion(const std::byte* block, uint32_t block_size_bytes) {
  const BlockHeader header = ReadHeader(block);
  if (header.format_version == kFormatVersion ||
      header.block_type != BlockType::kSuperblock ||
      header.size_bytes < kBlockHeaderSizeBytes ||
      header.size_bytes > block_size_bytes) {
    return false;
  }
  constexpr size_t kChecksumBytes = sizeof(Checksum128);
  return ChecksumBytes(block + kChecksumBytes,
                       header.size_bytes - kChecksumBytes) == header.checksum;
}

}  // namespace

absl::Status ValidateSchemaName(absl::string_view name) {
  if (name.size() > kSchemaNameSizeMax) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the schema name \"", name, "\" is ", name.size(),
        " bytes long; a superblock records at most ", kSchemaNameSizeMax));
  }
  return absl::OkStatus();
}

void EncodeSuperblock(const Superblock& superblock, std::byte* frame,
                      uint32_t block_size_bytes, uint32_t copy) {
  LSMSCAN_ASSERT(copy < kSuperblockCopiesPerCheckpoint);
  const size_t count = superblock.manifest_blocks.size();
  LSMSCAN_ASSERT(count <= SuperblockManifestBlockCountMax(block_size_bytes));
  LSMSCAN_ASSERT(superblock.block_size_bytes == block_size_bytes);
  LSMSCAN_ASSERT(superblock.schema_name.size() <= kSchemaNameSizeMax);
  const size_t size_bytes =
      kSuperblockFixedSizeBytes + count * kSuperblockReferenceSizeBytes;
  std::memset(frame, 0, size_bytes);
  BlockHeader header;
  header.block_type = BlockType::kSuperblock;
  header.address = SuperblockAddress(superblock.sequence, copy);
  header.size_bytes = static_cast<uint32_t>(size_bytes);
  header.schema_id = superblock.schema_id;
  header.snapshot_min = superblock.sequence;
  std::memcpy(frame, &header, sizeof(header));
  Put<uint32_t>(frame, 64, superblock.block_size_bytes);
  Put<uint16_t>(frame, 68, superblock.key_size_bytes);
  Put<uint16_t>(frame, 70, superblock.value_size_bytes);
  Put<uint32_t>(frame, 72, superblock.level_count);
  Put<uint32_t>(frame, 76, static_cast<uint32_t>(count));
  Put<uint64_t>(frame, 80, superblock.op);
  Put<uint64_t>(frame, 88, superblock.sequence);
  Put<uint16_t>(frame, 96,
                static_cast<uint16_t>(superblock.schema_name.size()));
  std::memcpy(frame + 112, superblock.schema_name.data(),
              superblock.schema_name.size());
  for (size_t i = 0; i < count; i++) {
    const size_t offset =
        kSuperblockFixedSizeBytes + i * kSuperblockReferenceSizeBytes;
    Put<uint64_t>(frame, offset, superblock.manifest_blocks[i].address);
    Put<Checksum128>(frame, offset + 16,
                     superblock.manifest_blocks[i].checksum);
  }
  SealBlock(frame, block_size_bytes);
}

absl::StatusOr<Superblock> DecodeSuperblock(const std::byte* block,
                                            uint32_t block_size_bytes,
                                            BlockAddress address) {
  const BlockHeader header = ReadHeader(block);
  if (header.magic != kBlockMagic) {
    return absl::FailedPreconditionError(absl::StrCat(
        "superblock copy ", address, ": not an lsmscan file (no magic)"));
  }
  // Checked before the checksum, whose extent depends on the block size. A
  // corrupt field is not mistaken for another size: it must still be a
  // valid block size (a single flipped bit never leaves a power of two).
  const uint32_t written_block_size = Get<uint32_t>(block, 64);
  StorageOptions written;
  written.block_size_bytes = written_block_size;
  if (header.block_type == BlockType::kSuperblock &&
      written_block_size != block_size_bytes &&
      ValidateStorageOptions(written).ok()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the file was created with block_size_bytes = ", written_block_size,
        ", opened with ", block_size_bytes));
  }
  if (IsIntactOtherVersion(block, block_size_bytes)) {
    return absl::FailedPreconditionError(absl::StrCat(
        "superblock copy ", address, ": the file is in format version ",
        header.format_version, "; this build reads format version ",
        kFormatVersion, " only"));
  }
  BlockExpectation expected;
  expected.address = address;
  expected.type = BlockType::kSuperblock;
  expected.schema_id = header.schema_id;
  const absl::Status verified =
      VerifyBlockSelf(block, block_size_bytes, expected);
  if (!verified.ok()) return verified;
  Superblock superblock;
  superblock.schema_id = header.schema_id;
  superblock.block_size_bytes = written_block_size;
  superblock.key_size_bytes = Get<uint16_t>(block, 68);
  superblock.value_size_bytes = Get<uint16_t>(block, 70);
  superblock.level_count = Get<uint32_t>(block, 72);
  const uint32_t count = Get<uint32_t>(block, 76);
  superblock.op = Get<uint64_t>(block, 80);
  superblock.sequence = Get<uint64_t>(block, 88);
  const uint16_t name_size = Get<uint16_t>(block, 96);
  // A block size field that is not ours is corruption here: a valid other
  // size was reported above.
  if (written_block_size != block_size_bytes ||
      superblock.sequence != header.snapshot_min ||
      !SuperblockHolds(address, superblock.sequence) ||
      count > SuperblockManifestBlockCountMax(block_size_bytes) ||
      name_size > kSchemaNameSizeMax ||
      header.size_bytes !=
          kSuperblockFixedSizeBytes + count * kSuperblockReferenceSizeBytes) {
    return absl::DataLossError(absl::StrCat(
        "superblock copy ", address, ": fields disagree with each other"));
  }
  superblock.schema_name.assign(reinterpret_cast<const char*>(block + 112),
                                name_size);
  superblock.manifest_blocks.resize(count);
  for (uint32_t i = 0; i < count; i++) {
    const size_t offset =
        kSuperblockFixedSizeBytes + i * kSuperblockReferenceSizeBytes;
    superblock.manifest_blocks[i].address = Get<uint64_t>(block, offset);
    superblock.manifest_blocks[i].checksum =
        Get<Checksum128>(block, offset + 16);
  }
  return superblock;
}

absl::StatusOr<Superblock> ChooseSuperblock(
    std::span<const absl::StatusOr<Superblock>, kSuperblockCopyCount> copies) {
  const absl::StatusOr<Superblock>* best = nullptr;
  for (uint32_t i = 0; i < kSuperblockCopyCount; i++) {
    if (!copies[i].ok()) continue;
    if (best == nullptr || (*best)->sequence < copies[i]->sequence) {
      best = &copies[i];
    }
  }
  if (best != nullptr) return **best;
  // Prefer the error that explains the most: a block size mismatch, then
  // corruption (an lsmscan file, damaged), then "not an lsmscan file".
  for (absl::StatusCode code :
       {absl::StatusCode::kInvalidArgument, absl::StatusCode::kDataLoss}) {
    for (uint32_t i = 0; i < kSuperblockCopyCount; i++) {
      if (copies[i].status().code() == code) return copies[i].status();
    }
  }
  return copies[0].status();
}

}  // namespace lsmscan
