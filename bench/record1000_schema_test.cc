#include "lsmscan/bench/record1000_schema.h"

#include <cstdint>
#include <cstring>
#include <memory>
#include <optional>
#include <vector>

#include "gtest/gtest.h"
#include "lsmscan/bench/dataset.h"
#include "lsmscan/lsm/tree.h"
#include "lsmscan/lsm/tree_blocking.h"
#include "lsmscan/storage/memory_storage.h"

namespace lsmscan {
namespace bench {
namespace {

using Value = Record1000Schema::Value;

TEST(Record1000SchemaTest, LayoutIsKeyTombstonePayload) {
  EXPECT_EQ(sizeof(Value), 1000u);
  EXPECT_EQ(offsetof(Value, key), 0u);
  EXPECT_EQ(offsetof(Value, tombstone), 8u);
  EXPECT_EQ(offsetof(Value, payload), 9u);
  EXPECT_EQ(Value{}.payload.size(), 991u);
  // The dataset's payload for 1000-byte records fills it exactly.
  EXPECT_EQ(Dataset(10, kRecord1000Bytes, 1).payload_size_bytes(), 991u);
}

TEST(Record1000SchemaTest, TombstoneAndName) {
  const Value tombstone = Record1000Schema::tombstone(42);
  EXPECT_EQ(Record1000Schema::key_of(tombstone), 42u);
  EXPECT_TRUE(Record1000Schema::is_tombstone(tombstone));
  EXPECT_NE(std::string_view(Record1000Schema::kName),
            std::string_view(Record128Schema::kName));
}

// Enough 1000-byte values to seal and flush memory tables (4 data blocks
// of 65 values per table) round-trip through a tree byte for byte.
TEST(Record1000SchemaTest, ValuesRoundTripThroughATree) {
  StorageOptions storage_options;
  storage_options.block_count_max = 4096;
  auto storage = MemoryStorage::Create(storage_options);
  ASSERT_TRUE(storage.ok());
  TreeOptions options;
  options.table_data_block_count_max = 4;
  auto tree = Tree<Record1000Schema>::Create(storage->get(), options);
  ASSERT_TRUE(tree.ok()) << tree.status();
  const Dataset dataset(2000, kRecord1000Bytes, 7);
  auto value = std::make_unique<Value>();
  for (uint64_t key = 0; key < 2000; key++) {
    *value = Value{};
    value->key = key * 3;
    dataset.Payload(key * 3, 0, value->payload.data());
    ASSERT_TRUE(PutWithBackPressure(tree->get(), *value).ok());
  }
  ASSERT_TRUE(CheckpointBlocking(tree->get()).ok());
  EXPECT_GT((*tree)->stats().flushes, 0u);
  std::vector<uint8_t> expected(991);
  for (uint64_t key : {0ull, 3ull, 2997ull, 5997ull}) {
    auto got = GetBlocking(tree->get(), key, kSnapshotLatest, nullptr);
    ASSERT_TRUE(got.ok()) << got.status();
    ASSERT_TRUE(got->has_value()) << key;
    dataset.Payload(key, 0, expected.data());
    EXPECT_EQ(std::memcmp((*got)->payload.data(), expected.data(), 991), 0);
    EXPECT_FALSE(Record1000Schema::is_tombstone(**got));
  }
  auto absent = GetBlocking(tree->get(), 1, kSnapshotLatest, nullptr);
  ASSERT_TRUE(absent.ok());
  EXPECT_FALSE(absent->has_value());
}

}  // namespace
}  // namespace bench
}  // namespace lsmscan
