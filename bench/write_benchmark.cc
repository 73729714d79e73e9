// //bench:write_benchmark — loading records one put at a time into lsmscan
// (memory and pread storage) and RocksDB (WAL off on both sides), in one
// run: load time, sustained writes/s, per-put latency percentiles,
// back-pressure waits, the time to quiesce and the shape at rest; then a
// full scan of every engine whose digest must agree (issue 14).
//
//   bazel run //bench:write_benchmark              # quick: 400k x 32 B and
//                                                  # 100k x 1000 B, < 1 min
//   bazel run //bench:write_benchmark -- --full --repetitions=3
//                                                  # 4M x 32 B, 1M x 1000 B
//
// Engines run one after another, each on a fresh database, in an order
// rotated by one per repetition; ratios are taken within a repetition.
// Results: bench/RESULTS.md ("Write path").

#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "lsmscan/bench/build_info.h"
#include "lsmscan/bench/dataset.h"
#include "lsmscan/bench/record1000_schema.h"
#include "lsmscan/bench/rocksdb_engine.h"
#include "lsmscan/bench/rocksdb_options.h"
#include "lsmscan/bench/tick_clock.h"
#include "lsmscan/bench/write_load.h"
#include "lsmscan/bench/write_load_rocksdb.h"
#include "lsmscan/lsm/data_block.h"
#include "lsmscan/lsm/schema.h"
#include "lsmscan/storage/base/status_macros.h"
#include "lsmscan/storage/memory_storage.h"
#include "lsmscan/storage/pread_storage.h"

ABSL_FLAG(bool, full, false,
          "Issue 14's sizes: 4M x 32 B and 1M x 1000 B (default: a tenth).");
ABSL_FLAG(uint64_t, records_32, 0, "Records of 32 B (0: by --full).");
ABSL_FLAG(uint64_t, records_1000, 0, "Records of 1000 B (0: by --full).");
ABSL_FLAG(std::string, value_sizes, "32,1000", "Record sizes: 32 and/or 1000.");
ABSL_FLAG(std::string, orders, "random",
          "Key orders: random (a shuffle of 0..N-1) and/or sequential.");
ABSL_FLAG(std::string, engines, "memory,pread,rocksdb",
          "Engines: lsmscan memory, lsmscan pread, rocksdb.");
ABSL_FLAG(uint32_t, repetitions, 1, "Loads per engine, order rotated.");
ABSL_FLAG(double, rate, 0,
          "Puts per second, a steady open-loop schedule (0: as fast as each "
          "engine goes). Latencies are each put's own time, not its delay "
          "from the schedule.");
ABSL_FLAG(uint64_t, rocksdb_write_buffer_mib, 64,
          "RocksDB's write_buffer_size in MiB.");
ABSL_FLAG(uint32_t, lsmscan_memory_table_tables, 0,
          "lsmscan's memory tables, in tables' worth of values, 0-64 (0: "
          "the TreeOptions default, one; 16: 64 MiB each, the size of "
          "RocksDB's write buffers here).");
ABSL_FLAG(std::string, data_dir, "/tmp/lsmscan_write_benchmark",
          "Where the pread file and the RocksDB database go (removed after).");
ABSL_FLAG(uint64_t, seed, 20261125, "Seed of the key order and payloads.");

