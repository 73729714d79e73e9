// File: bench/report.h
// -----------------------------------------------------------------------------
//
// The report of //bench:compare: markdown on stdout and in results.md
// (ready to paste into bench/RESULTS.md: the headline first, then every
// table), results.json and SVG charts in the output directory.
//
// Speedups. For each workload (shape, record size, temperature, workload)
// the baseline is the FASTEST RocksDB engine of that workload (lowest
// median ns/record over the runs), named in every table. A speedup is that
// engine's ns/record over lsmscan's. With --runs >= 2 the report gives the
// median and the min-max of the per-run ratios (each run's medians); with
// one run, the min-max of the per-repetition ratios (the two engines'
// samples of the same repetition). The headline tables also give the same
// ratios of CPU time per record, steadier on a machine shared with other
// work.
//
// results.json follows Google Benchmark's JSON layout ("context", and a
// "benchmarks" array whose entries have name, real_time, cpu_time,
// time_unit and iterations; real_time is the median ns/record of one run);
// each entry adds the run, shape, workload, engine, every repetition's
// ns/record and the speedup. "ycsb_e" and "layouts" follow.

#ifndef LSMSCAN_BENCH_REPORT_H_
#define LSMSCAN_BENCH_REPORT_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "lsmscan/bench/build_info.h"
#include "lsmscan/bench/measurement.h"

namespace lsmscan {
namespace bench {

// ReportContext
//
// Everything the report states besides the measurements.
struct ReportContext {
  MachineInfo machine;
  std::string command;
  std::string commit;
  std::string huge_pages;  // THP mode and the malloc tunable.
  std::string load;        // /proc/loadavg at the start and the end.
  std::string rocksdb_version;
  std::string rocksdb_library;
  std::string rocksdb_build;        // The release build's stamp, if any.
  bool rocksdb_assertions = false;  // Built without NDEBUG (build_info.h).
  std::vector<std::string> rocksdb_configs;  // One paragraph per config.
  uint64_t record_count = 0;
  uint32_t repetitions = 0;
  uint32_t runs = 0;
  double min_sample_seconds = 0;
  std::vector<std::string> notes;
};

// Results
struct Results {
  std::vector<Measurement> measurements;
  std::vector<YcsbMeasurement> ycsb;
  std::vector<EngineLayout> layouts;
};

// Ratio
//
// A speedup (or any ratio) as the report states it: median and range.
struct Ratio {
  double median = 0;
  double min = 0;
  double max = 0;
  bool per_run = false;  // Else per repetition (one run).
  bool valid() const { return median > 0; }
};

// FastestRocksDb()
//
// The RocksDB engine with the lowest median ns/record over the runs among
// `all`'s measurements of `m`'s workload; "" if none.
std::string FastestRocksDb(const Measurement& m,
                           const std::vector<Measurement>& all);

// Speedup()
//
// `baseline`'s ns/record over `engine`'s on `m`'s workload, as the file
// comment says; invalid if either is missing. kCpu compares the process's
// CPU time per record instead of the wall time: on a machine shared with
// other work it leaves out the time spent waiting for a core.
enum class SpeedupTime : uint8_t { kWall, kCpu };
Ratio Speedup(const Measurement& m, const std::string& engine,
              const std::string& baseline, const std::vector<Measurement>& all,
              SpeedupTime time = SpeedupTime::kWall);

// FormatRatio()
//
// "4.1x [3.8-4.4]".
std::string FormatRatio(const Ratio& ratio);

// Markdown()
//
// The whole report as markdown: context, headline, every table.
std::string Markdown(const ReportContext& context, const Results& results);

// WriteReports()
//
// results.md, results.json and chart_<shape>_<size>B.svg into `directory`
// (created if missing).
absl::Status WriteReports(const std::string& directory,
                          const ReportContext& context, const Results& results);

// UpdateResultsFile()
//
// Replaces the text between the lines "<!-- compare:begin -->" and
// "<!-- compare:end -->" of the markdown file at `path` (bench/RESULTS.md)
// with Markdown(context, results), and writes the charts beside it, so one
// command regenerates the recorded run. NotFound if the file or its markers
// are missing; the file is unchanged then.
absl::Status UpdateResultsFile(const std::string& path,
                               const ReportContext& context,
                               const Results& results);

}  // namespace bench
}  // namespace lsmscan

#endif  // LSMSCAN_BENCH_REPORT_H_
