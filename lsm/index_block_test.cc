// Unit tests of index blocks: IndexBlockLayout, IndexBlockEntryCountMax(),
// IndexBlockBuilder, IndexBlockView and ValidateIndexBlock(), for the 8-byte
// keys of the record schemas, a 16-byte key and a 12-byte struct key (whose
// arrays need padding to stay 16-byte aligned).

#include "lsmscan/lsm/index_block.h"

#include <compare>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
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

// A 12-byte key: the key arrays end off a 16-byte boundary.
struct Key12 {
  uint32_t high;
  uint32_t middle;
  uint32_t low;
  friend auto operator<=>(const Key12&, const Key12&) = default;
  friend bool operator==(const Key12&, const Key12&) = default;
};
static_assert(sizeof(Key12) == 12);

// The i-th key of an ascending sequence, per key type.
template <typename Key>
Key KeyAt(uint64_t i);

template <>
uint64_t KeyAt<uint64_t>(uint64_t i) {
  return i * 10;
}

template <>
unsigned __int128 KeyAt<unsigned __int128>(uint64_t i) {
  // Both words matter.
  return (static_cast<unsigned __int128>(i / 2) << 64) |
         (i % 2 == 0 ? uint64_t{5} : ~uint64_t{0} - 5);
}

template <>
Key12 KeyAt<Key12>(uint64_t i) {
  return Key12{static_cast<uint32_t>(i / 4), static_cast<uint32_t>(i % 4) * 7,
               static_cast<uint32_t>(i) * 3};
}

template <typename Key>
bool KeyEq(const Key& a, const Key& b) {
  return std::memcmp(&a, &b, sizeof(Key)) == 0;
}

Checksum128 ChecksumFor(uint64_t i) {
  return Checksum128{i * 0x9E3779B97F4A7C15ull + 1, ~i};
}

constexpr uint32_t kSchemaId = 0x13572468;

TEST(IndexBlockLayoutTest, KnownLayouts) {
  // 3 entries of 8-byte keys: addresses end at 24 bytes, padded to 32.
  const IndexBlockLayout a = IndexBlockLayout::For(3, 8);
  EXPECT_EQ(a.checksums_offset, 64u);
  EXPECT_EQ(a.addresses_offset, 64u + 48u);
  EXPECT_EQ(a.keys_min_offset, 112u + 32u);
  EXPECT_EQ(a.keys_max_offset, 144u + 32u);
  EXPECT_EQ(a.size_bytes, 176u + 24u);
  // 1 entry of a 16-byte key.
  const IndexBlockLayout b = IndexBlockLayout::For(1, 16);
  EXPECT_EQ(b.checksums_offset, 64u);
  EXPECT_EQ(b.addresses_offset, 80u);
  EXPECT_EQ(b.keys_min_offset, 96u);
  EXPECT_EQ(b.keys_max_offset, 112u);
  EXPECT_EQ(b.size_bytes, 128u);
  // 72 entries of 16-byte keys fill 4096 bytes exactly.
  EXPECT_EQ(IndexBlockLayout::For(72, 16).size_bytes, 4096u);
  EXPECT_EQ(IndexBlockEntryCountMax(4096, 16), 72u);
  EXPECT_EQ(IndexBlockEntryCountMax(4096, 8), 100u);
  EXPECT_EQ(IndexBlockLayout::RoundUp16(0), 0u);
  EXPECT_EQ(IndexBlockLayout::RoundUp16(1), 16u);
  EXPECT_EQ(IndexBlockLayout::RoundUp16(16), 16u);
  EXPECT_EQ(IndexBlockLayout::RoundUp16(17), 32u);
}

