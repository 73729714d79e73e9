// Fence heads A/B (issue 19): short range scans of a tree with the merge's
// fence heads on (a level waiting for a block enters the merge with its next
// key, and Read() completes as soon as the merge can go on) and off (the
// merge stops at the first level that waits; ScanBufferOptions::
// fence_heads = false), interleaved in one run.
//
//   ./bazelw run //bench:fence_benchmark     # every shape, 1M records
//   ./bazelw run //bench:fence_benchmark -- --shape=recent_clustered
//       --records=4000000 --rounds=8 --scans=500     (one line)
//
// The trees (--shape, a comma-separated list; bench/fence_shapes.h):
//   uniform:          //bench:compare's layered dataset of --records
//                     32-byte records (random inserts, then ~10% overwrites
//                     and ~5% deletes); every level spans the key space.
//   recent_clustered: --records old records compacted into a dense bottom
//                     level, then --recent_percent of recent writes, half in
//                     --hot_windows narrow windows of the old key range, half
//                     appended above it (the time-series / secondary-index
//                     case: recent writes clustered in key space over older
//                     dense data).
//   slow_level:       recent_clustered with every read of the newest disk
//                     level's blocks held back --slow_us (bench/
//                     delay_storage.h: a slow device region).
// Default tree options, 64 KiB blocks, written to a file in --data_dir and
// checkpointed. Printed first: the levels, and per level the share of seek
// keys whose first block of that level starts after the key (where a fence
// can let other levels' values flow at the seek). The tree is then read
// through
//   cold: io_uring and pread, both O_DIRECT, with a --cold_cache_blocks
//         block cache (random seeks over a tree many times its size: almost
//         every bottom-level block is a read);
//   warm: pread with a cache holding the whole tree, warmed first.
// Each round runs --scans seeks of each length (100 and 1,000 values) at
// uniformly random keys of the old key range per configuration, fence heads
// on then off (odd rounds: off then on), each seek a new ScanTree on a new
// range [key, end of key space]. Per seek: the time to its first value, the
// time to its last, and its ReadAgains. Printed: p50 and p99 over all
// rounds, the mean ReadAgains per seek, and the ratio on/off of each figure
// per round (median, min and max over the rounds: the spread on a loaded
// machine). Figures: bench/RESULTS.md, "Fence heads (issue 19)".

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
#include "absl/strings/str_split.h"
#include "lsmscan/bench/delay_storage.h"
#include "lsmscan/bench/fence_shapes.h"
#include "lsmscan/bench/latency_summary.h"
#include "lsmscan/lsm/schema.h"
#include "lsmscan/lsm/tree.h"
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
ABSL_FLAG(std::string, shape, "uniform,recent_clustered,slow_level",
          "Trees to measure, comma-separated: uniform, recent_clustered, "
          "slow_level (bench/fence_shapes.h).");
ABSL_FLAG(uint32_t, recent_percent, 25,
          "recent_clustered: recent writes, % of --records.");
ABSL_FLAG(uint32_t, hot_windows, 16,
          "recent_clustered: hot windows of the old key range.");
ABSL_FLAG(uint32_t, window_keys, 0,
          "recent_clustered: keys per hot window (0: records / 1024).");
ABSL_FLAG(uint32_t, hot_from_percent, 0,
          "recent_clustered: the hot windows lie above this % of the old "
          "key range (0: anywhere; 90: its last tenth, as in time series).");
ABSL_FLAG(uint32_t, slow_us, 2000,
          "slow_level: microseconds each read of the slow level takes.");
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

