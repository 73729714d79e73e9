// Crash safety of checkpoints: a crash at any write of a checkpoint leaves
// the tree equal to the previous checkpoint or the new one, never a mix; and
// a torn or corrupt newest superblock falls back to the previous one.

#include <cstdint>
#include <cstring>
#include <map>
#include <memory>
#include <optional>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "lsmscan/lsm/schema.h"
#include "lsmscan/lsm/superblock.h"
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

constexpr uint64_t kKeyCount = 1200;

StorageOptions TestStorageOptions() {
  StorageOptions options;
  options.block_size_bytes = 4096;
  options.block_count_max = 1 << 13;
  return options;
}

// The writes of one scenario: state A is checkpointed; state B is written
// on top and checkpointed (the checkpoint that may crash).
void ApplyA(Tree32* tree, Map* model) {
  for (uint64_t i = 0; i < 900; i++) {
    const uint64_t key = (i * 613) % kKeyCount;
    ASSERT_TRUE(PutWithBackPressure(tree, Schema32::Make(key, i)).ok());
    (*model)[key] = i;
  }
}

void ApplyB(Tree32* tree, Map* model) {
  for (uint64_t i = 0; i < 500; i++) {
    const uint64_t key = (i * 389 + 7) % kKeyCount;
    if (i % 4 == 0) {
      ASSERT_TRUE(PutWithBackPressure(tree, Schema32::tombstone(key)).ok());
      model->erase(key);
    } else {
      ASSERT_TRUE(
          PutWithBackPressure(tree, Schema32::Make(key, 10000 + i)).ok());
      (*model)[key] = 10000 + i;
    }
  }
}

// Reads every key back into a map.
Map ReadAll(Tree32* tree) {
  Map contents;
  AlignedBuffer frame(4096);
  for (uint64_t key = 0; key < kKeyCount; key++) {
    auto result = GetBlocking(tree, key, kSnapshotLatest, frame.data());
    EXPECT_TRUE(result.ok()) << result.status();
    if (!result.ok() || !result->has_value()) continue;
    for (uint64_t seed = 0;; seed++) {
      // Recover the payload seed by matching (seeds are small).
      if (seed > 20000) {
        ADD_FAILURE() << "unknown payload for key " << key;
        break;
      }
      if (Schema32::Make(key, seed).payload == (*result)->payload) {
        contents[key] = seed;
        break;
      }
    }
  }
  return contents;
}

struct Outcome {
  bool crashed = false;
  uint64_t writes_before_checkpoint = 0;  // Writes before checkpoint B.
  uint64_t checkpoint_writes = 0;         // Writes of checkpoint B.
};

// Runs A, checkpoint, B, checkpoint on `device` with writes dropped after
// `write_count_max`; returns what happened.
Outcome RunScenario(std::shared_ptr<MemoryDevice> device,
                    uint64_t write_count_max, Map* model_a, Map* model_b) {
  std::unique_ptr<MemoryStorage> inner = MemoryStorage::Open(device);
  FaultOptions faults;
  faults.write_count_max = write_count_max;
  FaultStorage storage(inner.get(), faults, /*seed=*/1);
  Outcome outcome;
  auto tree = Tree32::Create(&storage, SmallTreeOptions());
  EXPECT_TRUE(tree.ok()) << tree.status();
  ApplyA(tree->get(), model_a);
  EXPECT_TRUE(CheckpointBlocking(tree->get()).ok());
  *model_b = *model_a;
  ApplyB(tree->get(), model_b);
  outcome.writes_before_checkpoint = storage.stats().write_count;
  const absl::Status checkpointed = CheckpointBlocking(tree->get());
  // After the crash point the process runs on without its writes, so the
  // checkpoint may well fail (it reads blocks that never reached the disk).
  if (!storage.crashed()) {
    EXPECT_TRUE(checkpointed.ok()) << checkpointed;
  }
  outcome.checkpoint_writes =
      storage.stats().write_count - outcome.writes_before_checkpoint;
  outcome.crashed = storage.crashed();
  tree->reset();
  return outcome;
}

