// File: bench/report.h
// -----------------------------------------------------------------------------
//
// The measurements of //bench:compare and their reports: text tables on
// stdout, results.json, results.md and PNG charts in the output directory.
//
// results.json follows Google Benchmark's JSON layout ("context" and a
// "benchmarks" array whose entries have "name", "real_time", "cpu_time",
// "time_unit" and "iterations"), so its tools can read it; real_time is the
// median nanoseconds per record, cpu_time the median CPU time (user + system
// of the whole process) per record. Each entry adds: shape, value_size_bytes,
// workload, engine, temperature, records_per_repetition,
// scans_per_repetition, ns_per_record {median, min, max}, records_per_second,
// mb_per_second, speedup_vs_rocksdb (RocksDB ns/record over this engine's,
// same shape, size, workload and temperature) and device_reads_per_scan.

#ifndef LSMSCAN_BENCH_REPORT_H_
#define LSMSCAN_BENCH_REPORT_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "lsmscan/bench/build_info.h"
#include "lsmscan/bench/engine.h"

namespace lsmscan {
namespace bench {

// Measurement
//
// One engine on one workload: the seconds of each repetition.
struct Measurement {
  std::string shape;
  uint32_t value_size_bytes = 0;
  std::string workload;  // "full asc", "L=100 desc", ...
  std::string family;    // "lsmscan" or "rocksdb"
  std::string variant;
  Temperature temperature = Temperature::kWarm;
  uint64_t records_per_repetition = 0;
  uint64_t scans_per_repetition = 0;
  std::vector<double> seconds;
  // The process's CPU time (user + system) of each repetition: beside
  // `seconds` it shows how much of a cold scan's time the CPU was busy.
  std::vector<double> cpu_seconds;
  double device_reads_per_scan = -1;     // < 0: not measured.
  double device_requests_per_scan = -1;  // Merged reads count once.

  std::string engine() const { return family + " " + variant; }
  double NsPerRecordMedian() const;
  double NsPerRecordMin() const;
  double NsPerRecordMax() const;
  // Median CPU time per record (0 when not measured).
  double CpuNsPerRecordMedian() const;
};

// ReportContext
//
// Everything the report states besides the measurements.
struct ReportContext {
  MachineInfo machine;
  std::string rocksdb_version;
  std::string rocksdb_library;
  bool rocksdb_assertions = false;  // Built without NDEBUG: see build_info.h.
  std::string rocksdb_options;
  std::string command;
  uint64_t record_count = 0;
  uint32_t repetitions = 0;
  std::vector<std::string> notes;  // Shapes, raw bandwidth, warnings.
};

// SpeedupVsRocksDb()
//
// RocksDB's median ns/record over `m`'s for the same shape, size, workload
// and temperature; 0 if there is no RocksDB measurement to compare with.
double SpeedupVsRocksDb(const Measurement& m,
                        const std::vector<Measurement>& all);

// PrintTables()
//
// One table per (shape, size, temperature) to stdout.
void PrintTables(const ReportContext& context,
                 const std::vector<Measurement>& measurements);

// WriteReports()
//
// results.json, results.md and one chart per (shape, size) into `directory`
// (created if missing).
absl::Status WriteReports(const std::string& directory,
                          const ReportContext& context,
                          const std::vector<Measurement>& measurements);

}  // namespace bench
}  // namespace lsmscan

#endif  // LSMSCAN_BENCH_REPORT_H_
