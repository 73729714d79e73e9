#include "lsmscan/tools/lsmscan/file_view.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <optional>
#include <span>
#include <utility>

#include "absl/strings/str_cat.h"
#include "lsmscan/lsm/block_header.h"
#include "lsmscan/storage/base/status_macros.h"
#include "lsmscan/storage/block_file.h"

namespace lsmscan {
namespace tool {
namespace {

// Closes a file descriptor when it goes out of scope.
class ScopedFd {
 public:
  explicit ScopedFd(int fd) : fd_(fd) {}
  ScopedFd(const ScopedFd&) = delete;
  ScopedFd& operator=(const ScopedFd&) = delete;
  ~ScopedFd() {
    if (fd_ >= 0) close(fd_);
  }
  int get() const { return fd_; }

 private:
  int fd_;
};

// What the first bytes of a would-be superblock at `offset` say, if they
// are readable: the header and the block size field.
struct SuperblockProbe {
  BlockHeader header;
  uint32_t block_size_field = 0;
};

std::optional<SuperblockProbe> Probe(int fd, uint64_t file_size,
                                     uint64_t offset) {
  constexpr size_t kBytes = kBlockHeaderSizeBytes + sizeof(uint32_t);
  if (file_size < offset + kBytes) return std::nullopt;
  std::byte bytes[kBytes];
  if (pread(fd, bytes, kBytes, static_cast<off_t>(offset)) !=
      static_cast<ssize_t>(kBytes)) {
    return std::nullopt;
  }
  SuperblockProbe probe;
  probe.header = ReadHeader(bytes);
  std::memcpy(&probe.block_size_field, bytes + kBlockHeaderSizeBytes,
              sizeof(uint32_t));
  return probe;
}

// The block size the file was written with: the first B (a valid block
// size) for which some copy i at offset i * B is a superblock header
// recording B. Copy 0 answers unless it is damaged.
absl::StatusOr<uint32_t> FindBlockSize(int fd, uint64_t file_size) {
  const std::optional<SuperblockProbe> first = Probe(fd, file_size, 0);
  if (!first.has_value() || first->header.magic != kBlockMagic) {
    return absl::FailedPreconditionError(
        "not an lsmscan file: block 0 does not start with an lsmscan block "
        "header (magic \"LSMB\")");
  }
  for (uint32_t copy = 0; copy < kSuperblockCopyCount; copy++) {
    for (uint32_t size = kBlockSizeBytesMin; size <= kBlockSizeBytesMax;
         size *= 2) {
      const std::optional<SuperblockProbe> probe =
          Probe(fd, file_size, uint64_t{copy} * size);
      if (probe.has_value() && probe->header.magic == kBlockMagic &&
          probe->header.block_type == BlockType::kSuperblock &&
          probe->block_size_field == size) {
        return size;
      }
    }
  }
  return absl::DataLossError(
      "the file starts like an lsmscan file, but no superblock copy records "
      "a valid block size: every copy is damaged");
}

}  // namespace

absl::StatusOr<const std::byte*> ReadBlock(Storage* storage,
                                           BlockAddress address,
                                           std::byte* frame) {
  if (address >= storage->block_count()) {
    return absl::OutOfRangeError(
        absl::StrCat("block ", address, " is past the end of the file (",
                     storage->block_count(), " blocks)"));
  }
  Storage::Read read;
  read.address = address;
  read.buffer = frame;
  read.callback = [](Storage::Read*) {};
  storage->SubmitRead(&read);
  storage->RunUntilIdle();
  if (!read.status.ok()) return read.status;
  return read.data;
}

absl::StatusOr<FileView> OpenFileView(const std::string& path) {
  ScopedFd fd(open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) {
    return ErrnoToStatus(errno, absl::StrCat("cannot open ", path));
  }
  struct stat stat_buffer;
  if (fstat(fd.get(), &stat_buffer) != 0) {
    return ErrnoToStatus(errno, "cannot stat the file");
  }
  if (!S_ISREG(stat_buffer.st_mode)) {
    return absl::FailedPreconditionError("not a regular file");
  }
  FileView view;
  view.file_size_bytes = static_cast<uint64_t>(stat_buffer.st_size);
  if (view.file_size_bytes == 0) {
    return absl::FailedPreconditionError(
        "the file is empty (0 bytes): not an lsmscan tree");
  }
  LSMSCAN_ASSIGN_OR_RETURN(view.block_size_bytes,
                           FindBlockSize(fd.get(), view.file_size_bytes));
  const uint64_t whole_blocks = view.file_size_bytes / view.block_size_bytes;
  if (whole_blocks < kSuperblockCopyCount) {
    return absl::DataLossError(
        absl::StrCat("truncated: the file holds ", view.file_size_bytes,
                     " bytes, ", whole_blocks, " whole blocks of ",
                     view.block_size_bytes, " bytes; a tree starts with ",
                     kSuperblockCopyCount, " superblock copies"));
  }
  PreadStorageOptions options;
  options.storage.block_size_bytes = view.block_size_bytes;
  // Room for a tree's minimum (Tree::Open asks for more blocks than the
  // superblock copies); reads past the file's end fail all the same.
  options.storage.block_count_max =
      std::max<uint64_t>(whole_blocks, kSuperblockCopyCount + 1);
  LSMSCAN_ASSIGN_OR_RETURN(
      view.storage, PreadStorage::Open(path, OpenMode::kReadOnly, options));
  AlignedBuffer frame(view.block_size_bytes);
  view.copies.resize(kSuperblockCopyCount);
  for (BlockAddress copy = 0; copy < kSuperblockCopyCount; copy++) {
    absl::StatusOr<const std::byte*> block =
        ReadBlock(view.storage.get(), copy, frame.data());
    view.copies[copy] =
        block.ok() ? DecodeSuperblock(*block, view.block_size_bytes, copy)
                   : absl::StatusOr<Superblock>(block.status());
  }
  LSMSCAN_ASSIGN_OR_RETURN(
      view.superblock,
      ChooseSuperblock(
          std::span<const absl::StatusOr<Superblock>, kSuperblockCopyCount>(
              view.copies.data(), kSuperblockCopyCount)));
  // The first copy that holds the chosen checkpoint (its sibling may not).
  view.current_copy = SuperblockAddress(view.superblock.sequence);
  for (uint32_t i = 0; i < kSuperblockCopiesPerCheckpoint; i++) {
    const BlockAddress copy = SuperblockAddress(view.superblock.sequence, i);
    if (view.copies[copy].ok() &&
        view.copies[copy]->sequence == view.superblock.sequence) {
      view.current_copy = copy;
      break;
    }
  }
  return view;
}

}  // namespace tool
}  // namespace lsmscan
