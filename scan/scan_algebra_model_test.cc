// The scan algebra's differential test. Three trees built by seeded random
// writes (an objects tree keyed by id, two index trees keyed (field, id),
// with runs of ids so that zig-zags skip blocks), snapshots taken along the
// way; then random expressions (union, intersection, difference, nested to
// depth 3, over ranges of the three trees at random snapshots), in both
// directions, with random probes, aborts and writes between reads, half of
// them ending in a ScanLookup into the objects tree. Every key (and looked
// up object) is compared with std::set algebra over a model. On every
// backend, under delayed and reordered completions, and with injected
// corruption and read errors (an error, never a wrong result).
//
// Reproduce a failure with the seed it prints:
//   LSMSCAN_SEED=<seed> bazel test //scan:scan_algebra_model_test

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <iostream>
#include <iterator>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "lsmscan/lsm/direction.h"
#include "lsmscan/lsm/schema.h"
#include "lsmscan/lsm/tree.h"
#include "lsmscan/lsm/tree_testing.h"
#include "lsmscan/scan/scan_algebra_testing.h"
#include "lsmscan/scan/scan_difference.h"
#include "lsmscan/scan/scan_intersection.h"
#include "lsmscan/scan/scan_lookup.h"
#include "lsmscan/scan/scan_source.h"
#include "lsmscan/scan/scan_union.h"
#include "lsmscan/storage/base/prng.h"
#include "lsmscan/storage/fault_storage.h"
#include "lsmscan/storage/storage_testing.h"

namespace lsmscan {
namespace {

using Schema32 = Record32Schema;
using Value = Schema32::Value;
using Tree32 = Tree<Schema32>;
using Source = ScanSource<uint64_t>;
using KeySet = std::set<uint64_t>;
using ::lsmscan::testing::AcquireSnapshotAfterCheckpoint;
using ::lsmscan::testing::Backend;
using ::lsmscan::testing::BackendName;
using ::lsmscan::testing::CompactBlocking;
using ::lsmscan::testing::IndexKey;
using ::lsmscan::testing::Model;

constexpr uint64_t kIdCount = 3000;
constexpr uint64_t kFieldCount = 3;
constexpr uint32_t kTreeCount = 3;  // Objects, index A, index B.
constexpr uint32_t kLeafCountMax = 12;

// An expression: a leaf (a range of one tree at one snapshot) or an
// operator over 2..3 expressions.
struct Expr {
  enum class Kind { kLeaf, kUnion, kIntersection, kDifference };
  Kind kind = Kind::kLeaf;
  uint32_t tree = 0;   // Leaves: 0 = objects (ids), 1 and 2 = indexes.
  uint64_t field = 0;  // Index leaves.
  uint64_t id_min = 0;
  uint64_t id_max = 0;
  Snapshot snapshot = kSnapshotLatest;
  std::vector<Expr> children;
};

std::string Describe(const Expr& expr) {
  switch (expr.kind) {
    case Expr::Kind::kLeaf:
      return absl::StrCat("t", expr.tree, expr.tree == 0 ? "" : ":f",
                          expr.tree == 0 ? "" : absl::StrCat(expr.field), "[",
                          expr.id_min, ",", expr.id_max, "]@",
                          expr.snapshot == kSnapshotLatest
                              ? std::string("latest")
                              : absl::StrCat(expr.snapshot));
    case Expr::Kind::kUnion:
    case Expr::Kind::kIntersection:
    case Expr::Kind::kDifference: {
      std::string text = expr.kind == Expr::Kind::kUnion          ? "U("
                         : expr.kind == Expr::Kind::kIntersection ? "I("
                                                                  : "D(";
      for (size_t i = 0; i < expr.children.size(); i++) {
        absl::StrAppend(&text, i == 0 ? "" : ", ", Describe(expr.children[i]));
      }
      return text + ")";
    }
  }
  return "?";
}

// The trees, their models and snapshots.
class AlgebraModel : public testing::AlgebraWorld {
 public:
  AlgebraModel(Backend backend, uint64_t seed, uint32_t cache_block_count)
      : prng_(seed) {
    for (uint32_t t = 0; t < kTreeCount; t++) {
      trees_[t] = AddEmptyTree(backend, cache_block_count, seed);
    }
  }

