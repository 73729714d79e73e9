// File: storage/block_file.h
// -----------------------------------------------------------------------------
//
// Opening the file behind a file-backed storage (pread, io_uring, mmap):
// shared so every file backend agrees on modes, flags and size checks.

#ifndef LSMSCAN_STORAGE_BLOCK_FILE_H_
#define LSMSCAN_STORAGE_BLOCK_FILE_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "lsmscan/storage/storage.h"

namespace lsmscan {

// OpenMode
//
// kCreate makes a new, empty file (truncating one that exists);
// kOpenExisting opens a file that must exist; kReadOnly opens a file that
// must exist for reading only (O_RDONLY), so the operating system refuses
// every write to it (supported by PreadStorage; the other file backends
// refuse this mode).
enum class OpenMode : uint8_t { kCreate, kOpenExisting, kReadOnly };

// BlockFile
//
// An open file descriptor and the number of whole blocks it holds.
struct BlockFile {
  int fd = -1;
  uint64_t block_count = 0;
};

// OpenBlockFile()
//
// Opens `path` read-write, or read-only for kReadOnly (with O_DIRECT if
// `direct_io`). The block count is
// the file size rounded down to whole blocks (a torn tail block from a crash
// is not part of any checkpoint). Errors: NotFound, InvalidArgument (O_DIRECT
// unsupported, file larger than block_count_max), the errno otherwise.
absl::StatusOr<BlockFile> OpenBlockFile(const std::string& path, OpenMode mode,
                                        bool direct_io,
                                        const StorageOptions& options);

// ErrnoToStatus()
//
// A Status for `error_number`, with `context` and strerror() in the message.
absl::Status ErrnoToStatus(int error_number, const std::string& context);

// PreadFull(), PwriteFull()
//
// Read or write exactly `size` bytes at `offset`, retrying EINTR and partial
// transfers. A read that hits end of file is DataLoss ("short read").
absl::Status PreadFull(int fd, std::byte* buffer, size_t size, uint64_t offset);
absl::Status PwriteFull(int fd, const std::byte* data, size_t size,
                        uint64_t offset);

}  // namespace lsmscan

#endif  // LSMSCAN_STORAGE_BLOCK_FILE_H_
