// Unit tests of data blocks: DataBlockBuilder, DataBlockValues(),
// ValidateDataBlock() and DataBlockKeysAscend(), over the two shipped record
// schemas and a schema with a 16-byte key (16-byte aligned values).

#include "lsmscan/lsm/data_block.h"

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "gtest/gtest.h"
#include "lsmscan/lsm/block_header.h"
#include "lsmscan/lsm/checksum.h"
#include "lsmscan/lsm/schema.h"
#include "lsmscan/lsm/schema_testing.h"
#include "lsmscan/storage/aligned_buffer.h"
#include "lsmscan/storage/base/prng.h"

namespace lsmscan {
namespace {

using ::lsmscan::testing::Wide128Schema;
static_assert(alignof(Wide128Schema::Value) == 16);
static_assert(std::has_unique_object_representations_v<Wide128Schema::Value>);

// Per-schema helpers: the i-th key of an ascending sequence, and a value.
template <typename S>
struct Values;

template <typename S>
requires requires { S::kKeyMax; }
struct Values<S> {
  static typename S::Key KeyAt(uint64_t i) { return i * 3 + 1; }
  static typename S::Value Make(uint64_t i, uint64_t seed) {
    if (seed % 5 == 0) return S::tombstone(KeyAt(i));
    return S::Make(KeyAt(i), seed);
  }
};

template <>
struct Values<Wide128Schema> {
  using Key = Wide128Schema::Key;
  // Both words matter: i/2 in the high word, alternately 1 and ~0 low.
  static Key KeyAt(uint64_t i) {
    return (static_cast<Key>(i / 2) << 64) | (i % 2 == 0 ? 1 : ~uint64_t{0});
  }
  static Wide128Schema::Value Make(uint64_t i, uint64_t seed) {
    if (seed % 5 == 0) return Wide128Schema::tombstone(KeyAt(i));
    return Wide128Schema::Value{KeyAt(i), 0, seed * 0x9E3779B97F4A7C15ull};
  }
};

template <typename S>
bool SameBytes(const typename S::Value& a, const typename S::Value& b) {
  return std::memcmp(&a, &b, sizeof(a)) == 0;
}

constexpr uint32_t kSchemaId = 0xABCD0123;

template <typename S>
class DataBlockTest : public ::testing::Test {
 protected:
  using Value = typename S::Value;
  using Key = typename S::Key;