  ~AlgebraModel() override {
    DestroyScans();
    for (uint32_t t = 0; t < kTreeCount; t++) {
      for (const SnapshotHandle& handle : snapshots_[t]) {
        EXPECT_TRUE(trees_[t]->ReleaseSnapshot(handle).ok());
      }
    }
  }

  // Random writes in runs of consecutive ids (so that index fields cluster
  // and zig-zags skip), compactions on back-pressure, snapshots now and
  // then; the last writes stay in the memory tables.
  void Build(uint64_t run_count) {
    for (uint64_t run = 0; run < run_count; run++) {
      const uint32_t t = static_cast<uint32_t>(prng_.Uniform(kTreeCount));
      const uint64_t field = prng_.Uniform(kFieldCount);
      const uint64_t start = prng_.Uniform(kIdCount);
      const uint64_t length = 1 + prng_.Uniform(prng_.Chance(0.2) ? 300 : 30);
      const bool remove = prng_.Chance(0.15);
      for (uint64_t id = start; id < std::min(kIdCount, start + length); id++) {
        const uint64_t key = t == 0 ? id : IndexKey(field, id);
        Write(t, remove ? Schema32::tombstone(key)
                        : Schema32::Make(key, prng_.Next()));
      }
      if (prng_.Chance(0.01)) TakeSnapshot(t);
    }
  }

  // Writes `value` to tree `t`, compacting on back-pressure; false if the
  // memory tables stay full (scans or snapshots pin them).
  bool Write(uint32_t t, const Value& value) {
    absl::Status status = trees_[t]->Put(value);
    if (absl::IsResourceExhausted(status)) {
      EXPECT_TRUE(CompactBlocking(trees_[t]).ok());
      status = trees_[t]->Put(value);
    }
    if (absl::IsResourceExhausted(status)) return false;
    EXPECT_TRUE(status.ok()) << status;
    models_[t].Put(value);
    return true;
  }

  void TakeSnapshot(uint32_t t) {
    if (snapshots_[t].size() >= 3) return;
    // Past the memory-table limit, checkpoints first.
    auto handle = AcquireSnapshotAfterCheckpoint(trees_[t]);
    ASSERT_TRUE(handle.ok()) << handle.status();
    if (models_[t].frozen().contains(handle->snapshot())) {
      ASSERT_TRUE(trees_[t]->ReleaseSnapshot(*handle).ok());
      return;
    }
    models_[t].Freeze(handle->snapshot());
    snapshots_[t].push_back(*handle);
  }

  Snapshot RandomSnapshot(uint32_t t) {
    if (snapshots_[t].empty() || prng_.Chance(0.5)) return kSnapshotLatest;
    return snapshots_[t][prng_.Uniform(snapshots_[t].size())].snapshot();
  }

  Expr RandomLeaf() {
    Expr leaf;
    leaf.tree = static_cast<uint32_t>(prng_.Uniform(kTreeCount));
    leaf.field = prng_.Uniform(kFieldCount);
    if (prng_.Chance(0.6)) {  // Wide: most leaves overlap.
      leaf.id_min = prng_.Uniform(kIdCount / 10);
      leaf.id_max = kIdCount - prng_.Uniform(kIdCount / 10);
    } else {
      leaf.id_min = prng_.Uniform(kIdCount);
      leaf.id_max = leaf.id_min + prng_.Uniform(kIdCount / 3);
    }
    leaf.snapshot = RandomSnapshot(leaf.tree);
    return leaf;
  }

