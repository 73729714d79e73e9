// Tests of the tree's snapshots: handles (acquire and release exactly once,
// the limit), the separation of users' holds from readers' holds.

#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "absl/status/status.h"
#include "gtest/gtest.h"
#include "lsmscan/lsm/schema.h"
#include "lsmscan/lsm/snapshot_handle.h"
#include "lsmscan/lsm/tree.h"
#include "lsmscan/lsm/tree_testing.h"
#include "lsmscan/storage/aligned_buffer.h"
#include "lsmscan/storage/memory_storage.h"

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

class TreeSnapshotTest : public testing::TreeFixture {
 protected:
  void Create(const TreeOptions& options) { CreateTree(options); }

  // Writes keys [0, count) with payloads from `seed` + key.
  void WriteAll(uint64_t count, uint64_t seed) {
    for (uint64_t key = 0; key < count; key++) {
      ASSERT_TRUE(
          PutWithBackPressure(tree_.get(), Schema32::Make(key, seed + key))
              .ok());
    }
  }

  bool SeesSeed(Snapshot snapshot, uint64_t key, uint64_t seed) {
    const std::optional<Value> value = Get(key, snapshot);
    return value.has_value() &&
           value->payload == Schema32::Make(key, seed + key).payload;
  }
};

TEST_F(TreeSnapshotTest, StrayReleasesAreErrorsThatChangeNothing) {
  ASSERT_NO_FATAL_FAILURE(WriteAll(100, 0));
  ASSERT_TRUE(CheckpointBlocking(tree_.get()).ok());
  auto held = tree_->AcquireSnapshot();
  ASSERT_TRUE(held.ok());
  auto released = tree_->AcquireSnapshot();
  ASSERT_TRUE(released.ok());
  ASSERT_EQ(held->snapshot(), released->snapshot());  // No write between.
  ASSERT_TRUE(tree_->ReleaseSnapshot(*released).ok());
  // Replace every table the held snapshot sees.
  ASSERT_NO_FATAL_FAILURE(WriteAll(100, 1000));
  ASSERT_TRUE(CheckpointBlocking(tree_.get()).ok());

  // Another tree's handle, valid there.
  auto other_storage = MemoryStorage::Create(SmallStorageOptions());
  ASSERT_TRUE(other_storage.ok());
  auto other = Tree32::Create(other_storage->get(), SmallTreeOptions());
  ASSERT_TRUE(other.ok());
  auto foreign = (*other)->AcquireSnapshot();
  ASSERT_TRUE(foreign.ok());

  const uint64_t freed = tree_->stats().tables_freed;
  const std::vector<SnapshotHandle> strays = {SnapshotHandle(), *released,
                                              *foreign};
  for (const SnapshotHandle& stray : strays) {
    const absl::Status status = tree_->ReleaseSnapshot(stray);
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
    EXPECT_FALSE(status.message().empty());
  }
  // Nothing changed: the held snapshot keeps its hold and its tables.
  EXPECT_EQ(tree_->snapshot_count(), 1u);
  EXPECT_EQ(tree_->stats().tables_freed, freed);
  EXPECT_TRUE(tree_->SnapshotIsLive(held->snapshot()));
  for (uint64_t key = 0; key < 100; key += 7) {
    EXPECT_TRUE(SeesSeed(held->snapshot(), key, 0)) << key;
    EXPECT_TRUE(SeesSeed(kSnapshotLatest, key, 1000)) << key;
  }
  // The foreign handle still works where it belongs.
  EXPECT_TRUE((*other)->ReleaseSnapshot(*foreign).ok());
  ASSERT_TRUE(tree_->ReleaseSnapshot(*held).ok());
  EXPECT_GT(tree_->stats().tables_freed, freed);
  EXPECT_FALSE(tree_->SnapshotIsLive(held->snapshot()));
}

