// File: storage/mmap_storage.h
// -----------------------------------------------------------------------------
//
// The memory-mapped file backend. The file is mapped read-only (MAP_SHARED)
// over the whole `block_count_max` range once, at open, so the mapping never
// moves and reads are zero-copy views into it. Writes go through pwrite(2),
// which the shared page cache makes visible in the mapping at once; Sync()
// is fdatasync(2).
//
// Caveat: a view is ordinary memory, so touching a block that is not in the
// page cache takes a page fault (a blocking disk read) wherever it happens.
// `willneed_on_read` asks the kernel to start those reads when the block is
// requested, so they overlap with other work.

#ifndef LSMSCAN_STORAGE_MMAP_STORAGE_H_
#define LSMSCAN_STORAGE_MMAP_STORAGE_H_

#include <cstddef>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "lsmscan/storage/block_file.h"
#include "lsmscan/storage/queued_storage.h"

namespace lsmscan {

// MmapAccessPattern
//
// The madvise(2) hint applied to the whole mapping at open.
enum class MmapAccessPattern : uint8_t { kNormal, kSequential, kRandom };

// MmapStorageOptions
struct MmapStorageOptions {
  StorageOptions storage;
  MmapAccessPattern access_pattern = MmapAccessPattern::kNormal;
  // madvise(MADV_WILLNEED) each block as it is read.
  bool willneed_on_read = false;
};

// MmapStorage
//
// A zero-copy Storage over one memory-mapped file.
class MmapStorage final : public QueuedStorage {
 public:
  // MmapStorage::Open()
  //
  // Opens (kOpenExisting) or creates (kCreate) the file at `path` and maps
  // it; a failed mmap(2) is reported with its errno (ResourceExhausted for
  // ENOMEM: not enough address space for block_count_max blocks).
  static absl::StatusOr<std::unique_ptr<MmapStorage>> Open(
      const std::string& path, OpenMode mode,
      const MmapStorageOptions& options);

  ~MmapStorage() override;

  bool zero_copy() const override { return true; }
  const std::byte* ZeroCopyView(BlockAddress address) const override;
  const char* name() const override { return "mmap"; }

 private:
  MmapStorage(const MmapStorageOptions& options, BlockFile file,
              std::byte* mapping);

  absl::Status ExecuteRead(const Read& read, const std::byte** data) override;
  absl::Status ExecuteWrite(const Write& write) override;
  absl::Status SyncBackend() override;
  absl::Status CloseBackend() override;

  size_t mapping_size_bytes() const;

  int fd_;
  std::byte* mapping_;
  bool willneed_on_read_;
};

}  // namespace lsmscan

#endif  // LSMSCAN_STORAGE_MMAP_STORAGE_H_
