// The lifetime of a value Next() returns: it stays valid, with unchanged
// bytes, until the next call on the same scan, whatever other I/O runs on
// the storage meanwhile (point reads, other scans, compactions), on every
// path a value can come from: a tie between streams, a run, a level moving
// to its next block or table, after a probe, while read-ahead lands.
//
// Each test copies every value when it is returned, runs other work on the
// same storage through a small block cache (so cache frames are evicted and
// reused) or none (so the scan's own frames are reused by its read-ahead),
// and compares the returned bytes with the copy before the next call on the
// scan. The randomized version of these checks is in scan_model_test.cc.

#include <cstdint>
#include <cstring>
#include <functional>
#include <memory>
#include <optional>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "lsmscan/lsm/schema.h"
#include "lsmscan/lsm/tree.h"
#include "lsmscan/lsm/tree_testing.h"
#include "lsmscan/scan/scan_buffer.h"
#include "lsmscan/scan/scan_testing.h"
#include "lsmscan/scan/scan_tree.h"
#include "lsmscan/storage/aligned_buffer.h"
#include "lsmscan/storage/fault_storage.h"
#include "lsmscan/storage/memory_storage.h"

namespace lsmscan {
namespace {

using Schema32 = Record32Schema;
using Value = Schema32::Value;
using Tree32 = Tree<Schema32>;
using Scan32 = ScanTree<Schema32>;
using ::lsmscan::testing::CheckpointBlocking;
using ::lsmscan::testing::CompactAllBlocking;
using ::lsmscan::testing::CompactBlocking;
using ::lsmscan::testing::GetBlocking;
using ::lsmscan::testing::PutWithBackPressure;
using ::lsmscan::testing::ReadBlocking;
using ::lsmscan::testing::SmallTreeOptions;

constexpr uint64_t kKeyCount = 1000;
constexpr uint64_t kOverwrittenCount = 200;  // Keys 0..199 also in level 0.

StorageOptions TestStorageOptions() {
  StorageOptions options;
  options.block_size_bytes = 4096;
  options.block_count_max = 1 << 14;
  return options;
}

// The payload seed of `key` once the tree is built.
uint64_t SeedOf(uint64_t key) {
  return key < kOverwrittenCount ? key + 1'000'000 : key;
}

// Keys 0..999 compacted to the last level, then keys 0..199 overwritten and
// flushed to level 0 (so keys 0..199 tie between two levels), on a copying
// storage (a FaultStorage over memory that injects nothing) whose tree has
// a block cache of `cache_block_count` frames.
class Fixture {
 public:
  explicit Fixture(uint32_t cache_block_count) {
    auto inner = MemoryStorage::Create(TestStorageOptions());
    EXPECT_TRUE(inner.ok());
    inner_ = std::move(inner).value();
    storage_ = std::make_unique<FaultStorage>(inner_.get(), FaultOptions(),
                                              /*seed=*/1);
    TreeOptions options = SmallTreeOptions();
    options.cache_block_count = cache_block_count;
    auto tree = Tree32::Create(storage_.get(), options);
    EXPECT_TRUE(tree.ok());
    tree_ = std::move(tree).value();
  }

  void Build() {
    for (uint64_t key = 0; key < kKeyCount; key++) {
      ASSERT_TRUE(
          PutWithBackPressure(tree_.get(), Schema32::Make(key, key)).ok());
    }
    ASSERT_TRUE(CompactAllBlocking(tree_.get()).ok());
    for (uint64_t key = 0; key < kOverwrittenCount; key++) {
      ASSERT_TRUE(
          PutWithBackPressure(tree_.get(), Schema32::Make(key, SeedOf(key)))
              .ok());
    }
    // A checkpoint seals the mutable table and flushes it to level 0.
    ASSERT_TRUE(CheckpointBlocking(tree_.get()).ok());
    ASSERT_GT(tree_->manifest().live_table_count(0), 0u);
    const uint32_t last = tree_->level_count() - 1;
    ASSERT_GT(tree_->manifest().live_table_count(last), 0u);
  }

  Tree32* tree() { return tree_.get(); }
  Storage* storage() { return storage_.get(); }

