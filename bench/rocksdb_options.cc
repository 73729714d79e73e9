#include "lsmscan/bench/rocksdb_options.h"

#include <rocksdb/cache.h>
#include <rocksdb/options.h>
#include <rocksdb/statistics.h>
#include <rocksdb/table.h>

#include <utility>

#include "absl/strings/str_cat.h"

namespace lsmscan {
namespace bench {
namespace {

std::string Kib(uint64_t bytes) {
  if (bytes >= (uint64_t{1} << 20) && bytes % (uint64_t{1} << 20) == 0) {
    return absl::StrCat(bytes >> 20, " MiB");
  }
  return absl::StrCat(bytes >> 10, " KiB");
}

rocksdb::BlockBasedTableOptions TableOptions(const RocksDbConfig& config,
                                             Temperature temperature) {
  rocksdb::BlockBasedTableOptions table;
  table.block_size = config.block_size_bytes;
  table.checksum = rocksdb::kXXH3;  // 7.8's default, stated.
  table.format_version = 5;         // 7.8's default, stated.
  if (config.profile == RocksDbProfile::kMmap) {
    table.no_block_cache = true;
  } else {
    table.block_cache = rocksdb::NewLRUCache(temperature == Temperature::kWarm
                                                 ? config.warm_cache_bytes
                                                 : config.cold_cache_bytes);
  }
  // Index blocks live in the table readers, not the block cache; no bloom
  // filters (they do not help range scans).
  table.cache_index_and_filter_blocks = false;
  table.filter_policy = nullptr;
  if (config.profile != RocksDbProfile::kDefault) {
    if (temperature == Temperature::kWarm) {
      // No implicit prefetching of blocks that are in the cache already.
      table.max_auto_readahead_size = 0;
    } else if (config.cold_readahead == ColdReadahead::kAdaptiveAsync) {
      table.max_auto_readahead_size = config.readahead_bytes;
    }
  }
  return table;
}

}  // namespace

const char* ColdReadaheadName(ColdReadahead readahead) {
  switch (readahead) {
    case ColdReadahead::kAuto:
      return "auto";
    case ColdReadahead::kFixed:
      return "fixed";
    case ColdReadahead::kAdaptiveAsync:
      return "adaptive+async";
  }
  return "?";
}

std::string RocksDbConfig::Label() const {
  const std::string block = absl::StrCat(block_size_bytes >> 10, "K");
  switch (profile) {
    case RocksDbProfile::kDefault:
      return absl::StrCat("default ", block);
    case RocksDbProfile::kTuned:
      return absl::StrCat("tuned ", block);
    case RocksDbProfile::kMmap:
      return absl::StrCat("tuned ", block, " mmap no-cache no-verify");
  }
  return "?";
}

std::string RocksDbConfig::DirectoryName(Shape shape) const {
  const bool default_profile = profile == RocksDbProfile::kDefault;
  return absl::StrCat("rocksdb_", ShapeName(shape), "_",
                      default_profile ? "default" : "tuned", "_",
                      block_size_bytes >> 10, "K");
}

RocksDbConfig DefaultConfig() { return RocksDbConfig(); }

RocksDbConfig TunedConfig(uint32_t block_size_bytes, ColdReadahead readahead,
                          uint64_t readahead_bytes) {
  RocksDbConfig config;
  config.profile = RocksDbProfile::kTuned;
  config.block_size_bytes = block_size_bytes;
  config.compacted_file_bytes = uint64_t{64} << 20;
  config.cold_readahead = readahead;
  config.readahead_bytes = readahead_bytes;
  return config;
}

rocksdb::Options MakeRocksDbOptions(
    const RocksDbConfig& config, Shape shape, Temperature temperature,
    bool create, std::shared_ptr<rocksdb::Statistics> statistics) {
  rocksdb::Options options;
  options.create_if_missing = create;
  options.comparator = rocksdb::BytewiseComparator();
  // No compression anywhere: lsmscan does not compress either.
  options.compression = rocksdb::kNoCompression;
  options.bottommost_compression = rocksdb::kDisableCompressionOption;
  options.compression_per_level.clear();
  options.write_buffer_size = config.layered_write_buffer_bytes;
  options.max_write_buffer_number = 4;
  options.target_file_size_base = shape == Shape::kCompacted
                                      ? config.compacted_file_bytes
                                      : config.layered_file_bytes;
  options.max_bytes_for_level_base = config.layered_level_base_bytes;
  options.max_bytes_for_level_multiplier = config.layered_level_multiplier;
  options.level0_file_num_compaction_trigger = 4;
  options.level_compaction_dynamic_level_bytes = false;
  options.max_background_jobs = 2;
  // Every table reader (and its index) stays open: no reopen costs.
  options.max_open_files = -1;
  options.use_direct_reads = temperature == Temperature::kCold;
  options.allow_mmap_reads = config.profile == RocksDbProfile::kMmap;
  options.statistics = std::move(statistics);
  options.table_factory.reset(
      rocksdb::NewBlockBasedTableFactory(TableOptions(config, temperature)));
  return options;
}

rocksdb::ReadOptions MakeRocksDbReadOptions(const RocksDbConfig& config,
                                            Temperature temperature) {
  rocksdb::ReadOptions read_options;
  // As lsmscan verifies blocks read (mmap: labelled "no-verify").
  read_options.verify_checksums = config.profile != RocksDbProfile::kMmap;
  read_options.fill_cache = temperature == Temperature::kWarm;
  read_options.readahead_size = 0;  // Automatic read-ahead...
  if (config.profile == RocksDbProfile::kTuned &&
      temperature == Temperature::kCold) {
    if (config.cold_readahead == ColdReadahead::kFixed) {
      read_options.readahead_size = config.readahead_bytes;  // ...or fixed.
    } else if (config.cold_readahead == ColdReadahead::kAdaptiveAsync) {
      read_options.adaptive_readahead = true;
      read_options.async_io = true;
    }
  }
  return read_options;
}

std::string DescribeRocksDbConfig(const RocksDbConfig& config) {
  const bool tuned = config.profile != RocksDbProfile::kDefault;
  std::string cold;
  if (!tuned || config.cold_readahead == ColdReadahead::kAuto) {
    cold =
        "automatic read-ahead (8 KiB doubling to 256 KiB, restarting per "
        "file)";
  } else if (config.cold_readahead == ColdReadahead::kFixed) {
    cold = absl::StrCat("readahead_size=", Kib(config.readahead_bytes));
  } else {
    cold = absl::StrCat("max_auto_readahead_size=", Kib(config.readahead_bytes),
                        ", adaptive_readahead=true, async_io=true");
  }
  return absl::StrCat(
      config.Label(), ": block_size=", Kib(config.block_size_bytes),
      ", checksum=kXXH3, format_version=5, compression none",
      config.profile == RocksDbProfile::kMmap
          ? ", allow_mmap_reads=true, no_block_cache=true, "
            "verify_checksums=false"
          : absl::StrCat(", LRU block cache ", Kib(config.warm_cache_bytes),
                         " warm / ", Kib(config.cold_cache_bytes),
                         " cold with use_direct_reads, verify_checksums=true"),
      ", cache_index_and_filter_blocks=false, no filter, max_open_files=-1; "
      "compacted shape: one run in the last level, target_file_size_base=",
      Kib(config.compacted_file_bytes), "; warm read-ahead: ",
      tuned ? "max_auto_readahead_size=0 (none)" : "automatic (256 KiB max)",
      "; cold: ", cold, "; statistics: ",
      tuned ? "cold only, kExceptTimers" : "cold only, kExceptDetailedTimers",
      "; perf level: ", tuned ? "kDisable" : "kEnableCount (default)");
}

}  // namespace bench
}  // namespace lsmscan
