// File: bench/write_load_rocksdb.h
// -----------------------------------------------------------------------------
//
// RocksDB's side of //bench:write_benchmark (bench/write_load.h): one
// WriteOptions{disableWAL = true} Put per record into a new database,
// each timed; RocksDB's own back-pressure (write slowdowns and stops) is
// inside the puts it delays. Quiescing is Flush(wait) then waiting until no
// flush or compaction runs or is pending.

#ifndef LSMSCAN_BENCH_WRITE_LOAD_ROCKSDB_H_
#define LSMSCAN_BENCH_WRITE_LOAD_ROCKSDB_H_

#include <cstdint>
#include <span>
#include <string>

#include "absl/status/status.h"
#include "lsmscan/bench/dataset.h"
#include "lsmscan/bench/rocksdb_options.h"
#include "lsmscan/bench/tick_clock.h"
#include "lsmscan/bench/write_load.h"

namespace lsmscan {
namespace bench {

// RocksDbWriteTuning
//
// The write-side options of the benchmark's RocksDB (on top of the tuned
// scan configuration, bench/rocksdb_options.h). Sizes carry their unit.
struct RocksDbWriteTuning {
  uint64_t write_buffer_bytes = uint64_t{64} << 20;
  int max_write_buffer_number = 3;
  int max_background_jobs = 2;
  uint64_t target_file_bytes = uint64_t{64} << 20;
  uint64_t level_base_bytes = uint64_t{256} << 20;
  int level_multiplier = 10;
};

// DescribeRocksDbWriteTuning()
//
// Every write-side option set, with the defaults the load relies on.
std::string DescribeRocksDbWriteTuning(const RocksDbWriteTuning& tuning);

// LoadRocksDb()
//
// Replaces any database at `path` with a new one configured by `config`
// and `tuning`, loads `keys` (at most `puts_per_second`; 0: as fast as it
// goes) and quiesces it as the file comment says,
// fills `result` (full scan digest included), and closes it.
absl::Status LoadRocksDb(const std::string& path, const RocksDbConfig& config,
                         const RocksDbWriteTuning& tuning,
                         const Dataset& dataset, std::span<const uint64_t> keys,
                         const TickClock& clock, double puts_per_second,
                         WriteLoadResult* result);

}  // namespace bench
}  // namespace lsmscan

#endif  // LSMSCAN_BENCH_WRITE_LOAD_ROCKSDB_H_
