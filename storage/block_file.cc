#include "lsmscan/storage/block_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "lsmscan/storage/base/assert.h"
#include "lsmscan/storage/base/status_macros.h"

namespace lsmscan {

absl::Status ErrnoToStatus(int error_number, const std::string& context) {
  const std::string message =
      absl::StrCat(context, ": ", std::strerror(error_number));
  switch (error_number) {
    case ENOENT:
      return absl::NotFoundError(message);
    case EACCES:
    case EPERM:
      return absl::PermissionDeniedError(message);
    case EINVAL:
      return absl::InvalidArgumentError(message);
    case ENOSPC:
    case EDQUOT:
    case ENOMEM:
      return absl::ResourceExhaustedError(message);
    default:
      return absl::InternalError(message);
  }
}

absl::StatusOr<BlockFile> OpenBlockFile(const std::string& path, OpenMode mode,
                                        bool direct_io,
                                        const StorageOptions& options) {
  LSMSCAN_RETURN_IF_ERROR(ValidateStorageOptions(options));
  int flags = (mode == OpenMode::kReadOnly ? O_RDONLY : O_RDWR) | O_CLOEXEC;
  if (mode == OpenMode::kCreate) flags |= O_CREAT | O_TRUNC;
  if (direct_io) flags |= O_DIRECT;
  const int fd = open(path.c_str(), flags, 0644);
  if (fd < 0) {
    const int error_number = errno;
    if (error_number == EINVAL && direct_io) {
      return absl::InvalidArgumentError(
          absl::StrCat("cannot open ", path,
                       " with O_DIRECT: the file system does not support it"));
    }
    return ErrnoToStatus(error_number, absl::StrCat("cannot open ", path));
  }
  struct stat stat_buffer;
  if (fstat(fd, &stat_buffer) != 0) {
    const int error_number = errno;
    close(fd);
    return ErrnoToStatus(error_number, absl::StrCat("cannot stat ", path));
  }
  const uint64_t block_count =
      static_cast<uint64_t>(stat_buffer.st_size) / options.block_size_bytes;
  if (block_count > options.block_count_max) {
    close(fd);
    return absl::InvalidArgumentError(absl::StrCat(
        path, " holds ", block_count, " blocks, more than block_count_max ",
        options.block_count_max));
  }
  return BlockFile{fd, block_count};
}

absl::Status PreadFull(int fd, std::byte* buffer, size_t size,
                       uint64_t offset) {
  size_t done = 0;
  while (done < size) {
    const ssize_t result = pread(fd, buffer + done, size - done,
                                 static_cast<off_t>(offset + done));
    if (result < 0) {
      if (errno == EINTR) continue;
      return ErrnoToStatus(errno, absl::StrCat("pread at offset ", offset));
    }
    if (result == 0) {
      return absl::DataLossError(absl::StrCat("short read at offset ", offset,
                                              ": ", done, " of ", size,
                                              " bytes before end of file"));
    }
    done += static_cast<size_t>(result);
  }
  return absl::OkStatus();
}

absl::Status PwriteFull(int fd, const std::byte* data, size_t size,
                        uint64_t offset) {
  size_t done = 0;
  while (done < size) {
    const ssize_t result =
        pwrite(fd, data + done, size - done, static_cast<off_t>(offset + done));
    if (result < 0) {
      if (errno == EINTR) continue;
      return ErrnoToStatus(errno, absl::StrCat("pwrite at offset ", offset));
    }
    LSMSCAN_ASSERT(result > 0);
    done += static_cast<size_t>(result);
  }
  return absl::OkStatus();
}

}  // namespace lsmscan