TEST(IndexBlockLayoutTest, ArraysAreAlignedOrderedAndDisjoint) {
  for (size_t key_size : {1u, 4u, 8u, 12u, 16u, 24u, 32u, 48u, 64u}) {
    for (size_t count = 1; count <= 300; count++) {
      SCOPED_TRACE("key size " + std::to_string(key_size) + ", count " +
                   std::to_string(count));
      const IndexBlockLayout layout = IndexBlockLayout::For(count, key_size);
      ASSERT_EQ(layout.checksums_offset, kBlockHeaderSizeBytes);
      ASSERT_EQ(layout.addresses_offset % 16, 0u);
      ASSERT_EQ(layout.keys_min_offset % 16, 0u);
      ASSERT_EQ(layout.keys_max_offset % 16, 0u);
      // Each array fits before the next, with less than 16 bytes of padding.
      const size_t checksums_end = layout.checksums_offset + count * 16;
      const size_t addresses_end = layout.addresses_offset + count * 8;
      const size_t keys_min_end = layout.keys_min_offset + count * key_size;
      ASSERT_LE(checksums_end, layout.addresses_offset);
      ASSERT_LT(layout.addresses_offset - checksums_end, 16u);
      ASSERT_LE(addresses_end, layout.keys_min_offset);
      ASSERT_LT(layout.keys_min_offset - addresses_end, 16u);
      ASSERT_LE(keys_min_end, layout.keys_max_offset);
      ASSERT_LT(layout.keys_max_offset - keys_min_end, 16u);
      ASSERT_EQ(layout.size_bytes, layout.keys_max_offset + count * key_size);
    }
  }
}

TEST(IndexBlockLayoutTest, EntryCountMaxIsTheLargestCountThatFits) {
  for (uint32_t block_size : {4096u, 8192u, 16384u, 65536u, 1u << 20}) {
    for (size_t key_size : {1u, 4u, 8u, 12u, 16u, 24u, 32u, 64u, 255u}) {
      SCOPED_TRACE("block " + std::to_string(block_size) + ", key " +
                   std::to_string(key_size));
      const uint32_t max = IndexBlockEntryCountMax(block_size, key_size);
      ASSERT_GT(max, 0u);
      EXPECT_LE(IndexBlockLayout::For(max, key_size).size_bytes, block_size);
      EXPECT_GT(IndexBlockLayout::For(max + 1, key_size).size_bytes,
                block_size);
    }
  }
}

template <typename Key>
class IndexBlockTest : public ::testing::Test {
 protected:
  struct Entry {
    Checksum128 checksum;
    BlockAddress address;
    Key key_min;
    Key key_max;
  };

  // Entries of `count` ascending, disjoint ranges: entry i covers keys
  // [KeyAt(2i), KeyAt(2i+1)] (or a single key, every third entry).
  static std::vector<Entry> MakeEntries(uint32_t count) {
    std::vector<Entry> entries;
    for (uint32_t i = 0; i < count; i++) {
      const Key min = KeyAt<Key>(2 * i);
      const Key max = i % 3 == 2 ? min : KeyAt<Key>(2 * i + 1);
      entries.push_back(
          Entry{ChecksumFor(i), 1000 + 3 * uint64_t{i}, min, max});
    }
    return entries;
  }

  static Checksum128 Build(const std::vector<Entry>& entries, std::byte* frame,
                           uint32_t block_size, BlockAddress address,
                           uint16_t level = 3) {
    IndexBlockBuilder<Key> builder;
    builder.Init(static_cast<uint32_t>(entries.size()));
    for (const Entry& e : entries) {
      builder.Add(e.checksum, e.address, e.key_min, e.key_max);
    }
    return builder.Seal(frame, block_size, address, kSchemaId,
                        /*snapshot_min=*/9, level);
  }

  static void ExpectView(const std::byte* frame,
                         const std::vector<Entry>& entries) {
    const IndexBlockView<Key> view(frame);
    ASSERT_EQ(view.count(), entries.size());
    ASSERT_EQ(view.checksums().size(), entries.size());
    ASSERT_EQ(view.addresses().size(), entries.size());
    ASSERT_EQ(view.keys_min().size(), entries.size());
    ASSERT_EQ(view.keys_max().size(), entries.size());
    // Every array is aligned (the frame is 4 KiB aligned).
    EXPECT_EQ(reinterpret_cast<uintptr_t>(view.checksums().data()) % 16, 0u);
    EXPECT_EQ(reinterpret_cast<uintptr_t>(view.addresses().data()) % 16, 0u);
    EXPECT_EQ(reinterpret_cast<uintptr_t>(view.keys_min().data()) % 16, 0u);
    EXPECT_EQ(reinterpret_cast<uintptr_t>(view.keys_max().data()) % 16, 0u);
    for (size_t i = 0; i < entries.size(); i++) {
      ASSERT_EQ(view.checksums()[i], entries[i].checksum) << i;
      ASSERT_EQ(view.addresses()[i], entries[i].address) << i;
      ASSERT_TRUE(KeyEq(view.keys_min()[i], entries[i].key_min)) << i;
      ASSERT_TRUE(KeyEq(view.keys_max()[i], entries[i].key_max)) << i;
    }
  }
};

