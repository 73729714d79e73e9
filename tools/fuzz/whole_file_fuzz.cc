// File: tools/fuzz/whole_file_fuzz.cc
// -----------------------------------------------------------------------------
//
// Fuzz target: a whole file. The input's blocks become the blocks of a
// MemoryDevice; Tree::Open() must then fail with a Status, or open a tree
// whose scans and gets return data or a Status, without crashing, tripping
// an assertion or reading out of bounds. (The library must never crash on a
// corrupt file; a clean Status is the only acceptable failure.)
//
// Input: [flags (1 byte) | block 0 | block 1 | ...], each block framed as
// in fuzz_util.h (2-byte length, then its first bytes; the rest of the
// 4 KiB block is zero). Flags:
//
//   bit 0     fix up checksums: re-seal the blocks bottom-up (data, index,
//             manifest, superblock), patching each parent's reference to
//             its children, so that mutated structure gets past the
//             checksums. A checksum-valid data block is trusted to be
//             sorted (the writer's invariant, checked only in the
//             expensive assertion tier), so unsorted data blocks are never
//             re-sealed.
//   bit 1     a copying storage (a FaultStorage that injects nothing, over
//             the memory one) instead of the zero-copy MemoryStorage
//   bit 2     open with 1 + (flags >> 4) levels instead of 3
//   bit 3     scans read one block ahead
//
// On the zero-copy storage, the bytes of each block past its used size
// (and past the header, when the size is nonsense) are poisoned for
// AddressSanitizer: a correct reader never reads there, whatever the
// header says. Superblocks are exempt (the decoder reads the block size
// field before it checks anything else, by design).
//
// After a successful open: full scans both ways, scans of random ranges
// with probes, and gets. Returned keys must lie in the scanned range; a
// scan must end; without the fix-up (when every block that verifies is one
// the library wrote) keys must also come in strict scan order.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <optional>
#include <span>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "lsmscan/lsm/block_header.h"
#include "lsmscan/lsm/checksum.h"
#include "lsmscan/lsm/data_block.h"
#include "lsmscan/lsm/direction.h"
#include "lsmscan/lsm/index_block.h"
#include "lsmscan/lsm/manifest_codec.h"
#include "lsmscan/lsm/schema.h"
#include "lsmscan/lsm/superblock.h"
#include "lsmscan/lsm/tree.h"
#include "lsmscan/lsm/tree_blocking.h"
#include "lsmscan/lsm/tree_options.h"
#include "lsmscan/scan/scan_blocking.h"
#include "lsmscan/scan/scan_buffer.h"
#include "lsmscan/scan/scan_tree.h"
#include "lsmscan/storage/aligned_buffer.h"
#include "lsmscan/storage/base/prng.h"
#include "lsmscan/storage/fault_storage.h"
#include "lsmscan/storage/memory_storage.h"
#include "lsmscan/storage/storage.h"
#include "lsmscan/tools/fuzz/fuzz_util.h"
#include "lsmscan/tools/fuzz/whole_file_fixup.h"
#include "lsmscan/tools/fuzz/whole_file_options.h"

