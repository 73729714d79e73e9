// //bench:compare — lsmscan's range scans beside RocksDB's iterators, on the
// same data, in one run.
//
//   bazel run //bench:compare                  # --quick: 1M records, ~3 min
//   bazel run //bench:compare -- --full --runs=3
//   bazel run //bench:compare -- --help
//
// For each record size and tree shape it loads the same dataset (bench/
// dataset.h) into lsmscan and into RocksDB (a default and a scan-tuned
// configuration, bench/rocksdb_options.h), checks that every engine returns
// the same records, then times full scans, range scans and seek scans warm
// and cold, every record hashed (bench/record_digest.h) and every pass's
// digest compared across engines (bench/measure.h); then YCSB workload E
// (bench/ycsb_run.h). Reports go to stdout and to --out (results.md,
// results.json, chart_*.svg): bench/report.h. See bench/RESULTS.md.

#include <stdlib.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "lsmscan/bench/build_info.h"
#include "lsmscan/bench/compare_setup.h"
#include "lsmscan/bench/report.h"
#include "lsmscan/bench/rocksdb_engine.h"
#include "lsmscan/bench/ycsb.h"
#include "lsmscan/bench/ycsb_run.h"
#include "lsmscan/storage/base/status_macros.h"
#include "rocksdb/db.h"
#if defined(LSMSCAN_ROCKSDB_RELEASE)
#include "lsmscan_rocksdb_release.h"
#endif

ABSL_FLAG(bool, quick, true,
          "Quick mode (the default): 1,000,000 records, >= 5 repetitions of "
          ">= 20 ms samples; about 3 minutes.");
ABSL_FLAG(bool, full, false,
          "Full mode: 4,000,000 records, >= 10 repetitions of >= 200 ms "
          "samples, more workloads (overrides --quick).");
ABSL_FLAG(uint32_t, runs, 1,
          "Repeat every measurement this many times over the loaded data; "
          "speedups then give the median and min-max of the per-run ratios.");
ABSL_FLAG(uint64_t, records, 0, "Records per dataset (0: 1M quick, 4M full).");
ABSL_FLAG(std::string, value_size, "32",
          "Record sizes in bytes, comma-separated, from {32, 128}; each is "
          "measured in every shape.");
ABSL_FLAG(std::string, shapes, "compacted,layered",
          "Tree shapes: compacted (one sorted run) and/or layered (several "
          "levels + memory tables, with overwrites and deletes).");
ABSL_FLAG(uint32_t, repetitions, 0,
          "Timed repetitions per workload and run (0: 5 quick, 10 full).");
ABSL_FLAG(uint32_t, min_sample_ms, 0,
          "Minimum duration of one timed sample; passes repeat inside it "
          "(0: 20 quick, 200 full).");
ABSL_FLAG(bool, cold, true,
          "Also measure cold reads (O_DIRECT, 4 MiB caches) of the compacted "
          "trees.");
ABSL_FLAG(std::string, cold_value_sizes, "32",
          "Record sizes whose compacted trees are also measured cold.");
ABSL_FLAG(std::string, seek_nexts, "",
          "db_bench-style seekrandom: records read per random seek, "
          "comma-separated (default: 100).");
ABSL_FLAG(std::string, tuned_block_sizes, "",
          "Block sizes of the scan-tuned RocksDB engines, one engine each "
          "(default: 65536 quick; 16384,65536 full: the sweep of "
          "4096,16384,65536 in bench/RESULTS.md had no single winner, and "
          "every speedup is against the fastest RocksDB engine).");
ABSL_FLAG(std::string, tuned_cold_readahead, "",
          "Cold read-ahead of the tuned RocksDB engines, one engine each: "
          "auto, fixed (readahead_size = lsmscan's 4032 KiB budget), "
          "adaptive+async (max_auto_readahead_size = that budget, "
          "adaptive_readahead, async_io) (default: fixed quick; "
          "fixed,adaptive+async full).");
