#include "lsmscan/storage/storage_testing.h"

#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <utility>

#include "absl/strings/str_cat.h"
#include "lsmscan/storage/base/assert.h"
#include "lsmscan/storage/base/status_macros.h"
#include "lsmscan/storage/mmap_storage.h"
#include "lsmscan/storage/pread_storage.h"
#include "lsmscan/storage/uring_storage.h"

namespace lsmscan {
namespace testing {

std::string BackendName(Backend backend) {
  switch (backend) {
    case Backend::kMemory:
      return "memory";
    case Backend::kPread:
      return "pread";
    case Backend::kPreadDirect:
      return "pread_direct";
    case Backend::kUring:
      return "uring";
    case Backend::kUringDirect:
      return "uring_direct";
    case Backend::kMmap:
      return "mmap";
    case Backend::kFaultDelays:
      return "fault_delays";
  }
  LSMSCAN_UNREACHABLE();
}

std::vector<Backend> AllBackends() {
  return {Backend::kMemory,     Backend::kPread,       Backend::kPreadDirect,
          Backend::kUring,      Backend::kUringDirect, Backend::kMmap,
          Backend::kFaultDelays};
}

std::vector<Backend> CoreBackends() {
  return {Backend::kMemory, Backend::kPread, Backend::kMmap,
          Backend::kFaultDelays};
}

std::string TestTempDirectory() {
  const char* directory = std::getenv("TEST_TMPDIR");
  if (directory != nullptr && directory[0] != '\0') return directory;
  return "/tmp";
}

uint64_t SeedFromEnvironment(uint64_t fallback) {
  const char* seed = std::getenv("LSMSCAN_SEED");
  if (seed == nullptr || seed[0] == '\0') return fallback;
  return std::strtoull(seed, nullptr, 0);
}

TestStorageFactory::TestStorageFactory(Backend backend,
                                       const StorageOptions& options,
                                       uint64_t seed)
    : backend_(backend), options_(options), seed_(seed) {
  static std::atomic<uint64_t> file_counter{0};
  path_ = absl::StrCat(TestTempDirectory(), "/lsmscan_", BackendName(backend),
                       "_", getpid(), "_", file_counter++, ".blocks");
}

absl::StatusOr<std::unique_ptr<StorageUnderTest>> TestStorageFactory::Open(
    OpenMode mode) {
  auto result = std::unique_ptr<StorageUnderTest>(new StorageUnderTest());
  const bool direct =
      backend_ == Backend::kPreadDirect || backend_ == Backend::kUringDirect;
  switch (backend_) {
    case Backend::kMemory:
    case Backend::kFaultDelays: {
      if (mode == OpenMode::kCreate || device_ == nullptr) {
        LSMSCAN_ASSIGN_OR_RETURN(device_, MemoryDevice::Create(options_));
      }
      result->inner_ = MemoryStorage::Open(device_);
      break;
    }
    case Backend::kPread:
    case Backend::kPreadDirect: {
      PreadStorageOptions options{options_, direct};
      LSMSCAN_ASSIGN_OR_RETURN(result->inner_,
                               PreadStorage::Open(path_, mode, options));
      break;
    }
    case Backend::kUring:
    case Backend::kUringDirect: {
      UringStorageOptions options;
      options.storage = options_;
      options.direct_io = direct;
      LSMSCAN_ASSIGN_OR_RETURN(result->inner_,
                               UringStorage::Open(path_, mode, options));
      break;
    }
    case Backend::kMmap: {
      MmapStorageOptions options;
      options.storage = options_;
      LSMSCAN_ASSIGN_OR_RETURN(result->inner_,
                               MmapStorage::Open(path_, mode, options));
      break;
    }
  }
  result->outer_ = result->inner_.get();
  if (backend_ == Backend::kFaultDelays) {
    FaultOptions faults;
    faults.delay_probability = 0.5;
    faults.delay_ticks_max = 3;
    result->fault_ =
        std::make_unique<FaultStorage>(result->inner_.get(), faults, seed_++);
    result->outer_ = result->fault_.get();
  }
  return result;
}

}  // namespace testing
}  // namespace lsmscan
