// File: lsm/grid.h
// -----------------------------------------------------------------------------
//
// The grid: the tree's view of its storage as a set of checksummed blocks
// (TigerBeetle's name). It
//
//   * hands out and takes back block addresses (a FreeSet),
//   * writes sealed blocks,
//   * reads blocks and *verifies* them against what the parent expects
//     (checksum, type, address, schema) before anyone sees a byte: a block
//     that fails is a DataLoss status, never data,
//   * keeps verified blocks resident so the scan's hot path rarely waits:
//     on a zero-copy storage (memory, mmap) a block is verified the first
//     time it is read and trusted afterwards, like a block-cache hit; on a
//     copying storage (pread, io_uring) an optional BlockCache holds them.
//     A block past the end of the storage's blocks but below
//     block_count_max (a truncated file) is DataLoss, like any other
//     damage.
//
// Reads complete through callbacks from the storage's Tick(), never inside
// SubmitRead(). `TryReadResident()` is the synchronous fast path: it returns
// a block only when that needs no I/O at all.
//
// Thread safety: none (the tree's owner thread).

#ifndef LSMSCAN_LSM_GRID_H_
#define LSMSCAN_LSM_GRID_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "lsmscan/lsm/block_cache.h"
#include "lsmscan/lsm/block_header.h"
#include "lsmscan/lsm/free_set.h"
#include "lsmscan/storage/storage.h"

namespace lsmscan {

class Grid;

// BlockRef
//
// A view of a verified block, holding its cache frame pinned (if it is in
// one) until reset or destroyed. Move-only.
class BlockRef {
 public:
  BlockRef() = default;
  BlockRef(BlockRef&& other) noexcept { *this = std::move(other); }
  BlockRef& operator=(BlockRef&& other) noexcept;
  BlockRef(const BlockRef&) = delete;
  BlockRef& operator=(const BlockRef&) = delete;
  ~BlockRef() { Reset(); }

  // The block's bytes (block_size_bytes), or nullptr if empty.
  const std::byte* data() const { return data_; }
  explicit operator bool() const { return data_ != nullptr; }

  // Releases the pin; the view must not be used afterwards.
  void Reset();

 private:
  friend class Grid;
  BlockRef(BlockCache* cache, BlockCache::Frame frame, const std::byte* data)
      : cache_(cache), frame_(frame), data_(data) {}

  BlockCache* cache_ = nullptr;
  BlockCache::Frame frame_ = BlockCache::kNoFrame;
  const std::byte* data_ = nullptr;
};

// GridOptions
struct GridOptions {
  // Frames of the block cache used for copying storages (0 = no cache).
  // Ignored for zero-copy storages, which need none.
  uint32_t cache_block_count = 0;
  // SchemaId() of the tree; every block read must carry it.
  uint32_t schema_id = 0;
  // Blocks [0, reserved_block_count) are never handed out (superblocks).
  uint32_t reserved_block_count = 2;
  // Checks a data block's contents whenever the grid verifies one in full
  // (its checksum matched): on every storage read of a copying storage (a
  // cache miss), on the first read of a zero-copy one. The tree passes
  // ValidateDataBlockContents<S> (structure and key order); a failure is
  // the read's DataLoss. Null: no check beyond the checksum.
  absl::Status (*validate_data_block)(const std::byte* block,
                                      uint32_t block_size_bytes) = nullptr;
};

// GridStats
struct GridStats {
  uint64_t reads = 0;           // SubmitRead() calls.
  uint64_t resident_hits = 0;   // Reads served without storage I/O.
  uint64_t storage_reads = 0;   // Reads that went to the storage.
  uint64_t verifications = 0;   // Full checksum verifications.
  uint64_t corrupt_blocks = 0;  // Reads that failed verification.
  uint64_t writes = 0;
};

// Grid
class Grid {
 public:
  // Grid::Read
  //
  // A caller-owned read of one block. Fill the inputs, SubmitRead(), and
  // keep it alive (and unmoved) until the callback has run.
  struct Read {
    // Inputs. `expected.schema_id` is filled in by the grid.
    BlockExpectation expected;
    // Where a copying storage may put the block if the cache cannot:
    // block_size_bytes, aligned to kSectorSizeBytes. May be nullptr for a
    // zero-copy storage.
    std::byte* frame = nullptr;
    void (*callback)(Read* read) = nullptr;
    void* context = nullptr;

    // Outputs, valid in the callback: `block` is set iff `status` is OK.
    absl::Status status;
    BlockRef block;

    // Owned by the grid while in flight.
    Storage::Read storage_read;
    Storage::NextTick next_tick;
    Grid* grid = nullptr;
    BlockCache::Frame cache_frame = BlockCache::kNoFrame;
  };

  // Grid::Write
  //
  // A caller-owned write of one sealed block (SealBlock() was called on it).
  struct Write {
    BlockAddress address = 0;
    const std::byte* data = nullptr;  // Unchanged until the callback runs.
    void (*callback)(Write* write) = nullptr;
    void* context = nullptr;
    absl::Status status;  // Valid in the callback.

    Storage::Write storage_write;
    Grid* grid = nullptr;
  };

  Grid(Storage* storage, const GridOptions& options);
  Grid(const Grid&) = delete;
  Grid& operator=(const Grid&) = delete;

  // Grid::SubmitRead()
  //
  // Reads and verifies block `read->expected.address`; the callback runs
  // from a later Tick() with the block or a Status (DataLoss if it fails
  // verification, the storage's error otherwise).
  void SubmitRead(Read* read);

  // Grid::TryReadResident()
  //
  // Returns the block at once if it is resident and already verified (a
  // verified zero-copy block, or a cache hit), else an empty BlockRef.
  BlockRef TryReadResident(const BlockExpectation& expected);

  // Grid::SubmitWrite()
  //
  // Writes a sealed block; callback from a later Tick().
  void SubmitWrite(Write* write);

  // Grid::AcquireAddress(), Grid::ReleaseAddress()
  //
  // Block allocation (see FreeSet). Releasing also forgets any resident copy.
  absl::StatusOr<BlockAddress> AcquireAddress() { return free_set_.Acquire(); }
  void ReleaseAddress(BlockAddress address);

  Storage* storage() const { return storage_; }
  uint32_t block_size_bytes() const { return storage_->block_size_bytes(); }
  uint32_t schema_id() const { return options_.schema_id; }
  FreeSet& free_set() { return free_set_; }
  const FreeSet& free_set() const { return free_set_; }
  const GridStats& stats() const { return stats_; }
  // The cache of a copying storage, or null.
  const BlockCache* cache() const { return cache_.get(); }

 private:
  static void StorageReadCallback(Storage::Read* storage_read);
  static void NextTickCallback(Storage::NextTick* next_tick);
  static void StorageWriteCallback(Storage::Write* storage_write);

  // Checks `block` against `read->expected`, trusting the verified bit of a
  // zero-copy block.
  absl::Status Verify(const Read& read, const std::byte* block);
  void Finish(Read* read, absl::Status status, BlockRef block);

  bool verified(BlockAddress address) const {
    return (verified_[address / 64] >> (address % 64)) & 1;
  }
  void set_verified(BlockAddress address, bool value);

  Storage* storage_;
  GridOptions options_;
  FreeSet free_set_;
  std::unique_ptr<BlockCache> cache_;
  std::vector<uint64_t> verified_;  // Zero-copy storages only.
  GridStats stats_;
};

}  // namespace lsmscan

#endif  // LSMSCAN_LSM_GRID_H_
