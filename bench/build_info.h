// File: bench/build_info.h
// -----------------------------------------------------------------------------
//
// Facts a benchmark report must state: the machine, the compiler, and which
// RocksDB library was really measured. Whether a library was built with
// assertions (no -DNDEBUG) is detected from the library itself (does its
// dynamic symbol table import __assert_fail?) rather than trusted from a
// flag: Debian's librocksdb keeps its assertions, which makes it markedly
// slower than a release build of the same source.

#ifndef LSMSCAN_BENCH_BUILD_INFO_H_
#define LSMSCAN_BENCH_BUILD_INFO_H_

#include <string>

#include "absl/status/statusor.h"

namespace lsmscan {
namespace bench {

// MachineInfo
struct MachineInfo {
  std::string cpu;         // Model name from /proc/cpuinfo.
  int cores = 0;           // Online logical CPUs.
  std::string kernel;      // uname -sr.
  std::string compiler;    // Of this benchmark.
  bool optimized = false;  // This benchmark was built with optimisation.
  std::string date;        // UTC, ISO 8601.
};

MachineInfo CollectMachineInfo();

// LibraryInfo
struct LibraryInfo {
  std::string path;                  // The shared object the symbol lives in.
  bool imports_assert_fail = false;  // Built without -DNDEBUG.
};

// InspectLibraryOf()
//
// Finds the shared object holding `symbol` (via dladdr) and reads its ELF
// dynamic symbol table. NotFound if the symbol is in the executable itself
// (a static link), DataLoss if the file is not a readable ELF64 object.
absl::StatusOr<LibraryInfo> InspectLibraryOf(const void* symbol);

// ElfImportsSymbol()
//
// Whether the ELF64 shared object at `path` has `name` as an undefined
// (imported) dynamic symbol.
absl::StatusOr<bool> ElfImportsSymbol(const std::string& path,
                                      const std::string& name);

}  // namespace bench
}  // namespace lsmscan

#endif  // LSMSCAN_BENCH_BUILD_INFO_H_