namespace lsmscan {
namespace bench {
namespace {

constexpr uint32_t kBlockSizeBytes = 64 * 1024;

struct BenchOptions {
  std::vector<uint32_t> value_sizes;
  std::vector<std::string> orders;
  std::vector<std::string> engines;
  uint32_t repetitions = 1;
  double puts_per_second = 0;
  std::string data_dir;
  uint64_t seed = 0;
  uint32_t memory_table_tables = 0;  // 0: TreeOptions' default.
  RocksDbWriteTuning tuning;
  RocksDbConfig rocksdb;
};

uint64_t RecordCount(uint32_t value_size) {
  const bool full = absl::GetFlag(FLAGS_full);
  if (value_size == 32) {
    const uint64_t flag = absl::GetFlag(FLAGS_records_32);
    return flag != 0 ? flag : full ? 4'000'000 : 400'000;
  }
  const uint64_t flag = absl::GetFlag(FLAGS_records_1000);
  return flag != 0 ? flag : full ? 1'000'000 : 100'000;
}

std::vector<uint64_t> Keys(const Dataset& dataset, const std::string& order) {
  std::vector<uint64_t> keys;
  keys.reserve(dataset.record_count());
  if (order == "sequential") {
    for (uint64_t k = 0; k < dataset.record_count(); k++) keys.push_back(k);
    return keys;
  }
  for (const Operation& op : dataset.Operations(Shape::kCompacted)) {
    keys.push_back(op.key);
  }
  return keys;
}

StorageOptions LsmscanStorage(const Dataset& dataset) {
  StorageOptions storage;
  storage.block_size_bytes = kBlockSizeBytes;
  // Room for the data several times over (compaction writes new tables
  // before it frees old ones); address space only.
  const uint64_t blocks =
      dataset.record_count() * dataset.value_size_bytes() / kBlockSizeBytes;
  storage.block_count_max = std::max<uint64_t>(blocks * 6, 4096);
  return storage;
}

template <Schema S>
absl::Status LoadLsmscanEngine(const BenchOptions& options,
                               const std::string& engine,
                               const Dataset& dataset,
                               const std::vector<uint64_t>& keys,
                               const TickClock& clock,
                               WriteLoadResult* result) {
  const StorageOptions storage_options = LsmscanStorage(dataset);
  std::unique_ptr<Storage> storage;
  const std::string path = options.data_dir + "/lsmscan.blocks";
  if (engine == "memory") {
    LSMSCAN_ASSIGN_OR_RETURN(storage, MemoryStorage::Create(storage_options));
  } else {
    std::filesystem::remove(path);
    LSMSCAN_ASSIGN_OR_RETURN(
        storage, PreadStorage::Open(path, OpenMode::kCreate,
                                    PreadStorageOptions{storage_options}));
  }
  result->engine = absl::StrCat("lsmscan ", engine);
  // The library's defaults: 7 levels growing by 8, 4 MiB tables, one
  // mutable and two sealed memory tables.
  TreeOptions tree_options;
  if (options.memory_table_tables > 0) {
    tree_options.memory_table_value_count_max =
        options.memory_table_tables * tree_options.table_data_block_count_max *
        DataBlockValueCountMax<typename S::Value>(kBlockSizeBytes);
  }
  absl::Status status =
      LoadLsmscan<S>(std::move(storage), tree_options, dataset, keys, clock,
                     options.puts_per_second, result);
  std::filesystem::remove(path);
  return status;
}

absl::Status LoadEngine(const BenchOptions& options, const std::string& engine,
                        const Dataset& dataset,
                        const std::vector<uint64_t>& keys,
                        const TickClock& clock, WriteLoadResult* result) {
  if (engine == "rocksdb") {
    result->engine = absl::StrCat("rocksdb ", options.rocksdb.Label());
    const std::string path = options.data_dir + "/rocksdb";
    absl::Status status =
        LoadRocksDb(path, options.rocksdb, options.tuning, dataset, keys, clock,
                    options.puts_per_second, result);
    std::filesystem::remove_all(path);
    return status;
  }
  if (dataset.value_size_bytes() == 32) {
    return LoadLsmscanEngine<Record32Schema>(options, engine, dataset, keys,
                                             clock, result);
  }
  return LoadLsmscanEngine<Record1000Schema>(options, engine, dataset, keys,
                                             clock, result);
}

void PrintRow(uint32_t repetition, const WriteLoadResult& r) {
  std::printf(
      "| %s | %u | %.2f | %.2f | %.0f | %.3f | %.3f | %.2f | %.1f | %.0f | "
      "%llu "
      "(%.2f s) | %.2f | %.2f | %.2f | %s (%llu runs) |\n",
      r.engine.c_str(), repetition + 1, r.load_seconds,
      r.load_thread_cpu_seconds, r.writes_per_second(), r.latency.mean_ns / 1e3,
      r.latency.p50_ns / 1e3, r.latency.p99_ns / 1e3, r.latency.p999_ns / 1e3,
      r.latency.max_ns / 1e3, static_cast<unsigned long long>(r.waits),
      r.wait_seconds, r.quiesce_seconds, r.process_cpu_seconds,
      r.write_amplification, r.shape.c_str(),
      static_cast<unsigned long long>(r.sorted_runs));
  std::fflush(stdout);
}

// Every engine of every repetition read back the same records.
absl::Status CrossCheck(const std::vector<WriteLoadResult>& results,
                        uint64_t records) {
  for (const WriteLoadResult& r : results) {
    if (r.full_scan.records != records ||
        r.full_scan.digest != results[0].full_scan.digest) {
      return absl::DataLossError(absl::StrFormat(
          "%s read back %u records (digest %016x); %s %u (%016x): the "
          "comparison is void",
          r.engine, r.full_scan.records, r.full_scan.digest, results[0].engine,
          results[0].full_scan.records, results[0].full_scan.digest));
    }
  }
  std::printf(
      "\nCross-check: every load read back %llu records, full-scan digest "
      "%016llx.\n",
      static_cast<unsigned long long>(records),
      static_cast<unsigned long long>(results[0].full_scan.digest));
  return absl::OkStatus();
}

// Per repetition: each lsmscan engine's load time and p99 over RocksDB's.
void PrintRatios(const BenchOptions& options,
                 const std::vector<WriteLoadResult>& results) {
  const size_t engines = options.engines.size();
  for (size_t i = 0; i < results.size(); i++) {
    const WriteLoadResult& r = results[i];
    if (r.engine.rfind("rocksdb", 0) == 0) continue;
    for (size_t j = i - i % engines; j < i - i % engines + engines; j++) {
      if (results[j].engine.rfind("rocksdb", 0) != 0) continue;
      std::printf(
          "%s / rocksdb, repetition %zu: load time %.2fx, load + quiesce "
          "%.2fx, p99 %.3gx\n",
          r.engine.c_str(), i / engines + 1,
          r.load_seconds / results[j].load_seconds,
          (r.load_seconds + r.quiesce_seconds) /
              (results[j].load_seconds + results[j].quiesce_seconds),
          r.latency.p99_ns / results[j].latency.p99_ns);
    }
  }
}

absl::Status RunCase(const BenchOptions& options, uint32_t value_size,
                     const std::string& order, const TickClock& clock) {
  const Dataset dataset(RecordCount(value_size), value_size, options.seed);
  const std::vector<uint64_t> keys = Keys(dataset, order);
  std::printf(
      "\n### %llu x %u B, %s order\n\n| engine | rep | load s | writer CPU s "
      "| writes/s | "
      "mean us | p50 us | p99 us | p99.9 us | max us | back-pressure waits "
      "(time) | quiesce s | process CPU s | write amp | shape at rest |\n"
      "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|---|\n",
      static_cast<unsigned long long>(dataset.record_count()), value_size,
      order.c_str());
  std::vector<WriteLoadResult> results;
  for (uint32_t rep = 0; rep < options.repetitions; rep++) {
    std::vector<WriteLoadResult> round(options.engines.size());
    for (size_t i = 0; i < options.engines.size(); i++) {
      const size_t e = (i + rep) % options.engines.size();  // Rotated.
      LSMSCAN_RETURN_IF_ERROR(LoadEngine(options, options.engines[e], dataset,
                                         keys, clock, &round[e]));
      PrintRow(rep, round[e]);
    }
    results.insert(results.end(), round.begin(), round.end());
  }
  LSMSCAN_RETURN_IF_ERROR(CrossCheck(results, dataset.record_count()));
  PrintRatios(options, results);
  return absl::OkStatus();
}

absl::StatusOr<BenchOptions> ParseOptions() {
  BenchOptions options;
  for (absl::string_view item : absl::StrSplit(absl::GetFlag(FLAGS_value_sizes),
                                               ',', absl::SkipEmpty())) {
    uint32_t size = 0;
    if (!absl::SimpleAtoi(item, &size) || (size != 32 && size != 1000)) {
      return absl::InvalidArgumentError("--value_sizes: 32 and/or 1000");
    }
    options.value_sizes.push_back(size);
  }
  for (absl::string_view item :
       absl::StrSplit(absl::GetFlag(FLAGS_orders), ',', absl::SkipEmpty())) {
    if (item != "random" && item != "sequential") {
      return absl::InvalidArgumentError("--orders: random and/or sequential");
    }
    options.orders.emplace_back(item);
  }
  for (absl::string_view item :
       absl::StrSplit(absl::GetFlag(FLAGS_engines), ',', absl::SkipEmpty())) {
    if (item != "memory" && item != "pread" && item != "rocksdb") {
      return absl::InvalidArgumentError("--engines: memory, pread, rocksdb");
    }
    options.engines.emplace_back(item);
  }
  if (options.engines.empty() || options.value_sizes.empty() ||
      options.orders.empty()) {
    return absl::InvalidArgumentError("nothing to measure");
  }
  options.repetitions = std::max<uint32_t>(1, absl::GetFlag(FLAGS_repetitions));
  options.puts_per_second = std::max(0.0, absl::GetFlag(FLAGS_rate));
  options.data_dir = absl::GetFlag(FLAGS_data_dir);
  options.seed = absl::GetFlag(FLAGS_seed);
  options.memory_table_tables =
      absl::GetFlag(FLAGS_lsmscan_memory_table_tables);
  if (options.memory_table_tables > 64) {
    return absl::InvalidArgumentError(
        "--lsmscan_memory_table_tables: 0 (the default) to 64");
  }
  options.tuning.write_buffer_bytes =
      absl::GetFlag(FLAGS_rocksdb_write_buffer_mib) << 20;
  // The scan-tuned configuration //bench:compare measures (quick mode).
  options.rocksdb = TunedConfig(64 * 1024, ColdReadahead::kFixed, 4 << 20);
  return options;
}

void PrintHeader(const BenchOptions& options, const TickClock& clock) {
  const MachineInfo machine = CollectMachineInfo();
  std::printf(
      "## //bench:write_benchmark\n\n%s UTC; %s, %d cores; %s; %s\n"
      "RocksDB %s, %s\nlsmscan: TreeOptions() defaults (7 levels, growth 8, "
      "64 KiB blocks, 4 MiB tables, 2 sealed memory tables) with memory "
      "tables of %s, no Compact() by the caller; a ResourceExhausted put waits "
      "in "
      "PutWithBackPressure() (lsm/tree_blocking.h); one storage "
      "Tick(kPoll) per put, timed with it\nRocksDB: %s; %s\n"
      "Timer: %s at %.3f ticks/ns, %.1f ns per reading (one pair per put)\n"
      "Rate: %s\n",
      machine.date.c_str(), machine.cpu.c_str(), machine.cores,
      machine.kernel.c_str(), machine.compiler.c_str(),
      RocksDbVersion().c_str(),
#if defined(LSMSCAN_ROCKSDB_RELEASE)
      "release build (--config=rocksdb_release)",
#else
      "Debian's librocksdb (built with assertions)",
#endif
      options.memory_table_tables == 0
          ? "one table's worth (the default)"
          : absl::StrFormat(
                "%u tables' worth (--lsmscan_memory_table_tables; the "
                "default is one)",
                options.memory_table_tables)
                .c_str(),
      DescribeRocksDbConfig(options.rocksdb).c_str(),
      DescribeRocksDbWriteTuning(options.tuning).c_str(), TickClock::Source(),
      clock.ticks_per_ns(), clock.read_cost_ns(),
      options.puts_per_second > 0
          ? absl::StrFormat("%.0f puts/s, open loop", options.puts_per_second)
                .c_str()
          : "as fast as each engine goes");
  if (!machine.optimized) std::printf("WARNING: built without optimisation\n");
}

absl::Status Main() {
  LSMSCAN_ASSIGN_OR_RETURN(const BenchOptions options, ParseOptions());
  std::filesystem::create_directories(options.data_dir);
  const TickClock clock = TickClock::Calibrate(200);
  PrintHeader(options, clock);
  for (uint32_t size : options.value_sizes) {
    for (const std::string& order : options.orders) {
      LSMSCAN_RETURN_IF_ERROR(RunCase(options, size, order, clock));
    }
  }
  return absl::OkStatus();
}

}  // namespace
}  // namespace bench
}  // namespace lsmscan

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "Loads records one put at a time into lsmscan and RocksDB; see "
      "bench/write_benchmark.cc.");
  absl::ParseCommandLine(argc, argv);
  const absl::Status status = lsmscan::bench::Main();
  if (!status.ok()) {
    std::fprintf(stderr, "write_benchmark: %s\n", status.ToString().c_str());
    return 1;
  }
  return 0;
}
