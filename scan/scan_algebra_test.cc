// The scan algebra's unit tests: union, intersection and difference on
// small trees with known contents, nested, in both directions; the state
// machine and its illegal calls; Init errors; probes; aborts with reads in
// flight; errors from a source; projections; and the blocks a selective
// intersection skips. The randomized comparison with std::set algebra is
// scan_algebra_model_test.cc.

#include <algorithm>
#include <cstdint>
#include <iterator>
#include <memory>
#include <set>
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
#include "lsmscan/scan/scan_source.h"
#include "lsmscan/scan/scan_tree_source.h"
#include "lsmscan/scan/scan_union.h"
#include "lsmscan/storage/fault_storage.h"
#include "lsmscan/storage/memory_storage.h"
#include "lsmscan/storage/storage_testing.h"

namespace lsmscan {
namespace {

using Schema32 = Record32Schema;
using Tree32 = Tree<Schema32>;
using Source = ScanSource<uint64_t>;
using TreeSource = ScanTreeSource<Schema32>;
using IndexSource = ScanTreeSource<Schema32, testing::IndexProjection>;
using Keys = std::vector<uint64_t>;
using ::lsmscan::testing::Backend;
using ::lsmscan::testing::CompactBlocking;
using ::lsmscan::testing::IndexKey;
using ::lsmscan::testing::PutWithBackPressure;
using ::lsmscan::testing::SmallTreeOptions;
using ::lsmscan::testing::SourceRun;

class AlgebraTest : public ::testing::Test, public testing::AlgebraWorld {};

Keys Multiples(uint64_t step, uint64_t end) {
  Keys keys;
  for (uint64_t key = 0; key < end; key += step) keys.push_back(key);
  return keys;
}

// `keys` in [key_min, key_max], in `direction`.
Keys Expected(const std::set<uint64_t>& keys, uint64_t key_min,
              uint64_t key_max, Direction direction) {
  Keys result(keys.lower_bound(key_min), keys.upper_bound(key_max));
  if (direction == Direction::kDescending) {
    std::reverse(result.begin(), result.end());
  }
  return result;
}

std::set<uint64_t> SetOf(const Keys& keys) {
  return {keys.begin(), keys.end()};
}

std::set<uint64_t> Union(const std::set<uint64_t>& a,
                         const std::set<uint64_t>& b) {
  std::set<uint64_t> result;
  std::set_union(a.begin(), a.end(), b.begin(), b.end(),
                 std::inserter(result, result.end()));
  return result;
}

std::set<uint64_t> Intersection(const std::set<uint64_t>& a,
                                const std::set<uint64_t>& b) {
  std::set<uint64_t> result;
  std::set_intersection(a.begin(), a.end(), b.begin(), b.end(),
                        std::inserter(result, result.end()));
  return result;
}

std::set<uint64_t> Difference(const std::set<uint64_t>& a,
                              const std::set<uint64_t>& b) {
  std::set<uint64_t> result;
  std::set_difference(a.begin(), a.end(), b.begin(), b.end(),
                      std::inserter(result, result.end()));
  return result;
}

TEST_F(AlgebraTest, UnionIntersectionAndDifferenceOfThreeTrees) {
  const Keys twos = Multiples(2, 3000);
  const Keys threes = Multiples(3, 3000);
  const Keys fives = Multiples(5, 3000);
  Tree32* t2 = AddTree(twos, 150);  // Some keys in the memory tables too.
  Tree32* t3 = AddTree(threes);
  Tree32* t5 = AddTree(fives, 40);
  const std::set<uint64_t> s2 = SetOf(twos), s3 = SetOf(threes),
                           s5 = SetOf(fives);
  for (Direction direction : {Direction::kAscending, Direction::kDescending}) {
    SCOPED_TRACE(DirectionName(direction));
    const uint64_t lo = 100, hi = 2500;
    auto* u = Combine<ScanUnion<uint64_t>>({Scan(t2, lo, hi, direction),
                                            Scan(t3, lo, hi, direction),
                                            Scan(t5, lo, hi, direction)});
    SourceRun run = RunToEnd(u);
    ASSERT_TRUE(run.status.ok()) << run.status;
    EXPECT_EQ(run.keys, Expected(Union(Union(s2, s3), s5), lo, hi, direction));

    auto* i = Combine<ScanIntersection<uint64_t>>(
        {Scan(t2, lo, hi, direction), Scan(t3, lo, hi, direction),
         Scan(t5, 0, 3000, direction)});
    run = RunToEnd(i);
    ASSERT_TRUE(run.status.ok()) << run.status;
    EXPECT_EQ(run.keys, Expected(Intersection(Intersection(s2, s3), s5), lo, hi,
                                 direction));

    auto* d = Combine<ScanDifference<uint64_t>>({Scan(t2, lo, hi, direction),
                                                 Scan(t3, lo, hi, direction),
                                                 Scan(t5, lo, hi, direction)});
    run = RunToEnd(d);
    ASSERT_TRUE(run.status.ok()) << run.status;
    EXPECT_EQ(run.keys,
              Expected(Difference(Difference(s2, s3), s5), lo, hi, direction));
    EXPECT_GT(d->probe_count(), 0u);
  }
}

// (twos AND threes) OR (fives MINUS twos), and a union of one source.
TEST_F(AlgebraTest, NestedExpressions) {
  const Keys twos = Multiples(2, 2000);
  const Keys threes = Multiples(3, 2000);
  const Keys fives = Multiples(5, 2000);
  Tree32* t2 = AddTree(twos);
  Tree32* t3 = AddTree(threes, 100);
  Tree32* t5 = AddTree(fives);
  const std::set<uint64_t> expected =
      Union(Intersection(SetOf(twos), SetOf(threes)),
            Difference(SetOf(fives), SetOf(twos)));
  for (Direction direction : {Direction::kAscending, Direction::kDescending}) {
    SCOPED_TRACE(DirectionName(direction));
    auto* both = Combine<ScanIntersection<uint64_t>>(
        {Scan(t2, 0, 1999, direction), Scan(t3, 0, 1999, direction)});
    auto* odd_fives = Combine<ScanDifference<uint64_t>>(
        {Scan(t5, 0, 1999, direction), Scan(t2, 0, 1999, direction)});
    auto* root = Combine<ScanUnion<uint64_t>>({both, odd_fives});
    auto* alone = Combine<ScanUnion<uint64_t>>({root});
    const SourceRun run = RunToEnd(alone);
    ASSERT_TRUE(run.status.ok()) << run.status;
    EXPECT_EQ(run.keys, Expected(expected, 0, 1999, direction));
    // The blocks of every scan below are counted at the root.
    EXPECT_GT(alone->stats().levels.data_blocks, 10u);
    EXPECT_EQ(alone->stats().values, run.keys.size());
  }
}

// Two index scans, at two field values, intersect on ids.
TEST_F(AlgebraTest, IndexScansIntersectOnProjectedIds) {
  Keys entries;  // Field 1: ids divisible by 2; field 2: by 3; field 3: all.
  for (uint64_t id = 0; id < 1500; id++) {
    if (id % 2 == 0) entries.push_back(IndexKey(1, id));
    if (id % 3 == 0) entries.push_back(IndexKey(2, id));
    entries.push_back(IndexKey(3, id));
  }
  std::sort(entries.begin(), entries.end());
  Tree32* index = AddTree(entries, 60);
  for (Direction direction : {Direction::kAscending, Direction::kDescending}) {
    auto* both = Combine<ScanIntersection<uint64_t>>(
        {IndexScan(index, 1, 0, 1499, direction),
         IndexScan(index, 2, 100, 1200, direction)});
    const SourceRun run = RunToEnd(both);
    ASSERT_TRUE(run.status.ok()) << run.status;
    EXPECT_EQ(run.keys,
              Expected(SetOf(Multiples(6, 1500)), 100, 1200, direction));
  }
}

// A range spanning two field values does not map to ordered ids: the scan
// ends with FailedPrecondition instead of yielding ids out of order.
TEST_F(AlgebraTest, AProjectionGoingBackwardsIsAnError) {
  Keys entries;
  for (uint64_t id = 0; id < 600; id++) {
    entries.push_back(IndexKey(1, id));
    entries.push_back(IndexKey(2, id));
  }
  std::sort(entries.begin(), entries.end());
  Tree32* index = AddTree(entries);
  auto source = std::make_unique<IndexSource>();
  ASSERT_TRUE(source
                  ->Init(index, NewBuffer(*index), kSnapshotLatest,
                         IndexKey(1, 0), IndexKey(2, 599),
                         Direction::kAscending)
                  .ok());
  auto* top = Combine<ScanUnion<uint64_t>>({source.get()});
  const SourceRun run = RunToEnd(top);
  EXPECT_TRUE(absl::IsFailedPrecondition(run.status)) << run.status;
  EXPECT_EQ(run.keys.size(), 600u);  // Field 1's ids, then the error.
  EXPECT_EQ(top->state(), ScanState::kAborted);
  EXPECT_EQ(top->Next().kind, ScanNextKind::kEnd);
  DestroyScans();  // Before `source`.
}

TEST_F(AlgebraTest, LegalTransitionsAndEndStaysEnd) {
  Tree32* t2 = AddTree(Multiples(2, 2000), 0, Backend::kFaultDelays, 0);
  Tree32* t3 = AddTree(Multiples(3, 2000), 0, Backend::kFaultDelays, 0);
  auto* both = Combine<ScanIntersection<uint64_t>>(
      {Scan(t2, 0, 1999), Scan(t3, 0, 1999)});
  EXPECT_EQ(both->state(), ScanState::kIdle);
  struct Seen {
    bool called = false;
    absl::Status status;
    ScanState state = ScanState::kIdle;
  } seen;
  both->Read(
      [](void* context, Source* source, absl::Status status) {
        auto* s = static_cast<Seen*>(context);
        s->called = true;
        s->status = status;
        s->state = source->state();
      },
      &seen);
  EXPECT_EQ(both->state(), ScanState::kBuffering);
  EXPECT_FALSE(seen.called);  // Never from inside Read().
  while (!seen.called) testing::TickAll(storages());
  ASSERT_TRUE(seen.status.ok());
  EXPECT_EQ(seen.state, ScanState::kSeeking);
  const SourceRun run = RunToEnd(both);
  ASSERT_TRUE(run.status.ok());
  EXPECT_EQ(run.keys.size(), 334u);  // 0, 6, ..., 1998.
  EXPECT_GT(run.read_agains, 0u);    // No cache: blocks were read in turn.
  EXPECT_EQ(both->state(), ScanState::kSeeking);
  EXPECT_EQ(both->Next().kind, ScanNextKind::kEnd);
  EXPECT_EQ(both->Next().kind, ScanNextKind::kEnd);
  EXPECT_TRUE(both->Probe(5000).ok());  // After the end: a no-op.
  both->Abort();
  EXPECT_EQ(both->state(), ScanState::kAborted);
  EXPECT_TRUE(Read(both).ok());  // Read() on an aborted scan calls back.
  EXPECT_EQ(both->Next().kind, ScanNextKind::kEnd);
}

// Drives `root` to its end; before each Read() notes the leaves waiting
// for data whose parent (`parents[i]`, the combinator that reads leaf i)
// waits too, so that the Read() reaches them, and checks that the Read()
// started a read of every one of them. (A leaf may wait while its parent
// still has keys of it to use: a combinator reads its sources ahead in
// batches, and such a leaf is read when its parent needs its next key.)
// Returns the number of reads that read two leaves or more at once.
uint64_t ReadsOfSeveralLeaves(
    testing::AlgebraWorld* world, ScanSource<uint64_t>* root,
    std::span<ScanTreeSource<Record32Schema>* const> leaves,
    std::span<ScanSource<uint64_t>* const> parents) {
  EXPECT_EQ(leaves.size(), parents.size());
  auto waits = [](const ScanSource<uint64_t>* source) {
    const ScanState state = source->state();
    return state == ScanState::kIdle || state == ScanState::kNeedsData;
  };
  uint64_t several = 0;
  while (true) {
    uint32_t waiting = 0;
    for (size_t i = 0; i < leaves.size(); i++) {
      waiting += waits(leaves[i]) && waits(parents[i]) ? 1 : 0;
    }
    bool called = false;
    root->Read([](void* context, ScanSource<uint64_t>*,
                  absl::Status) { *static_cast<bool*>(context) = true; },
               &called);
    uint32_t reading = 0;
    for (ScanTreeSource<Record32Schema>* leaf : leaves) {
      reading += leaf->state() == ScanState::kBuffering ? 1 : 0;
    }
    EXPECT_EQ(reading, waiting) << "a leaf waiting for data was not read";
    several += reading > 1 ? 1 : 0;
    while (!called) testing::TickAll(world->storages());
    SourceNext<uint64_t> next = root->Next();
    while (next.kind == ScanNextKind::kValue) next = root->Next();
    if (next.kind == ScanNextKind::kEnd) return several;
  }
}

// One Read() of the root reads every tree scan below it that waits for
// data, all at once: nothing is read one source after another.
TEST_F(AlgebraTest, OneReadReadsEverySourceThatWaits) {
  Tree32* t2 = AddTree(Multiples(2, 3000), 0, Backend::kFaultDelays, 0);
  Tree32* t3 = AddTree(Multiples(3, 3000), 0, Backend::kFaultDelays, 0);
  Tree32* t5 = AddTree(Multiples(5, 3000), 0, Backend::kFaultDelays, 0);
  TreeSource* leaves[] = {Scan(t2, 0, 2999), Scan(t3, 0, 2999),
                          Scan(t5, 0, 2999), Scan(t2, 1000, 2999)};
  auto* either = Combine<ScanUnion<uint64_t>>({leaves[0], leaves[1]});
  auto* odd = Combine<ScanDifference<uint64_t>>({leaves[2], leaves[3]});
  auto* root = Combine<ScanIntersection<uint64_t>>({either, odd});
  Source* parents[] = {either, either, odd, odd};
  // The first Read() reads all four; later ones whichever wait.
  EXPECT_GT(ReadsOfSeveralLeaves(this, root, leaves, parents), 0u);
  // Two scans over the same blocks run dry together: each Read() then
  // reads both.
  // (1,500 keys of 32 bytes: 12 blocks of 4 KiB.)
  TreeSource* twins[] = {Scan(t2, 0, 2999), Scan(t2, 0, 2999)};
  auto* both = Combine<ScanIntersection<uint64_t>>({twins[0], twins[1]});
  Source* twin_parents[] = {both, both};
  EXPECT_GE(ReadsOfSeveralLeaves(this, both, twins, twin_parents), 8u);
}

// Forwards every call to `inner`, counting the calls that take keys from
// it (Next() and NextBatch()).
class CountingSource final : public Source {
 public:
  explicit CountingSource(Source* inner) : inner_(inner) {}

