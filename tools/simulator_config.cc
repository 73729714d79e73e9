// File: tools/simulator_config.cc
// -----------------------------------------------------------------------------
//
// The random configuration of a seed (simulator_config.h).

#include "lsmscan/tools/simulator_config.h"

#include <cstdint>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "lsmscan/lsm/tree_options.h"
#include "lsmscan/scan/scan_buffer.h"
#include "lsmscan/storage/base/prng.h"
#include "lsmscan/storage/fault_storage.h"
#include "lsmscan/tools/simulator_types.h"

namespace lsmscan {
namespace simulator {

namespace {

constexpr uint64_t kBlockCountMax = uint64_t{1} << 16;

// A random tree shape (see doc/reliability.md for the ranges).
TreeOptions RandomTreeOptions(Prng* prng) {
  TreeOptions options;
  options.level_count =
      static_cast<uint32_t>(prng->Chance(0.05) ? 1 : prng->Range(2, 7));
  options.growth_factor = static_cast<uint32_t>(prng->Range(2, 8));
  options.table_data_block_count_max =
      static_cast<uint32_t>(prng->Range(1, 16));
  options.memory_table_value_count_max =
      prng->Chance(0.2) ? 0 : static_cast<uint32_t>(prng->Range(8, 3000));
  options.immutable_table_count_max = static_cast<uint32_t>(
      prng->Chance(0.1) ? prng->Range(5, kImmutableTableCountMax)
                        : prng->Range(1, 4));
  options.cache_block_count =
      prng->Chance(0.3) ? 0 : static_cast<uint32_t>(prng->Range(1, 128));
  options.compaction_write_frame_count =
      static_cast<uint32_t>(prng->Range(1, 4));
  return options;
}

// Random fault probabilities and crash frequency for a fault seed.
void RandomFaults(Prng* prng, Config* config) {
  FaultOptions& faults = config->faults;
  // Enough for every scan slot's levels at the deepest read-ahead, so the
  // wrapper never refuses a request for want of slots.
  faults.request_count_max = 16384;
  if (prng->Chance(0.75)) {
    const double read_rates[] = {0, 0.0005, 0.002, 0.01, 0.03};
    faults.read_error_probability = Pick(prng, read_rates);
    faults.read_corruption_probability = Pick(prng, read_rates);
  }
  const double delay_rates[] = {0, 0.1, 0.3, 0.6, 0.9};
  faults.delay_probability = Pick(prng, delay_rates);
  faults.delay_ticks_max = static_cast<uint32_t>(prng->Range(1, 8));
  if (prng->Chance(0.25)) {
    const double write_rates[] = {0.0005, 0.002, 0.01};
    faults.write_error_probability = Pick(prng, write_rates);
  }
  config->crashes = prng->Chance(0.6);
  config->crash_interval = prng->Range(500, 6000);
}

}  // namespace

// Everything a seed decides up front.
Config RandomConfig(Prng* prng) {
  Config config;
  config.storage.block_size_bytes =
      static_cast<uint32_t>(4096u << prng->Uniform(3));
  config.storage.block_count_max = kBlockCountMax;
  config.tree = RandomTreeOptions(prng);
  config.small_device = prng->Chance(0.08);
  if (config.small_device) {
    config.storage.block_count_max = prng->Range(24, 200);
  }
  const uint64_t magnitude = uint64_t{1} << prng->Range(5, 14);
  config.key_space = magnitude + prng->Uniform(magnitude);
  config.zero_copy = prng->Chance(0.15);
  if (!config.zero_copy) RandomFaults(prng, &config);
  config.scan_slots = static_cast<uint32_t>(prng->Range(1, 8));
  config.get_slots = static_cast<uint32_t>(prng->Range(1, 4));
  config.snapshot_max = static_cast<uint32_t>(prng->Range(0, 6));
  config.read_ahead_max = static_cast<uint32_t>(
      prng->Chance(0.1) ? kReadAheadBlocksMax : prng->Range(0, 4));
  const double probe_rates[] = {0, 0.01, 0.05, 0.2};
  config.probe_probability = Pick(prng, probe_rates);
  const double abort_rates[] = {0, 0.002, 0.01, 0.05};
  config.abort_probability = Pick(prng, abort_rates);
  config.abort_mid_read_probability = Pick(prng, abort_rates);
  return config;
}

// The configuration in one line.
std::string DescribeConfig(const Config& c) {
  std::string storage =
      c.zero_copy
          ? std::string("memory (zero-copy, no faults)")
          : absl::StrFormat(
                "fault{read_error=%g bit_flip=%g write_error=%g delay=%g/%d "
                "crashes=%s/%d ops}",
                c.faults.read_error_probability,
                c.faults.read_corruption_probability,
                c.faults.write_error_probability, c.faults.delay_probability,
                c.faults.delay_ticks_max, c.crashes ? "yes" : "no",
                c.crash_interval);
  return absl::StrFormat(
      "block=%dKiB%s levels=%d growth=%d table_blocks=%d memtable=%d "
      "immutables=%d cache=%d write_frames=%d background=%s read_ahead<=%d "
      "keys=%d scans<=%d gets<=%d snapshots<=%d probe=%g abort=%g/%g "
      "storage=%s",
      c.storage.block_size_bytes / 1024,
      c.small_device
          ? absl::StrCat(" device=", c.storage.block_count_max, "blocks")
          : std::string(),
      c.tree.level_count, c.tree.growth_factor,
      c.tree.table_data_block_count_max, c.tree.memory_table_value_count_max,
      c.tree.immutable_table_count_max, c.tree.cache_block_count,
      c.tree.compaction_write_frame_count,
      c.tree.background_compaction ? "on" : "off", c.read_ahead_max,
      c.key_space, c.scan_slots, c.get_slots, c.snapshot_max,
      c.probe_probability, c.abort_probability, c.abort_mid_read_probability,
      storage);
}

}  // namespace simulator
}  // namespace lsmscan
