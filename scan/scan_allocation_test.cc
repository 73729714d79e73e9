// Proof that a scan allocates nothing after Init(): this binary replaces the
// global operator new and counts every allocation made while scans run
// whole, with ReadAgain cycles and probes, on a zero-copy and on a copying
// storage (with delayed, reordered completions). The same for a nested
// expression of the scan algebra over three trees, ending in a ScanLookup.

#include <cstdint>
#include <cstdlib>
#include <memory>
#include <new>
#include <span>
#include <vector>

#include "absl/status/status.h"
#include "gtest/gtest.h"
#include "lsmscan/lsm/schema.h"
#include "lsmscan/lsm/tree.h"
#include "lsmscan/lsm/tree_testing.h"
#include "lsmscan/scan/scan_algebra_testing.h"
#include "lsmscan/scan/scan_buffer.h"
#include "lsmscan/scan/scan_difference.h"
#include "lsmscan/scan/scan_intersection.h"
#include "lsmscan/scan/scan_lookup.h"
#include "lsmscan/scan/scan_source.h"
#include "lsmscan/scan/scan_tree.h"
#include "lsmscan/scan/scan_tree_source.h"
#include "lsmscan/scan/scan_union.h"
#include "lsmscan/storage/storage_testing.h"

namespace {

// Allocations counted while `counting` is set.
bool counting = false;
uint64_t allocations = 0;

void* Allocate(std::size_t size, std::size_t alignment) {
  if (counting) allocations++;
  void* memory = alignment <= alignof(std::max_align_t)
                     ? std::malloc(size == 0 ? 1 : size)
                     : std::aligned_alloc(alignment, (size + alignment - 1) /
                                                         alignment * alignment);
  if (memory == nullptr) throw std::bad_alloc();
  return memory;
}

}  // namespace

void* operator new(std::size_t size) { return Allocate(size, 0); }
void* operator new[](std::size_t size) { return Allocate(size, 0); }
void* operator new(std::size_t size, std::align_val_t alignment) {
  return Allocate(size, static_cast<std::size_t>(alignment));
}
void* operator new[](std::size_t size, std::align_val_t alignment) {
  return Allocate(size, static_cast<std::size_t>(alignment));
}
void* operator new(std::size_t size, const std::nothrow_t&) noexcept {
  return std::malloc(size == 0 ? 1 : size);
}
void operator delete(void* memory) noexcept { std::free(memory); }
void operator delete[](void* memory) noexcept { std::free(memory); }
void operator delete(void* memory, std::size_t) noexcept { std::free(memory); }
void operator delete[](void* memory, std::size_t) noexcept {
  std::free(memory);
}
void operator delete(void* memory, std::align_val_t) noexcept {
  std::free(memory);
}
void operator delete[](void* memory, std::align_val_t) noexcept {
  std::free(memory);
}
void operator delete(void* memory, std::size_t, std::align_val_t) noexcept {
  std::free(memory);
}

