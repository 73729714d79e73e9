// File: tools/lsmscan/file_view.h
// -----------------------------------------------------------------------------
//
// A tree file opened for reading only, before anything is known about its
// schema: the block size is found from the superblock copies themselves,
// the file is opened with PreadStorage in OpenMode::kReadOnly (O_RDONLY:
// the operating system refuses any write), and every superblock copy is
// decoded and the current one chosen exactly as Tree::Open does
// (DecodeSuperblock, ChooseSuperblock, kSuperblockCopyCount copies).

#ifndef LSMSCAN_TOOLS_LSMSCAN_FILE_VIEW_H_
#define LSMSCAN_TOOLS_LSMSCAN_FILE_VIEW_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "lsmscan/lsm/superblock.h"
#include "lsmscan/storage/aligned_buffer.h"
#include "lsmscan/storage/pread_storage.h"
#include "lsmscan/storage/storage.h"

namespace lsmscan {
namespace tool {

// FileView
//
// An open tree file and its decoded superblock copies.
struct FileView {
  std::unique_ptr<PreadStorage> storage;  // Read-only.
  uint64_t file_size_bytes = 0;
  uint32_t block_size_bytes = 0;
  // One decode result per copy (index = block address).
  std::vector<absl::StatusOr<Superblock>> copies;
  // The chosen checkpoint, and the first copy that holds it (its slot's
  // other copy may hold it too).
  Superblock superblock;
  BlockAddress current_copy = 0;

  uint64_t block_count() const { return storage->block_count(); }
};

// OpenFileView()
//
// Opens `path` read-only and decodes its superblocks. One clear error per
// kind of bad input: NotFound (no such file), FailedPrecondition (empty,
// not a regular file, not an lsmscan file, another format version),
// DataLoss (an lsmscan file without an intact superblock, or truncated),
// and the operating system's errors.
absl::StatusOr<FileView> OpenFileView(const std::string& path);

// ReadBlock()
//
// Reads block `address` of `storage` into `frame` (block_size_bytes,
// sector-aligned) and returns a view of its bytes; OutOfRange past the end
// of the file.
absl::StatusOr<const std::byte*> ReadBlock(Storage* storage,
                                           BlockAddress address,
                                           std::byte* frame);

}  // namespace tool
}  // namespace lsmscan

#endif  // LSMSCAN_TOOLS_LSMSCAN_FILE_VIEW_H_
