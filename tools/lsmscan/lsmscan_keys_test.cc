// Tests of how the lsmscan tool parses and prints keys at the edges of
// their types: the shipped schemas' [0, kKeyMax], signed keys down to
// INT64_MIN (and magnitudes far past it, refused without overflow),
// unsigned __int128, a schema's own key domain (key_valid), and a tree of
// the shipped schema holding 2^63 and UINT64_MAX, read end to end (table,
// CSV and JSON, get, tables).

#include <cstdint>
#include <limits>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "lsmscan/tools/lsmscan/lsmscan_testing.h"
#include "lsmscan/tools/lsmscan/schema_format.h"
#include "lsmscan/tools/lsmscan/tool.h"
#include "nlohmann/json.hpp"

namespace lsmscan {
namespace tool {
namespace testing {
namespace {

// Keys that must be even (a domain narrower than the key type); its name
// is a std::string_view, as lsm/schema.h allows.
struct EvenKeySchema {
  using Key = uint64_t;
  struct Value {
    uint64_t key;
    uint64_t removed;
  };
  static constexpr std::string_view kName = "test.even";
  static Key key_of(const Value& value) { return value.key; }
  static Value tombstone(Key key) { return {key, 1}; }
  static bool is_tombstone(const Value& value) { return value.removed != 0; }
  static bool key_valid(Key key) { return key % 2 == 0; }
};

struct Int64Schema {
  using Key = int64_t;
  struct Value {
    int64_t key;
    uint64_t removed;
  };
  static constexpr const char* kName = "test.int64";
  static Key key_of(const Value& value) { return value.key; }
  static Value tombstone(Key key) { return {key, 1}; }
  static bool is_tombstone(const Value& value) { return value.removed != 0; }
};

struct U128Schema {
  using Key = unsigned __int128;
  struct Value {
    Key key;
    uint64_t removed;
    uint64_t payload;
  };
  static constexpr const char* kName = "test.u128";
  static Key key_of(const Value& value) { return value.key; }
  static Value tombstone(Key key) { return {key, 1, 0}; }
  static bool is_tombstone(const Value& value) { return value.removed != 0; }
};

constexpr uint64_t kU64Max = std::numeric_limits<uint64_t>::max();
constexpr uint64_t kTwoTo63 = uint64_t{1} << 63;

TEST(ParseKeyTest, ShippedSchemasTakeEveryUint64) {
  EXPECT_EQ(*ParseKey<Record32Schema>("0"), 0u);
  EXPECT_EQ(*ParseKey<Record32Schema>("9223372036854775808"), kTwoTo63);
  EXPECT_EQ(*ParseKey<Record32Schema>("18446744073709551615"), kU64Max);
  EXPECT_EQ(*ParseKey<Record32Schema>("0xffffffffffffffff"), kU64Max);
  EXPECT_EQ(*ParseKey<Record32Schema>("0X7FFFFFFFFFFFFFFF"), kTwoTo63 - 1);
  for (const char* bad :
       {"", "0x", "-1", "+1", " 1", "1 ", "1.0", "x1", "18446744073709551616",
        "0x10000000000000000", "99999999999999999999999999999999999999999"}) {
    EXPECT_FALSE(ParseKey<Record32Schema>(bad).ok()) << bad;
  }
  EXPECT_EQ(FormatKey<Record32Schema>(kU64Max), "18446744073709551615");
  EXPECT_EQ(FormatKey<Record32Schema>(kTwoTo63), "9223372036854775808");
  EXPECT_TRUE(KeyIsNumber<Record32Schema>());
}

// A key outside the schema's domain (S::key_valid) is refused like a typo.
TEST(ParseKeyTest, KeysOutsideTheSchemasDomainAreRefused) {
  EXPECT_EQ(*ParseKey<EvenKeySchema>("4"), 4u);
  const absl::StatusOr<uint64_t> odd = ParseKey<EvenKeySchema>("5");
  ASSERT_FALSE(odd.ok());
  EXPECT_TRUE(absl::StrContains(odd.status().message(), "test.even"))
      << odd.status();
  // The whole tool builds with such a schema (a std::string_view name).
  std::ostringstream out;
  std::ostringstream err;
  EXPECT_EQ(RunTool<EvenKeySchema>({"info", TempPath("none")}, out, err, {}),
            kExitUnreadable);
}

TEST(ParseKeyTest, SignedKeysDownToTheirMinimumAndNoFurther) {
  constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  EXPECT_EQ(*ParseKey<Int64Schema>("-9223372036854775808"), kMin);
  EXPECT_EQ(*ParseKey<Int64Schema>("9223372036854775807"), kMax);
  EXPECT_EQ(*ParseKey<Int64Schema>("-1"), -1);
  EXPECT_EQ(FormatKey<Int64Schema>(kMin), "-9223372036854775808");
  // Past the minimum, including magnitudes of 2^127 and more (which do not
  // fit a signed 128-bit integer either).
  for (const char* bad :
       {"-9223372036854775809", "9223372036854775808",
        "-170141183460469231731687303715884105728",
        "-340282366920938463463374607431768211455", "--1", "-"}) {
    EXPECT_FALSE(ParseKey<Int64Schema>(bad).ok()) << bad;
  }
}

TEST(ParseKeyTest, U128KeysPrintInDecimalAsJsonStrings) {
  const unsigned __int128 max = ~static_cast<unsigned __int128>(0);
  EXPECT_EQ(FormatKey<U128Schema>(max),
            "340282366920938463463374607431768211455");
  EXPECT_EQ(*ParseKey<U128Schema>("340282366920938463463374607431768211455"),
            max);
  EXPECT_FALSE(
      ParseKey<U128Schema>("340282366920938463463374607431768211456").ok());
  EXPECT_FALSE(KeyIsNumber<U128Schema>());  // Above 2^64: a JSON string.
}

// A tree whose keys include 2^63 and UINT64_MAX, read end to end.
TEST(LargeKeysTest, ScanGetAndTablesPrintTheExactKeys) {
  const std::string path = TempPath("large_keys.blocks");
  const std::vector<uint64_t> keys = {0,        1,           kTwoTo63 - 1,
                                      kTwoTo63, kU64Max - 1, kU64Max};
  Model model;
  WriteTree<S>(path, [&](Tree<S>* tree) {
    for (uint64_t key : keys) Put(tree, &model, key, ~key);
  });
  ASSERT_EQ(RunLsmscan({"verify", path}).exit_status, kExitOk);
  const Result json = RunLsmscan({"scan", path, "--format=json"});
  ASSERT_EQ(json.exit_status, kExitOk) << json.err;
  const nlohmann::json rows = nlohmann::json::parse(json.out);
  ASSERT_EQ(rows.size(), keys.size()) << json.out;
  for (size_t i = 0; i < keys.size(); i++) {
    EXPECT_TRUE(rows[i]["key"].is_number_unsigned()) << rows[i];
    EXPECT_EQ(rows[i]["key"].get<uint64_t>(), keys[i]);
  }
  const Result csv = RunLsmscan({"scan", path, "--from=9223372036854775808",
                                 "--reverse", "--format=csv"});
  EXPECT_EQ(csv.exit_status, kExitOk) << csv.err;
  EXPECT_TRUE(absl::StartsWith(csv.out,
                               "key,payload\n"
                               "18446744073709551615,"))
      << csv.out;
  EXPECT_TRUE(absl::StrContains(csv.out, "\n9223372036854775808,")) << csv.out;
  EXPECT_FALSE(absl::StrContains(csv.out, "\n9223372036854775807,"));
  const Result get = RunLsmscan({"get", path, "18446744073709551615"});
  EXPECT_EQ(get.exit_status, kExitOk) << get.err;
  EXPECT_TRUE(absl::StrContains(get.out, "\n18446744073709551615  "))
      << get.out;
  const Result table =
      RunLsmscan({"scan", path, "--from=18446744073709551614"});
  EXPECT_EQ(table.out.find("18446744073709551614"),
            table.out.find('\n') + 1)
      << table.out;  // Keys right-aligned under a header as wide.
  const Result tables = RunLsmscan({"tables", path, "--format=json"});
  const nlohmann::json listed = nlohmann::json::parse(tables.out);
  ASSERT_FALSE(listed.empty());
  EXPECT_EQ(listed.back()["key_max"].get<uint64_t>(), kU64Max);
}

}  // namespace
}  // namespace testing
}  // namespace tool
}  // namespace lsmscan
