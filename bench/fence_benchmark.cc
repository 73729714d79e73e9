// Fence heads A/B (issue 19): short range scans of a layered tree with the
// merge's fence heads on (a level waiting for a block enters the merge with
// its next key, and Read() completes as soon as the merge can go on) and off
// (the merge stops at the first level that waits; ScanBufferOptions::
// fence_heads = false), interleaved in one run.
//
//   ./bazelw run //bench:fence_benchmark
//   ./bazelw run //bench:fence_benchmark -- --records=4000000 --rounds=8
//
// The tree: //bench:compare's layered dataset of --records 32-byte records
// (inserts in random order, then ~10% overwrites and ~5% deletes), default
// tree options, 64 KiB blocks, no final compaction, written to a file in
// --data_dir. It is then read through
//   cold: io_uring and pread, both O_DIRECT, with a --cold_cache_blocks
//         block cache (random seeks over a tree many times its size: almost
//         every block is a read);
//   warm: pread with a cache holding the whole tree, warmed first.
// Each round runs --scans seeks of each length (100 and 1,000 values) at
// random keys per configuration, fence heads on then off (odd rounds: off
// then on), each seek a new ScanTree on a new range. Per seek: the time to
// its first value, the time to its last, and its ReadAgains. Printed: p50
// and p99 over all rounds, the mean ReadAgains per seek, and the ratio
// on/off of each figure per round (median, min and max over the rounds:
// the spread on a loaded machine). Figures: bench/RESULTS.md, "Fence heads
// (issue 19)".

#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "lsmscan/bench/dataset.h"
#include "lsmscan/bench/dataset_value.h"
#include "lsmscan/bench/latency_summary.h"
#include "lsmscan/lsm/schema.h"
#include "lsmscan/lsm/tree.h"
#include "lsmscan/lsm/tree_blocking.h"
#include "lsmscan/scan/scan_buffer.h"
#include "lsmscan/scan/scan_tree.h"
#include "lsmscan/storage/base/assert.h"
#include "lsmscan/storage/base/prng.h"
#include "lsmscan/storage/pread_storage.h"
#include "lsmscan/storage/uring_storage.h"

ABSL_FLAG(uint64_t, records, 1000000, "Records of the layered dataset.");
ABSL_FLAG(uint32_t, rounds, 6, "Interleaved rounds of on and off.");
ABSL_FLAG(uint32_t, scans, 300, "Seeks per length, configuration and mode.");
ABSL_FLAG(uint32_t, read_ahead, 1, "ScanBufferOptions::read_ahead_blocks.");
ABSL_FLAG(uint32_t, cold_cache_blocks, 64, "Block cache of the cold runs.");
ABSL_FLAG(std::string, data_dir, "/tmp",
          "Where the tree's file goes (must support O_DIRECT).");

