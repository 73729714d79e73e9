// Micro-benchmarks of the scan engine over a fully cached tree: the cost of
// Next() per value, and of short range scans (the seek path), on the tree
// shapes below, in both directions; and the RocksDB-style iterator (making
// and destroying one, short scans through a new one each time, and the cost
// of direction switches, Next() <-> Prev()).
//
// And what loading a block costs: a full scan through a copying storage with
// no block cache, which loads and verifies every data block on every run,
// and the checks of one block load alone (checksum and header; key order).
//
//   ./bazelw run //bench:scan_benchmark
//   ./bazelw run //bench:scan_benchmark -- --records=4000000
//       --benchmark_filter='RangeScan/compacted'    (one line)
//
// Shapes (--records records of 32 bytes, 1,000,000 by default):
//   merge7     random keys (8 i + 3) loaded in random order into a tree with
//              growth factor 2 and 4-block tables, then Compact(): tables on
//              six or seven levels, so the merge orders many streams with
//              short runs (about 1.7 values per run).
//   one_run    the same records after CompactAll(): one sorted run.
//   compacted  //bench:compare's compacted dataset (keys 0..n-1 in random
//              order) with the tree's default options, after CompactAll().
//   layered    //bench:compare's layered dataset (the same inserts, then 10%
//              overwrites and 5% deletes of random keys) with the tree's
//              default options and no final compaction.
//   layered_g4 the layered dataset with //bench:compare's layered options
//              (growth factor 4, 16-block tables): more sorted runs.
// Backends: `memory` (zero-copy) and `pread` with a block cache holding the
// whole tree (warmed by a full scan before timing).
//
// Each benchmark's label gives the tree's sorted runs (non-empty levels and
// memory tables) and its counters the ReadAgains and runs per scan.

#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "benchmark/benchmark.h"
#include "lsmscan/bench/dataset.h"
#include "lsmscan/bench/dataset_value.h"
#include "lsmscan/lsm/block_header.h"
#include "lsmscan/lsm/data_block.h"
#include "lsmscan/lsm/schema.h"
#include "lsmscan/lsm/tree.h"
#include "lsmscan/lsm/tree_blocking.h"
#include "lsmscan/scan/scan_buffer.h"
#include "lsmscan/scan/scan_iterator.h"
#include "lsmscan/scan/scan_tree.h"
#include "lsmscan/storage/aligned_buffer.h"
#include "lsmscan/storage/base/assert.h"
#include "lsmscan/storage/base/prng.h"
#include "lsmscan/storage/fault_storage.h"
#include "lsmscan/storage/memory_storage.h"
#include "lsmscan/storage/pread_storage.h"

