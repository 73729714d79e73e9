// Tests of the lsmscan tool on damaged and foreign files: verify naming a
// flipped bit in a data block, an index block and the manifest (and scans
// failing, never returning it), a torn older superblock copy, truncated
// files, both superblock copies damaged, another format version; and every
// kind of bad input (missing, empty, not lsmscan's, too short, a
// directory, another schema): one line and a non-zero exit each.

#include <cstring>
#include <sstream>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "lsmscan/lsm/block_header.h"
#include "lsmscan/tools/lsmscan/lsmscan_testing.h"
#include "lsmscan/tools/lsmscan/tool.h"
#include "nlohmann/json.hpp"

namespace lsmscan {
namespace tool {
namespace testing {
namespace {

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
  // A listing cut short by the damage is not a complete JSON document.
  const Result json = RunLsmscan({"scan", path_, "--format=json"});
  EXPECT_EQ(json.exit_status, kExitCorrupt);
  EXPECT_FALSE(nlohmann::json::accept(json.out)) << json.out;
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
  // The commands that open the tree name the missing block the same way.
  for (std::vector<std::string> args :
       {std::vector<std::string>{"scan", path_},
        std::vector<std::string>{"get", path_, "2"}}) {
    const Result result = RunLsmscan(args);
    EXPECT_EQ(result.exit_status, kExitCorrupt) << args[0];
    EXPECT_EQ(LineCount(result.err), 1u) << result.err;
    EXPECT_TRUE(absl::StrContains(result.err, "past the end of the file"))
        << args[0] << ": " << result.err;
  }
  // Cut inside the superblock copies: one line, exit 1.
  WriteFileBytes(path_, bytes_.substr(0, 4096 + 100));
  const Result info = RunLsmscan({"info", path_});
  EXPECT_EQ(info.exit_status, kExitCorrupt);
  EXPECT_EQ(LineCount(info.err), 1u) << info.err;
  EXPECT_TRUE(absl::StrContains(info.err, "truncated")) << info.err;
}

TEST_F(CorruptionTest, EverySuperblockCopyDamagedIsOneLineExitOne) {
  std::string bytes = bytes_;
  for (BlockAddress copy = 0; copy < kSuperblockCopyCount; copy++) {
    bytes[copy * 4096 + 100] ^= 1;
  }
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
  for (BlockAddress copy = 0; copy < kSuperblockCopyCount; copy++) {
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

// --- Bad input files -------------------------------------------------------

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
  // The message names the file it could not open.
  EXPECT_TRUE(absl::StrContains(RunLsmscan({"info", missing}).err,
                                "cannot open " + missing + ": "));
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

}  // namespace
}  // namespace testing
}  // namespace tool
}  // namespace lsmscan
