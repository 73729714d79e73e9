// Unit tests of the block header: SealBlock(), VerifyBlock(),
// VerifyBlockSelf(), SchemaId() and BlockTypeName().

#include "lsmscan/lsm/block_header.h"

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <set>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "gtest/gtest.h"
#include "lsmscan/lsm/checksum.h"
#include "lsmscan/storage/aligned_buffer.h"
#include "lsmscan/storage/base/prng.h"

namespace lsmscan {
namespace {

constexpr uint32_t kBlockSize = 4096;
constexpr uint32_t kSchemaId = 0x5EED1234;

bool Contains(absl::string_view haystack, absl::string_view needle) {
  return haystack.find(needle) != absl::string_view::npos;
}

// Writes a header with `size_bytes` and a pseudo-random body into `block`,
// fills the rest of the block with 0xAB and seals it.
Checksum128 MakeBlock(std::byte* block, uint32_t block_size,
                      uint32_t size_bytes, BlockType type, BlockAddress address,
                      uint64_t seed) {
  std::memset(block, 0xAB, block_size);
  Prng prng(seed);
  for (uint32_t i = kBlockHeaderSizeBytes; i < size_bytes; i++) {
    block[i] = static_cast<std::byte>(prng.Next());
  }
  BlockHeader header;
  header.block_type = type;
  header.address = address;
  header.size_bytes = size_bytes;
  header.schema_id = kSchemaId;
  header.snapshot_min = 77;
  header.count = 3;
  header.element_size = 32;
  header.level = 2;
  std::memcpy(block, &header, sizeof(header));
  return SealBlock(block, block_size);
}

BlockExpectation Expect(BlockAddress address, const Checksum128& checksum,
                        BlockType type = BlockType::kData,
                        uint32_t schema_id = kSchemaId) {
  BlockExpectation expected;
  expected.address = address;
  expected.checksum = checksum;
  expected.type = type;
  expected.schema_id = schema_id;
  return expected;
}

void FlipBit(std::byte* block, size_t bit) {
  block[bit / 8] ^= static_cast<std::byte>(1u << (bit % 8));
}

TEST(BlockHeaderTest, BlockTypeNames) {
  EXPECT_STREQ(BlockTypeName(BlockType::kSuperblock), "superblock");
  EXPECT_STREQ(BlockTypeName(BlockType::kManifest), "manifest");
  EXPECT_STREQ(BlockTypeName(BlockType::kIndex), "index");
  EXPECT_STREQ(BlockTypeName(BlockType::kData), "data");
  EXPECT_STREQ(BlockTypeName(static_cast<BlockType>(0)), "unknown");
  EXPECT_STREQ(BlockTypeName(static_cast<BlockType>(200)), "unknown");
}

TEST(BlockHeaderTest, SealedBlockVerifies) {
  AlignedBuffer buffer(kBlockSize);
  for (BlockType type : {BlockType::kSuperblock, BlockType::kManifest,
                         BlockType::kIndex, BlockType::kData}) {
    for (uint32_t size : {uint32_t{kBlockHeaderSizeBytes}, uint32_t{65},
                          uint32_t{1000}, kBlockSize}) {
      SCOPED_TRACE(std::string(BlockTypeName(type)) + " size " +
                   std::to_string(size));
      const Checksum128 checksum =
          MakeBlock(buffer.data(), kBlockSize, size, type, 9, size);
      EXPECT_TRUE(
          VerifyBlock(buffer.data(), kBlockSize, Expect(9, checksum, type))
              .ok());
      EXPECT_TRUE(VerifyBlockSelf(buffer.data(), kBlockSize,
                                  Expect(9, Checksum128{}, type))
                      .ok());
    }
  }
}

TEST(BlockHeaderTest, SealReturnsAndStoresTheChecksumOfBytesFrom16ToSize) {
  AlignedBuffer buffer(kBlockSize);
  const uint32_t size = 777;
  const Checksum128 checksum =
      MakeBlock(buffer.data(), kBlockSize, size, BlockType::kData, 3, 1);
  EXPECT_EQ(ReadHeader(buffer.data()).checksum, checksum);
  EXPECT_EQ(checksum, ChecksumBytes(buffer.data() + 16, size - 16));
  EXPECT_NE(checksum, Checksum128{});
  // Sealing twice is idempotent.
  EXPECT_EQ(SealBlock(buffer.data(), kBlockSize), checksum);
}

TEST(BlockHeaderTest, SealZeroesBytesPastSize) {
  AlignedBuffer buffer(kBlockSize);
  AlignedBuffer before(kBlockSize);
  for (uint32_t size : {uint32_t{64}, uint32_t{100}, uint32_t{4095}}) {
    std::memset(buffer.data(), 0xCD, kBlockSize);
    BlockHeader header;
    header.size_bytes = size;
    std::memcpy(buffer.data(), &header, sizeof(header));
    std::memcpy(before.data(), buffer.data(), kBlockSize);
    SealBlock(buffer.data(), kBlockSize);
    for (uint32_t i = 16; i < size; i++) {
      ASSERT_EQ(buffer.data()[i], before.data()[i])
          << "size " << size << " " << i;
    }
    for (uint32_t i = size; i < kBlockSize; i++) {
      ASSERT_EQ(buffer.data()[i], std::byte{0}) << "size " << size << " " << i;
    }
  }
}

TEST(BlockHeaderTest, SealDoesNotTouchBytesPastTheBlockSize) {
  // A block of 4096 inside a larger buffer: Seal must stay within it.
  AlignedBuffer buffer(2 * kBlockSize);
  std::memset(buffer.data(), 0xEE, 2 * kBlockSize);
  BlockHeader header;
  header.size_bytes = 100;
  std::memcpy(buffer.data(), &header, sizeof(header));
  SealBlock(buffer.data(), kBlockSize);
  for (uint32_t i = kBlockSize; i < 2 * kBlockSize; i++) {
    ASSERT_EQ(buffer.data()[i], std::byte{0xEE}) << i;
  }
}

// Every single-bit flip in [0, size_bytes) must be caught, by both
// VerifyBlock and VerifyBlockSelf, as DataLoss.
void ExpectEveryBitFlipDetected(uint32_t block_size, uint32_t size,
                                BlockType type, uint64_t seed) {
  AlignedBuffer buffer(block_size);
  const BlockAddress address = 12345;
  const Checksum128 checksum =
      MakeBlock(buffer.data(), block_size, size, type, address, seed);
  const BlockExpectation expected = Expect(address, checksum, type);
  ASSERT_TRUE(VerifyBlock(buffer.data(), block_size, expected).ok());
  for (size_t bit = 0; bit < size_t{size} * 8; bit++) {
    FlipBit(buffer.data(), bit);
    const absl::Status full = VerifyBlock(buffer.data(), block_size, expected);
    const absl::Status self =
        VerifyBlockSelf(buffer.data(), block_size, expected);
    FlipBit(buffer.data(), bit);
    ASSERT_EQ(full.code(), absl::StatusCode::kDataLoss)
        << "bit " << bit << " (byte " << bit / 8 << "): " << full;
    ASSERT_EQ(self.code(), absl::StatusCode::kDataLoss)
        << "bit " << bit << " (byte " << bit / 8 << "): " << self;
    // The message names the block.
    ASSERT_TRUE(Contains(full.message(), std::to_string(address))) << full;
  }
  // The block is intact again.
  ASSERT_TRUE(VerifyBlock(buffer.data(), block_size, expected).ok());
}

TEST(BlockHeaderTest, EveryBitFlipInAFullBlockIsDetected) {
  ExpectEveryBitFlipDetected(kBlockSize, kBlockSize, BlockType::kData, 1);
}

TEST(BlockHeaderTest, EveryBitFlipInAPartialBlockIsDetected) {
  ExpectEveryBitFlipDetected(kBlockSize, 333, BlockType::kIndex, 2);
  ExpectEveryBitFlipDetected(kBlockSize, kBlockHeaderSizeBytes,
                             BlockType::kManifest, 3);
  ExpectEveryBitFlipDetected(8192, 4100, BlockType::kSuperblock, 4);
}

TEST(BlockHeaderTest, RandomMultiBitCorruptionIsDetected) {
  AlignedBuffer buffer(kBlockSize);
  AlignedBuffer copy(kBlockSize);
  const Checksum128 checksum =
      MakeBlock(buffer.data(), kBlockSize, 2000, BlockType::kData, 5, 5);
  const BlockExpectation expected = Expect(5, checksum);
  Prng prng(99);
  for (int trial = 0; trial < 2000; trial++) {
    std::memcpy(copy.data(), buffer.data(), kBlockSize);
    const uint64_t flips = prng.Range(2, 16);
    for (uint64_t i = 0; i < flips; i++) {
      // Flip distinct bits by xoring a non-zero byte at a random position.
      const uint64_t byte = prng.Uniform(2000);
      copy.data()[byte] ^= static_cast<std::byte>(prng.Range(1, 255));
    }
    if (std::memcmp(copy.data(), buffer.data(), 2000) == 0) continue;
    ASSERT_EQ(VerifyBlock(copy.data(), kBlockSize, expected).code(),
              absl::StatusCode::kDataLoss)
        << "trial " << trial;
  }
}

TEST(BlockHeaderTest, WrongExpectedChecksumIsDataLoss) {
  AlignedBuffer buffer(kBlockSize);
  const Checksum128 checksum =
      MakeBlock(buffer.data(), kBlockSize, 500, BlockType::kData, 4, 4);
  for (int word = 0; word < 2; word++) {
    for (int bit = 0; bit < 64; bit += 7) {
      Checksum128 wrong = checksum;
      (word == 0 ? wrong.low : wrong.high) ^= uint64_t{1} << bit;
      const absl::Status status =
          VerifyBlock(buffer.data(), kBlockSize, Expect(4, wrong));
      ASSERT_EQ(status.code(), absl::StatusCode::kDataLoss);
      EXPECT_TRUE(Contains(status.message(), "checksum")) << status;
      EXPECT_TRUE(Contains(status.message(), "parent")) << status;
    }
  }
  // VerifyBlockSelf ignores the expected checksum.
  EXPECT_TRUE(
      VerifyBlockSelf(buffer.data(), kBlockSize, Expect(4, Checksum128{}))
          .ok());
}

TEST(BlockHeaderTest, WrongExpectedAddressIsDataLoss) {
  AlignedBuffer buffer(kBlockSize);
  const Checksum128 checksum =
      MakeBlock(buffer.data(), kBlockSize, 500, BlockType::kData, 4, 4);
  for (BlockAddress wrong : {BlockAddress{0}, BlockAddress{3}, BlockAddress{5},
                             BlockAddress{4} + (BlockAddress{1} << 40)}) {
    for (bool self : {false, true}) {
      const absl::Status status =
          self
              ? VerifyBlockSelf(buffer.data(), kBlockSize,
                                Expect(wrong, checksum))
              : VerifyBlock(buffer.data(), kBlockSize, Expect(wrong, checksum));
      ASSERT_EQ(status.code(), absl::StatusCode::kDataLoss);
      EXPECT_TRUE(Contains(status.message(), "claims address 4")) << status;
      EXPECT_TRUE(Contains(status.message(), std::to_string(wrong))) << status;
    }
  }
}

TEST(BlockHeaderTest, WrongExpectedTypeIsDataLoss) {
  AlignedBuffer buffer(kBlockSize);
  const Checksum128 checksum =
      MakeBlock(buffer.data(), kBlockSize, 500, BlockType::kIndex, 4, 4);
  for (BlockType wrong :
       {BlockType::kSuperblock, BlockType::kManifest, BlockType::kData}) {
    const absl::Status status =
        VerifyBlock(buffer.data(), kBlockSize, Expect(4, checksum, wrong));
    ASSERT_EQ(status.code(), absl::StatusCode::kDataLoss);
    EXPECT_TRUE(Contains(status.message(), "holds a index block")) << status;
    EXPECT_TRUE(Contains(status.message(), BlockTypeName(wrong))) << status;
  }
}

TEST(BlockHeaderTest, WrongExpectedSchemaIsDataLoss) {
  AlignedBuffer buffer(kBlockSize);
  const Checksum128 checksum =
      MakeBlock(buffer.data(), kBlockSize, 500, BlockType::kData, 4, 4);
  for (bool self : {false, true}) {
    const BlockExpectation expected =
        Expect(4, checksum, BlockType::kData, kSchemaId + 1);
    const absl::Status status =
        self ? VerifyBlockSelf(buffer.data(), kBlockSize, expected)
             : VerifyBlock(buffer.data(), kBlockSize, expected);
    ASSERT_EQ(status.code(), absl::StatusCode::kDataLoss);
    EXPECT_TRUE(Contains(status.message(), "schema")) << status;
  }
}

// Tampers with a header field and recomputes the checksum (SealBlock would
// refuse a bad magic), so only the field check can catch it.
template <typename Mutate>
absl::Status TamperAndVerify(Mutate mutate, uint32_t block_size = kBlockSize) {
  AlignedBuffer buffer(block_size);
  MakeBlock(buffer.data(), block_size, 500, BlockType::kData, 4, 4);
  BlockHeader header = ReadHeader(buffer.data());
  mutate(header);
  const uint32_t extent =
      header.size_bytes >= 16 && header.size_bytes <= block_size
          ? header.size_bytes
          : 500;
  std::memcpy(buffer.data(), &header, sizeof(header));
  header.checksum = ChecksumBytes(buffer.data() + 16, extent - 16);
  std::memcpy(buffer.data(), &header.checksum, sizeof(header.checksum));
  return VerifyBlock(buffer.data(), block_size,
                     Expect(4, header.checksum, BlockType::kData));
}

TEST(BlockHeaderTest, BadHeaderFieldsWithAValidChecksumAreDataLoss) {
  {
    const absl::Status status =
        TamperAndVerify([](BlockHeader& h) { h.magic ^= 1; });
    EXPECT_EQ(status.code(), absl::StatusCode::kDataLoss);
    EXPECT_TRUE(Contains(status.message(), "magic")) << status;
  }
  {
    const absl::Status status =
        TamperAndVerify([](BlockHeader& h) { h.format_version = 99; });
    EXPECT_EQ(status.code(), absl::StatusCode::kDataLoss);
    EXPECT_TRUE(Contains(status.message(), "format version 99")) << status;
  }
  {
    const absl::Status status = TamperAndVerify(
        [](BlockHeader& h) { h.block_type = static_cast<BlockType>(9); });
    EXPECT_EQ(status.code(), absl::StatusCode::kDataLoss);
    EXPECT_TRUE(Contains(status.message(), "unknown")) << status;
  }
  {
    const absl::Status status =
        TamperAndVerify([](BlockHeader& h) { h.address = 5; });
    EXPECT_EQ(status.code(), absl::StatusCode::kDataLoss);
    EXPECT_TRUE(Contains(status.message(), "claims address 5")) << status;
  }
  {
    const absl::Status status =
        TamperAndVerify([](BlockHeader& h) { h.schema_id ^= 0x100; });
    EXPECT_EQ(status.code(), absl::StatusCode::kDataLoss);
    EXPECT_TRUE(Contains(status.message(), "schema")) << status;
  }
  for (uint32_t size : {uint32_t{0}, uint32_t{16}, uint32_t{63}, kBlockSize + 1,
                        uint32_t{0xFFFFFFFF}}) {
    const absl::Status status =
        TamperAndVerify([size](BlockHeader& h) { h.size_bytes = size; });
    EXPECT_EQ(status.code(), absl::StatusCode::kDataLoss) << size;
    EXPECT_TRUE(Contains(status.message(), "bad size")) << status;
  }
}

TEST(BlockHeaderTest, BlockLargerThanTheReadersBlockSizeIsDataLoss) {
  AlignedBuffer buffer(8192);
  const Checksum128 checksum =
      MakeBlock(buffer.data(), 8192, 5000, BlockType::kData, 4, 4);
  ASSERT_TRUE(VerifyBlock(buffer.data(), 8192, Expect(4, checksum)).ok());
  const absl::Status status =
      VerifyBlock(buffer.data(), 4096, Expect(4, checksum));
  EXPECT_EQ(status.code(), absl::StatusCode::kDataLoss);
  EXPECT_TRUE(Contains(status.message(), "bad size 5000")) << status;
}

TEST(BlockHeaderTest, AllZeroBlockIsDataLoss) {
  AlignedBuffer buffer(kBlockSize);
  EXPECT_EQ(
      VerifyBlock(buffer.data(), kBlockSize, Expect(0, Checksum128{})).code(),
      absl::StatusCode::kDataLoss);
  EXPECT_EQ(VerifyBlockSelf(buffer.data(), kBlockSize, Expect(0, Checksum128{}))
                .code(),
            absl::StatusCode::kDataLoss);
}

TEST(BlockHeaderTest, SchemaIdDependsOnNameAndSizes) {
  const uint32_t base = SchemaId("lsmscan.record32", 8, 32);
  EXPECT_EQ(base, SchemaId("lsmscan.record32", 8, 32));  // Deterministic.
  EXPECT_NE(base, SchemaId("lsmscan.record128", 8, 32));
  EXPECT_NE(base, SchemaId("lsmscan.record32", 16, 32));
  EXPECT_NE(base, SchemaId("lsmscan.record32", 8, 128));
  EXPECT_NE(base, SchemaId("lsmscan.record3", 8, 32));
  EXPECT_NE(base, SchemaId("", 8, 32));
  // Swapping the sizes changes the id.
  EXPECT_NE(SchemaId("s", 8, 16), SchemaId("s", 16, 8));
  // No collisions among a family of similar schemas.
  std::set<uint32_t> ids;
  int count = 0;
  for (const char* name : {"a", "b", "ab", "a/1", "account.v1", "account.v2"}) {
    for (size_t key = 1; key <= 32; key *= 2) {
      for (size_t value = key; value <= 256; value *= 2) {
        ids.insert(SchemaId(name, key, value));
        count++;
      }
    }
  }
  EXPECT_EQ(ids.size(), static_cast<size_t>(count));
}

TEST(BlockHeaderDeathTest, SealRejectsBadHeaders) {
  AlignedBuffer buffer(kBlockSize);
  BlockHeader header;
  header.size_bytes = 63;
  std::memcpy(buffer.data(), &header, sizeof(header));
  EXPECT_DEATH(SealBlock(buffer.data(), kBlockSize), "assertion failed");
  header.size_bytes = kBlockSize + 1;
  std::memcpy(buffer.data(), &header, sizeof(header));
  EXPECT_DEATH(SealBlock(buffer.data(), kBlockSize), "assertion failed");
  header.size_bytes = 100;
  header.magic = 0;
  std::memcpy(buffer.data(), &header, sizeof(header));
  EXPECT_DEATH(SealBlock(buffer.data(), kBlockSize), "assertion failed");
}

}  // namespace
}  // namespace lsmscan