  void Read(ReadCallback callback, void* context) override {
    callback_ = callback;
    context_ = context;
    inner_->Read(
        [](void* self_context, Source*, absl::Status status) {
          auto* self = static_cast<CountingSource*>(self_context);
          self->callback_(self->context_, self, std::move(status));
        },
        this);
  }
  SourceNext<uint64_t> Next() override {
    calls++;
    return inner_->Next();
  }
  SourceBatch NextBatch(std::span<uint64_t> keys) override {
    calls++;
    return inner_->NextBatch(keys);
  }
  absl::Status Probe(const uint64_t& key) override {
    return inner_->Probe(key);
  }
  void Abort() override { inner_->Abort(); }
  ScanState state() const override { return inner_->state(); }
  const absl::Status& status() const override { return inner_->status(); }
  Direction direction() const override { return inner_->direction(); }
  Storage* storage() const override { return inner_->storage(); }
  ScanStats stats() const override { return inner_->stats(); }

  uint64_t calls = 0;

 private:
  Source* inner_;
  ReadCallback callback_ = nullptr;
  void* context_ = nullptr;
};

// A combinator takes a source's keys a batch at a time (NextBatch()): an
// overlap of 3,000 keys costs each source far fewer calls than keys, in
// both directions. (Before batches: one virtual Next() per key.)
TEST_F(AlgebraTest, AnOverlapIsReadInBatches) {
  Tree32* t = AddTree(Multiples(1, 3000));
  for (Direction direction : {Direction::kAscending, Direction::kDescending}) {
    SCOPED_TRACE(DirectionName(direction));
    CountingSource a(Scan(t, 0, 2999, direction));
    CountingSource b(Scan(t, 0, 2999, direction));
    ScanIntersection<uint64_t> both;
    Source* sources[] = {&a, &b};
    ASSERT_TRUE(both.Init(sources).ok());
    const SourceRun run = RunToEnd(&both);
    ASSERT_TRUE(run.status.ok()) << run.status;
    EXPECT_EQ(run.keys,
              Expected(SetOf(Multiples(1, 3000)), 0, 2999, direction));
    EXPECT_LT(a.calls, 3000u / 8);
    EXPECT_LT(b.calls, 3000u / 8);
  }
}

TEST_F(AlgebraTest, InitRejectsBadSources) {
  Tree32* t = AddTree(Multiples(2, 100));
  Source* a = Scan(t, 0, 50);
  Source* b = Scan(t, 0, 50);
  Source* descending = Scan(t, 0, 50, Direction::kDescending);
  ScanIntersection<uint64_t> both;
  std::vector<Source*> none;
  EXPECT_TRUE(absl::IsInvalidArgument(both.Init(none)));
  std::vector<Source*> too_many(kScanSourceCountMax + 1, a);
  EXPECT_TRUE(absl::IsInvalidArgument(both.Init(too_many)));
  std::vector<Source*> twice = {a, a};
  EXPECT_TRUE(absl::IsInvalidArgument(both.Init(twice)));
  std::vector<Source*> null = {a, nullptr};
  EXPECT_TRUE(absl::IsInvalidArgument(both.Init(null)));
  std::vector<Source*> mixed = {a, descending};
  EXPECT_TRUE(absl::IsInvalidArgument(both.Init(mixed)));
  ScanDifference<uint64_t> a_minus_nothing;
  std::vector<Source*> one = {a};
  EXPECT_TRUE(absl::IsInvalidArgument(a_minus_nothing.Init(one)));
  std::vector<Source*> pair = {a, b};
  ASSERT_TRUE(both.Init(pair).ok());
  EXPECT_TRUE(a->claimed());
  // A source feeds one reader: a claimed source is refused, and so is
  // Init() of a claimed source, which also rules out cycles.
  ScanUnion<uint64_t> other;
  EXPECT_TRUE(absl::IsFailedPrecondition(other.Init(pair)));
  EXPECT_TRUE(absl::IsFailedPrecondition(static_cast<TreeSource*>(a)->Init(
      t, NewBuffer(*t), kSnapshotLatest, 0, 1, Direction::kAscending)));
  std::vector<Source*> wraps_both = {&both};
  ASSERT_TRUE(other.Init(wraps_both).ok());
  std::vector<Source*> cycle = {&other, Scan(t, 0, 9)};
  EXPECT_TRUE(absl::IsFailedPrecondition(both.Init(cycle)));
  EXPECT_TRUE(a->claimed());  // The refused Init() changed nothing.
  std::vector<Source*> itself = {&other, Scan(t, 0, 9)};
  EXPECT_TRUE(absl::IsInvalidArgument(other.Init(itself)));
  // A source already read is refused.
  std::vector<Source*> fresh = {Scan(t, 0, 9), Scan(t, 0, 9)};
  ASSERT_TRUE(other.Init(fresh).ok());
  EXPECT_FALSE(both.claimed());
  ASSERT_TRUE(Read(&both).ok());
  ScanUnion<uint64_t> late;
  std::vector<Source*> read_already = {&both};
  EXPECT_TRUE(absl::IsFailedPrecondition(late.Init(read_already)));
  // Init() again gives the sources back.
  std::vector<Source*> again = {Scan(t, 0, 9), Scan(t, 0, 9)};
  ASSERT_TRUE(both.Init(again).ok());
  EXPECT_FALSE(a->claimed());
}

TEST_F(AlgebraTest, ProbesOnlyMoveForward) {
  Tree32* t2 = AddTree(Multiples(2, 3000));
  Tree32* t3 = AddTree(Multiples(3, 3000));
  for (Direction direction : {Direction::kAscending, Direction::kDescending}) {
    SCOPED_TRACE(DirectionName(direction));
    const bool up = direction == Direction::kAscending;
    auto* both = Combine<ScanIntersection<uint64_t>>(
        {Scan(t2, 600, 2400, direction), Scan(t3, 600, 2400, direction)});
    // Behind the start, in kIdle: nothing changes.
    ASSERT_TRUE(both->Probe(up ? 0 : 2999).ok());
    ASSERT_TRUE(Read(both).ok());
    SourceNext<uint64_t> next = both->Next();
    ASSERT_EQ(next.kind, ScanNextKind::kValue);
    EXPECT_EQ(next.key, up ? 600u : 2400u);
    // The key just returned, or one behind it: nothing changes.
    ASSERT_TRUE(both->Probe(next.key).ok());
    ASSERT_TRUE(both->Probe(up ? 0 : 2999).ok());
    SourceRun run = RunToEnd(both);
    ASSERT_FALSE(run.keys.empty());
    EXPECT_EQ(run.keys.front(), up ? 606u : 2394u);
    EXPECT_EQ(run.keys.size(), 300u);  // 606, 612, ..., 2400.

    // Forward, mid-scan, to a key in neither source: the next key is the
    // first one past it.
    auto* again = Combine<ScanIntersection<uint64_t>>(
        {Scan(t2, 600, 2400, direction), Scan(t3, 600, 2400, direction)});
    ASSERT_TRUE(Read(again).ok());
    ASSERT_EQ(again->Next().kind, ScanNextKind::kValue);
    ASSERT_TRUE(again->Probe(up ? 1001 : 1999).ok());
    run = RunToEnd(again);
    ASSERT_FALSE(run.keys.empty());
    EXPECT_EQ(run.keys.front(), up ? 1002u : 1998u);
    // Past the end: the scan ends.
    auto* past = Combine<ScanUnion<uint64_t>>(
        {Scan(t2, 600, 2400, direction), Scan(t3, 600, 2400, direction)});
    ASSERT_TRUE(past->Probe(up ? 2401 : 599).ok());
    run = RunToEnd(past);
    ASSERT_TRUE(run.status.ok());
    EXPECT_TRUE(run.keys.empty());
  }
}

TEST_F(AlgebraTest, AbortInEveryStateThenDestroy) {
  Tree32* t2 = AddTree(Multiples(2, 4000), 0, Backend::kFaultDelays, 0);
  Tree32* t3 = AddTree(Multiples(3, 4000), 0, Backend::kFaultDelays, 0);
  for (int state = 0; state < 4; state++) {
    SCOPED_TRACE(state);
    auto both = std::make_unique<ScanIntersection<uint64_t>>();
    TreeSource* a = Scan(t2, 0, 3999);
    TreeSource* b = Scan(t3, 0, 3999);
    std::vector<Source*> inputs = {a, b};
    ASSERT_TRUE(both->Init(inputs).ok());
    bool called = false;
    auto callback = [](void* context, Source*, absl::Status) {
      *static_cast<bool*>(context) = true;
    };
    if (state >= 1) both->Read(callback, &called);  // kBuffering.
    if (state >= 2) {
      while (!called) testing::TickAll(storages());
      ASSERT_EQ(both->state(), ScanState::kSeeking);
    }
    if (state == 3) {  // kNeedsData.
      while (both->Next().kind == ScanNextKind::kValue) {
      }
      ASSERT_EQ(both->state(), ScanState::kNeedsData);
    }
    const bool reads_in_flight =
        a->scan().in_flight_count() + b->scan().in_flight_count() > 0;
    both->Abort();
    EXPECT_EQ(both->state(), ScanState::kAborted);
    EXPECT_EQ(both->Next().kind, ScanNextKind::kEnd);
    EXPECT_EQ(a->state(), ScanState::kAborted);
    const bool called_before = called;
    both.reset();
    while (testing::TickAll(storages())) {
    }
    EXPECT_EQ(called, called_before) << "an aborted read called back";
    EXPECT_FALSE(a->claimed());
    if (state == 1) {
      EXPECT_TRUE(reads_in_flight);
    }
  }
}

// A source's read error ends the whole expression with that error.
TEST_F(AlgebraTest, ASourceReadErrorEndsTheExpression) {
  auto inner = MemoryStorage::Create(TestStorageOptions());  // The world's.
  ASSERT_TRUE(inner.ok());
  FaultStorage faulty(inner->get(), FaultOptions(), /*seed=*/7);
  TreeOptions options = SmallTreeOptions();
  options.cache_block_count = 0;
  auto bad = Tree32::Create(&faulty, options);
  ASSERT_TRUE(bad.ok());
  for (uint64_t key : Multiples(3, 3000)) {
    ASSERT_TRUE(PutWithBackPressure(bad->get(), Schema32::Make(key, 1)).ok());
  }
  ASSERT_TRUE(CompactBlocking(bad->get()).ok());
  AddStorage(&faulty);
  Tree32* good = AddTree(Multiples(2, 3000));
  {
    auto* both = Combine<ScanIntersection<uint64_t>>(
        {Scan(good, 0, 2999), Scan(bad->get(), 0, 2999)});
    auto* top = Combine<ScanUnion<uint64_t>>({both, Scan(good, 0, 10)});
    FaultOptions faults;
    faults.read_error_probability = 1;
    faulty.set_options(faults);
    const SourceRun run = RunToEnd(top);
    EXPECT_TRUE(absl::IsInternal(run.status)) << run.status;
    EXPECT_TRUE(run.keys.empty());
    EXPECT_EQ(top->state(), ScanState::kAborted);
    EXPECT_TRUE(absl::IsInternal(top->status()));
    EXPECT_EQ(both->state(), ScanState::kAborted);
    EXPECT_EQ(top->Next().kind, ScanNextKind::kEnd);
    faulty.set_options(FaultOptions());
    DestroyScans();
  }
  faulty.RunUntilIdle();
}

// A selective intersection reads a small part of what its two scans read
// alone: the laggard is probed past whole blocks and tables.
TEST_F(AlgebraTest, ASelectiveIntersectionSkipsMostBlocks) {
  // Two index fields in clusters of 8,000 ids (about 64 blocks each):
  // field 1 holds ids [20000k, 20000k + 8000), field 2 holds [20000k +
  // 7920, 20000k + 15920): they share 80 ids per cluster (1%).
  Keys entries;
  for (uint64_t cluster = 0; cluster < 5; cluster++) {
    for (uint64_t i = 0; i < 8000; i++) {
      entries.push_back(IndexKey(1, 20000 * cluster + i));
      entries.push_back(IndexKey(2, 20000 * cluster + 7920 + i));
    }
  }
  std::sort(entries.begin(), entries.end());
  Tree32* index = AddTree(entries);
  for (Direction direction : {Direction::kAscending, Direction::kDescending}) {
    SCOPED_TRACE(DirectionName(direction));
    Source* field1 = IndexScan(index, 1, 0, 1 << 20, direction);
    Source* field2 = IndexScan(index, 2, 0, 1 << 20, direction);
    const SourceRun full1 = RunToEnd(field1);
    const SourceRun full2 = RunToEnd(field2);
    ASSERT_EQ(full1.keys.size(), 40000u);
    ASSERT_EQ(full2.keys.size(), 40000u);
    const uint64_t full_blocks =
        field1->stats().levels.data_blocks + field2->stats().levels.data_blocks;
    auto* both = Combine<ScanIntersection<uint64_t>>(
        {IndexScan(index, 1, 0, 1 << 20, direction),
         IndexScan(index, 2, 0, 1 << 20, direction)});
    const SourceRun run = RunToEnd(both);
    ASSERT_TRUE(run.status.ok());
    ASSERT_EQ(run.keys.size(), 400u);
    const uint64_t blocks = both->stats().levels.data_blocks;
    EXPECT_GT(blocks, 0u);
    EXPECT_LE(blocks * 10, full_blocks)
        << blocks << " blocks, against " << full_blocks << " for both scans";
    EXPECT_GE(both->probe_count(), 5u);
  }
}

using AlgebraDeathTest = AlgebraTest;

TEST_F(AlgebraDeathTest, IllegalCallsAbort) {
  Tree32* t = AddTree(Multiples(2, 200));
  auto* both =
      Combine<ScanIntersection<uint64_t>>({Scan(t, 0, 100), Scan(t, 0, 50)});
  auto ignore = [](void*, Source*, absl::Status) {};
  EXPECT_DEATH(both->Next(), "Next\\(\\) before Read\\(\\) completed");
  both->Read(ignore, nullptr);
  EXPECT_DEATH(both->Read(ignore, nullptr), "Read\\(\\) is allowed only");
  EXPECT_DEATH((void)both->Probe(50),
               "Probe\\(\\) while a Read\\(\\) is in flight");
  EXPECT_DEATH(both->Next(), "Next\\(\\) before Read\\(\\) completed");
  while (testing::TickAll(storages())) {
  }
  EXPECT_EQ(both->state(), ScanState::kSeeking);
  EXPECT_DEATH(both->Read(ignore, nullptr), "Read\\(\\) is allowed only");
}

}  // namespace
}  // namespace lsmscan
