// Recovery from damaged superblock copies (issue 13, item 9): the newest
// checkpoint survives the loss of any one copy, Open() reports which
// checkpoint it recovered and every damaged copy, and it rewrites the
// recovered checkpoint's copies so that it survives the next loss too.
// Crashes (torn and lost writes at every step of a checkpoint) are
// tree_crash_test.cc.

#include <array>
#include <cstdint>
#include <cstring>
#include <map>
#include <memory>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "lsmscan/lsm/schema.h"
#include "lsmscan/lsm/superblock.h"
#include "lsmscan/lsm/superblock_copies.h"
#include "lsmscan/lsm/tree.h"
#include "lsmscan/lsm/tree_testing.h"
#include "lsmscan/storage/aligned_buffer.h"
#include "lsmscan/storage/fault_storage.h"
#include "lsmscan/storage/memory_storage.h"

namespace lsmscan {
namespace {

using Schema32 = Record32Schema;
using Value = Schema32::Value;
using Tree32 = Tree<Schema32>;
using Map = std::map<uint64_t, uint64_t>;  // Key -> payload seed.
using ::lsmscan::testing::CheckpointBlocking;
using ::lsmscan::testing::GetBlocking;
using ::lsmscan::testing::PutWithBackPressure;
using ::lsmscan::testing::SmallTreeOptions;

constexpr uint32_t kBlockSize = 4096;
constexpr uint64_t kKeyCount = 2000;

StorageOptions TestStorageOptions() {
  StorageOptions options;
  options.block_size_bytes = kBlockSize;
  options.block_count_max = 1 << 13;
  return options;
}

// A device holding two checkpoints: A (2,000 values) and, newer, B (A with
// a third of the keys overwritten).
class TreeRecoveryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto device = MemoryDevice::Create(TestStorageOptions());
    ASSERT_TRUE(device.ok());
    device_ = *device;
    std::unique_ptr<MemoryStorage> storage = MemoryStorage::Open(device_);
    auto tree = Tree32::Create(storage.get(), SmallTreeOptions());
    ASSERT_TRUE(tree.ok()) << tree.status();
    EXPECT_TRUE((*tree)->recovery().clean());
    for (uint64_t key = 0; key < kKeyCount; key++) {
      ASSERT_TRUE(
          PutWithBackPressure(tree->get(), Schema32::Make(key, key)).ok());
      model_a_[key] = key;
    }
    ASSERT_TRUE(CheckpointBlocking(tree->get()).ok());
    model_b_ = model_a_;
    for (uint64_t key = 0; key < kKeyCount; key += 3) {
      ASSERT_TRUE(
          PutWithBackPressure(tree->get(), Schema32::Make(key, key + 7)).ok());
      model_b_[key] = key + 7;
    }
    ASSERT_TRUE(CheckpointBlocking(tree->get()).ok());
    tree->reset();
    for (BlockAddress address = 0; address < kSuperblockCopyCount; address++) {
      auto decoded =
          DecodeSuperblock(device_->block(address), kBlockSize, address);
      ASSERT_TRUE(decoded.ok()) << decoded.status();
      sequence_b_ = std::max(sequence_b_, decoded->sequence);
      std::memcpy(saved_[address].data(), device_->block(address), kBlockSize);
    }
    sequence_a_ = sequence_b_ - 1;
  }

  // Puts the superblock copies back as SetUp() left them.
  void Restore() {
    for (BlockAddress address = 0; address < kSuperblockCopyCount; address++) {
      std::memcpy(device_->block(address), saved_[address].data(), kBlockSize);
    }
  }

  // Opens the device; the tree's contents, by payload seed.
  absl::StatusOr<std::unique_ptr<Tree32>> Open(Storage* storage) {
    return Tree32::Open(storage, SmallTreeOptions());
  }