  Expr RandomExpr(uint32_t depth, uint32_t* leaves) {
    const bool leaf = depth == 3 || *leaves + 3 > kLeafCountMax ||
                      (depth > 0 && prng_.Chance(0.35));
    if (leaf) {
      ++*leaves;
      return RandomLeaf();
    }
    Expr expr;
    const uint64_t kind = prng_.Uniform(3);
    expr.kind = kind == 0   ? Expr::Kind::kUnion
                : kind == 1 ? Expr::Kind::kIntersection
                            : Expr::Kind::kDifference;
    const uint64_t count = 2 + prng_.Uniform(2);
    for (uint64_t i = 0; i < count; i++) {
      expr.children.push_back(RandomExpr(depth + 1, leaves));
    }
    return expr;
  }

  // The model's answer.
  KeySet Evaluate(const Expr& expr) const {
    KeySet result;
    if (expr.kind == Expr::Kind::kLeaf) {
      const std::map<uint64_t, Value>& map =
          models_[expr.tree].at(expr.snapshot);
      const uint64_t base = expr.tree == 0 ? 0 : IndexKey(expr.field, 0);
      for (auto it = map.lower_bound(base + expr.id_min);
           it != map.end() && it->first <= base + expr.id_max; ++it) {
        result.insert(it->first - base);
      }
      return result;
    }
    result = Evaluate(expr.children[0]);
    for (size_t i = 1; i < expr.children.size(); i++) {
      const KeySet other = Evaluate(expr.children[i]);
      KeySet next;
      switch (expr.kind) {
        case Expr::Kind::kUnion:
          std::set_union(result.begin(), result.end(), other.begin(),
                         other.end(), std::inserter(next, next.end()));
          break;
        case Expr::Kind::kIntersection:
          std::set_intersection(result.begin(), result.end(), other.begin(),
                                other.end(), std::inserter(next, next.end()));
          break;
        case Expr::Kind::kDifference:  // A minus B1 minus B2...
        case Expr::Kind::kLeaf:
          std::set_difference(result.begin(), result.end(), other.begin(),
                              other.end(), std::inserter(next, next.end()));
          break;
      }
      result = std::move(next);
    }
    return result;
  }

  // The sources of `expr`, made bottom up.
  Source* MakeSources(const Expr& expr, Direction direction) {
    if (expr.kind == Expr::Kind::kLeaf) {
      Tree32* tree = trees_[expr.tree];
      if (expr.tree == 0) {
        return Scan(tree, expr.id_min, expr.id_max, direction, expr.snapshot);
      }
      return IndexScan(tree, expr.field, expr.id_min, expr.id_max, direction,
                       expr.snapshot);
    }
    std::vector<Source*> children;
    for (const Expr& child : expr.children) {
      children.push_back(MakeSources(child, direction));
    }
    switch (expr.kind) {
      case Expr::Kind::kUnion:
        return Combine<ScanUnion<uint64_t>>(children);
      case Expr::Kind::kIntersection:
        return Combine<ScanIntersection<uint64_t>>(children);
      case Expr::Kind::kDifference:
      case Expr::Kind::kLeaf:
        return Combine<ScanDifference<uint64_t>>(children);
    }
    return nullptr;
  }

  uint32_t LevelsWithTables(uint32_t t) const {
    uint32_t count = 0;
    for (uint32_t level = 0; level < trees_[t]->level_count(); level++) {
      if (trees_[t]->manifest().live_table_count(level) > 0) count++;
    }
    return count;
  }

  Prng& prng() { return prng_; }
  Tree32* tree(uint32_t t) { return trees_[t]; }
  const Model<Schema32>& model(uint32_t t) const { return models_[t]; }

