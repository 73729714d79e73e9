// Tests of the lsmscan tool against a model and as built binaries: scan and
// get over random trees compared with a std::map (seeded, the seed
// printed), and lsmscan_tool() building the tool with a schema of the
// test's own (testdata/test_schema.h), run as a process.

#include <algorithm>
#include <cstdio>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "gtest/gtest.h"
#include "lsmscan/storage/base/prng.h"
#include "lsmscan/tools/lsmscan/lsmscan_testing.h"
#include "lsmscan/tools/lsmscan/output.h"
#include "lsmscan/tools/lsmscan/testdata/test_schema.h"

namespace lsmscan {
namespace tool {
namespace testing {
namespace {

TEST(ModelTest, ScanAndGetMatchAStdMapOverRandomTrees) {
  const uint64_t seed = 0x5EED0018;
  std::printf("ModelTest seed %llu\n", static_cast<unsigned long long>(seed));
  Prng prng(seed);
  for (int round = 0; round < 4; round++) {
    SCOPED_TRACE(round);
    const std::string path = TempPath(absl::StrCat("model", round, ".blocks"));
    Model model;
    WriteTree<S>(path, [&](Tree<S>* tree) {
      const uint64_t ops = 200 + prng.Uniform(1500);
      for (uint64_t i = 0; i < ops; i++) {
        const uint64_t key = prng.Uniform(2000);
        if (prng.Chance(0.2)) {
          Remove(tree, &model, key);
        } else {
          Put(tree, &model, key, prng.Next());
        }
        if (prng.Chance(0.003)) {
          ASSERT_TRUE(CheckpointBlocking(tree).ok());
        }
      }
    });
    ASSERT_EQ(RunLsmscan({"verify", path}).exit_status, kExitOk);
    for (int scan = 0; scan < 8; scan++) {
      const uint64_t from = prng.Uniform(2100);
      const uint64_t to = from + prng.Uniform(600);
      const bool reverse = prng.Chance(0.5);
      const uint64_t limit = prng.Chance(0.3) ? prng.Uniform(20) : UINT64_MAX;
      std::vector<std::string> args = {
          "scan", path, absl::StrCat("--from=", from),
          absl::StrCat("--to=", to), "--format=csv"};
      if (reverse) args.push_back("--reverse");
      if (limit != UINT64_MAX) args.push_back(absl::StrCat("--limit=", limit));
      std::string expected = "key,payload\n";
      std::vector<std::pair<uint64_t, S::Value>> range(model.lower_bound(from),
                                                       model.upper_bound(to));
      if (reverse) std::reverse(range.begin(), range.end());
      for (size_t i = 0; i < range.size() && i < limit; i++) {
        absl::StrAppend(&expected, range[i].first, ",",
                        HexString(range[i].second.payload.data(),
                                  range[i].second.payload.size()),
                        "\n");
      }
      const Result result = RunLsmscan(args);
      ASSERT_EQ(result.exit_status, kExitOk) << result.err;
      ASSERT_EQ(result.out, expected) << absl::StrJoin(args, " ");
    }
    for (int get = 0; get < 20; get++) {
      const uint64_t key = prng.Uniform(2100);
      const Result result =
          RunLsmscan({"get", path, absl::StrCat(key), "--format=csv"});
      const auto it = model.find(key);
      if (it == model.end()) {
        EXPECT_EQ(result.exit_status, kExitNotFound) << key;
      } else {
        EXPECT_EQ(result.out, absl::StrCat("key,payload\n", key, ",",
                                           HexString(it->second.payload.data(),
                                                     it->second.payload.size()),
                                           "\n"));
      }
    }
  }
}

TEST(LsmscanToolMacroTest, BuildsTheToolWithAUsersSchema) {
  using P = testing::PairKeySchema;
  const std::string path = TempPath("pair.blocks");
  WriteTree<P>(path, [](Tree<P>* tree) {
    for (uint64_t i = 0; i < 30; i++) {
      ASSERT_TRUE(
          PutWithBackPressure(tree, P::Value{{i % 3, i}, i * 10, 0}).ok());
    }
    ASSERT_TRUE(tree->Remove(P::Key{1, 4}).ok());
  });
  const Result info = RunBinary("lsmscan_with_test_schema", "info " + path);
  EXPECT_EQ(info.exit_status, kExitOk) << info.err;
  EXPECT_TRUE(absl::StrContains(
      info.out, "schema:          test.pair_key (16-byte keys, 32-byte values"))
      << info.out;
  EXPECT_EQ(RunBinary("lsmscan_with_test_schema", "verify " + path).exit_status,
            kExitOk);
  const Result scan = RunBinary("lsmscan_with_test_schema",
                                "scan " + path + " --from=1:0 --to=1:10");
  EXPECT_EQ(scan.exit_status, kExitOk) << scan.err;
  EXPECT_EQ(scan.out,
            " key  value\n"
            " 1:1  amount=10\n"
            " 1:7  amount=70\n"
            "1:10  amount=100\n");  // 1:4 was removed.
  const Result get =
      RunBinary("lsmscan_with_test_schema", "get " + path + " 2:5");
  EXPECT_EQ(get.out, "key  value\n2:5  amount=50\n");
  // A number too large for the key's fields is not a key (never wrapped).
  const Result overflow = RunBinary("lsmscan_with_test_schema",
                                    "get " + path + " 18446744073709551618:5");
  EXPECT_EQ(overflow.exit_status, kExitUsage) << overflow.out << overflow.err;
  // The shipped binary names the schema it lacks.
  const Result shipped = RunBinary("lsmscan", "scan " + path);
  EXPECT_EQ(shipped.exit_status, kExitUnreadable);
  EXPECT_TRUE(absl::StrContains(shipped.err, "\"test.pair_key\" (16-byte keys"))
      << shipped.err;
}

}  // namespace
}  // namespace testing
}  // namespace tool
}  // namespace lsmscan