namespace lsmscan {
namespace {

using Schema32 = Record32Schema;
using Value = Schema32::Value;
using Tree32 = Tree<Schema32>;
using Clock = std::chrono::steady_clock;
using bench::Percentile;

constexpr uint32_t kBlockSizeBytes = 64 << 10;
constexpr uint64_t kLengths[] = {100, 1000};

StorageOptions FileStorageOptions(uint64_t records) {
  StorageOptions options;
  options.block_size_bytes = kBlockSizeBytes;
  options.block_count_max =
      std::max<uint64_t>(1 << 12, records * 32 / kBlockSizeBytes * 8);
  return options;
}

// Writes the layered tree to `path` and checkpoints it.
void BuildTree(const std::string& path, uint64_t records) {
  auto storage =
      PreadStorage::Open(path, OpenMode::kCreate,
                         PreadStorageOptions{FileStorageOptions(records)});
  LSMSCAN_ASSERT(storage.ok());
  auto tree = Tree32::Create(storage->get(), TreeOptions());
  LSMSCAN_ASSERT(tree.ok());
  const bench::Dataset dataset(records, sizeof(Value), 20261125);
  for (const bench::Operation& op :
       dataset.Operations(bench::Shape::kLayered)) {
    const Value value = bench::DatasetValue<Schema32>(dataset, op);
    LSMSCAN_ASSERT(PutWithBackPressure(tree->get(), value).ok());
  }
  LSMSCAN_ASSERT(CheckpointBlocking(tree->get()).ok());
}

// One seek: the time to its first value and to its last, and ReadAgains.
struct Seek {
  double first_us = 0;
  double last_us = 0;
  uint64_t read_agains = 0;
  uint64_t pending = 0;  // ReadAgains because a level's data was not there.
};

// Scans `length` values from `key` with a new scan.
Seek RunSeek(Tree32* tree, ScanBuffer* buffer, uint64_t key, uint64_t length,
             uint64_t* sink) {
  Seek seek;
  bool done = false;
  auto on_read = [](void* context, ScanTree<Schema32>*, absl::Status status) {
    LSMSCAN_ASSERT(status.ok());
    *static_cast<bool*>(context) = true;
  };
  const Clock::time_point start = Clock::now();
  ScanTree<Schema32> scan;
  LSMSCAN_ASSERT(scan.Init(tree, buffer, kSnapshotLatest, key,
                           Schema32::kKeyMax, Direction::kAscending)
                     .ok());
  uint64_t count = 0;
  while (count < length) {
    if (!scan.ReadResident()) {
      done = false;
      scan.Read(on_read, &done);
      while (!done) tree->storage()->Tick(Storage::TickMode::kWaitForProgress);
    }
    ScanNext<Value> next = scan.Next();
    for (; next.kind == ScanNextKind::kValue && count < length;) {
      *sink += next.value->payload[3];
      if (count++ == 0) {
        seek.first_us =
            std::chrono::duration<double, std::micro>(Clock::now() - start)
                .count();
      }
      if (count < length) next = scan.Next();
    }
    if (next.kind == ScanNextKind::kEnd) break;
  }
  seek.last_us =
      std::chrono::duration<double, std::micro>(Clock::now() - start).count();
  seek.read_agains = scan.stats().read_agains;
  seek.pending = scan.stats().read_agains - scan.stats().read_aheads;
  scan.Abort();  // Waits for its reads in flight: not timed.
  return seek;
}

// Every seek of one (configuration, length, mode), and per round.
struct Series {
  std::vector<double> first_us;
  std::vector<double> last_us;
  uint64_t read_agains = 0;
  uint64_t pending = 0;
  // Per round: p50 of first, p50 of last, p99 of last, ReadAgains.
  std::vector<std::array<double, 4>> rounds;
};

void RunRound(Tree32* tree, ScanBuffer* buffer, uint64_t length,
              uint64_t records, uint64_t seed, Series* series, uint64_t* sink) {
  Prng prng(seed);
  std::vector<double> first;
  std::vector<double> last;
  uint64_t read_agains = 0;
  uint64_t pending = 0;
  const uint32_t scans = absl::GetFlag(FLAGS_scans);
  for (uint32_t i = 0; i < scans; i++) {
    const Seek seek =
        RunSeek(tree, buffer, prng.Uniform(records - length), length, sink);
    first.push_back(seek.first_us);
    last.push_back(seek.last_us);
    read_agains += seek.read_agains;
    pending += seek.pending;
  }
  series->first_us.insert(series->first_us.end(), first.begin(), first.end());
  series->last_us.insert(series->last_us.end(), last.begin(), last.end());
  series->read_agains += read_agains;
  series->pending += pending;
  series->rounds.push_back({Percentile(first, 0.5), Percentile(last, 0.5),
                            Percentile(last, 0.99),
                            static_cast<double>(read_agains) / scans});
}

void PrintRatio(const char* name, const Series& on, const Series& off,
                size_t figure) {
  std::vector<double> ratios;
  for (size_t r = 0; r < on.rounds.size(); r++) {
    const double denominator = off.rounds[r][figure];
    ratios.push_back(denominator > 0 ? on.rounds[r][figure] / denominator : 0);
  }
  std::sort(ratios.begin(), ratios.end());
  std::printf("    on/off %-14s median %.2f  [min %.2f, max %.2f]\n", name,
              ratios[ratios.size() / 2], ratios.front(), ratios.back());
}

void PrintSeries(const char* mode, const Series& series, uint64_t seeks) {
  std::printf(
      "    %-3s first value p50 %8.1f us p99 %8.1f us | last value p50 %8.1f "
      "us p99 %8.1f us | ReadAgains/seek %.2f (data not there %.2f)\n",
      mode, Percentile(series.first_us, 0.5), Percentile(series.first_us, 0.99),
      Percentile(series.last_us, 0.5), Percentile(series.last_us, 0.99),
      static_cast<double>(series.read_agains) / static_cast<double>(seeks),
      static_cast<double>(series.pending) / static_cast<double>(seeks));
}

// Runs every round of both modes on `tree` and prints the figures.
void Measure(const char* name, Tree32* tree, uint64_t records) {
  const uint32_t read_ahead = absl::GetFlag(FLAGS_read_ahead);
  auto on = ScanBuffer::ForTree(*tree, {.read_ahead_blocks = read_ahead});
  auto off = ScanBuffer::ForTree(
      *tree, {.read_ahead_blocks = read_ahead, .fence_heads = false});
  LSMSCAN_ASSERT(on.ok() && off.ok());
  uint64_t sink = 0;
  const uint32_t rounds = absl::GetFlag(FLAGS_rounds);
  for (uint64_t length : kLengths) {
    Series series_on;
    Series series_off;
    for (uint32_t round = 0; round < rounds; round++) {
      // The same seeks for both modes in a round; on first in even rounds.
      const uint64_t seed = 1000 * length + round;
      for (int leg = 0; leg < 2; leg++) {
        const bool fence_heads = (leg == 0) == (round % 2 == 0);
        RunRound(tree, fence_heads ? on->get() : off->get(), length, records,
                 seed, fence_heads ? &series_on : &series_off, &sink);
      }
    }
    const uint64_t seeks = uint64_t{rounds} * absl::GetFlag(FLAGS_scans);
    std::printf("  %s Seek+%lu (%lu seeks per mode)\n", name, length, seeks);
    PrintSeries("on", series_on, seeks);
    PrintSeries("off", series_off, seeks);
    PrintRatio("first p50", series_on, series_off, 0);
    PrintRatio("last p50", series_on, series_off, 1);
    PrintRatio("last p99", series_on, series_off, 2);
    PrintRatio("ReadAgains", series_on, series_off, 3);
  }
  std::printf("  (checksum %lu)\n", sink);
}

std::unique_ptr<Tree32> OpenTree(Storage* storage, uint32_t cache_blocks) {
  TreeOptions options;
  options.cache_block_count = cache_blocks;
  auto tree = Tree32::Open(storage, options);
  LSMSCAN_ASSERT_MSG(tree.ok(), tree.status().ToString().c_str());
  return std::move(tree).value();
}

int Main() {
  const uint64_t records = absl::GetFlag(FLAGS_records);
  const std::string path = absl::StrCat(absl::GetFlag(FLAGS_data_dir),
                                        "/lsmscan_fence_benchmark_", getpid());
  BuildTree(path, records);
  const StorageOptions storage_options = FileStorageOptions(records);
  std::printf(
      "fence heads on/off: layered tree of %lu records of 32 B, 64 KiB "
      "blocks, read-ahead %u, %u rounds\n",
      records, absl::GetFlag(FLAGS_read_ahead), absl::GetFlag(FLAGS_rounds));
  const uint32_t cold_cache = absl::GetFlag(FLAGS_cold_cache_blocks);
  {
    auto uring = UringStorage::Open(path, OpenMode::kOpenExisting,
                                    {storage_options, /*direct_io=*/true});
    if (uring.ok()) {
      auto tree = OpenTree(uring->get(), cold_cache);
      Measure("cold io_uring O_DIRECT", tree.get(), records);
    } else {
      std::printf("  io_uring skipped: %s\n",
                  uring.status().ToString().c_str());
    }
  }
  {
    auto pread = PreadStorage::Open(path, OpenMode::kOpenExisting,
                                    {storage_options, /*direct_io=*/true});
    LSMSCAN_ASSERT_MSG(pread.ok(), "O_DIRECT: pass --data_dir on a disk");
    auto tree = OpenTree(pread->get(), cold_cache);
    Measure("cold pread O_DIRECT", tree.get(), records);
  }
  {
    auto pread = PreadStorage::Open(path, OpenMode::kOpenExisting,
                                    {storage_options, /*direct_io=*/false});
    LSMSCAN_ASSERT(pread.ok());
    const auto all =
        static_cast<uint32_t>(records * 32 / kBlockSizeBytes * 2 + 256);
    auto tree = OpenTree(pread->get(), all);
    auto warm = ScanBuffer::ForTree(*tree);
    LSMSCAN_ASSERT(warm.ok());
    uint64_t sink = 0;
    RunSeek(tree.get(), warm->get(), 0, records * 2, &sink);  // Warms it.
    Measure("warm pread+cache", tree.get(), records);
  }
  unlink(path.c_str());
  return 0;
}

}  // namespace
}  // namespace lsmscan

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  return lsmscan::Main();
}
