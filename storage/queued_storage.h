// File: storage/queued_storage.h
// -----------------------------------------------------------------------------
//
// A Storage whose backend does each request synchronously, one at a time,
// from Tick(): submissions queue up, and Tick() executes those queued before
// it began, then runs their callbacks. The memory, mmap and pread backends
// are built on it; the io_uring backend is not (its requests really overlap).

#ifndef LSMSCAN_STORAGE_QUEUED_STORAGE_H_
#define LSMSCAN_STORAGE_QUEUED_STORAGE_H_

#include <cstddef>
#include <cstdint>

#include "absl/status/status.h"
#include "lsmscan/storage/base/intrusive_queue.h"
#include "lsmscan/storage/storage.h"

namespace lsmscan {

// QueuedStorage
//
// Subclasses implement ExecuteRead() and ExecuteWrite(); the queueing,
// ordering (FIFO per kind) and completion are done here.
class QueuedStorage : public Storage {
 protected:
  QueuedStorage(const StorageOptions& options, uint64_t block_count)
      : Storage(options, block_count) {}

  // Reads block `read.address`; returns the bytes (a view into the backend's
  // memory, or `read.buffer` filled) or an error.
  virtual absl::Status ExecuteRead(const Read& read,
                                   const std::byte** data) = 0;
  // Writes block `write.address`.
  virtual absl::Status ExecuteWrite(const Write& write) = 0;

 private:
  void StartRead(Read* read) final { reads_.PushBack(read); }
  void StartWrite(Write* write) final { writes_.PushBack(write); }
  void PollBackend(TickMode mode) final;

  IntrusiveQueue<Read> reads_;
  IntrusiveQueue<Write> writes_;
};

}  // namespace lsmscan

#endif  // LSMSCAN_STORAGE_QUEUED_STORAGE_H_
