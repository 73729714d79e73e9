#include "lsmscan/storage/storage.h"

#include <bit>
#include <cstdint>
#include <utility>

#include "absl/strings/str_cat.h"
#include "lsmscan/storage/base/assert.h"

namespace lsmscan {

absl::Status ValidateStorageOptions(const StorageOptions& options) {
  const uint32_t size = options.block_size_bytes;
  if (!std::has_single_bit(size) || size < kBlockSizeBytesMin ||
      size > kBlockSizeBytesMax) {
    return absl::InvalidArgumentError(absl::StrCat(
        "block_size_bytes must be a power of two in [", kBlockSizeBytesMin,
        ", ", kBlockSizeBytesMax, "], got ", size));
  }
  if (options.block_count_max == 0) {
    return absl::InvalidArgumentError("block_count_max must be positive");
  }
  // Byte offsets must fit in an off_t.
  if (options.block_count_max > (uint64_t{1} << 62) / size) {
    return absl::InvalidArgumentError(
        absl::StrCat("block_count_max ", options.block_count_max, " blocks of ",
                     size, " bytes overflows a file offset"));
  }
  return absl::OkStatus();
}

Storage::Storage(const StorageOptions& options, uint64_t block_count)
    : options_(options), block_count_(block_count) {
  LSMSCAN_ASSERT(ValidateStorageOptions(options).ok());
  LSMSCAN_ASSERT(block_count <= options.block_count_max);
}

bool Storage::IsAligned(const void* buffer) {
  return buffer != nullptr &&
         reinterpret_cast<uintptr_t>(buffer) % kSectorSizeBytes == 0;
}

absl::Status Storage::ValidateRead(const Read& read) const {
  if (closed_) return absl::FailedPreconditionError("storage is closed");
  if (read.address >= block_count_) {
    return absl::OutOfRangeError(absl::StrCat("read of block ", read.address,
                                              " past the end (", block_count_,
                                              " blocks)"));
  }
  if (!zero_copy() && !IsAligned(read.buffer)) {
    return absl::InvalidArgumentError(
        absl::StrCat("read buffer must be non-null and aligned to ",
                     kSectorSizeBytes, " bytes"));
  }
  return absl::OkStatus();
}

absl::Status Storage::ValidateWrite(const Write& write) const {
  if (closed_) return absl::FailedPreconditionError("storage is closed");
  if (write.address >= options_.block_count_max) {
    return absl::OutOfRangeError(absl::StrCat("write of block ", write.address,
                                              " past block_count_max ",
                                              options_.block_count_max));
  }
  if (!IsAligned(write.data)) {
    return absl::InvalidArgumentError(
        absl::StrCat("write data must be non-null and aligned to ",
                     kSectorSizeBytes, " bytes"));
  }
  return absl::OkStatus();
}

void Storage::SubmitRead(Read* read) {
  LSMSCAN_ASSERT(read != nullptr);
  LSMSCAN_ASSERT(read->callback != nullptr);
  LSMSCAN_ASSERT(read->next == nullptr);
  read->data = nullptr;
  pending_count_++;
  absl::Status status = ValidateRead(*read);
  if (!status.ok()) {
    read->status = std::move(status);
    rejected_reads_.PushBack(read);
    return;
  }
  read->status = absl::OkStatus();
  StartRead(read);
}

void Storage::SubmitWrite(Write* write) {
  LSMSCAN_ASSERT(write != nullptr);
  LSMSCAN_ASSERT(write->callback != nullptr);
  LSMSCAN_ASSERT(write->next == nullptr);
  pending_count_++;
  absl::Status status = ValidateWrite(*write);
  if (!status.ok()) {
    write->status = std::move(status);
    rejected_writes_.PushBack(write);
    return;
  }
  write->status = absl::OkStatus();
  StartWrite(write);
}

void Storage::SubmitNextTick(NextTick* next_tick) {
  LSMSCAN_ASSERT(next_tick != nullptr);
  LSMSCAN_ASSERT(next_tick->callback != nullptr);
  pending_count_++;
  next_ticks_.PushBack(next_tick);
}

void Storage::CompleteRead(Read* read, absl::Status status,
                           const std::byte* data) {
  LSMSCAN_ASSERT(pending_count_ > 0);
  LSMSCAN_ASSERT(read->next == nullptr);
  if (status.ok()) {
    LSMSCAN_ASSERT(data != nullptr);
    stats_.read_count++;
    stats_.read_bytes += options_.block_size_bytes;
    read->data = data;
  } else {
    stats_.error_count++;
    read->data = nullptr;
  }
  read->status = std::move(status);
  pending_count_--;
  read->callback(read);
}

void Storage::CompleteWrite(Write* write, absl::Status status) {
  LSMSCAN_ASSERT(pending_count_ > 0);
  LSMSCAN_ASSERT(write->next == nullptr);
  if (status.ok()) {
    stats_.write_count++;
    stats_.write_bytes += options_.block_size_bytes;
  } else {
    stats_.error_count++;
  }
  write->status = std::move(status);
  pending_count_--;
  write->callback(write);
}

void Storage::NoteWritten(BlockAddress address) {
  LSMSCAN_ASSERT(address < options_.block_count_max);
  if (address >= block_count_) block_count_ = address + 1;
}

void Storage::Tick(TickMode mode) {
  // Swap the queues first: callbacks may submit again, and those wait for
  // the next Tick().
  IntrusiveQueue<Read> rejected_reads = std::move(rejected_reads_);
  IntrusiveQueue<Write> rejected_writes = std::move(rejected_writes_);
  IntrusiveQueue<NextTick> next_ticks = std::move(next_ticks_);
  const bool ready = !rejected_reads.empty() || !rejected_writes.empty() ||
                     !next_ticks.empty();
  tick_depth_++;
  PollBackend(ready ? TickMode::kPoll : mode);
  while (Read* read = rejected_reads.PopFront()) {
    absl::Status status = std::move(read->status);
    CompleteRead(read, std::move(status), nullptr);
  }
  while (Write* write = rejected_writes.PopFront()) {
    absl::Status status = std::move(write->status);
    CompleteWrite(write, std::move(status));
  }
  while (NextTick* next_tick = next_ticks.PopFront()) {
    LSMSCAN_ASSERT(pending_count_ > 0);
    pending_count_--;
    next_tick->callback(next_tick);
  }
  tick_depth_--;
}

void Storage::RunUntilIdle() {
  while (pending_count_ > 0) Tick(TickMode::kWaitForProgress);
}

absl::Status Storage::Sync() {
  if (closed_) return absl::FailedPreconditionError("storage is closed");
  return SyncBackend();
}

absl::Status Storage::Close() {
  if (closed_) return absl::OkStatus();
  RunUntilIdle();
  absl::Status sync_status = SyncBackend();
  closed_ = true;
  absl::Status close_status = CloseBackend();
  LSMSCAN_ASSERT(pending_count_ == 0);
  if (!sync_status.ok()) return sync_status;
  return close_status;
}

}  // namespace lsmscan
