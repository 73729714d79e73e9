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

// FixUpChecksums()
//
// Re-seals `blocks` (kWholeFileBlockSize bytes each, of a Record32Schema
// tree) bottom-up; see the file comment.
inline void FixUpChecksums(std::span<std::byte*> blocks) {
  using S = Record32Schema;
  using Key = S::Key;
  constexpr uint32_t kBlockSize = kWholeFileBlockSize;
  const size_t count = blocks.size();
  auto checksum_of = [&](uint64_t address, Checksum128* out) {
    if (address >= count) return;
    *out = ReadHeader(blocks[address]).checksum;
  };
  // Data blocks: only the sorted ones.
  for (std::byte* block : blocks) {
    if (!Sealable(block) || ReadHeader(block).block_type != BlockType::kData) {
      continue;
    }
    if (!ValidateDataBlock<S>(block, kBlockSize).ok()) continue;
    if (!DataBlockKeysAscend<S>(DataBlockValues<S>(block))) continue;
    SealBlock(block, kBlockSize);
  }
  // Index blocks: point at the data blocks' new checksums.
  for (std::byte* block : blocks) {
    const BlockHeader header = ReadHeader(block);
    if (!Sealable(block) || header.block_type != BlockType::kIndex) continue;
    if (header.element_size == sizeof(Key) &&
        header.count <= IndexBlockEntryCountMax(kBlockSize, sizeof(Key))) {
      const IndexBlockLayout layout =
          IndexBlockLayout::For(header.count, sizeof(Key));
      if (layout.size_bytes <= header.size_bytes) {
        for (uint32_t i = 0; i < header.count; i++) {
          uint64_t address;
          std::memcpy(&address,
                      block + layout.addresses_offset + i * sizeof(address),
                      sizeof(address));
          Checksum128 checksum;
          std::byte* slot =
              block + layout.checksums_offset + i * sizeof(checksum);
          std::memcpy(&checksum, slot, sizeof(checksum));
          checksum_of(address, &checksum);
          std::memcpy(slot, &checksum, sizeof(checksum));
        }
      }
    }
    SealBlock(block, kBlockSize);
  }
  // Manifest blocks: point at the index blocks' new checksums.
  constexpr size_t kEntry = ManifestEntrySizeBytes<Key>();
  for (std::byte* block : blocks) {
    const BlockHeader header = ReadHeader(block);
    if (!Sealable(block) || header.block_type != BlockType::kManifest) continue;
    if (header.element_size == kEntry &&
        kBlockHeaderSizeBytes + size_t{header.count} * kEntry <=
            header.size_bytes) {
      for (uint32_t i = 0; i < header.count; i++) {
        std::byte* entry = block + kBlockHeaderSizeBytes + i * kEntry;
        uint64_t address;
        std::memcpy(&address, entry + 24, sizeof(address));
        Checksum128 checksum;
        std::memcpy(&checksum, entry + 32, sizeof(checksum));
        checksum_of(address, &checksum);
        std::memcpy(entry + 32, &checksum, sizeof(checksum));
      }
    }
    SealBlock(block, kBlockSize);
  }
  // Superblocks: point at the manifest blocks' new checksums.
  for (size_t copy = 0; copy < std::min<size_t>(count, kSuperblockCopyCount);
       copy++) {
    std::byte* block = blocks[copy];
    const BlockHeader header = ReadHeader(block);
    if (!Sealable(block) || header.block_type != BlockType::kSuperblock) {
      continue;
    }
    for (size_t offset = kSuperblockFixedSizeBytes;
         offset + kSuperblockReferenceSizeBytes <= header.size_bytes;
         offset += kSuperblockReferenceSizeBytes) {
      uint64_t address;
      std::memcpy(&address, block + offset, sizeof(address));
      Checksum128 checksum;
      std::memcpy(&checksum, block + offset + 16, sizeof(checksum));
      checksum_of(address, &checksum);
      std::memcpy(block + offset + 16, &checksum, sizeof(checksum));
    }
    SealBlock(block, kBlockSize);
  }
}

}  // namespace fuzz
}  // namespace lsmscan

#endif  // LSMSCAN_TOOLS_FUZZ_WHOLE_FILE_FIXUP_H_
