// File: lsm/grid_testing.h
// -----------------------------------------------------------------------------
//
// Test support for Grid (testonly): sealed data blocks built to order, and
// blocking writes and reads through a grid that check the callback contract
// (once, never inside the submitting call).

#ifndef LSMSCAN_LSM_GRID_TESTING_H_
#define LSMSCAN_LSM_GRID_TESTING_H_

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <vector>

#include "absl/status/status.h"
#include "gtest/gtest.h"
#include "lsmscan/lsm/block_header.h"
#include "lsmscan/lsm/checksum.h"
#include "lsmscan/lsm/data_block.h"
#include "lsmscan/lsm/grid.h"
#include "lsmscan/lsm/schema.h"
#include "lsmscan/storage/aligned_buffer.h"
#include "lsmscan/storage/storage.h"

namespace lsmscan {
namespace grid_testing {

using S32 = Record32Schema;

inline constexpr uint32_t kBlockSize = 4096;
inline constexpr uint64_t kBlockCountMax = 64;
inline constexpr uint32_t kSchemaId = 0x3232AB01;

// Storage options of kBlockSize blocks, kBlockCountMax of them.
inline StorageOptions TestStorageOptions() {
  StorageOptions options;
  options.block_size_bytes = kBlockSize;
  options.block_count_max = kBlockCountMax;
  return options;
}

// A block as written: its bytes and the reference its parent would hold.
struct Written {
  std::vector<std::byte> bytes;
  Checksum128 checksum;
  uint32_t size_bytes = 0;
};

// Builds a sealed data block for `address` in `frame`: `count` values
// (DataBlockValueCountMax fills the block), payloads from `seed`.
inline Written BuildBlock(
    std::byte* frame, BlockAddress address, uint64_t seed,
    uint32_t count = DataBlockValueCountMax<S32::Value>(kBlockSize)) {
  DataBlockBuilder<S32> builder;
  builder.Reset(frame, kBlockSize);
  for (uint32_t i = 0; i < count; i++) builder.Add(S32::Make(i * 2, seed + i));
  Written written;
  written.checksum = builder.Seal(address, kSchemaId, /*snapshot_min=*/1);
  written.bytes.assign(frame, frame + kBlockSize);
  written.size_bytes = ReadHeader(frame).size_bytes;
  return written;
}

// What a parent referencing data block `address` with `checksum` expects.
inline BlockExpectation ExpectationFor(BlockAddress address,
                                       const Checksum128& checksum) {
  BlockExpectation expected;
  expected.address = address;
  expected.checksum = checksum;
  expected.type = BlockType::kData;
  return expected;
}

// Writes a block through the grid and waits for it.
inline absl::Status WriteBlocking(Grid& grid, BlockAddress address,
                                  const std::byte* data) {
  struct Context {
    bool done = false;
  } context;
  Grid::Write write;
  write.address = address;
  write.data = data;
  write.context = &context;
  write.callback = [](Grid::Write* w) {
    static_cast<Context*>(w->context)->done = true;
  };
  grid.SubmitWrite(&write);
  EXPECT_FALSE(context.done) << "write callback ran inside SubmitWrite";
  grid.storage()->RunUntilIdle();
  EXPECT_TRUE(context.done);
  return write.status;
}

// The outcome of one read.
struct ReadResult {
  absl::Status status;
  std::vector<std::byte> bytes;  // The block, iff status is OK.
  bool had_block = false;
};

// A read in flight, with its own frame for copying storages.
struct PendingRead {
  Grid::Read read;
  AlignedBuffer frame{kBlockSize};
  bool done = false;
  bool inside_submit = false;
  ReadResult result;
};

// Records a read's outcome in its PendingRead (and that the callback ran
// once, outside SubmitRead()).
inline void OnRead(Grid::Read* read) {
  PendingRead* pending = static_cast<PendingRead*>(read->context);
  EXPECT_FALSE(pending->inside_submit) << "callback ran inside SubmitRead";
  EXPECT_FALSE(pending->done) << "callback ran twice";
  pending->done = true;
  pending->result.status = read->status;
  pending->result.had_block = static_cast<bool>(read->block);
  EXPECT_EQ(read->status.ok(), static_cast<bool>(read->block));
  if (read->block) {
    pending->result.bytes.assign(read->block.data(),
                                 read->block.data() + kBlockSize);
  }
  read->block.Reset();  // Unpin at once.
}

// Submits `pending` for `expected`; OnRead() records the outcome.
inline void Submit(Grid& grid, PendingRead* pending,
                   const BlockExpectation& expected) {
  pending->read.expected = expected;
  pending->read.frame = pending->frame.data();
  pending->read.callback = &OnRead;
  pending->read.context = pending;
  pending->inside_submit = true;
  grid.SubmitRead(&pending->read);
  pending->inside_submit = false;
  EXPECT_FALSE(pending->done) << "callback ran inside SubmitRead";
}

// Reads one block through the grid and waits for it.
inline ReadResult ReadBlocking(Grid& grid, const BlockExpectation& expected) {
  auto pending = std::make_unique<PendingRead>();
  Submit(grid, pending.get(), expected);
  grid.storage()->RunUntilIdle();
  EXPECT_TRUE(pending->done);
  return pending->result;
}

// Whether `a` and `b` agree on their first `size` bytes.
inline bool SameCoveredBytes(const std::vector<std::byte>& a,
                             const std::vector<std::byte>& b, uint32_t size) {
  return a.size() >= size && b.size() >= size &&
         std::memcmp(a.data(), b.data(), size) == 0;
}

}  // namespace grid_testing
}  // namespace lsmscan

#endif  // LSMSCAN_LSM_GRID_TESTING_H_
