// Crash safety of checkpoints, under the crash model of a device with a
// volatile write cache (FaultOptions::crash_loses_unsynced_writes): at the
// crash, the writes no Sync() covered are lost in any subset and the write
// at the crash point is torn. Only the tree's Sync() calls order its writes,
// so removing any of them makes these tests fail (doc/reliability.md).
//
// A scenario creates a tree, writes state A and checkpoints it, writes B on
// top and checkpoints it, then writes more and compacts (reusing the blocks
// A alone held) without a checkpoint. A crash at any write or sync of it
// must leave, at reopen, the newest checkpoint that reported OK before the
// crash, or the one that was being written: never a mix, never an error.
//
// Reproduce a failure with the seed it prints:
//   LSMSCAN_SEED=<seed> bazel test //lsm:tree_crash_test

#include <cstdint>
#include <cstring>
#include <map>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "lsmscan/lsm/schema.h"
#include "lsmscan/lsm/tree.h"
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
using Map = std::map<uint64_t, Value>;
using ::lsmscan::testing::CheckpointBlocking;
using ::lsmscan::testing::CompactAllBlocking;
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

// One phase of writes: `count` puts (every `remove_every`-th a remove) of
// keys spread by `stride`, payloads from `seed_base`. Stops at an error,
// which is allowed only once the storage has crashed.
bool Apply(Tree32* tree, const FaultStorage& storage, uint64_t count,
           uint64_t stride, uint64_t offset, uint64_t remove_every,
           uint64_t seed_base, Map* model) {
  for (uint64_t i = 0; i < count; i++) {
    const uint64_t key = (i * stride + offset) % kKeyCount;
    const bool remove = remove_every != 0 && i % remove_every == 0;
    const Value value =
        remove ? Schema32::tombstone(key) : Schema32::Make(key, seed_base + i);
    const absl::Status status = PutWithBackPressure(tree, value);
    if (!status.ok()) {
      EXPECT_TRUE(storage.crashed()) << status;
      return false;
    }
    if (model == nullptr) continue;
    if (remove) {
      model->erase(key);
    } else {
      (*model)[key] = value;
    }
  }
  return !storage.crashed();
}

// Whether the checkpoint reported OK before the storage crashed (a
// checkpoint that completes after the crash point counts for nothing).
bool Checkpointed(Tree32* tree, const FaultStorage& storage) {
  const absl::Status status = CheckpointBlocking(tree);
  if (!status.ok()) {
    EXPECT_TRUE(storage.crashed()) << status;
  }
  return status.ok() && !storage.crashed();
}

// What a run of the scenario saw.
struct Outcome {
  bool created = false;  // Create() returned OK before the crash.
  bool a_counted = false;
  bool b_counted = false;
  bool crashed = false;
  uint64_t writes = 0;
  uint64_t syncs = 0;
  FaultStats faults;
};

// Runs the scenario on `device` under `faults`; fills the models of the two
// checkpoints.
Outcome RunScenario(const std::shared_ptr<MemoryDevice>& device,
                    const FaultOptions& faults, uint64_t seed, Map* model_a,
                    Map* model_b) {
  std::unique_ptr<MemoryStorage> inner = MemoryStorage::Open(device);
  FaultStorage storage(inner.get(), faults, seed);
  Outcome outcome;
  auto run = [&]() {
    auto tree = Tree32::Create(&storage, SmallTreeOptions());
    if (!tree.ok()) {
      EXPECT_TRUE(storage.crashed()) << tree.status();
      return;
    }
    outcome.created = !storage.crashed();
    if (!Apply(tree->get(), storage, 900, 613, 0, 0, 0, model_a)) return;
    outcome.a_counted = Checkpointed(tree->get(), storage);
    if (!outcome.a_counted) return;
    *model_b = *model_a;
    if (!Apply(tree->get(), storage, 500, 389, 7, 4, 10000, model_b)) return;
    outcome.b_counted = Checkpointed(tree->get(), storage);
    if (!outcome.b_counted) return;
    // Not checkpointed: compactions that reuse the blocks only A held.
    if (!Apply(tree->get(), storage, 700, 211, 3, 5, 20000, nullptr)) return;
    const absl::Status compacted = CompactAllBlocking(tree->get());
    if (!compacted.ok()) {
      EXPECT_TRUE(storage.crashed()) << compacted;
    }
  };
  run();
  outcome.crashed = storage.crashed();
  outcome.writes = storage.stats().write_count;
  outcome.syncs = storage.sync_count();
  outcome.faults = storage.fault_stats();
  return outcome;
}

// Reads every key of a reopened tree.
Map ReadAll(Tree32* tree) {
  Map contents;
  AlignedBuffer frame = AlignedBuffer::ForBlock(*tree->storage());
  for (uint64_t key = 0; key < kKeyCount; key++) {
    auto result = GetBlocking(tree, key, kSnapshotLatest, frame.data());
    EXPECT_TRUE(result.ok()) << "key " << key << ": " << result.status();
    if (result.ok() && result->has_value()) contents[key] = **result;
  }
  return contents;
}

bool Same(const Map& a, const Map& b) {
  if (a.size() != b.size()) return false;
  for (auto i = a.begin(), j = b.begin(); i != a.end(); ++i, ++j) {
    if (i->first != j->first ||
        std::memcmp(&i->second, &j->second, sizeof(Value)) != 0) {
      return false;
    }
  }
  return true;
}

std::string Name(const Map& contents, const Map& a, const Map& b) {
  if (contents.empty()) return "empty";
  if (Same(contents, a)) return "A";
  if (Same(contents, b)) return "B";
  return absl::StrCat("a mix (", contents.size(), " keys)");
}