  // Builds a block of `count` values (keys KeyAt(first..)) in `frame`.
  Checksum128 Build(std::byte* frame, uint32_t block_size, uint32_t count,
                    BlockAddress address, std::vector<Value>* values,
                    uint64_t first = 0) {
    DataBlockBuilder<S> builder;
    builder.Reset(frame, block_size);
    values->clear();
    for (uint32_t i = 0; i < count; i++) {
      EXPECT_FALSE(builder.full());
      const Value value = Values<S>::Make(first + i, first + i + 1);
      values->push_back(value);
      builder.Add(value);
    }
    EXPECT_EQ(builder.count(), count);
    return builder.Seal(address, kSchemaId, /*snapshot_min=*/42);
  }
};

using Schemas =
    ::testing::Types<Record32Schema, Record128Schema, Wide128Schema>;
TYPED_TEST_SUITE(DataBlockTest, Schemas);

TYPED_TEST(DataBlockTest, CountMax) {
  using Value = typename TypeParam::Value;
  EXPECT_EQ(DataBlockValueCountMax<Value>(4096), (4096 - 64) / sizeof(Value));
  EXPECT_EQ(DataBlockValueCountMax<Value>(65536), (65536 - 64) / sizeof(Value));
  EXPECT_EQ(DataBlockValueCountMax<Value>(64 + sizeof(Value)), 1u);
  EXPECT_EQ(DataBlockValueCountMax<Value>(64 + sizeof(Value) - 1), 0u);
}

TYPED_TEST(DataBlockTest, RoundTripAtFullCapacity) {
  using S = TypeParam;
  using Value = typename S::Value;
  for (uint32_t block_size : {4096u, 8192u, 65536u}) {
    SCOPED_TRACE(block_size);
    AlignedBuffer frame(block_size);
    std::memset(frame.data(), 0x5A, block_size);  // Garbage to be replaced.
    const uint32_t count_max = DataBlockValueCountMax<Value>(block_size);
    DataBlockBuilder<S> builder;
    builder.Reset(frame.data(), block_size);
    EXPECT_TRUE(builder.empty());
    std::vector<Value> values;
    for (uint32_t i = 0; i < count_max; i++) {
      ASSERT_FALSE(builder.full()) << i;
      values.push_back(Values<S>::Make(i, i + 1));
      builder.Add(values.back());
      EXPECT_FALSE(builder.empty());
    }
    EXPECT_TRUE(builder.full());
    EXPECT_EQ(builder.count(), count_max);
    EXPECT_TRUE(builder.first_key() == Values<S>::KeyAt(0));
    EXPECT_TRUE(builder.last_key() == Values<S>::KeyAt(count_max - 1));
    const Checksum128 checksum = builder.Seal(7, kSchemaId, 42);

    BlockExpectation expected;
    expected.address = 7;
    expected.checksum = checksum;
    expected.type = BlockType::kData;
    expected.schema_id = kSchemaId;
    ASSERT_TRUE(VerifyBlock(frame.data(), block_size, expected).ok());
    ASSERT_TRUE(ValidateDataBlock<S>(frame.data(), block_size).ok());

    const BlockHeader header = ReadHeader(frame.data());
    EXPECT_EQ(header.block_type, BlockType::kData);
    EXPECT_EQ(header.address, 7u);
    EXPECT_EQ(header.count, count_max);
    EXPECT_EQ(header.element_size, sizeof(Value));
    EXPECT_EQ(header.size_bytes, 64 + count_max * sizeof(Value));
    EXPECT_LE(header.size_bytes, block_size);
    EXPECT_EQ(header.snapshot_min, 42u);
    EXPECT_EQ(header.schema_id, kSchemaId);
    EXPECT_EQ(header.level, 0u);

    const std::span<const Value> read = DataBlockValues<S>(frame.data());
    ASSERT_EQ(read.size(), values.size());
    EXPECT_EQ(reinterpret_cast<uintptr_t>(read.data()) % alignof(Value), 0u);
    for (size_t i = 0; i < read.size(); i++) {
      ASSERT_TRUE(SameBytes<S>(read[i], values[i])) << i;
      EXPECT_EQ(S::is_tombstone(read[i]), (i + 1) % 5 == 0) << i;
    }
    EXPECT_TRUE(DataBlockKeysAscend<S>(read));
    for (uint32_t i = header.size_bytes; i < block_size; i++) {
      ASSERT_EQ(frame.data()[i], std::byte{0}) << i;
    }
  }
}

TYPED_TEST(DataBlockTest, RoundTripOfPartialBlocks) {
  using S = TypeParam;
  using Value = typename S::Value;
  AlignedBuffer frame(4096);
  const uint32_t count_max = DataBlockValueCountMax<Value>(4096);
  for (uint32_t count : {1u, 2u, 3u, count_max / 2, count_max - 1}) {
    SCOPED_TRACE(count);
    std::memset(frame.data(), 0x77, 4096);
    std::vector<Value> values;
    const Checksum128 checksum =
        this->Build(frame.data(), 4096, count, 100 + count, &values, count);
    BlockExpectation expected;
    expected.address = 100 + count;
    expected.checksum = checksum;
    expected.schema_id = kSchemaId;
    ASSERT_TRUE(VerifyBlock(frame.data(), 4096, expected).ok());
    ASSERT_TRUE(ValidateDataBlock<S>(frame.data(), 4096).ok());
    const std::span<const Value> read = DataBlockValues<S>(frame.data());
    ASSERT_EQ(read.size(), count);
    for (uint32_t i = 0; i < count; i++) {
      ASSERT_TRUE(SameBytes<S>(read[i], values[i])) << i;
    }
    const uint32_t size = ReadHeader(frame.data()).size_bytes;
    EXPECT_EQ(size, 64 + count * sizeof(Value));
    for (uint32_t i = size; i < 4096; i++) {
      ASSERT_EQ(frame.data()[i], std::byte{0}) << i;
    }
  }
}

TYPED_TEST(DataBlockTest, BuilderIsReusableAfterReset) {
  using S = TypeParam;
  using Value = typename S::Value;
  AlignedBuffer first(4096);
  AlignedBuffer second(4096);
  DataBlockBuilder<S> builder;
  builder.Reset(first.data(), 4096);
  for (uint64_t i = 10; i < 20; i++) builder.Add(Values<S>::Make(i, i));
  builder.Seal(2, kSchemaId, 1);
  // A second block may start below the first one's keys: Reset forgets them.
  builder.Reset(second.data(), 4096);
  EXPECT_TRUE(builder.empty());
  EXPECT_EQ(builder.count(), 0u);
  for (uint64_t i = 0; i < 5; i++) builder.Add(Values<S>::Make(i, i + 100));
  EXPECT_TRUE(builder.first_key() == Values<S>::KeyAt(0));
  EXPECT_TRUE(builder.last_key() == Values<S>::KeyAt(4));
  builder.Seal(3, kSchemaId, 1);
  ASSERT_TRUE(ValidateDataBlock<S>(first.data(), 4096).ok());
  ASSERT_TRUE(ValidateDataBlock<S>(second.data(), 4096).ok());
  const std::span<const Value> a = DataBlockValues<S>(first.data());
  const std::span<const Value> b = DataBlockValues<S>(second.data());
  ASSERT_EQ(a.size(), 10u);
  ASSERT_EQ(b.size(), 5u);
  EXPECT_TRUE(S::key_of(a[0]) == Values<S>::KeyAt(10));
  EXPECT_TRUE(S::key_of(b[4]) == Values<S>::KeyAt(4));
}

TYPED_TEST(DataBlockTest, KeysAscend) {
  using S = TypeParam;
  using Value = typename S::Value;
  std::vector<Value> values;
  EXPECT_TRUE(DataBlockKeysAscend<S>(std::span<const Value>(values)));
  values.push_back(Values<S>::Make(3, 1));
  EXPECT_TRUE(DataBlockKeysAscend<S>(std::span<const Value>(values)));
  values.push_back(Values<S>::Make(4, 1));
  values.push_back(Values<S>::Make(9, 1));
  EXPECT_TRUE(DataBlockKeysAscend<S>(std::span<const Value>(values)));
  values.push_back(Values<S>::Make(9, 2));  // Equal keys do not ascend.
  EXPECT_FALSE(DataBlockKeysAscend<S>(std::span<const Value>(values)));
  values.back() = Values<S>::Make(8, 1);  // Descending neither.
  EXPECT_FALSE(DataBlockKeysAscend<S>(std::span<const Value>(values)));
  // A tombstone carries its key: ordered by key alone.
  values.back() = S::tombstone(Values<S>::KeyAt(10));
  EXPECT_TRUE(DataBlockKeysAscend<S>(std::span<const Value>(values)));
  // Out of order at the very front.
  std::swap(values[0], values[1]);
  EXPECT_FALSE(DataBlockKeysAscend<S>(std::span<const Value>(values)));
}

// Rewrites the header of a sealed block with `mutate` and seals it again, so
// the checksum is valid and only ValidateDataBlock can object.
template <typename Mutate>
void TamperAndReseal(std::byte* frame, uint32_t block_size, Mutate mutate) {
  BlockHeader header = ReadHeader(frame);
  mutate(header);
  std::memcpy(frame, &header, sizeof(header));
  SealBlock(frame, block_size);
}

TYPED_TEST(DataBlockTest, ValidateRejectsTamperedHeaders) {
  using S = TypeParam;
  using Value = typename S::Value;
  constexpr uint32_t kSize = 4096;
  const uint32_t count_max = DataBlockValueCountMax<Value>(kSize);
  AlignedBuffer frame(kSize);
  std::vector<Value> values;
  struct Case {
    const char* name;
    void (*mutate)(BlockHeader&, uint32_t count_max);
  };
  const Case cases[] = {
      {"value size + 1", [](BlockHeader& h, uint32_t) { h.element_size += 1; }},
      {"value size - 8", [](BlockHeader& h, uint32_t) { h.element_size -= 8; }},
      {"value size 0", [](BlockHeader& h, uint32_t) { h.element_size = 0; }},
      {"count 0", [](BlockHeader& h, uint32_t) { h.count = 0; }},
      {"count - 1", [](BlockHeader& h, uint32_t) { h.count -= 1; }},
      {"count + 1", [](BlockHeader& h, uint32_t) { h.count += 1; }},
      {"count max + 1",
       [](BlockHeader& h, uint32_t max) { h.count = max + 1; }},
      {"count huge", [](BlockHeader& h, uint32_t) { h.count = 0xFFFFFFFF; }},
      {"count wraps size",
       // count * sizeof(Value) overflows 32 bits to the honest size.
       [](BlockHeader& h, uint32_t) {
         h.count += static_cast<uint32_t>((uint64_t{1} << 32) /
                                          sizeof(typename S::Value));
       }},
      {"size - 1", [](BlockHeader& h, uint32_t) { h.size_bytes -= 1; }},
      {"size + value",
       [](BlockHeader& h, uint32_t) {
         h.size_bytes += sizeof(typename S::Value);
       }},
      {"size header only", [](BlockHeader& h, uint32_t) { h.size_bytes = 64; }},
  };
  for (const uint32_t count : {1u, 7u, count_max - 1}) {
    for (const Case& c : cases) {
      SCOPED_TRACE(std::string(c.name) + ", count " + std::to_string(count));
      this->Build(frame.data(), kSize, count, 5, &values);
      ASSERT_TRUE(ValidateDataBlock<S>(frame.data(), kSize).ok());
      TamperAndReseal(frame.data(), kSize,
                      [&](BlockHeader& h) { c.mutate(h, count_max); });
      const absl::Status status = ValidateDataBlock<S>(frame.data(), kSize);
      EXPECT_EQ(status.code(), absl::StatusCode::kDataLoss) << status;
    }
  }
}

TYPED_TEST(DataBlockTest, ValidateRejectsABlockOfAnotherSchema) {
  using S = TypeParam;
  AlignedBuffer frame(4096);
  std::vector<typename S::Value> values;
  this->Build(frame.data(), 4096, 10, 5, &values);
  if (sizeof(typename S::Value) != sizeof(Record128Schema::Value)) {
    const absl::Status status =
        ValidateDataBlock<Record128Schema>(frame.data(), 4096);
    EXPECT_EQ(status.code(), absl::StatusCode::kDataLoss);
    EXPECT_NE(status.message().find("value size"), std::string::npos) << status;
  } else {
    EXPECT_EQ(ValidateDataBlock<Record32Schema>(frame.data(), 4096).code(),
              absl::StatusCode::kDataLoss);
  }
}

// Random header fields, re-sealed: ValidateDataBlock never crashes, and when
// it accepts a block, reading its values stays inside the block.
TYPED_TEST(DataBlockTest, ValidateOfRandomHeadersNeverAcceptsAnOverrun) {
  using S = TypeParam;
  using Value = typename S::Value;
  constexpr uint32_t kSize = 4096;
  AlignedBuffer frame(kSize);
  std::vector<Value> values;
  Prng prng(2024);
  int accepted = 0;
  for (int trial = 0; trial < 3000; trial++) {
    this->Build(frame.data(), kSize, 20, 5, &values);
    TamperAndReseal(frame.data(), kSize, [&](BlockHeader& h) {
      switch (prng.Uniform(4)) {
        case 0:
          h.count = static_cast<uint32_t>(prng.Uniform(300));
          break;
        case 1:
          h.count = static_cast<uint32_t>(prng.Next());
          break;
        case 2:
          h.element_size = static_cast<uint16_t>(prng.Uniform(300));
          break;
        default:
          break;
      }
      if (prng.Chance(0.5)) {
        h.size_bytes = static_cast<uint32_t>(prng.Range(64, kSize));
      }
      if (prng.Chance(0.3)) {
        h.size_bytes = static_cast<uint32_t>(64 + h.count * sizeof(Value));
        if (h.size_bytes > kSize || h.size_bytes < 64) h.size_bytes = kSize;
      }
    });
    const BlockHeader header = ReadHeader(frame.data());
    const absl::Status status = ValidateDataBlock<S>(frame.data(), kSize);
    if (!status.ok()) {
      ASSERT_EQ(status.code(), absl::StatusCode::kDataLoss) << status;
      continue;
    }
    accepted++;
    ASSERT_EQ(header.element_size, sizeof(Value));
    ASSERT_GT(header.count, 0u);
    ASSERT_LE(64 + uint64_t{header.count} * sizeof(Value), kSize);
    ASSERT_EQ(header.size_bytes, 64 + uint64_t{header.count} * sizeof(Value));
    const std::span<const Value> read = DataBlockValues<S>(frame.data());
    ASSERT_EQ(read.size(), header.count);
  }
  EXPECT_GT(accepted, 0);
}

template <typename S>
class DataBlockDeathTest : public DataBlockTest<S> {};
TYPED_TEST_SUITE(DataBlockDeathTest, Schemas);

TYPED_TEST(DataBlockDeathTest, AddingKeysOutOfOrderAborts) {
  using S = TypeParam;
  AlignedBuffer frame(4096);
  DataBlockBuilder<S> builder;
  builder.Reset(frame.data(), 4096);
  builder.Add(Values<S>::Make(5, 1));
  EXPECT_DEATH(builder.Add(Values<S>::Make(4, 1)), "assertion failed");
  EXPECT_DEATH(builder.Add(Values<S>::Make(5, 2)), "assertion failed");
  EXPECT_DEATH(builder.Add(S::tombstone(Values<S>::KeyAt(5))),
               "assertion failed");
  builder.Add(Values<S>::Make(6, 1));  // Still fine.
  EXPECT_EQ(builder.count(), 2u);
}

TYPED_TEST(DataBlockDeathTest, AddingToAFullBlockAborts) {
  using S = TypeParam;
  AlignedBuffer frame(4096);
  DataBlockBuilder<S> builder;
  builder.Reset(frame.data(), 4096);
  uint64_t i = 0;
  while (!builder.full()) builder.Add(Values<S>::Make(i++, 1));
  EXPECT_DEATH(builder.Add(Values<S>::Make(i, 1)), "assertion failed");
}

TYPED_TEST(DataBlockDeathTest, MisuseAborts) {
  using S = TypeParam;
  AlignedBuffer frame(4096);
  {
    DataBlockBuilder<S> builder;  // Never Reset: no frame.
    EXPECT_DEATH(builder.Add(Values<S>::Make(1, 1)), "assertion failed");
  }
  {
    DataBlockBuilder<S> builder;
    builder.Reset(frame.data(), 4096);
    EXPECT_DEATH(builder.Seal(1, kSchemaId, 1), "assertion failed");
  }
  {
    DataBlockBuilder<S> builder;  // A block too small for one value.
    EXPECT_DEATH(
        builder.Reset(frame.data(), 64 + sizeof(typename S::Value) - 1),
        "assertion failed");
  }
}

TYPED_TEST(DataBlockDeathTest, ReadingAnotherBlockTypeAborts) {
  using S = TypeParam;
  AlignedBuffer frame(4096);
  std::vector<typename S::Value> values;
  this->Build(frame.data(), 4096, 3, 5, &values);
  TamperAndReseal(frame.data(), 4096,
                  [](BlockHeader& h) { h.block_type = BlockType::kIndex; });
  EXPECT_DEATH(DataBlockValues<S>(frame.data()), "assertion failed");
  TamperAndReseal(frame.data(), 4096, [](BlockHeader& h) {
    h.block_type = BlockType::kData;
    h.element_size = 8;
  });
  EXPECT_DEATH(DataBlockValues<S>(frame.data()), "assertion failed");
}

}  // namespace
}  // namespace lsmscan