TEST_F(TreeSnapshotTest, AHandleOfAnEarlierOpenIsRefused) {
  ASSERT_NO_FATAL_FAILURE(WriteAll(10, 0));
  auto handle = tree_->AcquireSnapshot();
  ASSERT_TRUE(handle.ok());
  ASSERT_TRUE(CheckpointBlocking(tree_.get()).ok());
  ASSERT_TRUE(tree_->ReleaseSnapshot(*handle).ok());
  auto stale = tree_->AcquireSnapshot();
  ASSERT_TRUE(stale.ok());
  tree_.reset();  // Destroyed with a handle outstanding: the handle is stale.
  auto reopened = Tree32::Open(storage_.get(), SmallTreeOptions());
  ASSERT_TRUE(reopened.ok()) << reopened.status();
  tree_ = std::move(reopened).value();
  auto fresh = tree_->AcquireSnapshot();  // May reuse the same slot and op.
  ASSERT_TRUE(fresh.ok());
  EXPECT_EQ(tree_->ReleaseSnapshot(*stale).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(tree_->snapshot_count(), 1u);
  EXPECT_TRUE(tree_->ReleaseSnapshot(*fresh).ok());
}

TEST_F(TreeSnapshotTest, ACopyOfAHandleReleasesOnce) {
  auto handle = tree_->AcquireSnapshot();
  ASSERT_TRUE(handle.ok());
  const SnapshotHandle copy = *handle;
  ASSERT_TRUE(tree_->ReleaseSnapshot(copy).ok());
  EXPECT_EQ(tree_->ReleaseSnapshot(*handle).code(),
            absl::StatusCode::kInvalidArgument);
  // The slot is reused by the next handle, which the stale one cannot
  // release either.
  auto next = tree_->AcquireSnapshot();
  ASSERT_TRUE(next.ok());
  EXPECT_EQ(tree_->ReleaseSnapshot(*handle).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(tree_->snapshot_count(), 1u);
  EXPECT_TRUE(tree_->ReleaseSnapshot(*next).ok());
  EXPECT_EQ(tree_->snapshot_count(), 0u);
}

// Regression (issue 13, item 6): readers and users shared one reference
// count per op, so a second ReleaseSnapshot() of the same op succeeded by
// dropping a running reader's hold, and the tables it was reading were
// freed under it.
TEST_F(TreeSnapshotTest, ADoubleReleaseDropsNoReadersHold) {
  ASSERT_NO_FATAL_FAILURE(WriteAll(100, 0));
  ASSERT_TRUE(CheckpointBlocking(tree_.get()).ok());
  auto handle = tree_->AcquireSnapshot();
  ASSERT_TRUE(handle.ok());
  ASSERT_NO_FATAL_FAILURE(WriteAll(100, 1000));
  ASSERT_TRUE(CheckpointBlocking(tree_.get()).ok());
  // A reader at the snapshot (what a scan or a get takes).
  auto view = tree_->AcquireReadView(handle->snapshot());
  ASSERT_TRUE(view.ok()) << view.status();
  const uint64_t freed = tree_->stats().tables_freed;
  ASSERT_TRUE(tree_->ReleaseSnapshot(*handle).ok());
  EXPECT_EQ(tree_->ReleaseSnapshot(*handle).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(tree_->stats().tables_freed, freed);  // The reader's hold stays.
  // No new reader may start at a snapshot no user holds.
  EXPECT_EQ(tree_->AcquireReadView(handle->snapshot()).status().code(),
            absl::StatusCode::kFailedPrecondition);
  tree_->ReleaseReadView(&*view);
  EXPECT_GT(tree_->stats().tables_freed, freed);
}

TEST_F(TreeSnapshotTest, TheLimitIsResourceExhaustedAndChangesNothing) {
  TreeOptions options = SmallTreeOptions();
  options.snapshot_count_max = 3;
  ASSERT_NO_FATAL_FAILURE(Create(options));
  std::vector<SnapshotHandle> handles;
  ASSERT_TRUE(tree_->Put(Schema32::Make(0, 0)).ok());
  for (int i = 0; i < 3; i++) {
    auto handle = tree_->AcquireSnapshot();
    ASSERT_TRUE(handle.ok()) << handle.status();
    handles.push_back(*handle);
  }
  ASSERT_TRUE(tree_->Put(Schema32::Make(3, 3)).ok());
  const uint64_t seals = tree_->stats().seals;
  const Snapshot op = tree_->op();
  const absl::StatusOr<SnapshotHandle> refused = tree_->AcquireSnapshot();
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_NE(refused.status().message().find("snapshot_count_max"),
            std::string::npos)
      << refused.status();
  EXPECT_EQ(tree_->stats().seals, seals);  // Not even sealed.
  EXPECT_EQ(tree_->op(), op);
  EXPECT_EQ(tree_->snapshot_count(), 3u);
  ASSERT_TRUE(tree_->ReleaseSnapshot(handles[1]).ok());
  auto again = tree_->AcquireSnapshot();
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_TRUE(SeesSeed(again->snapshot(), 3, 0));
  EXPECT_FALSE(Get(3, handles[0].snapshot()).has_value());
}

TEST(TreeSnapshotOptionsTest, TheLimitIsValidated) {
  auto storage = MemoryStorage::Create(SmallStorageOptions());
  ASSERT_TRUE(storage.ok());
  TreeOptions options = SmallTreeOptions();
  options.snapshot_count_max = 0;
  EXPECT_EQ(Tree32::Create(storage->get(), options).status().code(),
            absl::StatusCode::kInvalidArgument);
  options.snapshot_count_max = kSnapshotCountMax + 1;
  EXPECT_EQ(Tree32::Create(storage->get(), options).status().code(),
            absl::StatusCode::kInvalidArgument);
}

// Issue 13, item 2 (regression): with default options, three held
// snapshots with ten puts each made Put return ResourceExhausted (each
// AcquireSnapshot() sealed the mutable table, and a sealed table a snapshot
// sees stays in the pool), and Compact() returned OK without relieving it.
TEST(TreeSnapshotWritesTest, HeldSnapshotsDoNotWedgeWrites) {
  auto storage = MemoryStorage::Create(StorageOptions{});
  ASSERT_TRUE(storage.ok());
  auto tree = Tree32::Create(storage->get(), TreeOptions{});
  ASSERT_TRUE(tree.ok()) << tree.status();
  std::vector<SnapshotHandle> handles;
  uint64_t key = 0;
  for (int snapshot = 0; snapshot < 3; snapshot++) {
    for (int put = 0; put < 10; put++, key++) {
      const absl::Status status = (*tree)->Put(Schema32::Make(key, 1));
      ASSERT_TRUE(status.ok()) << "put " << key << ": " << status;
    }
    auto handle = (*tree)->AcquireSnapshot();
    ASSERT_TRUE(handle.ok()) << handle.status();
    handles.push_back(*handle);
  }
  for (int put = 0; put < 10; put++, key++) {
    const absl::Status status = (*tree)->Put(Schema32::Make(key, 1));
    ASSERT_TRUE(status.ok()) << "put " << key << ": " << status;
  }
  ASSERT_TRUE(CompactBlocking(tree->get()).ok());
  ASSERT_TRUE((*tree)->Put(Schema32::Make(key, 1)).ok());
  // Each snapshot still sees exactly the writes before it.
  AlignedBuffer frame(storage->get()->block_size_bytes());
  for (size_t i = 0; i < handles.size(); i++) {
    const Snapshot snapshot = handles[i].snapshot();
    const uint64_t written = 10 * (i + 1);
    for (uint64_t k : {uint64_t{0}, written - 1, written, key}) {
      auto value = GetBlocking(tree->get(), k, snapshot, frame.data());
      ASSERT_TRUE(value.ok()) << value.status();
      EXPECT_EQ(value->has_value(), k < written)
          << "snapshot " << i << ", key " << k;
    }
  }
  for (const SnapshotHandle& handle : handles) {
    ASSERT_TRUE((*tree)->ReleaseSnapshot(handle).ok());
  }
}

}  // namespace
}  // namespace lsmscan
