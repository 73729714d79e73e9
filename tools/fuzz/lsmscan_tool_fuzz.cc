// File: tools/fuzz/lsmscan_tool_fuzz.cc
// -----------------------------------------------------------------------------
//
// Fuzz target: the lsmscan command-line tool's decoding of a whole file.
// The input's blocks become a file (an in-memory file, memfd_create, opened
// by path as a user's file would be); every command of the tool then runs
// on it. Each must end with an exit status, never a crash, an assertion or
// a read out of bounds; and they must agree:
//
//   * exit statuses are 0 (ok), 1 (corrupt), 2 (unreadable) or 3 (get: not
//     found), never 64 (the command lines are valid);
//   * a file `verify` finds clean opens and reads everywhere: info, tables,
//     scan (both ways), stats and get exit 0 (or 3 for get);
//   * the file's bytes are unchanged afterwards.
//
// Input: as whole_file_fuzz.cc: [flags (1 byte) | block 0 | block 1 | ...],
// each block framed as in fuzz_util.h, 4 KiB blocks. Flags: bit 0 fixes up
// checksums bottom-up (whole_file_fixup.h); bit 1 truncates the file's last
// block to its first half (a torn tail).

#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "lsmscan/lsm/schema.h"
#include "lsmscan/tools/fuzz/fuzz_util.h"
#include "lsmscan/tools/fuzz/whole_file_fixup.h"
#include "lsmscan/tools/fuzz/whole_file_options.h"
#include "lsmscan/tools/lsmscan/tool.h"

namespace lsmscan {
namespace fuzz {
namespace {

constexpr size_t kBlockCountMax = 256;

int RunCommand(const std::vector<std::string>& args) {
  std::ostringstream out;
  std::ostringstream err;
  const int status =
      tool::RunTool<Record32Schema>(args, out, err, tool::ToolEnvironment());
  FUZZ_CHECK(status == tool::kExitOk || status == tool::kExitCorrupt ||
                 status == tool::kExitUnreadable ||
                 status == tool::kExitNotFound,
             absl::StrCat(args[0], " exited ", status, ": ", err.str()));
  return status;
}

// Runs one input (see the file comment).
int Run(const uint8_t* data, size_t size) {
  FuzzInput input(data, size);
  const uint8_t flags = input.Byte();
  std::vector<std::vector<std::byte>> images;
  while (!input.empty() && images.size() < kBlockCountMax) {
    images.emplace_back(kWholeFileBlockSize);
    ReadFramedBlock(&input, images.back().data(), kWholeFileBlockSize);
  }
  std::vector<std::byte*> blocks;
  for (auto& image : images) blocks.push_back(image.data());
  if (flags & 1) FixUpChecksums(blocks);
  std::string bytes;
  for (const auto& image : images) {
    bytes.append(reinterpret_cast<const char*>(image.data()), image.size());
  }
  if ((flags & 2) && !bytes.empty()) bytes.resize(bytes.size() - 2048);

  const int fd = memfd_create("lsmscan_tool_fuzz", MFD_CLOEXEC);
  FUZZ_CHECK(fd >= 0, "memfd_create failed");
  FUZZ_CHECK(write(fd, bytes.data(), bytes.size()) ==
                 static_cast<ssize_t>(bytes.size()),
             "writing the file failed");
  const std::string path = absl::StrCat("/proc/self/fd/", fd);

  const int verify = RunCommand({"verify", path});
  const int info = RunCommand({"info", path});
  const int tables = RunCommand({"tables", path});
  const int scan = RunCommand({"scan", path});
  const int reverse = RunCommand({"scan", path, "--reverse", "--limit=50"});
  const int stats = RunCommand({"stats", path});
  const int get = RunCommand({"get", path, absl::StrCat(flags * 7)});
  // Every block of the file (a torn tail is not one), up to eight.
  const uint64_t file_blocks = bytes.size() / kWholeFileBlockSize;
  for (uint64_t address = 0; address < file_blocks && address < 8; address++) {
    RunCommand({"dump-block", path, absl::StrCat(address), "--hex"});
  }
  if (verify == tool::kExitOk) {
    FUZZ_CHECK(info == 0 && tables == 0 && scan == 0 && reverse == 0 &&
                   stats == 0 && (get == 0 || get == tool::kExitNotFound),
               absl::StrCat("verify found no problem, yet info ", info,
                            ", tables ", tables, ", scan ", scan, ", reverse ",
                            reverse, ", stats ", stats, ", get ", get));
  }
  std::string after(bytes.size(), '\0');
  FUZZ_CHECK(pread(fd, after.data(), after.size(), 0) ==
                     static_cast<ssize_t>(after.size()) &&
                 after == bytes,
             "a command changed the file");
  close(fd);
  return 0;
}

}  // namespace
}  // namespace fuzz
}  // namespace lsmscan

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return lsmscan::fuzz::Run(data, size);
}
