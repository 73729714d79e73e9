#include "lsmscan/storage/uring_storage.h"

#include <liburing.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "lsmscan/storage/base/assert.h"
#include "lsmscan/storage/base/status_macros.h"

namespace lsmscan {
namespace {

// Completion user data: the request pointer, with its low bits telling
// what it points to.
constexpr uintptr_t kReadTag = 0;
constexpr uintptr_t kWriteTag = 1;
constexpr uintptr_t kMergedTag = 2;
constexpr uintptr_t kTagMask = 3;
static_assert(alignof(Storage::Read) > kTagMask);
static_assert(alignof(Storage::Write) > kTagMask);

}  // namespace

absl::StatusOr<std::unique_ptr<UringStorage>> UringStorage::Open(
    const std::string& path, OpenMode mode,
    const UringStorageOptions& options) {
  if (mode == OpenMode::kReadOnly) {
    return absl::InvalidArgumentError(
        "UringStorage does not support OpenMode::kReadOnly (PreadStorage "
        "does)");
  }
  if (!std::has_single_bit(options.queue_depth) || options.queue_depth > 4096) {
    return absl::InvalidArgumentError(
        absl::StrCat("queue_depth must be a power of two in [1, 4096], got ",
                     options.queue_depth));
  }
  LSMSCAN_ASSIGN_OR_RETURN(
      BlockFile file,
      OpenBlockFile(path, mode, options.direct_io, options.storage));
  auto ring = std::make_unique<io_uring>();
  const int result = io_uring_queue_init(options.queue_depth, ring.get(), 0);
  if (result < 0) {
    close(file.fd);
    return absl::UnavailableError(
        absl::StrCat("io_uring_queue_init: ", std::strerror(-result)));
  }
  return std::unique_ptr<UringStorage>(
      new UringStorage(options, file, std::move(ring)));
}

UringStorage::UringStorage(const UringStorageOptions& options, BlockFile file,
                           std::unique_ptr<io_uring> ring)
    : Storage(options.storage, file.block_count),
      fd_(file.fd),
      direct_io_(options.direct_io),
      queue_depth_(options.queue_depth),
      ring_(std::move(ring)),
      merged_reads_(new MergedRead[options.queue_depth]),
      iovecs_(new iovec[size_t{options.queue_depth} * kMergedReadCountMax]) {
  LSMSCAN_ASSERT(fd_ >= 0);
  static_assert(alignof(MergedRead) > kTagMask);
  for (uint32_t i = 0; i < queue_depth_; i++) {
    free_merged_reads_.PushBack(&merged_reads_[i]);
  }
}

UringStorage::~UringStorage() { (void)Close(); }

absl::Status UringStorage::SyncBackend() {
  LSMSCAN_ASSERT(fd_ >= 0);
  if (fdatasync(fd_) != 0) return ErrnoToStatus(errno, "fdatasync");
  return absl::OkStatus();
}

// Requests wait for the next Tick(), so consecutive reads submitted
// together can be merged.
void UringStorage::StartRead(Read* read) { waiting_reads_.PushBack(read); }

void UringStorage::StartWrite(Write* write) { waiting_writes_.PushBack(write); }

void UringStorage::FillSubmissionQueue() {
  // Writes first, as in QueuedStorage; the kernel may still reorder them.
  while (in_kernel_count_ < queue_depth_ && !waiting_writes_.empty()) {
    io_uring_sqe* sqe = io_uring_get_sqe(ring_.get());
    LSMSCAN_ASSERT(sqe != nullptr);
    Write* write = waiting_writes_.PopFront();
    io_uring_prep_write(sqe, fd_, write->data, block_size_bytes(),
                        write->address * block_size_bytes());
    io_uring_sqe_set_data(
        sqe, reinterpret_cast<void*>(reinterpret_cast<uintptr_t>(write) |
                                     kWriteTag));
    in_kernel_count_++;
    unsubmitted_count_++;
  }
  while (in_kernel_count_ < queue_depth_ && !waiting_reads_.empty()) {
    SubmitWaitingRead();
  }
}

void UringStorage::SubmitWaitingRead() {
  io_uring_sqe* sqe = io_uring_get_sqe(ring_.get());
  LSMSCAN_ASSERT(sqe != nullptr);
  Read* first = waiting_reads_.PopFront();
  // Merge the reads that follow `first` at consecutive addresses, in either
  // direction (descending scans read ahead downwards).
  MergedRead* merged = free_merged_reads_.PopFront();
  LSMSCAN_ASSERT(merged != nullptr);  // One per queue slot.
  merged->count = 0;
  merged->reads[merged->count++] = first;
  BlockAddress low = first->address;
  BlockAddress high = first->address;
  while (merged->count < kMergedReadCountMax && !waiting_reads_.empty()) {
    const BlockAddress next = waiting_reads_.front()->address;
    if (next == high + 1) {
      high = next;
    } else if (next + 1 == low) {
      low = next;
    } else {
      break;
    }
    merged->reads[merged->count++] = waiting_reads_.PopFront();
  }
  in_kernel_count_++;
  unsubmitted_count_++;
  NoteDeviceRead();
  if (merged->count == 1) {
    free_merged_reads_.PushBack(merged);
    io_uring_prep_read(sqe, fd_, first->buffer, block_size_bytes(),
                       first->address * block_size_bytes());
    io_uring_sqe_set_data(sqe, first);
    return;
  }
  // Order by address, and point an iovec at each buffer.
  std::sort(
      merged->reads, merged->reads + merged->count,
      [](const Read* a, const Read* b) { return a->address < b->address; });
  iovec* iovecs = &iovecs_[static_cast<size_t>(merged - merged_reads_.get()) *
                           kMergedReadCountMax];
  for (uint32_t i = 0; i < merged->count; i++) {
    iovecs[i].iov_base = merged->reads[i]->buffer;
    iovecs[i].iov_len = block_size_bytes();
  }
  io_uring_prep_readv(sqe, fd_, iovecs, merged->count,
                      low * block_size_bytes());
  io_uring_sqe_set_data(
      sqe, reinterpret_cast<void*>(reinterpret_cast<uintptr_t>(merged) |
                                   kMergedTag));
}

bool UringStorage::ReapOne(bool wait) {
  io_uring_cqe* cqe = nullptr;
  const int result = wait ? io_uring_wait_cqe(ring_.get(), &cqe)
                          : io_uring_peek_cqe(ring_.get(), &cqe);
  if (result != 0 || cqe == nullptr) {
    LSMSCAN_ASSERT_MSG(result == -EAGAIN || result == -EINTR || !wait,
                       "io_uring_wait_cqe failed");
    return false;
  }
  const uintptr_t user_data =
      reinterpret_cast<uintptr_t>(io_uring_cqe_get_data(cqe));
  const int res = cqe->res;
  io_uring_cqe_seen(ring_.get(), cqe);
  LSMSCAN_ASSERT(in_kernel_count_ > 0);
  in_kernel_count_--;
  const uint32_t size = block_size_bytes();
  if ((user_data & kTagMask) == kMergedTag) {
    CompleteMergedRead(reinterpret_cast<MergedRead*>(user_data & ~kTagMask),
                       res);
    return true;
  }
  if ((user_data & kTagMask) == kWriteTag) {
    Write* write = reinterpret_cast<Write*>(user_data & ~kTagMask);
    absl::Status status;
    if (res < 0) {
      status =
          ErrnoToStatus(-res, absl::StrCat("write of block ", write->address));
    } else if (static_cast<uint32_t>(res) < size) {
      // Finish a partial transfer synchronously.
      const uint64_t offset = write->address * size + res;
      status = PwriteFull(fd_, write->data + res, size - res, offset);
    }
    if (status.ok()) NoteWritten(write->address);
    CompleteWrite(write, std::move(status));
    return true;
  }
  LSMSCAN_ASSERT((user_data & kTagMask) == kReadTag);
  Read* read = reinterpret_cast<Read*>(user_data);
  absl::Status status;
  if (res < 0) {
    status = ErrnoToStatus(-res, absl::StrCat("read of block ", read->address));
  } else if (static_cast<uint32_t>(res) < size) {
    const uint64_t offset = read->address * size + res;
    status = PreadFull(fd_, read->buffer + res, size - res, offset);
  }
  CompleteRead(read, std::move(status), status.ok() ? read->buffer : nullptr);
  return true;
}

void UringStorage::CompleteMergedRead(MergedRead* merged, int result) {
  const uint32_t size = block_size_bytes();
  // Copy the reads out first: callbacks may submit again and reuse `merged`.
  Read* reads[kMergedReadCountMax];
  const uint32_t count = merged->count;
  std::copy(merged->reads, merged->reads + count, reads);
  free_merged_reads_.PushBack(merged);
  for (uint32_t i = 0; i < count; i++) {
    Read* read = reads[i];
    absl::Status status;
    if (result < 0) {
      status =
          ErrnoToStatus(-result, absl::StrCat("read of block ", read->address));
    } else {
      // Blocks past a short transfer are finished synchronously.
      const uint64_t covered = static_cast<uint64_t>(result);
      const uint64_t begin = uint64_t{i} * size;
      if (covered < begin + size) {
        const uint64_t have = covered > begin ? covered - begin : 0;
        status = PreadFull(fd_, read->buffer + have, size - have,
                           read->address * size + have);
      }
    }
    CompleteRead(read, status, status.ok() ? read->buffer : nullptr);
  }
}

void UringStorage::PollBackend(TickMode mode) {
  FillSubmissionQueue();
  if (unsubmitted_count_ > 0) {
    const int submitted = io_uring_submit(ring_.get());
    LSMSCAN_ASSERT_MSG(submitted >= 0, "io_uring_submit failed");
    unsubmitted_count_ -= static_cast<uint32_t>(submitted);
  }
  // Reap only what is ready now (bounded by what is in the kernel), so the
  // callbacks of this tick cannot starve the caller.
  uint32_t reaped = 0;
  const uint32_t reap_count_max = in_kernel_count_;
  while (reaped < reap_count_max && ReapOne(/*wait=*/false)) reaped++;
  if (reaped == 0 && mode == TickMode::kWaitForProgress &&
      in_kernel_count_ > 0) {
    if (ReapOne(/*wait=*/true)) reaped++;
  }
  FillSubmissionQueue();
}

absl::Status UringStorage::CloseBackend() {
  LSMSCAN_ASSERT(in_kernel_count_ == 0);
  io_uring_queue_exit(ring_.get());
  const int fd = std::exchange(fd_, -1);
  if (fd >= 0 && close(fd) != 0) return ErrnoToStatus(errno, "close");
  return absl::OkStatus();
}

}  // namespace lsmscan
