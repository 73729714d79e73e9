// //bench:algebra_benchmark — the scan algebra against the alternatives,
// on the same data:
//
//   lsmscan zig-zag   ScanIntersection / ScanDifference of two index scans
//                     (scan/scan_intersection.h): laggards stepped, then
//                     probed to the leader's id
//   lsmscan full      both index scans read whole, then
//                     std::set_intersection / std::set_difference
//   RocksDB zig-zag   two iterators doing the same zig-zag: the laggard is
//                     stepped with Next() (lsmscan's adaptive budget of at
//                     most kScanCatchUpStepCount steps), then Seek()s to
//                     the leader's id
//   RocksDB full      both ranges read whole with Next(), then std::set_*
//
// Data: one index tree of 32-byte entries keyed (field, id), packed as
// field << 32 | id (8-byte big-endian keys for RocksDB, 24-byte values on
// both sides), holding `--entries` ids for field 1 (scan A) and as many for
// field 2 (scan B). Queries: A AND B, A MINUS B, over all ids, both
// directions. Overlap patterns:
//
//   clustered p%   ids come in clusters of `--cluster_ids` consecutive ids
//                  (time-correlated fields: ids are timestamps); in each
//                  cluster A's run and B's run share p% of their ids, so a
//                  zig-zag can skip the rest of each run unread
//   interleaved 1% A and B each take every id of [0, 100 * entries) with
//                  probability 1/100, independently: no run to skip, the
//                  zig-zag's worst case
//
// Both engines are warm: lsmscan on its memory storage (zero-copy), RocksDB
// with a block cache holding the database (files in --dir; no compression,
// no filters, indexes in the table readers, max_auto_readahead_size=0,
// perf level kDisable, statistics without timers: //bench:compare's tuned
// warm profile), both compacted into one sorted run, same block size
// (--block_size). Blocks are data
// blocks used: ScanStats (lsmscan) and the block cache's data hit + miss
// tickers (RocksDB). Times are the thread's CPU time (the machine is
// shared): the four methods run round-robin, one warm-up round and then
// --repetitions rounds, and the table shows each one's median (min-max);
// ns/result divides a whole query's time (Init to End) by the keys it
// returns. Ratios are taken round by round (methods of one round met the
// machine in the same mood), median (min-max).
//
//   ./bazelw run //bench:algebra_benchmark -- --entries=1000000
//
// The recorded runs (bench/RESULTS.md) measured the release RocksDB:
//   ./bazelw run --config=rocksdb_release //bench:algebra_benchmark --
//       --entries=1000000 --repetitions=5

#include <rocksdb/db.h>
#include <rocksdb/perf_level.h>
#include <rocksdb/version.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "lsmscan/bench/algebra_lsmscan.h"
#include "lsmscan/bench/algebra_rocksdb.h"
#include "lsmscan/bench/algebra_workload.h"
#include "lsmscan/bench/build_info.h"
#include "lsmscan/lsm/direction.h"
#include "lsmscan/storage/base/assert.h"

ABSL_FLAG(uint64_t, entries, 1000000, "Ids per field (per scan).");
ABSL_FLAG(uint64_t, cluster_ids, 10000,
          "Ids per cluster per field in the clustered patterns.");
ABSL_FLAG(uint32_t, block_size, 4096, "Block size of both engines.");
ABSL_FLAG(int, repetitions, 5, "Runs per measurement (the median is shown).");
ABSL_FLAG(std::string, dir, "/tmp/lsmscan_algebra_benchmark",
          "Where RocksDB's database goes (replaced).");
ABSL_FLAG(std::vector<std::string>, patterns,
          std::vector<std::string>({"clustered1", "clustered10", "clustered50",
                                    "interleaved1"}),
          "Overlap patterns to run (clustered1, clustered10, clustered50, "
          "interleaved1).");
ABSL_FLAG(bool, rocksdb, true, "Also measure RocksDB.");
ABSL_FLAG(std::vector<std::string>, queries,
          std::vector<std::string>({"and", "minus"}),
          "Queries to run: and (A AND B), minus (A MINUS B).");
ABSL_FLAG(bool, zigzag_only, false,
          "Measure only lsmscan's zig-zag (for profiling).");
ABSL_FLAG(int, evict_mib, 0,
          "With --zigzag_only: between runs, write this many MiB of other "
          "memory, so the zig-zag meets CPU caches as cold as the other "
          "methods leave them in a full run (for profiling).");

