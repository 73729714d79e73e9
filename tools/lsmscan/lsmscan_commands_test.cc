// Tests of the lsmscan command-line tool, command by command, on a small
// tree the test writes (several levels, tombstones, shadowed versions):
// golden outputs in testdata/ (stable: no paths, no times), JSON output
// parsed back, `get` of absent keys, --snapshot, usage errors, the file's
// bytes unchanged by every command, progress lines and bar, and the built
// binary printing what RunTool prints.
//
// Golden files: LSMSCAN_UPDATE_GOLDEN=1 bazel run
// //tools/lsmscan:lsmscan_commands_test rewrites
// tools/lsmscan/testdata/*.golden.

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>

#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "gtest/gtest.h"
#include "lsmscan/tools/lsmscan/lsmscan_testing.h"
#include "lsmscan/tools/lsmscan/tool.h"
#include "nlohmann/json.hpp"

namespace lsmscan {
namespace tool {
namespace testing {
namespace {

class LsmscanTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    path_ = new std::string(TempPath("golden.blocks"));
    model_ = new Model(WriteGoldenTree(*path_));
  }
  static void TearDownTestSuite() {
    delete path_;
    delete model_;
  }

  // Runs `args` (the file inserted after the command) and compares stdout
  // with testdata/<name>.golden.
  void ExpectGolden(const std::string& name, std::vector<std::string> args,
                    int exit_status = kExitOk) {
    args.insert(args.begin() + 1, *path_);
    const Result result = RunLsmscan(args);
    EXPECT_EQ(result.exit_status, exit_status) << result.err;
    const std::string golden = "tools/lsmscan/testdata/" + name + ".golden";
    if (std::getenv("LSMSCAN_UPDATE_GOLDEN") != nullptr) {
      const char* workspace = std::getenv("BUILD_WORKSPACE_DIRECTORY");
      ASSERT_NE(workspace, nullptr) << "update with bazel run";
      WriteFileBytes(absl::StrCat(workspace, "/", golden), result.out);
      return;
    }
    EXPECT_EQ(result.out, ReadFileBytes(golden))
        << "golden " << golden << " differs; if the change is intended: "
        << "LSMSCAN_UPDATE_GOLDEN=1 bazel run "
           "//tools/lsmscan:lsmscan_commands_test";
  }

