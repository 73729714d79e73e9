// Tests of the lsmscan command-line tool, end to end: each command on a small
// tree the test writes (golden outputs in testdata/, stable: no paths, no
// times), JSON output parsed back, a randomized comparison of scan and get
// with a std::map model, every kind of bad input, verify catching flipped
// bits in a data block, an index block and the manifest, the file's bytes
// unchanged by every command, and the built binaries (lsmscan, and
// lsmscan_tool() with a schema of the test's own) run as processes.
//
// Golden files: LSMSCAN_UPDATE_GOLDEN=1 bazel run //tools/lsmscan:lsmscan_test
// rewrites tools/lsmscan/testdata/*.golden.

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "gtest/gtest.h"
#include "lsmscan/lsm/schema.h"
#include "lsmscan/lsm/tree.h"
#include "lsmscan/lsm/tree_blocking.h"
#include "lsmscan/storage/base/prng.h"
#include "lsmscan/storage/pread_storage.h"
#include "lsmscan/tools/lsmscan/testdata/test_schema.h"
#include "lsmscan/tools/lsmscan/tool.h"
#include "nlohmann/json.hpp"

namespace lsmscan {
namespace tool {
namespace {

using S = Record32Schema;
using Model = std::map<uint64_t, S::Value>;

std::string TempPath(const std::string& name) {
  const char* directory = std::getenv("TEST_TMPDIR");
  return absl::StrCat(directory != nullptr ? directory : "/tmp", "/", name);
}

std::string ReadFileBytes(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(file),
                     std::istreambuf_iterator<char>());
}

void WriteFileBytes(const std::string& path, const std::string& bytes) {
  std::ofstream file(path, std::ios::binary | std::ios::trunc);
  file.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

TreeOptions SmallOptions() {
  TreeOptions options;
  options.level_count = 3;
  options.growth_factor = 2;
  options.table_data_block_count_max = 2;
  options.memory_table_value_count_max = 64;
  return options;
}

// Writes a tree of schema T to `path` (4 KiB blocks): `write(tree)` puts
// and removes, then a checkpoint.
template <Schema T, typename Write>
void WriteTree(const std::string& path, const Write& write) {
  PreadStorageOptions options;
  options.storage.block_size_bytes = 4096;
  options.storage.block_count_max = 4096;
  auto storage = PreadStorage::Open(path, OpenMode::kCreate, options);
  ASSERT_TRUE(storage.ok()) << storage.status();
  auto tree = Tree<T>::Create(storage->get(), SmallOptions());
  ASSERT_TRUE(tree.ok()) << tree.status();
  write(tree->get());
  ASSERT_TRUE(CheckpointBlocking(tree->get()).ok());
}

void Put(Tree<S>* tree, Model* model, uint64_t key, uint64_t seed) {
  const S::Value value = S::Make(key, seed);
  ASSERT_TRUE(PutWithBackPressure(tree, value).ok());
  (*model)[key] = value;
}

void Remove(Tree<S>* tree, Model* model, uint64_t key) {
  ASSERT_TRUE(PutWithBackPressure(tree, S::tombstone(key)).ok());
  model->erase(key);
}

// The small tree of the golden tests: 300 keys, overwrites and removes,
// over two checkpoints, so it has several levels, tombstones and shadowed
// versions.
Model WriteGoldenTree(const std::string& path) {
  Model model;
  WriteTree<S>(path, [&](Tree<S>* tree) {
    for (uint64_t key = 0; key < 300; key++) Put(tree, &model, key * 2, key);
    ASSERT_TRUE(CheckpointBlocking(tree).ok());
    for (uint64_t key = 0; key < 100; key++)
      Put(tree, &model, key * 3, 1000 + key);
    for (uint64_t key = 0; key < 600; key += 7) Remove(tree, &model, key);
  });
  return model;
}

struct Result {
  int exit_status = -1;
  std::string out;
  std::string err;
};

Result RunLsmscan(const std::vector<std::string>& args, bool terminal = false) {
  std::ostringstream out;
  std::ostringstream err;
  ToolEnvironment environment;
  environment.stderr_is_terminal = terminal;
  Result result;
  result.exit_status =
      RunTool<Record32Schema, Record128Schema>(args, out, err, environment);
  result.out = out.str();
  result.err = err.str();
  return result;
}

size_t LineCount(const std::string& text) {
  return static_cast<size_t>(std::count(text.begin(), text.end(), '\n'));
}

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
        << "LSMSCAN_UPDATE_GOLDEN=1 bazel run //tools/lsmscan:lsmscan_test";
  }