namespace lsmscan {
namespace {

using Schema32 = Record32Schema;
using Value = Schema32::Value;
using Tree32 = Tree<Schema32>;
using Scan32 = ScanTree<Schema32>;
using ::lsmscan::testing::Backend;
using ::lsmscan::testing::BackendName;
using ::lsmscan::testing::CompactBlocking;
using ::lsmscan::testing::PutWithBackPressure;
using ::lsmscan::testing::SmallTreeOptions;

struct ReadDone {
  bool done = false;
  bool ok = true;
};

void OnRead(void* context, Scan32*, absl::Status status) {
  auto* done = static_cast<ReadDone*>(context);
  done->done = true;
  done->ok = status.ok();
}

// Runs `scan` to its end, probing ahead every 97 values; returns the values
// seen, or -1 on a read error. Allocates nothing itself.
int64_t RunScan(Scan32* scan, Storage* storage, uint64_t* read_agains) {
  int64_t values = 0;
  while (true) {
    ReadDone done;
    scan->Read(&OnRead, &done);
    while (!done.done) storage->Tick(Storage::TickMode::kWaitForProgress);
    if (!done.ok) return -1;
    while (true) {
      const ScanNext<Value> next = scan->Next();
      if (next.kind == ScanNextKind::kEnd) return values;
      if (next.kind == ScanNextKind::kReadAgain) {
        (*read_agains)++;
        break;
      }
      values++;
      if (values % 97 == 0) {
        const uint64_t key = Schema32::key_of(*next.value);
        const uint64_t target = scan->direction() == Direction::kAscending
                                    ? key + 40
                                    : (key > 40 ? key - 40 : 0);
        const absl::Status probed = scan->Probe(target);
        if (!probed.ok()) return -1;
        if (scan->state() == ScanState::kNeedsData) break;
      }
    }
  }
}

class ScanAllocationTest : public ::testing::TestWithParam<Backend> {};

TEST_P(ScanAllocationTest, NoAllocationAfterInit) {
  StorageOptions storage_options;
  storage_options.block_size_bytes = 4096;
  storage_options.block_count_max = 1 << 14;
  testing::TestStorageFactory factory(GetParam(), storage_options);
  auto storage = factory.Open(OpenMode::kCreate);
  ASSERT_TRUE(storage.ok());
  TreeOptions options = SmallTreeOptions();
  options.cache_block_count = 8;  // Evictions on copying storages.
  auto tree = Tree32::Create((*storage)->get(), options);
  ASSERT_TRUE(tree.ok());
  for (uint64_t i = 0; i < 6000; i++) {
    const uint64_t key = (i * 7919) % 5000;
    ASSERT_TRUE(PutWithBackPressure(tree->get(), Schema32::Make(key, i)).ok());
  }
  ASSERT_TRUE(CompactBlocking(tree->get()).ok());
  for (uint64_t i = 0; i < 300; i++) {  // Some data in the memory tables.
    ASSERT_TRUE((*tree)->Put(Schema32::Make(i * 3, i)).ok());
  }
  auto buffer = ScanBuffer::ForTree(**tree, {.read_ahead_blocks = 2});
  ASSERT_TRUE(buffer.ok());
  Scan32 scan;
  for (Direction direction : {Direction::kAscending, Direction::kDescending}) {
    ASSERT_TRUE(scan.Init(tree->get(), buffer->get(), kSnapshotLatest, 0, 4999,
                          direction)
                    .ok());
    uint64_t read_agains = 0;
    allocations = 0;
    counting = true;
    const int64_t values = RunScan(&scan, (*storage)->get(), &read_agains);
    counting = false;
    EXPECT_GT(values, 100) << BackendName(GetParam());
    EXPECT_EQ(allocations, 0u)
        << "a scan allocated after Init(), " << DirectionName(direction);
    if (GetParam() == Backend::kFaultDelays) {
      EXPECT_GT(read_agains, 10u);
    }
  }
}

// A scan that outlives a compaction ends holding the last reference to the
// replaced tables: freeing them at its end allocates nothing either.
TEST_P(ScanAllocationTest, NoAllocationWhenTheEndFreesReplacedTables) {
  StorageOptions storage_options;
  storage_options.block_size_bytes = 4096;
  storage_options.block_count_max = 1 << 14;
  testing::TestStorageFactory factory(GetParam(), storage_options);
  auto storage = factory.Open(OpenMode::kCreate);
  ASSERT_TRUE(storage.ok());
  auto tree = Tree32::Create((*storage)->get(), SmallTreeOptions());
  ASSERT_TRUE(tree.ok());
  for (uint64_t i = 0; i < 3000; i++) {
    ASSERT_TRUE(PutWithBackPressure(tree->get(), Schema32::Make(i, i)).ok());
  }
  ASSERT_TRUE(CompactBlocking(tree->get()).ok());
  auto buffer = ScanBuffer::ForTree(**tree);
  ASSERT_TRUE(buffer.ok());
  Scan32 scan;
  ASSERT_TRUE(scan.Init(tree->get(), buffer->get(), kSnapshotLatest, 0, 2999,
                        Direction::kAscending)
                  .ok());
  ASSERT_TRUE(testing::CompactAllBlocking(tree->get()).ok());
  ASSERT_GT((*tree)->manifest().retired_table_count(), 0u);
  uint64_t read_agains = 0;
  allocations = 0;
  counting = true;
  const int64_t values = RunScan(&scan, (*storage)->get(), &read_agains);
  counting = false;
  EXPECT_GT(values, 100);
  EXPECT_EQ((*tree)->manifest().retired_table_count(), 0u);  // Freed at End.
  EXPECT_EQ(allocations, 0u);
}

// Runs `lookup` to its end, probing ahead every 61 values; returns the
// values seen, or -1 on a read error. Allocates nothing itself.
int64_t RunLookup(ScanLookup<Schema32>* lookup,
                  std::span<Storage* const> storages, uint64_t* read_agains) {
  int64_t values = 0;
  while (true) {
    ReadDone done;
    lookup->Read(
        [](void* context, ScanLookup<Schema32>*, absl::Status status) {
          auto* d = static_cast<ReadDone*>(context);
          d->done = true;
          d->ok = status.ok();
        },
        &done);
    while (!done.done) testing::TickAll(storages);
    if (!done.ok) return -1;
    while (true) {
      const ScanNext<Value> next = lookup->Next();
      if (next.kind == ScanNextKind::kEnd) return values;
      if (next.kind == ScanNextKind::kReadAgain) {
        (*read_agains)++;
        break;
      }
      values++;
      if (values % 61 == 0) {
        const uint64_t key = Schema32::key_of(*next.value);
        const uint64_t target = lookup->direction() == Direction::kAscending
                                    ? key + 30
                                    : (key > 30 ? key - 30 : 0);
        if (!lookup->Probe(target).ok()) return -1;
        if (lookup->state() == ScanState::kNeedsData) break;
      }
    }
  }
}

// Runs (twos AND threes over [0, 2999]) OR (twos AND threes over [3000,
// 5999)) OR (fives MINUS twos), each id then looked up in the twos tree;
// returns the allocations counted while it ran (every Init() done before).
uint64_t CountNestedExpressionAllocations(testing::AlgebraWorld* world,
                                          Tree32* const trees[3],
                                          Direction direction) {
  using Source = ScanSource<uint64_t>;
  auto scan = [&](int tree, uint64_t key_min, uint64_t key_max) {
    return world->Scan(trees[tree], key_min, key_max, direction);
  };
  auto* low = world->Combine<ScanIntersection<uint64_t>>(
      {scan(0, 0, 2999), scan(1, 0, 2999)});
  auto* high = world->Combine<ScanIntersection<uint64_t>>(
      {scan(0, 3000, 5999), scan(1, 3000, 5999)});
  auto* odd_fives = world->Combine<ScanDifference<uint64_t>>(
      {scan(2, 0, 5999), scan(0, 0, 5999)});
  auto* root = world->Combine<ScanUnion<uint64_t>>(
      {world->Combine<ScanUnion<uint64_t>>({low, high}), odd_fives});
  uint64_t counted = 0;
  {
    ScanLookup<Schema32> lookup;
    EXPECT_TRUE(lookup
                    .Init(root, trees[0], kSnapshotLatest,
                          {.lookups_in_flight_max = 8, .skip_missing = true})
                    .ok());
    uint64_t read_agains = 0;
    allocations = 0;
    counting = true;
    const int64_t values = RunLookup(&lookup, world->storages(), &read_agains);
    counting = false;
    counted = allocations;
    EXPECT_GT(values, 100);
    EXPECT_GT(static_cast<Source*>(root)->stats().levels.data_blocks, 10u);
    EXPECT_GT(odd_fives->probe_count(), 0u);
    if (!trees[0]->storage()->zero_copy()) {
      EXPECT_GT(read_agains, 10u);
    }
  }
  world->DestroyScans();
  return counted;
}

// A nested expression over three trees, ending in a lookup, allocates
// nothing once built.
TEST_P(ScanAllocationTest, NoAllocationInANestedExpressionAfterInit) {
  testing::AlgebraWorld world;
  Tree32* trees[3];
  const uint64_t steps[3] = {2, 3, 5};
  for (int i = 0; i < 3; i++) {
    std::vector<uint64_t> keys;  // Multiples of the step on disk...
    for (uint64_t key = 0; key < 6000; key += steps[i]) keys.push_back(key);
    const size_t on_disk = keys.size();
    for (uint64_t key = 1; key < 600; key += 2 * steps[i]) {
      keys.push_back(key);  // ...and odd keys in the memory tables.
    }
    // A cache of 8 blocks: evictions on copying storages.
    trees[i] = world.AddTree(keys, keys.size() - on_disk, GetParam(),
                             /*cache_block_count=*/8);
  }
  for (Direction direction : {Direction::kAscending, Direction::kDescending}) {
    EXPECT_EQ(CountNestedExpressionAllocations(&world, trees, direction), 0u)
        << "the algebra allocated after Init(), " << DirectionName(direction);
  }
}

INSTANTIATE_TEST_SUITE_P(Backends, ScanAllocationTest,
                         ::testing::Values(Backend::kMemory,
                                           Backend::kFaultDelays),
                         [](const ::testing::TestParamInfo<Backend>& info) {
                           return testing::BackendName(info.param);
                         });

// The counter works: an allocation inside the window is seen.
TEST(ScanAllocationCounterTest, CountsAllocations) {
  allocations = 0;
  counting = true;
  auto* value = new uint64_t(5);
  counting = false;
  delete value;
  EXPECT_EQ(allocations, 1u);
}

}  // namespace
}  // namespace lsmscan
