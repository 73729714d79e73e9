// A seeded, randomized differential test of Tree against a model: random
// puts, overwrites, removes (of keys that include the ends of the domain and
// the keys around 2^63), compactions, checkpoints, reopens and snapshot
// acquire/release; every get at every live snapshot must match the model.
//
// Reproduce a failure with the seed it prints:
//   LSMSCAN_SEED=<seed> bazel test //lsm:tree_model_test

#include <cstdint>
#include <cstdlib>
#include <iterator>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "lsmscan/lsm/schema.h"
#include "lsmscan/lsm/tree.h"
#include "lsmscan/lsm/tree_testing.h"
#include "lsmscan/storage/aligned_buffer.h"
#include "lsmscan/storage/base/prng.h"
#include "lsmscan/storage/fault_storage.h"
#include "lsmscan/storage/memory_storage.h"
#include "lsmscan/storage/storage_testing.h"

namespace lsmscan {
namespace {

using Schema32 = Record32Schema;
using Value = Schema32::Value;
using Tree32 = Tree<Schema32>;
using ::lsmscan::testing::Backend;
using ::lsmscan::testing::BackendName;
using ::lsmscan::testing::CheckpointBlocking;
using ::lsmscan::testing::CompactBlocking;
using ::lsmscan::testing::GetBlocking;
using ::lsmscan::testing::Model;
using ::lsmscan::testing::SmallTreeOptions;
using ::lsmscan::testing::StorageUnderTest;
using ::lsmscan::testing::TestStorageFactory;

constexpr uint32_t kBlockSizeBytes = 4096;

StorageOptions TestStorageOptions() {
  StorageOptions options;
  options.block_size_bytes = kBlockSizeBytes;
  options.block_count_max = 1 << 15;
  return options;
}

// Drives one tree and its model through random operations.
class ModelRun {
 public:
  ModelRun(Backend backend, uint64_t seed)
      : prng_(seed), factory_(backend, TestStorageOptions(), seed) {}

  void Open(OpenMode mode) {
    auto storage = factory_.Open(mode);
    ASSERT_TRUE(storage.ok()) << storage.status();
    storage_ = std::move(storage).value();
    auto tree = mode == OpenMode::kCreate
                    ? Tree32::Create(storage_->get(), SmallTreeOptions())
                    : Tree32::Open(storage_->get(), SmallTreeOptions());
    ASSERT_TRUE(tree.ok()) << tree.status();
    tree_ = std::move(tree).value();
  }

  void Run(uint32_t step_count) {
    ASSERT_NO_FATAL_FAILURE(Open(OpenMode::kCreate));
    for (uint32_t step = 0; step < step_count; step++) {
      SCOPED_TRACE(absl::StrCat("step ", step));
      ASSERT_NO_FATAL_FAILURE(Step());
    }
    ASSERT_NO_FATAL_FAILURE(CheckEverything());
    ReleaseAll();
  }

 private:
  static constexpr uint64_t kKeyCount = 2000;
  // Keys at the ends of the domain and around bit 63, beside [0, kKeyCount).
  static constexpr uint64_t kEdgeKeys[] = {
      uint64_t{1} << 63,       (uint64_t{1} << 63) - 1, (uint64_t{1} << 63) + 1,
      (uint64_t{1} << 63) + 5, UINT64_MAX - 1,          UINT64_MAX};

  uint64_t RandomKey() {
    if (prng_.Chance(0.03)) {
      return kEdgeKeys[prng_.Uniform(std::size(kEdgeKeys))];
    }
    // A skewed key choice makes overwrites common.
    return prng_.Chance(0.5) ? prng_.Uniform(kKeyCount / 10)
                             : prng_.Uniform(kKeyCount);
  }

  void Step() {
    const uint64_t choice = prng_.Uniform(1000);
    if (choice < 700) {
      Write();
    } else if (choice < 850) {
      CheckRandomGet();
    } else if (choice < 900) {
      ASSERT_TRUE(CompactBlocking(tree_.get()).ok());
    } else if (choice < 930) {
      Acquire();
    } else if (choice < 960) {
      ReleaseOne();
    } else if (choice < 985) {
      const absl::Status checkpointed = CheckpointBlocking(tree_.get());
      ASSERT_TRUE(checkpointed.ok()) << checkpointed;
      checkpointed_ = model_.latest();
    } else {
      ASSERT_NO_FATAL_FAILURE(Reopen());
    }
  }

