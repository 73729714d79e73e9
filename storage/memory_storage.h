// File: storage/memory_storage.h
// -----------------------------------------------------------------------------
//
// The in-memory backend: blocks live in an anonymous mapping reserved at
// `block_count_max * block_size_bytes` (address space, not memory: pages are
// committed as blocks are written). Reads are zero-copy views into it.
//
// The bytes belong to a `MemoryDevice`, which outlives the storages opened on
// it, so a test can "crash" (drop a storage, or a fault wrapper's unwritten
// blocks) and reopen the same bytes.
//
// Example:
//
//   absl::StatusOr<std::shared_ptr<MemoryDevice>> device =
//       MemoryDevice::Create(options);
//   std::unique_ptr<MemoryStorage> storage = MemoryStorage::Open(*device);

#ifndef LSMSCAN_STORAGE_MEMORY_STORAGE_H_
#define LSMSCAN_STORAGE_MEMORY_STORAGE_H_

#include <cstddef>
#include <cstdint>
#include <memory>

#include "absl/status/statusor.h"
#include "lsmscan/storage/queued_storage.h"
#include "lsmscan/storage/storage.h"

namespace lsmscan {

// MemoryDevice
//
// The bytes of an in-memory storage. Its size never changes, so views into
// it stay valid for its whole life.
class MemoryDevice {
 public:
  // MemoryDevice::Create()
  //
  // Reserves the whole device; InvalidArgument for bad options,
  // ResourceExhausted if the address space cannot be reserved.
  static absl::StatusOr<std::shared_ptr<MemoryDevice>> Create(
      const StorageOptions& options);

  MemoryDevice(const MemoryDevice&) = delete;
  MemoryDevice& operator=(const MemoryDevice&) = delete;
  ~MemoryDevice();

  const StorageOptions& options() const { return options_; }
  std::byte* block(BlockAddress address);
  // One past the highest block ever written.
  uint64_t block_count() const { return block_count_; }
  void set_block_count(uint64_t block_count) { block_count_ = block_count; }

 private:
  MemoryDevice(const StorageOptions& options, std::byte* bytes)
      : options_(options), bytes_(bytes) {}

  StorageOptions options_;
  std::byte* bytes_;
  uint64_t block_count_ = 0;
};

// MemoryStorage
//
// A zero-copy Storage over a MemoryDevice. Writes copy into the device from
// Tick(); Sync() does nothing (memory is as durable as it gets).
class MemoryStorage final : public QueuedStorage {
 public:
  // MemoryStorage::Open()
  //
  // Opens a storage on `device`; its block_count() is the device's.
  static std::unique_ptr<MemoryStorage> Open(
      std::shared_ptr<MemoryDevice> device);

  // MemoryStorage::Create()
  //
  // A new device and a storage on it, in one call.
  static absl::StatusOr<std::unique_ptr<MemoryStorage>> Create(
      const StorageOptions& options);

  ~MemoryStorage() override;

  bool zero_copy() const override { return true; }
  const std::byte* ZeroCopyView(BlockAddress address) const override;
  const char* name() const override { return "memory"; }
  const std::shared_ptr<MemoryDevice>& device() const { return device_; }

 private:
  explicit MemoryStorage(std::shared_ptr<MemoryDevice> device);

  absl::Status ExecuteRead(const Read& read, const std::byte** data) override;
  absl::Status ExecuteWrite(const Write& write) override;
  absl::Status SyncBackend() override;
  absl::Status CloseBackend() override;

  std::shared_ptr<MemoryDevice> device_;
};

}  // namespace lsmscan

#endif  // LSMSCAN_STORAGE_MEMORY_STORAGE_H_
