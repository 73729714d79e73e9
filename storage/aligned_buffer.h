// File: storage/aligned_buffer.h
// -----------------------------------------------------------------------------
//
// An owned, zero-filled byte buffer aligned to kSectorSizeBytes: the memory
// for block frames (scan buffers, caches, write staging, the frame of a
// point read on a copying storage). Allocated once, at init time; never
// resized. Public target: //storage:aligned_buffer.

#ifndef LSMSCAN_STORAGE_ALIGNED_BUFFER_H_
#define LSMSCAN_STORAGE_ALIGNED_BUFFER_H_

#include <cstddef>
#include <span>

#include "lsmscan/storage/storage.h"

namespace lsmscan {

// AlignedBuffer
//
// Move-only owner of `size_bytes` bytes aligned to kSectorSizeBytes.
class AlignedBuffer {
 public:
  AlignedBuffer() = default;
  // Allocates `size_bytes` (rounded up to a sector) zeroed bytes; aborts if
  // memory is exhausted (allocation happens only at init). From 2 MiB up,
  // the bytes are aligned to 2 MiB and asked to be backed by transparent
  // huge pages (madvise MADV_HUGEPAGE, a hint).
  explicit AlignedBuffer(size_t size_bytes);
  AlignedBuffer(AlignedBuffer&& other) noexcept;
  AlignedBuffer& operator=(AlignedBuffer&& other) noexcept;
  AlignedBuffer(const AlignedBuffer&) = delete;
  AlignedBuffer& operator=(const AlignedBuffer&) = delete;
  ~AlignedBuffer();

  // AlignedBuffer::ForBlock()
  //
  // One block of `storage` (block_size_bytes), aligned: the frame a get
  // needs on a copying storage (GetRequest::frame, GetBlocking(); pread and
  // io_uring read into it). Allocate it once and reuse it for every get.
  static AlignedBuffer ForBlock(const Storage& storage);

  std::byte* data() { return data_; }
  const std::byte* data() const { return data_; }
  size_t size() const { return size_bytes_; }
  std::span<std::byte> span() { return {data_, size_bytes_}; }

 private:
  std::byte* data_ = nullptr;
  size_t size_bytes_ = 0;
};

}  // namespace lsmscan

#endif  // LSMSCAN_STORAGE_ALIGNED_BUFFER_H_
