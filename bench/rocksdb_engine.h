// File: bench/rocksdb_engine.h
// -----------------------------------------------------------------------------
//
// RocksDB's side of //bench:compare: the same Dataset loaded into a RocksDB
// database (8-byte big-endian keys, BytewiseComparator, no compression), and
// the workloads as iterator loops in RocksDB's fastest honest configuration:
// one iterator reused for every range scan, iterate_lower_bound and
// iterate_upper_bound set to the range, Seek + Next ascending and
// SeekForPrev + Prev descending. Every setting the comparison relies on is
// set explicitly and listed by DescribeOptions().

#ifndef LSMSCAN_BENCH_ROCKSDB_ENGINE_H_
#define LSMSCAN_BENCH_ROCKSDB_ENGINE_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "lsmscan/bench/dataset.h"
#include "lsmscan/bench/engine.h"

namespace rocksdb {
class DB;
class Iterator;
class Statistics;
}  // namespace rocksdb

namespace lsmscan {
namespace bench {

// RocksDbSettings
struct RocksDbSettings {
  uint32_t block_size_bytes = 4096;
  // Block cache: warm runs size it to hold everything; cold runs keep it
  // tiny and read with O_DIRECT.
  uint64_t warm_cache_bytes = uint64_t{4} << 30;
  uint64_t cold_cache_bytes = uint64_t{4} << 20;
  // Memtable and level sizes (scaled to the dataset, so that the layered
  // shape spreads over several levels).
  uint64_t write_buffer_bytes = uint64_t{4} << 20;
  uint64_t level_base_bytes = uint64_t{16} << 20;
  uint64_t target_file_bytes = uint64_t{4} << 20;
};

// BuildRocksDb()
//
// Creates a database at `path` (replacing one there) holding `dataset` in
// `shape`: compacted = everything flushed and compacted to the last level;
// layered = the load as it lands, memtable included, after background
// compactions have settled. Leaves the database closed.
absl::Status BuildRocksDb(
    const std::string& path, const Dataset& dataset, Shape shape,
    const RocksDbSettings& settings,
    const std::function<void(uint64_t, uint64_t)>& progress);

// RocksDbEngine
class RocksDbEngine final : public Engine {
 public:
  // Opens the database at `path` warm or cold. A layered database is built
  // and kept open instead (its memtable would not survive a reopen): use
  // BuildAndOpen().
  static absl::StatusOr<std::unique_ptr<RocksDbEngine>> Open(
      const std::string& path, const Dataset& dataset,
      const RocksDbSettings& settings, Temperature temperature);

  // Builds `shape` at `path` and keeps the database open (warm).
  static absl::StatusOr<std::unique_ptr<RocksDbEngine>> BuildAndOpen(
      const std::string& path, const Dataset& dataset, Shape shape,
      const RocksDbSettings& settings,
      const std::function<void(uint64_t, uint64_t)>& progress);

  ~RocksDbEngine() override;

  std::string family() const override { return "rocksdb"; }
  std::string variant() const override;
  Temperature temperature() const override { return temperature_; }
  uint64_t device_reads() const override;
  std::string DescribeShape() const override;
  absl::StatusOr<ScanOutcome> FullScan(Direction direction) override;
  absl::StatusOr<ScanOutcome> RangeScans(std::span<const uint64_t> starts,
                                         uint64_t length,
                                         Direction direction) override;

 private:
  RocksDbEngine(const Dataset& dataset, Temperature temperature,
                const RocksDbSettings& settings);
  absl::Status OpenDb(const std::string& path, bool create);
  void MakeIterator();

  uint32_t payload_size_bytes_;
  Temperature temperature_;
  RocksDbSettings settings_;
  std::shared_ptr<rocksdb::Statistics> statistics_;
  std::unique_ptr<rocksdb::DB> db_;
  std::unique_ptr<rocksdb::Iterator> iterator_;
  char lower_bound_[8] = {};
  char upper_bound_[8] = {};
  struct Bounds;
  std::unique_ptr<Bounds> bounds_;
};

// DescribeRocksDbOptions()
//
// Every option the comparison sets, warm and cold, in one paragraph.
std::string DescribeRocksDbOptions(const RocksDbSettings& settings);

// RocksDbVersion()
//
// "7.8.3" (from the headers the benchmark was built with).
std::string RocksDbVersion();

}  // namespace bench
}  // namespace lsmscan

#endif  // LSMSCAN_BENCH_ROCKSDB_ENGINE_H_