TEST(TreeCrashTest, CrashAtEveryWriteLeavesOneCheckpointOrTheOther) {
  // First a clean run, to count the writes.
  auto device = MemoryDevice::Create(TestStorageOptions());
  ASSERT_TRUE(device.ok());
  Map model_a;
  Map model_b;
  const Outcome clean = RunScenario(*device, UINT64_MAX, &model_a, &model_b);
  ASSERT_FALSE(clean.crashed);
  ASSERT_GT(clean.checkpoint_writes, 2u);
  ASSERT_NE(model_a, model_b);
  // The scenario is deterministic: every run issues the same writes, so a
  // crash point is a count of writes.
  uint64_t saw_a = 0;
  uint64_t saw_b = 0;
  for (uint64_t crash_at = 0; crash_at <= clean.checkpoint_writes + 1;
       crash_at++) {
    SCOPED_TRACE(absl::StrCat("crash after ", crash_at,
                              " writes of the second checkpoint"));
    auto crash_device = MemoryDevice::Create(TestStorageOptions());
    ASSERT_TRUE(crash_device.ok());
    Map a;
    Map b;
    RunScenario(*crash_device, clean.writes_before_checkpoint + crash_at, &a,
                &b);
    std::unique_ptr<MemoryStorage> storage = MemoryStorage::Open(*crash_device);
    auto tree = Tree32::Open(storage.get(), SmallTreeOptions());
    ASSERT_TRUE(tree.ok()) << tree.status();
    const Map contents = ReadAll(tree->get());
    if (contents == model_a) {
      saw_a++;
    } else {
      ASSERT_EQ(contents, model_b) << "recovered a mix of checkpoints";
      saw_b++;
    }
  }
  EXPECT_GT(saw_a, 0u);
  EXPECT_GT(saw_b, 0u);
}

TEST(TreeCrashTest, CorruptNewestSuperblockFallsBackToThePreviousCheckpoint) {
  auto device = MemoryDevice::Create(TestStorageOptions());
  ASSERT_TRUE(device.ok());
  Map model_a;
  Map model_b;
  RunScenario(*device, UINT64_MAX, &model_a, &model_b);
  // The newest checkpoint's superblock copy: flip a bit in it.
  std::unique_ptr<MemoryStorage> storage = MemoryStorage::Open(*device);
  {
    auto tree = Tree32::Open(storage.get(), SmallTreeOptions());
    ASSERT_TRUE(tree.ok());
    EXPECT_EQ(ReadAll(tree->get()), model_b);
  }
  uint64_t newest = 0;
  uint64_t sequence_max = 0;
  for (BlockAddress address = 0; address < kSuperblockCopyCount; address++) {
    auto decoded = DecodeSuperblock((*device)->block(address), 4096, address);
    ASSERT_TRUE(decoded.ok());
    if (decoded->sequence >= sequence_max) {
      sequence_max = decoded->sequence;
      newest = address;
    }
  }
  (*device)->block(newest)[100] ^= std::byte{0x10};
  auto tree = Tree32::Open(storage.get(), SmallTreeOptions());
  ASSERT_TRUE(tree.ok()) << tree.status();
  EXPECT_EQ(ReadAll(tree->get()), model_a);
  // Both copies corrupt: a clear DataLoss, not a crash.
  tree->reset();
  (*device)->block(1 - newest)[100] ^= std::byte{0x10};
  auto broken = Tree32::Open(storage.get(), SmallTreeOptions());
  EXPECT_EQ(broken.status().code(), absl::StatusCode::kDataLoss);
}

// A superblock copy corrupted in transit (not on disk) is read again, so
// Open() does not silently roll back to the previous checkpoint.
TEST(TreeCrashTest, TransientSuperblockCorruptionIsReadAgain) {
  auto device = MemoryDevice::Create(TestStorageOptions());
  ASSERT_TRUE(device.ok());
  Map model_a;
  Map model_b;
  RunScenario(*device, UINT64_MAX, &model_a, &model_b);
  std::unique_ptr<MemoryStorage> inner = MemoryStorage::Open(*device);
  uint64_t newest = 0;
  uint64_t rolled_back = 0;
  uint64_t failed = 0;
  for (uint64_t seed = 1; seed <= 40; seed++) {
    FaultOptions faults;
    faults.read_corruption_probability = 0.25;
    faults.read_corruption_span_bytes = 128;  // Within a superblock's bytes.
    FaultStorage storage(inner.get(), faults, seed);
    auto tree = Tree32::Open(&storage, SmallTreeOptions());
    if (!tree.ok()) {
      // A corrupt manifest or index read: reported, never wrong data.
      EXPECT_EQ(tree.status().code(), absl::StatusCode::kDataLoss)
          << tree.status();
      failed++;
      continue;
    }
    storage.set_options(FaultOptions());
    const Map contents = ReadAll(tree->get());
    if (contents == model_b) {
      newest++;
    } else {
      ASSERT_EQ(contents, model_a) << "seed " << seed;
      rolled_back++;
    }
  }
  // A roll-back needs three corrupt reads of the newest copy in a row.
  EXPECT_EQ(rolled_back, 0u) << newest << " newest, " << failed << " failed";
  EXPECT_GT(newest, 5u);
}

}  // namespace
}  // namespace lsmscan