  static std::string* path_;
  static Model* model_;
};

std::string* LsmscanTest::path_ = nullptr;
Model* LsmscanTest::model_ = nullptr;

// The addresses of the golden tree's blocks, by role.
struct Addresses {
  BlockAddress manifest = 0;
  BlockAddress index = 0;
  BlockAddress data = 0;
};

Addresses FindAddresses(const std::string& path) {
  absl::StatusOr<FileView> view = OpenFileView(path);
  EXPECT_TRUE(view.ok()) << view.status();
  const WalkResult<S::Key> walk =
      Walk<S>(*view, WalkOptions{true, false, nullptr});
  Addresses addresses;
  for (BlockAddress a = walk.roles.size(); a-- > 0;) {
    switch (static_cast<BlockType>(walk.roles[a])) {
      case BlockType::kManifest:
        addresses.manifest = a;
        break;
      case BlockType::kIndex:
        addresses.index = a;
        break;
      case BlockType::kData:
        addresses.data = a;
        break;
      default:
        break;
    }
  }
  return addresses;
}

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

// --- Corruption -------------------------------------------------------------

class CorruptionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = TempPath("corrupt.blocks");
    WriteGoldenTree(path_);
    addresses_ = FindAddresses(path_);
    bytes_ = ReadFileBytes(path_);
  }
  // Flips one bit of block `address` at byte `offset` (inside its checksum).
  void FlipBit(BlockAddress address, size_t offset) {
    std::string bytes = bytes_;
    bytes[address * 4096 + offset] ^= 0x10;
    WriteFileBytes(path_, bytes);
  }
  void ExpectVerifyNames(const std::string& what) {
    const std::string before = ReadFileBytes(path_);
    const Result result = RunLsmscan({"verify", path_});
    EXPECT_EQ(result.exit_status, kExitCorrupt) << result.out << result.err;
    EXPECT_TRUE(absl::StrContains(result.out, "corrupt: " + what))
        << "expected \"" << what << "\" in:\n"
        << result.out;
    EXPECT_EQ(ReadFileBytes(path_), before);
  }

  std::string path_;
  std::string bytes_;
  Addresses addresses_;
};

TEST_F(CorruptionTest, VerifyNamesAFlippedBitInADataBlock) {
  FlipBit(addresses_.data, 100);
  ExpectVerifyNames(absl::StrCat("data block ", addresses_.data, ": "));
  // Scans that touch it fail with DataLoss too (exit 1), never return it.
  EXPECT_EQ(RunLsmscan({"scan", path_}).exit_status, kExitCorrupt);
  EXPECT_EQ(RunLsmscan({"stats", path_}).exit_status, kExitCorrupt);
}

TEST_F(CorruptionTest, VerifyNamesAFlippedBitInAnIndexBlock) {
  FlipBit(addresses_.index, 70);
  ExpectVerifyNames(absl::StrCat("index block ", addresses_.index, ": "));
  EXPECT_EQ(RunLsmscan({"scan", path_}).exit_status, kExitCorrupt);
}

