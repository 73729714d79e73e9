// Proof that a scan allocates nothing after Init(): every heap allocation
// of the process is counted (allocation_counter.h: every form of operator
// new, malloc, calloc, realloc, aligned_alloc, posix_memalign, ...; a
// self-test below checks each path is seen) while scans run whole, with
// ReadAgain cycles and probes, on every storage backend (memory, pread and
// io_uring with and without O_DIRECT, mmap, and a fault wrapper delaying and
// reordering completions). The same for a nested expression of the scan
// algebra over three trees, ending in a ScanLookup.

#include <malloc.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>
#include <span>
#include <vector>

#include "absl/status/status.h"
#include "gtest/gtest.h"
#include "lsmscan/lsm/schema.h"
#include "lsmscan/lsm/tree.h"
#include "lsmscan/lsm/tree_testing.h"
#include "lsmscan/scan/allocation_counter.h"
#include "lsmscan/scan/scan_algebra_testing.h"
#include "lsmscan/scan/scan_buffer.h"
#include "lsmscan/scan/scan_difference.h"
#include "lsmscan/scan/scan_intersection.h"
#include "lsmscan/scan/scan_lookup.h"
#include "lsmscan/scan/scan_source.h"
#include "lsmscan/scan/scan_tree.h"
#include "lsmscan/scan/scan_tree_source.h"
#include "lsmscan/scan/scan_union.h"
#include "lsmscan/storage/aligned_buffer.h"
#include "lsmscan/storage/storage_testing.h"

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
using ::lsmscan::testing::StartCountingAllocations;
using ::lsmscan::testing::StopCountingAllocations;

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
  // The scan path is what is counted: background compaction steps (which
  // allocate plans and manifest entries) would otherwise run in its ticks
  // and flush the sealed table the scan is to merge.
  options.background_compaction = false;
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
    StartCountingAllocations();
    const int64_t values = RunScan(&scan, (*storage)->get(), &read_agains);
    const uint64_t allocations = StopCountingAllocations();
    EXPECT_GT(values, 100) << BackendName(GetParam());
    EXPECT_EQ(allocations, 0u)
        << "a scan allocated after Init(), " << DirectionName(direction);
    if (!(*storage)->get()->zero_copy()) {
      EXPECT_GT(read_agains, 10u);  // Blocks were read, evicted, read again.
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
  TreeOptions options = SmallTreeOptions();
  options.background_compaction = false;  // As above: count the scan only.
  auto tree = Tree32::Create((*storage)->get(), options);
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
  StartCountingAllocations();
  const int64_t values = RunScan(&scan, (*storage)->get(), &read_agains);
  const uint64_t allocations = StopCountingAllocations();
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
    StartCountingAllocations();
    const int64_t values = RunLookup(&lookup, world->storages(), &read_agains);
    counted = StopCountingAllocations();
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
  world.background_compaction = false;  // Count the scans only (see above).
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
                         ::testing::ValuesIn(testing::AllBackends()),
                         [](const ::testing::TestParamInfo<Backend>& info) {
                           return testing::BackendName(info.param);
                         });

// Where a test's allocation goes, so the compiler cannot drop it.
void* volatile sink = nullptr;

struct alignas(256) OverAligned {
  uint8_t bytes[256];
};

// One allocation by each path the counter must see.
struct AllocationPath {
  const char* name;
  void (*run)();
};

// Keeps `memory` (so the allocation cannot be optimised away) and returns
// it.
template <typename T>
T* Keep(T* memory) {
  sink = memory;
  return memory;
}

constexpr AllocationPath kAllocationPaths[] = {
    {"new", [] { delete Keep(new uint64_t(1)); }},
    {"new[]", [] { delete[] Keep(new uint64_t[9]); }},
    {"new (nothrow)", [] { delete Keep(new (std::nothrow) uint64_t(1)); }},
    {"new[] (nothrow)", [] { delete[] Keep(new (std::nothrow) uint64_t[9]); }},
    {"aligned new", [] { delete Keep(new OverAligned()); }},
    {"aligned new[]", [] { delete[] Keep(new OverAligned[3]); }},
    {"aligned new (nothrow)",
     [] { delete Keep(new (std::nothrow) OverAligned()); }},
    {"malloc", [] { std::free(Keep(std::malloc(100))); }},
    {"calloc", [] { std::free(Keep(std::calloc(10, 10))); }},
    {"realloc", [] { std::free(Keep(std::realloc(nullptr, 100))); }},
    {"reallocarray", [] { std::free(Keep(reallocarray(nullptr, 10, 10))); }},
    {"aligned_alloc", [] { std::free(Keep(std::aligned_alloc(4096, 4096))); }},
    {"posix_memalign",
     [] {
       void* memory = nullptr;
       if (posix_memalign(&memory, 4096, 4096) == 0) std::free(Keep(memory));
     }},
    {"memalign", [] { std::free(Keep(memalign(64, 100))); }},
    {"valloc", [] { std::free(Keep(valloc(100))); }},
    {"strdup (inside the C library)",
     [] { std::free(Keep(strdup("allocated by libc"))); }},
    {"AlignedBuffer (the library's frames)",
     [] {
       AlignedBuffer buffer(8192);
       Keep(buffer.data());
     }},
    {"std::vector",
     [] {
       std::vector<uint64_t> values;
       values.reserve(100);
       Keep(values.data());
     }},
};

// The counter sees every path: a scan that allocated through any of them
// would fail the tests above.
TEST(ScanAllocationCounterTest, CountsEveryAllocationPath) {
  std::printf("allocations counted by: %s\n",
              testing::AllocationCounterMechanism());
  for (const AllocationPath& path : kAllocationPaths) {
    StartCountingAllocations();
    path.run();
    EXPECT_EQ(StopCountingAllocations(), 1u) << path.name;
  }
}

}  // namespace
}  // namespace lsmscan
