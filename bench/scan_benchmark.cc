// Micro-benchmarks of the scan engine over a fully cached tree (memory
// storage): the cost of Next() per value when the data sits in one level,
// and when it is spread over seven (so the merge has seven streams to
// order), plus the seek path of short range scans.
//
//   bazel run //bench:scan_benchmark
//
// Trees hold 1,000,000 records of 32 bytes with random keys, loaded in
// random order. "levels:1" is the tree after CompactAll() (one sorted run in
// the last level); "levels:7" is the tree right after loading with a growth
// factor of 2 and 4-block tables, which leaves tables on all seven levels.

#include <cstdint>
#include <memory>
#include <vector>

#include "absl/strings/str_cat.h"
#include "benchmark/benchmark.h"
#include "lsmscan/lsm/schema.h"
#include "lsmscan/lsm/tree.h"
#include "lsmscan/lsm/tree_blocking.h"
#include "lsmscan/scan/scan_buffer.h"
#include "lsmscan/scan/scan_iterator.h"
#include "lsmscan/scan/scan_tree.h"
#include "lsmscan/storage/base/assert.h"
#include "lsmscan/storage/base/prng.h"
#include "lsmscan/storage/memory_storage.h"

namespace lsmscan {
namespace {

using Schema32 = Record32Schema;
using Value = Schema32::Value;
using Tree32 = Tree<Schema32>;

constexpr uint64_t kRecordCount = 1'000'000;

struct Fixture {
  std::unique_ptr<MemoryStorage> storage;
  std::unique_ptr<Tree32> tree;
  std::unique_ptr<ScanBuffer> buffer;
  uint32_t levels_with_tables = 0;
};

// Keys are a random permutation of a sparse key space.
uint64_t KeyOf(uint64_t index) { return index * 8 + 3; }

Fixture* BuildFixture(uint32_t levels) {
  auto* fixture = new Fixture();
  StorageOptions storage_options;
  storage_options.block_count_max = 1 << 16;
  auto storage = MemoryStorage::Create(storage_options);
  LSMSCAN_ASSERT(storage.ok());
  fixture->storage = std::move(storage).value();
  TreeOptions options;
  options.level_count = 7;
  options.growth_factor = 2;
  options.table_data_block_count_max = 4;
  auto tree = Tree32::Create(fixture->storage.get(), options);
  LSMSCAN_ASSERT(tree.ok());
  fixture->tree = std::move(tree).value();
  std::vector<uint64_t> order(kRecordCount);
  for (uint64_t i = 0; i < kRecordCount; i++) order[i] = i;
  Prng prng(7);
  for (uint64_t i = kRecordCount - 1; i > 0; i--) {
    std::swap(order[i], order[prng.Uniform(i + 1)]);
  }
  for (uint64_t index : order) {
    const absl::Status put = PutWithBackPressure(
        fixture->tree.get(), Schema32::Make(KeyOf(index), index));
    LSMSCAN_ASSERT(put.ok());
  }
  const absl::Status compacted = levels == 1
                                     ? CompactAllBlocking(fixture->tree.get())
                                     : CompactBlocking(fixture->tree.get());
  LSMSCAN_ASSERT(compacted.ok());
  for (uint32_t level = 0; level < fixture->tree->level_count(); level++) {
    if (fixture->tree->manifest().live_table_count(level) > 0) {
      fixture->levels_with_tables++;
    }
  }
  auto buffer = ScanBuffer::ForTree(*fixture->tree);
  LSMSCAN_ASSERT(buffer.ok());
  fixture->buffer = std::move(buffer).value();
  return fixture;
}

Fixture* GetFixture(uint32_t levels) {
  static Fixture* one = nullptr;
  static Fixture* seven = nullptr;
  Fixture*& fixture = levels == 1 ? one : seven;
  if (fixture == nullptr) fixture = BuildFixture(levels);
  return fixture;
}

// Drives a scan to its end, touching every value.
uint64_t DrainScan(ScanTree<Schema32>* scan, Storage* storage) {
  uint64_t sum = 0;
  bool done = false;
  auto on_read = [](void* context, ScanTree<Schema32>*, absl::Status status) {
    LSMSCAN_ASSERT(status.ok());
    *static_cast<bool*>(context) = true;
  };
  while (true) {
    done = false;
    scan->Read(on_read, &done);
    while (!done) storage->Tick(Storage::TickMode::kWaitForProgress);
    while (true) {
      const ScanNext<Value> next = scan->Next();
      if (next.kind != ScanNextKind::kValue) {
        if (next.kind == ScanNextKind::kEnd) return sum;
        break;
      }
      sum += next.value->key + next.value->payload[22];
    }
  }
}

void BM_FullScan(benchmark::State& state) {
  const auto levels = static_cast<uint32_t>(state.range(0));
  const Direction direction =
      state.range(1) == 0 ? Direction::kAscending : Direction::kDescending;
  Fixture* fixture = GetFixture(levels);
  uint64_t sum = 0;
  ScanTree<Schema32> scan;
  for (auto _ : state) {
    const absl::Status init =
        scan.Init(fixture->tree.get(), fixture->buffer.get(), kSnapshotLatest,
                  0, Schema32::kKeyMax, direction);
    LSMSCAN_ASSERT(init.ok());
    sum += DrainScan(&scan, fixture->storage.get());
  }
  benchmark::DoNotOptimize(sum);
  const ScanStats stats = scan.stats();
  state.counters["values_per_run"] =
      static_cast<double>(stats.values) /
      static_cast<double>(std::max<uint64_t>(1, stats.runs));
  state.SetItemsProcessed(
      static_cast<int64_t>(state.iterations() * kRecordCount));
  state.counters["ns_per_value"] = benchmark::Counter(
      static_cast<double>(state.iterations() * kRecordCount),
      benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
  state.SetLabel(
      absl::StrCat(fixture->levels_with_tables, " levels hold data"));
}
BENCHMARK(BM_FullScan)
    ->ArgNames({"levels", "descending"})
    ->Args({1, 0})
    ->Args({7, 0})
    ->Args({1, 1})
    ->Args({7, 1})
    ->Unit(benchmark::kMillisecond);

// Seek to a random key, take `length` values.
void BM_RangeScan(benchmark::State& state) {
  const auto levels = static_cast<uint32_t>(state.range(0));
  const auto length = static_cast<uint64_t>(state.range(1));
  Fixture* fixture = GetFixture(levels);
  ScanTree<Schema32> scan;
  Prng prng(11);
  uint64_t sum = 0;
  for (auto _ : state) {
    const uint64_t start = KeyOf(prng.Uniform(kRecordCount - length));
    const absl::Status init =
        scan.Init(fixture->tree.get(), fixture->buffer.get(), kSnapshotLatest,
                  start, start + length * 8 - 1, Direction::kAscending);
    LSMSCAN_ASSERT(init.ok());
    sum += DrainScan(&scan, fixture->storage.get());
  }
  benchmark::DoNotOptimize(sum);
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * length));
  state.SetLabel(
      absl::StrCat(fixture->levels_with_tables, " levels hold data"));
}
BENCHMARK(BM_RangeScan)
    ->ArgNames({"levels", "length"})
    ->Args({1, 10})
    ->Args({7, 10})
    ->Args({1, 100})
    ->Args({7, 100})
    ->Args({1, 1000})
    ->Args({7, 1000});

}  // namespace
}  // namespace lsmscan

BENCHMARK_MAIN();