  static std::string* path_;
  static Model* model_;
};

std::string* LsmscanTest::path_ = nullptr;
Model* LsmscanTest::model_ = nullptr;

TEST_F(LsmscanTest, GoldenInfo) { ExpectGolden("info", {"info"}); }
TEST_F(LsmscanTest, GoldenTables) { ExpectGolden("tables", {"tables"}); }
TEST_F(LsmscanTest, GoldenTablesOfOneLevel) {
  ExpectGolden("tables_level_1", {"tables", "--level=1"});
}
TEST_F(LsmscanTest, GoldenVerify) { ExpectGolden("verify", {"verify"}); }
TEST_F(LsmscanTest, GoldenScan) {
  ExpectGolden("scan", {"scan", "--from=10", "--to=30"});
}
TEST_F(LsmscanTest, GoldenScanReverseLimit) {
  ExpectGolden("scan_reverse_limit",
               {"scan", "--from=100", "--reverse", "--limit=5"});
}
TEST_F(LsmscanTest, GoldenScanCsv) {
  ExpectGolden("scan_csv", {"scan", "--to=12", "--format=csv"});
}
TEST_F(LsmscanTest, GoldenGet) { ExpectGolden("get", {"get", "6"}); }
TEST_F(LsmscanTest, GoldenStats) { ExpectGolden("stats", {"stats"}); }
TEST_F(LsmscanTest, GoldenDumpSuperblock) {
  ExpectGolden("dump_superblock", {"dump-block", "1"});
}
TEST_F(LsmscanTest, GoldenDumpIndexBlockWithHex) {
  const Addresses addresses = FindAddresses(*path_);
  ExpectGolden("dump_index",
               {"dump-block", absl::StrCat(addresses.index), "--hex"});
}
TEST_F(LsmscanTest, GoldenDumpManifestAndDataBlocks) {
  const Addresses addresses = FindAddresses(*path_);
  ExpectGolden("dump_manifest",
               {"dump-block", absl::StrCat(addresses.manifest)});
  ExpectGolden("dump_data", {"dump-block", absl::StrCat(addresses.data)});
}

TEST_F(LsmscanTest, ScanJsonParsesBackToTheModel) {
  const Result result = RunLsmscan({"scan", *path_, "--format=json"});
  ASSERT_EQ(result.exit_status, kExitOk) << result.err;
  const nlohmann::json rows = nlohmann::json::parse(result.out);
  ASSERT_TRUE(rows.is_array());
  ASSERT_EQ(rows.size(), model_->size());
  auto expected = model_->begin();
  for (const nlohmann::json& row : rows) {
    ASSERT_TRUE(row["key"].is_number_unsigned()) << row;
    EXPECT_EQ(row["key"].get<uint64_t>(), expected->first);
    const S::Value& value = expected->second;
    EXPECT_EQ(row["payload"].get<std::string>(),
              HexString(value.payload.data(), value.payload.size()));
    ++expected;
  }
  // Empty ranges are valid JSON too, and so are the table listings.
  const Result empty =
      RunLsmscan({"scan", *path_, "--from=1", "--to=1", "--format=json"});
  EXPECT_TRUE(nlohmann::json::parse(empty.out).empty()) << empty.out;
  const Result tables = RunLsmscan({"tables", *path_, "--format=json"});
  const nlohmann::json listed = nlohmann::json::parse(tables.out);
  ASSERT_FALSE(listed.empty());
  EXPECT_TRUE(listed[0]["level"].is_number());
  EXPECT_EQ(listed[0]["snapshot_max"], "forever");
}

TEST_F(LsmscanTest, GetOfAnAbsentOrRemovedKeyExitsThree) {
  for (const char* key : {"1", "0", "599999"}) {  // Odd, removed, absent.
    const Result result = RunLsmscan({"get", *path_, key});
    EXPECT_EQ(result.exit_status, kExitNotFound) << key;
    EXPECT_EQ(result.out, "");
    EXPECT_EQ(LineCount(result.err), 1u) << result.err;
  }
}

TEST_F(LsmscanTest, SnapshotFlagAcceptsOnlyTheCheckpointsOp) {
  absl::StatusOr<FileView> view = OpenFileView(*path_);
  ASSERT_TRUE(view.ok());
  const std::string op = absl::StrCat(view->superblock.op);
  const Result at_op = RunLsmscan({"scan", *path_, "--snapshot=" + op});
  const Result latest = RunLsmscan({"scan", *path_});
  EXPECT_EQ(at_op.exit_status, kExitOk) << at_op.err;
  EXPECT_EQ(at_op.out, latest.out);
  const Result other = RunLsmscan({"scan", *path_, "--snapshot=1"});
  EXPECT_EQ(other.exit_status, kExitUsage);
  EXPECT_TRUE(absl::StrContains(other.err, "holds one snapshot, op " + op))
      << other.err;
}

TEST_F(LsmscanTest, UsageErrorsExit64WithOneLine) {
  const std::vector<std::vector<std::string>> cases = {
      {},
      {"frobnicate", *path_},
      {"info"},
      {"get", *path_},
      {"scan", *path_, "--from=9", "--to=3"},
      {"scan", *path_, "--limit=ten"},
      {"scan", *path_, "--format=xml"},
      {"scan", *path_, "--from=18446744073709551616"},  // Above kKeyMax.
      {"info", *path_, "--bogus"},
      {"dump-block", *path_, "999999"},
      {"dump-block", *path_, "x"},
      {"tables", *path_, "--level=3"},  // The file has levels 0 to 2.
  };
  for (const auto& args : cases) {
    const Result result = RunLsmscan(args);
    EXPECT_EQ(result.exit_status, kExitUsage) << absl::StrJoin(args, " ");
    EXPECT_EQ(result.out, "");
    EXPECT_GE(LineCount(result.err), 1u);
    EXPECT_LE(LineCount(result.err), 2u) << result.err;
  }
  EXPECT_EQ(RunLsmscan({"--help"}).exit_status, kExitOk);
}

// Keys wider than the header, and no --from or --to to measure them by:
// the key column still lines up (its width comes from the file's keys).
TEST(ScanTableTest, KeysLineUpWithoutBounds) {
  const std::string path = TempPath("wide_keys.blocks");
  Model model;
  WriteTree<S>(path, [&](Tree<S>* tree) {
    for (uint64_t key = 99990; key < 100010; key++) Put(tree, &model, key, key);
  });
  for (const std::vector<std::string>& args :
       std::vector<std::vector<std::string>>{
           {"scan", path, "--limit=3"},
           {"scan", path, "--reverse", "--limit=3"},
           {"scan", path, "--to=100000"},
           {"scan", path, "--from=0"}}) {
    const Result result = RunLsmscan(args);
    ASSERT_EQ(result.exit_status, kExitOk) << result.err;
    std::vector<std::string> lines = absl::StrSplit(result.out, '\n');
    lines.pop_back();  // After the last newline.
    ASSERT_GE(lines.size(), 2u) << result.out;
    const size_t key_end = lines[0].find("  payload");
    ASSERT_NE(key_end, std::string::npos) << result.out;
    for (const std::string& line : lines) {
      EXPECT_EQ(line.find("  ", line.find_first_not_of(' ')), key_end)
          << absl::StrJoin(args, " ") << ":\n"
          << result.out;
    }
  }
}

// stats samples min(64, live values) keys, evenly over the whole key range.
TEST_F(LsmscanTest, StatsSamplesSixtyFourLiveKeys) {
  const Result result = RunLsmscan({"stats", *path_});
  ASSERT_EQ(result.exit_status, kExitOk) << result.err;
  EXPECT_TRUE(absl::StrContains(result.out, "(64 live keys sampled evenly)"))
      << result.out;
  EXPECT_TRUE(
      absl::StrContains(result.out, "(64 scans, from the sampled keys)"))
      << result.out;
}

// The descriptors the tool holds on the file (its FileView's storage, which
// the tree it opens reads through) are O_RDONLY, so the operating system
// refuses any write; and a write attempted through that tree fails.
TEST_F(LsmscanTest, TheFileIsOpenedReadOnly) {
  const std::string before = ReadFileBytes(*path_);
  absl::StatusOr<FileView> view = OpenFileView(*path_);
  ASSERT_TRUE(view.ok()) << view.status();
  absl::StatusOr<std::unique_ptr<Tree<S>>> tree =
      OpenTree<S>(*view, /*cache_block_count=*/0);
  ASSERT_TRUE(tree.ok()) << tree.status();
  struct stat file;
  ASSERT_EQ(stat(path_->c_str(), &file), 0);
  int descriptors = 0;
  DIR* directory = opendir("/proc/self/fd");
  ASSERT_NE(directory, nullptr);
  while (const dirent* entry = readdir(directory)) {
    const int fd = std::atoi(entry->d_name);
    struct stat open_file;
    if (entry->d_name[0] == '.' || fd == dirfd(directory) ||
        fstat(fd, &open_file) != 0 || open_file.st_dev != file.st_dev ||
        open_file.st_ino != file.st_ino) {
      continue;
    }
    descriptors++;
    EXPECT_EQ(fcntl(fd, F_GETFL) & O_ACCMODE, O_RDONLY) << "fd " << fd;
  }
  closedir(directory);
  EXPECT_GE(descriptors, 1);
  ASSERT_TRUE((*tree)->Put(S::Make(1, 1)).ok());
  EXPECT_FALSE(CheckpointBlocking(tree->get()).ok());
  EXPECT_EQ(ReadFileBytes(*path_), before);
}

// Every command, then the file's bytes and modification time: unchanged.
TEST_F(LsmscanTest, NoCommandChangesTheFile) {
  const std::string before = ReadFileBytes(*path_);
  struct stat stat_before;
  ASSERT_EQ(stat(path_->c_str(), &stat_before), 0);
  std::vector<std::vector<std::string>> commands = {
      {"info"},
      {"tables"},
      {"verify", "--progress=always"},
      {"scan"},
      {"scan", "--reverse", "--snapshot=latest"},
      {"get", "2"},
      {"stats"}};
  const uint64_t blocks = before.size() / 4096;
  for (uint64_t address = 0; address < blocks; address++) {
    commands.push_back({"dump-block", absl::StrCat(address), "--hex"});
  }
  for (std::vector<std::string> args : commands) {
    args.insert(args.begin() + 1, *path_);
    const Result result = RunLsmscan(args);
    EXPECT_EQ(result.exit_status, kExitOk) << args[0] << ": " << result.err;
  }
  EXPECT_EQ(ReadFileBytes(*path_), before);
  struct stat stat_after;
  ASSERT_EQ(stat(path_->c_str(), &stat_after), 0);
  EXPECT_EQ(stat_after.st_mtim.tv_sec, stat_before.st_mtim.tv_sec);
  EXPECT_EQ(stat_after.st_mtim.tv_nsec, stat_before.st_mtim.tv_nsec);
}

TEST_F(LsmscanTest, ProgressIsPlainLinesOffATerminalAndABarOnOne) {
  const Result plain = RunLsmscan({"verify", *path_, "--progress=always"});
  EXPECT_EQ(plain.exit_status, kExitOk);
  EXPECT_TRUE(absl::StrContains(plain.err, "verify: 100% (")) << plain.err;
  EXPECT_FALSE(absl::StrContains(plain.err, "\r"));
  const Result bar =
      RunLsmscan({"verify", *path_, "--progress=always"}, /*terminal=*/true);
  EXPECT_TRUE(absl::StrContains(bar.err, "\rverify [")) << bar.err;
  EXPECT_TRUE(absl::StrContains(bar.err, "100%"));
  // Small files show none by default.
  EXPECT_EQ(RunLsmscan({"verify", *path_}, /*terminal=*/true).err, "");
}

TEST_F(LsmscanTest, TheBinaryPrintsWhatRunToolPrints) {
  const Result binary = RunBinary("lsmscan", "tables " + *path_);
  EXPECT_EQ(binary.exit_status, kExitOk) << binary.err;
  EXPECT_EQ(binary.out, RunLsmscan({"tables", *path_}).out);
  const Result missing = RunBinary("lsmscan", "verify " + TempPath("nothing"));
  EXPECT_EQ(missing.exit_status, kExitUnreadable);
  EXPECT_EQ(LineCount(missing.err), 1u) << missing.err;
}

}  // namespace
}  // namespace testing
}  // namespace tool
}  // namespace lsmscan