 private:
  std::unique_ptr<MemoryStorage> inner_;
  std::unique_ptr<FaultStorage> storage_;
  std::unique_ptr<Tree32> tree_;
};

// What runs between two calls on the scan under test: `index` counts the
// values returned so far.
using Work = std::function<void(uint64_t index)>;

struct DriveOptions {
  uint64_t key_min = 0;
  uint64_t key_max = kKeyCount - 1;
  Direction direction = Direction::kAscending;
  uint32_t read_ahead_blocks = 1;
  uint64_t probe_every = 0;  // Probe 7 keys ahead after every n-th value.
};

struct DriveResult {
  uint64_t values = 0;
  uint64_t changed = 0;  // Values whose bytes changed before the next call.
};

// Scans the fixture's tree, running `work` after every value and comparing
// the value's bytes with a copy taken when it was returned. Also checks each
// value is the expected one (key order, payload).
DriveResult Drive(Fixture* fixture, const DriveOptions& options,
                  const Work& work) {
  DriveResult result;
  auto buffer = ScanBuffer::ForTree(
      *fixture->tree(), {.read_ahead_blocks = options.read_ahead_blocks});
  EXPECT_TRUE(buffer.ok());
  Scan32 scan;
  EXPECT_TRUE(scan.Init(fixture->tree(), buffer->get(), kSnapshotLatest,
                        options.key_min, options.key_max, options.direction)
                  .ok());
  EXPECT_TRUE(ReadBlocking(&scan, fixture->storage()).ok());
  std::optional<uint64_t> expected_key;  // The next key, if known.
  const bool ascending = options.direction == Direction::kAscending;
  expected_key = ascending ? options.key_min : options.key_max;
  while (true) {
    const ScanNext<Value> next = scan.Next();
    if (next.kind == ScanNextKind::kEnd) break;
    if (next.kind == ScanNextKind::kReadAgain) {
      EXPECT_TRUE(ReadBlocking(&scan, fixture->storage()).ok());
      continue;
    }
    const Value copy = *next.value;
    const uint64_t key = Schema32::key_of(copy);
    EXPECT_EQ(key, *expected_key);
    const Value model = Schema32::Make(key, SeedOf(key));
    EXPECT_EQ(std::memcmp(&copy, &model, sizeof(Value)), 0)
        << "key " << key << " came back with the wrong payload";
    result.values++;
    work(result.values);
    if (std::memcmp(next.value, &copy, sizeof(Value)) != 0) {
      if (result.changed == 0) {
        ADD_FAILURE() << "the value of key " << key << " (value "
                      << result.values << ") changed before the next call: "
                      << "it now reads as key "
                      << Schema32::key_of(*next.value);
      }
      result.changed++;
    }
    if (ascending ? key == options.key_max : key == options.key_min) break;
    expected_key = ascending ? key + 1 : key - 1;
    const bool room =
        ascending ? key + 7 <= options.key_max : key >= options.key_min + 7;
    if (options.probe_every > 0 && result.values % options.probe_every == 0 &&
        room) {
      const uint64_t target = ascending ? key + 7 : key - 7;
      EXPECT_TRUE(scan.Probe(target).ok());
      expected_key = target;
    }
  }
  return result;
}

// Point reads of keys spread over the tree: every one of them may evict a
// cache frame and read into it.
Work GetsBetweenValues(Fixture* fixture, uint32_t gets_per_value) {
  auto frame = std::make_shared<AlignedBuffer>(4096);
  return [fixture, frame, gets_per_value](uint64_t index) {
    for (uint32_t i = 0; i < gets_per_value; i++) {
      const uint64_t key = (index * 389 + i * 577) % kKeyCount;
      auto got =
          GetBlocking(fixture->tree(), key, kSnapshotLatest, frame->data());
      ASSERT_TRUE(got.ok()) << got.status();
      ASSERT_TRUE(got->has_value());
      EXPECT_EQ(Schema32::key_of(**got), key);
    }
  };
}

// Regression (issue 13, item 1): on the tie path, Next() consumed the
// winning stream and refreshed its head before returning, which unpinned
// the block holding the value; a point read then reused its cache frame.
TEST(ScanValueLifetimeTest, AValueReturnedOnATieStaysUnchangedWhileGetsRun) {
  for (uint32_t cache_block_count = 4; cache_block_count <= 8;
       cache_block_count++) {
    SCOPED_TRACE(absl::StrCat("cache_block_count ", cache_block_count));
    Fixture fixture(cache_block_count);
    ASSERT_NO_FATAL_FAILURE(fixture.Build());
    for (Direction direction :
         {Direction::kAscending, Direction::kDescending}) {
      SCOPED_TRACE(DirectionName(direction));
      const DriveResult result =
          Drive(&fixture, {.direction = direction},
                GetsBetweenValues(&fixture, /*gets_per_value=*/2));
      EXPECT_EQ(result.values, kKeyCount);
      EXPECT_EQ(result.changed, 0u);
    }
  }
}

// Runs, block and table crossings, probes and read-ahead, with no cache
// (read-ahead reads land in the scan's own frames while values are out) and
// with a small one.
TEST(ScanValueLifetimeTest, ValuesStayUnchangedOnEveryPathWhileGetsRun) {
  for (uint32_t cache_block_count : {0u, 4u, 6u}) {
    Fixture fixture(cache_block_count);
    ASSERT_NO_FATAL_FAILURE(fixture.Build());
    for (uint32_t read_ahead : {0u, 1u, 4u}) {
      for (uint64_t probe_every : {0u, 13u}) {
        for (Direction direction :
             {Direction::kAscending, Direction::kDescending}) {
          SCOPED_TRACE(absl::StrCat("cache ", cache_block_count, " read-ahead ",
                                    read_ahead, " probe every ", probe_every,
                                    " ", DirectionName(direction)));
          const DriveResult result =
              Drive(&fixture,
                    {.direction = direction,
                     .read_ahead_blocks = read_ahead,
                     .probe_every = probe_every},
                    GetsBetweenValues(&fixture, /*gets_per_value=*/1));
          EXPECT_GT(result.values, probe_every == 0 ? kKeyCount - 1 : 100);
          EXPECT_EQ(result.changed, 0u);
        }
      }
    }
  }
}

// Other scans, on their own buffer, each a short range somewhere else in
// the tree, run between the values of the scan under test.
TEST(ScanValueLifetimeTest, ValuesStayUnchangedWhileOtherScansRun) {
  for (uint32_t cache_block_count : {0u, 4u, 6u, 8u}) {
    SCOPED_TRACE(absl::StrCat("cache_block_count ", cache_block_count));
    Fixture fixture(cache_block_count);
    ASSERT_NO_FATAL_FAILURE(fixture.Build());
    auto other_buffer =
        ScanBuffer::ForTree(*fixture.tree(), {.read_ahead_blocks = 1});
    ASSERT_TRUE(other_buffer.ok());
    Scan32 other;
    uint64_t other_values = 0;
    const Work work = [&](uint64_t index) {
      const uint64_t key_min = (index * 389) % kKeyCount;
      ASSERT_TRUE(other
                      .Init(fixture.tree(), other_buffer->get(),
                            kSnapshotLatest, key_min, key_min + 9,
                            index % 2 == 0 ? Direction::kAscending
                                           : Direction::kDescending)
                      .ok());
      ASSERT_TRUE(ReadBlocking(&other, fixture.storage()).ok());
      while (true) {
        const ScanNext<Value> next = other.Next();
        if (next.kind == ScanNextKind::kEnd) break;
        if (next.kind == ScanNextKind::kReadAgain) {
          ASSERT_TRUE(ReadBlocking(&other, fixture.storage()).ok());
        } else {
          other_values++;
        }
      }
    };
    for (Direction direction :
         {Direction::kAscending, Direction::kDescending}) {
      SCOPED_TRACE(DirectionName(direction));
      const DriveResult result =
          Drive(&fixture, {.direction = direction}, work);
      EXPECT_EQ(result.values, kKeyCount);
      EXPECT_EQ(result.changed, 0u);
    }
    EXPECT_GT(other_values, 9 * kKeyCount);
  }
}

// Writes and compactions on the same storage between values (the scan
// keeps its view: it sees none of them).
TEST(ScanValueLifetimeTest, ValuesStayUnchangedWhileCompactionsRun) {
  for (uint32_t cache_block_count : {0u, 4u}) {
    SCOPED_TRACE(absl::StrCat("cache_block_count ", cache_block_count));
    Fixture fixture(cache_block_count);
    ASSERT_NO_FATAL_FAILURE(fixture.Build());
    uint64_t writes = 0;
    const Work work = [&](uint64_t index) {
      // Overwrite keys past the scan's range: the scan must not see them.
      ASSERT_TRUE(
          PutWithBackPressure(fixture.tree(),
                              Schema32::Make(kKeyCount + index % 500, writes++))
              .ok());
      if (index % 97 == 0) {
        ASSERT_TRUE(CompactBlocking(fixture.tree()).ok());
      }
    };
    const DriveResult result = Drive(&fixture, {}, work);
    EXPECT_EQ(result.values, kKeyCount);
    EXPECT_EQ(result.changed, 0u);
  }
}

}  // namespace
}  // namespace lsmscan
