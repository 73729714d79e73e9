#include "lsmscan/storage/memory_storage.h"

#include <sys/mman.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "lsmscan/storage/base/assert.h"
#include "lsmscan/storage/base/status_macros.h"

namespace lsmscan {

absl::StatusOr<std::shared_ptr<MemoryDevice>> MemoryDevice::Create(
    const StorageOptions& options) {
  LSMSCAN_RETURN_IF_ERROR(ValidateStorageOptions(options));
  const size_t size_bytes =
      static_cast<size_t>(options.block_count_max) * options.block_size_bytes;
  void* bytes = mmap(nullptr, size_bytes, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (bytes == MAP_FAILED) {
    return absl::ResourceExhaustedError(
        absl::StrCat("cannot reserve ", size_bytes,
                     " bytes for a memory device: ", std::strerror(errno)));
  }
  // A hint: back the arena with transparent huge pages where the kernel
  // allows, so that searches through a large tree miss the TLB less.
  (void)madvise(bytes, size_bytes, MADV_HUGEPAGE);
  return std::shared_ptr<MemoryDevice>(
      new MemoryDevice(options, static_cast<std::byte*>(bytes)));
}

MemoryDevice::~MemoryDevice() {
  const size_t size_bytes =
      static_cast<size_t>(options_.block_count_max) * options_.block_size_bytes;
  munmap(bytes_, size_bytes);
}

std::byte* MemoryDevice::block(BlockAddress address) {
  LSMSCAN_ASSERT(address < options_.block_count_max);
  return bytes_ + address * options_.block_size_bytes;
}

MemoryStorage::MemoryStorage(std::shared_ptr<MemoryDevice> device)
    : QueuedStorage(device->options(), device->block_count()),
      device_(std::move(device)) {}

std::unique_ptr<MemoryStorage> MemoryStorage::Open(
    std::shared_ptr<MemoryDevice> device) {
  LSMSCAN_ASSERT(device != nullptr);
  return std::unique_ptr<MemoryStorage>(new MemoryStorage(std::move(device)));
}

absl::StatusOr<std::unique_ptr<MemoryStorage>> MemoryStorage::Create(
    const StorageOptions& options) {
  LSMSCAN_ASSIGN_OR_RETURN(std::shared_ptr<MemoryDevice> device,
                           MemoryDevice::Create(options));
  return Open(std::move(device));
}

MemoryStorage::~MemoryStorage() { (void)Close(); }

absl::Status MemoryStorage::SyncBackend() { return absl::OkStatus(); }

absl::Status MemoryStorage::ExecuteRead(const Read& read,
                                        const std::byte** data) {
  LSMSCAN_ASSERT(read.address < device_->block_count());
  *data = device_->block(read.address);
  return absl::OkStatus();
}

absl::Status MemoryStorage::ExecuteWrite(const Write& write) {
  std::memcpy(device_->block(write.address), write.data, block_size_bytes());
  if (write.address >= device_->block_count()) {
    device_->set_block_count(write.address + 1);
  }
  return absl::OkStatus();
}

absl::Status MemoryStorage::CloseBackend() { return absl::OkStatus(); }

const std::byte* MemoryStorage::ZeroCopyView(BlockAddress address) const {
  if (closed() || address >= block_count()) return nullptr;
  return device_->block(address);
}

}  // namespace lsmscan
