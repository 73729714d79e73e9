#include "lsmscan/lsm/grid.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "lsmscan/storage/base/assert.h"

namespace lsmscan {

BlockRef& BlockRef::operator=(BlockRef&& other) noexcept {
  if (this != &other) {
    Reset();
    cache_ = std::exchange(other.cache_, nullptr);
    frame_ = std::exchange(other.frame_, BlockCache::kNoFrame);
    data_ = std::exchange(other.data_, nullptr);
  }
  return *this;
}

void BlockRef::Reset() {
  if (frame_ != BlockCache::kNoFrame) {
    LSMSCAN_ASSERT(cache_ != nullptr);
    cache_->Unpin(frame_);
  }
  cache_ = nullptr;
  frame_ = BlockCache::kNoFrame;
  data_ = nullptr;
}

Grid::Grid(Storage* storage, const GridOptions& options)
    : storage_(storage),
      options_(options),
      free_set_(storage->options().block_count_max,
                options.reserved_block_count) {
  LSMSCAN_ASSERT(storage != nullptr);
  if (storage->zero_copy()) {
    verified_.assign((storage->options().block_count_max + 63) / 64, 0);
  } else if (options.cache_block_count > 0) {
    cache_ = std::make_unique<BlockCache>(options.cache_block_count,
                                          storage->block_size_bytes());
  }
}

void Grid::set_verified(BlockAddress address, bool value) {
  if (verified_.empty()) return;
  LSMSCAN_ASSERT(address < storage_->options().block_count_max);
  const uint64_t bit = uint64_t{1} << (address % 64);
  if (value) {
    verified_[address / 64] |= bit;
  } else {
    verified_[address / 64] &= ~bit;
  }
}

namespace {

// The cheap checks for a block verified before: is it still the block the
// parent refers to?
bool MatchesReference(const std::byte* block,
                      const BlockExpectation& expected) {
  const BlockHeader header = ReadHeader(block);
  return header.checksum == expected.checksum &&
         header.address == expected.address &&
         header.block_type == expected.type;
}

}  // namespace

BlockRef Grid::TryReadResident(const BlockExpectation& expected) {
  if (expected.address >= storage_->block_count()) {
    return BlockRef();  // The storage read reports it.
  }
  if (cache_ != nullptr) {
    const BlockCache::Frame frame =
        cache_->Lookup(expected.address, expected.checksum);
    if (frame == BlockCache::kNoFrame) return BlockRef();
    BlockRef block(cache_.get(), frame, cache_->data(frame));
    // The right bytes, but maybe not the block the reader expects (another
    // type): let the full read report it.
    if (!MatchesReference(block.data(), expected)) return BlockRef();
    return block;
  }
  if (!verified_.empty() && verified(expected.address)) {
    const std::byte* view = storage_->ZeroCopyView(expected.address);
    if (view != nullptr && MatchesReference(view, expected)) {
      return BlockRef(nullptr, BlockCache::kNoFrame, view);
    }
  }
  return BlockRef();
}

void Grid::SubmitRead(Read* read) {
  LSMSCAN_ASSERT(read != nullptr);
  LSMSCAN_ASSERT(read->callback != nullptr);
  LSMSCAN_ASSERT(!read->block);
  read->grid = this;
  read->expected.schema_id = options_.schema_id;
  read->status = absl::OkStatus();
  read->cache_frame = BlockCache::kNoFrame;
  stats_.reads++;
  BlockRef resident = TryReadResident(read->expected);
  if (resident) {
    stats_.resident_hits++;
    read->block = std::move(resident);
    read->next_tick.callback = &Grid::NextTickCallback;
    read->next_tick.context = read;
    storage_->SubmitNextTick(&read->next_tick);
    return;
  }
  std::byte* destination = read->frame;
  if (cache_ != nullptr) {
    read->cache_frame = cache_->Reserve();
    if (read->cache_frame != BlockCache::kNoFrame) {
      destination = cache_->data(read->cache_frame);
    }
  }
  LSMSCAN_ASSERT(destination != nullptr || storage_->zero_copy());
  stats_.storage_reads++;
  read->storage_read = Storage::Read();
  read->storage_read.address = read->expected.address;
  read->storage_read.buffer = destination;
  read->storage_read.callback = &Grid::StorageReadCallback;
  read->storage_read.context = read;
  storage_->SubmitRead(&read->storage_read);
}

void Grid::NextTickCallback(Storage::NextTick* next_tick) {
  Read* read = static_cast<Read*>(next_tick->context);
  LSMSCAN_ASSERT(read->block);
  read->callback(read);
}

absl::Status Grid::Verify(const Read& read, const std::byte* block) {
  const BlockExpectation& expected = read.expected;
  if (!verified_.empty() && verified(expected.address)) {
    if (MatchesReference(block, expected)) return absl::OkStatus();
    return absl::DataLossError(
        absl::StrCat(BlockTypeName(expected.type), " block ", expected.address,
                     ": not the block its parent refers to"));
  }
  stats_.verifications++;
  const absl::Status verified =
      VerifyBlock(block, block_size_bytes(), expected);
  if (!verified.ok() || expected.type != BlockType::kData ||
      options_.validate_data_block == nullptr) {
    return verified;
  }
  absl::Status valid = options_.validate_data_block(block, block_size_bytes());
  if (valid.ok()) return valid;
  return absl::DataLossError(
      absl::StrCat("data block ", expected.address, ": ", valid.message()));
}

void Grid::StorageReadCallback(Storage::Read* storage_read) {
  Read* read = static_cast<Read*>(storage_read->context);
  Grid* grid = read->grid;
  absl::Status status = storage_read->status;
  if (absl::IsOutOfRange(status) &&
      read->expected.address < grid->storage_->options().block_count_max) {
    // The parent refers to a block the storage could hold but does not:
    // the file lost its tail (truncated), which is damage like any other.
    // (Past block_count_max, no storage could: OutOfRange stays.)
    status = absl::DataLossError(
        absl::StrCat(BlockTypeName(read->expected.type), " block ",
                     read->expected.address, ": past the end of the storage (",
                     grid->storage_->block_count(), " blocks; truncated?)"));
  }
  if (status.ok()) status = grid->Verify(*read, storage_read->data);
  if (!status.ok()) {
    if (absl::IsDataLoss(status)) grid->stats_.corrupt_blocks++;
    if (read->cache_frame != BlockCache::kNoFrame) {
      grid->cache_->Abandon(read->cache_frame);
    }
    grid->Finish(read, std::move(status), BlockRef());
    return;
  }
  const BlockAddress address = read->expected.address;
  if (read->cache_frame != BlockCache::kNoFrame) {
    const BlockCache::Frame frame = grid->cache_->Publish(
        read->cache_frame, address, read->expected.checksum);
    LSMSCAN_ASSERT(frame != BlockCache::kNoFrame);
    grid->Finish(
        read, absl::OkStatus(),
        BlockRef(grid->cache_.get(), frame, grid->cache_->data(frame)));
    return;
  }
  if (!grid->verified_.empty()) grid->set_verified(address, true);
  grid->Finish(read, absl::OkStatus(),
               BlockRef(nullptr, BlockCache::kNoFrame, storage_read->data));
}

void Grid::Finish(Read* read, absl::Status status, BlockRef block) {
  read->cache_frame = BlockCache::kNoFrame;
  read->status = std::move(status);
  read->block = std::move(block);
  LSMSCAN_ASSERT(read->status.ok() == static_cast<bool>(read->block));
  read->callback(read);
}

void Grid::SubmitWrite(Write* write) {
  LSMSCAN_ASSERT(write != nullptr);
  LSMSCAN_ASSERT(write->callback != nullptr);
  LSMSCAN_ASSERT(free_set_.acquired(write->address));
  LSMSCAN_ASSERT(ReadHeader(write->data).address == write->address);
  if (cache_ != nullptr) cache_->Invalidate(write->address);
  set_verified(write->address, false);
  stats_.writes++;
  write->grid = this;
  write->status = absl::OkStatus();
  write->storage_write = Storage::Write();
  write->storage_write.address = write->address;
  write->storage_write.data = write->data;
  write->storage_write.callback = &Grid::StorageWriteCallback;
  write->storage_write.context = write;
  storage_->SubmitWrite(&write->storage_write);
}

void Grid::StorageWriteCallback(Storage::Write* storage_write) {
  Write* write = static_cast<Write*>(storage_write->context);
  write->status = storage_write->status;
  write->callback(write);
}

void Grid::ReleaseAddress(BlockAddress address) {
  if (cache_ != nullptr) cache_->Invalidate(address);
  set_verified(address, false);
  free_set_.Release(address);
}

}  // namespace lsmscan