ABSL_FLAG(bool, rocksdb_default, true,
          "Also measure RocksDB's default configuration.");
ABSL_FLAG(bool, rocksdb_mmap, true,
          "Also measure the tuned database through mmap with no block cache "
          "and no checksum verification (labelled).");
ABSL_FLAG(uint64_t, ycsb_records, 0,
          "YCSB workload E: keys loaded (0: 200,000 quick, 1,000,000 full); "
          "--ycsb_ops=0 skips it.");
ABSL_FLAG(
    int64_t, ycsb_ops, -1,
    "YCSB workload E: operations per run (-1: 20,000 quick, 100,000 full).");
ABSL_FLAG(bool, huge_pages, true,
          "Run with GLIBC_TUNABLES=glibc.malloc.hugetlb=1 (restarting itself "
          "if needed), so malloc asks for transparent huge pages for both "
          "engines' heaps (RocksDB's block cache and memtables).");
ABSL_FLAG(std::string, out, "",
          "Report directory (default: bench/out in the workspace under `bazel "
          "run`, else ./bench_out).");
ABSL_FLAG(std::string, update_results, "",
          "Also write the report into this markdown file (relative to the "
          "workspace under `bazel run`) between its <!-- compare:begin --> "
          "and <!-- compare:end --> lines, and the charts beside it: "
          "--update_results=bench/RESULTS.md regenerates the recorded run.");
ABSL_FLAG(std::string, data_dir, "/tmp/lsmscan_compare",
          "Where the data files go (must support O_DIRECT for cold runs).");
ABSL_FLAG(bool, keep_data, false,
          "Keep --data_dir at the end (e.g. to run db_bench on a database).");
ABSL_FLAG(uint64_t, seed, 20261125, "Seed of the datasets and workloads.");
ABSL_FLAG(bool, allow_unoptimized, false,
          "Run even if this binary was built without optimisation.");

