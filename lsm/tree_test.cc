// Unit tests of Tree: writes, gets, snapshots, compaction, checkpoints and
// the errors a user can cause. The randomized model test is
// tree_model_test.cc; crashes are tree_crash_test.cc.

#include "lsmscan/lsm/tree.h"

#include <cstdint>
#include <memory>
#include <optional>

#include "absl/status/status.h"
#include "gtest/gtest.h"
#include "lsmscan/lsm/schema.h"
#include "lsmscan/lsm/tree_testing.h"
#include "lsmscan/storage/aligned_buffer.h"
#include "lsmscan/storage/fault_storage.h"
#include "lsmscan/storage/memory_storage.h"
#include "lsmscan/storage/storage_testing.h"

namespace lsmscan {
namespace {

using Schema32 = Record32Schema;
using Value = Schema32::Value;
using Tree32 = Tree<Schema32>;
using ::lsmscan::testing::CheckpointBlocking;
using ::lsmscan::testing::CompactBlocking;
using ::lsmscan::testing::GetBlocking;
using ::lsmscan::testing::PutWithBackPressure;
using ::lsmscan::testing::SmallStorageOptions;
using ::lsmscan::testing::SmallTreeOptions;

class TreeTest : public testing::TreeFixture {
 protected:
  void Reopen() { ReopenTree(); }
};

TEST_F(TreeTest, PutGetRemoveInMemory) {
  ASSERT_TRUE(tree_->Put(Schema32::Make(5, 50)).ok());
  ASSERT_TRUE(tree_->Put(Schema32::Make(7, 70)).ok());
  ASSERT_TRUE(tree_->Put(Schema32::Make(5, 51)).ok());  // Overwrite.
  ASSERT_TRUE(tree_->Remove(7).ok());
  ASSERT_TRUE(tree_->Remove(9).ok());  // Absent key: a harmless tombstone.
  const std::optional<Value> five = Get(5);
  ASSERT_TRUE(five.has_value());
  EXPECT_EQ(five->payload, Schema32::Make(5, 51).payload);
  EXPECT_FALSE(Get(7).has_value());
  EXPECT_FALSE(Get(9).has_value());
  EXPECT_FALSE(Get(6).has_value());
}

TEST_F(TreeTest, ValuesSurviveCompactionIntoManyLevels) {
  constexpr uint64_t kCount = 3000;
  for (uint64_t i = 0; i < kCount; i++) {
    const uint64_t key = (i * 7919) % kCount;  // Shuffled order.
    ASSERT_TRUE(
        PutWithBackPressure(tree_.get(), Schema32::Make(key, key)).ok());
  }
  ASSERT_TRUE(CompactBlocking(tree_.get()).ok());
  uint32_t levels_used = 0;
  for (uint32_t level = 0; level < tree_->level_count(); level++) {
    if (tree_->manifest().live_table_count(level) > 0) levels_used++;
  }
  EXPECT_GE(levels_used, 3u);
  for (uint64_t key = 0; key < kCount; key += 37) {
    const std::optional<Value> value = Get(key);
    ASSERT_TRUE(value.has_value()) << key;
    EXPECT_EQ(value->payload, Schema32::Make(key, key).payload);
  }
  EXPECT_FALSE(Get(kCount).has_value());
  EXPECT_GT(tree_->stats().flushes, 0u);
  EXPECT_GT(tree_->stats().compactions + tree_->stats().moves, 0u);
}

TEST_F(TreeTest, SnapshotSeesTheStateWhenAcquiredDespiteCompaction) {
  for (uint64_t key = 0; key < 500; key++) {
    ASSERT_TRUE(PutWithBackPressure(tree_.get(), Schema32::Make(key, 1)).ok());
  }
  // Acquiring seals the mutable table, which needs a free slot.
  ASSERT_TRUE(CompactBlocking(tree_.get()).ok());
  const absl::StatusOr<SnapshotHandle> handle = tree_->AcquireSnapshot();
  ASSERT_TRUE(handle.ok()) << handle.status();
  const Snapshot snapshot = handle->snapshot();
  for (uint64_t key = 0; key < 500; key++) {
    if (key % 2 == 0) {
      ASSERT_TRUE(
          PutWithBackPressure(tree_.get(), Schema32::Make(key, 2)).ok());
    } else {
      ASSERT_TRUE(
          PutWithBackPressure(tree_.get(), Schema32::tombstone(key)).ok());
    }
  }
  ASSERT_TRUE(CompactBlocking(tree_.get()).ok());
  for (uint64_t key = 0; key < 500; key += 7) {
    const std::optional<Value> old_value = Get(key, snapshot);
    ASSERT_TRUE(old_value.has_value()) << key;
    EXPECT_EQ(old_value->payload, Schema32::Make(key, 1).payload);
    const std::optional<Value> new_value = Get(key);
    EXPECT_EQ(new_value.has_value(), key % 2 == 0);
  }
  ASSERT_TRUE(tree_->ReleaseSnapshot(*handle).ok());
  const uint64_t freed_before = tree_->stats().tables_freed;
  EXPECT_GT(freed_before, 0u);  // Released tables were collected.
  EXPECT_EQ(tree_->ReleaseSnapshot(*handle).code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(TreeTest, ReadingAtADeadSnapshotIsAnError) {
  GetRequest<Schema32> request;
  bool done = false;
  request.key = 1;
  request.snapshot = 12345;
  request.context = &done;
  request.callback = [](GetRequest<Schema32>* r) {
    *static_cast<bool*>(r->context) = true;
  };
  tree_->Get(&request);
  EXPECT_FALSE(done);  // Never inside the call.
  storage_->RunUntilIdle();
  ASSERT_TRUE(done);
  EXPECT_EQ(request.status.code(), absl::StatusCode::kFailedPrecondition);
}

TEST_F(TreeTest, FullMemoryTablesPushBack) {
  absl::Status status;
  uint64_t key = 0;
  while (status.ok()) status = tree_->Put(Schema32::Make(key++, 0));
  EXPECT_EQ(status.code(), absl::StatusCode::kResourceExhausted);
  // Nothing accepted was lost; compaction makes room again.
  ASSERT_TRUE(CompactBlocking(tree_.get()).ok());
  ASSERT_TRUE(tree_->Put(Schema32::Make(key, 0)).ok());
  for (uint64_t k = 0; k + 1 < key; k += 13)
    EXPECT_TRUE(Get(k).has_value()) << k;
}

TEST_F(TreeTest, OneCompactionOrCheckpointAtATime) {
  ASSERT_TRUE(tree_->Put(Schema32::Make(1, 1)).ok());
  auto ignore = [](void*, absl::Status) {};
  ASSERT_TRUE(tree_->Compact(ignore, nullptr).ok());
  EXPECT_EQ(tree_->Compact(ignore, nullptr).code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(tree_->Checkpoint(ignore, nullptr).code(),
            absl::StatusCode::kFailedPrecondition);
  storage_->RunUntilIdle();
  EXPECT_FALSE(tree_->busy());
}

TEST_F(TreeTest, CheckpointedDataSurvivesReopenAndLaterWritesDoNot) {
  for (uint64_t key = 0; key < 1000; key++) {
    ASSERT_TRUE(
        PutWithBackPressure(tree_.get(), Schema32::Make(key, key)).ok());
  }
  ASSERT_TRUE(PutWithBackPressure(tree_.get(), Schema32::tombstone(10)).ok());
  ASSERT_TRUE(CheckpointBlocking(tree_.get()).ok());
  ASSERT_TRUE(tree_->Put(Schema32::Make(5000, 1)).ok());  // Not checkpointed.
  Reopen();
  for (uint64_t key = 0; key < 1000; key += 9) {
    EXPECT_EQ(Get(key).has_value(), key != 10) << key;
  }
  EXPECT_FALSE(Get(10).has_value());
  EXPECT_FALSE(Get(5000).has_value());
  // The reopened tree keeps working: write, checkpoint, reopen again.
  ASSERT_TRUE(tree_->Put(Schema32::Make(6000, 6)).ok());
  ASSERT_TRUE(CheckpointBlocking(tree_.get()).ok());
  Reopen();
  EXPECT_TRUE(Get(6000).has_value());
  EXPECT_TRUE(Get(999).has_value());
}

TEST_F(TreeTest, CheckpointsReuseSpace) {
  for (int round = 0; round < 20; round++) {
    for (uint64_t key = 0; key < 300; key++) {
      ASSERT_TRUE(
          PutWithBackPressure(tree_.get(), Schema32::Make(key, round)).ok());
    }
    ASSERT_TRUE(CheckpointBlocking(tree_.get()).ok());
  }
  // 300 live values need a handful of tables; overwritten ones were freed.
  EXPECT_LT(tree_->grid().free_set().acquired_count(), 200u);
  EXPECT_LT(storage_->block_count(), 400u);
}

// Regression (found by //tools:simulator --seed=1 --ops=765): a get whose
// read view was the last holder of its snapshot finished while it still
// pinned its data block in the block cache, so releasing the view freed the
// table under the pin (BlockCache::Invalidate asserted "a block still being
// read is rewritten").
TEST(TreeGetTest, GetThatReleasesTheLastHolderOfItsSnapshotHoldsNoPin) {
  auto inner = MemoryStorage::Create(SmallStorageOptions());
  ASSERT_TRUE(inner.ok());
  // A copying storage, so blocks are read into the cache and pinned there.
  FaultStorage storage(inner->get(), FaultOptions(), /*seed=*/1);
  TreeOptions options = SmallTreeOptions();
  options.cache_block_count = 16;
  auto tree = Tree32::Create(&storage, options);
  ASSERT_TRUE(tree.ok()) << tree.status();
  for (uint64_t key = 0; key < 100; key++) {
    ASSERT_TRUE(
        PutWithBackPressure(tree->get(), Schema32::Make(key, key)).ok());
  }
  ASSERT_TRUE(CheckpointBlocking(tree->get()).ok());  // Level 0: table T.
  auto handle = (*tree)->AcquireSnapshot();
  ASSERT_TRUE(handle.ok());
  for (uint64_t key = 0; key < 100; key++) {
    ASSERT_TRUE(
        PutWithBackPressure(tree->get(), Schema32::Make(key, key + 1000)).ok());
  }
  // T is replaced, but kept for the snapshot.
  ASSERT_TRUE(CheckpointBlocking(tree->get()).ok());
  AlignedBuffer frame(4096);
  GetRequest<Schema32> request;
  bool done = false;
  request.key = 5;
  request.snapshot = handle->snapshot();
  request.frame = frame.data();
  request.context = &done;
  request.callback = [](GetRequest<Schema32>* r) {
    *static_cast<bool*>(r->context) = true;
  };
  (*tree)->Get(&request);
  // The get is now the snapshot's last holder: finishing it frees T.
  ASSERT_TRUE((*tree)->ReleaseSnapshot(*handle).ok());
  while (!done) storage.Tick(Storage::TickMode::kWaitForProgress);
  ASSERT_TRUE(request.status.ok()) << request.status;
  ASSERT_TRUE(request.found);
  EXPECT_EQ(request.value.payload, Schema32::Make(5, 5).payload);
  EXPECT_EQ(GetBlocking(tree->get(), 5, kSnapshotLatest, frame.data())
                ->value()
                .payload,
            Schema32::Make(5, 1005).payload);
}

// Regression (found by //tools:simulator --seed=9 --ops=4051): with
// immutable_table_count_max = kImmutableTableCountMax, AcquireSnapshot()
// (like Checkpoint() and CompactAll()) seals the mutable table even when no
// free table replaces it, so every table of the pool is sealed and visible:
// one more than a read view had room for (MemoryTables::Visible asserted).
TEST(TreeGetTest, EveryMemoryTableOfAFullPoolVisible) {
  auto storage = MemoryStorage::Create(SmallStorageOptions());
  ASSERT_TRUE(storage.ok());
  TreeOptions options = SmallTreeOptions();
  options.immutable_table_count_max = kImmutableTableCountMax;
  options.memory_table_value_count_max = 4;
  auto tree = Tree32::Create(storage->get(), options);
  ASSERT_TRUE(tree.ok()) << tree.status();
  uint64_t count = 0;
  while ((*tree)->Put(Schema32::Make(count, count)).ok()) count++;
  ASSERT_EQ(count, (kImmutableTableCountMax + 1) * 4);
  // A snapshot would hold every table: past the limit, refused.
  EXPECT_EQ((*tree)->AcquireSnapshot().status().code(),
            absl::StatusCode::kResourceExhausted);
  // A checkpoint's first tick seals the full mutable table with no free
  // table to replace it: every table of the pool is sealed and visible.
  bool done = false;
  ASSERT_TRUE((*tree)
                  ->Checkpoint(
                      [](void* context, absl::Status status) {
                        EXPECT_TRUE(status.ok()) << status;
                        *static_cast<bool*>(context) = true;
                      },
                      &done)
                  .ok());
  storage->get()->Tick();
  ASSERT_EQ((*tree)->memory_tables().immutables().size(),
            kImmutableTableCountMax + 1);
  ASSERT_FALSE((*tree)->memory_tables().has_mutable());
  AlignedBuffer frame(4096);
  for (uint64_t key = 0; key < count; key++) {
    auto value = GetBlocking(tree->get(), key, kSnapshotLatest, frame.data());
    ASSERT_TRUE(value.ok()) << value.status();
    ASSERT_TRUE(value->has_value()) << key;
    EXPECT_EQ((*value)->payload, Schema32::Make(key, key).payload);
  }
  while (!done) storage->get()->Tick();
}

// Regression (found reading tree.h while writing //tools:simulator): a
// CompactAll() or Checkpoint() refused because work is running reset the
// running work's "sealed once" flag, so it sealed (and flushed) again: a
// refused call changed the running work.
TEST_F(TreeTest, ARefusedCallDoesNotMakeTheRunningCheckpointSealAgain) {
  ASSERT_TRUE(tree_->Put(Schema32::Make(1, 1)).ok());
  bool done = false;
  auto callback = [](void* context, absl::Status status) {
    EXPECT_TRUE(status.ok()) << status;
    *static_cast<bool*>(context) = true;
  };
  ASSERT_TRUE(tree_->Checkpoint(callback, &done).ok());
  storage_->Tick();  // The checkpoint seals the mutable table.
  const uint64_t seals = tree_->stats().seals;
  ASSERT_EQ(seals, 1u);
  ASSERT_TRUE(tree_->Put(Schema32::Make(2, 2)).ok());  // Not part of it.
  auto ignored = [](void*, absl::Status) {};
  EXPECT_EQ(tree_->CompactAll(ignored, nullptr).code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(tree_->Checkpoint(ignored, nullptr).code(),
            absl::StatusCode::kFailedPrecondition);
  while (!done) storage_->Tick();
  EXPECT_EQ(tree_->stats().seals, seals);
  ASSERT_TRUE(tree_->memory_tables().has_mutable());
  EXPECT_EQ(tree_->memory_tables().mutable_table().count(), 1u);
}

TEST(TreeOpenTest, OpenErrorsAreClear) {
  auto storage = MemoryStorage::Create(SmallStorageOptions());
  ASSERT_TRUE(storage.ok());
  auto empty = Tree32::Open(storage->get(), SmallTreeOptions());
  EXPECT_EQ(empty.status().code(), absl::StatusCode::kNotFound);

  // A storage full of something else.
  AlignedBuffer junk(4096);
  std::memset(junk.data(), 0x5A, 4096);
  for (BlockAddress address = 0; address < 4; address++) {
    Storage::Write write;
    write.address = address;
    write.data = junk.data();
    write.callback = [](Storage::Write*) {};
    (*storage)->SubmitWrite(&write);
    (*storage)->RunUntilIdle();
  }
  auto foreign = Tree32::Open(storage->get(), SmallTreeOptions());
  EXPECT_EQ(foreign.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(foreign.status().message().find("not an lsmscan file"),
            std::string::npos)
      << foreign.status();
  auto create = Tree32::Create(storage->get(), SmallTreeOptions());
  EXPECT_EQ(create.status().code(), absl::StatusCode::kFailedPrecondition);
}

TEST(TreeOpenTest, SchemaAndShapeMismatchesAreRefused) {
  auto storage = MemoryStorage::Create(SmallStorageOptions());
  ASSERT_TRUE(storage.ok());
  {
    auto tree = Tree32::Create(storage->get(), SmallTreeOptions());
    ASSERT_TRUE(tree.ok());
  }
  auto other_schema =
      Tree<Record128Schema>::Open(storage->get(), SmallTreeOptions());
  EXPECT_EQ(other_schema.status().code(),
            absl::StatusCode::kFailedPrecondition);
  TreeOptions options = SmallTreeOptions();
  options.level_count = 4;
  auto other_levels = Tree32::Open(storage->get(), options);
  EXPECT_EQ(other_levels.status().code(),
            absl::StatusCode::kFailedPrecondition);
  auto same = Tree32::Open(storage->get(), SmallTreeOptions());
  EXPECT_TRUE(same.ok()) << same.status();
}

// Record32Schema under other names: same sizes, another schema.
struct RenamedRecord32Schema : RecordSchema<23> {
  static constexpr const char* kName = "test.renamed32";
};
struct LongNameSchema : RecordSchema<23> {
  static constexpr const char* kName =
      "a.schema.name.longer.than.the.sixty.four.bytes.a.superblock.records";
};

TEST(TreeOpenTest, ASchemaOfTheSameSizesButAnotherNameIsRefusedByName) {
  auto storage = MemoryStorage::Create(SmallStorageOptions());
  ASSERT_TRUE(storage.ok());
  {
    auto tree = Tree32::Create(storage->get(), SmallTreeOptions());
    ASSERT_TRUE(tree.ok());
  }
  auto renamed =
      Tree<RenamedRecord32Schema>::Open(storage->get(), SmallTreeOptions());
  EXPECT_EQ(renamed.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(renamed.status().message().find("lsmscan.record32"),
            std::string::npos)
      << renamed.status();
  EXPECT_NE(renamed.status().message().find("test.renamed32"),
            std::string::npos)
      << renamed.status();
}

TEST(TreeOpenTest, ASchemaNameTooLongForTheSuperblockIsInvalidArgument) {
  auto storage = MemoryStorage::Create(SmallStorageOptions());
  ASSERT_TRUE(storage.ok());
  auto created =
      Tree<LongNameSchema>::Create(storage->get(), SmallTreeOptions());
  EXPECT_EQ(created.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ((*storage)->block_count(), 0u);  // Nothing was written.
  auto opened = Tree<LongNameSchema>::Open(storage->get(), SmallTreeOptions());
  EXPECT_FALSE(opened.ok());
}

TEST(TreeCheckpointTest, AFailedSyncStopsCheckpointsUntilReopen) {
  auto inner = MemoryStorage::Create(SmallStorageOptions());
  ASSERT_TRUE(inner.ok());
  FaultStorage storage(inner->get(), FaultOptions(), /*seed=*/3);
  auto tree = Tree32::Create(&storage, SmallTreeOptions());
  ASSERT_TRUE(tree.ok());
  ASSERT_TRUE((*tree)->Put(Schema32::Make(1, 1)).ok());
  // A failed sync of the manifest blocks (before the superblock) leaves the
  // old checkpoint the only one: checkpoints go on.
  FaultOptions faults;
  faults.sync_count_max = storage.sync_count();
  storage.set_options(faults);
  EXPECT_EQ(CheckpointBlocking(tree->get()).code(),
            absl::StatusCode::kInternal);
  storage.set_options(FaultOptions());
  ASSERT_TRUE(CheckpointBlocking(tree->get()).ok());
  // A failed sync after the superblock write: its fate is unknown.
  ASSERT_TRUE((*tree)->Put(Schema32::Make(2, 2)).ok());
  faults.sync_count_max = storage.sync_count() + 1;
  storage.set_options(faults);
  const absl::Status failed = CheckpointBlocking(tree->get());
  EXPECT_EQ(failed.code(), absl::StatusCode::kInternal) << failed;
  storage.set_options(FaultOptions());
  // Whether the superblock reached the disk is unknown: no more checkpoints.
  const absl::Status refused = CheckpointBlocking(tree->get());
  EXPECT_EQ(refused.code(), absl::StatusCode::kFailedPrecondition) << refused;
  tree->reset();
  // Reopening recovers one checkpoint or the other, intact.
  auto reopened = Tree32::Open(inner->get(), SmallTreeOptions());
  ASSERT_TRUE(reopened.ok()) << reopened.status();
}

// One unreadable copy is reported and tolerated (tree_recovery_test.cc);
// none readable at all is the read error, not a fall-back.
TEST(TreeOpenTest, NoReadableSuperblockCopyFailsOpenWithTheReadError) {
  auto inner = MemoryStorage::Create(SmallStorageOptions());
  ASSERT_TRUE(inner.ok());
  {
    auto tree = Tree32::Create(inner->get(), SmallTreeOptions());
    ASSERT_TRUE(tree.ok());
  }
  FaultOptions faults;
  faults.read_error_probability = 1;
  FaultStorage storage(inner->get(), faults, /*seed=*/4);
  // Not a silent fall-back to the other copy: the error is reported.
  auto tree = Tree32::Open(&storage, SmallTreeOptions());
  EXPECT_EQ(tree.status().code(), absl::StatusCode::kInternal) << tree.status();
}

TEST(TreeOpenTest, BadOptionsAreInvalidArgument) {
  auto storage = MemoryStorage::Create(SmallStorageOptions());
  ASSERT_TRUE(storage.ok());
  TreeOptions options = SmallTreeOptions();
  options.level_count = 0;
  EXPECT_EQ(Tree32::Create(storage->get(), options).status().code(),
            absl::StatusCode::kInvalidArgument);
  options = SmallTreeOptions();
  options.table_data_block_count_max = 100000;
  EXPECT_EQ(Tree32::Create(storage->get(), options).status().code(),
            absl::StatusCode::kInvalidArgument);
  options = SmallTreeOptions();
  options.immutable_table_count_max = kImmutableTableCountMax + 1;
  EXPECT_EQ(Tree32::Create(storage->get(), options).status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace lsmscan
