// File: tools/fuzz/manifest_fuzz.cc
// -----------------------------------------------------------------------------
//
// Fuzz target: manifest blocks, DecodeManifestBlock(), for 8- and 16-byte
// keys.
//
// Input: [level_count (1 byte) | mode (1 byte) | the block's first bytes];
// the rest of the 4 KiB block is zero, in a heap buffer of exactly one
// block. Mode:
//
//   bit 0  16-byte keys (unsigned __int128) instead of uint64_t
//   bit 1  seal the block (SealBlock()) when its magic and size allow it
//
// The decoder runs on every input, verified or not (it must read only
// inside the block either way). Checked: a failure is DataLoss and leaves
// the output vector as it was; a success appends `count` entries, each with
// a level below level_count, key_min <= key_max, data blocks, and a live
// lifetime; and encoding the decoded entries again decodes to the same.

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "lsmscan/lsm/block_header.h"
#include "lsmscan/lsm/checksum.h"
#include "lsmscan/lsm/manifest_codec.h"
#include "lsmscan/lsm/table_info.h"
#include "lsmscan/tools/fuzz/fuzz_util.h"

namespace lsmscan {
namespace fuzz {
namespace {

constexpr uint32_t kBlockSize = 4096;

template <typename Key>
bool SameInfo(const TableInfo<Key>& a, const TableInfo<Key>& b) {
  return a.key_min == b.key_min && a.key_max == b.key_max &&
         a.snapshot_min == b.snapshot_min && a.snapshot_max == b.snapshot_max &&
         a.index_address == b.index_address &&
         a.index_checksum == b.index_checksum &&
         a.value_count == b.value_count &&
         a.data_block_count == b.data_block_count && a.level == b.level;
}

template <typename Key>
void RunKey(HeapBlock* block, uint32_t level_count, bool seal) {
  BlockHeader header = ReadHeader(block->data());
  if (seal && header.magic == kBlockMagic &&
      header.size_bytes >= kBlockHeaderSizeBytes &&
      header.size_bytes <= kBlockSize) {
    SealBlock(block->data(), kBlockSize);
    header = ReadHeader(block->data());
  }
  const BlockExpectation expected{header.address, header.checksum,
                                  BlockType::kManifest, header.schema_id};
  const bool verified = VerifyBlock(block->data(), kBlockSize, expected).ok();

  // A sentinel entry: a failed decode must leave it alone, and a good one
  // must append after it.
  TableInfo<Key> sentinel;
  sentinel.key_min = 7;
  sentinel.key_max = 9;
  sentinel.index_address = 1234;
  sentinel.data_block_count = 3;
  std::vector<TableInfo<Key>> infos = {sentinel};
  const absl::Status decoded =
      DecodeManifestBlock<Key>(block->data(), kBlockSize, level_count, &infos);
  FUZZ_CHECK(!infos.empty() && SameInfo(infos[0], sentinel),
             "the decoder changed entries it did not add");
  if (!decoded.ok()) {
    FUZZ_CHECK(absl::IsDataLoss(decoded),
               absl::StrCat("not DataLoss: ", decoded.ToString()));
    FUZZ_CHECK(infos.size() == 1, "a failed decode appended entries");
    return;
  }
  FUZZ_CHECK(infos.size() == 1 + size_t{header.count},
             "decoded another number of entries than count");
  FUZZ_CHECK(kBlockHeaderSizeBytes +
                     size_t{header.count} * ManifestEntrySizeBytes<Key>() ==
                 header.size_bytes,
             "decoded entries past the block's used bytes");
  for (size_t i = 1; i < infos.size(); i++) {
    const TableInfo<Key>& info = infos[i];
    FUZZ_CHECK(info.level < level_count, absl::StrCat("entry ", i, ": level"));
    FUZZ_CHECK(!(info.key_max < info.key_min),
               absl::StrCat("entry ", i, ": key_max below key_min"));
    FUZZ_CHECK(info.data_block_count > 0,
               absl::StrCat("entry ", i, ": no data blocks"));
    FUZZ_CHECK(info.snapshot_max == kSnapshotForever,
               absl::StrCat("entry ", i, ": not live"));
  }
  if (!verified) return;  // Tree::Open decodes verified blocks only.

  // Encode what was decoded; decoding that gives the same entries.
  const std::span<const TableInfo<Key>> decoded_infos(infos.data() + 1,
                                                      infos.size() - 1);
  HeapBlock encoded(kBlockSize);
  const Checksum128 checksum =
      EncodeManifestBlock<Key>(decoded_infos, encoded.data(), kBlockSize,
                               header.address, header.schema_id);
  const BlockExpectation again{header.address, checksum, BlockType::kManifest,
                               header.schema_id};
  FUZZ_CHECK(VerifyBlock(encoded.data(), kBlockSize, again).ok(),
             "an encoded manifest block does not verify");
  std::vector<TableInfo<Key>> redecoded;
  const absl::Status status = DecodeManifestBlock<Key>(
      encoded.data(), kBlockSize, level_count, &redecoded);
  FUZZ_CHECK(status.ok(),
             absl::StrCat("re-decoding failed: ", status.ToString()));
  FUZZ_CHECK(redecoded.size() == decoded_infos.size(),
             "re-decoded another number of entries");
  for (size_t i = 0; i < redecoded.size(); i++) {
    FUZZ_CHECK(SameInfo(redecoded[i], decoded_infos[i]),
               absl::StrCat("entry ", i, " changed in an encode/decode round"));
  }
}

// Runs one input (see the file comment).
int Run(const uint8_t* data, size_t size) {
  FuzzInput input(data, size);
  const uint32_t level_count = input.Byte();
  const uint8_t mode = input.Byte();
  HeapBlock block(kBlockSize);
  input.Copy(block.data(), kBlockSize);
  if (mode & 1) {
    RunKey<unsigned __int128>(&block, level_count, (mode & 2) != 0);
  } else {
    RunKey<uint64_t>(&block, level_count, (mode & 2) != 0);
  }
  return 0;
}

}  // namespace
}  // namespace fuzz
}  // namespace lsmscan

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return lsmscan::fuzz::Run(data, size);
}
