// File: tools/fuzz/index_block_fuzz.cc
// -----------------------------------------------------------------------------
//
// Fuzz target: index blocks. ValidateIndexBlock() and IndexBlockView, for
// three key sizes (4, 8 and 16 bytes: different array paddings).
//
// Input: [mode (1 byte) | the block's first bytes]; the rest of the 4 KiB
// block is zero. The block lives in a heap buffer of exactly one block.
// Mode:
//
//   bits 0-1  key type: uint64_t, uint32_t, unsigned __int128 (3 = uint64_t)
//   bit 2     seal the block (SealBlock()) when its magic and size allow it
//
// ValidateIndexBlock() reads the arrays, so it runs on every input of the
// index type, sealed or not (the type is its one precondition: the grid
// checks it first, and IndexBlockView asserts it). Checked: nothing reads
// past the block; a failure is DataLoss; a valid block's layout fits inside
// its used bytes and its ranges ascend without overlap (checked again
// here); the binary search a scan does to find the blocks meeting a range
// agrees with a linear one; and IndexBlockBuilder rebuilds the same
// entries.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "lsmscan/lsm/block_header.h"
#include "lsmscan/lsm/checksum.h"
#include "lsmscan/lsm/index_block.h"
#include "lsmscan/storage/base/prng.h"
#include "lsmscan/tools/fuzz/fuzz_util.h"