// Writes `shape`'s tree to `path` and checkpoints it; prints its levels.
// Returns the newest disk level's data blocks (slow_level delays them).
std::vector<BlockAddress> BuildTree(const std::string& path,
                                    bench::FenceShape shape, uint64_t records) {
  auto storage =
      PreadStorage::Open(path, OpenMode::kCreate,
                         PreadStorageOptions{FileStorageOptions(records)});
  LSMSCAN_ASSERT(storage.ok());
  auto tree = Tree32::Create(storage->get(), TreeOptions());
  LSMSCAN_ASSERT(tree.ok());
  const bench::RecentWrites recent{
      .percent = absl::GetFlag(FLAGS_recent_percent),
      .hot_windows = absl::GetFlag(FLAGS_hot_windows),
      .window_keys = absl::GetFlag(FLAGS_window_keys),
      .hot_from_percent = absl::GetFlag(FLAGS_hot_from_percent)};
  bench::LoadFenceShape(shape, records, recent, tree->get());
  std::printf("  levels: %s\n", bench::LevelsDescription(**tree).c_str());
  std::printf(
      "  seek keys whose first block of a level starts after them: %s\n",
      bench::SeekGapsDescription(**tree, records, 100000).c_str());
  uint32_t level = 0;
  std::vector<BlockAddress> newest = bench::NewestLevelBlocks(**tree, &level);
  if (shape == bench::FenceShape::kSlowLevel) {
    std::printf("  slow: the %zu data blocks of L%u, reads held %u us\n",
                newest.size(), level, absl::GetFlag(FLAGS_slow_us));
  }
  return newest;
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

// Opens `storage` (through a DelayStorage of `slow` blocks if any) with a
// cache of `cache_blocks` and measures it; `warm` first scans everything.
void MeasureStorage(const char* name, Storage* storage,
                    const std::vector<BlockAddress>& slow,
                    uint32_t cache_blocks, bool warm, uint64_t records) {
  std::unique_ptr<bench::DelayStorage> delayed;
  if (!slow.empty()) {
    delayed = std::make_unique<bench::DelayStorage>(
        storage, slow, std::chrono::microseconds(absl::GetFlag(FLAGS_slow_us)));
    storage = delayed.get();
  }
  auto tree = OpenTree(storage, cache_blocks);
  if (warm) {
    auto buffer = ScanBuffer::ForTree(*tree);
    LSMSCAN_ASSERT(buffer.ok());
    uint64_t sink = 0;
    RunSeek(tree.get(), buffer->get(), 0, UINT64_MAX, &sink);  // Warms it.
  }
  Measure(name, tree.get(), records);
  tree.reset();
  if (delayed != nullptr) {
    std::printf("  (slow reads %lu)\n", delayed->slow_read_count());
  }
}

// Builds `shape`'s tree and measures it cold (io_uring, pread) and warm.
void MeasureShape(bench::FenceShape shape, uint64_t records) {
  const std::string path =
      absl::StrCat(absl::GetFlag(FLAGS_data_dir), "/lsmscan_fence_benchmark_",
                   getpid(), "_", bench::FenceShapeName(shape));
  std::printf(
      "fence heads on/off, shape %s: %lu records of 32 B, 64 KiB blocks, "
      "read-ahead %u, cold cache %u blocks, %u rounds\n",
      bench::FenceShapeName(shape), records, absl::GetFlag(FLAGS_read_ahead),
      absl::GetFlag(FLAGS_cold_cache_blocks), absl::GetFlag(FLAGS_rounds));
  if (shape != bench::FenceShape::kUniform) {
    std::printf(
        "  recent writes %u%%, %u hot windows of %u keys (0: "
        "records/1024) above %u%% of the key range\n",
        absl::GetFlag(FLAGS_recent_percent), absl::GetFlag(FLAGS_hot_windows),
        absl::GetFlag(FLAGS_window_keys),
        absl::GetFlag(FLAGS_hot_from_percent));
  }
  std::vector<BlockAddress> slow = BuildTree(path, shape, records);
  if (shape != bench::FenceShape::kSlowLevel) slow.clear();
  const StorageOptions storage_options = FileStorageOptions(records);
  const uint32_t cold_cache = absl::GetFlag(FLAGS_cold_cache_blocks);
  {
    auto uring = UringStorage::Open(path, OpenMode::kOpenExisting,
                                    {storage_options, /*direct_io=*/true});
    if (uring.ok()) {
      MeasureStorage("cold io_uring O_DIRECT", uring->get(), slow, cold_cache,
                     false, records);
    } else {
      std::printf("  io_uring skipped: %s\n",
                  uring.status().ToString().c_str());
    }
  }
  {
    auto pread = PreadStorage::Open(path, OpenMode::kOpenExisting,
                                    {storage_options, /*direct_io=*/true});
    LSMSCAN_ASSERT_MSG(pread.ok(), "O_DIRECT: pass --data_dir on a disk");
    MeasureStorage("cold pread O_DIRECT", pread->get(), slow, cold_cache, false,
                   records);
  }
  {
    auto pread = PreadStorage::Open(path, OpenMode::kOpenExisting,
                                    {storage_options, /*direct_io=*/false});
    LSMSCAN_ASSERT(pread.ok());
    const auto all =
        static_cast<uint32_t>(records * 32 / kBlockSizeBytes * 3 + 256);
    MeasureStorage("warm pread+cache", pread->get(), slow, all, true, records);
  }
  unlink(path.c_str());
}

int Main() {
  const uint64_t records = absl::GetFlag(FLAGS_records);
  std::vector<bench::FenceShape> shapes;
  const std::vector<std::string> names =
      absl::StrSplit(absl::GetFlag(FLAGS_shape), ',');
  for (const std::string& name : names) {
    bench::FenceShape shape;
    if (!bench::ParseFenceShape(name, &shape)) {
      std::fprintf(stderr,
                   "--shape: unknown shape '%s' (uniform, recent_clustered, "
                   "slow_level)\n",
                   name.c_str());
      return 2;
    }
    shapes.push_back(shape);
  }
  for (bench::FenceShape shape : shapes) MeasureShape(shape, records);
  return 0;
}

}  // namespace
}  // namespace lsmscan

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  return lsmscan::Main();
}
