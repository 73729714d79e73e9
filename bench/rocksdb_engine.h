// File: bench/rocksdb_engine.h
// -----------------------------------------------------------------------------
//
// RocksDB's side of //bench:compare: the same Dataset loaded into a RocksDB
// database (8-byte big-endian keys, BytewiseComparator, no compression) in
// one of the configurations of bench/rocksdb_options.h, and the workloads
// as iterator loops: one iterator reused for every range scan (refreshed
// after writes), iterate_lower_bound and iterate_upper_bound set to the
// range, Seek + Next ascending and SeekForPrev + Prev descending; full
// scans and seek scans run on an unbounded iterator.

#ifndef LSMSCAN_BENCH_ROCKSDB_ENGINE_H_
#define LSMSCAN_BENCH_ROCKSDB_ENGINE_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "lsmscan/bench/dataset.h"
#include "lsmscan/bench/engine.h"
#include "lsmscan/bench/record_digest.h"
#include "lsmscan/bench/rocksdb_options.h"

namespace rocksdb {
class DB;
class Iterator;
class Statistics;
}  // namespace rocksdb

namespace lsmscan {
namespace bench {

using ProgressFunction = std::function<void(uint64_t done, uint64_t total)>;

// BuildRocksDb()
//
// Creates a database at `path` (replacing one there) holding `operations`
// in `shape`: compacted = everything compacted into one sorted run in the
// last level; layered = the load as it lands, after background work has
// settled. Leaves the database closed (so the memtable is flushed: use
// RocksDbEngine::BuildAndOpen to keep one).
absl::Status BuildRocksDb(const std::string& path, const Dataset& dataset,
                          const std::vector<Operation>& operations, Shape shape,
                          const RocksDbConfig& config,
                          const ProgressFunction& progress);

// RocksDbEngine
class RocksDbEngine final : public Engine {
 public:
  // Opens the database built at `path` read-only, warm or cold.
  static absl::StatusOr<std::unique_ptr<RocksDbEngine>> Open(
      const std::string& path, const Dataset& dataset, Shape shape,
      const RocksDbConfig& config, Temperature temperature);

  // Builds `shape` at `path` and keeps the database open for reads and
  // writes (warm).
  static absl::StatusOr<std::unique_ptr<RocksDbEngine>> BuildAndOpen(
      const std::string& path, const Dataset& dataset,
      const std::vector<Operation>& operations, Shape shape,
      const RocksDbConfig& config, const ProgressFunction& progress);

  ~RocksDbEngine() override;

  std::string family() const override { return "rocksdb"; }
  std::string variant() const override;
  Temperature temperature() const override { return temperature_; }
  Layout layout() const override;
  absl::StatusOr<ScanOutcome> FullScan(Direction direction) override;
  absl::StatusOr<ScanOutcome> RangeScans(std::span<const uint64_t> starts,
                                         uint64_t length,
                                         Direction direction) override;
  absl::StatusOr<ScanOutcome> SeekScans(std::span<const uint64_t> starts,
                                        uint32_t count) override;
  absl::Status Put(uint64_t key, std::span<const uint8_t> payload) override;
  std::string WriteStats() const override;

  const RocksDbConfig& config() const { return config_; }

 private:
  RocksDbEngine(Shape shape, Temperature temperature,
                const RocksDbConfig& config);
  absl::Status OpenDb(const std::string& path, bool create);
  void MakeIterators();
  // Before reading: the perf level of this profile, and fresh iterators
  // if there were writes since they were made.
  absl::Status PrepareRead();

  Shape shape_;
  Temperature temperature_;
  RocksDbConfig config_;
  std::shared_ptr<rocksdb::Statistics> statistics_;
  std::unique_ptr<rocksdb::DB> db_;
  std::unique_ptr<rocksdb::Iterator> bounded_;
  std::unique_ptr<rocksdb::Iterator> unbounded_;
  bool stale_ = false;
  uint64_t puts_ = 0;
  RecordDigest digest_;
  char lower_bound_[8] = {};
  char upper_bound_[8] = {};
  struct Bounds;
  std::unique_ptr<Bounds> bounds_;
};

// RocksDbVersion()
//
// "7.8.3" (from the headers the benchmark was built with).
std::string RocksDbVersion();

}  // namespace bench
}  // namespace lsmscan

#endif  // LSMSCAN_BENCH_ROCKSDB_ENGINE_H_
