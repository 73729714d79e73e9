// Contracts a user meets at the edges (issue 13, item 10): a get's frame on
// a copying storage, a truncated file, and a data block whose checksum is
// valid but whose keys are out of order. Each is a clear error, never an
// abort and never wrong data.

#include <unistd.h>

#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "lsmscan/lsm/block_header.h"
#include "lsmscan/lsm/data_block.h"
#include "lsmscan/lsm/grid.h"
#include "lsmscan/lsm/index_block.h"
#include "lsmscan/lsm/manifest_codec.h"
#include "lsmscan/lsm/schema.h"
#include "lsmscan/lsm/superblock.h"
#include "lsmscan/lsm/tree.h"
#include "lsmscan/lsm/tree_testing.h"
#include "lsmscan/storage/aligned_buffer.h"
#include "lsmscan/storage/fault_storage.h"
#include "lsmscan/storage/memory_storage.h"
#include "lsmscan/storage/pread_storage.h"

namespace lsmscan {
namespace {

using Schema32 = Record32Schema;
using Value = Schema32::Value;
using Tree32 = Tree<Schema32>;
using ::lsmscan::testing::CheckpointBlocking;
using ::lsmscan::testing::CompactAllBlocking;
using ::lsmscan::testing::GetBlocking;
using ::lsmscan::testing::PutWithBackPressure;
using ::lsmscan::testing::SmallTreeOptions;

constexpr uint32_t kBlockSize = 4096;
constexpr uint64_t kKeyCount = 3000;

StorageOptions TestStorageOptions() {
  StorageOptions options;
  options.block_size_bytes = kBlockSize;
  options.block_count_max = 1 << 12;
  return options;
}

std::string TempPath(const std::string& name) {
  const char* directory = std::getenv("TEST_TMPDIR");
  return absl::StrCat(directory != nullptr ? directory : "/tmp", "/", name);
}

// Writes keys [0, kKeyCount) into a new tree on `storage`, compacted into
// one level and checkpointed.
void WriteTree(Storage* storage, TreeOptions options = SmallTreeOptions()) {
  auto tree = Tree32::Create(storage, options);
  ASSERT_TRUE(tree.ok()) << tree.status();
  for (uint64_t key = 0; key < kKeyCount; key++) {
    ASSERT_TRUE(
        PutWithBackPressure(tree->get(), Schema32::Make(key, key)).ok());
  }
  ASSERT_TRUE(CompactAllBlocking(tree->get()).ok());
  ASSERT_TRUE(CheckpointBlocking(tree->get()).ok());
}

class TreeGetFrameTest : public ::testing::Test {
 protected:
  void SetUp() override {
    PreadStorageOptions options;
    options.storage = TestStorageOptions();
    auto storage = PreadStorage::Open(TempPath("get_frame.blocks"),
                                      OpenMode::kCreate, options);
    ASSERT_TRUE(storage.ok()) << storage.status();
    storage_ = std::move(storage).value();
    TreeOptions tree_options = SmallTreeOptions();
    tree_options.cache_block_count = 0;  // Every block read needs the frame.
    ASSERT_NO_FATAL_FAILURE(WriteTree(storage_.get(), tree_options));
    auto tree = Tree32::Open(storage_.get(), tree_options);
    ASSERT_TRUE(tree.ok()) << tree.status();
    tree_ = std::move(tree).value();
  }

