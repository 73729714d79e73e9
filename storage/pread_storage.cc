#include "lsmscan/storage/pread_storage.h"

#include <unistd.h>

#include <cerrno>
#include <utility>

#include "absl/strings/str_cat.h"
#include "lsmscan/storage/base/assert.h"
#include "lsmscan/storage/base/status_macros.h"

namespace lsmscan {

absl::StatusOr<std::unique_ptr<PreadStorage>> PreadStorage::Open(
    const std::string& path, OpenMode mode,
    const PreadStorageOptions& options) {
  LSMSCAN_ASSIGN_OR_RETURN(
      BlockFile file,
      OpenBlockFile(path, mode, options.direct_io, options.storage));
  return std::unique_ptr<PreadStorage>(
      new PreadStorage(options, file, mode == OpenMode::kReadOnly));
}

PreadStorage::PreadStorage(const PreadStorageOptions& options, BlockFile file,
                           bool read_only)
    : QueuedStorage(options.storage, file.block_count),
      fd_(file.fd),
      direct_io_(options.direct_io),
      read_only_(read_only) {
  LSMSCAN_ASSERT(fd_ >= 0);
}

PreadStorage::~PreadStorage() { (void)Close(); }

absl::Status PreadStorage::SyncBackend() {
  LSMSCAN_ASSERT(fd_ >= 0);
  if (read_only_) return absl::OkStatus();  // Nothing was written.
  if (fdatasync(fd_) != 0) return ErrnoToStatus(errno, "fdatasync");
  return absl::OkStatus();
}

absl::Status PreadStorage::ExecuteRead(const Read& read,
                                       const std::byte** data) {
  LSMSCAN_ASSERT(IsAligned(read.buffer));
  const uint64_t offset = read.address * block_size_bytes();
  LSMSCAN_RETURN_IF_ERROR(
      PreadFull(fd_, read.buffer, block_size_bytes(), offset));
  *data = read.buffer;
  return absl::OkStatus();
}

absl::Status PreadStorage::ExecuteWrite(const Write& write) {
  if (read_only_) {
    return absl::FailedPreconditionError(
        absl::StrCat("write of block ", write.address,
                     " refused: the storage was opened read-only"));
  }
  const uint64_t offset = write.address * block_size_bytes();
  return PwriteFull(fd_, write.data, block_size_bytes(), offset);
}

absl::Status PreadStorage::CloseBackend() {
  const int fd = std::exchange(fd_, -1);
  if (fd >= 0 && close(fd) != 0) return ErrnoToStatus(errno, "close");
  return absl::OkStatus();
}

}  // namespace lsmscan
