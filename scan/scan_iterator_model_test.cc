// The iterator's differential test: RocksDB-style walks (every kind of
// seek, Next() and Prev() mixed so direction switches land anywhere) over
// the tree of scan_model_test.cc, compared step by step with the model, on
// every backend and under a fault wrapper that delays and reorders
// completions.
//
// Reproduce a failure with the seed it prints:
//   LSMSCAN_SEED=<seed> bazel test //scan:scan_iterator_model_test

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <functional>
#include <iterator>
#include <map>
#include <optional>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "lsmscan/lsm/schema.h"
#include "lsmscan/lsm/tree.h"
#include "lsmscan/lsm/tree_testing.h"
#include "lsmscan/scan/scan_buffer.h"
#include "lsmscan/scan/scan_iterator.h"
#include "lsmscan/scan/scan_model_fixture.h"
#include "lsmscan/storage/base/prng.h"
#include "lsmscan/storage/storage_testing.h"

namespace lsmscan {
namespace {

using Schema32 = Record32Schema;
using Value = Schema32::Value;
using ::lsmscan::testing::Backend;
using ::lsmscan::testing::BackendName;
using ::lsmscan::testing::CompactBlocking;
using ::lsmscan::testing::kKeyCount;
using ::lsmscan::testing::ModelTreeTest;
using ::lsmscan::testing::ReadsBetweenValues;
using ::lsmscan::testing::ScanFixture;

class ScanIteratorModelTest : public ModelTreeTest {};

// What a ScanIterator must show, walking a copy of the model taken at its
// seek: a position and the bounds [lower, upper] the seek set (a direction
// switch reaches up to them).
struct IteratorModel {
  using Map = std::map<uint64_t, Value>;

  explicit IteratorModel(Map map) : values(std::move(map)) {}

  void Seek(uint64_t target, uint64_t upper_bound) {
    lower = 0;
    upper = upper_bound;
    position = values.lower_bound(target);
  }
  void SeekForPrev(uint64_t target, uint64_t lower_bound) {
    lower = lower_bound;
    upper = UINT64_MAX;
    position = values.upper_bound(target);
    Prev();
  }
  void Next() { ++position; }
  void Prev() {
    position = position == values.begin() ? values.end() : std::prev(position);
  }
  bool Valid() const {
    return position != values.end() && position->first >= lower &&
           position->first <= upper;
  }