  Map Contents(Tree32* tree) {
    Map contents;
    AlignedBuffer frame = AlignedBuffer::ForBlock(*tree->storage());
    for (uint64_t key = 0; key < kKeyCount; key++) {
      auto value = GetBlocking(tree, key, kSnapshotLatest, frame.data());
      EXPECT_TRUE(value.ok()) << value.status();
      if (!value.ok() || !value->has_value()) continue;
      for (uint64_t seed : {key, key + 7}) {
        if (Schema32::Make(key, seed).payload == (*value)->payload) {
          contents[key] = seed;
        }
      }
    }
    return contents;
  }

  // The copies of checkpoint B (its slot), and of A.
  std::vector<BlockAddress> SlotOf(uint64_t sequence) {
    std::vector<BlockAddress> slot;
    for (uint32_t i = 0; i < kSuperblockCopiesPerCheckpoint; i++) {
      slot.push_back(SuperblockAddress(sequence, i));
    }
    return slot;
  }

  // Damages copy `address` with `damage`, opens, and checks that B is
  // recovered and that the report names the copy (and its repair).
  void ExpectNewestSurvives(BlockAddress address,
                            void (*damage)(std::byte* block)) {
    Restore();
    damage(device_->block(address));
    std::unique_ptr<MemoryStorage> storage = MemoryStorage::Open(device_);
    auto tree = Open(storage.get());
    ASSERT_TRUE(tree.ok()) << tree.status();
    const RecoveryReport& report = (*tree)->recovery();
    SCOPED_TRACE(report.ToString());
    EXPECT_EQ(report.sequence, sequence_b_);
    EXPECT_EQ(report.damaged, std::vector<BlockAddress>{address});
    EXPECT_FALSE(report.copies[address].status.ok());
    const bool in_b = SuperblockHolds(address, sequence_b_);
    EXPECT_EQ(report.intact_copy_count, in_b ? 1u : 2u);
    EXPECT_EQ(report.repaired, in_b ? std::vector<BlockAddress>{address}
                                    : std::vector<BlockAddress>{});
    EXPECT_EQ(Contents(tree->get()), model_b_) << "lost checkpoint B";
    tree->reset();
    if (in_b) {
      // Repaired: the copy holds B again.
      auto decoded =
          DecodeSuperblock(device_->block(address), kBlockSize, address);
      ASSERT_TRUE(decoded.ok()) << decoded.status();
      EXPECT_EQ(decoded->sequence, sequence_b_);
    }
  }

  std::shared_ptr<MemoryDevice> device_;
  Map model_a_;
  Map model_b_;
  uint64_t sequence_a_ = 0;
  uint64_t sequence_b_ = 0;
  std::array<std::array<std::byte, kBlockSize>, kSuperblockCopyCount> saved_;
};

// The regression of issue 13, item 9, in terms the old code had too: zero
// the copy that holds the newest sequence, and the newest checkpoint is
// still the one recovered (it used to fall back to the previous one, with
// no word to the caller).
TEST(TreeRecoveryRegressionTest, ZeroingTheNewestSuperblockCopyKeepsItsData) {
  auto device = MemoryDevice::Create(TestStorageOptions());
  ASSERT_TRUE(device.ok());
  {
    std::unique_ptr<MemoryStorage> storage = MemoryStorage::Open(*device);
    auto tree = Tree32::Create(storage.get(), SmallTreeOptions());
    ASSERT_TRUE(tree.ok()) << tree.status();
    for (uint64_t key = 0; key < kKeyCount; key++) {
      ASSERT_TRUE(
          PutWithBackPressure(tree->get(), Schema32::Make(key, key)).ok());
    }
    ASSERT_TRUE(CheckpointBlocking(tree->get()).ok());
  }
  BlockAddress newest = 0;
  uint64_t sequence_max = 0;
  for (BlockAddress address = 0; address < kSuperblockCopyCount; address++) {
    auto decoded =
        DecodeSuperblock((*device)->block(address), kBlockSize, address);
    ASSERT_TRUE(decoded.ok()) << decoded.status();
    if (decoded->sequence > sequence_max) {
      sequence_max = decoded->sequence;
      newest = address;
    }
  }
  std::memset((*device)->block(newest), 0, kBlockSize);
  std::unique_ptr<MemoryStorage> storage = MemoryStorage::Open(*device);
  auto tree = Tree32::Open(storage.get(), SmallTreeOptions());
  ASSERT_TRUE(tree.ok()) << tree.status();
  uint64_t found = 0;
  for (uint64_t key = 0; key < kKeyCount; key++) {
    auto value = GetBlocking(tree->get(), key, kSnapshotLatest, nullptr);
    ASSERT_TRUE(value.ok()) << value.status();
    if (value->has_value()) found++;
  }
  EXPECT_EQ(found, kKeyCount) << "the checkpointed values are lost";
}