TEST_F(CorruptionTest, VerifyNamesAFlippedBitInTheManifest) {
  FlipBit(addresses_.manifest, 64 + 20);
  ExpectVerifyNames(absl::StrCat("manifest block ", addresses_.manifest, ": "));
  const Result info = RunLsmscan({"info", path_});
  EXPECT_EQ(info.exit_status, kExitCorrupt);
  EXPECT_TRUE(absl::StrContains(info.out, "schema:")) << info.out;
}

TEST_F(CorruptionTest, VerifyWarnsAboutATornOlderSuperblockCopy) {
  absl::StatusOr<FileView> view = OpenFileView(path_);
  ASSERT_TRUE(view.ok());
  const BlockAddress older = 1 - view->current_copy;
  FlipBit(older, 100);
  const Result result = RunLsmscan({"verify", path_});
  EXPECT_EQ(result.exit_status, kExitOk) << result.out;
  EXPECT_TRUE(absl::StrContains(
      result.out, absl::StrCat("warning: superblock copy ", older)))
      << result.out;
}

TEST_F(CorruptionTest, TruncatedFilesAreCorruptAndNamed) {
  // Cut after the last referenced block's predecessor: a reference dangles.
  WriteFileBytes(path_, bytes_.substr(0, bytes_.size() - 4096));
  const Result verify = RunLsmscan({"verify", path_});
  EXPECT_EQ(verify.exit_status, kExitCorrupt) << verify.out << verify.err;
  EXPECT_TRUE(absl::StrContains(verify.out, "past the end of the file"))
      << verify.out;
  // Cut inside the superblock copies: one line, exit 1.
  WriteFileBytes(path_, bytes_.substr(0, 4096 + 100));
  const Result info = RunLsmscan({"info", path_});
  EXPECT_EQ(info.exit_status, kExitCorrupt);
  EXPECT_EQ(LineCount(info.err), 1u) << info.err;
  EXPECT_TRUE(absl::StrContains(info.err, "truncated")) << info.err;
}

TEST_F(CorruptionTest, BothSuperblockCopiesDamagedIsOneLineExitOne) {
  std::string bytes = bytes_;
  bytes[100] ^= 1;
  bytes[4096 + 100] ^= 1;
  WriteFileBytes(path_, bytes);
  for (const char* command : {"info", "verify", "scan"}) {
    const Result result = RunLsmscan({command, path_});
    EXPECT_EQ(result.exit_status, kExitCorrupt) << command;
    EXPECT_EQ(result.out, "");
    EXPECT_EQ(LineCount(result.err), 1u) << result.err;
  }
}

TEST_F(CorruptionTest, AFileOfAnotherFormatVersionIsRefusedByName) {
  std::string bytes = bytes_;
  for (BlockAddress copy : {0, 1}) {
    uint16_t version = 1;
    std::memcpy(bytes.data() + copy * 4096 + 20, &version, 2);
    SealBlock(reinterpret_cast<std::byte*>(bytes.data() + copy * 4096), 4096);
  }
  WriteFileBytes(path_, bytes);
  const Result result = RunLsmscan({"info", path_});
  EXPECT_EQ(result.exit_status, kExitUnreadable);
  EXPECT_TRUE(absl::StrContains(result.err, "format version 1")) << result.err;
  EXPECT_EQ(LineCount(result.err), 1u);
}

// --- Bad input files
// ----------------------------------------------------------

TEST(BadInputTest, EachKindIsOneLineAndANonZeroExit) {
  const std::string missing = TempPath("no-such-file.blocks");
  const std::string empty = TempPath("empty.blocks");
  WriteFileBytes(empty, "");
  const std::string text = TempPath("text.blocks");
  WriteFileBytes(text, std::string(10000, 'x'));
  const std::string tiny = TempPath("tiny.blocks");
  WriteFileBytes(tiny, "LSMB");
  const std::string directory = TempPath("");
  struct Case {
    std::string path;
    int exit_status;
    const char* says;
  };
  const Case cases[] = {
      {missing, kExitUnreadable, "No such file"},
      {empty, kExitUnreadable, "empty"},
      {text, kExitUnreadable, "not an lsmscan file"},
      {tiny, kExitUnreadable, "not an lsmscan file"},
      {directory, kExitUnreadable, "not a regular file"},
  };
  for (const Case& c : cases) {
    for (const char* command : {"info", "verify", "scan", "stats"}) {
      const Result result = RunLsmscan({command, c.path});
      EXPECT_EQ(result.exit_status, c.exit_status) << c.path;
      EXPECT_EQ(result.out, "");
      EXPECT_EQ(LineCount(result.err), 1u) << result.err;
      EXPECT_TRUE(absl::StrContains(result.err, c.says)) << result.err;
    }
  }
}

