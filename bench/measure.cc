#include "lsmscan/bench/measure.h"

#include <time.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <fstream>
#include <optional>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/strip.h"
#include "lsmscan/storage/base/assert.h"
#include "lsmscan/storage/base/status_macros.h"

namespace lsmscan {
namespace bench {
namespace {

using Clock = std::chrono::steady_clock;

constexpr uint32_t kPassesMax = 100'000;

// The CPU time (user + system) the process has used so far, in seconds.
double ProcessCpuSeconds() {
  timespec now{};
  const int result = clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &now);
  LSMSCAN_ASSERT(result == 0);
  return static_cast<double>(now.tv_sec) +
         static_cast<double>(now.tv_nsec) * 1e-9;
}

// The start keys of every pass of one repetition, made on demand (outside
// the timed region) and shared by the engines.
class PassStarts {
 public:
  PassStarts(const Dataset& dataset, const Workload& workload, uint64_t scans,
             uint64_t seed)
      : dataset_(dataset), workload_(workload), scans_(scans), seed_(seed) {}

  // Makes the lists of passes [0, passes).
  void Prepare(uint32_t passes) {
    while (lists_.size() < passes) {
      const uint64_t seed = seed_ * 1'000'003 + lists_.size();
      if (workload_.kind == Workload::Kind::kFull) {
        lists_.emplace_back();
      } else if (workload_.kind == Workload::Kind::kRange) {
        lists_.push_back(dataset_.RangeStarts(workload_.length, scans_, seed));
      } else {
        lists_.push_back(dataset_.RangeStarts(1, scans_, seed));
      }
    }
  }
  const std::vector<uint64_t>& pass(uint32_t index) const {
    return lists_.at(index);
  }

