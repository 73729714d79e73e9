#include "lsmscan/storage/mmap_storage.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <utility>

#include "absl/strings/str_cat.h"
#include "lsmscan/storage/base/assert.h"
#include "lsmscan/storage/base/status_macros.h"

namespace lsmscan {
namespace {

int MadviseFor(MmapAccessPattern pattern) {
  switch (pattern) {
    case MmapAccessPattern::kNormal:
      return MADV_NORMAL;
    case MmapAccessPattern::kSequential:
      return MADV_SEQUENTIAL;
    case MmapAccessPattern::kRandom:
      return MADV_RANDOM;
  }
  LSMSCAN_UNREACHABLE();
}

}  // namespace

absl::StatusOr<std::unique_ptr<MmapStorage>> MmapStorage::Open(
    const std::string& path, OpenMode mode, const MmapStorageOptions& options) {
  if (mode == OpenMode::kReadOnly) {
    return absl::InvalidArgumentError(
        "MmapStorage does not support OpenMode::kReadOnly (PreadStorage does)");
  }
  LSMSCAN_ASSIGN_OR_RETURN(
      BlockFile file,
      OpenBlockFile(path, mode, /*direct_io=*/false, options.storage));
  const size_t size_bytes =
      static_cast<size_t>(options.storage.block_count_max) *
      options.storage.block_size_bytes;
  void* mapping = mmap(nullptr, size_bytes, PROT_READ,
                       MAP_SHARED | MAP_NORESERVE, file.fd, 0);
  if (mapping == MAP_FAILED) {
    const int error_number = errno;
    close(file.fd);
    return ErrnoToStatus(error_number, absl::StrCat("cannot map ", size_bytes,
                                                    " bytes of ", path));
  }
  // The hint is advisory: a kernel that refuses it still maps correctly.
  (void)madvise(mapping, size_bytes, MadviseFor(options.access_pattern));
  return std::unique_ptr<MmapStorage>(
      new MmapStorage(options, file, static_cast<std::byte*>(mapping)));
}

MmapStorage::MmapStorage(const MmapStorageOptions& options, BlockFile file,
                         std::byte* mapping)
    : QueuedStorage(options.storage, file.block_count),
      fd_(file.fd),
      mapping_(mapping),
      willneed_on_read_(options.willneed_on_read) {
  LSMSCAN_ASSERT(fd_ >= 0);
  LSMSCAN_ASSERT(mapping_ != nullptr);
}

MmapStorage::~MmapStorage() { (void)Close(); }

size_t MmapStorage::mapping_size_bytes() const {
  return static_cast<size_t>(options().block_count_max) * block_size_bytes();
}

absl::Status MmapStorage::SyncBackend() {
  LSMSCAN_ASSERT(fd_ >= 0);
  if (fdatasync(fd_) != 0) return ErrnoToStatus(errno, "fdatasync");
  return absl::OkStatus();
}

absl::Status MmapStorage::ExecuteRead(const Read& read,
                                      const std::byte** data) {
  std::byte* block = mapping_ + read.address * block_size_bytes();
  if (willneed_on_read_)
    (void)madvise(block, block_size_bytes(), MADV_WILLNEED);
  *data = block;
  return absl::OkStatus();
}

absl::Status MmapStorage::ExecuteWrite(const Write& write) {
  return PwriteFull(fd_, write.data, block_size_bytes(),
                    write.address * block_size_bytes());
}

absl::Status MmapStorage::CloseBackend() {
  absl::Status status;
  if (mapping_ != nullptr) {
    if (munmap(mapping_, mapping_size_bytes()) != 0) {
      status = ErrnoToStatus(errno, "munmap");
    }
    mapping_ = nullptr;
  }
  const int fd = std::exchange(fd_, -1);
  if (fd >= 0 && close(fd) != 0 && status.ok()) {
    status = ErrnoToStatus(errno, "close");
  }
  return status;
}

const std::byte* MmapStorage::ZeroCopyView(BlockAddress address) const {
  if (closed() || address >= block_count()) return nullptr;
  return mapping_ + address * block_size_bytes();
}

}  // namespace lsmscan
