// File: bench/measurement.h
// -----------------------------------------------------------------------------
//
// What //bench:compare records: per engine and workload, the nanoseconds
// per record of every timed repetition of every run; per engine, the YCSB
// run's throughput and scan latencies; per engine, how it holds its data.
// bench/report.h turns them into tables, JSON and charts.

#ifndef LSMSCAN_BENCH_MEASUREMENT_H_
#define LSMSCAN_BENCH_MEASUREMENT_H_

#include <cstdint>
#include <string>
#include <vector>

#include "lsmscan/bench/engine.h"
#include "lsmscan/bench/latency_summary.h"
#include "lsmscan/lsm/direction.h"

namespace lsmscan {
namespace bench {

// Median()
//
// Of `samples` (0 for none). Percentile() is in latency_summary.h.
double Median(std::vector<double> samples);

// Measurement
//
// One engine on one workload in one run.
struct Measurement {
  std::string shape;  // "compacted", "layered".
  uint32_t value_size_bytes = 0;
  std::string workload;  // "full asc", "L=100 desc", "seek+100", ...
  Direction direction = Direction::kAscending;
  std::string family;  // "lsmscan", "rocksdb", "raw".
  std::string variant;
  Temperature temperature = Temperature::kWarm;
  uint32_t run = 0;
  // A sample repeats a pass (one full scan, or a list of range scans)
  // `passes` times so that it lasts at least the minimum sample time.
  uint64_t records_per_pass = 0;
  uint64_t scans_per_pass = 0;
  uint32_t passes = 0;
  // One per timed repetition, in repetition order (every engine of a group
  // ran repetition i on the same start keys, close in time).
  std::vector<double> ns_per_record;
  std::vector<double> cpu_ns_per_record;  // User + system, whole process.
  double device_bytes_per_record = -1;    // Cold runs (/proc/self/io).
  double device_reads_per_scan = -1;      // lsmscan's cold block reads.
  double device_requests_per_scan = -1;   // After merging adjacent reads.

  std::string engine() const { return family + " " + variant; }
  double NsMedian() const { return Median(ns_per_record); }
  double NsMin() const;
  double NsMax() const;
  double CpuNsMedian() const { return Median(cpu_ns_per_record); }
};

// YcsbMeasurement
//
// One engine's YCSB workload E run (one per --runs).
struct YcsbMeasurement {
  std::string family;
  std::string variant;
  uint32_t run = 0;
  uint64_t records = 0;  // Loaded before the run.
  uint64_t ops = 0;
  std::vector<double> ops_per_second;     // Per repetition (a slice of ops).
  std::vector<double> scan_microseconds;  // Every scan of the run.
  // The same scans split by the operation before each (in the run's
  // order): an insert, or a scan (issue 14: a fresh write should cost the
  // next scan nothing). The run's first scan counts as after an insert.
  std::vector<double> scan_after_insert_microseconds;
  std::vector<double> scan_after_scan_microseconds;
  uint64_t scan_records = 0;  // Records all scans returned.
  std::string write_stats;    // Engine::WriteStats() after it.

  std::string engine() const { return family + " " + variant; }
};

// EngineLayout
//
// How one engine held one dataset.
struct EngineLayout {
  std::string dataset;  // "compacted 32B".
  std::string engine;
  uint64_t records = 0;
  Layout layout;
};

}  // namespace bench
}  // namespace lsmscan

#endif  // LSMSCAN_BENCH_MEASUREMENT_H_
