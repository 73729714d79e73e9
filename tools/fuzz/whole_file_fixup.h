// File: tools/fuzz/whole_file_fixup.h
// -----------------------------------------------------------------------------
//
// Re-sealing a fuzzed whole file bottom-up (data, index, manifest,
// superblock blocks), patching each parent's reference to its children's new
// checksums, so mutated structure gets past the checksums. Shared by the
// whole_file and lsmscan_tool targets. A checksum-valid data block is
// trusted to be sorted (the writer's invariant, checked only in the
// expensive assertion tier), so unsorted data blocks are never re-sealed.

#ifndef LSMSCAN_TOOLS_FUZZ_WHOLE_FILE_FIXUP_H_
#define LSMSCAN_TOOLS_FUZZ_WHOLE_FILE_FIXUP_H_

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>

#include "lsmscan/lsm/block_header.h"
#include "lsmscan/lsm/checksum.h"
#include "lsmscan/lsm/data_block.h"
#include "lsmscan/lsm/index_block.h"
#include "lsmscan/lsm/manifest_codec.h"
#include "lsmscan/lsm/schema.h"
#include "lsmscan/lsm/superblock.h"
#include "lsmscan/tools/fuzz/whole_file_options.h"

namespace lsmscan {
namespace fuzz {

// Whether `block` has the magic and a size SealBlock() accepts.
inline bool Sealable(const std::byte* block) {
  constexpr uint32_t kBlockSize = kWholeFileBlockSize;
  const BlockHeader header = ReadHeader(block);
  return header.magic == kBlockMagic &&
         header.size_bytes >= kBlockHeaderSizeBytes &&
         header.size_bytes <= kBlockSize;
}

namespace whole_file_fixup_internal {

using S = Record32Schema;
using Key = S::Key;
inline constexpr uint32_t kBlockSize = kWholeFileBlockSize;

// Points one reference (an address at `address_at`, a checksum at
// `checksum_at`) at the current checksum of the block it names, if that
// block is in the file.
inline void Repoint(std::span<std::byte*> blocks, const std::byte* address_at,
                    std::byte* checksum_at) {
  uint64_t address;
  std::memcpy(&address, address_at, sizeof(address));
  if (address >= blocks.size()) return;
  const Checksum128 checksum = ReadHeader(blocks[address]).checksum;
  std::memcpy(checksum_at, &checksum, sizeof(checksum));
}

// Data blocks: only the sorted ones.
inline void ResealDataBlocks(std::span<std::byte*> blocks) {
  for (std::byte* block : blocks) {
    if (!Sealable(block) || ReadHeader(block).block_type != BlockType::kData) {
      continue;
    }
    if (!ValidateDataBlock<S>(block, kBlockSize).ok()) continue;
    if (!DataBlockKeysAscend<S>(DataBlockValues<S>(block))) continue;
    SealBlock(block, kBlockSize);
  }
}

// Index blocks: point at the data blocks' new checksums.
inline void ResealIndexBlocks(std::span<std::byte*> blocks) {
  for (std::byte* block : blocks) {
    const BlockHeader header = ReadHeader(block);
    if (!Sealable(block) || header.block_type != BlockType::kIndex) continue;
    if (header.element_size == sizeof(Key) &&
        header.count <= IndexBlockEntryCountMax(kBlockSize, sizeof(Key))) {
      const IndexBlockLayout layout =
          IndexBlockLayout::For(header.count, sizeof(Key));
      if (layout.size_bytes <= header.size_bytes) {
        for (uint32_t i = 0; i < header.count; i++) {
          Repoint(blocks,
                  block + layout.addresses_offset + i * sizeof(uint64_t),
                  block + layout.checksums_offset + i * sizeof(Checksum128));
        }
      }
    }
    SealBlock(block, kBlockSize);
  }
}

// Manifest blocks: point at the index blocks' new checksums.
inline void ResealManifestBlocks(std::span<std::byte*> blocks) {
  constexpr size_t kEntry = ManifestEntrySizeBytes<Key>();
  for (std::byte* block : blocks) {
    const BlockHeader header = ReadHeader(block);
    if (!Sealable(block) || header.block_type != BlockType::kManifest) continue;
    if (header.element_size == kEntry &&
        kBlockHeaderSizeBytes + size_t{header.count} * kEntry <=
            header.size_bytes) {
      for (uint32_t i = 0; i < header.count; i++) {
        std::byte* entry = block + kBlockHeaderSizeBytes + i * kEntry;
        Repoint(blocks, entry + 24, entry + 32);
      }
    }
    SealBlock(block, kBlockSize);
  }
}

// Superblocks: point at the manifest blocks' new checksums.
inline void ResealSuperblocks(std::span<std::byte*> blocks) {
  const size_t count = std::min<size_t>(blocks.size(), kSuperblockCopyCount);
  for (size_t copy = 0; copy < count; copy++) {
    std::byte* block = blocks[copy];
    const BlockHeader header = ReadHeader(block);
    if (!Sealable(block) || header.block_type != BlockType::kSuperblock) {
      continue;
    }
    for (size_t offset = kSuperblockFixedSizeBytes;
         offset + kSuperblockReferenceSizeBytes <= header.size_bytes;
         offset += kSuperblockReferenceSizeBytes) {
      Repoint(blocks, block + offset, block + offset + 16);
    }
    SealBlock(block, kBlockSize);
  }
}

}  // namespace whole_file_fixup_internal

// FixUpChecksums()
//
// Re-seals `blocks` (kWholeFileBlockSize bytes each, of a Record32Schema
// tree) bottom-up; see the file comment.
inline void FixUpChecksums(std::span<std::byte*> blocks) {
  whole_file_fixup_internal::ResealDataBlocks(blocks);
  whole_file_fixup_internal::ResealIndexBlocks(blocks);
  whole_file_fixup_internal::ResealManifestBlocks(blocks);
  whole_file_fixup_internal::ResealSuperblocks(blocks);
}

}  // namespace fuzz
}  // namespace lsmscan

#endif  // LSMSCAN_TOOLS_FUZZ_WHOLE_FILE_FIXUP_H_
