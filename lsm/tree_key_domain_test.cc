// The key domain: a key a schema accepts is stored as itself, on every path
// (memory tables, disk levels, reopen), and a key it refuses is an error,
// never another key or a tombstone (issue 13, item 4). The shipped record
// schemas accept every uint64_t key.

#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "absl/status/status.h"
#include "gtest/gtest.h"
#include "lsmscan/lsm/schema.h"
#include "lsmscan/lsm/tree.h"
#include "lsmscan/lsm/tree_testing.h"
#include "lsmscan/storage/aligned_buffer.h"
#include "lsmscan/storage/memory_storage.h"

namespace lsmscan {
namespace {

using Schema32 = Record32Schema;
using Value = Schema32::Value;
using Tree32 = Tree<Schema32>;
using ::lsmscan::testing::CheckpointBlocking;
using ::lsmscan::testing::CompactAllBlocking;
using ::lsmscan::testing::GetBlocking;
using ::lsmscan::testing::SmallTreeOptions;

constexpr uint64_t kBit63 = uint64_t{1} << 63;

// Keys at the ends of the domain and around the bit the tombstone flag used
// to live in.
const std::vector<uint64_t>& EdgeKeys() {
  static const std::vector<uint64_t> keys = {
      0,          1,          kBit63 - 2, kBit63 - 1,     kBit63,
      kBit63 + 1, kBit63 + 5, kBit63 + 7, UINT64_MAX - 1, UINT64_MAX};
  return keys;
}

class TreeKeyDomainTest : public testing::TreeFixture {
 protected:
  void SetUp() override {
    StorageOptions options = testing::SmallStorageOptions();
    options.block_count_max = 1 << 12;
    CreateTree(testing::SmallTreeOptions(), options);
  }

  void Reopen() { ReopenTree(); }
};

TEST(RecordSchemaTest, MakeKeepsEveryBitOfTheKey) {
  for (uint64_t key : EdgeKeys()) {
    const Value value = Schema32::Make(key, 3);
    EXPECT_EQ(Schema32::key_of(value), key);
    EXPECT_FALSE(Schema32::is_tombstone(value)) << key;
    EXPECT_EQ(Record128Schema::key_of(Record128Schema::Make(key, 3)), key);
  }
}

TEST(RecordSchemaTest, TombstoneKeepsEveryBitOfTheKey) {
  for (uint64_t key : EdgeKeys()) {
    const Value tombstone = Schema32::tombstone(key);
    EXPECT_EQ(Schema32::key_of(tombstone), key);
    EXPECT_TRUE(Schema32::is_tombstone(tombstone)) << key;
  }
}

TEST_F(TreeKeyDomainTest, RemoveOfAKeyAboveTwoToThe63DoesNotDeleteAnother) {
  ASSERT_TRUE(tree_->Put(Schema32::Make(5, 50)).ok());
  ASSERT_TRUE(tree_->Remove(kBit63 + 5).ok());
  const std::optional<Value> five = Get(5);
  ASSERT_TRUE(five.has_value()) << "Remove(2^63 + 5) deleted key 5";
  EXPECT_EQ(five->payload, Schema32::Make(5, 50).payload);
}

TEST_F(TreeKeyDomainTest, APutOfAKeyAboveTwoToThe63IsALiveValueOfThatKey) {
  ASSERT_TRUE(tree_->Put(Schema32::Make(7, 70)).ok());
  ASSERT_TRUE(tree_->Put(Schema32::Make(kBit63 + 7, 71)).ok());
  // Neither a tombstone nor an overwrite of key 7.
  const std::optional<Value> high = Get(kBit63 + 7);
  ASSERT_TRUE(high.has_value()) << "the put was stored as a tombstone";
  EXPECT_EQ(Schema32::key_of(*high), kBit63 + 7);
  EXPECT_EQ(high->payload, Schema32::Make(kBit63 + 7, 71).payload);
  const std::optional<Value> seven = Get(7);
  ASSERT_TRUE(seven.has_value());
  EXPECT_EQ(seven->payload, Schema32::Make(7, 70).payload);
}

TEST_F(TreeKeyDomainTest, EdgeKeysSurviveCompactionCheckpointAndReopen) {
  for (uint64_t key : EdgeKeys()) {
    ASSERT_TRUE(tree_->Put(Schema32::Make(key, key ^ 0x55)).ok()) << key;
  }
  ASSERT_TRUE(tree_->Remove(kBit63).ok());
  ASSERT_TRUE(CompactAllBlocking(tree_.get()).ok());
  ASSERT_TRUE(CheckpointBlocking(tree_.get()).ok());
  ASSERT_NO_FATAL_FAILURE(Reopen());
  for (uint64_t key : EdgeKeys()) {
    const std::optional<Value> value = Get(key);
    if (key == kBit63) {
      EXPECT_FALSE(value.has_value());
      continue;
    }
    ASSERT_TRUE(value.has_value()) << key;
    EXPECT_EQ(Schema32::key_of(*value), key);
    EXPECT_EQ(value->payload, Schema32::Make(key, key ^ 0x55).payload) << key;
  }
}

}  // namespace
}  // namespace lsmscan