// Which recovered states a crash after `outcome` allows: the last checkpoint
// that counted, or the next one (whose writes were under way).
bool Allowed(const Outcome& outcome, const std::string& recovered) {
  if (outcome.b_counted) return recovered == "B";
  if (outcome.a_counted) return recovered == "A" || recovered == "B";
  if (outcome.created) return recovered == "empty" || recovered == "A";
  return recovered == "empty";  // Or Open fails: Create never finished.
}

class TreeCrashTest : public ::testing::Test {
 protected:
  // Crashes the scenario at every write and at every sync, `seeds_per_point`
  // times each with other choices of lost writes and torn sectors.
  void CrashEverywhere(uint64_t seeds_per_point) {
    const uint64_t seed = testing::SeedFromEnvironment(0xC2A5);
    SCOPED_TRACE(absl::StrCat("LSMSCAN_SEED=", seed));
    auto clean_device = MemoryDevice::Create(TestStorageOptions());
    ASSERT_TRUE(clean_device.ok());
    Map clean_a;
    Map clean_b;
    const Outcome clean =
        RunScenario(*clean_device, FaultOptions(), seed, &clean_a, &clean_b);
    ASSERT_TRUE(clean.b_counted);
    ASSERT_FALSE(Same(clean_a, clean_b));
    std::map<std::string, uint64_t> seen;
    FaultStats faults;
    for (uint64_t crash_at = 0; crash_at <= clean.writes; crash_at++) {
      for (bool on_sync : {false, true}) {
        for (uint64_t i = 0; i < seeds_per_point; i++) {
          const uint64_t run_seed = seed + 7919 * (crash_at * 2 + on_sync) + i;
          SCOPED_TRACE(absl::StrCat(
              "crash after ", crash_at, " writes, ",
              on_sync ? "at the next write or sync" : "at the next write",
              ", seed ", run_seed));
          FaultOptions options;
          options.crash_loses_unsynced_writes = true;
          options.crash_on_sync = on_sync;
          options.write_count_max = crash_at;
          auto device = MemoryDevice::Create(TestStorageOptions());
          ASSERT_TRUE(device.ok());
          Map a;
          Map b;
          const Outcome outcome =
              RunScenario(*device, options, run_seed, &a, &b);
          ASSERT_TRUE(outcome.crashed || crash_at == clean.writes);
          faults.unsynced_writes_lost += outcome.faults.unsynced_writes_lost;
          faults.unsynced_writes_kept += outcome.faults.unsynced_writes_kept;
          faults.writes_torn += outcome.faults.writes_torn;
          std::unique_ptr<MemoryStorage> storage = MemoryStorage::Open(*device);
          auto tree = Tree32::Open(storage.get(), SmallTreeOptions());
          if (!tree.ok()) {
            ASSERT_FALSE(outcome.created)
                << "Open failed after Create reported OK: " << tree.status();
            seen["no tree"]++;
            continue;
          }
          const std::string recovered =
              Name(ReadAll(tree->get()), clean_a, clean_b);
          ASSERT_TRUE(Allowed(outcome, recovered))
              << "recovered " << recovered << "; Create "
              << (outcome.created ? "counted" : "did not count")
              << ", checkpoint A " << (outcome.a_counted ? "did" : "did not")
              << ", checkpoint B " << (outcome.b_counted ? "did" : "did not");
          seen[recovered]++;
        }
      }
    }
    for (const auto& [state, count] : seen) {
      std::printf("recovered %s: %llu runs\n", state.c_str(),
                  static_cast<unsigned long long>(count));
    }
    std::printf("unsynced writes lost %llu, kept %llu; torn writes %llu\n",
                static_cast<unsigned long long>(faults.unsynced_writes_lost),
                static_cast<unsigned long long>(faults.unsynced_writes_kept),
                static_cast<unsigned long long>(faults.writes_torn));
    // Every kind of outcome, and every kind of fault, happened.
    EXPECT_GT(seen["empty"], 0u);
    EXPECT_GT(seen["A"], 0u);
    EXPECT_GT(seen["B"], 0u);
    EXPECT_GT(faults.unsynced_writes_lost, 0u);
    EXPECT_GT(faults.unsynced_writes_kept, 0u);
    EXPECT_GT(faults.writes_torn, 0u);
  }
};

TEST_F(TreeCrashTest, ACrashAtAnyWriteOrSyncRecoversTheLastCheckpointOrNext) {
  CrashEverywhere(/*seeds_per_point=*/2);
}

// A superblock copy corrupted in transit (not on disk) is read again, so
// Open() does not silently roll back to the previous checkpoint.
TEST(TreeCrashTestTransient, TransientSuperblockCorruptionIsReadAgain) {
  auto device = MemoryDevice::Create(TestStorageOptions());
  ASSERT_TRUE(device.ok());
  Map model_a;
  Map model_b;
  ASSERT_TRUE(
      RunScenario(*device, FaultOptions(), 1, &model_a, &model_b).b_counted);
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
    const std::string recovered = Name(ReadAll(tree->get()), model_a, model_b);
    if (recovered == "B") {
      newest++;
    } else {
      ASSERT_EQ(recovered, "A") << "seed " << seed;
      rolled_back++;
    }
  }
  // A roll-back needs three corrupt reads of the newest copy in a row.
  EXPECT_EQ(rolled_back, 0u) << newest << " newest, " << failed << " failed";
  EXPECT_GT(newest, 5u);
}

}  // namespace
}  // namespace lsmscan
