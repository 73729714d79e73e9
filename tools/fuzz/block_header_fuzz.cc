// File: tools/fuzz/block_header_fuzz.cc
// -----------------------------------------------------------------------------
//
// Fuzz target: block header verification, VerifyBlock() and
// VerifyBlockSelf(), on arbitrary bytes.
//
// Input: [mode (1 byte) | block bytes]. The block is the rest of the input,
// in a heap buffer of exactly its size (which is also the block size the
// verifier is told), so a read past it is an AddressSanitizer report. Mode:
//
//   bit 0     seal the block first (if its magic and size allow it), so the
//             checksum passes and the field checks are what runs
//   bits 1-5  expect another address, type, schema, reference checksum,
//             or format version than the header's (a mismatch each)
//
// Checked: the verifiers never read outside the block; a failure is always
// DataLoss; an OK result means every field matches and the checksum is
// right; VerifyBlock() is VerifyBlockSelf() plus the reference checksum; and
// a sealed block with matching expectations always verifies.

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "lsmscan/lsm/block_header.h"
#include "lsmscan/lsm/checksum.h"
#include "lsmscan/tools/fuzz/fuzz_util.h"

namespace lsmscan {
namespace fuzz {
namespace {

constexpr size_t kBlockSizeMax = size_t{1} << 16;

void CheckVerifiedBlock(const BlockHeader& header, const std::byte* block,
                        uint32_t block_size, const BlockExpectation& expected) {
  FUZZ_CHECK(header.magic == kBlockMagic, "verified without the magic");
  FUZZ_CHECK(header.format_version == kFormatVersion,
             "verified another format version");
  FUZZ_CHECK(header.block_type == expected.type, "verified another type");
  FUZZ_CHECK(header.address == expected.address, "verified another address");
  FUZZ_CHECK(header.schema_id == expected.schema_id, "verified another schema");
  FUZZ_CHECK(header.size_bytes >= kBlockHeaderSizeBytes &&
                 header.size_bytes <= block_size,
             "verified a bad size");
  const Checksum128 actual = ChecksumBytes(
      block + sizeof(Checksum128), header.size_bytes - sizeof(Checksum128));
  FUZZ_CHECK(actual == header.checksum, "verified a wrong checksum");
}

// Runs one input (see the file comment).
int Run(const uint8_t* data, size_t size) {
  if (size < 1 + kBlockHeaderSizeBytes) return 0;
  const uint8_t mode = data[0];
  const size_t block_size = std::min(size - 1, kBlockSizeMax);
  HeapBlock block(block_size);
  std::memcpy(block.data(), data + 1, block_size);
  const auto block_size32 = static_cast<uint32_t>(block_size);

  BlockHeader header = ReadHeader(block.data());
  const bool sealable = header.magic == kBlockMagic &&
                        header.size_bytes >= kBlockHeaderSizeBytes &&
                        header.size_bytes <= block_size;
  const bool sealed = (mode & 1) != 0 && sealable;
  if (sealed) {
    const Checksum128 checksum = SealBlock(block.data(), block_size32);
    header = ReadHeader(block.data());
    FUZZ_CHECK(checksum == header.checksum, "SealBlock() returned another sum");
  }

  BlockExpectation expected;
  expected.address = header.address + ((mode & 2) ? 1 : 0);
  expected.type = static_cast<BlockType>(
      static_cast<uint8_t>(header.block_type) + ((mode & 4) ? 1 : 0));
  expected.schema_id = header.schema_id + ((mode & 8) ? 1 : 0);
  expected.checksum = header.checksum;
  if (mode & 16) expected.checksum.low ^= 1;
  const bool other_version = (mode & 32) != 0;
  if (other_version && sealed) {
    // Rewrite the version and seal again: a well-formed block of a format
    // this build does not read.
    const uint16_t version = header.format_version + 1;
    std::memcpy(block.data() + offsetof(BlockHeader, format_version), &version,
                sizeof(version));
    SealBlock(block.data(), block_size32);
    header = ReadHeader(block.data());
    expected.checksum = header.checksum;
    if (mode & 16) expected.checksum.low ^= 1;
  }

  const absl::Status self =
      VerifyBlockSelf(block.data(), block_size32, expected);
  const absl::Status full = VerifyBlock(block.data(), block_size32, expected);
  FUZZ_CHECK(
      self.ok() || absl::IsDataLoss(self),
      absl::StrCat("VerifyBlockSelf(): not DataLoss: ", self.ToString()));
  FUZZ_CHECK(full.ok() || absl::IsDataLoss(full),
             absl::StrCat("VerifyBlock(): not DataLoss: ", full.ToString()));
  if (self.ok()) {
    CheckVerifiedBlock(header, block.data(), block_size32, expected);
  }
  const bool reference_matches = header.checksum == expected.checksum;
  FUZZ_CHECK(full.ok() == (self.ok() && reference_matches),
             "VerifyBlock() disagrees with VerifyBlockSelf() + the reference");
  const bool everything_matches = sealed && (mode & (2 | 4 | 8 | 32)) == 0 &&
                                  header.format_version == kFormatVersion;
  if (everything_matches) {
    FUZZ_CHECK(self.ok(), absl::StrCat("a sealed block with matching fields "
                                       "failed: ",
                                       self.ToString()));
  }

  // The helpers that format messages and identities take any input.
  FUZZ_CHECK(BlockTypeName(header.block_type) != nullptr, "no type name");
  const std::string name(reinterpret_cast<const char*>(data),
                         std::min<size_t>(size, 64));
  FUZZ_CHECK(
      SchemaId(name, size, block_size) == SchemaId(name, size, block_size),
      "SchemaId() is not a function of its arguments");
  return 0;
}

}  // namespace
}  // namespace fuzz
}  // namespace lsmscan

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return lsmscan::fuzz::Run(data, size);
}
