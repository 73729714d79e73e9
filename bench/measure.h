// File: bench/measure.h
// -----------------------------------------------------------------------------
//
// The timed part of //bench:compare. For each workload, every engine of a
// temperature group runs the same repetitions: in repetition i each engine
// runs the same passes (a full scan, or a list of range scans whose start
// keys depend only on (run, repetition, pass)), as many as it needs for its
// sample to last the minimum sample time; the engines run in an order
// rotated by one each repetition. Every pass's record count and digest
// (bench/record_digest.h) must equal every other engine's for that pass,
// or the run fails naming both engines.

#ifndef LSMSCAN_BENCH_MEASURE_H_
#define LSMSCAN_BENCH_MEASURE_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "lsmscan/bench/dataset.h"
#include "lsmscan/bench/engine.h"
#include "lsmscan/bench/measurement.h"
#include "lsmscan/lsm/direction.h"

namespace lsmscan {
namespace bench {

// Workload
struct Workload {
  enum class Kind : uint8_t {
    kFull,   // Every record.
    kRange,  // Range scans of `length` keys.
    kSeek,   // Seek to a uniform random key, read `length` records
             // (db_bench's seekrandom with --seek_nexts=length).
  };
  std::string name;
  Kind kind = Kind::kFull;
  uint64_t length = 0;
  Direction direction = Direction::kAscending;
};

// Workloads()
//
// Warm: full scans and range scans of `range_lengths` both ways (descending
// only `descending_lengths`), and seek scans of each of `seek_nexts`.
// Cold: ascending full scans and ranges of `cold_lengths`.
struct WorkloadSet {
  std::vector<uint64_t> range_lengths;
  std::vector<uint64_t> descending_lengths;
  std::vector<uint64_t> seek_nexts;
  std::vector<uint64_t> cold_lengths;
};
std::vector<Workload> Workloads(const WorkloadSet& set,
                                Temperature temperature);

// MeasureOptions
struct MeasureOptions {
  uint32_t repetitions = 10;
  double min_sample_seconds = 0.2;
  // Records a pass of range or seek scans aims at (warm, cold).
  uint64_t warm_records_per_pass = 100'000;
  uint64_t cold_records_per_pass = 20'000;
  uint32_t run = 0;
  uint64_t seed = 0;
  // Called after each workload with a line of progress; may be null.
  void (*say)(const std::string& line) = nullptr;
};

// CrossCheck()
//
// Untimed (it also warms the caches): full scans both ways and 50 range
// scans of 100 keys per engine must return the same records and digests.
absl::Status CrossCheck(const std::vector<Engine*>& engines,
                        const Dataset& dataset);

// Measure()
//
// Times `workloads` on `engines` (one temperature group) as the file
// comment says, appending one Measurement per engine and workload.
absl::Status Measure(const MeasureOptions& options, const Dataset& dataset,
                     Shape shape, const std::vector<Engine*>& engines,
                     const std::vector<Workload>& workloads,
                     std::vector<Measurement>* measurements);

// ProcessReadBytes()
//
// read_bytes of /proc/self/io: bytes this process had read from storage
// (O_DIRECT and io_uring reads included; page cache hits not); 0 if
// unreadable.
uint64_t ProcessReadBytes();

}  // namespace bench
}  // namespace lsmscan

#endif  // LSMSCAN_BENCH_MEASURE_H_
