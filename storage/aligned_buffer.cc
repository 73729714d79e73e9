#include "lsmscan/storage/aligned_buffer.h"

#include <cstdlib>
#include <cstring>
#include <utility>

#include "lsmscan/storage/base/assert.h"
#include "lsmscan/storage/storage.h"

namespace lsmscan {

AlignedBuffer::AlignedBuffer(size_t size_bytes) {
  const size_t rounded =
      (size_bytes + kSectorSizeBytes - 1) / kSectorSizeBytes * kSectorSizeBytes;
  size_bytes_ = size_bytes;
  if (rounded == 0) return;
  void* memory = std::aligned_alloc(kSectorSizeBytes, rounded);
  LSMSCAN_ASSERT_MSG(memory != nullptr, "out of memory at init");
  std::memset(memory, 0, rounded);
  data_ = static_cast<std::byte*>(memory);
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