TEST_F(TreeRecoveryTest, ACleanOpenReportsTheCheckpointAndNoDamage) {
  std::unique_ptr<MemoryStorage> storage = MemoryStorage::Open(device_);
  auto tree = Open(storage.get());
  ASSERT_TRUE(tree.ok()) << tree.status();
  const RecoveryReport& report = (*tree)->recovery();
  EXPECT_TRUE(report.clean()) << report.ToString();
  EXPECT_EQ(report.sequence, sequence_b_);
  EXPECT_EQ(report.op, (*tree)->op());
  EXPECT_EQ(report.intact_copy_count, kSuperblockCopiesPerCheckpoint);
  for (BlockAddress address = 0; address < kSuperblockCopyCount; address++) {
    EXPECT_TRUE(report.copies[address].status.ok());
    EXPECT_EQ(
        report.copies[address].sequence,
        SuperblockHolds(address, sequence_b_) ? sequence_b_ : sequence_a_);
  }
  EXPECT_EQ(Contents(tree->get()), model_b_);
}

TEST_F(TreeRecoveryTest, EachCopyZeroedInTurnKeepsTheNewestCheckpoint) {
  for (BlockAddress address = 0; address < kSuperblockCopyCount; address++) {
    SCOPED_TRACE(absl::StrCat("copy ", address, " zeroed"));
    ExpectNewestSurvives(
        address, [](std::byte* block) { std::memset(block, 0, kBlockSize); });
  }
}

TEST_F(TreeRecoveryTest, EachCopyWithAFlippedByteKeepsTheNewestCheckpoint) {
  // A byte of the checksum, of the header, of the fixed fields and of the
  // manifest references.
  using Damage = void (*)(std::byte * block);
  const Damage damages[] = {
      [](std::byte* block) { block[3] ^= std::byte{0x01}; },
      [](std::byte* block) { block[20] ^= std::byte{0x40}; },
      [](std::byte* block) { block[88] ^= std::byte{0x02}; },
      [](std::byte* block) { block[180] ^= std::byte{0x80}; },
  };
  for (BlockAddress address = 0; address < kSuperblockCopyCount; address++) {
    for (size_t i = 0; i < std::size(damages); i++) {
      SCOPED_TRACE(absl::StrCat("copy ", address, ", damage ", i));
      ExpectNewestSurvives(address, damages[i]);
    }
  }
}

TEST_F(TreeRecoveryTest, ARepairedCopySurvivesTheLossOfItsSibling) {
  const std::vector<BlockAddress> slot = SlotOf(sequence_b_);
  std::memset(device_->block(slot[0]), 0, kBlockSize);
  {
    std::unique_ptr<MemoryStorage> storage = MemoryStorage::Open(device_);
    auto tree = Open(storage.get());
    ASSERT_TRUE(tree.ok()) << tree.status();
    EXPECT_EQ((*tree)->recovery().repaired, std::vector<BlockAddress>{slot[0]});
  }
  // Now the other copy goes: the repaired one carries checkpoint B.
  std::memset(device_->block(slot[1]), 0, kBlockSize);
  std::unique_ptr<MemoryStorage> storage = MemoryStorage::Open(device_);
  auto tree = Open(storage.get());
  ASSERT_TRUE(tree.ok()) << tree.status();
  EXPECT_EQ((*tree)->recovery().sequence, sequence_b_);
  EXPECT_EQ((*tree)->recovery().damaged, std::vector<BlockAddress>{slot[1]});
  EXPECT_EQ(Contents(tree->get()), model_b_);
}