namespace lsmscan {
namespace {

using Schema32 = Record32Schema;
using Value = Schema32::Value;
using Tree32 = Tree<Schema32>;

uint64_t record_count = 1'000'000;

enum class Shape { kMerge7, kOneRun, kCompacted, kLayered, kLayeredG4 };
enum class Backend { kMemory, kPread };

const char* ShapeName(Shape shape) {
  switch (shape) {
    case Shape::kMerge7:
      return "merge7";
    case Shape::kOneRun:
      return "one_run";
    case Shape::kCompacted:
      return "compacted";
    case Shape::kLayered:
      return "layered";
    case Shape::kLayeredG4:
      return "layered_g4";
  }
  return "?";
}

// Keys of the merge7 and one_run shapes: a sparse key space.
uint64_t SparseKey(uint64_t index) { return index * 8 + 3; }
// The gap between consecutive keys of a shape.
uint64_t KeyStep(Shape shape) {
  return shape == Shape::kMerge7 || shape == Shape::kOneRun ? 8 : 1;
}
uint64_t FirstKey(Shape shape) { return KeyStep(shape) == 8 ? 3 : 0; }

TreeOptions ShapeOptions(Shape shape) {
  TreeOptions options;  // The defaults.
  if (shape == Shape::kMerge7 || shape == Shape::kOneRun) {
    options.growth_factor = 2;
    options.table_data_block_count_max = 4;
  } else if (shape == Shape::kLayeredG4) {
    options.growth_factor = 4;
    options.table_data_block_count_max = 16;
  }
  return options;
}

// The writes that build `shape`, in order.
std::vector<Value> ShapeWrites(Shape shape) {
  std::vector<Value> writes;
  if (shape == Shape::kMerge7 || shape == Shape::kOneRun) {
    std::vector<uint64_t> order(record_count);
    for (uint64_t i = 0; i < record_count; i++) order[i] = i;
    Prng prng(7);
    for (uint64_t i = record_count - 1; i > 0; i--) {
      std::swap(order[i], order[prng.Uniform(i + 1)]);
    }
    for (uint64_t index : order) {
      writes.push_back(Schema32::Make(SparseKey(index), index));
    }
    return writes;
  }
  const bench::Dataset dataset(record_count, sizeof(Value), 20261125);
  const bench::Shape dataset_shape = shape == Shape::kCompacted
                                         ? bench::Shape::kCompacted
                                         : bench::Shape::kLayered;
  for (const bench::Operation& op : dataset.Operations(dataset_shape)) {
    writes.push_back(bench::DatasetValue<Schema32>(dataset, op));
  }
  return writes;
}

struct Fixture {
  std::unique_ptr<Storage> storage;
  std::unique_ptr<Tree32> tree;
  std::unique_ptr<ScanBuffer> buffer;
  std::string layout;  // Sorted runs, for the label.
};

// "6 sorted runs: L1 2, L2 4, ... tables; memory 1 sealed + 15 mutable".
std::string DescribeLayout(const Tree32& tree) {
  uint32_t runs = 0;
  std::string levels;
  for (uint32_t level = 0; level < tree.level_count(); level++) {
    const uint64_t count = tree.manifest().live_table_count(level);
    if (count == 0) continue;
    runs++;
    absl::StrAppend(&levels, levels.empty() ? "" : " ", "L", level, ":", count);
  }
  uint32_t sealed = 0;
  for (const TableMemory<Schema32>* table : tree.memory_tables().immutables()) {
    if (!table->retired() && table->count() > 0) sealed++;
  }
  const uint64_t mutable_count =
      tree.memory_tables().has_mutable()
          ? tree.memory_tables().mutable_table().count()
          : 0;
  runs += sealed + (mutable_count > 0 ? 1 : 0);
  return absl::StrCat(runs, " runs (", levels, " +", sealed, "s+",
                      mutable_count, "m)");
}

// Drives a scan to its end (or `limit` values), touching every value.
uint64_t DrainScan(ScanTree<Schema32>* scan, Storage* storage,
                   uint64_t limit = UINT64_MAX) {
  uint64_t sum = 0;
  uint64_t count = 0;
  bool done = false;
  auto on_read = [](void* context, ScanTree<Schema32>*, absl::Status status) {
    LSMSCAN_ASSERT(status.ok());
    *static_cast<bool*>(context) = true;
  };
  while (true) {
    if (!scan->ReadResident()) {
      done = false;
      scan->Read(on_read, &done);
      while (!done) storage->Tick(Storage::TickMode::kWaitForProgress);
    }
    while (true) {
      const ScanNext<Value> next = scan->Next();
      if (next.kind != ScanNextKind::kValue) {
        if (next.kind == ScanNextKind::kEnd) return sum;
        break;
      }
      sum += next.value->key + next.value->payload[22];
      if (++count == limit) {
        scan->Abort();
        return sum;
      }
    }
  }
}

absl::Status Load(Tree32* tree, Shape shape) {
  for (const Value& value : ShapeWrites(shape)) {
    absl::Status put = tree->Put(value);
    while (absl::IsResourceExhausted(put)) {
      const absl::Status compacted = CompactBlocking(tree);
      if (!compacted.ok() && !absl::IsFailedPrecondition(compacted)) {
        return compacted;
      }
      put = tree->Put(value);
    }
    if (!put.ok()) return put;
  }
  switch (shape) {
    case Shape::kMerge7:
      return CompactBlocking(tree);
    case Shape::kOneRun:
    case Shape::kCompacted:
      return CompactAllBlocking(tree);
    case Shape::kLayered:
    case Shape::kLayeredG4:
      return absl::OkStatus();
  }
  return absl::OkStatus();
}

Fixture* BuildFixture(Shape shape, Backend backend) {
  auto* fixture = new Fixture();
  StorageOptions storage_options;
  storage_options.block_count_max =
      std::max<uint64_t>(1 << 16, record_count * 32 / 65536 * 8);
  TreeOptions options = ShapeOptions(shape);
  if (backend == Backend::kMemory) {
    auto storage = MemoryStorage::Create(storage_options);
    LSMSCAN_ASSERT(storage.ok());
    fixture->storage = std::move(storage).value();
  } else {
    const std::string path =
        absl::StrCat("/tmp/lsmscan_scan_benchmark_", getpid(), "_",
                     ShapeName(shape), ".blocks");
    auto storage = PreadStorage::Open(path, OpenMode::kCreate,
                                      PreadStorageOptions{storage_options});
    LSMSCAN_ASSERT(storage.ok());
    unlink(path.c_str());  // The open file stays readable.
    fixture->storage = std::move(storage).value();
    // A cache holding the whole tree, with room for compaction's garbage.
    options.cache_block_count =
        static_cast<uint32_t>(record_count * 32 / 65536 * 2 + 256);
  }
  auto tree = Tree32::Create(fixture->storage.get(), options);
  LSMSCAN_ASSERT(tree.ok());
  fixture->tree = std::move(tree).value();
  const absl::Status loaded = Load(fixture->tree.get(), shape);
  LSMSCAN_ASSERT_MSG(loaded.ok(), loaded.ToString().c_str());
  auto buffer = ScanBuffer::ForTree(*fixture->tree);
  LSMSCAN_ASSERT(buffer.ok());
  fixture->buffer = std::move(buffer).value();
  fixture->layout = DescribeLayout(*fixture->tree);
  // Warm: every block resident (verified, or in the cache).
  ScanTree<Schema32> scan;
  LSMSCAN_ASSERT(scan.Init(fixture->tree.get(), fixture->buffer.get(),
                           kSnapshotLatest, 0, Schema32::kKeyMax,
                           Direction::kAscending)
                     .ok());
  DrainScan(&scan, fixture->storage.get());
  return fixture;
}

Fixture* GetFixture(Shape shape, Backend backend) {
  static std::map<std::pair<Shape, Backend>, Fixture*> fixtures;
  Fixture*& fixture = fixtures[{shape, backend}];
  if (fixture == nullptr) fixture = BuildFixture(shape, backend);
  return fixture;
}

void SetScanCounters(benchmark::State& state, const ScanStats& total,
                     uint64_t scans) {
  const double n = static_cast<double>(std::max<uint64_t>(1, scans));
  state.counters["read_agains"] = static_cast<double>(total.read_agains) / n;
  state.counters["values_per_run"] =
      static_cast<double>(total.values) /
      static_cast<double>(std::max<uint64_t>(1, total.runs));
}

void AddStats(ScanStats* total, const ScanStats& stats) {
  total->values += stats.values;
  total->read_agains += stats.read_agains;
  total->runs += stats.runs;
}

void FullScan(benchmark::State& state, Shape shape, Backend backend,
              Direction direction) {
  Fixture* fixture = GetFixture(shape, backend);
  uint64_t sum = 0;
  uint64_t values = 0;
  ScanStats total;
  ScanTree<Schema32> scan;
  for (auto _ : state) {
    LSMSCAN_ASSERT(scan.Init(fixture->tree.get(), fixture->buffer.get(),
                             kSnapshotLatest, 0, Schema32::kKeyMax, direction)
                       .ok());
    sum += DrainScan(&scan, fixture->storage.get());
    AddStats(&total, scan.stats());
    values = scan.stats().values;
  }
  benchmark::DoNotOptimize(sum);
  SetScanCounters(state, total, state.iterations());
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * values));
  state.counters["ns_per_value"] = benchmark::Counter(
      static_cast<double>(state.iterations() * values),
      benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
  state.SetLabel(fixture->layout);
}

// Range scans of `length` keys from random starts: [start, start + length
// keys - 1], so a scan returns up to `length` values (fewer where keys were
// deleted).
void RangeScan(benchmark::State& state, Shape shape, Backend backend,
               uint64_t length, Direction direction) {
  Fixture* fixture = GetFixture(shape, backend);
  const uint64_t step = KeyStep(shape);
  ScanTree<Schema32> scan;
  Prng prng(11);
  uint64_t sum = 0;
  ScanStats total;
  for (auto _ : state) {
    const uint64_t start =
        FirstKey(shape) + step * prng.Uniform(record_count - length);
    LSMSCAN_ASSERT(scan.Init(fixture->tree.get(), fixture->buffer.get(),
                             kSnapshotLatest, start, start + length * step - 1,
                             direction)
                       .ok());
    sum += DrainScan(&scan, fixture->storage.get());
    AddStats(&total, scan.stats());
  }
  benchmark::DoNotOptimize(sum);
  SetScanCounters(state, total, state.iterations());
  state.counters["values"] = static_cast<double>(total.values) /
                             static_cast<double>(state.iterations());
  state.SetItemsProcessed(static_cast<int64_t>(total.values));
  state.SetLabel(fixture->layout);
}

// An empty tree on memory storage and its buffer: what an idle iterator
// needs.
Fixture* GetEmptyFixture() {
  static Fixture* fixture = [] {
    auto* empty = new Fixture();
    auto storage = MemoryStorage::Create(StorageOptions());
    LSMSCAN_ASSERT(storage.ok());
    empty->storage = std::move(storage).value();
    auto tree = Tree32::Create(empty->storage.get(), TreeOptions());
    LSMSCAN_ASSERT(tree.ok());
    empty->tree = std::move(tree).value();
    auto buffer = ScanBuffer::ForTree(*empty->tree);
    LSMSCAN_ASSERT(buffer.ok());
    empty->buffer = std::move(buffer).value();
    return empty;
  }();
  return fixture;
}

// Making and destroying an idle ScanIterator, as a RocksDB user makes one
// per short scan (NewIterator + delete). Its per-level read state lives in
// the caller's ScanBuffer, so the object is small (scan_iterator_test.cc
// bounds its size).
void IteratorMakeAndDestroy(benchmark::State& state) {
  Fixture* fixture = GetEmptyFixture();
  for (auto _ : state) {
    ScanIterator<Schema32> it(fixture->tree.get(), fixture->buffer.get());
    benchmark::DoNotOptimize(&it);
  }
  state.counters["sizeof"] =
      static_cast<double>(sizeof(ScanIterator<Schema32>));
}

// A short scan through a new iterator each time (make, Seek, 10 values,
// destroy): the YCSB-E pattern.
void IteratorShortScan(benchmark::State& state, Shape shape) {
  Fixture* fixture = GetFixture(shape, Backend::kMemory);
  Prng prng(13);
  uint64_t sum = 0;
  for (auto _ : state) {
    ScanIterator<Schema32> it(fixture->tree.get(), fixture->buffer.get());
    int taken = 0;
    for (it.Seek(SparseKey(prng.Uniform(record_count)));
         it.Valid() && taken < 10; it.Next()) {
      sum += it.key();
      taken++;
    }
  }
  benchmark::DoNotOptimize(sum);
  state.SetLabel(fixture->layout);
}

// 100 steps after a random Seek(), reversing direction (Next() <-> Prev())
// every `switch_every` steps (0: never). A switch restarts the scan at the
// current key in the other direction at the same snapshot: the ns per step
// at switch_every 1 is about the cost of a switch.
void IteratorSteps(benchmark::State& state, Shape shape,
                   uint32_t switch_every) {
  Fixture* fixture = GetFixture(shape, Backend::kMemory);
  constexpr uint32_t kSteps = 100;
  ScanIterator<Schema32> it(fixture->tree.get(), fixture->buffer.get());
  Prng prng(17);
  uint64_t sum = 0;
  for (auto _ : state) {
    it.Seek(SparseKey(kSteps + prng.Uniform(record_count - 2 * kSteps)));
    bool forward = true;
    for (uint32_t step = 1; step <= kSteps; step++) {
      if (forward) {
        it.Next();
      } else {
        it.Prev();
      }
      LSMSCAN_ASSERT(it.Valid());
      sum += it.key();
      if (switch_every != 0 && step % switch_every == 0) forward = !forward;
    }
  }
  it.Reset();
  benchmark::DoNotOptimize(sum);
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * kSteps));
  state.SetLabel(fixture->layout);
}