  Map values;
  Map::const_iterator position;
  uint64_t lower = 0;
  uint64_t upper = UINT64_MAX;
};

// The iterator used as RocksDB users use it, against the model: random
// seeks of every kind (Seek, SeekForPrev, with and without a bound,
// SeekToFirst, SeekToLast), then Next() and Prev() mixed, so direction
// switches happen at random places, at the latest state or at a held
// snapshot; with writes between steps (the iterator must not see them: it
// stays at its seek's snapshot across switches), point reads and other
// scans of the same storage between steps (the value's bytes are checked
// unchanged after them), Reset() mid-walk, and iterators both reused and
// made per walk. After every walk the iterator holds nothing.
TEST_P(ScanIteratorModelTest, WalksMatchTheModel) {
  const uint64_t seed = testing::SeedFromEnvironment(0xBEEF);
  SCOPED_TRACE(absl::StrCat("LSMSCAN_SEED=", seed, " backend ",
                            BackendName(GetParam())));
  ASSERT_NO_FATAL_FAILURE(BuildTree(seed));
  ScanFixture& fixture = *fixture_;
  Prng& prng = fixture.prng();
  auto buffer = ScanBuffer::ForTree(
      *fixture.tree(),
      {.read_ahead_blocks = static_cast<uint32_t>(prng.Uniform(4))});
  ASSERT_TRUE(buffer.ok());
  ReadsBetweenValues between(fixture.tree(), &prng);
  std::optional<ScanIterator<Schema32>> it;
  Snapshot it_snapshot = kSnapshotLatest;
  uint64_t values = 0;
  uint64_t switches = 0;
  uint64_t writes = 0;
  uint64_t refused_writes = 0;
  for (int walk = 0; walk < 200; walk++) {
    Snapshot snapshot = kSnapshotLatest;
    if (!fixture.snapshots().empty() && prng.Chance(0.3)) {
      snapshot = fixture.snapshots()[prng.Uniform(fixture.snapshots().size())];
    }
    if (!it.has_value() || it_snapshot != snapshot || prng.Chance(0.5)) {
      it.emplace(fixture.tree(), buffer->get(), snapshot);
      it_snapshot = snapshot;
    }
    IteratorModel model(fixture.model().at(snapshot));
    const uint64_t target = prng.Uniform(kKeyCount + 100);
    const uint64_t reach = prng.Uniform(kKeyCount);
    const bool empty_range = prng.Chance(0.05);  // An error to report.
    const uint64_t upper = empty_range ? target - 1 : target + reach;
    const uint64_t lower =
        empty_range ? target + 1 : target - std::min(target, reach);
    const uint64_t kind = prng.Uniform(6);
    SCOPED_TRACE(absl::StrCat("walk ", walk, ": seek kind ", kind, " to ",
                              target, " within [", lower, ", ", upper,
                              "] at snapshot ", snapshot));
    switch (kind) {
      case 0:
        it->Seek(target);
        model.Seek(target, UINT64_MAX);
        break;
      case 1:
        it->Seek(target, upper);
        model.Seek(target, upper);
        break;
      case 2:
        it->SeekForPrev(target);
        model.SeekForPrev(target, 0);
        break;
      case 3:
        it->SeekForPrev(target, lower);
        model.SeekForPrev(target, lower);
        break;
      case 4:
        it->SeekToFirst();
        model.Seek(0, UINT64_MAX);
        break;
      default:
        it->SeekToLast();
        model.SeekForPrev(UINT64_MAX, 0);
        break;
    }
    const bool bad_range =
        (kind == 1 && upper < target) || (kind == 3 && lower > target);
    if (bad_range) {
      EXPECT_FALSE(it->Valid());
      EXPECT_TRUE(absl::IsInvalidArgument(it->status())) << it->status();
      EXPECT_FALSE(buffer->get()->in_use());
      continue;
    }
    const bool write_between = snapshot == kSnapshotLatest && prng.Chance(0.3);
    std::function<void()> work;
    if (prng.Chance(0.3)) {
      work = between.Work(fixture.model().at(snapshot), snapshot);
    }
    bool forward = kind == 0 || kind == 1 || kind == 4;
    const uint64_t step_count = prng.Uniform(80);
    for (uint64_t step = 0;; step++) {
      ASSERT_EQ(it->Valid(), model.Valid()) << "step " << step;
      if (!model.Valid()) break;
      ASSERT_EQ(it->key(), model.position->first) << "step " << step;
      ASSERT_EQ(
          std::memcmp(&it->value(), &model.position->second, sizeof(Value)), 0)
          << "step " << step;
      values++;
      if (step == step_count) break;
      if (work) {
        work();
        ASSERT_EQ(
            std::memcmp(&it->value(), &model.position->second, sizeof(Value)),
            0)
            << "the value changed under other reads, step " << step;
      }
      if (write_between && prng.Chance(0.2)) {
        const uint64_t key = prng.Uniform(kKeyCount);
        if (fixture.TryWrite(prng.Chance(0.2)
                                 ? Schema32::tombstone(key)
                                 : Schema32::Make(key, prng.Next()))) {
          writes++;
        } else {
          refused_writes++;
        }
      }
      if (prng.Chance(0.01)) {
        it->Reset();
        EXPECT_FALSE(it->Valid());
        break;
      }
      if (prng.Chance(0.2)) {
        forward = !forward;
        switches++;
      }
      if (forward) {
        it->Next();
        model.Next();
      } else {
        it->Prev();
        model.Prev();
      }
    }
    ASSERT_TRUE(it->status().ok()) << it->status();
    if (prng.Chance(0.5)) it->Reset();
    if (!it->Valid()) {
      EXPECT_FALSE(buffer->get()->in_use());
    }
    if (refused_writes > 0) {
      // The memory tables are full: flush them, as a writer would.
      it->Reset();
      ASSERT_TRUE(CompactBlocking(fixture.tree()).ok());
      refused_writes = 0;
    }
  }
  it.reset();
  EXPECT_FALSE(buffer->get()->in_use());
  std::printf(
      "iterator walks: %llu values, %llu direction switches, %llu "
      "writes between steps\n",
      static_cast<unsigned long long>(values),
      static_cast<unsigned long long>(switches),
      static_cast<unsigned long long>(writes));
  EXPECT_GT(values, 2000u);
  EXPECT_GT(switches, 200u);
  EXPECT_GT(writes, 20u);
  fixture.ReleaseAll();
}

INSTANTIATE_TEST_SUITE_P(Backends, ScanIteratorModelTest,
                         ::testing::ValuesIn(testing::AllBackends()),
                         [](const ::testing::TestParamInfo<Backend>& info) {
                           return BackendName(info.param);
                         });

}  // namespace
}  // namespace lsmscan