  void Write() {
    const uint64_t key = RandomKey();
    const Value value = prng_.Chance(0.2) ? Schema32::tombstone(key)
                                          : Schema32::Make(key, prng_.Next());
    absl::Status status = tree_->Put(value);
    if (absl::IsResourceExhausted(status)) {
      // Held snapshots never keep a compaction from relieving a write
      // (their memory-table limit, tree.h AcquireSnapshot()).
      ASSERT_TRUE(CompactBlocking(tree_.get()).ok());
      status = tree_->Put(value);
    }
    ASSERT_TRUE(status.ok()) << status;
    model_.Put(value);
  }

  // Takes a snapshot unless it would pass the memory-table limit (then the
  // refusal is checked and nothing is held).
  void Acquire() {
    absl::StatusOr<SnapshotHandle> handle = tree_->AcquireSnapshot();
    ASSERT_LE(tree_->snapshot_memory_table_count(),
              tree_->snapshot_memory_table_count_max());
    if (absl::IsResourceExhausted(handle.status())) {
      ASSERT_NE(handle.status().message().find("immutable_table_count_max"),
                std::string::npos)
          << handle.status();
      return;
    }
    ASSERT_TRUE(handle.ok()) << handle.status();
    std::vector<SnapshotHandle>& handles = held_[handle->snapshot()];
    // The same op twice (no write in between): one model copy, two holds.
    if (handles.empty()) model_.Freeze(handle->snapshot());
    handles.push_back(*handle);
  }

  void ReleaseOne() {
    if (held_.empty()) return;
    auto it = held_.begin();
    std::advance(it, static_cast<ptrdiff_t>(prng_.Uniform(held_.size())));
    const Snapshot snapshot = it->first;
    ASSERT_TRUE(tree_->ReleaseSnapshot(it->second.back()).ok());
    it->second.pop_back();
    if (it->second.empty()) {
      held_.erase(it);
      model_.Thaw(snapshot);
    }
  }

  void ReleaseAll() {
    while (!held_.empty()) ReleaseOne();
  }

  Snapshot RandomSnapshot() {
    if (held_.empty() || prng_.Chance(0.5)) return kSnapshotLatest;
    auto it = held_.begin();
    std::advance(it, static_cast<ptrdiff_t>(prng_.Uniform(held_.size())));
    return it->first;
  }

  void CheckGet(uint64_t key, Snapshot snapshot) {
    auto result = GetBlocking(tree_.get(), key, snapshot, frame_.data());
    ASSERT_TRUE(result.ok()) << result.status();
    const auto& expected = model_.at(snapshot);
    auto it = expected.find(key);
    ASSERT_EQ(result->has_value(), it != expected.end())
        << "key " << key << " at snapshot " << snapshot;
    if (it != expected.end()) {
      ASSERT_EQ(std::memcmp(&**result, &it->second, sizeof(Value)), 0)
          << "key " << key;
    }
  }

  void CheckRandomGet() {
    const uint64_t key =
        prng_.Chance(0.05) ? RandomKey() : prng_.Uniform(kKeyCount + 10);
    CheckGet(key, RandomSnapshot());
  }

  void CheckEverything() {
    for (uint64_t key = 0; key < kKeyCount; key++) {
      ASSERT_NO_FATAL_FAILURE(CheckGet(key, kSnapshotLatest));
    }
    for (uint64_t key : kEdgeKeys) {
      ASSERT_NO_FATAL_FAILURE(CheckGet(key, kSnapshotLatest));
    }
    for (const auto& [snapshot, handles] : held_) {
      for (uint64_t key = 0; key < kKeyCount; key += 3) {
        ASSERT_NO_FATAL_FAILURE(CheckGet(key, snapshot));
      }
      for (uint64_t key : kEdgeKeys) {
        ASSERT_NO_FATAL_FAILURE(CheckGet(key, snapshot));
      }
    }
  }

  void Reopen() {
    // A restart: snapshots are gone, and so is everything not checkpointed.
    ReleaseAll();
    tree_.reset();
    storage_.reset();
    ASSERT_NO_FATAL_FAILURE(Open(OpenMode::kOpenExisting));
    model_.set_latest(checkpointed_);
    ASSERT_NO_FATAL_FAILURE(CheckEverything());
  }

