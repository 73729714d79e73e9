// File: tools/fuzz/data_block_fuzz.cc
// -----------------------------------------------------------------------------
//
// Fuzz target: data blocks. ValidateDataBlock(), DataBlockValues(),
// DataBlockKeysAscend() and the range slicing a scan does on a block
// (SliceToRange()), for both shipped schemas.
//
// Input: [mode (1 byte) | the block's first bytes]; the rest of the 4 KiB
// block is zero. The block lives in a heap buffer of exactly one block.
// Mode:
//
//   bit 0  Record128Schema instead of Record32Schema
//   bit 1  seal the block (SealBlock()) when its magic and size allow it
//
// The library trusts a block whose checksum passes to be sorted (the
// writer's invariant; the O(n) check is in the expensive assertion tier),
// so this target seals the mutated bytes: the checksum passes and the
// structural validation is what is exercised. Checked: nothing reads past
// the block or past its used size; a failure is DataLoss; a valid block's
// values are exactly `count` values inside `size_bytes`; KeysAscend agrees
// with a plain loop; on sorted blocks, SliceToRange() agrees with a linear
// filter in both directions; and DataBlockBuilder rebuilds the same values.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "lsmscan/lsm/block_header.h"
#include "lsmscan/lsm/checksum.h"
#include "lsmscan/lsm/data_block.h"
#include "lsmscan/lsm/direction.h"
#include "lsmscan/lsm/schema.h"
#include "lsmscan/scan/search.h"
#include "lsmscan/storage/base/prng.h"
#include "lsmscan/tools/fuzz/fuzz_util.h"

namespace lsmscan {
namespace fuzz {
namespace {

constexpr uint32_t kBlockSize = 4096;

// The slice of `values` in [key_min, key_max], by a linear filter.
template <Schema S>
std::vector<typename S::Value> Filter(std::span<const typename S::Value> values,
                                      typename S::Key key_min,
                                      typename S::Key key_max) {
  std::vector<typename S::Value> out;
  for (const typename S::Value& value : values) {
    const typename S::Key key = S::key_of(value);
    if (!(key < key_min) && !(key_max < key)) out.push_back(value);
  }
  return out;
}

template <Schema S>
bool SameValues(std::span<const typename S::Value> a,
                std::span<const typename S::Value> b) {
  return a.size() == b.size() &&
         (a.empty() || std::memcmp(a.data(), b.data(), a.size_bytes()) == 0);
}

// A query key near the block's keys (or anywhere).
template <Schema S>
typename S::Key QueryKey(std::span<const typename S::Value> values,
                         Prng* prng) {
  if (values.empty() || prng->Chance(0.2)) return prng->Next() >> 1;
  const typename S::Key key = S::key_of(values[prng->Uniform(values.size())]);
  switch (prng->Uniform(3)) {
    case 0:
      return key;
    case 1:
      return key + 1;
    default:
      return key - (key > 0 ? 1 : 0);
  }
}

template <Schema S>
void CheckSortedBlock(std::span<const typename S::Value> values,
                      const BlockHeader& header, Prng* prng) {
  using Key = typename S::Key;
  using Value = typename S::Value;
  // Range slicing, as a scan's level does it.
  for (int query = 0; query < 8; query++) {
    Key key_min = QueryKey<S>(values, prng);
    Key key_max = QueryKey<S>(values, prng);
    if (key_max < key_min) std::swap(key_min, key_max);
    const std::vector<Value> expected = Filter<S>(values, key_min, key_max);
    for (Direction direction :
         {Direction::kAscending, Direction::kDescending}) {
      const std::span<const Value> slice =
          SliceToRange<S>(values, key_min, key_max, direction);
      FUZZ_CHECK(SameValues<S>(slice, expected),
                 absl::StrCat("SliceToRange() [", key_min, ", ", key_max,
                              "] differs from the linear filter"));
    }
  }
  // The builder writes the same values back.
  HeapBlock rebuilt(kBlockSize);
  DataBlockBuilder<S> builder;
  builder.Reset(rebuilt.data(), kBlockSize);
  for (const Value& value : values) builder.Add(value);
  const Checksum128 checksum =
      builder.Seal(header.address, header.schema_id, header.snapshot_min);
  const BlockExpectation expected{header.address, checksum, BlockType::kData,
                                  header.schema_id};
  FUZZ_CHECK(VerifyBlock(rebuilt.data(), kBlockSize, expected).ok(),
             "a rebuilt block does not verify");
  FUZZ_CHECK(ValidateDataBlock<S>(rebuilt.data(), kBlockSize).ok(),
             "a rebuilt block is not valid");
  FUZZ_CHECK(SameValues<S>(DataBlockValues<S>(rebuilt.data()), values),
             "a rebuilt block holds other values");
}

template <Schema S>
void RunSchema(HeapBlock* block, bool seal, uint64_t prng_seed) {
  using Value = typename S::Value;
  BlockHeader header = ReadHeader(block->data());
  if (seal && header.magic == kBlockMagic &&
      header.size_bytes >= kBlockHeaderSizeBytes &&
      header.size_bytes <= kBlockSize) {
    SealBlock(block->data(), kBlockSize);
    header = ReadHeader(block->data());
  }
  // Structural validation reads only the header: it must take any bytes.
  const absl::Status valid = ValidateDataBlock<S>(block->data(), kBlockSize);
  FUZZ_CHECK(valid.ok() || absl::IsDataLoss(valid),
             absl::StrCat("not DataLoss: ", valid.ToString()));
  const BlockExpectation expected{header.address, header.checksum,
                                  BlockType::kData, header.schema_id};
  if (!VerifyBlock(block->data(), kBlockSize, expected).ok()) return;
  if (!valid.ok()) return;

  // A verified, valid block: its values lie inside its used bytes.
  const std::span<const Value> values = DataBlockValues<S>(block->data());
  FUZZ_CHECK(values.size() == header.count, "value count differs from count");
  FUZZ_CHECK(!values.empty(), "a valid block without values");
  const auto* end =
      reinterpret_cast<const std::byte*>(values.data() + values.size());
  FUZZ_CHECK(reinterpret_cast<const std::byte*>(values.data()) ==
                     block->data() + kBlockHeaderSizeBytes &&
                 end <= block->data() + header.size_bytes,
             "values outside the block's used bytes");
  uint64_t sum = 0;
  for (const Value& value : values) sum += S::key_of(value);
  Sink(sum);

  bool ascend = true;
  for (size_t i = 1; i < values.size(); i++) {
    if (!(S::key_of(values[i - 1]) < S::key_of(values[i]))) ascend = false;
  }
  FUZZ_CHECK(DataBlockKeysAscend<S>(values) == ascend,
             "DataBlockKeysAscend() disagrees with a plain loop");
  if (!ascend) return;
  Prng prng(prng_seed);
  CheckSortedBlock<S>(values, header, &prng);
}

// Runs one input (see the file comment).
int Run(const uint8_t* data, size_t size) {
  FuzzInput input(data, size);
  const uint8_t mode = input.Byte();
  HeapBlock block(kBlockSize);
  input.Copy(block.data(), kBlockSize);
  const uint64_t prng_seed = ChecksumBytes(data, size).low;
  if (mode & 1) {
    RunSchema<Record128Schema>(&block, (mode & 2) != 0, prng_seed);
  } else {
    RunSchema<Record32Schema>(&block, (mode & 2) != 0, prng_seed);
  }
  return 0;
}

}  // namespace
}  // namespace fuzz
}  // namespace lsmscan

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return lsmscan::fuzz::Run(data, size);
}
