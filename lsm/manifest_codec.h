// File: lsm/manifest_codec.h
// -----------------------------------------------------------------------------
//
// The manifest on disk: at a checkpoint, every live table's TableInfo is
// written into manifest blocks, referenced from the superblock. Each block is
// a header (block_type = manifest, count = entries, element_size = entry
// size) followed by fixed-size entries:
//
//   offset            size   field
//   0                 1      level
//   1                 3      reserved (zero)
//   4                 4      data_block_count
//   8                 8      snapshot_min
//   16                8      value_count
//   24                8      index_address
//   32                16     index_checksum
//   48                8      tombstone_count (of value_count)
//   56                K      key_min   (K = sizeof(Key))
//   56 + K            K      key_max
//   (padded to a multiple of 16)
//
// Retired tables (snapshot_max != forever) are not written: after a restart
// no snapshot older than the checkpoint exists.

#ifndef LSMSCAN_LSM_MANIFEST_CODEC_H_
#define LSMSCAN_LSM_MANIFEST_CODEC_H_

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "lsmscan/lsm/block_header.h"
#include "lsmscan/lsm/manifest.h"
#include "lsmscan/lsm/table_info.h"
#include "lsmscan/storage/base/assert.h"

namespace lsmscan {

// ManifestEntrySizeBytes()
template <typename Key>
constexpr size_t ManifestEntrySizeBytes() {
  return (56 + 2 * sizeof(Key) + 15) / 16 * 16;
}

// ManifestEntryCountMax()
//
// Entries per manifest block.
template <typename Key>
constexpr uint32_t ManifestEntryCountMax(uint32_t block_size_bytes) {
  return static_cast<uint32_t>((block_size_bytes - kBlockHeaderSizeBytes) /
                               ManifestEntrySizeBytes<Key>());
}

// EncodeManifestBlock()
//
// Writes `infos` as a sealed manifest block at `address` into `frame`;
// returns its checksum. REQUIRES: 0 < infos.size() <= the count max.
template <typename Key>
Checksum128 EncodeManifestBlock(std::span<const TableInfo<Key>> infos,
                                std::byte* frame, uint32_t block_size_bytes,
                                BlockAddress address, uint32_t schema_id) {
  constexpr size_t kEntry = ManifestEntrySizeBytes<Key>();
  LSMSCAN_ASSERT(!infos.empty());
  LSMSCAN_ASSERT(infos.size() <= ManifestEntryCountMax<Key>(block_size_bytes));
  const size_t size_bytes = kBlockHeaderSizeBytes + infos.size() * kEntry;
  std::memset(frame, 0, size_bytes);
  for (size_t i = 0; i < infos.size(); i++) {
    const TableInfo<Key>& info = infos[i];
    LSMSCAN_ASSERT(info.snapshot_max == kSnapshotForever);
    std::byte* entry = frame + kBlockHeaderSizeBytes + i * kEntry;
    std::memcpy(entry + 0, &info.level, 1);
    std::memcpy(entry + 4, &info.data_block_count, 4);
    std::memcpy(entry + 8, &info.snapshot_min, 8);
    std::memcpy(entry + 16, &info.value_count, 8);
    std::memcpy(entry + 24, &info.index_address, 8);
    std::memcpy(entry + 32, &info.index_checksum, 16);
    std::memcpy(entry + 48, &info.tombstone_count, 8);
    std::memcpy(entry + 56, &info.key_min, sizeof(Key));
    std::memcpy(entry + 56 + sizeof(Key), &info.key_max, sizeof(Key));
  }
  BlockHeader header;
  header.block_type = BlockType::kManifest;
  header.address = address;
  header.size_bytes = static_cast<uint32_t>(size_bytes);
  header.schema_id = schema_id;
  header.count = static_cast<uint32_t>(infos.size());
  header.element_size = static_cast<uint16_t>(kEntry);
  std::memcpy(frame, &header, sizeof(header));
  return SealBlock(frame, block_size_bytes);
}

// DecodeManifestBlock()
//
// Appends the entries of a verified manifest block to `infos`. DataLoss if
// the block's fields are inconsistent (size, entry size, levels, ranges).
template <typename Key>
absl::Status DecodeManifestBlock(const std::byte* block,
                                 uint32_t block_size_bytes,
                                 uint32_t level_count,
                                 std::vector<TableInfo<Key>>* infos) {
  constexpr size_t kEntry = ManifestEntrySizeBytes<Key>();
  const BlockHeader header = ReadHeader(block);
  if (header.element_size != kEntry || header.count == 0 ||
      header.count > ManifestEntryCountMax<Key>(block_size_bytes) ||
      header.size_bytes != kBlockHeaderSizeBytes + header.count * kEntry) {
    return absl::DataLossError(absl::StrCat("manifest block ", header.address,
                                            ": count and size disagree"));
  }
  // Decoded apart first: a bad entry leaves `infos` as it was.
  std::vector<TableInfo<Key>> decoded;
  decoded.reserve(header.count);
  for (uint32_t i = 0; i < header.count; i++) {
    const std::byte* entry = block + kBlockHeaderSizeBytes + i * kEntry;
    TableInfo<Key> info;
    std::memcpy(&info.level, entry + 0, 1);
    std::memcpy(&info.data_block_count, entry + 4, 4);
    std::memcpy(&info.snapshot_min, entry + 8, 8);
    std::memcpy(&info.value_count, entry + 16, 8);
    std::memcpy(&info.index_address, entry + 24, 8);
    std::memcpy(&info.index_checksum, entry + 32, 16);
    std::memcpy(&info.tombstone_count, entry + 48, 8);
    std::memcpy(&info.key_min, entry + 56, sizeof(Key));
    std::memcpy(&info.key_max, entry + 56 + sizeof(Key), sizeof(Key));
    info.snapshot_max = kSnapshotForever;
    if (info.level >= level_count || info.key_max < info.key_min ||
        info.data_block_count == 0 || info.tombstone_count > info.value_count) {
      return absl::DataLossError(absl::StrCat("manifest block ", header.address,
                                              ": entry ", i, " is invalid"));
    }
    decoded.push_back(info);
  }
  infos->insert(infos->end(), decoded.begin(), decoded.end());
  return absl::OkStatus();
}

}  // namespace lsmscan

#endif  // LSMSCAN_LSM_MANIFEST_CODEC_H_
