// Scans at the edges of the key domain: Record32Schema takes every uint64_t,
// so a scan, a probe and the iterator's default bounds reach UINT64_MAX,
// and keys around 2^63 (where the tombstone flag once lived) are keys like
// any other. A seeded differential test against a std::map model, over
// memory tables and disk levels, both directions, with probes.
//
// Reproduce a failure with the seed it prints:
//   LSMSCAN_SEED=<seed> bazel test //scan:scan_key_edges_test

#include <cstdint>
#include <map>
#include <memory>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "lsmscan/lsm/schema.h"
#include "lsmscan/lsm/tree.h"
#include "lsmscan/lsm/tree_testing.h"
#include "lsmscan/scan/scan_buffer.h"
#include "lsmscan/scan/scan_iterator.h"
#include "lsmscan/scan/scan_testing.h"
#include "lsmscan/scan/scan_tree.h"
#include "lsmscan/storage/base/prng.h"
#include "lsmscan/storage/memory_storage.h"
#include "lsmscan/storage/storage_testing.h"

namespace lsmscan {
namespace {

using S = Record32Schema;
using Value = S::Value;
using Map = std::map<uint64_t, Value>;
using ::lsmscan::testing::CheckScan;
using ::lsmscan::testing::CompactAllBlocking;
using ::lsmscan::testing::CompactBlocking;
using ::lsmscan::testing::PutWithBackPressure;
using ::lsmscan::testing::ReadBlocking;
using ::lsmscan::testing::ScanCheckOptions;
using ::lsmscan::testing::SmallTreeOptions;

constexpr uint64_t kBit63 = uint64_t{1} << 63;

class ScanKeyEdgesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    StorageOptions options;
    options.block_size_bytes = 4096;
    options.block_count_max = 1 << 13;
    auto storage = MemoryStorage::Create(options);
    ASSERT_TRUE(storage.ok());
    storage_ = std::move(storage).value();
    auto tree = Tree<S>::Create(storage_.get(), SmallTreeOptions());
    ASSERT_TRUE(tree.ok()) << tree.status();
    tree_ = std::move(tree).value();
    auto buffer = ScanBuffer::ForTree(*tree_);
    ASSERT_TRUE(buffer.ok()) << buffer.status();
    buffer_ = std::move(buffer).value();
  }

  void Put(uint64_t key, uint64_t seed) {
    const Value value = S::Make(key, seed);
    ASSERT_TRUE(PutWithBackPressure(tree_.get(), value).ok());
    model_[key] = value;
  }
  void Remove(uint64_t key) {
    ASSERT_TRUE(PutWithBackPressure(tree_.get(), S::tombstone(key)).ok());
    model_.erase(key);
  }

  // Every value of [key_min, key_max] in `direction`, through ScanTree.
  std::vector<uint64_t> ScanKeys(uint64_t key_min, uint64_t key_max,
                                 Direction direction) {
    std::vector<uint64_t> keys;
    ScanTree<S> scan;
    EXPECT_TRUE(scan.Init(tree_.get(), buffer_.get(), kSnapshotLatest, key_min,
                          key_max, direction)
                    .ok());
    EXPECT_TRUE(ReadBlocking(&scan, storage_.get()).ok());
    while (true) {
      const ScanNext<Value> next = scan.Next();
      if (next.kind == ScanNextKind::kReadAgain) {
        EXPECT_TRUE(ReadBlocking(&scan, storage_.get()).ok());
        continue;
      }
      if (next.kind == ScanNextKind::kEnd) break;
      keys.push_back(S::key_of(*next.value));
    }
    return keys;
  }

  std::unique_ptr<MemoryStorage> storage_;
  std::unique_ptr<Tree<S>> tree_;
  std::unique_ptr<ScanBuffer> buffer_;
  Map model_;
};

TEST_F(ScanKeyEdgesTest, AScanReachesUint64MaxInMemoryAndOnDisk) {
  const std::vector<uint64_t> keys = {
      0, 1, kBit63 - 1, kBit63, kBit63 + 1, UINT64_MAX - 1, UINT64_MAX};
  for (bool on_disk : {false, true}) {
    SCOPED_TRACE(on_disk ? "on disk" : "in memory");
    for (uint64_t key : keys) ASSERT_NO_FATAL_FAILURE(Put(key, key));
    if (on_disk) {
      ASSERT_TRUE(CompactAllBlocking(tree_.get()).ok());
    }
    EXPECT_EQ(ScanKeys(0, UINT64_MAX, Direction::kAscending), keys);
    const std::vector<uint64_t> reversed(keys.rbegin(), keys.rend());
    EXPECT_EQ(ScanKeys(0, UINT64_MAX, Direction::kDescending), reversed);
    EXPECT_EQ(ScanKeys(UINT64_MAX, UINT64_MAX, Direction::kAscending),
              std::vector<uint64_t>{UINT64_MAX});
    EXPECT_EQ(ScanKeys(kBit63, kBit63, Direction::kDescending),
              std::vector<uint64_t>{kBit63});
  }
}