using Keys = ::testing::Types<uint64_t, unsigned __int128, Key12>;
TYPED_TEST_SUITE(IndexBlockTest, Keys);

TYPED_TEST(IndexBlockTest, RoundTripAtFullCapacity) {
  using Key = TypeParam;
  for (uint32_t block_size : {4096u, 16384u, 65536u}) {
    SCOPED_TRACE(block_size);
    const uint32_t max = IndexBlockEntryCountMax(block_size, sizeof(Key));
    const auto entries = TestFixture::MakeEntries(max);
    AlignedBuffer frame(block_size);
    std::memset(frame.data(), 0xC3, block_size);
    IndexBlockBuilder<Key> builder;
    builder.Init(max);
    EXPECT_TRUE(builder.empty());
    for (const auto& e : entries) {
      ASSERT_FALSE(builder.full());
      builder.Add(e.checksum, e.address, e.key_min, e.key_max);
    }
    EXPECT_TRUE(builder.full());
    EXPECT_EQ(builder.count(), max);
    EXPECT_TRUE(KeyEq(builder.key_min(), entries.front().key_min));
    EXPECT_TRUE(KeyEq(builder.key_max(), entries.back().key_max));
    ASSERT_EQ(builder.addresses().size(), max);
    for (uint32_t i = 0; i < max; i++) {
      ASSERT_EQ(builder.addresses()[i], entries[i].address);
    }
    const Checksum128 checksum =
        builder.Seal(frame.data(), block_size, 77, kSchemaId, 9, 5);

    BlockExpectation expected;
    expected.address = 77;
    expected.checksum = checksum;
    expected.type = BlockType::kIndex;
    expected.schema_id = kSchemaId;
    ASSERT_TRUE(VerifyBlock(frame.data(), block_size, expected).ok());
    ASSERT_TRUE(ValidateIndexBlock<Key>(frame.data(), block_size).ok());
    const BlockHeader header = ReadHeader(frame.data());
    EXPECT_EQ(header.count, max);
    EXPECT_EQ(header.element_size, sizeof(Key));
    EXPECT_EQ(header.level, 5u);
    EXPECT_EQ(header.snapshot_min, 9u);
    EXPECT_EQ(header.size_bytes,
              IndexBlockLayout::For(max, sizeof(Key)).size_bytes);
    TestFixture::ExpectView(frame.data(), entries);
    for (uint32_t i = header.size_bytes; i < block_size; i++) {
      ASSERT_EQ(frame.data()[i], std::byte{0}) << i;
    }
  }
}

TYPED_TEST(IndexBlockTest, RoundTripOfSmallCountsZeroesThePadding) {
  using Key = TypeParam;
  for (uint32_t count = 1; count <= 9; count++) {
    SCOPED_TRACE(count);
    const auto entries = TestFixture::MakeEntries(count);
    AlignedBuffer frame(4096);
    std::memset(frame.data(), 0xFF, 4096);
    TestFixture::Build(entries, frame.data(), 4096, 4);
    ASSERT_TRUE(ValidateIndexBlock<Key>(frame.data(), 4096).ok());
    TestFixture::ExpectView(frame.data(), entries);
    // The gaps between the arrays are zero, not left-over bytes.
    const IndexBlockLayout layout = IndexBlockLayout::For(count, sizeof(Key));
    const size_t gaps[][2] = {
        {layout.checksums_offset + count * 16, layout.addresses_offset},
        {layout.addresses_offset + count * 8, layout.keys_min_offset},
        {layout.keys_min_offset + count * sizeof(Key), layout.keys_max_offset},
        {layout.size_bytes, 4096}};
    for (const auto& gap : gaps) {
      for (size_t i = gap[0]; i < gap[1]; i++) {
        ASSERT_EQ(frame.data()[i], std::byte{0}) << i;
      }
    }
  }
}