TEST(BadInputTest, AnotherSchemaIsNamedAndInfoStillShowsTheSuperblock) {
  const std::string path = TempPath("record128.blocks");
  WriteTree<Record128Schema>(path, [](Tree<Record128Schema>* tree) {
    for (uint64_t key = 0; key < 50; key++) {
      ASSERT_TRUE(
          PutWithBackPressure(tree, Record128Schema::Make(key, key)).ok());
    }
  });
  std::ostringstream out;
  std::ostringstream err;
  const int status = RunTool<Record32Schema>({"scan", path}, out, err, {});
  EXPECT_EQ(status, kExitUnreadable);
  EXPECT_TRUE(absl::StrContains(err.str(), "\"lsmscan.record128\""))
      << err.str();
  EXPECT_TRUE(absl::StrContains(err.str(), "knows lsmscan.record32"));
  EXPECT_EQ(LineCount(err.str()), 1u);
  std::ostringstream info_out;
  std::ostringstream info_err;
  EXPECT_EQ(RunTool<Record32Schema>({"info", path}, info_out, info_err, {}),
            kExitUnreadable);
  EXPECT_TRUE(
      absl::StrContains(info_out.str(), "schema:          lsmscan.record128"))
      << info_out.str();
  // With the schema built in, it reads.
  EXPECT_EQ(RunLsmscan({"verify", path}).exit_status, kExitOk);
}

// --- A randomized comparison with a model
// -------------------------------------

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

// --- The binaries, as processes
// -----------------------------------------------

Result RunBinary(const std::string& binary, const std::string& arguments) {
  const std::string runfiles =
      std::getenv("TEST_SRCDIR") != nullptr ? std::getenv("TEST_SRCDIR") : ".";
  const std::string command =
      absl::StrCat(runfiles, "/lsmscan/tools/lsmscan/", binary, " ", arguments,
                   " 2>", TempPath("stderr.txt"));
  Result result;
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return result;
  char buffer[4096];
  size_t n;
  while ((n = fread(buffer, 1, sizeof(buffer), pipe)) > 0)
    result.out.append(buffer, n);
  const int status = pclose(pipe);
  result.exit_status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  result.err = ReadFileBytes(TempPath("stderr.txt"));
  return result;
}

TEST_F(LsmscanTest, TheBinaryPrintsWhatRunToolPrints) {
  const Result binary = RunBinary("lsmscan", "tables " + *path_);
  EXPECT_EQ(binary.exit_status, kExitOk) << binary.err;
  EXPECT_EQ(binary.out, RunLsmscan({"tables", *path_}).out);
  const Result missing = RunBinary("lsmscan", "verify " + TempPath("nothing"));
  EXPECT_EQ(missing.exit_status, kExitUnreadable);
  EXPECT_EQ(LineCount(missing.err), 1u) << missing.err;
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
  // The shipped binary names the schema it lacks.
  const Result shipped = RunBinary("lsmscan", "scan " + path);
  EXPECT_EQ(shipped.exit_status, kExitUnreadable);
  EXPECT_TRUE(absl::StrContains(shipped.err, "\"test.pair_key\" (16-byte keys"))
      << shipped.err;
}

}  // namespace
}  // namespace tool
}  // namespace lsmscan
