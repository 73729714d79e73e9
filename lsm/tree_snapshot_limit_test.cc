// Tests of the snapshot memory-table limit (issue 13, item 2): held user
// snapshots never leave writes that Compact() cannot relieve, and the
// snapshot that would is refused with an error naming the limit.

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "gtest/gtest.h"
#include "lsmscan/lsm/schema.h"
#include "lsmscan/lsm/snapshot_handle.h"
#include "lsmscan/lsm/tree.h"
#include "lsmscan/lsm/tree_testing.h"
#include "lsmscan/storage/aligned_buffer.h"
#include "lsmscan/storage/base/prng.h"
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

// Whether `status` is AcquireSnapshot()'s memory-table limit error.
bool IsMemoryTableLimit(const absl::Status& status) {
  return absl::IsResourceExhausted(status) &&
         status.message().find("immutable_table_count_max") !=
             std::string::npos;
}

// Regression (issue 13, item 2): with default options, a snapshot taken
// after each table's worth of writes pinned one more memory table; the third
// left none free, and Compact() then returned OK without relieving Put (a
// flushed table a snapshot sees keeps its slot). Now the snapshot that would
// pin too many is refused with the limit's error, and every write goes
// through after at most one Compact().
TEST(TreeSnapshotLimitTest, SnapshotsAcrossTablesNeverWedgeWrites) {
  auto storage = MemoryStorage::Create(StorageOptions{});
  ASSERT_TRUE(storage.ok());
  auto created = Tree32::Create(storage->get(), TreeOptions{});
  ASSERT_TRUE(created.ok()) << created.status();
  Tree32* tree = created->get();
  const uint64_t table_values = tree->options().memory_table_value_count_max;
  std::vector<std::pair<SnapshotHandle, uint64_t>> held;  // With writes.
  uint64_t key = 0;
  int refused = 0;
  for (int round = 0; round < 5; round++) {
    absl::StatusOr<SnapshotHandle> handle = tree->AcquireSnapshot();
    if (handle.ok()) {
      held.emplace_back(*handle, key);
    } else {
      EXPECT_TRUE(IsMemoryTableLimit(handle.status())) << handle.status();
      refused++;
    }
    // A table's worth and one more: the table fills and is sealed.
    for (uint64_t i = 0; i <= table_values; i++, key++) {
      const absl::Status status =
          PutWithBackPressure(tree, Schema32::Make(key, 1));
      ASSERT_TRUE(status.ok())
          << "round " << round << ", put " << key << ": " << status;
    }
  }
  EXPECT_GT(refused, 0);
  ASSERT_TRUE(CompactBlocking(tree).ok());
  AlignedBuffer frame(storage->get()->block_size_bytes());
  for (const auto& [handle, written] : held) {
    for (uint64_t k :
         {uint64_t{0}, written == 0 ? 0 : written - 1, written, key - 1}) {
      auto value = GetBlocking(tree, k, handle.snapshot(), frame.data());
      ASSERT_TRUE(value.ok()) << value.status();
      EXPECT_EQ(value->has_value(), k < written)
          << "snapshot " << handle.snapshot() << ", key " << k;
    }
    ASSERT_TRUE(tree->ReleaseSnapshot(handle).ok());
  }
}

TEST(TreeSnapshotLimitTest, TheLimitIsAClearErrorThatChangesNothing) {
  auto storage = MemoryStorage::Create(SmallStorageOptions());
  ASSERT_TRUE(storage.ok());
  auto created = Tree32::Create(storage->get(), SmallTreeOptions());
  ASSERT_TRUE(created.ok()) << created.status();
  Tree32* tree = created->get();
  ASSERT_EQ(tree->snapshot_memory_table_count_max(), 1u);  // 2 - 1.
  ASSERT_TRUE(tree->Put(Schema32::Make(0, 0)).ok());
  auto first = tree->AcquireSnapshot();  // Holds the mutable table.
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(tree->snapshot_memory_table_count(), 1u);
  // Fill the table and seal it: a snapshot now would hold the new mutable
  // table too.
  const uint32_t table_values = tree->options().memory_table_value_count_max;
  for (uint64_t key = 1; key <= table_values; key++) {
    ASSERT_TRUE(tree->Put(Schema32::Make(key, 0)).ok()) << key;
  }
  ASSERT_EQ(tree->stats().seals, 1u);
  const Snapshot op = tree->op();
  const absl::StatusOr<SnapshotHandle> refused = tree->AcquireSnapshot();
  EXPECT_TRUE(IsMemoryTableLimit(refused.status())) << refused.status();
  EXPECT_NE(refused.status().message().find("Checkpoint()"), std::string::npos);
  EXPECT_EQ(tree->op(), op);
  EXPECT_EQ(tree->stats().seals, 1u);
  EXPECT_EQ(tree->snapshot_count(), 1u);
  EXPECT_EQ(tree->snapshot_memory_table_count(), 1u);
  // Compact() flushes the sealed table, but the first snapshot holds it.
  ASSERT_TRUE(CompactBlocking(tree).ok());
  EXPECT_TRUE(IsMemoryTableLimit(tree->AcquireSnapshot().status()));
  // After a checkpoint a snapshot holds no memory table.
  ASSERT_TRUE(CheckpointBlocking(tree).ok());
  auto second = tree->AcquireSnapshot();
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(tree->snapshot_memory_table_count(), 1u);
  AlignedBuffer frame(storage->get()->block_size_bytes());
  auto at_first = GetBlocking(tree, 1, first->snapshot(), frame.data());
  auto at_second = GetBlocking(tree, 1, second->snapshot(), frame.data());
  ASSERT_TRUE(at_first.ok() && at_second.ok());
  EXPECT_FALSE(at_first->has_value());
  EXPECT_TRUE(at_second->has_value());
  // Releasing the first lets the next snapshot hold a memory table again.
  ASSERT_TRUE(tree->ReleaseSnapshot(*first).ok());
  EXPECT_EQ(tree->snapshot_memory_table_count(), 0u);
  ASSERT_TRUE(tree->Put(Schema32::Make(1, 1)).ok());
  auto third = tree->AcquireSnapshot();
  ASSERT_TRUE(third.ok()) << third.status();
  EXPECT_EQ(tree->snapshot_memory_table_count(), 1u);
  ASSERT_TRUE(tree->ReleaseSnapshot(*second).ok());
  ASSERT_TRUE(tree->ReleaseSnapshot(*third).ok());
}

