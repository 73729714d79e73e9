// Tests of the facts //bench:compare states about the RocksDB it measured:
// that ElfImportsSymbol reads ELF dynamic symbol tables right, and that the
// library this test is linked against is named and classified correctly.
// Built against Debian's librocksdb (the default), RocksDB must be reported
// as assertion-enabled; built with --config=rocksdb_release (which defines
// LSMSCAN_ROCKSDB_RELEASE through @rocksdb), as a release build; a static
// release build is linked in, so the test checks the archive rocksdb.bzl
// names and its build stamp instead.

#include "lsmscan/bench/build_info.h"

#include <cstdlib>
#include <fstream>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "rocksdb/db.h"
#if defined(LSMSCAN_ROCKSDB_RELEASE)
#include "lsmscan_rocksdb_release.h"
#endif

namespace lsmscan {
namespace bench {
namespace {

std::string TempPath(const std::string& name) {
  const char* directory = std::getenv("TEST_TMPDIR");
  return absl::StrCat(directory != nullptr ? directory : "/tmp", "/", name);
}

void WriteFile(const std::string& path, const std::string& contents) {
  std::ofstream file(path, std::ios::binary | std::ios::trunc);
  file << contents;
  ASSERT_TRUE(file.good()) << path;
}

// A function of this test binary itself, not of any shared library.
int LocalFunction() { return 42; }

TEST(ElfImportsSymbolTest, FindsAnImportOfThisProgram) {
  // Every dynamically linked glibc program imports __libc_start_main.
  absl::StatusOr<bool> imports =
      ElfImportsSymbol("/proc/self/exe", "__libc_start_main");
  ASSERT_TRUE(imports.ok()) << imports.status();
  EXPECT_TRUE(*imports);
}

TEST(ElfImportsSymbolTest, DoesNotFindAMadeUpName) {
  absl::StatusOr<bool> imports =
      ElfImportsSymbol("/proc/self/exe", "lsmscan_no_such_symbol_4711");
  ASSERT_TRUE(imports.ok()) << imports.status();
  EXPECT_FALSE(*imports);
}

TEST(ElfImportsSymbolTest, MissingFileIsNotFound) {
  absl::StatusOr<bool> imports =
      ElfImportsSymbol(TempPath("no_such_file.so"), "malloc");
  EXPECT_EQ(imports.status().code(), absl::StatusCode::kNotFound);
}

TEST(ElfImportsSymbolTest, TextFileIsDataLoss) {
  const std::string path = TempPath("not_elf.so");
  WriteFile(path, "this is not an ELF object, only some text\n");
  absl::StatusOr<bool> imports = ElfImportsSymbol(path, "malloc");
  EXPECT_EQ(imports.status().code(), absl::StatusCode::kDataLoss);
}

TEST(ElfImportsSymbolTest, EmptyAndTruncatedFilesAreDataLoss) {
  const std::string empty = TempPath("empty.so");
  WriteFile(empty, "");
  EXPECT_EQ(ElfImportsSymbol(empty, "malloc").status().code(),
            absl::StatusCode::kDataLoss);
  // The ELF magic and class, then nothing: the header is cut short.
  const std::string truncated = TempPath("truncated.so");
  WriteFile(truncated, std::string("\x7f"
                                   "ELF\x02\x01\x01",
                                   7));
  EXPECT_EQ(ElfImportsSymbol(truncated, "malloc").status().code(),
            absl::StatusCode::kDataLoss);
}

TEST(InspectLibraryOfTest, SymbolOfTheProgramItselfIsNotFound) {
  EXPECT_EQ(LocalFunction(), 42);
  absl::StatusOr<LibraryInfo> info =
      InspectLibraryOf(reinterpret_cast<const void*>(&LocalFunction));
  EXPECT_EQ(info.status().code(), absl::StatusCode::kNotFound);
}

#if defined(LSMSCAN_ROCKSDB_RELEASE_STATIC)
// The static release build is linked into this test itself: there is no
// shared object to inspect, and rocksdb.bzl names the archive it linked.
TEST(InspectLibraryOfTest, StaticReleaseBuildIsLinkedIn) {
  absl::StatusOr<LibraryInfo> info =
      InspectLibraryOf(reinterpret_cast<const void*>(&rocksdb::DestroyDB));
  EXPECT_EQ(info.status().code(), absl::StatusCode::kNotFound);
  const std::string archive = LSMSCAN_ROCKSDB_RELEASE_LIBRARY;
  EXPECT_TRUE(absl::EndsWith(archive, "/librocksdb.a")) << archive;
  EXPECT_FALSE(absl::StartsWith(archive, "/usr/lib/")) << archive;
  EXPECT_TRUE(std::ifstream(archive).good()) << archive;
  // The script's stamp: liburing on, and which variant.
  EXPECT_TRUE(absl::StrContains(LSMSCAN_ROCKSDB_RELEASE_BUILD, "liburing=ON"))
      << LSMSCAN_ROCKSDB_RELEASE_BUILD;
}
#else
TEST(InspectLibraryOfTest, NamesTheRocksDbThisTestIsLinkedWith) {
  absl::StatusOr<LibraryInfo> info =
      InspectLibraryOf(reinterpret_cast<const void*>(&rocksdb::DestroyDB));
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_TRUE(absl::StrContains(info->path, "librocksdb.so")) << info->path;
  // Any real shared library imports something ordinary from libc.
  absl::StatusOr<bool> imports_malloc = ElfImportsSymbol(info->path, "malloc");
  ASSERT_TRUE(imports_malloc.ok()) << imports_malloc.status();
  EXPECT_TRUE(*imports_malloc) << info->path;
#ifdef LSMSCAN_ROCKSDB_RELEASE
  // tools/build_rocksdb_release.sh's build: NDEBUG, outside the system
  // library directories.
  EXPECT_FALSE(info->imports_assert_fail) << info->path;
  EXPECT_FALSE(absl::StartsWith(info->path, "/usr/lib/") ||
               absl::StartsWith(info->path, "/lib/"))
      << info->path;
#else
  // Debian's librocksdb: CMake build type None, so no NDEBUG.
  EXPECT_TRUE(info->imports_assert_fail) << info->path;
  EXPECT_TRUE(absl::StartsWith(info->path, "/usr/lib/") ||
              absl::StartsWith(info->path, "/lib/"))
      << info->path;
#endif
}
#endif  // LSMSCAN_ROCKSDB_RELEASE_STATIC

}  // namespace
}  // namespace bench
}  // namespace lsmscan
