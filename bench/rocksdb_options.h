// File: bench/rocksdb_options.h
// -----------------------------------------------------------------------------
//
// The RocksDB configurations //bench:compare measures, side by side in one
// run:
//
//   default  RocksDB's defaults where they are (4 KiB blocks, automatic
//            read-ahead of 8 KiB doubling to 256 KiB, perf counters on),
//            with the comparison's fixed settings (no compression, a block
//            cache holding everything warm, direct reads cold).
//   tuned    set for range scans: larger blocks (chosen by a recorded sweep,
//            bench/RESULTS.md), 64 MiB files for the one-sorted-run shape,
//            no auto read-ahead warm (it would readahead(2) cached blocks),
//            lsmscan's read-ahead budget cold (a fixed readahead_size, or
//            adaptive read-ahead with async_io on io_uring), statistics
//            without timers, perf level kDisable.
//   mmap     the tuned database read through mmap with no block cache and
//            no checksum verification (labelled: it verifies nothing).
//
// Every option that matters is set explicitly and listed by Describe().

#ifndef LSMSCAN_BENCH_ROCKSDB_OPTIONS_H_
#define LSMSCAN_BENCH_ROCKSDB_OPTIONS_H_

#include <cstdint>
#include <memory>
#include <string>

#include "lsmscan/bench/dataset.h"
#include "lsmscan/bench/engine.h"

namespace rocksdb {
struct Options;
struct ReadOptions;
class Statistics;
}  // namespace rocksdb

namespace lsmscan {
namespace bench {

// RocksDbProfile
enum class RocksDbProfile : uint8_t { kDefault, kTuned, kMmap };

// ColdReadahead: how a tuned cold engine reads ahead.
enum class ColdReadahead : uint8_t {
  kAuto,           // RocksDB's automatic 8 KiB -> 256 KiB.
  kFixed,          // ReadOptions::readahead_size = readahead_bytes.
  kAdaptiveAsync,  // max_auto_readahead_size = readahead_bytes,
                   // adaptive_readahead and async_io.
};
const char* ColdReadaheadName(ColdReadahead readahead);

// RocksDbConfig
//
// One database's configuration. Sizes carry their unit.
struct RocksDbConfig {
  RocksDbProfile profile = RocksDbProfile::kDefault;
  uint32_t block_size_bytes = 4096;
  // Files of the compacted (one sorted run) shape; the layered shape uses
  // layered_file_bytes whatever the profile (its structure is fixed).
  uint64_t compacted_file_bytes = uint64_t{4} << 20;
  ColdReadahead cold_readahead = ColdReadahead::kAuto;
  uint64_t readahead_bytes = uint64_t{4} << 20;

  // Shared by every profile.
  uint64_t warm_cache_bytes = uint64_t{4} << 30;
  uint64_t cold_cache_bytes = uint64_t{4} << 20;
  // The layered shape mirrors lsmscan's layered tree: 1 MiB files and
  // write buffers, levels growing by 4 from 4 MiB.
  uint64_t layered_write_buffer_bytes = uint64_t{1} << 20;
  uint64_t layered_file_bytes = uint64_t{1} << 20;
  uint64_t layered_level_base_bytes = uint64_t{4} << 20;
  uint32_t layered_level_multiplier = 4;

  // "default 4K", "tuned 16K", "tuned 64K mmap".
  std::string Label() const;
  // The database directory's name.
  std::string DirectoryName(Shape shape) const;
};

// TunedConfig(), DefaultConfig()
RocksDbConfig DefaultConfig();
RocksDbConfig TunedConfig(uint32_t block_size_bytes, ColdReadahead readahead,
                          uint64_t readahead_bytes);

// MakeRocksDbOptions()
//
// The DB options of `config` for `shape` at `temperature`; `statistics`
// may be null.
rocksdb::Options MakeRocksDbOptions(
    const RocksDbConfig& config, Shape shape, Temperature temperature,
    bool create, std::shared_ptr<rocksdb::Statistics> statistics);

// MakeRocksDbReadOptions()
rocksdb::ReadOptions MakeRocksDbReadOptions(const RocksDbConfig& config,
                                            Temperature temperature);

// DescribeRocksDbConfig()
//
// Every option `config` sets, warm and cold, in one paragraph.
std::string DescribeRocksDbConfig(const RocksDbConfig& config);

}  // namespace bench
}  // namespace lsmscan

#endif  // LSMSCAN_BENCH_ROCKSDB_OPTIONS_H_
