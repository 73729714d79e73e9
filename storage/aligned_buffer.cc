#include "lsmscan/storage/aligned_buffer.h"

#include <sys/mman.h>

#include <cstdlib>
#include <cstring>
#include <utility>

#include "lsmscan/storage/base/assert.h"
#include "lsmscan/storage/storage.h"

namespace lsmscan {

namespace {

constexpr size_t kHugePageBytes = size_t{2} << 20;

size_t RoundUp(size_t size_bytes, size_t multiple) {
  return (size_bytes + multiple - 1) / multiple * multiple;
}

}  // namespace

AlignedBuffer::AlignedBuffer(size_t size_bytes) {
  const size_t rounded = RoundUp(size_bytes, kSectorSizeBytes);
  size_bytes_ = size_bytes;
  if (rounded == 0) return;
  // Large buffers (block caches, scan buffers with read-ahead) are aligned to
  // huge pages and ask for them: a hint, so that searches through them miss
  // the TLB less.
  const bool huge = rounded >= kHugePageBytes;
  const size_t alignment = huge ? kHugePageBytes : kSectorSizeBytes;
  const size_t allocated = RoundUp(rounded, alignment);
  void* memory = std::aligned_alloc(alignment, allocated);
  LSMSCAN_ASSERT_MSG(memory != nullptr, "out of memory at init");
  if (huge) (void)madvise(memory, allocated, MADV_HUGEPAGE);
  std::memset(memory, 0, allocated);
  data_ = static_cast<std::byte*>(memory);
}

AlignedBuffer AlignedBuffer::ForBlock(const Storage& storage) {
  return AlignedBuffer(storage.block_size_bytes());
}

AlignedBuffer::AlignedBuffer(AlignedBuffer&& other) noexcept
    : data_(std::exchange(other.data_, nullptr)),
      size_bytes_(std::exchange(other.size_bytes_, 0)) {}

AlignedBuffer& AlignedBuffer::operator=(AlignedBuffer&& other) noexcept {
  if (this != &other) {
    std::free(data_);
    data_ = std::exchange(other.data_, nullptr);
    size_bytes_ = std::exchange(other.size_bytes_, 0);
  }
  return *this;
}

AlignedBuffer::~AlignedBuffer() { std::free(data_); }

}  // namespace lsmscan
