// File: bench/engine.h
// -----------------------------------------------------------------------------
//
// What //bench:compare measures, on either side: an engine holding one
// loaded dataset, able to run the workloads. lsmscan (on each storage
// backend) and RocksDB implement it.

#ifndef LSMSCAN_BENCH_ENGINE_H_
#define LSMSCAN_BENCH_ENGINE_H_

#include <cstdint>
#include <span>
#include <string>

#include "absl/status/statusor.h"
#include "lsmscan/lsm/direction.h"

namespace lsmscan {
namespace bench {

// ScanOutcome
//
// What a workload returned: the records seen and a checksum over their keys
// and payloads, which must agree between engines holding the same data.
struct ScanOutcome {
  uint64_t records = 0;
  uint64_t checksum = 0;
};

// Temperature
//
// Warm: the data is in memory (cache, page cache, memory storage) before
// timing. Cold: reads bypass the page cache (O_DIRECT) and the block cache
// is tiny, so every data block comes from the device.
enum class Temperature : uint8_t { kWarm, kCold };

// Engine
class Engine {
 public:
  virtual ~Engine() = default;

  // "lsmscan" or "rocksdb".
  virtual std::string family() const = 0;
  // The configuration, e.g. "memory", "pread+cache", "uring O_DIRECT".
  virtual std::string variant() const = 0;
  virtual Temperature temperature() const = 0;

  // Every record, in `direction`.
  virtual absl::StatusOr<ScanOutcome> FullScan(Direction direction) = 0;

  // For each start key s, the records with keys in [s, s + length - 1], in
  // `direction` (ascending from s, descending from s + length - 1).
  virtual absl::StatusOr<ScanOutcome> RangeScans(
      std::span<const uint64_t> starts, uint64_t length,
      Direction direction) = 0;

  // Block reads that reached the device so far (cold engines; 0 if
  // unknown), and the requests they took (a backend may merge reads).
  virtual uint64_t device_reads() const = 0;
  virtual uint64_t device_requests() const { return device_reads(); }

  // How the data is laid out (levels, tables), for the report.
  virtual std::string DescribeShape() const = 0;
};

}  // namespace bench
}  // namespace lsmscan

#endif  // LSMSCAN_BENCH_ENGINE_H_