namespace lsmscan {
namespace fuzz {
namespace {

using S = Record32Schema;
using Key = S::Key;
using Value = S::Value;

constexpr uint32_t kBlockSize = kWholeFileBlockSize;
constexpr size_t kBlockCountMax = 256;
constexpr size_t kSpareBlockCount = 16;

// Poisons what no correct reader of a block touches (see the file comment).
void PoisonUnusedBytes(std::span<std::byte*> blocks) {
  for (size_t address = kSuperblockCopyCount; address < blocks.size();
       address++) {
    const std::byte* block = blocks[address];
    size_t used = kBlockHeaderSizeBytes;
    if (Sealable(block)) used = (ReadHeader(block).size_bytes + 7) / 8 * 8;
    PoisonBytes(block + used, kBlockSize - used);
  }
}

// Scans [key_min, key_max]; any Status ends it. Checks what comes back.
void ScanFile(Tree<S>* tree, ScanBuffer* buffer, Key key_min, Key key_max,
              Direction direction, bool ordered, uint64_t value_count_max,
              Prng* prng, double probe_probability) {
  const bool ascending = direction == Direction::kAscending;
  ScanTree<S> scan;
  const absl::Status init =
      scan.Init(tree, buffer, kSnapshotLatest, key_min, key_max, direction);
  FUZZ_CHECK(init.ok(), absl::StrCat("ScanTree::Init(): ", init.ToString()));
  std::optional<Key> last;
  Key start = ascending ? key_min : key_max;  // Moved by probes.
  uint64_t values = 0;
  bool read_pending = true;
  while (true) {
    if (read_pending) {
      const absl::Status read = ReadBlocking(&scan, tree->storage());
      if (!read.ok()) {
        FUZZ_CHECK(scan.state() == ScanState::kAborted,
                   "a failed Read() left the scan running");
        FUZZ_CHECK(scan.Next().kind == ScanNextKind::kEnd,
                   "Next() after a failed Read() is not End");
        return;
      }
      read_pending = false;
    }
    const ScanNext<Value> next = scan.Next();
    if (next.kind == ScanNextKind::kEnd) return;
    if (next.kind == ScanNextKind::kReadAgain) {
      read_pending = true;
      continue;
    }
    const Key key = S::key_of(*next.value);
    FUZZ_CHECK(!(key < key_min) && !(key_max < key),
               absl::StrCat("key ", key, " outside the scanned range [",
                            key_min, ", ", key_max, "]"));
    FUZZ_CHECK(!S::is_tombstone(*next.value), "a scan returned a tombstone");
    if (ordered) {
      if (last.has_value()) {
        FUZZ_CHECK(ascending ? *last < key : key < *last,
                   absl::StrCat("key ", key, " after key ", *last,
                                ": out of scan order"));
      }
      FUZZ_CHECK(ascending ? !(key < start) : !(start < key),
                 absl::StrCat("key ", key, " before the probe to ", start));
    }
    last = key;
    values++;
    FUZZ_CHECK(values <= value_count_max,
               "a scan returned more values than the file can hold");
    if (prng->Chance(probe_probability)) {
      // Forward from the last key, sometimes past the end of the range.
      const uint64_t step = prng->Uniform(64);
      const Key target = ascending ? key + std::min(step, S::kKeyMax - key)
                                   : key - std::min(step, key);
      const absl::Status probed = scan.Probe(target);
      FUZZ_CHECK(probed.ok(), absl::StrCat("a forward probe to ", target,
                                           " failed: ", probed.ToString()));
      if (ascending ? start < target : target < start) start = target;
    }
  }
}

void ExerciseTree(Tree<S>* tree, uint32_t read_ahead, bool ordered,
                  size_t block_count, uint64_t prng_seed) {
  ScanBufferOptions buffer_options;
  buffer_options.read_ahead_blocks = read_ahead;
  absl::StatusOr<std::unique_ptr<ScanBuffer>> buffer =
      ScanBuffer::ForTree(*tree, buffer_options);
  FUZZ_CHECK(buffer.ok(), buffer.status().ToString());
  // Every value the file can hold, plus the memory tables (empty).
  const uint64_t value_count_max =
      block_count * DataBlockValueCountMax<Value>(kBlockSize);
  Prng prng(prng_seed);
  for (Direction direction : {Direction::kAscending, Direction::kDescending}) {
    ScanFile(tree, buffer->get(), 0, S::kKeyMax, direction, ordered,
             value_count_max, &prng, 0);
  }
  for (int i = 0; i < 4; i++) {
    Key key_min = prng.Uniform(1024);
    Key key_max = key_min + prng.Uniform(1024);
    if (prng.Chance(0.1)) key_max = S::kKeyMax;
    const Direction direction =
        prng.Chance(0.5) ? Direction::kAscending : Direction::kDescending;
    ScanFile(tree, buffer->get(), key_min, key_max, direction, ordered,
             value_count_max, &prng, 0.1);
  }
  AlignedBuffer frame(kBlockSize);
  for (int i = 0; i < 8; i++) {
    const Key key = prng.Uniform(1100);
    const absl::StatusOr<std::optional<Value>> got =
        GetBlocking(tree, key, kSnapshotLatest, frame.data());
    if (got.ok() && got->has_value()) {
      FUZZ_CHECK(S::key_of(**got) == key, "Get() returned another key");
      FUZZ_CHECK(!S::is_tombstone(**got), "Get() returned a tombstone");
    }
  }
}

// Runs one input (see the file comment).
int Run(const uint8_t* data, size_t size) {
  FuzzInput input(data, size);
  const uint8_t flags = input.Byte();
  std::vector<std::vector<std::byte>> images;
  while (!input.empty() && images.size() < kBlockCountMax) {
    images.emplace_back(kBlockSize);
    ReadFramedBlock(&input, images.back().data(), kBlockSize);
  }

  StorageOptions storage_options;
  storage_options.block_size_bytes = kBlockSize;
  // Room past the file's blocks: references there are in the storage's
  // range but were never written (reads fail with OutOfRange).
  storage_options.block_count_max = images.size() + kSpareBlockCount;
  absl::StatusOr<std::shared_ptr<MemoryDevice>> created =
      MemoryDevice::Create(storage_options);
  FUZZ_CHECK(created.ok(), created.status().ToString());
  std::shared_ptr<MemoryDevice> device = *std::move(created);
  std::vector<std::byte*> blocks;
  for (size_t address = 0; address < images.size(); address++) {
    blocks.push_back(device->block(address));
    std::memcpy(blocks.back(), images[address].data(), kBlockSize);
  }
  device->set_block_count(images.size());
  const bool fix_up = (flags & 1) != 0;
  const bool copying = (flags & 2) != 0;
  if (fix_up) FixUpChecksums(blocks);
  if (!copying) PoisonUnusedBytes(blocks);

  {
    std::unique_ptr<MemoryStorage> memory = MemoryStorage::Open(device);
    std::unique_ptr<FaultStorage> fault;
    Storage* storage = memory.get();
    if (copying) {
      FaultOptions no_faults;
      no_faults.request_count_max = 64;
      fault = std::make_unique<FaultStorage>(memory.get(), no_faults,
                                             /*seed=*/1);
      storage = fault.get();
    }
    const uint32_t level_count =
        (flags & 4) ? 1 + (flags >> 4) : kWholeFileLevelCount;
    absl::StatusOr<std::unique_ptr<Tree<S>>> tree =
        Tree<S>::Open(storage, WholeFileTreeOptions(level_count));
    if (tree.ok()) {
      ExerciseTree(tree->get(), (flags >> 3) & 1, !fix_up, images.size(),
                   ChecksumBytes(data, size).low);
    }
  }
  // The device's memory is unmapped next: no poison may outlive it.
  if (!blocks.empty()) UnpoisonBytes(blocks[0], blocks.size() * kBlockSize);
  return 0;
}

}  // namespace
}  // namespace fuzz
}  // namespace lsmscan

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return lsmscan::fuzz::Run(data, size);
}
