// File: bench/write_load.h
// -----------------------------------------------------------------------------
//
// One timed load of //bench:write_benchmark: `keys` written one put at a
// time into an empty engine, each put timed on its own (bench/
// tick_clock.h), with whatever the engine does when writes outrun its
// background work counted as back-pressure waits; then the engine is
// brought to rest (the "time to quiesce", reported apart from the load),
// its shape recorded, and every record read back in one full scan whose
// digest (bench/record_digest.h) must agree between engines.
//
// lsmscan's side (this header): Put(); on ResourceExhausted (the memory
// tables are full) the loop counts a wait and waits the way the library
// offers, PutWithBackPressure() (lsm/tree_blocking.h), timing it. The
// caller never calls Compact(). RocksDB's side: bench/write_load_rocksdb.h.

#ifndef LSMSCAN_BENCH_WRITE_LOAD_H_
#define LSMSCAN_BENCH_WRITE_LOAD_H_

#include <chrono>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "lsmscan/bench/dataset.h"
#include "lsmscan/bench/latency_summary.h"
#include "lsmscan/bench/lsmscan_engine.h"
#include "lsmscan/bench/record_digest.h"
#include "lsmscan/bench/tick_clock.h"
#include "lsmscan/lsm/schema.h"
#include "lsmscan/lsm/tree.h"
#include "lsmscan/lsm/tree_blocking.h"
#include "lsmscan/storage/base/status_macros.h"
#include "lsmscan/storage/storage.h"

namespace lsmscan {
namespace bench {

// WriteLoadResult
//
// One engine's load of one key sequence.
struct WriteLoadResult {
  std::string engine;       // "lsmscan memory", "rocksdb tuned 64K".
  uint64_t puts = 0;        // Records written.
  double load_seconds = 0;  // The put loop, waits included.
  // CPU time of the loading thread in the put loop (RocksDB's background
  // threads not included): load_seconds minus this is time the thread
  // waited (for a core on a shared machine, or blocked).
  double load_thread_cpu_seconds = 0;
  // CPU time of the whole process (background threads included) over the
  // load and the quiesce.
  double process_cpu_seconds = 0;
  double quiesce_seconds = 0;  // Final flush and compactions, after it.
  LatencySummary latency;      // Per put, waits included.
  // lsmscan: puts answered ResourceExhausted, and the time spent waiting
  // for room (inside those puts). RocksDB: the times its write controller
  // entered a slowdown or stop (cfstats io_stalls), and STALL_MICROS.
  uint64_t waits = 0;
  double wait_seconds = 0;
  uint64_t sorted_runs = 0;  // At rest.
  std::string shape;         // At rest, per level.
  // Bytes the engine wrote by flushes and compactions per byte put (0 if
  // unknown).
  double write_amplification = 0;
  ScanOutcome full_scan;  // Every record at rest, ascending.

  double writes_per_second() const {
    return load_seconds > 0 ? static_cast<double>(puts) / load_seconds : 0;
  }
};

// ThreadCpuSeconds()
//
// CPU time of the calling thread so far.
double ThreadCpuSeconds();

// ProcessCpuSeconds()
//
// CPU time of the process (every thread) so far.
double ProcessCpuSeconds();

// LsmscanShape()
//
// "L0 2, L1 8, L2 40 tables; 1 memory run", and the sorted runs.
std::string LsmscanShape(const TreeStats& stats, uint32_t level_count);

// LoadLsmscan()
//
// Creates a tree on `storage` (owned; empty) with `options`, loads `keys`
// (payloads Dataset::Payload(key, 0)) as the file comment says, at most
// `puts_per_second` (0: as fast as it goes; bench/tick_clock.h's Pacer),
// polling the storage once per put (inside the put's time), then
// quiesces it (Checkpoint(): every memory table flushed; then Compact():
// no level over its size) and scans it. Fills `result`.
template <Schema S>
absl::Status LoadLsmscan(std::unique_ptr<Storage> storage,
                         const TreeOptions& options, const Dataset& dataset,
                         std::span<const uint64_t> keys, const TickClock& clock,
                         double puts_per_second, WriteLoadResult* result) {
  using Clock = std::chrono::steady_clock;
  using Value = typename S::Value;
  if (dataset.payload_size_bytes() != sizeof(Value{}.payload)) {
    return absl::InvalidArgumentError("dataset and schema payloads differ");
  }
  LSMSCAN_ASSIGN_OR_RETURN(std::unique_ptr<Tree<S>> tree,
                           Tree<S>::Create(storage.get(), options));
  std::vector<uint64_t> ticks(keys.size());
  uint64_t wait_ticks = 0;
  auto value = std::make_unique<Value>();
  const Clock::time_point start = Clock::now();
  const double cpu_start = ThreadCpuSeconds();
  const double process_cpu_start = ProcessCpuSeconds();
  const Pacer pacer(puts_per_second, clock);
  for (size_t i = 0; i < keys.size(); i++) {
    value->key = keys[i];
    dataset.Payload(keys[i], 0, value->payload.data());
    pacer.WaitTurn(i);
    const uint64_t put_start = TickClock::Now();
    absl::Status status = tree->Put(*value);
    if (absl::IsResourceExhausted(status)) {
      result->waits++;
      const uint64_t wait_start = TickClock::Now();
      status = PutWithBackPressure(tree.get(), *value);
      wait_ticks += TickClock::Now() - wait_start;
    }
    // One poll of the storage loop per put, as a program with an event
    // loop runs it: it completes any I/O the tree has in flight.
    storage->Tick(Storage::TickMode::kPoll);
    ticks[i] = TickClock::Now() - put_start;
    LSMSCAN_RETURN_IF_ERROR(status);
  }
  const Clock::time_point loaded = Clock::now();
  result->load_thread_cpu_seconds = ThreadCpuSeconds() - cpu_start;
  LSMSCAN_RETURN_IF_ERROR(CheckpointBlocking(tree.get()));
  LSMSCAN_RETURN_IF_ERROR(CompactBlocking(tree.get()));
  const Clock::time_point quiet = Clock::now();
  result->process_cpu_seconds = ProcessCpuSeconds() - process_cpu_start;
  result->puts = keys.size();
  result->load_seconds = std::chrono::duration<double>(loaded - start).count();
  result->quiesce_seconds =
      std::chrono::duration<double>(quiet - loaded).count();
  result->wait_seconds = clock.Nanoseconds(wait_ticks) * 1e-9;
  result->latency = Summarize(&ticks, clock);
  const TreeStats stats = tree->stats();
  result->shape = LsmscanShape(stats, tree->level_count());
  result->sorted_runs = stats.sorted_runs;
  // Values written to tables by flushes and compactions, per value put.
  result->write_amplification =
      static_cast<double>(stats.values_compacted) /
      static_cast<double>(std::max<uint64_t>(1, stats.puts));
  LSMSCAN_ASSIGN_OR_RETURN(
      std::unique_ptr<LsmscanEngine<S>> engine,
      LsmscanEngine<S>::Create(std::move(storage), std::move(tree), "write",
                               Temperature::kWarm, 1));
  LSMSCAN_ASSIGN_OR_RETURN(result->full_scan,
                           engine->FullScan(Direction::kAscending));
  return absl::OkStatus();
}

}  // namespace bench
}  // namespace lsmscan

#endif  // LSMSCAN_BENCH_WRITE_LOAD_H_
