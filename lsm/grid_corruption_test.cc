// Grid over a FaultStorage that corrupts reads (with and without a block
// cache): a corrupt block is DataLoss, never data, and never becomes
// resident; corruption outside a block's covered bytes may pass, inside
// never; read errors are not counted as corruption.

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "gtest/gtest.h"
#include "lsmscan/lsm/grid.h"
#include "lsmscan/lsm/grid_testing.h"
#include "lsmscan/storage/aligned_buffer.h"
#include "lsmscan/storage/fault_storage.h"
#include "lsmscan/storage/memory_storage.h"
#include "lsmscan/storage/storage.h"

namespace lsmscan {
namespace {

using ::lsmscan::grid_testing::BuildBlock;
using ::lsmscan::grid_testing::ExpectationFor;
using ::lsmscan::grid_testing::kBlockSize;
using ::lsmscan::grid_testing::kSchemaId;
using ::lsmscan::grid_testing::ReadBlocking;
using ::lsmscan::grid_testing::ReadResult;
using ::lsmscan::grid_testing::SameCoveredBytes;
using ::lsmscan::grid_testing::TestStorageOptions;
using ::lsmscan::grid_testing::WriteBlocking;
using ::lsmscan::grid_testing::Written;

// ---------------------------------------------------------------------------
// A FaultStorage that corrupts reads.

class GridCorruptionTest : public ::testing::TestWithParam<uint32_t> {
 protected:
  void SetUp() override {
    auto inner = MemoryStorage::Create(TestStorageOptions());
    ASSERT_TRUE(inner.ok()) << inner.status();
    inner_ = std::move(inner).value();
    FaultOptions faults;
    faults.read_corruption_probability = 1;
    fault_ = std::make_unique<FaultStorage>(inner_.get(), faults, 1234);
    ASSERT_FALSE(fault_->zero_copy());
    GridOptions options;
    options.cache_block_count = GetParam();
    options.schema_id = kSchemaId;
    grid_ = std::make_unique<Grid>(fault_.get(), options);
  }

  BlockAddress WriteNew(uint64_t seed, uint32_t count) {
    const BlockAddress address = *grid_->AcquireAddress();
    written_[address] = BuildBlock(frame_.data(), address, seed, count);
    EXPECT_TRUE(WriteBlocking(*grid_, address, frame_.data()).ok());
    return address;
  }

  std::unique_ptr<MemoryStorage> inner_;
  std::unique_ptr<FaultStorage> fault_;
  std::unique_ptr<Grid> grid_;
  AlignedBuffer frame_{kBlockSize};
  std::map<BlockAddress, Written> written_;
};

TEST_P(GridCorruptionTest, CorruptReadsOfFullBlocksAreAlwaysDataLoss) {
  std::vector<BlockAddress> addresses;
  for (uint64_t i = 0; i < 8; i++) addresses.push_back(WriteNew(i, 126));
  ASSERT_EQ(written_.at(addresses[0]).size_bytes, kBlockSize);  // Full.
  uint64_t reads = 0;
  for (int round = 0; round < 10; round++) {
    for (BlockAddress address : addresses) {
      const ReadResult result = ReadBlocking(
          *grid_, ExpectationFor(address, written_.at(address).checksum));
      reads++;
      ASSERT_EQ(result.status.code(), absl::StatusCode::kDataLoss)
          << result.status;
      EXPECT_FALSE(result.had_block);
      // Nothing corrupt became resident.
      EXPECT_FALSE(grid_->TryReadResident(
          ExpectationFor(address, written_.at(address).checksum)));
    }
  }
  EXPECT_EQ(grid_->stats().corrupt_blocks, reads);
  EXPECT_EQ(fault_->fault_stats().reads_corrupted, reads);
  EXPECT_EQ(grid_->stats().resident_hits, 0u);
  // Once the storage heals, the same reads return the right bytes.
  fault_->set_options(FaultOptions{});
  for (BlockAddress address : addresses) {
    const ReadResult result = ReadBlocking(
        *grid_, ExpectationFor(address, written_.at(address).checksum));
    ASSERT_TRUE(result.status.ok()) << result.status;
    EXPECT_EQ(result.bytes, written_.at(address).bytes);
  }
  EXPECT_EQ(grid_->stats().corrupt_blocks, reads);
}

TEST_P(GridCorruptionTest, CorruptionNeverReachesTheCoveredBytes) {
  // Half-full blocks: a flip past size_bytes (in the padding, which no
  // reader looks at) may pass; a flip in the block never does.
  std::vector<BlockAddress> addresses;
  for (uint64_t i = 0; i < 8; i++) addresses.push_back(WriteNew(i, 60));
  uint64_t failures = 0;
  uint64_t successes = 0;
  for (int round = 0; round < 25; round++) {
    for (BlockAddress address : addresses) {
      const Written& w = written_.at(address);
      const ReadResult result =
          ReadBlocking(*grid_, ExpectationFor(address, w.checksum));
      if (result.status.ok()) {
        successes++;
        ASSERT_TRUE(SameCoveredBytes(result.bytes, w.bytes, w.size_bytes))
            << "corrupt bytes returned as data";
      } else {
        failures++;
        ASSERT_EQ(result.status.code(), absl::StatusCode::kDataLoss);
        EXPECT_FALSE(result.had_block);
      }
    }
  }
  EXPECT_EQ(grid_->stats().corrupt_blocks, failures);
  EXPECT_GT(failures, 0u);
  EXPECT_GT(successes, 0u);  // 60 * 32 + 64 = 1984 of 4096 bytes covered.
}

TEST_P(GridCorruptionTest, ReadErrorsAreNotCountedAsCorruption) {
  const BlockAddress a = WriteNew(1, 126);
  FaultOptions faults;
  faults.read_error_probability = 1;
  fault_->set_options(faults);
  const ReadResult result =
      ReadBlocking(*grid_, ExpectationFor(a, written_.at(a).checksum));
  EXPECT_EQ(result.status.code(), absl::StatusCode::kInternal) << result.status;
  EXPECT_FALSE(result.had_block);
  EXPECT_EQ(grid_->stats().corrupt_blocks, 0u);
}

INSTANTIATE_TEST_SUITE_P(CacheSizes, GridCorruptionTest,
                         ::testing::Values(0u, 1u, 8u),
                         [](const ::testing::TestParamInfo<uint32_t>& info) {
                           return "cache" + std::to_string(info.param);
                         });

}  // namespace
}  // namespace lsmscan