// Holding many snapshots (the parameter: how many, and
// immutable_table_count_max) across random writes, compactions and
// checkpoints. Every write goes through after at most one Compact()
// (PutWithBackPressure); a refused snapshot is the limit's error, and the
// limit is never passed; a snapshot taken after Checkpoint() is never
// refused; every snapshot reads exactly its state at the end, after many
// more tables' worth of writes.
class TreeSnapshotManyTest
    : public ::testing::TestWithParam<std::tuple<int, uint32_t>> {};

TEST_P(TreeSnapshotManyTest, HeldSnapshotsNeverWedgeWrites) {
  const auto [count, immutable_count] = GetParam();
  const uint64_t seed = 1000 + count * 10 + immutable_count;
  SCOPED_TRACE(::testing::Message() << "seed " << seed);
  Prng prng(seed);
  auto storage = MemoryStorage::Create(SmallStorageOptions());
  ASSERT_TRUE(storage.ok());
  TreeOptions options = SmallTreeOptions();
  options.immutable_table_count_max = immutable_count;
  auto created = Tree32::Create(storage->get(), options);
  ASSERT_TRUE(created.ok()) << created.status();
  Tree32* tree = created->get();
  constexpr uint64_t kKeys = 600;
  std::map<uint64_t, uint64_t> latest;  // Key -> payload seed.
  std::vector<std::pair<SnapshotHandle, std::map<uint64_t, uint64_t>>> held;
  auto write = [&](uint64_t writes) {
    for (uint64_t i = 0; i < writes; i++) {
      const uint64_t key = prng.Uniform(kKeys);
      const uint64_t payload = prng.Next();
      const absl::Status status =
          PutWithBackPressure(tree, Schema32::Make(key, payload));
      ASSERT_TRUE(status.ok()) << status;
      latest[key] = payload;
    }
  };
  int refused = 0;
  while (held.size() < static_cast<size_t>(count)) {
    ASSERT_NO_FATAL_FAILURE(write(prng.Uniform(120)));
    if (prng.Chance(0.2)) {
      ASSERT_TRUE(CompactBlocking(tree).ok());
    }
    absl::StatusOr<SnapshotHandle> handle = tree->AcquireSnapshot();
    if (!handle.ok()) {
      ASSERT_TRUE(IsMemoryTableLimit(handle.status())) << handle.status();
      refused++;
      ASSERT_TRUE(CheckpointBlocking(tree).ok());
      handle = tree->AcquireSnapshot();
      ASSERT_TRUE(handle.ok()) << handle.status();
    }
    ASSERT_LE(tree->snapshot_memory_table_count(),
              tree->snapshot_memory_table_count_max());
    held.emplace_back(*handle, latest);
  }
  // Many more tables' worth of writes while every snapshot is held.
  ASSERT_NO_FATAL_FAILURE(
      write(10 * uint64_t{options.memory_table_value_count_max}));
  ASSERT_EQ(tree->snapshot_count(), static_cast<uint32_t>(count));
  AlignedBuffer frame(storage->get()->block_size_bytes());
  const uint64_t step = count > 10 ? 7 : 1;
  for (const auto& [handle, expected] : held) {
    for (uint64_t key = prng.Uniform(step); key < kKeys; key += step) {
      auto value = GetBlocking(tree, key, handle.snapshot(), frame.data());
      ASSERT_TRUE(value.ok()) << value.status();
      auto it = expected.find(key);
      ASSERT_EQ(value->has_value(), it != expected.end())
          << "snapshot " << handle.snapshot() << ", key " << key;
      if (it != expected.end()) {
        EXPECT_EQ((*value)->payload, Schema32::Make(key, it->second).payload)
            << "snapshot " << handle.snapshot() << ", key " << key;
      }
    }
  }
  for (const auto& entry : held) {
    ASSERT_TRUE(tree->ReleaseSnapshot(entry.first).ok());
  }
  EXPECT_EQ(tree->snapshot_memory_table_count(), 0u);
  // A hundred snapshots over writes reach the limit (and get past it).
  if (count == 100) {
    EXPECT_GT(refused, 0);
  }
}

INSTANTIATE_TEST_SUITE_P(Counts, TreeSnapshotManyTest,
                         ::testing::Combine(::testing::Values(3, 10, 100),
                                            ::testing::Values(2u, 8u)));

}  // namespace
}  // namespace lsmscan
