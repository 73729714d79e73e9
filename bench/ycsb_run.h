// File: bench/ycsb_run.h
// -----------------------------------------------------------------------------
//
// Runs YCSB workload E (bench/ycsb.h) on several engines holding the same
// loaded keys. The run's operations are cut into `repetitions` consecutive
// slices; every engine runs slice i (in an order rotated by one each
// slice) before any runs slice i + 1, so all engines hold the same data at
// every step. Inserts go through Engine::Put, with whatever flushing and
// compaction that costs the engine inside the timed slice; each scan is
// timed on its own for the latency percentiles, and filed as a scan right
// after an insert or a scan after a scan. Every slice's scan record
// count and digest must agree across engines, or the run fails.

#ifndef LSMSCAN_BENCH_YCSB_RUN_H_
#define LSMSCAN_BENCH_YCSB_RUN_H_

#include <cstdint>
#include <span>
#include <vector>

#include "absl/status/status.h"
#include "lsmscan/bench/dataset.h"
#include "lsmscan/bench/engine.h"
#include "lsmscan/bench/measurement.h"
#include "lsmscan/bench/ycsb.h"

namespace lsmscan {
namespace bench {

// YcsbLoad()
//
// The load phase as writes: YcsbKey(i) for i in [0, records), version 0.
std::vector<Operation> YcsbLoad(uint64_t records);

// RunYcsb()
//
// Runs `ops` on `engines` as the file comment says, appending one
// YcsbMeasurement per engine (run number `run`). `dataset` gives the
// payloads (Dataset::Payload(key, 0)).
absl::Status RunYcsb(const Dataset& dataset, std::span<const YcsbOp> ops,
                     uint64_t records_before, uint32_t repetitions,
                     uint32_t run, const std::vector<Engine*>& engines,
                     std::vector<YcsbMeasurement>* measurements);

}  // namespace bench
}  // namespace lsmscan

#endif  // LSMSCAN_BENCH_YCSB_RUN_H_