 private:
  const Dataset& dataset_;
  const Workload& workload_;
  uint64_t scans_;
  uint64_t seed_;
  std::vector<std::vector<uint64_t>> lists_;
};

absl::StatusOr<ScanOutcome> RunPass(Engine* engine, const Workload& workload,
                                    const std::vector<uint64_t>& starts) {
  switch (workload.kind) {
    case Workload::Kind::kFull:
      return engine->FullScan(workload.direction);
    case Workload::Kind::kRange:
      return engine->RangeScans(starts, workload.length, workload.direction);
    case Workload::Kind::kSeek:
      return engine->SeekScans(starts, static_cast<uint32_t>(workload.length));
  }
  return absl::InternalError("unknown workload kind");
}

// One timed sample: `passes` passes back to back.
struct Sample {
  double seconds = 0;
  double cpu_seconds = 0;
  uint64_t records = 0;
  uint64_t read_bytes = 0;
  uint64_t device_reads = 0;
  uint64_t device_requests = 0;
  std::vector<ScanOutcome> outcomes;  // Per pass.
};

absl::StatusOr<Sample> RunSample(Engine* engine, const Workload& workload,
                                 const PassStarts& starts, uint32_t passes) {
  Sample sample;
  sample.outcomes.resize(passes);
  const uint64_t read_bytes = ProcessReadBytes();
  const uint64_t reads = engine->device_reads();
  const uint64_t requests = engine->device_requests();
  const double cpu_start = ProcessCpuSeconds();
  const Clock::time_point start = Clock::now();
  for (uint32_t p = 0; p < passes; p++) {
    absl::StatusOr<ScanOutcome> outcome =
        RunPass(engine, workload, starts.pass(p));
    if (!outcome.ok()) return outcome.status();
    sample.outcomes[p] = *outcome;
  }
  sample.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  sample.cpu_seconds = ProcessCpuSeconds() - cpu_start;
  sample.read_bytes = ProcessReadBytes() - read_bytes;
  sample.device_reads = engine->device_reads() - reads;
  sample.device_requests = engine->device_requests() - requests;
  for (const ScanOutcome& outcome : sample.outcomes) {
    sample.records += outcome.records;
  }
  return sample;
}

// The first outcome of each pass in a repetition, and who returned it.
struct Reference {
  ScanOutcome outcome;
  std::string engine;
};

absl::Status CheckSample(const Sample& sample, const Engine& engine,
                         const std::string& where,
                         std::vector<std::optional<Reference>>* references) {
  if (engine.family() == "raw") return absl::OkStatus();
  if (references->size() < sample.outcomes.size()) {
    references->resize(sample.outcomes.size());
  }
  for (size_t p = 0; p < sample.outcomes.size(); p++) {
    const ScanOutcome& mine = sample.outcomes[p];
    std::optional<Reference>& reference = (*references)[p];
    if (!reference.has_value()) {
      reference = Reference{mine, engine.name()};
      continue;
    }
    if (mine.records != reference->outcome.records ||
        mine.digest != reference->outcome.digest) {
      return absl::DataLossError(absl::StrFormat(
          "engines disagree on %s, pass %u: %s returned %u records (digest "
          "%016x), %s returned %u records (digest %016x); the comparison is "
          "void",
          where, p, reference->engine, reference->outcome.records,
          reference->outcome.digest, engine.name(), mine.records, mine.digest));
    }
  }
  return absl::OkStatus();
}

uint64_t ScansPerPass(const MeasureOptions& options, const Workload& workload,
                      Temperature temperature) {
  if (workload.kind == Workload::Kind::kFull) return 1;
  const uint64_t target = temperature == Temperature::kWarm
                              ? options.warm_records_per_pass
                              : options.cold_records_per_pass;
  return std::max<uint64_t>(4, target / workload.length);
}

// Passes per sample for each engine: one untimed-for-the-report pass
// (which also warms the engine up), scaled to the minimum sample time.
absl::StatusOr<std::vector<uint32_t>> Calibrate(
    const MeasureOptions& options, const std::vector<Engine*>& engines,
    const Workload& workload, const PassStarts& starts) {
  std::vector<uint32_t> passes;
  for (Engine* engine : engines) {
    absl::StatusOr<Sample> sample = RunSample(engine, workload, starts, 1);
    if (absl::IsUnimplemented(sample.status())) {
      passes.push_back(0);  // Not a workload this engine runs.
      continue;
    }
    if (!sample.ok()) return sample.status();
    const double needed =
        std::ceil(options.min_sample_seconds / std::max(sample->seconds, 1e-6));
    passes.push_back(static_cast<uint32_t>(
        std::clamp(needed, 1.0, static_cast<double>(kPassesMax))));
  }
  return passes;
}

Measurement NewRow(const MeasureOptions& options, const Dataset& dataset,
                   Shape shape, const Workload& workload, const Engine& engine,
                   uint64_t scans, uint32_t passes) {
  Measurement row;
  row.shape = ShapeName(shape);
  row.value_size_bytes = dataset.value_size_bytes();
  row.workload = workload.name;
  row.direction = workload.direction;
  row.family = engine.family();
  row.variant = engine.variant();
  row.temperature = engine.temperature();
  row.run = options.run;
  row.scans_per_pass = scans;
  row.passes = passes;
  return row;
}

void Record(const Sample& sample, uint64_t scans, Measurement* row) {
  const double records =
      static_cast<double>(std::max<uint64_t>(sample.records, 1));
  row->records_per_pass =
      sample.outcomes.empty() ? 0 : sample.outcomes.front().records;
  row->ns_per_record.push_back(sample.seconds * 1e9 / records);
  row->cpu_ns_per_record.push_back(sample.cpu_seconds * 1e9 / records);
  if (row->temperature != Temperature::kCold) return;
  const double scan_count =
      static_cast<double>(scans) * static_cast<double>(sample.outcomes.size());
  row->device_bytes_per_record =
      static_cast<double>(sample.read_bytes) / records;
  if (row->family == "lsmscan") {
    row->device_reads_per_scan =
        static_cast<double>(sample.device_reads) / scan_count;
    row->device_requests_per_scan =
        static_cast<double>(sample.device_requests) / scan_count;
  }
}

absl::Status MeasureWorkload(const MeasureOptions& options,
                             const Dataset& dataset, Shape shape,
                             const std::vector<Engine*>& engines,
                             const Workload& workload,
                             std::vector<Measurement>* measurements) {
  const Temperature temperature = engines.front()->temperature();
  const uint64_t scans = ScansPerPass(options, workload, temperature);
  PassStarts calibration(dataset, workload, scans, options.seed ^ 0xCA11);
  calibration.Prepare(1);
  LSMSCAN_ASSIGN_OR_RETURN(const std::vector<uint32_t> passes,
                           Calibrate(options, engines, workload, calibration));
  std::vector<Measurement> rows;
  for (size_t e = 0; e < engines.size(); e++) {
    rows.push_back(NewRow(options, dataset, shape, workload, *engines[e], scans,
                          passes[e]));
  }
  const uint32_t passes_max = *std::max_element(passes.begin(), passes.end());
  for (uint32_t repetition = 0; repetition < options.repetitions;
       repetition++) {
    PassStarts starts(dataset, workload, scans,
                      options.seed + 7919 * (options.run * 1000 + repetition));
    starts.Prepare(passes_max);
    std::vector<std::optional<Reference>> references;
    const std::string where = absl::StrCat(
        ShapeName(shape), " ", dataset.value_size_bytes(), "B ",
        temperature == Temperature::kWarm ? "warm " : "cold ", workload.name,
        ", run ", options.run + 1, ", repetition ", repetition + 1);
    for (size_t i = 0; i < engines.size(); i++) {
      const size_t e = (i + repetition) % engines.size();  // Rotated.
      if (passes[e] == 0) continue;
      LSMSCAN_ASSIGN_OR_RETURN(
          const Sample sample,
          RunSample(engines[e], workload, starts, passes[e]));
      LSMSCAN_RETURN_IF_ERROR(
          CheckSample(sample, *engines[e], where, &references));
      Record(sample, scans, &rows[e]);
    }
  }
  for (Measurement& row : rows) {
    if (!row.ns_per_record.empty()) measurements->push_back(std::move(row));
  }
  if (options.say != nullptr) {
    options.say(
        absl::StrCat(ShapeName(shape), " ", dataset.value_size_bytes(), "B ",
                     temperature == Temperature::kWarm ? "warm " : "cold ",
                     workload.name, ", run ", options.run + 1, ": done"));
  }
  return absl::OkStatus();
}

}  // namespace

std::vector<Workload> Workloads(const WorkloadSet& set,
                                Temperature temperature) {
  using Kind = Workload::Kind;
  std::vector<Workload> workloads;
  if (temperature == Temperature::kCold) {
    workloads.push_back({"full asc", Kind::kFull, 0, Direction::kAscending});
    for (uint64_t length : set.cold_lengths) {
      workloads.push_back({absl::StrCat("L=", length, " asc"), Kind::kRange,
                           length, Direction::kAscending});
    }
    return workloads;
  }
  workloads.push_back({"full asc", Kind::kFull, 0, Direction::kAscending});
  for (uint64_t length : set.range_lengths) {
    workloads.push_back({absl::StrCat("L=", length, " asc"), Kind::kRange,
                         length, Direction::kAscending});
  }
  for (uint64_t nexts : set.seek_nexts) {
    workloads.push_back({absl::StrCat("seekrandom nexts=", nexts), Kind::kSeek,
                         nexts, Direction::kAscending});
  }
  workloads.push_back({"full desc", Kind::kFull, 0, Direction::kDescending});
  for (uint64_t length : set.descending_lengths) {
    workloads.push_back({absl::StrCat("L=", length, " desc"), Kind::kRange,
                         length, Direction::kDescending});
  }
  return workloads;
}

absl::Status CrossCheck(const std::vector<Engine*>& engines,
                        const Dataset& dataset) {
  const std::vector<uint64_t> starts = dataset.RangeStarts(100, 50, 1);
  for (Direction direction : {Direction::kAscending, Direction::kDescending}) {
    for (const Workload& workload :
         {Workload{"full", Workload::Kind::kFull, 0, direction},
          Workload{"L=100", Workload::Kind::kRange, 100, direction}}) {
      std::vector<std::optional<Reference>> references;
      for (Engine* engine : engines) {
        if (engine->family() == "raw") continue;
        absl::StatusOr<ScanOutcome> outcome = RunPass(engine, workload, starts);
        if (!outcome.ok()) return outcome.status();
        Sample sample;
        sample.outcomes.push_back(*outcome);
        LSMSCAN_RETURN_IF_ERROR(
            CheckSample(sample, *engine,
                        absl::StrCat("the cross-check's ", workload.name, " ",
                                     DirectionName(direction)),
                        &references));
      }
    }
  }
  return absl::OkStatus();
}

absl::Status Measure(const MeasureOptions& options, const Dataset& dataset,
                     Shape shape, const std::vector<Engine*>& engines,
                     const std::vector<Workload>& workloads,
                     std::vector<Measurement>* measurements) {
  if (engines.empty()) return absl::OkStatus();
  for (const Workload& workload : workloads) {
    LSMSCAN_RETURN_IF_ERROR(MeasureWorkload(options, dataset, shape, engines,
                                            workload, measurements));
  }
  return absl::OkStatus();
}

uint64_t ProcessReadBytes() {
  std::ifstream io("/proc/self/io");
  std::string line;
  while (std::getline(io, line)) {
    if (!absl::StartsWith(line, "read_bytes:")) continue;
    uint64_t bytes = 0;
    if (absl::SimpleAtoi(absl::StripPrefix(line, "read_bytes:"), &bytes)) {
      return bytes;
    }
  }
  return 0;
}

}  // namespace bench
}  // namespace lsmscan