// The iterator's benchmarks, on the sparse-key shapes (one_run, merge7).
void RegisterIterator() {
  benchmark::RegisterBenchmark("IteratorMakeAndDestroy",
                               IteratorMakeAndDestroy);
  for (Shape shape : {Shape::kOneRun, Shape::kMerge7}) {
    benchmark::RegisterBenchmark(
        absl::StrCat("IteratorShortScan/", ShapeName(shape)).c_str(),
        [=](benchmark::State& state) { IteratorShortScan(state, shape); });
    for (uint32_t switch_every : {0, 10, 1}) {
      benchmark::RegisterBenchmark(
          absl::StrCat("IteratorSteps/", ShapeName(shape),
                       "/switch_every:", switch_every)
              .c_str(),
          [=](benchmark::State& state) {
            IteratorSteps(state, shape, switch_every);
          });
    }
  }
}

const char* DirectionTag(Direction direction) {
  return direction == Direction::kAscending ? "asc" : "desc";
}

void RegisterAll() {
  const Direction directions[] = {Direction::kAscending,
                                  Direction::kDescending};
  const Shape full_shapes[] = {Shape::kMerge7, Shape::kOneRun,
                               Shape::kCompacted, Shape::kLayered,
                               Shape::kLayeredG4};
  for (Shape shape : full_shapes) {
    for (Direction direction : directions) {
      benchmark::RegisterBenchmark(
          absl::StrCat("FullScan/", ShapeName(shape), "/memory/",
                       DirectionTag(direction))
              .c_str(),
          [=](benchmark::State& state) {
            FullScan(state, shape, Backend::kMemory, direction);
          })
          ->Unit(benchmark::kMillisecond);
    }
  }
  const Shape range_shapes[] = {Shape::kMerge7, Shape::kCompacted,
                                Shape::kLayered, Shape::kLayeredG4};
  for (Backend backend : {Backend::kMemory, Backend::kPread}) {
    for (Shape shape : range_shapes) {
      for (uint64_t length : {10, 100, 1000}) {
        for (Direction direction : directions) {
          benchmark::RegisterBenchmark(
              absl::StrCat("RangeScan/", ShapeName(shape), "/",
                           backend == Backend::kMemory ? "memory" : "pread",
                           "/L", length, "/", DirectionTag(direction))
                  .c_str(),
              [=](benchmark::State& state) {
                RangeScan(state, shape, backend, length, direction);
              });
        }
      }
    }
  }
}

