// File: storage/pread_storage.h
// -----------------------------------------------------------------------------
//
// The POSIX file backend: each request is one pread(2)/pwrite(2), executed
// from Tick() (so reads do not overlap each other; see uring_storage.h for a
// backend whose reads do). With `direct_io`, the file is opened O_DIRECT:
// reads bypass the page cache, which is what an honest cold benchmark needs.
// Reads copy into the caller's buffer (not zero-copy).
//
// Example:
//
//   PreadStorageOptions options;
//   options.direct_io = true;
//   auto storage = PreadStorage::Open("/data/tree", OpenMode::kCreate,
//   options);

#ifndef LSMSCAN_STORAGE_PREAD_STORAGE_H_
#define LSMSCAN_STORAGE_PREAD_STORAGE_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "lsmscan/storage/block_file.h"
#include "lsmscan/storage/queued_storage.h"

namespace lsmscan {

// PreadStorageOptions
struct PreadStorageOptions {
  StorageOptions storage;
  // Open with O_DIRECT (reads and writes bypass the page cache).
  bool direct_io = false;
};

// PreadStorage
//
// A copying Storage over one file, with pread/pwrite and fdatasync.
class PreadStorage final : public QueuedStorage {
 public:
  // PreadStorage::Open()
  //
  // Opens (kOpenExisting) or creates (kCreate) the file at `path`. With
  // kReadOnly the file is opened O_RDONLY: reads work, every write
  // completes with FailedPrecondition (the file is never written), and
  // Sync() does nothing.
  static absl::StatusOr<std::unique_ptr<PreadStorage>> Open(
      const std::string& path, OpenMode mode,
      const PreadStorageOptions& options);

  ~PreadStorage() override;

  bool zero_copy() const override { return false; }
  const char* name() const override {
    return direct_io_ ? "pread-direct" : "pread";
  }

 private:
  PreadStorage(const PreadStorageOptions& options, BlockFile file,
               bool read_only);

  absl::Status ExecuteRead(const Read& read, const std::byte** data) override;
  absl::Status ExecuteWrite(const Write& write) override;
  absl::Status SyncBackend() override;
  absl::Status CloseBackend() override;

  int fd_;
  bool direct_io_;
  bool read_only_;
};

}  // namespace lsmscan

#endif  // LSMSCAN_STORAGE_PREAD_STORAGE_H_
