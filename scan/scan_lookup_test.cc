// ScanLookup: ids from a scan turned into objects of another tree, in scan
// order, with many point reads in flight; missing objects; probes; aborts
// with lookups in flight; errors; snapshots while writes continue; Init
// errors and illegal calls.

#include "lsmscan/scan/scan_lookup.h"

#include <cstdint>
#include <cstring>
#include <map>
#include <memory>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "lsmscan/lsm/schema.h"
#include "lsmscan/lsm/tree.h"
#include "lsmscan/lsm/tree_testing.h"
#include "lsmscan/scan/scan_algebra_testing.h"
#include "lsmscan/scan/scan_intersection.h"
#include "lsmscan/scan/scan_source.h"
#include "lsmscan/scan/scan_tree_source.h"
#include "lsmscan/storage/fault_storage.h"
#include "lsmscan/storage/memory_storage.h"
#include "lsmscan/storage/storage_testing.h"

namespace lsmscan {
namespace {

using Schema32 = Record32Schema;
using Value = Schema32::Value;
using Tree32 = Tree<Schema32>;
using Source = ScanSource<uint64_t>;
using Lookup = ScanLookup<Schema32>;
using ::lsmscan::testing::Backend;
using ::lsmscan::testing::BackendName;
using ::lsmscan::testing::CompactBlocking;
using ::lsmscan::testing::DrainLookup;
using ::lsmscan::testing::LookupRun;
using ::lsmscan::testing::PutWithBackPressure;

std::vector<uint64_t> Multiples(uint64_t step, uint64_t end) {
  std::vector<uint64_t> keys;
  for (uint64_t key = 0; key < end; key += step) keys.push_back(key);
  return keys;
}

class ScanLookupTest : public ::testing::TestWithParam<Backend>,
                       public testing::AlgebraWorld {
 protected:
  // Objects 0..2999 with payload seed 1000 + key, every 7th removed (a
  // tombstone over an older version), some still in memory.
  Tree32* AddObjects(Backend backend, uint32_t cache_block_count) {
    Tree32* objects = AddEmptyTree(backend, cache_block_count);
    for (uint64_t key = 0; key < 3000; key++) {
      EXPECT_TRUE(
          PutWithBackPressure(objects, Schema32::Make(key, 1000 + key)).ok());
    }
    EXPECT_TRUE(CompactBlocking(objects).ok());
    for (uint64_t key = 0; key < 3000; key += 7) {
      EXPECT_TRUE(PutWithBackPressure(objects, Schema32::tombstone(key)).ok());
    }
    return objects;
  }

  // The objects the lookup of `ids` must return, in order.
  static std::vector<uint64_t> Present(const std::vector<uint64_t>& ids) {
    std::vector<uint64_t> present;
    for (uint64_t id : ids) {
      if (id % 7 != 0 && id < 3000) present.push_back(id);
    }
    return present;
  }

  static void ExpectObjects(const std::vector<Value>& values,
                            const std::vector<uint64_t>& keys) {
    ASSERT_EQ(values.size(), keys.size());
    for (size_t i = 0; i < keys.size(); i++) {
      const Value expected = Schema32::Make(keys[i], 1000 + keys[i]);
      ASSERT_EQ(std::memcmp(&values[i], &expected, sizeof(Value)), 0)
          << "object " << i << ", key " << keys[i];
    }
  }
};

TEST_P(ScanLookupTest, ObjectsComeInScanOrder) {
  Tree32* objects = AddObjects(GetParam(), 0);
  Tree32* ids = AddTree(Multiples(3, 3300), 30);
  for (Direction direction : {Direction::kAscending, Direction::kDescending}) {
    SCOPED_TRACE(DirectionName(direction));
    Lookup lookup;
    ASSERT_TRUE(lookup
                    .Init(Scan(ids, 0, 3299, direction), objects,
                          kSnapshotLatest,
                          {.lookups_in_flight_max = 8, .skip_missing = true})
                    .ok());
    const LookupRun<Schema32> run = DrainLookup(&lookup, storages());
    ASSERT_TRUE(run.status.ok()) << run.status;
    std::vector<uint64_t> expected = Present(Multiples(3, 3300));
    if (direction == Direction::kDescending) {
      std::reverse(expected.begin(), expected.end());
    }
    ExpectObjects(run.values, expected);
    EXPECT_EQ(lookup.stats().missing, 1100u - expected.size());
    EXPECT_EQ(lookup.stats().values, expected.size());
    EXPECT_LE(run.in_flight_max, 8u);
    if (!objects->storage()->zero_copy()) {
      EXPECT_GT(run.in_flight_max, 1u);  // Point reads overlapped.
    }
    EXPECT_EQ(lookup.Next().kind, ScanNextKind::kEnd);
  }
}

INSTANTIATE_TEST_SUITE_P(Backends, ScanLookupTest,
                         ::testing::ValuesIn(testing::CoreBackends()),
                         [](const ::testing::TestParamInfo<Backend>& info) {
                           return BackendName(info.param);
                         });

class ScanLookupUnitTest : public ::testing::Test,
                           public testing::AlgebraWorld {};

// By default an id without an object is an inconsistency: NotFound.
TEST_F(ScanLookupUnitTest, AMissingObjectIsNotFound) {
  Tree32* objects = AddTree(Multiples(2, 100));
  Tree32* ids = AddTree({2, 4, 5, 6});
  Lookup lookup;
  ASSERT_TRUE(lookup.Init(Scan(ids, 0, 10), objects, kSnapshotLatest).ok());
  const LookupRun<Schema32> run = DrainLookup(&lookup, storages());
  EXPECT_TRUE(absl::IsNotFound(run.status)) << run.status;
  EXPECT_EQ(run.values.size(), 2u);  // 2 and 4, then the error at 5.
  EXPECT_EQ(lookup.state(), ScanState::kAborted);
  EXPECT_EQ(lookup.Next().kind, ScanNextKind::kEnd);
}

// An intersection of two index scans, then the objects: the query.
TEST_F(ScanLookupUnitTest, LooksUpTheIdsOfAnIntersection) {
  Tree32* objects = AddTree(Multiples(1, 3000));
  Tree32* twos = AddTree(Multiples(2, 3000));
  Tree32* threes = AddTree(Multiples(3, 3000), 100);
  auto* both = Combine<ScanIntersection<uint64_t>>(
      {Scan(twos, 0, 2999, Direction::kDescending),
       Scan(threes, 0, 2999, Direction::kDescending)});
  Lookup lookup;
  ASSERT_TRUE(lookup.Init(both, objects, kSnapshotLatest).ok());
  EXPECT_TRUE(both->claimed());
  const LookupRun<Schema32> run = DrainLookup(&lookup, storages());
  ASSERT_TRUE(run.status.ok()) << run.status;
  ASSERT_EQ(run.values.size(), 500u);
  for (size_t i = 0; i < run.values.size(); i++) {
    EXPECT_EQ(Schema32::key_of(run.values[i]), 2994 - 6 * i);
  }
}

TEST_F(ScanLookupUnitTest, ProbeSkipsBufferedAndFutureIds) {
  Tree32* objects = AddTree(Multiples(1, 3000), 0, Backend::kFaultDelays, 0);
  Tree32* ids = AddTree(Multiples(2, 3000));
  for (Direction direction : {Direction::kAscending, Direction::kDescending}) {
    SCOPED_TRACE(DirectionName(direction));
    const bool up = direction == Direction::kAscending;
    Lookup lookup;
    ASSERT_TRUE(lookup
                    .Init(Scan(ids, 0, 2999, direction), objects,
                          kSnapshotLatest, {.lookups_in_flight_max = 16})
                    .ok());
    EXPECT_TRUE(lookup.Probe(up ? 101 : 2897).ok());  // In kIdle.
    ASSERT_TRUE(testing::ReadBlocking(&lookup, storages()).ok());
    ScanNext<Value> next = lookup.Next();
    ASSERT_EQ(next.kind, ScanNextKind::kValue);
    EXPECT_EQ(Schema32::key_of(*next.value), up ? 102u : 2896u);
    // 16 lookups are buffered or in flight; skip past them.
    ASSERT_TRUE(lookup.Probe(up ? 1001 : 1999).ok());
    EXPECT_GT(lookup.stats().cancelled + lookup.stats().values, 0u);
    EXPECT_TRUE(lookup.Probe(up ? 500 : 2500).ok());  // Behind: a no-op.
    const LookupRun<Schema32> run = DrainLookup(&lookup, storages());
    ASSERT_TRUE(run.status.ok());
    ASSERT_FALSE(run.values.empty());
    EXPECT_EQ(Schema32::key_of(run.values.front()), up ? 1002u : 1998u);
    EXPECT_EQ(run.values.size(), up ? 999u : 1000u);
  }
}

TEST_F(ScanLookupUnitTest, AbortWithLookupsInFlightThenDestroy) {
  Tree32* objects = AddTree(Multiples(1, 3000), 0, Backend::kFaultDelays, 0);
  Tree32* ids = AddTree(Multiples(2, 3000));
  for (int state = 0; state < 4; state++) {
    SCOPED_TRACE(state);
    auto lookup = std::make_unique<Lookup>();
    Source* source = Scan(ids, 0, 2999);
    ASSERT_TRUE(lookup
                    ->Init(source, objects, kSnapshotLatest,
                           {.lookups_in_flight_max = 32})
                    .ok());
    bool called = false;
    auto callback = [](void* context, Lookup*, absl::Status) {
      *static_cast<bool*>(context) = true;
    };
    if (state >= 1) {  // kBuffering, once the first lookups are in flight.
      lookup->Read(callback, &called);
      while (lookup->in_flight_count() == 0 && !called) {
        testing::TickAll(storages());
      }
    }
    if (state >= 2) {
      while (!called) testing::TickAll(storages());
      ASSERT_EQ(lookup->state(), ScanState::kSeeking);
    }
    if (state == 3) {
      while (lookup->Next().kind == ScanNextKind::kValue) {
      }
      ASSERT_EQ(lookup->state(), ScanState::kNeedsData);
    }
    const uint32_t in_flight = lookup->in_flight_count();
    lookup->Abort();
    EXPECT_EQ(lookup->state(), ScanState::kAborted);
    EXPECT_EQ(lookup->Next().kind, ScanNextKind::kEnd);
    EXPECT_EQ(source->state(), ScanState::kAborted);
    const bool called_before = called;
    lookup.reset();  // Waits for the lookups in flight.
    EXPECT_EQ(called, called_before) << "an aborted read called back";
    EXPECT_FALSE(source->claimed());
    if (state == 1) {
      EXPECT_GT(in_flight, 0u);
      EXPECT_FALSE(called);
    }
  }
}

// A failed point read ends the lookup with the storage's error.
TEST_F(ScanLookupUnitTest, AFailedLookupEndsTheScanWithItsError) {
  auto inner = MemoryStorage::Create(TestStorageOptions());
  ASSERT_TRUE(inner.ok());
  FaultStorage faulty(inner->get(), FaultOptions(), /*seed=*/3);
  TreeOptions options = testing::SmallTreeOptions();
  options.cache_block_count = 0;
  auto objects = Tree32::Create(&faulty, options);
  ASSERT_TRUE(objects.ok());
  for (uint64_t key = 0; key < 2000; key++) {
    ASSERT_TRUE(
        PutWithBackPressure(objects->get(), Schema32::Make(key, 1)).ok());
  }
  ASSERT_TRUE(CompactBlocking(objects->get()).ok());
  AddStorage(&faulty);
  Tree32* ids = AddTree(Multiples(5, 2000));
  {
    Lookup lookup;
    ASSERT_TRUE(
        lookup.Init(Scan(ids, 0, 1999), objects->get(), kSnapshotLatest).ok());
    FaultOptions faults;
    faults.read_error_probability = 0.2;
    faulty.set_options(faults);
    const LookupRun<Schema32> run = DrainLookup(&lookup, storages());
    faulty.set_options(FaultOptions());
    EXPECT_TRUE(absl::IsInternal(run.status)) << run.status;
    for (size_t i = 0; i < run.values.size(); i++) {
      EXPECT_EQ(Schema32::key_of(run.values[i]), 5 * i);  // Never wrong.
    }
    EXPECT_EQ(lookup.state(), ScanState::kAborted);
  }
  DestroyScans();
  faulty.RunUntilIdle();
}

// Ids and objects read at snapshots taken together see the objects as they
// were, however the trees change meanwhile.
TEST_F(ScanLookupUnitTest, SnapshotsHoldWhileWritesContinue) {
  Tree32* objects = AddTree(Multiples(1, 2000));
  Tree32* ids = AddTree(Multiples(4, 2000));
  auto object_snapshot = objects->AcquireSnapshot();
  auto id_snapshot = ids->AcquireSnapshot();
  ASSERT_TRUE(object_snapshot.ok() && id_snapshot.ok());
  std::vector<uint64_t> keys;
  uint64_t round = 0;
  {
    Lookup lookup;
    ASSERT_TRUE(lookup
                    .Init(Scan(ids, 0, 1999, Direction::kAscending,
                               id_snapshot->snapshot()),
                          objects, object_snapshot->snapshot(),
                          {.lookups_in_flight_max = 4})
                    .ok());
    bool read = true;
    while (true) {
      if (read) {
        ASSERT_TRUE(testing::ReadBlocking(&lookup, storages()).ok());
      }
      const ScanNext<Value> next = lookup.Next();
      if (next.kind == ScanNextKind::kEnd) break;
      read = next.kind == ScanNextKind::kReadAgain;
      if (read) {
        // Overwrites, removes and compactions between reads.
        for (uint64_t i = 0; i < 50; i++, round++) {
          const uint64_t key = (round * 37) % 2000;
          ASSERT_TRUE(PutWithBackPressure(ids, Schema32::Make(key, 9)).ok());
          ASSERT_TRUE(
              PutWithBackPressure(objects, Schema32::tombstone(key)).ok());
        }
        ASSERT_TRUE(CompactBlocking(objects).ok());
        continue;
      }
      const uint64_t key = Schema32::key_of(*next.value);
      EXPECT_EQ(next.value->payload, Schema32::Make(key, key).payload);
      keys.push_back(key);
    }
  }
  EXPECT_EQ(keys, Multiples(4, 2000));
  EXPECT_GT(round, 0u);
  DestroyScans();
  ASSERT_TRUE(objects->ReleaseSnapshot(*object_snapshot).ok());
  ASSERT_TRUE(ids->ReleaseSnapshot(*id_snapshot).ok());
}

TEST_F(ScanLookupUnitTest, InitRejectsBadArguments) {
  Tree32* objects = AddTree(Multiples(1, 100));
  Source* ids = Scan(objects, 0, 50);
  Lookup lookup;
  EXPECT_TRUE(
      absl::IsInvalidArgument(lookup.Init(nullptr, objects, kSnapshotLatest)));
  EXPECT_TRUE(
      absl::IsInvalidArgument(lookup.Init(ids, nullptr, kSnapshotLatest)));
  EXPECT_TRUE(absl::IsInvalidArgument(lookup.Init(
      ids, objects, kSnapshotLatest, {.lookups_in_flight_max = 0})));
  EXPECT_TRUE(absl::IsInvalidArgument(
      lookup.Init(ids, objects, kSnapshotLatest,
                  {.lookups_in_flight_max = kScanLookupInFlightMax + 1})));
  EXPECT_TRUE(absl::IsFailedPrecondition(
      lookup.Init(ids, objects, /*snapshot=*/12345)));
  ASSERT_TRUE(lookup.Init(ids, objects, kSnapshotLatest).ok());
  Lookup other;
  EXPECT_TRUE(absl::IsFailedPrecondition(
      other.Init(ids, objects, kSnapshotLatest)));  // Claimed.
  Source* read = Scan(objects, 0, 50);
  ASSERT_TRUE(Read(read).ok());
  EXPECT_TRUE(absl::IsFailedPrecondition(
      other.Init(read, objects, kSnapshotLatest)));  // Not idle.
}

using ScanLookupDeathTest = ScanLookupUnitTest;

TEST_F(ScanLookupDeathTest, IllegalCallsAbort) {
  Tree32* objects = AddTree(Multiples(1, 100));
  Lookup lookup;
  ASSERT_TRUE(lookup.Init(Scan(objects, 0, 50), objects, kSnapshotLatest).ok());
  auto ignore = [](void*, Lookup*, absl::Status) {};
  EXPECT_DEATH(lookup.Next(), "Next\\(\\) before Read\\(\\) completed");
  lookup.Read(ignore, nullptr);
  EXPECT_DEATH(lookup.Read(ignore, nullptr), "Read\\(\\) is allowed only");
  EXPECT_DEATH((void)lookup.Probe(5),
               "Probe\\(\\) while a Read\\(\\) is in flight");
  while (testing::TickAll(storages())) {
  }
  EXPECT_EQ(lookup.state(), ScanState::kSeeking);
}

}  // namespace
}  // namespace lsmscan