// The one_run tree reopened through a copying storage (the fault wrapper
// with no faults) and no block cache: every scan loads, and the grid
// verifies, every block it reads, as a cold scan of a pread file would,
// without the disk.
struct LoadingFixture {
  std::unique_ptr<MemoryStorage> inner;
  std::unique_ptr<FaultStorage> storage;
  std::unique_ptr<Tree32> tree;
  std::unique_ptr<ScanBuffer> buffer;
};

LoadingFixture* GetLoadingFixture() {
  static LoadingFixture* fixture = nullptr;
  if (fixture != nullptr) return fixture;
  Fixture* cached = GetFixture(Shape::kOneRun, Backend::kMemory);
  LSMSCAN_ASSERT(CheckpointBlocking(cached->tree.get()).ok());
  fixture = new LoadingFixture();
  fixture->inner = MemoryStorage::Open(
      static_cast<MemoryStorage*>(cached->storage.get())->device());
  fixture->storage = std::make_unique<FaultStorage>(fixture->inner.get(),
                                                    FaultOptions(), /*seed=*/1);
  TreeOptions options = cached->tree->options();
  options.cache_block_count = 0;
  auto tree = Tree32::Open(fixture->storage.get(), options);
  LSMSCAN_ASSERT(tree.ok());
  fixture->tree = std::move(tree).value();
  auto buffer = ScanBuffer::ForTree(*fixture->tree);
  LSMSCAN_ASSERT(buffer.ok());
  fixture->buffer = std::move(buffer).value();
  return fixture;
}