  std::unique_ptr<PreadStorage> storage_;
  std::unique_ptr<Tree32> tree_;
};

TEST_F(TreeGetFrameTest, ANullFrameOnACopyingStorageIsInvalidArgument) {
  auto result = GetBlocking(tree_.get(), 17, kSnapshotLatest, nullptr);
  EXPECT_EQ(result.status().code(), absl::StatusCode::kInvalidArgument)
      << result.status();
}

TEST_F(TreeGetFrameTest, AMisalignedFrameIsInvalidArgumentWhereverTheKeyIs) {
  AlignedBuffer frame(2 * kBlockSize);
  // On disk, and in the mutable memory table (no block read at all): the
  // same answer.
  ASSERT_TRUE(tree_->Put(Schema32::Make(kKeyCount + 1, 1)).ok());
  for (uint64_t key : {uint64_t{17}, kKeyCount + 1}) {
    auto result =
        GetBlocking(tree_.get(), key, kSnapshotLatest, frame.data() + 8);
    EXPECT_EQ(result.status().code(), absl::StatusCode::kInvalidArgument)
        << key << ": " << result.status();
  }
}

TEST_F(TreeGetFrameTest, AlignedBufferForBlockIsTheFrameAGetNeeds) {
  AlignedBuffer frame = AlignedBuffer::ForBlock(*storage_);
  EXPECT_EQ(frame.size(), kBlockSize);
  for (uint64_t key : {uint64_t{0}, uint64_t{17}, kKeyCount - 1}) {
    auto result = GetBlocking(tree_.get(), key, kSnapshotLatest, frame.data());
    ASSERT_TRUE(result.ok()) << result.status();
    ASSERT_TRUE(result->has_value()) << key;
    EXPECT_EQ((*result)->payload, Schema32::Make(key, key).payload);
  }
}

TEST(TreeTruncationTest, ATruncatedFileFailsOpenWithDataLoss) {
  const std::string path = TempPath("truncated.blocks");
  PreadStorageOptions options;
  options.storage = TestStorageOptions();
  uint64_t block_count = 0;
  {
    auto storage = PreadStorage::Open(path, OpenMode::kCreate, options);
    ASSERT_TRUE(storage.ok()) << storage.status();
    ASSERT_NO_FATAL_FAILURE(WriteTree(storage->get()));
    block_count = (*storage)->block_count();
  }
  ASSERT_GT(block_count, 16u);
  // The tail of the file is gone: tables the checkpoint references, and
  // the manifest (written last).
  ASSERT_EQ(
      truncate(path.c_str(), static_cast<off_t>(block_count / 2 * kBlockSize)),
      0);
  auto storage = PreadStorage::Open(path, OpenMode::kOpenExisting, options);
  ASSERT_TRUE(storage.ok()) << storage.status();
  auto tree = Tree32::Open(storage->get(), SmallTreeOptions());
  EXPECT_EQ(tree.status().code(), absl::StatusCode::kDataLoss) << tree.status();
  EXPECT_NE(tree.status().message().find("past the end"), std::string::npos)
      << tree.status();
}

TEST(TreeTruncationTest, AReferencedBlockPastTheEndIsDataLossFromTheGrid) {
  auto storage = MemoryStorage::Create(TestStorageOptions());
  ASSERT_TRUE(storage.ok());
  Grid grid(storage->get(), GridOptions());
  Grid::Read read;
  read.expected = {7, Checksum128{1, 2}, BlockType::kData, 0};
  read.callback = [](Grid::Read*) {};
  grid.SubmitRead(&read);
  (*storage)->RunUntilIdle();
  EXPECT_EQ(read.status.code(), absl::StatusCode::kDataLoss) << read.status;
}

// Puts `data`'s values out of order, re-seals it, and re-points every
// parent (index, manifest, both superblock copies of the current slot) at
// its new checksum: the checksums all agree, the keys do not ascend.
void UnsortAndReseal(MemoryDevice* device, const ManifestTable<uint64_t>& table,
                     BlockAddress data, BlockAddress manifest,
                     uint64_t sequence) {
  std::byte* block = device->block(data);
  const uint32_t count = ReadHeader(block).count;
  ASSERT_GE(count, 4u);
  Value first;
  Value last;
  std::byte* values = block + kBlockHeaderSizeBytes;
  std::memcpy(&first, values, sizeof(Value));
  std::memcpy(&last, values + (count - 1) * sizeof(Value), sizeof(Value));
  std::memcpy(values, &last, sizeof(Value));
  std::memcpy(values + (count - 1) * sizeof(Value), &first, sizeof(Value));
  const Checksum128 data_checksum = SealBlock(block, kBlockSize);

  std::byte* index = device->block(table.info.index_address);
  for (uint32_t i = 0; i < ReadHeader(index).count; i++) {
    if (table.data_addresses[i] != data) continue;
    std::memcpy(index + kBlockHeaderSizeBytes + i * sizeof(Checksum128),
                &data_checksum, sizeof(Checksum128));
  }
  const Checksum128 index_checksum = SealBlock(index, kBlockSize);

  std::byte* entries = device->block(manifest);
  const size_t entry_size = ManifestEntrySizeBytes<uint64_t>();
  for (uint32_t i = 0; i < ReadHeader(entries).count; i++) {
    std::byte* entry = entries + kBlockHeaderSizeBytes + i * entry_size;
    uint64_t address;
    std::memcpy(&address, entry + 24, sizeof(address));
    if (address != table.info.index_address) continue;
    std::memcpy(entry + 32, &index_checksum, sizeof(index_checksum));
  }
  const Checksum128 manifest_checksum = SealBlock(entries, kBlockSize);

  for (uint32_t copy = 0; copy < kSuperblockCopiesPerCheckpoint; copy++) {
    std::byte* superblock = device->block(SuperblockAddress(sequence, copy));
    std::memcpy(superblock + kSuperblockFixedSizeBytes + 16, &manifest_checksum,
                sizeof(manifest_checksum));
    SealBlock(superblock, kBlockSize);
  }
}

TEST(TreeDataBlockOrderTest, UnsortedKeysWithAValidChecksumAreDataLoss) {
  auto device = MemoryDevice::Create(TestStorageOptions());
  ASSERT_TRUE(device.ok());
  ManifestTable<uint64_t> table;
  uint64_t sequence = 0;
  {
    std::unique_ptr<MemoryStorage> storage = MemoryStorage::Open(*device);
    ASSERT_NO_FATAL_FAILURE(WriteTree(storage.get()));
    auto tree = Tree32::Open(storage.get(), SmallTreeOptions());
    ASSERT_TRUE(tree.ok()) << tree.status();
    sequence = (*tree)->recovery().sequence;
    const auto& tables = (*tree)->manifest().tables((*tree)->level_count() - 1);
    ASSERT_FALSE(tables.empty());
    table = tables.front();
  }
  const auto superblock =
      DecodeSuperblock((*device)->block(SuperblockAddress(sequence)),
                       kBlockSize, SuperblockAddress(sequence));
  ASSERT_TRUE(superblock.ok()) << superblock.status();
  ASSERT_EQ(superblock->manifest_blocks.size(), 1u);
  const BlockAddress data = table.data_addresses.front();
  ASSERT_NO_FATAL_FAILURE(
      UnsortAndReseal(device->get(), table, data,
                      superblock->manifest_blocks[0].address, sequence));
  // A zero-copy storage (the grid verifies a block on its first read) and
  // a copying one (on every read): both refuse the block.
  std::unique_ptr<MemoryStorage> inner = MemoryStorage::Open(*device);
  FaultStorage copying(inner.get(), FaultOptions(), /*seed=*/1);
  for (Storage* storage :
       {static_cast<Storage*>(inner.get()), static_cast<Storage*>(&copying)}) {
    SCOPED_TRACE(storage->name());
    auto tree = Tree32::Open(storage, SmallTreeOptions());
    ASSERT_TRUE(tree.ok()) << tree.status();
    AlignedBuffer frame = AlignedBuffer::ForBlock(*storage);
    // The first key of the table lives in the damaged block.
    auto result = GetBlocking(tree->get(), table.info.key_min, kSnapshotLatest,
                              frame.data());
    EXPECT_EQ(result.status().code(), absl::StatusCode::kDataLoss)
        << (result.ok() ? "a value came back" : result.status().ToString());
    if (!result.ok()) {
      EXPECT_NE(result.status().message().find("keys out of order"),
                std::string::npos)
          << result.status();
    }
  }
}

}  // namespace
}  // namespace lsmscan