TYPED_TEST(IndexBlockTest, BuilderResetStartsOver) {
  using Key = TypeParam;
  IndexBlockBuilder<Key> builder;
  builder.Init(8);
  const auto entries = TestFixture::MakeEntries(8);
  for (const auto& e : entries) {
    builder.Add(e.checksum, e.address, e.key_min, e.key_max);
  }
  EXPECT_TRUE(builder.full());
  builder.Reset();
  EXPECT_TRUE(builder.empty());
  EXPECT_FALSE(builder.full());
  // Lower keys than before are accepted after Reset.
  std::vector<typename TestFixture::Entry> second(entries.begin(),
                                                  entries.begin() + 2);
  for (const auto& e : second) {
    builder.Add(e.checksum, e.address, e.key_min, e.key_max);
  }
  AlignedBuffer frame(4096);
  builder.Seal(frame.data(), 4096, 2, kSchemaId, 1, 0);
  ASSERT_TRUE(ValidateIndexBlock<Key>(frame.data(), 4096).ok());
  TestFixture::ExpectView(frame.data(), second);
}

// Rewrites the header with `mutate` and re-seals, so only validation can
// object.
template <typename Mutate>
void TamperHeaderAndReseal(std::byte* frame, uint32_t block_size,
                           Mutate mutate) {
  BlockHeader header = ReadHeader(frame);
  mutate(header);
  std::memcpy(frame, &header, sizeof(header));
  SealBlock(frame, block_size);
}

TYPED_TEST(IndexBlockTest, ValidateRejectsTamperedHeaders) {
  using Key = TypeParam;
  constexpr uint32_t kSize = 4096;
  const uint32_t max = IndexBlockEntryCountMax(kSize, sizeof(Key));
  AlignedBuffer frame(kSize);
  struct Case {
    const char* name;
    void (*mutate)(BlockHeader&, uint32_t max);
  };
  const Case cases[] = {
      {"key size + 1", [](BlockHeader& h, uint32_t) { h.element_size++; }},
      {"key size - 1", [](BlockHeader& h, uint32_t) { h.element_size--; }},
      {"key size 0", [](BlockHeader& h, uint32_t) { h.element_size = 0; }},
      {"count 0", [](BlockHeader& h, uint32_t) { h.count = 0; }},
      {"count + 1", [](BlockHeader& h, uint32_t) { h.count++; }},
      {"count - 1", [](BlockHeader& h, uint32_t) { h.count--; }},
      {"count max + 1", [](BlockHeader& h, uint32_t m) { h.count = m + 1; }},
      {"count huge", [](BlockHeader& h, uint32_t) { h.count = 0xFFFFFFFF; }},
      {"size - 1", [](BlockHeader& h, uint32_t) { h.size_bytes--; }},
      {"size + 16", [](BlockHeader& h, uint32_t) { h.size_bytes += 16; }},
      {"size header only", [](BlockHeader& h, uint32_t) { h.size_bytes = 64; }},
  };
  for (const uint32_t count : {2u, 5u, max - 1}) {
    const auto entries = TestFixture::MakeEntries(count);
    for (const Case& c : cases) {
      SCOPED_TRACE(std::string(c.name) + ", count " + std::to_string(count));
      TestFixture::Build(entries, frame.data(), kSize, 3);
      ASSERT_TRUE(ValidateIndexBlock<Key>(frame.data(), kSize).ok());
      TamperHeaderAndReseal(frame.data(), kSize,
                            [&](BlockHeader& h) { c.mutate(h, max); });
      const absl::Status status = ValidateIndexBlock<Key>(frame.data(), kSize);
      EXPECT_EQ(status.code(), absl::StatusCode::kDataLoss) << status;
    }
  }
}