void BM_FullScanLoadingEveryBlock(benchmark::State& state) {
  LoadingFixture* fixture = GetLoadingFixture();
  ScanTree<Schema32> scan;
  uint64_t sum = 0;
  for (auto _ : state) {
    const absl::Status init =
        scan.Init(fixture->tree.get(), fixture->buffer.get(), kSnapshotLatest,
                  0, Schema32::kKeyMax, Direction::kAscending);
    LSMSCAN_ASSERT(init.ok());
    sum += DrainScan(&scan, fixture->storage.get());
  }
  benchmark::DoNotOptimize(sum);
  state.SetItemsProcessed(
      static_cast<int64_t>(state.iterations() * record_count));
  state.counters["ns_per_value"] = benchmark::Counter(
      static_cast<double>(state.iterations() * record_count),
      benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}
BENCHMARK(BM_FullScanLoadingEveryBlock)->Unit(benchmark::kMillisecond);

// The checks of one data block load, on a full 64 KiB block of 2,046
// records: check 0 is what the grid verifies for every block (checksum,
// header); check 1 adds the data block's structure and key order
// (ValidateDataBlockContents, one pass over the keys).
void BM_DataBlockLoadChecks(benchmark::State& state) {
  const bool key_order = state.range(0) != 0;
  constexpr uint32_t kBlockSize = kBlockSizeBytesDefault;
  AlignedBuffer frame(kBlockSize);
  DataBlockBuilder<Schema32> builder;
  builder.Reset(frame.data(), kBlockSize);
  for (uint64_t i = 0; !builder.full(); i++) {
    builder.Add(Schema32::Make(SparseKey(i), i));
  }
  const uint32_t count = builder.count();
  const uint32_t schema_id = 7;
  const Checksum128 checksum = builder.Seal(/*address=*/5, schema_id, 1);
  const BlockExpectation expected{5, checksum, BlockType::kData, schema_id};
  for (auto _ : state) {
    absl::Status status = VerifyBlock(frame.data(), kBlockSize, expected);
    if (key_order && status.ok()) {
      status = ValidateDataBlockContents<Schema32>(frame.data(), kBlockSize);
    }
    LSMSCAN_ASSERT(status.ok());
    benchmark::DoNotOptimize(status);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * count));
  state.counters["ns_per_block"] = benchmark::Counter(
      static_cast<double>(state.iterations()),
      benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}
BENCHMARK(BM_DataBlockLoadChecks)->ArgName("key_order")->Arg(0)->Arg(1);

}  // namespace
}  // namespace lsmscan

int main(int argc, char** argv) {
  // --records=N (before Google Benchmark's own flags).
  for (int i = 1; i < argc; i++) {
    const char* prefix = "--records=";
    if (std::strncmp(argv[i], prefix, std::strlen(prefix)) != 0) continue;
    if (!absl::SimpleAtoi(argv[i] + std::strlen(prefix),
                          &lsmscan::record_count) ||
        lsmscan::record_count < 10'000) {
      std::fprintf(stderr, "--records: a number >= 10000\n");
      return 2;
    }
    for (int j = i; j + 1 < argc; j++) argv[j] = argv[j + 1];
    argc--;
    break;
  }
  lsmscan::RegisterAll();
  lsmscan::RegisterIterator();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
