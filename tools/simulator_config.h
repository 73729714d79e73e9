// File: tools/simulator_config.h
// -----------------------------------------------------------------------------
//
// What a seed decides before the first operation: the storage, the tree's
// shape, fault probabilities and crash frequency, client counts and the
// probe and abort rates (the ranges are in doc/reliability.md).
//
// Part of the simulator (the API is simulator_lib.h; doc/reliability.md).

#ifndef LSMSCAN_TOOLS_SIMULATOR_CONFIG_H_
#define LSMSCAN_TOOLS_SIMULATOR_CONFIG_H_

#include <cstdint>
#include <string>

#include "lsmscan/lsm/tree_options.h"
#include "lsmscan/storage/base/prng.h"
#include "lsmscan/storage/fault_storage.h"
#include "lsmscan/storage/storage.h"

namespace lsmscan {
namespace simulator {

// Config
//
// Everything the seed decides before the first operation.
struct Config {
  StorageOptions storage;
  TreeOptions tree;
  // A plain, zero-copy MemoryStorage: no faults, no crashes (clean restarts
  // only). Covers the grid's verified-view path.
  bool zero_copy = false;
  // A device of a few hundred blocks: compactions and checkpoints run out
  // of space (ResourceExhausted), and must leave the tree intact.
  bool small_device = false;
  FaultOptions faults;  // write_count_max stays UINT64_MAX here.
  bool crashes = false;
  uint64_t crash_interval = 0;  // Mean operations between crashes.
  uint64_t key_space = 0;       // Keys are mostly in [0, key_space).
  uint32_t scan_slots = 0;      // ScanTree objects in flight at most.
  uint32_t get_slots = 0;
  uint32_t snapshot_max = 0;  // Snapshots held at once at most.
  uint32_t read_ahead_max = 0;
  double probe_probability = 0;           // Per step of a scan.
  double abort_probability = 0;           // Per step of a scan.
  double abort_mid_read_probability = 0;  // Per step with a read in flight.
};

// RandomConfig()
//
// Everything a seed decides up front, drawn from `prng`.
Config RandomConfig(Prng* prng);

// DescribeConfig()
//
// The configuration in one line.
std::string DescribeConfig(const Config& c);

}  // namespace simulator
}  // namespace lsmscan

#endif  // LSMSCAN_TOOLS_SIMULATOR_CONFIG_H_