TYPED_TEST(IndexBlockTest, ValidateRejectsBadKeyRanges) {
  using Key = TypeParam;
  constexpr uint32_t kSize = 4096;
  constexpr uint32_t kCount = 6;
  const auto entries = TestFixture::MakeEntries(kCount);
  const IndexBlockLayout layout = IndexBlockLayout::For(kCount, sizeof(Key));
  AlignedBuffer frame(kSize);
  auto key_min_at = [&](uint32_t i) {
    return frame.data() + layout.keys_min_offset + i * sizeof(Key);
  };
  auto key_max_at = [&](uint32_t i) {
    return frame.data() + layout.keys_max_offset + i * sizeof(Key);
  };
  auto expect_data_loss = [&](const char* what) {
    SealBlock(frame.data(), kSize);
    const absl::Status status = ValidateIndexBlock<Key>(frame.data(), kSize);
    EXPECT_EQ(status.code(), absl::StatusCode::kDataLoss) << what;
    EXPECT_NE(status.message().find(what), std::string::npos) << status;
  };
  for (uint32_t i = 0; i < kCount; i++) {
    SCOPED_TRACE(i);
    // key_max below key_min: entry i becomes [KeyAt(2i+1), KeyAt(2i)],
    // still clear of its neighbours.
    TestFixture::Build(entries, frame.data(), kSize, 3);
    const Key inverted_min = KeyAt<Key>(2 * i + 1);
    const Key inverted_max = KeyAt<Key>(2 * i);
    std::memcpy(key_min_at(i), &inverted_min, sizeof(Key));
    std::memcpy(key_max_at(i), &inverted_max, sizeof(Key));
    expect_data_loss("key_max below key_min");
    if (i == 0) continue;
    // Entry i starts at (and so overlaps) the previous entry's key_max.
    TestFixture::Build(entries, frame.data(), kSize, 3);
    std::memcpy(key_min_at(i), &entries[i - 1].key_max, sizeof(Key));
    expect_data_loss("overlap");
    // Entry i lies entirely before the previous one.
    TestFixture::Build(entries, frame.data(), kSize, 3);
    const Key early = KeyAt<Key>(0);
    std::memcpy(key_min_at(i), &early, sizeof(Key));
    std::memcpy(key_max_at(i), &early, sizeof(Key));
    expect_data_loss("overlap");
  }
}

// Random header and body bytes, re-sealed: ValidateIndexBlock never crashes,
// and whenever it accepts, the layout lies inside the block and the ranges
// ascend without overlap.
TYPED_TEST(IndexBlockTest, ValidateOfRandomBlocksNeverAcceptsNonsense) {
  using Key = TypeParam;
  constexpr uint32_t kSize = 4096;
  const uint32_t max = IndexBlockEntryCountMax(kSize, sizeof(Key));
  AlignedBuffer frame(kSize);
  Prng prng(77);
  int accepted = 0;
  for (int trial = 0; trial < 3000; trial++) {
    const uint32_t count = static_cast<uint32_t>(prng.Range(1, max));
    TestFixture::Build(TestFixture::MakeEntries(count), frame.data(), kSize, 3);
    BlockHeader header = ReadHeader(frame.data());
    switch (prng.Uniform(5)) {
      case 0:
        header.count = static_cast<uint32_t>(prng.Range(0, max + 5));
        break;
      case 1:
        header.count = static_cast<uint32_t>(prng.Next());
        break;
      case 2:
        header.element_size = static_cast<uint16_t>(prng.Uniform(40));
        break;
      case 3: {
        // Scribble on the keys.
        const uint64_t n = prng.Range(1, 8);
        for (uint64_t j = 0; j < n; j++) {
          const uint64_t at = prng.Range(64, header.size_bytes - 1);
          frame.data()[at] = static_cast<std::byte>(prng.Next());
        }
        break;
      }
      default:
        break;
    }
    if (prng.Chance(0.5) && header.count <= max && header.count > 0) {
      header.size_bytes = static_cast<uint32_t>(
          IndexBlockLayout::For(header.count, sizeof(Key)).size_bytes);
    }
    std::memcpy(frame.data(), &header, sizeof(header));
    SealBlock(frame.data(), kSize);
    const absl::Status status = ValidateIndexBlock<Key>(frame.data(), kSize);
    if (!status.ok()) {
      ASSERT_EQ(status.code(), absl::StatusCode::kDataLoss) << status;
      continue;
    }
    accepted++;
    ASSERT_EQ(header.element_size, sizeof(Key));
    ASSERT_GT(header.count, 0u);
    ASSERT_LE(IndexBlockLayout::For(header.count, sizeof(Key)).size_bytes,
              kSize);
    const IndexBlockView<Key> view(frame.data());
    for (uint32_t i = 0; i < view.count(); i++) {
      ASSERT_FALSE(view.keys_max()[i] < view.keys_min()[i]);
      if (i > 0) {
        ASSERT_TRUE(view.keys_max()[i - 1] < view.keys_min()[i]);
      }
    }
  }
  EXPECT_GT(accepted, 0);
}

