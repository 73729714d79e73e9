// The Schema concept: what it accepts and refuses, and the AccountSchema
// example of lsm/schema.h's comment, compiled here from the same text (a
// test checks that the two agree) and run as a tree's schema, key domain
// included.

#include "lsmscan/lsm/schema.h"

#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_split.h"
#include "gtest/gtest.h"
#include "lsmscan/lsm/tree.h"
#include "lsmscan/lsm/tree_blocking.h"
#include "lsmscan/storage/memory_storage.h"

namespace lsmscan {
namespace {

// Laid out to fit schema.h's comment, as it must stay.
// clang-format off
// BEGIN AccountSchema (the text of lsm/schema.h's example)
struct AccountSchema {
  using Key = unsigned __int128;
  struct Value {
    Key id;
    uint64_t balance;
    uint64_t flags;
  };
  static constexpr uint64_t kDeleted = 1;  // In `flags`: a tombstone.
  static constexpr std::string_view kName = "account.v1";
  static const Key& key_of(const Value& v) { return v.id; }
  static Value tombstone(const Key& id) { return {id, 0, kDeleted}; }
  static uint64_t is_tombstone(const Value& v) {
    return v.flags & kDeleted;
  }
  // Ids 0 and 2^128 - 1 are reserved: Put() and Remove() refuse them.
  static bool key_valid(const Key& id) {
    return id != 0 && id != ~Key{0};
  }
};
// END AccountSchema
// clang-format on

static_assert(Schema<AccountSchema>);
static_assert(sizeof(AccountSchema::Value) == 32);

// Each relaxation alone.
struct KeyByReference : Record32Schema {
  static const Key& key_of(const Value& value) { return value.key; }
};
struct IntegerTombstone : Record32Schema {
  static uint8_t is_tombstone(const Value& value) { return value.tombstone; }
};
struct StringViewName : Record32Schema {
  static constexpr std::string_view kName = "test.string_view";
};
static_assert(Schema<KeyByReference>);
static_assert(Schema<IntegerTombstone>);
static_assert(Schema<StringViewName>);
static_assert(SchemaKeyValid<Record32Schema>(UINT64_MAX));

// And what stays refused.
struct KeyOfAnotherType : Record32Schema {
  static int64_t key_of(const Value& value) {
    return static_cast<int64_t>(value.key);
  }
};
struct KeyValidNotCallableWithAKey : Record32Schema {
  static bool key_valid(const char* text) { return text != nullptr; }
};
struct NameNotAString : Record32Schema {
  static constexpr int kName = 7;
};
static_assert(!Schema<KeyOfAnotherType>);
static_assert(!Schema<KeyValidNotCallableWithAKey>);
static_assert(!Schema<NameNotAString>);

using AccountTree = Tree<AccountSchema>;
using Key = AccountSchema::Key;

constexpr Key kIdMax = ~Key{0} - 1;  // The largest valid id.

StorageOptions TestStorageOptions() {
  StorageOptions options;
  options.block_size_bytes = 4096;
  options.block_count_max = 1 << 12;
  return options;
}

TreeOptions TestTreeOptions() {
  TreeOptions options;
  options.level_count = 3;
  options.table_data_block_count_max = 2;
  options.memory_table_value_count_max = 64;
  return options;
}

AccountSchema::Value Account(Key id, uint64_t balance) {
  return {id, balance, 0};
}

std::optional<AccountSchema::Value> Get(AccountTree* tree, Key id) {
  auto result = GetBlocking(tree, id, kSnapshotLatest, nullptr);
  EXPECT_TRUE(result.ok()) << result.status();
  return result.ok() ? *result : std::nullopt;
}

TEST(AccountSchemaTest, ATreeOfAccountsStoresReadsAndRecovers) {
  auto device = MemoryDevice::Create(TestStorageOptions());
  ASSERT_TRUE(device.ok());
  std::unique_ptr<MemoryStorage> storage = MemoryStorage::Open(*device);
  auto tree = AccountTree::Create(storage.get(), TestTreeOptions());
  ASSERT_TRUE(tree.ok()) << tree.status();
  const Key high = Key{1} << 100;
  for (uint64_t i = 1; i <= 300; i++) {
    ASSERT_TRUE(PutWithBackPressure(tree->get(), Account(i, i * 10)).ok());
    ASSERT_TRUE(
        PutWithBackPressure(tree->get(), Account(high + i, i * 20)).ok());
  }
  ASSERT_TRUE((*tree)->Put(Account(kIdMax, 99)).ok());
  ASSERT_TRUE((*tree)->Remove(7).ok());
  ASSERT_TRUE(CompactAllBlocking(tree->get()).ok());
  ASSERT_TRUE(CheckpointBlocking(tree->get()).ok());
  tree->reset();
  auto reopened = AccountTree::Open(storage.get(), TestTreeOptions());
  ASSERT_TRUE(reopened.ok()) << reopened.status();
  AccountTree* accounts = reopened->get();
  EXPECT_FALSE(Get(accounts, 7).has_value());
  for (uint64_t i : {1, 8, 300}) {
    const std::optional<AccountSchema::Value> low = Get(accounts, i);
    ASSERT_TRUE(low.has_value()) << i;
    EXPECT_EQ(low->balance, i * 10);
    const std::optional<AccountSchema::Value> up = Get(accounts, high + i);
    ASSERT_TRUE(up.has_value()) << i;
    EXPECT_EQ(up->balance, i * 20);
  }
  const std::optional<AccountSchema::Value> last = Get(accounts, kIdMax);
  ASSERT_TRUE(last.has_value());
  EXPECT_EQ(last->balance, 99u);
}

TEST(AccountSchemaTest, KeysOutsideTheSchemasDomainAreInvalidArgument) {
  auto storage = MemoryStorage::Create(TestStorageOptions());
  ASSERT_TRUE(storage.ok());
  auto tree = AccountTree::Create(storage->get(), TestTreeOptions());
  ASSERT_TRUE(tree.ok()) << tree.status();
  ASSERT_TRUE((*tree)->Put(Account(5, 50)).ok());
  for (Key id : {Key{0}, ~Key{0}}) {
    EXPECT_EQ((*tree)->Put(Account(id, 1)).code(),
              absl::StatusCode::kInvalidArgument);
    EXPECT_EQ((*tree)->Remove(id).code(), absl::StatusCode::kInvalidArgument);
    // A tombstone value is checked like any other.
    EXPECT_EQ((*tree)->Put(AccountSchema::tombstone(id)).code(),
              absl::StatusCode::kInvalidArgument);
    EXPECT_FALSE(Get(tree->get(), id).has_value());
  }
  EXPECT_EQ((*tree)->stats().puts, 1u) << "a refused key was written";
  EXPECT_EQ((*tree)->memory_tables().mutable_table().count(), 1u);
}

// The text between "// BEGIN AccountSchema" and "// END AccountSchema" of
// this file, and the example in lsm/schema.h's comment, line for line.
std::vector<std::string> ReadLines(const std::string& path) {
  std::ifstream file(path);
  EXPECT_TRUE(file.good()) << "cannot read " << path;
  const std::string text((std::istreambuf_iterator<char>(file)),
                         std::istreambuf_iterator<char>());
  return absl::StrSplit(text, '\n');
}

std::string RunfilePath(const std::string& path) {
  const char* root = std::getenv("TEST_SRCDIR");
  const char* workspace = std::getenv("TEST_WORKSPACE");
  if (root == nullptr || workspace == nullptr) return path;
  return std::string(root) + "/" + workspace + "/" + path;
}

TEST(AccountSchemaTest, TheCommentsExampleIsTheCodeCompiledHere) {
  const std::vector<std::string> test =
      ReadLines(RunfilePath("lsm/schema_test.cc"));
  std::vector<std::string> code;
  bool inside = false;
  for (const std::string& line : test) {
    if (line.rfind("// END AccountSchema", 0) == 0) break;
    if (inside) code.push_back(line);
    if (line.rfind("// BEGIN AccountSchema", 0) == 0) inside = true;
  }
  ASSERT_FALSE(code.empty());
  std::vector<std::string> comment;
  inside = false;
  for (const std::string& line : ReadLines(RunfilePath("lsm/schema.h"))) {
    if (line == "//   struct AccountSchema {") inside = true;
    if (!inside) continue;
    comment.push_back(
        line == "//" ? "" : line.substr(std::min<size_t>(5, line.size())));
    if (line == "//   };") break;
  }
  EXPECT_EQ(comment, code);
}

}  // namespace
}  // namespace lsmscan
