// File: tools/fuzz/superblock_fuzz.cc
// -----------------------------------------------------------------------------
//
// Fuzz target: the superblock. DecodeSuperblock() on every copy, then
// ChooseSuperblock(), as Tree::Open does.
//
// Input: [mode (1 byte) | copy 0 | copy 1 | copy 2 | copy 3], each copy
// framed as in fuzz_util.h (2-byte length, then its first bytes; the rest is
// zero; a copy past the input's end is all zeros), in heap buffers of
// exactly one block. Mode:
//
//   bit 0-3   seal copy 0-3 (when magic and size allow it)
//   bit 4     open with 8 KiB blocks instead of 4 KiB
//
// Checked: nothing reads past a copy; errors are only FailedPrecondition
// (no magic, or another format version), InvalidArgument (another valid block
// size) or DataLoss; a decoded copy is consistent (its sequence picks its
// slot, its manifest references fit, its block size is the one opened with);
// the choice is the newest decoded copy, or the most telling error; and the
// chosen superblock encodes and decodes back to itself.

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "lsmscan/lsm/block_header.h"
#include "lsmscan/lsm/superblock.h"
#include "lsmscan/storage/storage.h"
#include "lsmscan/tools/fuzz/fuzz_util.h"

namespace lsmscan {
namespace fuzz {
namespace {

bool SameSuperblock(const Superblock& a, const Superblock& b) {
  return a.sequence == b.sequence && a.op == b.op &&
         a.block_size_bytes == b.block_size_bytes &&
         a.schema_id == b.schema_id && a.key_size_bytes == b.key_size_bytes &&
         a.value_size_bytes == b.value_size_bytes &&
         a.level_count == b.level_count && a.schema_name == b.schema_name &&
         a.manifest_blocks == b.manifest_blocks;
}

void CheckCopy(const absl::StatusOr<Superblock>& copy, const std::byte* block,
               uint32_t block_size, BlockAddress address) {
  const BlockHeader header = ReadHeader(block);
  if (!copy.ok()) {
    const absl::Status& status = copy.status();
    const bool known = absl::IsFailedPrecondition(status) ||
                       absl::IsInvalidArgument(status) ||
                       absl::IsDataLoss(status);
    FUZZ_CHECK(known, absl::StrCat("copy ", address, ": unexpected error ",
                                   status.ToString()));
    if (absl::IsFailedPrecondition(status)) {
      // No magic, or an intact superblock of another format version.
      FUZZ_CHECK(header.magic != kBlockMagic ||
                     header.format_version != kFormatVersion,
                 "FailedPrecondition for a block of this format version");
    }
    return;
  }
  const Superblock& superblock = *copy;
  FUZZ_CHECK(header.magic == kBlockMagic, "decoded without the magic");
  FUZZ_CHECK(
      SuperblockHolds(address, superblock.sequence),
      absl::StrCat("copy ", address, " holds sequence ", superblock.sequence));
  FUZZ_CHECK(superblock.manifest_blocks.size() <=
                 SuperblockManifestBlockCountMax(block_size),
             "more manifest references than fit");
  FUZZ_CHECK(kSuperblockFixedSizeBytes + superblock.manifest_blocks.size() *
                                             kSuperblockReferenceSizeBytes ==
                 header.size_bytes,
             "references past the block's used bytes");
  FUZZ_CHECK(superblock.schema_name.size() <= kSchemaNameSizeMax,
             "a schema name longer than a superblock records");
  FUZZ_CHECK(
      superblock.block_size_bytes == block_size,
      absl::StrCat("copy ", address, " decoded with block_size_bytes ",
                   superblock.block_size_bytes, ", opened with ", block_size));
}

void CheckChoice(
    std::span<const absl::StatusOr<Superblock>, kSuperblockCopyCount> copies,
    const absl::StatusOr<Superblock>& chosen, uint32_t block_size) {
  const absl::StatusOr<Superblock>* newest = nullptr;
  for (uint32_t i = 0; i < kSuperblockCopyCount; i++) {
    if (copies[i].ok() &&
        (newest == nullptr || (*newest)->sequence < copies[i]->sequence)) {
      newest = &copies[i];
    }
  }
  if (newest != nullptr) {
    FUZZ_CHECK(chosen.ok() && SameSuperblock(*chosen, **newest),
               "the choice is not the newest valid copy");
  } else {
    FUZZ_CHECK(!chosen.ok(), "chose a superblock with no valid copy");
    bool from_a_copy = false;
    for (uint32_t i = 0; i < kSuperblockCopyCount; i++) {
      if (copies[i].status() == chosen.status()) from_a_copy = true;
      // A block size mismatch explains more than corruption, which
      // explains more than a foreign file.
      if (absl::IsInvalidArgument(copies[i].status())) {
        FUZZ_CHECK(absl::IsInvalidArgument(chosen.status()),
                   "a block size mismatch was not reported");
      }
      if (absl::IsDataLoss(copies[i].status())) {
        FUZZ_CHECK(!absl::IsFailedPrecondition(chosen.status()),
                   "corruption reported as a foreign file");
      }
    }
    FUZZ_CHECK(from_a_copy, "the error is not one of the copies' errors");
    return;
  }

  // The chosen superblock encodes and decodes back to itself.
  const Superblock& superblock = *chosen;
  HeapBlock encoded(block_size);
  EncodeSuperblock(superblock, encoded.data(), block_size);
  const absl::StatusOr<Superblock> again = DecodeSuperblock(
      encoded.data(), block_size, SuperblockAddress(superblock.sequence));
  FUZZ_CHECK(again.ok(),
             absl::StrCat("re-decoding failed: ", again.status().ToString()));
  FUZZ_CHECK(SameSuperblock(*again, superblock),
             "the superblock changed in an encode/decode round");
}

// Runs one input (see the file comment).
int Run(const uint8_t* data, size_t size) {
  FuzzInput input(data, size);
  const uint8_t mode = input.Byte();
  const uint32_t block_size = (mode & 16) ? 8192 : 4096;
  std::vector<HeapBlock> blocks;
  absl::StatusOr<Superblock> copies[kSuperblockCopyCount];
  for (uint32_t i = 0; i < kSuperblockCopyCount; i++) {
    blocks.emplace_back(block_size);
    std::byte* block = blocks.back().data();
    ReadFramedBlock(&input, block, block_size);
    const BlockHeader header = ReadHeader(block);
    if ((mode & (1 << i)) && header.magic == kBlockMagic &&
        header.size_bytes >= kBlockHeaderSizeBytes &&
        header.size_bytes <= block_size) {
      SealBlock(block, block_size);
    }
    copies[i] = DecodeSuperblock(block, block_size, i);
    CheckCopy(copies[i], block, block_size, i);
  }
  const absl::StatusOr<Superblock> chosen = ChooseSuperblock(copies);
  CheckChoice(copies, chosen, block_size);
  return 0;
}

}  // namespace
}  // namespace fuzz
}  // namespace lsmscan

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return lsmscan::fuzz::Run(data, size);
}
