#include "lsmscan/bench/ycsb_run.h"

#include <algorithm>
#include <chrono>
#include <optional>
#include <string>

#include "absl/strings/str_format.h"
#include "lsmscan/storage/base/status_macros.h"

namespace lsmscan {
namespace bench {
namespace {

using Clock = std::chrono::steady_clock;

// What one engine's slice returned: its scans' records and folded digest.
struct SliceOutcome {
  ScanOutcome scans;
  double seconds = 0;
};

// `after_insert`: whether the operation before the slice's first (in the
// run's order) was an insert.
absl::StatusOr<SliceOutcome> RunSlice(const Dataset& dataset,
                                      std::span<const YcsbOp> slice,
                                      bool after_insert, Engine* engine,
                                      YcsbMeasurement* measurement) {
  std::vector<uint8_t> payload(dataset.payload_size_bytes());
  SliceOutcome outcome;
  const Clock::time_point start = Clock::now();
  for (const YcsbOp& op : slice) {
    if (op.insert) {
      dataset.Payload(op.key, 0, payload.data());
      LSMSCAN_RETURN_IF_ERROR(engine->Put(op.key, payload));
      after_insert = true;
      continue;
    }
    const Clock::time_point scan_start = Clock::now();
    absl::StatusOr<ScanOutcome> scanned =
        engine->SeekScans(std::span<const uint64_t>(&op.key, 1), op.length);
    const Clock::time_point scan_end = Clock::now();
    if (!scanned.ok()) return scanned.status();
    const double microseconds =
        std::chrono::duration<double, std::micro>(scan_end - scan_start)
            .count();
    measurement->scan_microseconds.push_back(microseconds);
    (after_insert ? measurement->scan_after_insert_microseconds
                  : measurement->scan_after_scan_microseconds)
        .push_back(microseconds);
    after_insert = false;
    outcome.scans.records += scanned->records;
    outcome.scans.digest = FoldDigest(outcome.scans.digest, scanned->digest);
  }
  outcome.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  return outcome;
}

}  // namespace

std::vector<Operation> YcsbLoad(uint64_t records) {
  std::vector<Operation> operations(records);
  for (uint64_t i = 0; i < records; i++) operations[i].key = YcsbKey(i);
  return operations;
}

absl::Status RunYcsb(const Dataset& dataset, std::span<const YcsbOp> ops,
                     uint64_t records_before, uint32_t repetitions,
                     uint32_t run, const std::vector<Engine*>& engines,
                     std::vector<YcsbMeasurement>* measurements) {
  std::vector<YcsbMeasurement> rows(engines.size());
  for (size_t e = 0; e < engines.size(); e++) {
    rows[e].family = engines[e]->family();
    rows[e].variant = engines[e]->variant();
    rows[e].run = run;
    rows[e].records = records_before;
    rows[e].ops = ops.size();
  }
  repetitions = std::max<uint32_t>(1, repetitions);
  const size_t slice_size = (ops.size() + repetitions - 1) / repetitions;
  for (uint32_t r = 0; r * slice_size < ops.size(); r++) {
    const std::span<const YcsbOp> slice = ops.subspan(
        r * slice_size, std::min(slice_size, ops.size() - r * slice_size));
    // The run's first scan follows the load's inserts.
    const bool after_insert = r == 0 || ops[r * slice_size - 1].insert;
    std::optional<SliceOutcome> reference;
    size_t reference_engine = 0;
    for (size_t i = 0; i < engines.size(); i++) {
      const size_t e = (i + r) % engines.size();  // Rotated.
      LSMSCAN_ASSIGN_OR_RETURN(
          const SliceOutcome outcome,
          RunSlice(dataset, slice, after_insert, engines[e], &rows[e]));
      rows[e].ops_per_second.push_back(static_cast<double>(slice.size()) /
                                       outcome.seconds);
      rows[e].scan_records += outcome.scans.records;
      if (!reference.has_value()) {
        reference = outcome;
        reference_engine = e;
      } else if (outcome.scans.records != reference->scans.records ||
                 outcome.scans.digest != reference->scans.digest) {
        return absl::DataLossError(absl::StrFormat(
            "engines disagree on YCSB-E run %u, slice %u: %s scanned %u "
            "records (digest %016x), %s %u (digest %016x); the comparison "
            "is void",
            run + 1, r + 1, engines[reference_engine]->name(),
            reference->scans.records, reference->scans.digest,
            engines[e]->name(), outcome.scans.records, outcome.scans.digest));
      }
    }
  }
  for (size_t e = 0; e < engines.size(); e++) {
    rows[e].write_stats = engines[e]->WriteStats();
    measurements->push_back(std::move(rows[e]));
  }
  return absl::OkStatus();
}

}  // namespace bench
}  // namespace lsmscan