namespace lsmscan {
namespace bench {
namespace algebra {
namespace {

struct Measured {
  bool measured = false;
  double ns_per_result = 0;  // Median.
  double ns_min = 0;
  double ns_max = 0;
  uint64_t results = 0;
  uint64_t checksum = 0;
  uint64_t data_blocks = 0;
};

// Writes every byte of `memory` (which no method reads): evicts the CPU
// caches, as the other methods of a full run do. Not measured.
Outcome Evict(std::vector<uint8_t>* memory) {
  std::fill(memory->begin(), memory->end(),
            static_cast<uint8_t>((*memory)[0] + 1));
  return Outcome{};
}

double NsPerResult(const Outcome& outcome) {
  return outcome.seconds * 1e9 /
         static_cast<double>(std::max<uint64_t>(1, outcome.results));
}

// The median (min-max) of `values`.
struct Spread {
  double median = 0;
  double min = 0;
  double max = 0;
};

Spread SpreadOf(std::vector<double> values) {
  if (values.empty()) return {};
  std::sort(values.begin(), values.end());
  return {values[values.size() / 2], values.front(), values.back()};
}

// Runs `methods` round-robin, one warm-up round and then `repetitions`
// rounds, so that every method meets the shared machine in the same moods;
// returns each method's outcomes, round by round.
std::vector<std::vector<Outcome>> MeasureTogether(
    int repetitions, const std::vector<std::function<Outcome()>>& methods) {
  std::vector<std::vector<Outcome>> outcomes(methods.size());
  for (int round = -1; round < repetitions; round++) {
    for (size_t m = 0; m < methods.size(); m++) {
      const Outcome outcome = methods[m]();
      if (round >= 0) outcomes[m].push_back(outcome);
    }
  }
  return outcomes;
}

Measured Summarize(const std::vector<Outcome>& outcomes) {
  Measured measured;
  if (outcomes.empty()) return measured;
  measured.measured = true;
  std::vector<double> ns;
  for (const Outcome& outcome : outcomes) ns.push_back(NsPerResult(outcome));
  const Spread spread = SpreadOf(ns);
  measured.ns_per_result = spread.median;
  measured.ns_min = spread.min;
  measured.ns_max = spread.max;
  measured.results = outcomes.back().results;
  measured.checksum = outcomes.back().checksum;
  measured.data_blocks = outcomes.back().data_blocks;
  return measured;
}

// Round by round, how many times slower `slow` was than `fast`.
Spread RatioOf(const std::vector<Outcome>& slow,
               const std::vector<Outcome>& fast) {
  std::vector<double> ratios;
  for (size_t i = 0; i < slow.size() && i < fast.size(); i++) {
    ratios.push_back(NsPerResult(slow[i]) / NsPerResult(fast[i]));
  }
  return SpreadOf(ratios);
}

// One line of the table (methods not measured show zeros).
void Row(const Pattern& pattern, Op op, Direction direction,
         const Measured& zig, const Measured& full, const Measured& rocks,
         const Measured& rocks_full, const Spread& full_ratio,
         const Spread& rocks_ratio) {
  // Every method must agree on the answer.
  for (const Measured* other : {&full, &rocks, &rocks_full}) {
    if (!other->measured) continue;
    LSMSCAN_ASSERT(zig.results == other->results);
    LSMSCAN_ASSERT(zig.checksum == other->checksum);
  }
  auto ns = [](const Measured& m) {
    return absl::StrFormat("%.1f (%.1f-%.1f)", m.ns_per_result, m.ns_min,
                           m.ns_max);
  };
  auto times = [](const Spread& r) {
    return absl::StrFormat("%.1fx (%.1f-%.1f)", r.median, r.min, r.max);
  };
  std::printf(
      "| %s | %s | %s | %llu | %s | %s | %s | %s | %llu | %llu | %llu | "
      "%llu | %.3f | %s | %s |\n",
      pattern.name.c_str(), OpName(op), DirectionName(direction),
      static_cast<unsigned long long>(zig.results), ns(zig).c_str(),
      ns(full).c_str(), ns(rocks).c_str(), ns(rocks_full).c_str(),
      static_cast<unsigned long long>(zig.data_blocks),
      static_cast<unsigned long long>(full.data_blocks),
      static_cast<unsigned long long>(rocks.data_blocks),
      static_cast<unsigned long long>(rocks_full.data_blocks),
      static_cast<double>(zig.data_blocks) /
          static_cast<double>(std::max<uint64_t>(1, full.data_blocks)),
      times(full_ratio).c_str(), times(rocks_ratio).c_str());
  std::fflush(stdout);
}

void PrintHeader() {
  const bench::MachineInfo machine = bench::CollectMachineInfo();
  std::printf("# //bench:algebra_benchmark\n\n");
  std::printf("- date: %s\n- machine: %s, %d cores, %s\n- compiler: %s%s\n",
              machine.date.c_str(), machine.cpu.c_str(), machine.cores,
              machine.kernel.c_str(), machine.compiler.c_str(),
              machine.optimized ? " (optimised)" : " (NOT optimised)");
  auto library = bench::InspectLibraryOf(
      reinterpret_cast<const void*>(&rocksdb::DestroyDB));
#ifdef LSMSCAN_ROCKSDB_RELEASE
  const char* build = "the release build (tools/build_rocksdb_release.sh)";
#else
  const char* build = "Debian's librocksdb";
#endif
  const std::string where =
      !library.ok()
          ? std::string("statically linked")
          : absl::StrCat(library->path, library->imports_assert_fail
                                            ? " (assertions ON: not NDEBUG)"
                                            : " (NDEBUG: no assertions)");
  std::printf("- RocksDB %d.%d.%d, %s: %s\n", ROCKSDB_MAJOR, ROCKSDB_MINOR,
              ROCKSDB_PATCH, build, where.c_str());
  std::printf(
      "- data: %llu ids per field, clusters of %llu ids, %u-byte blocks, "
      "32-byte entries; %d repetitions, median (min-max) ns of CPU time per "
      "result\n\n",
      static_cast<unsigned long long>(absl::GetFlag(FLAGS_entries)),
      static_cast<unsigned long long>(absl::GetFlag(FLAGS_cluster_ids)),
      absl::GetFlag(FLAGS_block_size), absl::GetFlag(FLAGS_repetitions));
  std::printf(
      "| pattern | query | direction | results | lsmscan zig-zag ns/result | "
      "lsmscan full+std ns/result | RocksDB zig-zag ns/result | RocksDB "
      "full+std ns/result | lsmscan zig-zag blocks | lsmscan full blocks | "
      "RocksDB zig-zag blocks | RocksDB full blocks | zig-zag / full blocks "
      "| lsmscan full / zig-zag time | RocksDB zig-zag / lsmscan zig-zag "
      "time |\n");
  std::printf(
      "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
      "---:|\n");
  std::fflush(stdout);
}

int Main() {
  rocksdb::SetPerfLevel(rocksdb::PerfLevel::kDisable);
  const uint64_t entries = absl::GetFlag(FLAGS_entries);
  const uint64_t cluster_ids = absl::GetFlag(FLAGS_cluster_ids);
  const uint32_t block_size = absl::GetFlag(FLAGS_block_size);
  const int repetitions = absl::GetFlag(FLAGS_repetitions);
  PrintHeader();
  std::vector<Pattern> patterns;
  for (const std::string& name : absl::GetFlag(FLAGS_patterns)) {
    if (name == "interleaved1") {
      patterns.push_back(Interleaved(entries));
    } else if (name.rfind("clustered", 0) == 0) {
      uint32_t percent = 0;
      LSMSCAN_ASSERT_MSG(absl::SimpleAtoi(name.substr(9), &percent),
                         "--patterns: clustered<percent>");
      patterns.push_back(Clustered(entries, cluster_ids, percent));
    } else {
      std::fprintf(stderr, "unknown pattern %s\n", name.c_str());
      return 1;
    }
  }
  std::string shapes;
  std::vector<uint8_t> evict_memory(
      static_cast<size_t>(std::max(0, absl::GetFlag(FLAGS_evict_mib))) << 20);
  for (const Pattern& pattern : patterns) {
    const bool zigzag_only = absl::GetFlag(FLAGS_zigzag_only);
    const bool with_rocksdb = absl::GetFlag(FLAGS_rocksdb) && !zigzag_only;
    LsmscanIndex lsmscan;
    lsmscan.Load(pattern, block_size);
    RocksDbIndex rocksdb;
    if (with_rocksdb) {
      rocksdb.Load(pattern, block_size, absl::GetFlag(FLAGS_dir));
    }
    absl::StrAppend(&shapes, "- ", pattern.name, ": lsmscan ", lsmscan.Shape(),
                    with_rocksdb ? "; RocksDB " + rocksdb.Shape() : "", "\n");
    for (Op op : {Op::kIntersection, Op::kDifference}) {
      const std::vector<std::string> queries = absl::GetFlag(FLAGS_queries);
      if (std::find(queries.begin(), queries.end(),
                    op == Op::kIntersection ? "and" : "minus") ==
          queries.end()) {
        continue;
      }
      for (Direction direction :
           {Direction::kAscending, Direction::kDescending}) {
        std::vector<std::function<Outcome()>> methods = {
            [&] { return lsmscan.ZigZag(op, direction); }};
        if (!zigzag_only) {
          methods.push_back([&] { return lsmscan.Full(op, direction); });
        } else if (!evict_memory.empty()) {
          methods.push_back([&] { return Evict(&evict_memory); });
        }
        if (with_rocksdb) {
          methods.push_back([&] { return rocksdb.ZigZag(op, direction); });
          methods.push_back([&] { return rocksdb.Full(op, direction); });
        }
        const std::vector<std::vector<Outcome>> outcomes =
            MeasureTogether(repetitions, methods);
        const std::vector<Outcome> none;
        const std::vector<Outcome>& zig = outcomes[0];
        const std::vector<Outcome>& full = zigzag_only ? none : outcomes[1];
        const std::vector<Outcome>& rocks =
            with_rocksdb ? outcomes[outcomes.size() - 2] : none;
        const std::vector<Outcome>& rocks_full =
            with_rocksdb ? outcomes.back() : none;
        Row(pattern, op, direction, Summarize(zig), Summarize(full),
            Summarize(rocks), Summarize(rocks_full), RatioOf(full, zig),
            RatioOf(rocks, zig));
      }
    }
  }
  std::printf("\nShapes:\n%s", shapes.c_str());
  return 0;
}

}  // namespace
}  // namespace algebra
}  // namespace bench
}  // namespace lsmscan

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  return lsmscan::bench::algebra::Main();
}