// File: tools/lsmscan/lsmscan_testing.h
// -----------------------------------------------------------------------------
//
// What the lsmscan tool's tests share: temporary files, small trees written
// for them (the golden tree: several levels, tombstones, shadowed versions),
// running the tool in-process (RunTool) or its built binaries as processes,
// and the addresses of the golden tree's blocks by role.

#ifndef LSMSCAN_TOOLS_LSMSCAN_LSMSCAN_TESTING_H_
#define LSMSCAN_TOOLS_LSMSCAN_LSMSCAN_TESTING_H_

#include <sys/wait.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "lsmscan/lsm/schema.h"
#include "lsmscan/lsm/tree.h"
#include "lsmscan/lsm/tree_blocking.h"
#include "lsmscan/storage/pread_storage.h"
#include "lsmscan/tools/lsmscan/tool.h"

namespace lsmscan {
namespace tool {
namespace testing {

using S = Record32Schema;
using Model = std::map<uint64_t, S::Value>;

// `name` in the test's temporary directory.
inline std::string TempPath(const std::string& name) {
  const char* directory = std::getenv("TEST_TMPDIR");
  return absl::StrCat(directory != nullptr ? directory : "/tmp", "/", name);
}

// The whole file's bytes (empty if it cannot be read).
inline std::string ReadFileBytes(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(file),
                     std::istreambuf_iterator<char>());
}

// Replaces the file's contents with `bytes`.
inline void WriteFileBytes(const std::string& path, const std::string& bytes) {
  std::ofstream file(path, std::ios::binary | std::ios::trunc);
  file.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

// 3 levels of tiny tables, so that a few hundred values fill several.
inline TreeOptions SmallOptions() {
  TreeOptions options;
  options.level_count = 3;
  options.growth_factor = 2;
  options.table_data_block_count_max = 2;
  options.memory_table_value_count_max = 64;
  // The golden files pin every block's bytes, which record the op a job
  // started at: only the explicit schedule keeps them (and the shape) fixed.
  options.background_compaction = false;
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

// Puts (key, value of `seed`) into the tree and the model.
inline void Put(Tree<S>* tree, Model* model, uint64_t key, uint64_t seed) {
  const S::Value value = S::Make(key, seed);
  ASSERT_TRUE(PutWithBackPressure(tree, value).ok());
  (*model)[key] = value;
}

// Removes `key` from the tree (a tombstone) and the model.
inline void Remove(Tree<S>* tree, Model* model, uint64_t key) {
  ASSERT_TRUE(PutWithBackPressure(tree, S::tombstone(key)).ok());
  model->erase(key);
}

// The small tree of the golden tests: 300 keys, overwrites and removes,
// over two checkpoints, so it has several levels, tombstones and shadowed
// versions.
inline Model WriteGoldenTree(const std::string& path) {
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

// What one run of the tool printed, and its exit status.
struct Result {
  int exit_status = -1;
  std::string out;
  std::string err;
};

// Runs the tool in-process with the shipped schemas; `terminal` says
// whether stderr is to be taken for a terminal.
inline Result RunLsmscan(const std::vector<std::string>& args,
                         bool terminal = false) {
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

// The number of newlines in `text`.
inline size_t LineCount(const std::string& text) {
  return static_cast<size_t>(std::count(text.begin(), text.end(), '\n'));
}

// The addresses of the golden tree's blocks, by role.
struct Addresses {
  BlockAddress manifest = 0;
  BlockAddress index = 0;
  BlockAddress data = 0;
};

// The highest-addressed referenced block of each role.
inline Addresses FindAddresses(const std::string& path) {
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

// Runs the built binary `binary` (a data dependency of the test) with
// `arguments` through the shell, as a user would.
inline Result RunBinary(const std::string& binary,
                        const std::string& arguments) {
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

}  // namespace testing
}  // namespace tool
}  // namespace lsmscan

#endif  // LSMSCAN_TOOLS_LSMSCAN_LSMSCAN_TESTING_H_
