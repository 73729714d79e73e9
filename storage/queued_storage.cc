#include "lsmscan/storage/queued_storage.h"

#include <utility>

namespace lsmscan {

void QueuedStorage::PollBackend(TickMode /*mode*/) {
  // Writes first, so a read submitted after a write of the same block (in
  // the same tick) sees the new bytes.
  IntrusiveQueue<Write> writes = std::move(writes_);
  IntrusiveQueue<Read> reads = std::move(reads_);
  while (Write* write = writes.PopFront()) {
    absl::Status status = ExecuteWrite(*write);
    if (status.ok()) NoteWritten(write->address);
    CompleteWrite(write, std::move(status));
  }
  while (Read* read = reads.PopFront()) {
    const std::byte* data = nullptr;
    NoteDeviceRead();
    absl::Status status = ExecuteRead(*read, &data);
    CompleteRead(read, std::move(status), data);
  }
}

}  // namespace lsmscan
