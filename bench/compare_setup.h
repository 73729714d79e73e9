// File: bench/compare_setup.h
// -----------------------------------------------------------------------------
//
// The engines //bench:compare loads for one dataset: lsmscan on each
// storage backend (memory, mmap, pread with a cache, and cold io_uring and
// pread with O_DIRECT), RocksDB in each configuration of
// bench/rocksdb_options.h, and the raw device read; and the options that
// choose them.

#ifndef LSMSCAN_BENCH_COMPARE_SETUP_H_
#define LSMSCAN_BENCH_COMPARE_SETUP_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "lsmscan/bench/dataset.h"
#include "lsmscan/bench/engine.h"
#include "lsmscan/bench/measure.h"
#include "lsmscan/bench/measurement.h"
#include "lsmscan/bench/rocksdb_options.h"

namespace lsmscan {
namespace bench {

// lsmscan's fixed settings: 64 KiB blocks; cold runs get a 4 MiB cache and
// 63 blocks (4032 KiB) of read-ahead per level.
inline constexpr uint32_t kBlockSizeBytes = 64 << 10;
inline constexpr uint64_t kColdCacheBytes = uint64_t{4} << 20;
inline constexpr uint32_t kColdReadAheadBlocks = 63;
inline constexpr uint64_t kColdReadAheadBytes =
    uint64_t{kColdReadAheadBlocks} * kBlockSizeBytes;

// CompareOptions
struct CompareOptions {
  uint64_t records = 0;
  std::vector<uint32_t> value_sizes;
  std::vector<Shape> shapes;
  bool full = false;
  bool cold = true;
  uint32_t runs = 1;
  MeasureOptions measure;
  WorkloadSet workloads;
  // RocksDB: the default engine, a tuned one per block size (each with
  // every cold read-ahead mode listed), the mmap engine.
  bool rocksdb_default = true;
  std::vector<uint32_t> tuned_block_sizes;
  std::vector<ColdReadahead> tuned_cold_readaheads;
  bool rocksdb_mmap = true;
  // YCSB workload E (0 records: skipped).
  uint64_t ycsb_records = 0;
  uint64_t ycsb_ops = 0;
  std::string out;
  std::string data_dir;
  bool keep_data = false;
  uint64_t seed = 0;
};

// The RocksDB configurations the options ask for (default first).
std::vector<RocksDbConfig> RocksDbConfigs(const CompareOptions& options);

// EngineSet: the engines of one dataset and how they hold it.
struct EngineSet {
  std::vector<std::unique_ptr<Engine>> engines;
  std::vector<EngineLayout> layouts;
  std::vector<std::string> notes;
  std::vector<Engine*> Group(Temperature temperature) const;
};

// AddLsmscanEngines()
//
// Loads `operations` into an lsmscan tree for `shape` (32- or 128-byte
// schema by the dataset's value size) on memory storage. With
// `file_engines`, also checkpoints it, writes it to a file in data_dir and
// opens it through mmap, pread+cache and (cold) io_uring and pread with
// O_DIRECT, plus the raw device read.
absl::Status AddLsmscanEngines(const CompareOptions& options,
                               const Dataset& dataset,
                               const std::vector<Operation>& operations,
                               Shape shape, bool file_engines, EngineSet* set);

// AddRocksDbEngines()
//
// Loads `operations` into one database per configuration. Compacted:
// built, then opened read-only warm (and cold, and mmap); otherwise kept
// open from the load (warm only). `label` prefixes the database names.
absl::Status AddRocksDbEngines(const CompareOptions& options,
                               const Dataset& dataset,
                               const std::vector<Operation>& operations,
                               Shape shape, const std::string& label,
                               EngineSet* set);

// Say(), Progress()
//
// A line on stderr; a progress percentage (rewritten in place on a
// terminal).
void Say(const std::string& line);
void Progress(const std::string& what, uint64_t done, uint64_t total);

// DirectIoSupported()
//
// Whether files in `directory` can be opened with O_DIRECT (tmpfs cannot).
bool DirectIoSupported(const std::string& directory);

}  // namespace bench
}  // namespace lsmscan

#endif  // LSMSCAN_BENCH_COMPARE_SETUP_H_