 private:
  Prng prng_;
  Tree32* trees_[kTreeCount] = {};
  Model<Schema32> models_[kTreeCount];
  std::vector<SnapshotHandle> snapshots_[kTreeCount];
};

// What one checked run saw.
struct CheckResult {
  absl::Status status;  // A read error, if the run ended with one.
  uint64_t values = 0;
  uint64_t probes = 0;
  bool aborted = false;
};

// Options of CheckRun().
struct CheckOptions {
  double probe_probability = 0;  // After each key.
  double abort_probability = 0;  // Per run, at a random point.
  double write_probability = 0;  // After each ReadAgain.
};

// Drives `read`/`next`/`probe`/`abort` of a source or a lookup against
// `expected` (keys in scan order): every key must be the next expected one
// (after probes skipped some). Records failures; returns read errors.
// The keys a run must return, and where it is in them.
class Expected {
 public:
  Expected(const std::vector<uint64_t>& keys, Direction direction)
      : keys_(keys), direction_(direction) {}

  bool done() const { return position_ == keys_.size(); }
  uint64_t next() const { return keys_[position_]; }
  size_t position() const { return position_; }
  void Advance() { position_++; }

  // A random probe key: mostly a little or a lot ahead of the position,
  // sometimes behind it (a no-op).
  uint64_t RandomProbeKey(Prng* prng) const {
    const bool up = direction_ == Direction::kAscending;
    const uint64_t from = !done() ? next() : up ? kIdCount : 0;
    const uint64_t step = prng->Uniform(prng->Chance(0.5) ? 8 : kIdCount / 4);
    const bool ahead = !prng->Chance(0.1);
    return up == ahead ? from + step : from - std::min(from, step);
  }

  // What a probe to `key` skips.
  void Probe(uint64_t key) {
    if (position_ > 0 && !Before(direction_, keys_[position_ - 1], key)) {
      return;  // At or behind the last key returned: nothing.
    }
    while (!done() && Before(direction_, next(), key)) position_++;
  }