template <typename Key>
class IndexBlockDeathTest : public IndexBlockTest<Key> {};
TYPED_TEST_SUITE(IndexBlockDeathTest, Keys);

TYPED_TEST(IndexBlockDeathTest, AddingOutOfOrderOrOverlappingRangesAborts) {
  using Key = TypeParam;
  IndexBlockBuilder<Key> builder;
  builder.Init(10);
  builder.Add(ChecksumFor(0), 5, KeyAt<Key>(10), KeyAt<Key>(20));
  // Before the previous range.
  EXPECT_DEATH(builder.Add(ChecksumFor(1), 6, KeyAt<Key>(1), KeyAt<Key>(2)),
               "assertion failed");
  // Starting at the previous key_max (overlap by one key).
  EXPECT_DEATH(builder.Add(ChecksumFor(1), 6, KeyAt<Key>(20), KeyAt<Key>(30)),
               "assertion failed");
  // Starting inside the previous range.
  EXPECT_DEATH(builder.Add(ChecksumFor(1), 6, KeyAt<Key>(15), KeyAt<Key>(30)),
               "assertion failed");
  // An inverted range.
  EXPECT_DEATH(builder.Add(ChecksumFor(1), 6, KeyAt<Key>(30), KeyAt<Key>(25)),
               "assertion failed");
  builder.Add(ChecksumFor(1), 6, KeyAt<Key>(21), KeyAt<Key>(21));
  EXPECT_EQ(builder.count(), 2u);
}

TYPED_TEST(IndexBlockDeathTest, MisuseAborts) {
  using Key = TypeParam;
  AlignedBuffer frame(4096);
  {
    IndexBlockBuilder<Key> builder;
    EXPECT_DEATH(builder.Init(0), "assertion failed");
  }
  {
    IndexBlockBuilder<Key> builder;
    builder.Init(2);
    EXPECT_DEATH(builder.Seal(frame.data(), 4096, 1, kSchemaId, 1, 0),
                 "assertion failed");
    EXPECT_DEATH(builder.key_min(), "assertion failed");
    EXPECT_DEATH(builder.key_max(), "assertion failed");
    builder.Add(ChecksumFor(0), 1, KeyAt<Key>(0), KeyAt<Key>(1));
    builder.Add(ChecksumFor(1), 2, KeyAt<Key>(2), KeyAt<Key>(3));
    EXPECT_DEATH(builder.Add(ChecksumFor(2), 3, KeyAt<Key>(4), KeyAt<Key>(5)),
                 "assertion failed");
  }
  {
    // More entries than one block can hold.
    const uint32_t too_many = IndexBlockEntryCountMax(4096, sizeof(Key)) + 1;
    IndexBlockBuilder<Key> builder;
    builder.Init(too_many);
    for (uint32_t i = 0; i < too_many; i++) {
      builder.Add(ChecksumFor(i), i, KeyAt<Key>(2 * i), KeyAt<Key>(2 * i + 1));
    }
    EXPECT_DEATH(builder.Seal(frame.data(), 4096, 1, kSchemaId, 1, 0),
                 "assertion failed");
  }
}

TYPED_TEST(IndexBlockDeathTest, ViewOfAnotherBlockTypeOrKeySizeAborts) {
  using Key = TypeParam;
  AlignedBuffer frame(4096);
  TestFixture::Build(TestFixture::MakeEntries(3), frame.data(), 4096, 3);
  if (sizeof(Key) != 8) {
    EXPECT_DEATH(
        {
          IndexBlockView<uint64_t> view(frame.data());
          (void)view;
        },
        "assertion failed");
  } else {
    EXPECT_DEATH(
        {
          IndexBlockView<unsigned __int128> view(frame.data());
          (void)view;
        },
        "assertion failed");
  }
  TamperHeaderAndReseal(frame.data(), 4096, [](BlockHeader& h) {
    h.block_type = BlockType::kData;
  });
  EXPECT_DEATH(
      {
        IndexBlockView<Key> view(frame.data());
        (void)view;
      },
      "assertion failed");
}

}  // namespace
}  // namespace lsmscan