TEST_F(ScanKeyEdgesTest, AProbeToUint64MaxFindsIt) {
  for (uint64_t key : {uint64_t{3}, kBit63, UINT64_MAX}) {
    ASSERT_NO_FATAL_FAILURE(Put(key, 1));
  }
  ASSERT_TRUE(CompactAllBlocking(tree_.get()).ok());
  ScanTree<S> scan;
  ASSERT_TRUE(scan.Init(tree_.get(), buffer_.get(), kSnapshotLatest, 0,
                        UINT64_MAX, Direction::kAscending)
                  .ok());
  ASSERT_TRUE(scan.Probe(UINT64_MAX).ok());
  ASSERT_TRUE(ReadBlocking(&scan, storage_.get()).ok());
  std::vector<uint64_t> keys;
  while (true) {
    const ScanNext<Value> next = scan.Next();
    if (next.kind == ScanNextKind::kReadAgain) {
      ASSERT_TRUE(ReadBlocking(&scan, storage_.get()).ok());
      continue;
    }
    if (next.kind == ScanNextKind::kEnd) break;
    keys.push_back(S::key_of(*next.value));
  }
  EXPECT_EQ(keys, std::vector<uint64_t>{UINT64_MAX});
}

TEST_F(ScanKeyEdgesTest, TheIteratorsDefaultBoundsAreTheWholeDomain) {
  for (uint64_t key : {uint64_t{0}, kBit63 + 1, UINT64_MAX}) {
    ASSERT_NO_FATAL_FAILURE(Put(key, 2));
  }
  ScanIterator<S> it(tree_.get(), buffer_.get());
  std::vector<uint64_t> up;
  for (it.Seek(1); it.Valid(); it.Next()) up.push_back(it.key());
  ASSERT_TRUE(it.status().ok()) << it.status();
  EXPECT_EQ(up, (std::vector<uint64_t>{kBit63 + 1, UINT64_MAX}));
  std::vector<uint64_t> down;
  for (it.SeekForPrev(UINT64_MAX); it.Valid(); it.Prev()) {
    down.push_back(it.key());
  }
  ASSERT_TRUE(it.status().ok()) << it.status();
  EXPECT_EQ(down, (std::vector<uint64_t>{UINT64_MAX, kBit63 + 1, 0}));
}

// Random writes clustered at the three edges (0, 2^63, UINT64_MAX), with
// compactions between, checked by whole-domain and edge-bound scans with
// random probes.
TEST_F(ScanKeyEdgesTest, RandomEdgeKeysMatchTheModel) {
  const uint64_t seed = testing::SeedFromEnvironment(0xED6E0001);
  SCOPED_TRACE(absl::StrCat("LSMSCAN_SEED=", seed));
  Prng prng(seed);
  const uint64_t bases[] = {0, kBit63 - 300, UINT64_MAX - 599};
  auto random_key = [&]() {
    return bases[prng.Uniform(3)] + prng.Uniform(600);
  };
  for (int round = 0; round < 6; round++) {
    for (int i = 0; i < 700; i++) {
      const uint64_t key = random_key();
      if (prng.Chance(0.2)) {
        ASSERT_NO_FATAL_FAILURE(Remove(key));
      } else {
        ASSERT_NO_FATAL_FAILURE(Put(key, prng.Next()));
      }
    }
    if (round % 2 == 0) {
      ASSERT_TRUE(CompactBlocking(tree_.get()).ok());
    }
    if (round == 3) {
      ASSERT_TRUE(CompactAllBlocking(tree_.get()).ok());
    }
    ScanCheckOptions options;
    options.probe_probability = 0.02;
    for (Direction direction :
         {Direction::kAscending, Direction::kDescending}) {
      const uint64_t lows[] = {0, random_key(), UINT64_MAX - 10};
      for (uint64_t low : lows) {
        const testing::ScanCheckResult result =
            CheckScan(tree_.get(), buffer_.get(), kSnapshotLatest, low,
                      UINT64_MAX, direction, model_, &prng, options);
        ASSERT_TRUE(result.status.ok()) << result.status;
      }
    }
  }
}

}  // namespace
}  // namespace lsmscan
