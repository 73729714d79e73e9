#include "lsmscan/lsm/block_header.h"

#include <cstring>

#include "absl/strings/str_cat.h"
#include "lsmscan/storage/base/assert.h"

namespace lsmscan {

const char* BlockTypeName(BlockType type) {
  switch (type) {
    case BlockType::kSuperblock:
      return "superblock";
    case BlockType::kManifest:
      return "manifest";
    case BlockType::kIndex:
      return "index";
    case BlockType::kData:
      return "data";
  }
  return "unknown";
}

Checksum128 SealBlock(std::byte* block, uint32_t block_size_bytes) {
  BlockHeader header = ReadHeader(block);
  LSMSCAN_ASSERT(header.magic == kBlockMagic);
  LSMSCAN_ASSERT(header.size_bytes >= kBlockHeaderSizeBytes);
  LSMSCAN_ASSERT(header.size_bytes <= block_size_bytes);
  std::memset(block + header.size_bytes, 0,
              block_size_bytes - header.size_bytes);
  constexpr size_t kChecksumBytes = sizeof(Checksum128);
  header.checksum =
      ChecksumBytes(block + kChecksumBytes, header.size_bytes - kChecksumBytes);
  std::memcpy(block, &header.checksum, kChecksumBytes);
  return header.checksum;
}

namespace {

absl::Status Corrupt(const BlockExpectation& expected, absl::string_view what) {
  return absl::DataLossError(absl::StrCat(
      BlockTypeName(expected.type), " block ", expected.address, ": ", what));
}

absl::Status VerifyFields(const BlockHeader& header, uint32_t block_size_bytes,
                          const BlockExpectation& expected) {
  if (header.magic != kBlockMagic) return Corrupt(expected, "bad magic");
  if (header.format_version != kFormatVersion) {
    return Corrupt(expected,
                   absl::StrCat("format version ", header.format_version,
                                ", this build reads ", kFormatVersion));
  }
  if (header.block_type != expected.type) {
    return Corrupt(
        expected,
        absl::StrCat("holds a ", BlockTypeName(header.block_type), " block"));
  }
  if (header.address != expected.address) {
    return Corrupt(expected, absl::StrCat("claims address ", header.address,
                                          " (misdirected write?)"));
  }
  if (header.size_bytes < kBlockHeaderSizeBytes ||
      header.size_bytes > block_size_bytes) {
    return Corrupt(expected, absl::StrCat("bad size ", header.size_bytes));
  }
  if (header.schema_id != expected.schema_id) {
    return Corrupt(expected, "written with another schema");
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status VerifyBlockSelf(const std::byte* block, uint32_t block_size_bytes,
                             const BlockExpectation& expected) {
  const BlockHeader header = ReadHeader(block);
  // The size bounds the checksummed bytes, so it is checked first; then the
  // checksum, before any other field: a bad field in a block whose checksum
  // is also bad is reported as plain corruption.
  if (header.size_bytes < kBlockHeaderSizeBytes ||
      header.size_bytes > block_size_bytes) {
    return Corrupt(expected, absl::StrCat("bad size ", header.size_bytes));
  }
  constexpr size_t kChecksumBytes = sizeof(Checksum128);
  const Checksum128 actual =
      ChecksumBytes(block + kChecksumBytes, header.size_bytes - kChecksumBytes);
  if (actual != header.checksum) return Corrupt(expected, "checksum mismatch");
  return VerifyFields(header, block_size_bytes, expected);
}

absl::Status VerifyBlock(const std::byte* block, uint32_t block_size_bytes,
                         const BlockExpectation& expected) {
  const BlockHeader header = ReadHeader(block);
  if (header.checksum != expected.checksum) {
    return Corrupt(expected, "checksum differs from the parent's reference");
  }
  return VerifyBlockSelf(block, block_size_bytes, expected);
}

uint32_t SchemaId(absl::string_view name, size_t key_size_bytes,
                  size_t value_size_bytes) {
  const std::string identity =
      absl::StrCat(name, "/", key_size_bytes, "/", value_size_bytes);
  return static_cast<uint32_t>(
      ChecksumBytes(identity.data(), identity.size()).low);
}

}  // namespace lsmscan
