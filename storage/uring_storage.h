// File: storage/uring_storage.h
// -----------------------------------------------------------------------------
//
// The io_uring file backend: requests are handed to the kernel at the next
// Tick() (up to `queue_depth` at once) and run concurrently while the caller
// keeps working; Tick() also reaps what has finished. This is the backend
// that lets a scan overlap device time with CPU time, and lets every level
// of the tree load at once. With `direct_io` the page cache is bypassed.
// Reads copy into the caller's buffer (not zero-copy).
//
// Reads of consecutive blocks submitted together (a level's read-ahead) are
// merged into one vectored read of up to kMergedReadCountMax blocks: devices
// serve one large request much faster than many small ones.

#ifndef LSMSCAN_STORAGE_URING_STORAGE_H_
#define LSMSCAN_STORAGE_URING_STORAGE_H_

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "lsmscan/storage/base/intrusive_queue.h"
#include "lsmscan/storage/block_file.h"
#include "lsmscan/storage/storage.h"

struct io_uring;
struct iovec;

namespace lsmscan {

// kMergedReadCountMax
//
// The most consecutive block reads merged into one vectored request.
inline constexpr uint32_t kMergedReadCountMax = 32;

// UringStorageOptions
struct UringStorageOptions {
  StorageOptions storage;
  // Open with O_DIRECT (reads and writes bypass the page cache).
  bool direct_io = false;
  // Requests handed to the kernel at once; more wait in a queue. A power of
  // two in [1, 4096].
  uint32_t queue_depth = 128;
};

// UringStorage
//
// A copying Storage over one file, with io_uring reads and writes.
class UringStorage final : public Storage {
 public:
  // UringStorage::Open()
  //
  // Opens (kOpenExisting) or creates (kCreate) the file at `path` and sets up
  // a ring; Unavailable if the kernel refuses io_uring.
  static absl::StatusOr<std::unique_ptr<UringStorage>> Open(
      const std::string& path, OpenMode mode,
      const UringStorageOptions& options);

  ~UringStorage() override;

  bool zero_copy() const override { return false; }
  const char* name() const override {
    return direct_io_ ? "uring-direct" : "uring";
  }

 private:
  UringStorage(const UringStorageOptions& options, BlockFile file,
               std::unique_ptr<io_uring> ring);

  void StartRead(Read* read) override;
  void StartWrite(Write* write) override;
  void PollBackend(TickMode mode) override;
  absl::Status SyncBackend() override;
  absl::Status CloseBackend() override;

  // A vectored read of consecutive blocks, ascending by address.
  struct MergedRead {
    Read* reads[kMergedReadCountMax];
    uint32_t count = 0;
    MergedRead* next = nullptr;
  };

  // Moves waiting requests into the submission queue while it has room.
  void FillSubmissionQueue();
  void SubmitWaitingRead();
  // Completes one finished request; returns false if none was ready.
  bool ReapOne(bool wait);
  void CompleteMergedRead(MergedRead* merged, int result);

  int fd_;
  bool direct_io_;
  uint32_t queue_depth_;
  uint32_t in_kernel_count_ = 0;
  uint32_t unsubmitted_count_ = 0;
  std::unique_ptr<io_uring> ring_;
  IntrusiveQueue<Read> waiting_reads_;
  IntrusiveQueue<Write> waiting_writes_;
  // One merged read per queue slot, and their iovec arrays, at open.
  std::unique_ptr<MergedRead[]> merged_reads_;
  std::unique_ptr<iovec[]> iovecs_;
  IntrusiveQueue<MergedRead> free_merged_reads_;
};

}  // namespace lsmscan

#endif  // LSMSCAN_STORAGE_URING_STORAGE_H_