TEST_F(TreeRecoveryTest, ARepairTheStorageRefusesIsReportedNotAnError) {
  // As on a read-only file: the damaged copy cannot be rewritten, and the
  // tree still opens on the newest checkpoint.
  const std::vector<BlockAddress> slot = SlotOf(sequence_b_);
  std::memset(device_->block(slot[1]), 0, kBlockSize);
  std::unique_ptr<MemoryStorage> inner = MemoryStorage::Open(device_);
  FaultOptions faults;
  faults.write_error_probability = 1;
  FaultStorage storage(inner.get(), faults, /*seed=*/3);
  auto tree = Open(&storage);
  ASSERT_TRUE(tree.ok()) << tree.status();
  const RecoveryReport& report = (*tree)->recovery();
  EXPECT_EQ(report.sequence, sequence_b_);
  EXPECT_TRUE(report.repaired.empty());
  EXPECT_EQ(report.repair_status.code(), absl::StatusCode::kInternal);
  EXPECT_FALSE(report.clean());
  EXPECT_NE(report.ToString().find("not repaired"), std::string::npos)
      << report.ToString();
  storage.set_options(FaultOptions());
  EXPECT_EQ(Contents(tree->get()), model_b_);
}

TEST_F(TreeRecoveryTest, BothCopiesOfTheNewestLostFallsBackAndSaysSo) {
  // Two faults, beyond what the copies protect against: the previous
  // checkpoint is recovered, and the report shows why.
  const std::vector<BlockAddress> slot = SlotOf(sequence_b_);
  for (BlockAddress address : slot) {
    device_->block(address)[100] ^= std::byte{0x10};
  }
  std::unique_ptr<MemoryStorage> storage = MemoryStorage::Open(device_);
  auto tree = Open(storage.get());
  ASSERT_TRUE(tree.ok()) << tree.status();
  const RecoveryReport& report = (*tree)->recovery();
  EXPECT_EQ(report.sequence, sequence_a_);
  EXPECT_EQ(report.damaged, slot);
  EXPECT_TRUE(report.repaired.empty());
  EXPECT_NE(report.ToString().find("damaged"), std::string::npos)
      << report.ToString();
  EXPECT_EQ(Contents(tree->get()), model_a_);
}

TEST_F(TreeRecoveryTest, EveryCopyDamagedIsDataLoss) {
  for (BlockAddress address = 0; address < kSuperblockCopyCount; address++) {
    device_->block(address)[100] ^= std::byte{0x10};
  }
  std::unique_ptr<MemoryStorage> storage = MemoryStorage::Open(device_);
  EXPECT_EQ(Open(storage.get()).status().code(), absl::StatusCode::kDataLoss);
}

TEST_F(TreeRecoveryTest, OneUnreadableCopyIsReportedTwoOfASlotFailOpen) {
  std::unique_ptr<MemoryStorage> inner = MemoryStorage::Open(device_);
  const std::vector<BlockAddress> slot = SlotOf(sequence_b_);
  {
    FaultOptions faults;
    faults.unreadable_blocks = {slot[1]};
    FaultStorage storage(inner.get(), faults, /*seed=*/1);
    auto tree = Open(&storage);
    ASSERT_TRUE(tree.ok()) << tree.status();
    const RecoveryReport& report = (*tree)->recovery();
    EXPECT_EQ(report.sequence, sequence_b_);
    EXPECT_EQ(report.damaged, std::vector<BlockAddress>{slot[1]});
    EXPECT_EQ(report.copies[slot[1]].status.code(),
              absl::StatusCode::kInternal);
    tree->reset();
  }
  for (uint64_t sequence : {sequence_a_, sequence_b_}) {
    // Both copies of a slot unreadable: they may hold the newest
    // checkpoint, so Open does not fall back to the other slot.
    FaultOptions faults;
    faults.unreadable_blocks = SlotOf(sequence);
    FaultStorage storage(inner.get(), faults, /*seed=*/2);
    auto tree = Open(&storage);
    EXPECT_EQ(tree.status().code(), absl::StatusCode::kInternal)
        << tree.status();
  }
}

}  // namespace
}  // namespace lsmscan