  Prng prng_;
  TestStorageFactory factory_;
  std::unique_ptr<StorageUnderTest> storage_;
  std::unique_ptr<Tree32> tree_;
  Model<Schema32> model_;
  Model<Schema32>::Map checkpointed_;
  std::map<Snapshot, std::vector<SnapshotHandle>> held_;
  AlignedBuffer frame_{kBlockSizeBytes};
};

class TreeModelTest : public ::testing::TestWithParam<Backend> {};

TEST_P(TreeModelTest, MatchesTheModel) {
  for (uint64_t run = 0; run < 3; run++) {
    const uint64_t seed = testing::SeedFromEnvironment(0x5eed0000 + run);
    SCOPED_TRACE(absl::StrCat("LSMSCAN_SEED=", seed, " backend ",
                              BackendName(GetParam())));
    ModelRun model_run(GetParam(), seed);
    ASSERT_NO_FATAL_FAILURE(model_run.Run(4000));
    if (std::getenv("LSMSCAN_SEED") != nullptr) break;
  }
}

INSTANTIATE_TEST_SUITE_P(Backends, TreeModelTest,
                         ::testing::ValuesIn(testing::CoreBackends()),
                         [](const ::testing::TestParamInfo<Backend>& info) {
                           return BackendName(info.param);
                         });

// Corruption injected under the tree is always reported, never returned.
TEST(TreeCorruptionTest, InjectedCorruptionIsAlwaysDetected) {
  const uint64_t seed = testing::SeedFromEnvironment(77);
  SCOPED_TRACE(absl::StrCat("LSMSCAN_SEED=", seed));
  auto inner = MemoryStorage::Create(TestStorageOptions());
  ASSERT_TRUE(inner.ok());
  FaultStorage storage(inner->get(), FaultOptions(), seed);
  TreeOptions options = SmallTreeOptions();
  options.cache_block_count = 0;  // Every read goes to the storage.
  auto tree = Tree32::Create(&storage, options);
  ASSERT_TRUE(tree.ok()) << tree.status();
  Model<Schema32> model;
  Prng prng(seed);
  for (uint64_t i = 0; i < 3000; i++) {
    const Value value = Schema32::Make(prng.Uniform(1500), i);
    ASSERT_TRUE(testing::PutWithBackPressure(tree->get(), value).ok());
    model.Put(value);
  }
  ASSERT_TRUE(CompactBlocking(tree->get()).ok());
  FaultOptions faults;
  faults.read_corruption_probability = 0.2;
  storage.set_options(faults);
  AlignedBuffer frame(kBlockSizeBytes);
  uint64_t detected = 0;
  uint64_t correct = 0;
  for (uint64_t key = 0; key < 1500; key++) {
    auto result = GetBlocking(tree->get(), key, kSnapshotLatest, frame.data());
    if (!result.ok()) {
      ASSERT_EQ(result.status().code(), absl::StatusCode::kDataLoss)
          << result.status();
      detected++;
      continue;
    }
    auto it = model.latest().find(key);
    ASSERT_EQ(result->has_value(), it != model.latest().end()) << key;
    if (result->has_value()) {
      ASSERT_EQ(std::memcmp(&**result, &it->second, sizeof(Value)), 0);
    }
    correct++;
  }
  EXPECT_GT(detected, 0u);
  EXPECT_GT(correct, 0u);
  // A flip in a block's unused tail is harmless and goes unnoticed; every
  // other one is reported.
  EXPECT_LE(detected, storage.fault_stats().reads_corrupted);
  // A compaction over corrupt blocks fails cleanly and loses nothing.
  for (uint64_t i = 0; i < 400; i++) {
    ASSERT_TRUE(tree->get()->Put(Schema32::Make(2000 + i, i)).ok());
  }
  absl::Status compacted = CompactBlocking(tree->get());
  storage.set_options(FaultOptions());
  if (!compacted.ok()) {
    EXPECT_EQ(compacted.code(), absl::StatusCode::kDataLoss) << compacted;
    ASSERT_TRUE(CompactBlocking(tree->get()).ok());
  }
  for (uint64_t key = 0; key < 1500; key += 11) {
    auto result = GetBlocking(tree->get(), key, kSnapshotLatest, frame.data());
    ASSERT_TRUE(result.ok()) << result.status();
    EXPECT_EQ(result->has_value(), model.latest().contains(key)) << key;
  }
}

}  // namespace
}  // namespace lsmscan
