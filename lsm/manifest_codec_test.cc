// Unit tests of the manifest codec: EncodeManifestBlock() and
// DecodeManifestBlock() round trips (at capacity, for 8- and 16-byte keys),
// and the DataLoss a decoder reports for inconsistent blocks.

#include "lsmscan/lsm/manifest_codec.h"

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "gtest/gtest.h"
#include "lsmscan/lsm/block_header.h"
#include "lsmscan/lsm/checksum.h"
#include "lsmscan/lsm/table_info.h"
#include "lsmscan/storage/aligned_buffer.h"
#include "lsmscan/storage/base/prng.h"

namespace lsmscan {
namespace {

constexpr uint32_t kSchemaId = 0x0DDBA11;
constexpr uint32_t kLevelCount = 7;

template <typename Key>
Key RandomKey(Prng& prng);

template <>
uint64_t RandomKey<uint64_t>(Prng& prng) {
  return prng.Next();
}

template <>
unsigned __int128 RandomKey<unsigned __int128>(Prng& prng) {
  return (static_cast<unsigned __int128>(prng.Next()) << 64) | prng.Next();
}

template <typename Key>
TableInfo<Key> RandomInfo(Prng& prng) {
  TableInfo<Key> info;
  Key a = RandomKey<Key>(prng);
  Key b = RandomKey<Key>(prng);
  if (prng.Chance(0.1)) b = a;  // A single-key table.
  info.key_min = a < b ? a : b;
  info.key_max = a < b ? b : a;
  info.snapshot_min = prng.Next();
  info.snapshot_max = kSnapshotForever;
  info.index_address = prng.Next();
  info.index_checksum = Checksum128{prng.Next(), prng.Next()};
  info.value_count = prng.Next();
  info.tombstone_count = prng.Range(0, info.value_count);
  info.data_block_count = static_cast<uint32_t>(prng.Range(1, UINT32_MAX));
  info.level = static_cast<uint8_t>(prng.Uniform(kLevelCount));
  return info;
}

template <typename Key>
void ExpectSameInfo(const TableInfo<Key>& a, const TableInfo<Key>& b) {
  EXPECT_TRUE(a.key_min == b.key_min);
  EXPECT_TRUE(a.key_max == b.key_max);
  EXPECT_EQ(a.snapshot_min, b.snapshot_min);
  EXPECT_EQ(a.snapshot_max, b.snapshot_max);
  EXPECT_EQ(a.index_address, b.index_address);
  EXPECT_EQ(a.index_checksum, b.index_checksum);
  EXPECT_EQ(a.value_count, b.value_count);
  EXPECT_EQ(a.tombstone_count, b.tombstone_count);
  EXPECT_EQ(a.data_block_count, b.data_block_count);
  EXPECT_EQ(a.level, b.level);
}

TEST(ManifestCodecTest, EntrySizes) {
  EXPECT_EQ(ManifestEntrySizeBytes<uint64_t>(), 80u);
  EXPECT_EQ(ManifestEntrySizeBytes<unsigned __int128>(), 96u);
  EXPECT_EQ(ManifestEntrySizeBytes<uint32_t>(), 64u);
  EXPECT_EQ(ManifestEntryCountMax<uint64_t>(4096), 50u);
  EXPECT_EQ(ManifestEntryCountMax<unsigned __int128>(4096), 42u);
  EXPECT_EQ(ManifestEntryCountMax<uint64_t>(65536), (65536u - 64) / 80);
}

template <typename Key>
class ManifestCodecTypedTest : public ::testing::Test {};
using Keys = ::testing::Types<uint64_t, unsigned __int128>;
TYPED_TEST_SUITE(ManifestCodecTypedTest, Keys);

TYPED_TEST(ManifestCodecTypedTest, RoundTripAtCapacity) {
  using Key = TypeParam;
  Prng prng(sizeof(Key));
  for (uint32_t block_size : {4096u, 8192u, 65536u}) {
    SCOPED_TRACE(block_size);
    const uint32_t max = ManifestEntryCountMax<Key>(block_size);
    for (uint32_t count : {1u, 2u, max - 1, max}) {
      SCOPED_TRACE(count);
      std::vector<TableInfo<Key>> infos;
      for (uint32_t i = 0; i < count; i++)
        infos.push_back(RandomInfo<Key>(prng));
      AlignedBuffer frame(block_size);
      std::memset(frame.data(), 0x99, block_size);
      const Checksum128 checksum =
          EncodeManifestBlock<Key>(std::span<const TableInfo<Key>>(infos),
                                   frame.data(), block_size, 33, kSchemaId);
      BlockExpectation expected;
      expected.address = 33;
      expected.checksum = checksum;
      expected.type = BlockType::kManifest;
      expected.schema_id = kSchemaId;
      ASSERT_TRUE(VerifyBlock(frame.data(), block_size, expected).ok());
      const BlockHeader header = ReadHeader(frame.data());
      EXPECT_EQ(header.count, count);
      EXPECT_EQ(header.element_size, ManifestEntrySizeBytes<Key>());
      EXPECT_EQ(header.size_bytes, 64 + count * ManifestEntrySizeBytes<Key>());
      EXPECT_LE(header.size_bytes, block_size);
      // Reserved bytes of every entry, and padding, are zero.
      for (uint32_t i = 0; i < count; i++) {
        const std::byte* entry =
            frame.data() + 64 + i * ManifestEntrySizeBytes<Key>();
        for (size_t j = 1; j < 4; j++) ASSERT_EQ(entry[j], std::byte{0});
        for (size_t j = 56 + 2 * sizeof(Key); j < ManifestEntrySizeBytes<Key>();
             j++) {
          ASSERT_EQ(entry[j], std::byte{0});
        }
      }
      for (uint32_t i = header.size_bytes; i < block_size; i++) {
        ASSERT_EQ(frame.data()[i], std::byte{0}) << i;
      }
      // Decoding appends after what the vector already holds.
      std::vector<TableInfo<Key>> decoded(1);
      decoded[0].value_count = 12345;
      ASSERT_TRUE(DecodeManifestBlock<Key>(frame.data(), block_size,
                                           kLevelCount, &decoded)
                      .ok());
      ASSERT_EQ(decoded.size(), count + 1);
      EXPECT_EQ(decoded[0].value_count, 12345u);
      for (uint32_t i = 0; i < count; i++) {
        SCOPED_TRACE(i);
        ExpectSameInfo(decoded[i + 1], infos[i]);
      }
    }
  }
}

// Encodes `infos`, lets `tamper` change the block, re-seals, decodes.
template <typename Key, typename Tamper>
absl::Status EncodeTamperDecode(const std::vector<TableInfo<Key>>& infos,
                                Tamper tamper,
                                uint32_t level_count = kLevelCount) {
  AlignedBuffer frame(4096);
  EncodeManifestBlock<Key>(std::span<const TableInfo<Key>>(infos), frame.data(),
                           4096, 10, kSchemaId);
  tamper(frame.data());
  SealBlock(frame.data(), 4096);
  std::vector<TableInfo<Key>> decoded;
  return DecodeManifestBlock<Key>(frame.data(), 4096, level_count, &decoded);
}

std::vector<TableInfo<uint64_t>> SomeInfos(size_t count) {
  Prng prng(count);
  std::vector<TableInfo<uint64_t>> infos;
  for (size_t i = 0; i < count; i++)
    infos.push_back(RandomInfo<uint64_t>(prng));
  return infos;
}

TEST(ManifestCodecTest, LevelOutOfRangeIsDataLoss) {
  for (size_t bad : {size_t{0}, size_t{3}, size_t{9}}) {
    std::vector<TableInfo<uint64_t>> infos = SomeInfos(10);
    for (size_t i = 0; i < infos.size(); i++) {
      infos[i].level = static_cast<uint8_t>(i % 6);
    }
    infos[bad].level = 6;
    EXPECT_TRUE(EncodeTamperDecode(
                    infos, [](std::byte*) {}, 7)
                    .ok());
    const absl::Status status = EncodeTamperDecode(
        infos, [](std::byte*) {}, 6);
    EXPECT_EQ(status.code(), absl::StatusCode::kDataLoss) << status;
    EXPECT_NE(status.message().find("entry " + std::to_string(bad)),
              std::string::npos)
        << status;
    infos[bad].level = 255;
    EXPECT_EQ(EncodeTamperDecode(
                  infos, [](std::byte*) {}, 7)
                  .code(),
              absl::StatusCode::kDataLoss);
  }
}

TEST(ManifestCodecTest, InvertedRangeIsDataLoss) {
  for (size_t bad : {size_t{0}, size_t{4}}) {
    std::vector<TableInfo<uint64_t>> infos = SomeInfos(5);
    infos[bad].key_min = 100;
    infos[bad].key_max = 99;
    const absl::Status status = EncodeTamperDecode(infos, [](std::byte*) {});
    EXPECT_EQ(status.code(), absl::StatusCode::kDataLoss) << status;
    EXPECT_NE(status.message().find("entry " + std::to_string(bad)),
              std::string::npos)
        << status;
  }
  // A single key (min == max) is fine.
  std::vector<TableInfo<uint64_t>> infos = SomeInfos(2);
  infos[1].key_min = infos[1].key_max = 5;
  EXPECT_TRUE(EncodeTamperDecode(infos, [](std::byte*) {}).ok());
  // Inverted in the high word of a 16-byte key.
  std::vector<TableInfo<unsigned __int128>> wide(1);
  wide[0].key_min = static_cast<unsigned __int128>(2) << 64;
  wide[0].key_max = (static_cast<unsigned __int128>(1) << 64) | ~uint64_t{0};
  wide[0].data_block_count = 1;
  EXPECT_EQ(EncodeTamperDecode(wide, [](std::byte*) {}).code(),
            absl::StatusCode::kDataLoss);
}

TEST(ManifestCodecTest, MoreTombstonesThanValuesIsDataLoss) {
  std::vector<TableInfo<uint64_t>> infos = SomeInfos(3);
  infos[2].value_count = 7;
  infos[2].tombstone_count = 7;  // Only tombstones: fine.
  EXPECT_TRUE(EncodeTamperDecode(infos, [](std::byte*) {}).ok());
  infos[2].tombstone_count = 8;
  const absl::Status status = EncodeTamperDecode(infos, [](std::byte*) {});
  EXPECT_EQ(status.code(), absl::StatusCode::kDataLoss) << status;
  EXPECT_NE(status.message().find("entry 2"), std::string::npos) << status;
}

TEST(ManifestCodecTest, ZeroDataBlocksIsDataLoss) {
  std::vector<TableInfo<uint64_t>> infos = SomeInfos(3);
  infos[1].data_block_count = 0;
  EXPECT_EQ(EncodeTamperDecode(infos, [](std::byte*) {}).code(),
            absl::StatusCode::kDataLoss);
}

TEST(ManifestCodecTest, InconsistentHeaderIsDataLoss) {
  const std::vector<TableInfo<uint64_t>> infos = SomeInfos(5);
  auto with_header = [&](void (*mutate)(BlockHeader&)) {
    return EncodeTamperDecode(infos, [mutate](std::byte* frame) {
      BlockHeader header = ReadHeader(frame);
      mutate(header);
      std::memcpy(frame, &header, sizeof(header));
    });
  };
  const struct {
    const char* name;
    void (*mutate)(BlockHeader&);
  } cases[] = {
      {"entry size", [](BlockHeader& h) { h.element_size = 96; }},
      {"entry size 0", [](BlockHeader& h) { h.element_size = 0; }},
      {"count 0", [](BlockHeader& h) { h.count = 0; }},
      {"count + 1", [](BlockHeader& h) { h.count++; }},
      {"count - 1", [](BlockHeader& h) { h.count--; }},
      {"count over max", [](BlockHeader& h) { h.count = 51; }},
      {"count huge", [](BlockHeader& h) { h.count = 0xFFFFFFFF; }},
      {"size - 1", [](BlockHeader& h) { h.size_bytes--; }},
      {"size + entry", [](BlockHeader& h) { h.size_bytes += 80; }},
  };
  for (const auto& c : cases) {
    const absl::Status status = with_header(c.mutate);
    EXPECT_EQ(status.code(), absl::StatusCode::kDataLoss) << c.name;
    EXPECT_NE(status.message().find("count and size disagree"),
              std::string::npos)
        << c.name << ": " << status;
  }
  // Decoding with a 16-byte key a block written with 8-byte keys.
  AlignedBuffer frame(4096);
  EncodeManifestBlock<uint64_t>(std::span<const TableInfo<uint64_t>>(infos),
                                frame.data(), 4096, 10, kSchemaId);
  std::vector<TableInfo<unsigned __int128>> wide;
  EXPECT_EQ(DecodeManifestBlock<unsigned __int128>(frame.data(), 4096,
                                                   kLevelCount, &wide)
                .code(),
            absl::StatusCode::kDataLoss);
}

// Random scribbles over the entries, re-sealed: decoding never crashes, and
// whatever it accepts is valid.
TEST(ManifestCodecTest, RandomEntryBytesNeverDecodeToInvalidInfos) {
  Prng prng(4242);
  int rejected = 0;
  for (int trial = 0; trial < 2000; trial++) {
    const std::vector<TableInfo<uint64_t>> infos =
        SomeInfos(prng.Range(1, ManifestEntryCountMax<uint64_t>(4096)));
    AlignedBuffer frame(4096);
    EncodeManifestBlock<uint64_t>(std::span<const TableInfo<uint64_t>>(infos),
                                  frame.data(), 4096, 10, kSchemaId);
    const uint32_t size = ReadHeader(frame.data()).size_bytes;
    const uint64_t writes = prng.Range(1, 10);
    for (uint64_t i = 0; i < writes; i++) {
      frame.data()[prng.Range(64, size - 1)] =
          static_cast<std::byte>(prng.Next());
    }
    SealBlock(frame.data(), 4096);
    std::vector<TableInfo<uint64_t>> decoded;
    const absl::Status status = DecodeManifestBlock<uint64_t>(
        frame.data(), 4096, kLevelCount, &decoded);
    if (!status.ok()) {
      ASSERT_EQ(status.code(), absl::StatusCode::kDataLoss);
      rejected++;
      continue;
    }
    ASSERT_EQ(decoded.size(), infos.size());
    for (const TableInfo<uint64_t>& info : decoded) {
      ASSERT_LT(info.level, kLevelCount);
      ASSERT_LE(info.key_min, info.key_max);
      ASSERT_GT(info.data_block_count, 0u);
      ASSERT_LE(info.tombstone_count, info.value_count);
      ASSERT_EQ(info.snapshot_max, kSnapshotForever);
    }
  }
  EXPECT_GT(rejected, 0);
}

TEST(ManifestCodecDeathTest, EncodeRejectsMisuse) {
  AlignedBuffer frame(4096);
  std::vector<TableInfo<uint64_t>> none;
  EXPECT_DEATH(
      EncodeManifestBlock<uint64_t>(std::span<const TableInfo<uint64_t>>(none),
                                    frame.data(), 4096, 1, kSchemaId),
      "assertion failed");
  const std::vector<TableInfo<uint64_t>> too_many =
      SomeInfos(ManifestEntryCountMax<uint64_t>(4096) + 1);
  EXPECT_DEATH(EncodeManifestBlock<uint64_t>(
                   std::span<const TableInfo<uint64_t>>(too_many), frame.data(),
                   4096, 1, kSchemaId),
               "assertion failed");
  std::vector<TableInfo<uint64_t>> retired = SomeInfos(2);
  retired[1].snapshot_max = 5;  // Retired tables are never persisted.
  EXPECT_DEATH(EncodeManifestBlock<uint64_t>(
                   std::span<const TableInfo<uint64_t>>(retired), frame.data(),
                   4096, 1, kSchemaId),
               "assertion failed");
}

}  // namespace
}  // namespace lsmscan