namespace lsmscan {
namespace fuzz {
namespace {

constexpr uint32_t kBlockSize = 4096;

template <typename T>
bool SameSpans(std::span<const T> a, std::span<const T> b) {
  return a.size() == b.size() &&
         (a.empty() || std::memcmp(a.data(), b.data(), a.size_bytes()) == 0);
}

// A key near the block's keys (or anywhere).
template <typename Key>
Key QueryKey(const IndexBlockView<Key>& view, Prng* prng) {
  if (prng->Chance(0.2)) return static_cast<Key>(prng->Next());
  const uint32_t i = static_cast<uint32_t>(prng->Uniform(view.count()));
  const Key key = prng->Chance(0.5) ? view.keys_min()[i] : view.keys_max()[i];
  switch (prng->Uniform(3)) {
    case 0:
      return key;
    case 1:
      return static_cast<Key>(key + 1);
    default:
      return static_cast<Key>(key - 1);
  }
}

// The view's arrays lie inside the block's used bytes (reading them all is
// safe), and its entries are ordered and disjoint.
template <typename Key>
void CheckLayout(const IndexBlockView<Key>& view, const std::byte* block,
                 const BlockHeader& header) {
  const uint32_t count = view.count();
  FUZZ_CHECK(count == header.count && count > 0, "bad view count");
  const IndexBlockLayout layout = IndexBlockLayout::For(count, sizeof(Key));
  FUZZ_CHECK(
      layout.size_bytes == header.size_bytes && layout.size_bytes <= kBlockSize,
      "the layout does not fit the block's used bytes");
  // Every array lies inside the used bytes, and reading it all is safe.
  auto inside = [&](const void* begin, size_t bytes) {
    const auto* b = static_cast<const std::byte*>(begin);
    return b >= block + kBlockHeaderSizeBytes &&
           b + bytes <= block + header.size_bytes;
  };
  FUZZ_CHECK(
      inside(view.checksums().data(), view.checksums().size_bytes()) &&
          inside(view.addresses().data(), view.addresses().size_bytes()) &&
          inside(view.keys_min().data(), view.keys_min().size_bytes()) &&
          inside(view.keys_max().data(), view.keys_max().size_bytes()),
      "an array outside the block's used bytes");
  uint64_t sum = 0;
  for (uint32_t i = 0; i < count; i++) {
    sum += view.checksums()[i].low + view.addresses()[i] +
           static_cast<uint64_t>(view.keys_min()[i]) +
           static_cast<uint64_t>(view.keys_max()[i]);
    FUZZ_CHECK(!(view.keys_max()[i] < view.keys_min()[i]),
               absl::StrCat("entry ", i, ": key_max below key_min"));
    if (i > 0) {
      FUZZ_CHECK(view.keys_max()[i - 1] < view.keys_min()[i],
                 absl::StrCat("entries ", i - 1, " and ", i, " overlap"));
    }
  }
  Sink(sum);
}

// The run of blocks meeting [key_min, key_max], as ScanTreeLevel finds it
// (binary searches), equals a linear scan's, for random ranges.
template <typename Key>
void CheckRangeSearch(const IndexBlockView<Key>& view, Prng* prng) {
  const uint32_t count = view.count();
  for (int query = 0; query < 8; query++) {
    Key key_min = QueryKey(view, prng);
    Key key_max = QueryKey(view, prng);
    if (key_max < key_min) std::swap(key_min, key_max);
    const std::span<const Key> keys_max = view.keys_max();
    const std::span<const Key> keys_min = view.keys_min();
    const auto first = static_cast<uint32_t>(
        std::partition_point(keys_max.begin(), keys_max.end(),
                             [&](const Key& key) { return key < key_min; }) -
        keys_max.begin());
    const auto end = static_cast<uint32_t>(
        std::partition_point(keys_min.begin(), keys_min.end(),
                             [&](const Key& key) { return !(key_max < key); }) -
        keys_min.begin());
    for (uint32_t i = 0; i < count; i++) {
      const bool meets = !(keys_max[i] < key_min) && !(key_max < keys_min[i]);
      FUZZ_CHECK(meets == (i >= first && i < end),
                 absl::StrCat("block ", i,
                              ": the binary search and a linear "
                              "scan disagree on whether it meets the range"));
    }
  }
}

// The builder lays out the same entries.
template <typename Key>
void CheckRebuild(const IndexBlockView<Key>& view, const BlockHeader& header) {
  const uint32_t count = view.count();
  IndexBlockBuilder<Key> builder;
  builder.Init(count);
  for (uint32_t i = 0; i < count; i++) {
    builder.Add(view.checksums()[i], view.addresses()[i], view.keys_min()[i],
                view.keys_max()[i]);
  }
  HeapBlock rebuilt(kBlockSize);
  builder.Seal(rebuilt.data(), kBlockSize, header.address, header.schema_id,
               header.snapshot_min, header.level);
  FUZZ_CHECK(ValidateIndexBlock<Key>(rebuilt.data(), kBlockSize).ok(),
             "a rebuilt block is not valid");
  const IndexBlockView<Key> again(rebuilt.data());
  FUZZ_CHECK(SameSpans(again.checksums(), view.checksums()) &&
                 SameSpans(again.addresses(), view.addresses()) &&
                 SameSpans(again.keys_min(), view.keys_min()) &&
                 SameSpans(again.keys_max(), view.keys_max()),
             "a rebuilt block holds other entries");
}

// Everything a valid block promises.
template <typename Key>
void CheckValidBlock(const std::byte* block, const BlockHeader& header,
                     Prng* prng) {
  const IndexBlockView<Key> view(block);
  CheckLayout(view, block, header);
  CheckRangeSearch(view, prng);
  CheckRebuild(view, header);
}

template <typename Key>
void RunKey(HeapBlock* block, bool seal, uint64_t prng_seed) {
  BlockHeader header = ReadHeader(block->data());
  if (seal && header.magic == kBlockMagic &&
      header.size_bytes >= kBlockHeaderSizeBytes &&
      header.size_bytes <= kBlockSize) {
    SealBlock(block->data(), kBlockSize);
    header = ReadHeader(block->data());
  }
  // The grid has verified the type before anything validates a block
  // (IndexBlockView asserts it); the rest need not be verified.
  if (header.block_type != BlockType::kIndex) return;
  const absl::Status valid = ValidateIndexBlock<Key>(block->data(), kBlockSize);
  FUZZ_CHECK(valid.ok() || absl::IsDataLoss(valid),
             absl::StrCat("not DataLoss: ", valid.ToString()));
  if (!valid.ok()) return;
  Prng prng(prng_seed);
  CheckValidBlock<Key>(block->data(), header, &prng);
}

// Runs one input (see the file comment).
int Run(const uint8_t* data, size_t size) {
  FuzzInput input(data, size);
  const uint8_t mode = input.Byte();
  HeapBlock block(kBlockSize);
  input.Copy(block.data(), kBlockSize);
  const bool seal = (mode & 4) != 0;
  const uint64_t prng_seed = ChecksumBytes(data, size).low;
  switch (mode & 3) {
    case 1:
      RunKey<uint32_t>(&block, seal, prng_seed);
      break;
    case 2:
      RunKey<unsigned __int128>(&block, seal, prng_seed);
      break;
    default:
      RunKey<uint64_t>(&block, seal, prng_seed);
      break;
  }
  return 0;
}

}  // namespace
}  // namespace fuzz
}  // namespace lsmscan

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return lsmscan::fuzz::Run(data, size);
}