 private:
  const std::vector<uint64_t>& keys_;
  Direction direction_;
  size_t position_ = 0;
};

// A few random writes to the trees (between reads: the runs must not see
// them).
void WriteSome(AlgebraModel* world) {
  Prng& prng = world->prng();
  for (int i = 0; i < 20; i++) {
    const uint32_t t = static_cast<uint32_t>(prng.Uniform(kTreeCount));
    const uint64_t id = prng.Uniform(kIdCount);
    const uint64_t key = t == 0 ? id : IndexKey(prng.Uniform(3), id);
    world->Write(t, prng.Chance(0.3) ? Schema32::tombstone(key)
                                     : Schema32::Make(key, prng.Next()));
  }
}

// Drives `read`/`next`/`probe`/`abort` of a source or a lookup against
// `keys` (in scan order): every key returned must be the next expected one
// (after probes skipped some). Records failures; returns read errors.
template <typename Scan, typename KeyOf>
CheckResult CheckRun(AlgebraModel* world, Scan* scan,
                     const std::vector<uint64_t>& keys, Direction direction,
                     const CheckOptions& options, const KeyOf& key_of) {
  Prng& prng = world->prng();
  CheckResult result;
  Expected expected(keys, direction);
  // An abort after any key (at least the first), half of them within the
  // first quarter: probes skip keys, so a later one is often never reached,
  // and the early half keeps the count of aborts from hanging on the I/O
  // timing.
  const uint64_t abort_range = prng.Chance(0.5) ? keys.size() / 4 : keys.size();
  const uint64_t abort_at =
      prng.Chance(options.abort_probability)
          ? 1 + prng.Uniform(std::max<uint64_t>(abort_range, 1))
          : UINT64_MAX;
  auto probe = [&]() {
    result.probes++;
    const uint64_t key = expected.RandomProbeKey(&prng);
    EXPECT_TRUE(scan->Probe(key).ok());
    expected.Probe(key);
  };
  for (bool read = true;;) {
    if (read) {
      result.status = testing::ReadBlocking(scan, world->storages());
      if (!result.status.ok()) {
        EXPECT_EQ(scan->state(), ScanState::kAborted);
        return result;
      }
    }
    const auto next = scan->Next();
    read = next.kind == ScanNextKind::kReadAgain;
    if (read) {
      EXPECT_EQ(scan->state(), ScanState::kNeedsData);
      if (prng.Chance(options.write_probability)) WriteSome(world);
      if (prng.Chance(options.probe_probability)) {
        probe();  // May make the data resident: then no Read() is needed.
        read = scan->state() == ScanState::kNeedsData;
      }
      continue;
    }
    if (next.kind == ScanNextKind::kEnd) {
      EXPECT_TRUE(expected.done())
          << "ended early; next expected key " << expected.next();
      return result;
    }
    const uint64_t key = key_of(next);
    if (expected.done() || key != expected.next()) {
      ADD_FAILURE() << "key " << result.values << ": got " << key
                    << (expected.done()
                            ? ", past the expected keys"
                            : absl::StrCat(", expected ", expected.next()));
      return result;
    }
    expected.Advance();
    if (++result.values == abort_at) {
      scan->Abort();
      result.aborted = true;
      EXPECT_EQ(scan->Next().kind, ScanNextKind::kEnd);
      EXPECT_TRUE(testing::ReadBlocking(scan, world->storages()).ok());
      EXPECT_EQ(scan->state(), ScanState::kAborted);
      return result;
    }
    if (prng.Chance(options.probe_probability)) probe();
  }
}

// What RunExpressions() did.
struct RunTotals {
  uint64_t failed = 0;  // Runs ended by a read error.
  uint64_t values = 0;
  uint64_t probes = 0;
  uint64_t aborts = 0;
  uint64_t lookups = 0;  // Runs through a ScanLookup.
};

// Runs `root` (whose keys are `keys`, ascending) through a ScanLookup into
// the objects tree at `snapshot`, checking every object.
CheckResult CheckLookupRun(AlgebraModel* world, Source* root,
                           const KeySet& keys, Direction direction,
                           Snapshot snapshot, CheckOptions options) {
  // The objects present at the lookup's snapshot, in scan order.
  const std::map<uint64_t, Value> objects = world->model(0).at(snapshot);
  std::vector<uint64_t> present;
  for (uint64_t id : keys) {
    if (objects.contains(id)) present.push_back(id);
  }
  if (direction == Direction::kDescending) {
    std::reverse(present.begin(), present.end());
  }
  // Lookups at the latest state would see writes made during the run.
  if (snapshot == kSnapshotLatest) options.write_probability = 0;
  ScanLookup<Schema32> lookup;
  const uint32_t in_flight = 1 + world->prng().Uniform(20);
  EXPECT_TRUE(
      lookup
          .Init(root, world->tree(0), snapshot,
                {.lookups_in_flight_max = in_flight, .skip_missing = true})
          .ok());
  return CheckRun(
      world, &lookup, present, direction, options,
      [&](const ScanNext<Value>& next) {
        const uint64_t id = Schema32::key_of(*next.value);
        const auto it = objects.find(id);
        EXPECT_TRUE(it != objects.end() &&
                    std::memcmp(&it->second, next.value, sizeof(Value)) == 0)
            << "the object of id " << id << " differs";
        return id;
      });
}

// Runs `count` random expressions on `world`, half through a lookup. Stops
// at the first wrong answer.
RunTotals RunExpressions(AlgebraModel* world, int count,
                         const CheckOptions& options, bool errors_allowed) {
  Prng& prng = world->prng();
  RunTotals totals;
  for (int i = 0; i < count; i++) {
    uint32_t leaves = 0;
    const Expr expr = world->RandomExpr(0, &leaves);
    const Direction direction =
        prng.Chance(0.5) ? Direction::kAscending : Direction::kDescending;
    const bool lookup = prng.Chance(0.5);
    SCOPED_TRACE(absl::StrCat("expression ", i, " ", DirectionName(direction),
                              lookup ? " with a lookup" : "", ": ",
                              Describe(expr)));
    const KeySet keys = world->Evaluate(expr);
    Source* root = world->MakeSources(expr, direction);
    CheckResult result;
    if (lookup) {
      result = CheckLookupRun(world, root, keys, direction,
                              world->RandomSnapshot(0), options);
    } else {
      std::vector<uint64_t> expected(keys.begin(), keys.end());
      if (direction == Direction::kDescending) {
        std::reverse(expected.begin(), expected.end());
      }
      result =
          CheckRun(world, root, expected, direction, options,
                   [](const SourceNext<uint64_t>& next) { return next.key; });
    }
    world->DestroyScans();
    if (::testing::Test::HasFailure()) return totals;
    if (!result.status.ok()) {
      EXPECT_TRUE(errors_allowed) << result.status;
      EXPECT_TRUE(absl::IsDataLoss(result.status) ||
                  absl::IsInternal(result.status))
          << result.status;
      totals.failed++;
    }
    totals.values += result.values;
    totals.probes += result.probes;
    totals.aborts += result.aborted ? 1 : 0;
    totals.lookups += lookup ? 1 : 0;
  }
  std::cout << count << " expressions: " << totals.values << " keys checked, "
            << totals.probes << " probes, " << totals.aborts << " aborts, "
            << totals.lookups << " through a lookup, " << totals.failed
            << " ended by an injected fault\n";
  EXPECT_GT(totals.values, 0u);
  EXPECT_GT(totals.probes, 0u);
  EXPECT_GT(totals.lookups, 0u);
  return totals;
}

class AlgebraModelTest : public ::testing::TestWithParam<Backend> {};

TEST_P(AlgebraModelTest, ExpressionsMatchSetAlgebra) {
  const uint64_t seed = testing::SeedFromEnvironment(0xA16EB7A);
  SCOPED_TRACE(absl::StrCat("LSMSCAN_SEED=", seed, " backend ",
                            BackendName(GetParam())));
  // A small cache on copying backends: evictions happen.
  AlgebraModel world(GetParam(), seed, /*cache_block_count=*/32);
  ASSERT_NO_FATAL_FAILURE(world.Build(1500));
  for (uint32_t t = 0; t < kTreeCount; t++) {
    ASSERT_GE(world.LevelsWithTables(t), 2u) << "tree " << t;
  }
  CheckOptions options;
  options.probe_probability = 0.02;
  options.abort_probability = 0.1;
  options.write_probability = 0.2;
  const RunTotals totals =
      RunExpressions(&world, 120, options, /*errors_allowed=*/false);
  EXPECT_GT(totals.aborts, 0u);
  EXPECT_EQ(totals.failed, 0u);
}

INSTANTIATE_TEST_SUITE_P(Backends, AlgebraModelTest,
                         ::testing::ValuesIn(testing::AllBackends()),
                         [](const ::testing::TestParamInfo<Backend>& info) {
                           return BackendName(info.param);
                         });

// Corruption and read errors under the expressions (with delayed and
// reordered completions, and no cache, so every block is read): each run
// ends with an error or the right answer, never a wrong key.
TEST(AlgebraFaultTest, InjectedFaultsEndRunsWithAnErrorNeverAWrongKey) {
  const uint64_t seed = testing::SeedFromEnvironment(0xFA017);
  SCOPED_TRACE(absl::StrCat("LSMSCAN_SEED=", seed));
  AlgebraModel world(Backend::kFaultDelays, seed, /*cache_block_count=*/0);
  ASSERT_NO_FATAL_FAILURE(world.Build(1000));
  for (uint32_t t = 0; t < kTreeCount; t++) {
    FaultOptions faults = world.fault(t)->fault_options();
    faults.read_corruption_probability = 0.002;
    faults.read_error_probability = 0.001;
    world.fault(t)->set_options(faults);
  }
  CheckOptions options;
  options.probe_probability = 0.02;
  const RunTotals totals =
      RunExpressions(&world, 80, options, /*errors_allowed=*/true);
  EXPECT_GT(totals.failed, 0u);
  EXPECT_LT(totals.failed, 80u);
  for (uint32_t t = 0; t < kTreeCount; t++) {
    world.fault(t)->set_options(FaultOptions());
  }
}

}  // namespace
}  // namespace lsmscan
