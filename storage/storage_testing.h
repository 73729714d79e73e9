// File: storage/storage_testing.h
// -----------------------------------------------------------------------------
//
// Test support: open any backend by name, reopen it after a "crash", and run
// one test suite over all of them (LevelDB's Harness idea). testonly.

#ifndef LSMSCAN_STORAGE_STORAGE_TESTING_H_
#define LSMSCAN_STORAGE_STORAGE_TESTING_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "lsmscan/storage/block_file.h"
#include "lsmscan/storage/fault_storage.h"
#include "lsmscan/storage/memory_storage.h"
#include "lsmscan/storage/storage.h"

namespace lsmscan {
namespace testing {

// Backend
//
// Every way of opening a storage that the suites cover. kFaultDelays is the
// memory backend behind a FaultStorage that delays and reorders completions
// (no errors), so results must not change.
enum class Backend : uint8_t {
  kMemory,
  kPread,
  kPreadDirect,
  kUring,
  kUringDirect,
  kMmap,
  kFaultDelays,
};

std::string BackendName(Backend backend);
std::vector<Backend> AllBackends();
// Memory, pread, mmap and the fault wrapper: one of each kind, for suites
// that are too slow to run on all seven.
std::vector<Backend> CoreBackends();

// StorageUnderTest
//
// A backend opened by TestStorageFactory; owns everything behind `get()`.
class StorageUnderTest {
 public:
  Storage* get() const { return outer_; }
  Storage* operator->() const { return outer_; }
  // The fault wrapper for kFaultDelays, else nullptr.
  FaultStorage* fault() const { return fault_.get(); }

 private:
  friend class TestStorageFactory;
  std::unique_ptr<Storage> inner_;
  std::unique_ptr<FaultStorage> fault_;
  Storage* outer_ = nullptr;
};

// TestStorageFactory
//
// Remembers where a backend's bytes live (a file under the test's temporary
// directory, or a MemoryDevice) so a test can open, close and reopen it.
class TestStorageFactory {
 public:
  TestStorageFactory(Backend backend, const StorageOptions& options,
                     uint64_t seed = 1);

  // Opens the backend; kCreate starts empty, kOpenExisting finds what the
  // previous opening wrote.
  absl::StatusOr<std::unique_ptr<StorageUnderTest>> Open(OpenMode mode);

  Backend backend() const { return backend_; }
  const std::string& path() const { return path_; }
  const StorageOptions& options() const { return options_; }

 private:
  Backend backend_;
  StorageOptions options_;
  uint64_t seed_;
  std::string path_;
  std::shared_ptr<MemoryDevice> device_;
};

// TestTempDirectory()
//
// The directory tests may write to ($TEST_TMPDIR under Bazel).
std::string TestTempDirectory();

// SeedFromEnvironment()
//
// The seed of a randomized test: $LSMSCAN_SEED if set (decimal or 0x...),
// else `fallback`. Tests print the seed they use, so a failure reruns with
// LSMSCAN_SEED=<seed> bazel test ...
uint64_t SeedFromEnvironment(uint64_t fallback);

}  // namespace testing
}  // namespace lsmscan

#endif  // LSMSCAN_STORAGE_STORAGE_TESTING_H_