namespace lsmscan {
namespace bench {
namespace {

constexpr char kHugeTlbTunable[] = "glibc.malloc.hugetlb=1";

absl::StatusOr<std::vector<uint64_t>> ParseList(const std::string& flag,
                                                const std::string& text) {
  std::vector<uint64_t> values;
  for (absl::string_view item : absl::StrSplit(text, ',', absl::SkipEmpty())) {
    uint64_t value = 0;
    if (!absl::SimpleAtoi(item, &value) || value == 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("--", flag, ": not a positive number: ", item));
    }
    values.push_back(value);
  }
  return values;
}

absl::Status ParseSizesAndShapes(CompareOptions* options) {
  const std::string sizes = absl::GetFlag(FLAGS_value_size);
  LSMSCAN_ASSIGN_OR_RETURN(
      const std::vector<uint64_t> values,
      ParseList("value_size", sizes.empty() ? "32" : sizes));
  for (uint64_t value : values) {
    if (value != 32 && value != 128) {
      return absl::InvalidArgumentError("--value_size: 32 or 128");
    }
    options->value_sizes.push_back(static_cast<uint32_t>(value));
  }
  for (absl::string_view shape :
       absl::StrSplit(absl::GetFlag(FLAGS_shapes), ',', absl::SkipEmpty())) {
    if (shape != "compacted" && shape != "layered") {
      return absl::InvalidArgumentError(
          absl::StrCat("--shapes: compacted or layered, got ", shape));
    }
    options->shapes.push_back(shape == "compacted" ? Shape::kCompacted
                                                   : Shape::kLayered);
  }
  return absl::OkStatus();
}

absl::Status ParseRocksDbFlags(CompareOptions* options) {
  const std::string blocks_flag = absl::GetFlag(FLAGS_tuned_block_sizes);
  std::string readahead_flag = absl::GetFlag(FLAGS_tuned_cold_readahead);
  if (readahead_flag.empty()) {
    readahead_flag = options->full ? "fixed,adaptive+async" : "fixed";
  }
  LSMSCAN_ASSIGN_OR_RETURN(
      const std::vector<uint64_t> blocks,
      ParseList("tuned_block_sizes", !blocks_flag.empty() ? blocks_flag
                                     : options->full      ? "16384,65536"
                                                          : "65536"));
  for (uint64_t block : blocks) {
    options->tuned_block_sizes.push_back(static_cast<uint32_t>(block));
  }
  for (absl::string_view mode :
       absl::StrSplit(readahead_flag, ',', absl::SkipEmpty())) {
    bool known = false;
    for (ColdReadahead r : {ColdReadahead::kAuto, ColdReadahead::kFixed,
                            ColdReadahead::kAdaptiveAsync}) {
      if (mode == ColdReadaheadName(r)) {
        options->tuned_cold_readaheads.push_back(r);
        known = true;
      }
    }
    if (!known) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--tuned_cold_readahead: auto, fixed or adaptive+async, got ", mode));
    }
  }
  if (options->tuned_cold_readaheads.empty()) {
    options->tuned_cold_readaheads.push_back(ColdReadahead::kFixed);
  }
  options->rocksdb_default = absl::GetFlag(FLAGS_rocksdb_default);
  options->rocksdb_mmap = absl::GetFlag(FLAGS_rocksdb_mmap);
  return absl::OkStatus();
}

absl::Status ParseWorkloadFlags(CompareOptions* options) {
  const bool full = options->full;
  const uint32_t repetitions = absl::GetFlag(FLAGS_repetitions);
  options->measure.repetitions = repetitions != 0 ? repetitions : full ? 10 : 5;
  const uint32_t sample_ms = absl::GetFlag(FLAGS_min_sample_ms);
  options->measure.min_sample_seconds = (sample_ms != 0 ? sample_ms
                                         : full         ? 200
                                                        : 20) *
                                        1e-3;
  options->measure.seed = options->seed;
  options->measure.say = &Say;
  WorkloadSet& set = options->workloads;
  set.range_lengths = {10, 100, 1000, 10000};
  set.descending_lengths = {100};
  set.cold_lengths = {100};
  const std::string nexts = absl::GetFlag(FLAGS_seek_nexts);
  LSMSCAN_ASSIGN_OR_RETURN(
      set.seek_nexts, ParseList("seek_nexts", nexts.empty() ? "100" : nexts));
  const uint64_t ycsb_records = absl::GetFlag(FLAGS_ycsb_records);
  options->ycsb_records = ycsb_records != 0 ? ycsb_records
                          : full            ? 1'000'000
                                            : 200'000;
  const int64_t ycsb_ops = absl::GetFlag(FLAGS_ycsb_ops);
  options->ycsb_ops = ycsb_ops >= 0 ? static_cast<uint64_t>(ycsb_ops)
                      : full        ? 100'000
                                    : 20'000;
  return absl::OkStatus();
}

absl::StatusOr<CompareOptions> ParseOptions() {
  CompareOptions options;
  options.full = absl::GetFlag(FLAGS_full);
  options.records = absl::GetFlag(FLAGS_records);
  if (options.records == 0) {
    options.records = options.full ? 4'000'000 : 1'000'000;
  }
  options.runs = std::max<uint32_t>(1, absl::GetFlag(FLAGS_runs));
  options.cold = absl::GetFlag(FLAGS_cold);
  options.data_dir = absl::GetFlag(FLAGS_data_dir);
  options.keep_data = absl::GetFlag(FLAGS_keep_data);
  options.seed = absl::GetFlag(FLAGS_seed);
  options.out = absl::GetFlag(FLAGS_out);
  if (options.out.empty()) {
    const char* workspace = std::getenv("BUILD_WORKSPACE_DIRECTORY");
    options.out = workspace != nullptr ? absl::StrCat(workspace, "/bench/out")
                                       : "bench_out";
  }
  LSMSCAN_RETURN_IF_ERROR(ParseSizesAndShapes(&options));
  LSMSCAN_RETURN_IF_ERROR(ParseRocksDbFlags(&options));
  LSMSCAN_RETURN_IF_ERROR(ParseWorkloadFlags(&options));
  return options;
}

// Restarts this program with the malloc huge-page tunable set, unless it
// is set already (or --huge_pages=false). Returns only if it did not.
void MaybeRestartWithHugePages(char** argv) {
  if (!absl::GetFlag(FLAGS_huge_pages)) return;
  const char* tunables = std::getenv("GLIBC_TUNABLES");
  if (tunables != nullptr &&
      absl::StrContains(tunables, "glibc.malloc.hugetlb")) {
    return;
  }
  const std::string value = tunables == nullptr || *tunables == '\0'
                                ? std::string(kHugeTlbTunable)
                                : absl::StrCat(tunables, ":", kHugeTlbTunable);
  setenv("GLIBC_TUNABLES", value.c_str(), 1);
  execv("/proc/self/exe", argv);
  std::perror("compare: cannot restart with GLIBC_TUNABLES");  // Go on.
}

std::string ReadFirstLine(const std::string& path) {
  std::ifstream file(path);
  std::string line;
  std::getline(file, line);
  return line;
}

// "madvise" from "always [madvise] never".
std::string TransparentHugePageMode() {
  const std::string line =
      ReadFirstLine("/sys/kernel/mm/transparent_hugepage/enabled");
  const size_t open = line.find('[');
  const size_t close = line.find(']');
  if (open == std::string::npos || close == std::string::npos) return "unknown";
  return line.substr(open + 1, close - open - 1);
}

// The AnonHugePages line of /proc/self/smaps_rollup, e.g. "524288 kB".
std::string AnonHugePages() {
  std::ifstream file("/proc/self/smaps_rollup");
  std::string line;
  while (std::getline(file, line)) {
    if (absl::StartsWith(line, "AnonHugePages:")) {
      return std::string(absl::StripAsciiWhitespace(
          absl::StripPrefix(line, "AnonHugePages:")));
    }
  }
  return "unknown";
}

std::string GitCommit() {
  const char* workspace = std::getenv("BUILD_WORKSPACE_DIRECTORY");
  if (workspace == nullptr) return "unknown (not run by bazel run)";
  const std::string command =
      absl::StrCat("git -C '", workspace,
                   "' describe --always --dirty --abbrev=12 2>/dev/null");
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return "unknown";
  char buffer[128] = {};
  const bool got = std::fgets(buffer, sizeof(buffer), pipe) != nullptr;
  pclose(pipe);
  return got ? std::string(absl::StripAsciiWhitespace(buffer)) : "unknown";
}

void DescribeRocksDbLibrary(ReportContext* context) {
  context->rocksdb_version = RocksDbVersion();
#if defined(LSMSCAN_ROCKSDB_RELEASE)
  context->rocksdb_build = LSMSCAN_ROCKSDB_RELEASE_BUILD;
#endif
#if defined(LSMSCAN_ROCKSDB_RELEASE_STATIC)
  // Linked into this binary: built with -c opt (NDEBUG), so an import of
  // __assert_fail here can only come from RocksDB's objects.
  context->rocksdb_library =
      absl::StrCat(LSMSCAN_ROCKSDB_RELEASE_LIBRARY, " (static, linked in)");
  absl::StatusOr<bool> asserts =
      ElfImportsSymbol("/proc/self/exe", "__assert_fail");
  context->rocksdb_assertions = asserts.ok() && *asserts;
#else
  absl::StatusOr<LibraryInfo> library =
      InspectLibraryOf(reinterpret_cast<const void*>(&rocksdb::DestroyDB));
  if (library.ok()) {
    context->rocksdb_library = library->path;
    context->rocksdb_assertions = library->imports_assert_fail;
  } else {
    context->rocksdb_library =
        absl::StrCat("unknown (", library.status().message(), ")");
  }
#endif
}

ReportContext MakeContext(const CompareOptions& options, int argc,
                          char** argv) {
  ReportContext context;
  context.machine = CollectMachineInfo();
  std::vector<std::string> args(argv + 1, argv + argc);
  context.command =
      absl::StrCat("./bazelw run //bench:compare", args.empty() ? "" : " -- ",
                   absl::StrJoin(args, " "));
  context.commit = GitCommit();
  context.load = ReadFirstLine("/proc/loadavg");
  const char* tunables = std::getenv("GLIBC_TUNABLES");
  context.huge_pages = absl::StrCat(
      "THP mode ", TransparentHugePageMode(),
      "; GLIBC_TUNABLES=", tunables == nullptr ? "(unset)" : tunables,
      " (malloc madvises its heap for THP: RocksDB's block cache and "
      "memtables, lsmscan's heap; lsmscan also madvises its memory device "
      "and buffers >= 2 MiB)");
  DescribeRocksDbLibrary(&context);
  for (const RocksDbConfig& config : RocksDbConfigs(options)) {
    context.rocksdb_configs.push_back(DescribeRocksDbConfig(config));
  }
  context.record_count = options.records;
  context.repetitions = options.measure.repetitions;
  context.runs = options.runs;
  context.min_sample_seconds = options.measure.min_sample_seconds;
  context.notes.push_back(absl::StrCat(
      "lsmscan: 64 KiB blocks; warm = memory storage, mmap, pread with a block "
      "cache holding the whole tree; cold = io_uring or pread with O_DIRECT, "
      "a 4 MiB block cache and ",
      kColdReadAheadBlocks, " blocks (4032 KiB) of read-ahead per level"));
  context.notes.push_back(
      "every record returned is hashed on both sides (XXH3-64 streaming over "
      "key and payload, one digest per scan) and every pass's record count "
      "and digest are compared across all engines: a mismatch fails the run");
  context.notes.push_back(
      "RocksDB reuses one iterator for all scans of a pass (refreshed after "
      "writes); lsmscan pays ScanTree::Init (read view) per scan");
  context.notes.push_back(
      "a run repeats every measurement over the loaded data (datasets are "
      "loaded once)");
  return context;
}

// How fast cold full scans read, beside the raw device read of the same run.
void NoteColdScansAgainstTheDevice(const std::vector<Measurement>& all,
                                   size_t first, uint64_t file_bytes,
                                   std::vector<std::string>* notes) {
  const Measurement* raw = nullptr;
  for (size_t i = first; i < all.size(); i++) {
    if (all[i].family == "raw") raw = &all[i];
  }
  if (raw == nullptr || file_bytes == 0) return;
  const double raw_seconds =
      raw->NsMedian() * 1e-9 * static_cast<double>(raw->records_per_pass);
  notes->push_back(absl::StrFormat(
      "run %u: raw O_DIRECT sequential read of lsmscan's %uB data file (%.0f "
      "MB, 1 MiB preads one at a time): %.0f MB/s (median)",
      raw->run + 1, raw->value_size_bytes,
      static_cast<double>(file_bytes) / 1e6,
      static_cast<double>(file_bytes) / raw_seconds / 1e6));
}

uint64_t FileBytes(const std::string& path) {
  std::error_code error;
  const uint64_t size = std::filesystem::file_size(path, error);
  return error ? 0 : size;
}

absl::Status RunDataset(const CompareOptions& options, uint32_t value_size,
                        Shape shape, ReportContext* context, Results* results) {
  const Dataset dataset(options.records, value_size, options.seed);
  const std::vector<Operation> operations = dataset.Operations(shape);
  EngineSet set;
  const bool compacted = shape == Shape::kCompacted;
  CompareOptions dataset_options = options;
  dataset_options.cold =
      options.cold &&
      absl::StrContains(
          absl::StrCat(",", absl::GetFlag(FLAGS_cold_value_sizes), ","),
          absl::StrCat(",", value_size, ","));
  LSMSCAN_RETURN_IF_ERROR(AddLsmscanEngines(
      dataset_options, dataset, operations, shape, compacted, &set));
  LSMSCAN_RETURN_IF_ERROR(AddRocksDbEngines(dataset_options, dataset,
                                            operations, shape, "scans", &set));
  results->layouts.insert(results->layouts.end(), set.layouts.begin(),
                          set.layouts.end());
  Say(absl::StrCat("cross-checking ", set.engines.size(),
                   " engines (and warming their caches)"));
  std::vector<Engine*> all_engines;
  for (const auto& engine : set.engines) all_engines.push_back(engine.get());
  LSMSCAN_RETURN_IF_ERROR(CrossCheck(all_engines, dataset));
  const uint64_t file_bytes = FileBytes(
      absl::StrCat(options.data_dir, "/lsmscan_", value_size, "B.blocks"));
  for (uint32_t run = 0; run < options.runs; run++) {
    MeasureOptions measure = options.measure;
    measure.run = run;
    for (Temperature temperature : {Temperature::kWarm, Temperature::kCold}) {
      const size_t first = results->measurements.size();
      LSMSCAN_RETURN_IF_ERROR(Measure(
          measure, dataset, shape, set.Group(temperature),
          Workloads(options.workloads, temperature), &results->measurements));
      NoteColdScansAgainstTheDevice(results->measurements, first, file_bytes,
                                    &context->notes);
    }
  }
  return absl::OkStatus();
}

absl::Status RunYcsbSection(const CompareOptions& options,
                            ReportContext* context, Results* results) {
  if (options.ycsb_ops == 0 || options.ycsb_records == 0)
    return absl::OkStatus();
  const Dataset dataset(options.ycsb_records, 32, options.seed);
  const std::vector<Operation> load = YcsbLoad(options.ycsb_records);
  CompareOptions ycsb_options = options;
  ycsb_options.cold = false;
  ycsb_options.rocksdb_mmap = false;
  ycsb_options.tuned_cold_readaheads.resize(1);
  EngineSet set;
  LSMSCAN_RETURN_IF_ERROR(AddLsmscanEngines(ycsb_options, dataset, load,
                                            Shape::kLayered, false, &set));
  LSMSCAN_RETURN_IF_ERROR(AddRocksDbEngines(ycsb_options, dataset, load,
                                            Shape::kLayered, "ycsb", &set));
  for (EngineLayout& layout : set.layouts) {
    layout.dataset = "YCSB-E load, 32B";
    results->layouts.push_back(layout);
  }
  std::vector<Engine*> engines = set.Group(Temperature::kWarm);
  const std::vector<YcsbOp> ops = YcsbWorkloadE(
      options.ycsb_records, options.ycsb_ops * options.runs, options.seed);
  uint64_t records = options.ycsb_records;
  for (uint32_t run = 0; run < options.runs; run++) {
    const std::span<const YcsbOp> slice(ops.data() + run * options.ycsb_ops,
                                        options.ycsb_ops);
    LSMSCAN_RETURN_IF_ERROR(RunYcsb(dataset, slice, records,
                                    options.measure.repetitions, run, engines,
                                    &results->ycsb));
    for (const YcsbOp& op : slice) records += op.insert ? 1 : 0;
    Say(absl::StrCat("YCSB-E run ", run + 1, ": done"));
  }
  context->notes.push_back(absl::StrCat(
      "YCSB-E: ", options.ycsb_records, " records loaded in hashed order, ",
      options.ycsb_ops, " operations per run in ", options.measure.repetitions,
      " slices, engines rotated per slice; both engines use their layered "
      "configuration; RocksDB iterators are refreshed after writes"));
  return absl::OkStatus();
}

absl::Status RunAll(const CompareOptions& options, ReportContext* context,
                    Results* results) {
  for (uint32_t value_size : options.value_sizes) {
    for (Shape shape : options.shapes) {
      LSMSCAN_RETURN_IF_ERROR(
          RunDataset(options, value_size, shape, context, results));
    }
  }
  return RunYcsbSection(options, context, results);
}

// Checks the build and the data directory; false (with a message) if the
// run cannot go on.
bool Prepare(CompareOptions* options, ReportContext* context) {
  if (!context->machine.optimized && !absl::GetFlag(FLAGS_allow_unoptimized)) {
    std::fprintf(stderr,
                 "compare: built without optimisation; run it with `bazel run "
                 "//bench:compare` (which builds -c opt) or pass "
                 "--allow_unoptimized\n");
    return false;
  }
  if (context->rocksdb_assertions) {
    Say(absl::StrCat(
        "WARNING: ", context->rocksdb_library,
        " keeps its assertions (no NDEBUG): RocksDB runs slower "
        "than a release build; see tools/build_rocksdb_release.sh"));
  }
  std::error_code error;
  std::filesystem::create_directories(options->data_dir, error);
  if (error) {
    std::fprintf(stderr, "compare: cannot create %s: %s\n",
                 options->data_dir.c_str(), error.message().c_str());
    return false;
  }
  if (options->cold && !DirectIoSupported(options->data_dir)) {
    options->cold = false;
    context->notes.push_back(absl::StrCat(
        "cold runs skipped: ", options->data_dir,
        " does not support O_DIRECT (pass --data_dir on a disk file system)"));
    Say(context->notes.back());
  }
  return true;
}

// The report files, and --update_results's file.
absl::Status WriteAll(const CompareOptions& options,
                      const ReportContext& context, const Results& results) {
  LSMSCAN_RETURN_IF_ERROR(WriteReports(options.out, context, results));
  std::printf(
      "\nReports written to %s (results.md, results.json, chart_*.svg)\n",
      options.out.c_str());
  std::string path = absl::GetFlag(FLAGS_update_results);
  if (path.empty()) return absl::OkStatus();
  const char* workspace = std::getenv("BUILD_WORKSPACE_DIRECTORY");
  if (workspace != nullptr && path.front() != '/') {
    path = absl::StrCat(workspace, "/", path);
  }
  LSMSCAN_RETURN_IF_ERROR(UpdateResultsFile(path, context, results));
  std::printf("Updated %s and the charts beside it\n", path.c_str());
  return absl::OkStatus();
}

int Main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "lsmscan vs RocksDB range scans on the same data.\n"
      "  ./bazelw run //bench:compare [-- --full --runs=3]\n"
      "  ./bazelw run --config=rocksdb_release //bench:compare -- --full "
      "--runs=3");
  absl::ParseCommandLine(argc, argv);
  MaybeRestartWithHugePages(argv);
  absl::StatusOr<CompareOptions> options = ParseOptions();
  if (!options.ok()) {
    std::fprintf(stderr, "compare: %s\n", options.status().ToString().c_str());
    return 2;
  }
  ReportContext context = MakeContext(*options, argc, argv);
  if (!Prepare(&*options, &context)) return 2;
  Results results;
  const absl::Status status = RunAll(*options, &context, &results);
  std::error_code error;
  if (!options->keep_data)
    std::filesystem::remove_all(options->data_dir, error);
  if (!status.ok()) {
    std::fprintf(stderr, "compare: FAILED: %s\n", status.ToString().c_str());
    return 1;
  }
  context.load = absl::StrCat(context.load, " at the start, ",
                              ReadFirstLine("/proc/loadavg"), " at the end");
  context.huge_pages = absl::StrCat(
      context.huge_pages, "; AnonHugePages at the end: ", AnonHugePages());
  std::printf("\n%s", Markdown(context, results).c_str());
  const absl::Status written = WriteAll(*options, context, results);
  if (!written.ok()) {
    std::fprintf(stderr, "compare: %s\n", written.ToString().c_str());
    return 1;
  }
  return 0;
}

}  // namespace
}  // namespace bench
}  // namespace lsmscan

int main(int argc, char** argv) { return lsmscan::bench::Main(argc, argv); }
