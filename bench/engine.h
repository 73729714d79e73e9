// File: bench/engine.h
// -----------------------------------------------------------------------------
//
// What //bench:compare measures, on either side: an engine holding one
// loaded dataset, able to run the workloads. lsmscan (on each storage
// backend) and RocksDB (in each configuration) implement it. Every record a
// workload returns is hashed (bench/record_digest.h), and the outcome's
// record count and digest must agree between engines holding the same data.

#ifndef LSMSCAN_BENCH_ENGINE_H_
#define LSMSCAN_BENCH_ENGINE_H_

#include <cstdint>
#include <span>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "lsmscan/bench/record_digest.h"
#include "lsmscan/lsm/direction.h"

namespace lsmscan {
namespace bench {

// Temperature
//
// Warm: the data is in memory (cache, page cache, memory storage) before
// timing. Cold: reads bypass the page cache (O_DIRECT) and the block cache
// is tiny, so every data block comes from the device.
enum class Temperature : uint8_t { kWarm, kCold };

// Layout
//
// How an engine holds its data: the number of sorted runs a scan merges
// (memory tables, RocksDB L0 files and non-empty levels), the bytes its
// files take on disk (0 for none), and a description for the report.
struct Layout {
  uint32_t sorted_runs = 0;
  uint64_t bytes_on_disk = 0;
  std::string description;
};

// Engine
class Engine {
 public:
  virtual ~Engine() = default;

  // "lsmscan", "rocksdb" or "raw".
  virtual std::string family() const = 0;
  // The configuration, e.g. "memory", "tuned 16K block cache".
  virtual std::string variant() const = 0;
  virtual Temperature temperature() const = 0;
  std::string name() const { return family() + " " + variant(); }

  // Every record, in `direction`.
  virtual absl::StatusOr<ScanOutcome> FullScan(Direction direction) = 0;

  // For each start key s, the records with keys in [s, s + length - 1], in
  // `direction` (ascending from s, descending from s + length - 1); one
  // digest per scan.
  virtual absl::StatusOr<ScanOutcome> RangeScans(
      std::span<const uint64_t> starts, uint64_t length,
      Direction direction) = 0;

  // For each start key s, the first `count` records with keys >= s,
  // ascending (fewer at the end of the key space): RocksDB's Seek and
  // `count` - 1 Next() calls, no upper bound. One digest per scan.
  virtual absl::StatusOr<ScanOutcome> SeekScans(
      std::span<const uint64_t> starts, uint32_t count) = 0;

  // Writes `key` with `payload` (the dataset's payload size), replacing
  // any value: the engine's own write path, including what it does when
  // its memory is full (see WriteStats()). Unimplemented for read-only
  // engines.
  virtual absl::Status Put(uint64_t key, std::span<const uint8_t> payload) {
    (void)key;
    (void)payload;
    return absl::UnimplementedError(name() + " is read-only");
  }

  // What the writes so far cost besides the puts themselves (stalls,
  // flushes, compactions), for the report; "" if nothing.
  virtual std::string WriteStats() const { return ""; }

  // Block reads that reached the device so far (cold lsmscan engines; 0 if
  // unknown), and the requests they took (a backend may merge reads).
  virtual uint64_t device_reads() const { return 0; }
  virtual uint64_t device_requests() const { return device_reads(); }

  virtual Layout layout() const = 0;
};

}  // namespace bench
}  // namespace lsmscan

#endif  // LSMSCAN_BENCH_ENGINE_H_
