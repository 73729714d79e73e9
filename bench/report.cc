#include "lsmscan/bench/report.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>
#include <tuple>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "lsmscan/storage/base/assert.h"

namespace lsmscan {
namespace bench {
namespace {

using GroupKey = std::tuple<std::string, uint32_t, Temperature, std::string>;

GroupKey KeyOf(const Measurement& m) {
  return {m.shape, m.value_size_bytes, m.temperature, m.workload};
}

const char* TemperatureName(Temperature temperature) {
  return temperature == Temperature::kWarm ? "warm" : "cold";
}

// `engine`'s measurements of `m`'s workload, by run.
std::map<uint32_t, const Measurement*> RunsOf(
    const Measurement& m, const std::string& engine,
    const std::vector<Measurement>& all) {
  std::map<uint32_t, const Measurement*> runs;
  for (const Measurement& other : all) {
    if (KeyOf(other) == KeyOf(m) && other.engine() == engine) {
      runs[other.run] = &other;
    }
  }
  return runs;
}

double MedianOverRuns(const std::map<uint32_t, const Measurement*>& runs) {
  std::vector<double> medians;
  for (const auto& [run, m] : runs) medians.push_back(m->NsMedian());
  return Median(medians);
}

Ratio RatioOf(const std::vector<double>& ratios, bool per_run) {
  Ratio ratio;
  if (ratios.empty()) return ratio;
  ratio.median = Median(ratios);
  ratio.min = *std::min_element(ratios.begin(), ratios.end());
  ratio.max = *std::max_element(ratios.begin(), ratios.end());
  ratio.per_run = per_run;
  return ratio;
}

// The engines measured on `m`'s workload, in first-seen order.
std::vector<std::string> EnginesOf(const Measurement& m,
                                   const std::vector<Measurement>& all,
                                   const std::string& family) {
  std::vector<std::string> engines;
  for (const Measurement& other : all) {
    if (KeyOf(other) != KeyOf(m) || other.family != family) continue;
    if (std::find(engines.begin(), engines.end(), other.engine()) ==
        engines.end()) {
      engines.push_back(other.engine());
    }
  }
  return engines;
}

// One representative measurement per workload (run 0 rows), in order.
std::vector<const Measurement*> Groups(const std::vector<Measurement>& all) {
  std::vector<const Measurement*> groups;
  std::set<GroupKey> seen;
  for (const Measurement& m : all) {
    if (seen.insert(KeyOf(m)).second) groups.push_back(&m);
  }
  return groups;
}

std::string Ns(double ns) { return absl::StrFormat("%.1f", ns); }

// Summary rows for the workloads `keep` accepts: lsmscan's engines (but
// mmap) against the fastest RocksDB engine, with the default one beside.
std::string SummaryTable(const std::vector<Measurement>& all,
                         bool (*keep)(const Measurement&)) {
  std::string text =
      "| data | workload | lsmscan | ns/rec | fastest RocksDB | ns/rec | "
      "RocksDB default ns/rec | speedup | CPU-time speedup |\n"
      "|---|---|---|--:|---|--:|--:|---|---|\n";
  bool any = false;
  for (const Measurement* group : Groups(all)) {
    if (group->family == "raw" || !keep(*group)) continue;
    const std::string fastest = FastestRocksDb(*group, all);
    if (fastest.empty()) continue;
    std::string default_ns = "-";
    for (const std::string& engine : EnginesOf(*group, all, "rocksdb")) {
      if (engine.find(" default ") != std::string::npos) {
        default_ns = Ns(MedianOverRuns(RunsOf(*group, engine, all)));
      }
    }
    for (const std::string& engine : EnginesOf(*group, all, "lsmscan")) {
      if (engine == "lsmscan mmap") continue;
      any = true;
      absl::StrAppend(
          &text, "| ", group->shape, " ", group->value_size_bytes, "B | ",
          group->workload, " | ", engine.substr(8), " | ",
          Ns(MedianOverRuns(RunsOf(*group, engine, all))), " | ",
          fastest.substr(8), " | ",
          Ns(MedianOverRuns(RunsOf(*group, fastest, all))), " | ", default_ns,
          " | ", FormatRatio(Speedup(*group, engine, fastest, all)), " | ",
          FormatRatio(Speedup(*group, engine, fastest, all, SpeedupTime::kCpu)),
          " |\n");
    }
  }
  return any ? text : "(not measured in this run)\n";
}

bool LayeredWarmAscending(const Measurement& m) {
  return m.shape == "layered" && m.temperature == Temperature::kWarm &&
         m.direction == Direction::kAscending;
}
bool CompactedWarmAscending(const Measurement& m) {
  return m.shape == "compacted" && m.temperature == Temperature::kWarm &&
         m.direction == Direction::kAscending;
}
bool Cold(const Measurement& m) { return m.temperature == Temperature::kCold; }
bool WarmDescending(const Measurement& m) {
  return m.temperature == Temperature::kWarm &&
         m.direction == Direction::kDescending;
}

std::string YcsbTable(const std::vector<YcsbMeasurement>& ycsb) {
  if (ycsb.empty()) return "(not measured in this run)\n";
  std::map<std::string, std::vector<const YcsbMeasurement*>> by_engine;
  std::vector<std::string> order;
  for (const YcsbMeasurement& m : ycsb) {
    if (by_engine[m.engine()].empty()) order.push_back(m.engine());
    by_engine[m.engine()].push_back(&m);
  }
  // Per run: the median of the slices' ops/s.
  auto run_ops = [&](const std::string& engine) {
    std::vector<double> ops;
    for (const YcsbMeasurement* m : by_engine[engine]) {
      ops.push_back(Median(m->ops_per_second));
    }
    return ops;
  };
  std::string fastest;
  for (const std::string& engine : order) {
    if (engine.rfind("rocksdb", 0) != 0) continue;
    if (fastest.empty() || Median(run_ops(engine)) > Median(run_ops(fastest))) {
      fastest = engine;
    }
  }
  std::string text = absl::StrCat(
      "| engine | ops/s | scan p50 us | scan p99 us | after insert p50 / p99 "
      "us | after scan p50 / p99 us | p50 after insert / after scan | "
      "records/scan | vs ",
      fastest, " | writes |\n|---|--:|--:|--:|--:|--:|--:|--:|---|---|\n");
  for (const std::string& engine : order) {
    std::vector<double> latencies;
    std::vector<double> after_insert;
    std::vector<double> after_scan;
    uint64_t records = 0;
    uint64_t scans = 0;
    for (const YcsbMeasurement* m : by_engine[engine]) {
      latencies.insert(latencies.end(), m->scan_microseconds.begin(),
                       m->scan_microseconds.end());
      after_insert.insert(after_insert.end(),
                          m->scan_after_insert_microseconds.begin(),
                          m->scan_after_insert_microseconds.end());
      after_scan.insert(after_scan.end(),
                        m->scan_after_scan_microseconds.begin(),
                        m->scan_after_scan_microseconds.end());
      records += m->scan_records;
      scans += m->scan_microseconds.size();
    }
    std::vector<double> ratios;
    const auto& mine = by_engine[engine];
    const auto& theirs = by_engine[fastest];
    const bool per_run = mine.size() >= 2 && theirs.size() == mine.size();
    for (size_t r = 0; r < mine.size() && r < theirs.size(); r++) {
      if (per_run) {
        ratios.push_back(Median(mine[r]->ops_per_second) /
                         Median(theirs[r]->ops_per_second));
        continue;
      }
      for (size_t s = 0; s < mine[r]->ops_per_second.size() &&
                         s < theirs[r]->ops_per_second.size();
           s++) {
        ratios.push_back(mine[r]->ops_per_second[s] /
                         theirs[r]->ops_per_second[s]);
      }
    }
    const double insert_p50 = Percentile(after_insert, 0.5);
    const double scan_p50 = Percentile(after_scan, 0.5);
    absl::StrAppendFormat(
        &text,
        "| %s | %.0f | %.2f | %.2f | %.2f / %.2f | %.2f / %.2f | %.2fx | "
        "%.1f | %s | %s |\n",
        engine, Median(run_ops(engine)), Percentile(latencies, 0.5),
        Percentile(latencies, 0.99), insert_p50, Percentile(after_insert, 0.99),
        scan_p50, Percentile(after_scan, 0.99),
        scan_p50 > 0 ? insert_p50 / scan_p50 : 0.0,
        scans == 0 ? 0.0 : static_cast<double>(records) / scans,
        engine == fastest ? "baseline" : FormatRatio(RatioOf(ratios, per_run)),
        mine.back()->write_stats);
  }
  return text;
}

std::string LayoutTable(const std::vector<EngineLayout>& layouts) {
  std::string text =
      "| data | engine | sorted runs | bytes on disk / record | layout |\n"
      "|---|---|--:|--:|---|\n";
  for (const EngineLayout& l : layouts) {
    absl::StrAppendFormat(
        &text, "| %s | %s | %u | %s | %s |\n", l.dataset, l.engine,
        l.layout.sorted_runs,
        l.layout.bytes_on_disk == 0
            ? std::string("- (memory)")
            : absl::StrFormat("%.1f",
                              static_cast<double>(l.layout.bytes_on_disk) /
                                  static_cast<double>(l.records)),
        l.layout.description);
  }
  return text;
}

std::string FullRow(const Measurement& m, const std::vector<Measurement>& all) {
  const auto runs = RunsOf(m, m.engine(), all);
  double low = 1e300;
  double high = 0;
  std::vector<double> cpu;
  for (const auto& [run, row] : runs) {
    low = std::min(low, row->NsMin());
    high = std::max(high, row->NsMax());
    cpu.push_back(row->CpuNsMedian());
  }
  const double median = MedianOverRuns(runs);
  const std::string fastest = FastestRocksDb(m, all);
  std::string speedup = "";
  if (m.family == "lsmscan" && !fastest.empty()) {
    speedup = FormatRatio(Speedup(m, m.engine(), fastest, all));
  } else if (m.engine() == fastest) {
    speedup = "baseline";
  }
  return absl::StrFormat(
      "| %s | %s | %.2f | %.2f | %.2f | %.2f | %.1f | %s | %s | %u x %u |\n",
      m.workload, m.engine(), median, low, high, Median(cpu),
      median > 0 ? 1e3 / median : 0.0, speedup,
      m.device_bytes_per_record < 0
          ? std::string("")
          : absl::StrFormat("%.1f", m.device_bytes_per_record),
      m.passes, m.records_per_pass);
}

std::string FullTables(const std::vector<Measurement>& all) {
  std::map<std::tuple<std::string, uint32_t, Temperature>, std::string>
      sections;
  std::vector<std::tuple<std::string, uint32_t, Temperature>> order;
  std::set<std::pair<GroupKey, std::string>> done;
  for (const Measurement& m : all) {
    if (!done.insert({KeyOf(m), m.engine()}).second) continue;
    const auto key =
        std::make_tuple(m.shape, m.value_size_bytes, m.temperature);
    if (sections[key].empty()) order.push_back(key);
    absl::StrAppend(&sections[key], FullRow(m, all));
  }
  std::string text;
  for (const auto& key : order) {
    const auto& [shape, size, temperature] = key;
    absl::StrAppend(
        &text, "\n### ", shape, ", ", size, "-byte records, ",
        TemperatureName(temperature),
        "\n\n| workload | engine | ns/rec median | min | max | CPU ns/rec | "
        "M rec/s | speedup vs fastest RocksDB | device B/rec | passes x "
        "records |\n|---|---|--:|--:|--:|--:|--:|---|--:|---|\n",
        sections[key]);
  }
  return text;
}

std::string ContextText(const ReportContext& c) {
  std::string text = absl::StrCat(
      "- date: ", c.machine.date, "; commit: ", c.commit,
      "\n- machine: ", c.machine.cpu, ", ", c.machine.cores, " cores, ",
      c.machine.kernel, "; load average ", c.load,
      "\n- huge pages: ", c.huge_pages, "\n- compiler: ", c.machine.compiler,
      c.machine.optimized ? " (optimised)" : " (NOT optimised)",
      "\n- command: `", c.command, "`\n- records: ", c.record_count,
      "; runs: ", c.runs, "; repetitions per run: ", c.repetitions,
      "; each sample lasts at least ",
      absl::StrFormat("%.0f", c.min_sample_seconds * 1e3),
      " ms (passes repeated inside it); engine order rotated each "
      "repetition\n- speedups: against the fastest RocksDB engine of each "
      "workload (named); ",
      c.runs >= 2 ? "median [min-max] of the per-run ratios"
                  : "median [min-max] of the per-repetition ratios (one run)",
      "\n- RocksDB ", c.rocksdb_version, " from ", c.rocksdb_library, ": ",
      c.rocksdb_assertions
          ? "built WITH assertions (no NDEBUG): speedups overstate lsmscan's "
            "lead; see tools/build_rocksdb_release.sh"
          : "release build (NDEBUG)",
      c.rocksdb_build.empty() ? "" : absl::StrCat("; build: ", c.rocksdb_build),
      "\n");
  for (const std::string& config : c.rocksdb_configs) {
    absl::StrAppend(&text, "- RocksDB ", config, "\n");
  }
  for (const std::string& note : c.notes) {
    absl::StrAppend(&text, "- ", note, "\n");
  }
  return text;
}

}  // namespace

double Median(std::vector<double> samples) {
  if (samples.empty()) return 0;
  std::sort(samples.begin(), samples.end());
  const size_t n = samples.size();
  return n % 2 == 1 ? samples[n / 2]
                    : (samples[n / 2 - 1] + samples[n / 2]) / 2;
}

double Measurement::NsMin() const {
  if (ns_per_record.empty()) return 0;
  return *std::min_element(ns_per_record.begin(), ns_per_record.end());
}

double Measurement::NsMax() const {
  if (ns_per_record.empty()) return 0;
  return *std::max_element(ns_per_record.begin(), ns_per_record.end());
}

std::string FastestRocksDb(const Measurement& m,
                           const std::vector<Measurement>& all) {
  std::string fastest;
  double fastest_ns = 0;
  for (const std::string& engine : EnginesOf(m, all, "rocksdb")) {
    const double ns = MedianOverRuns(RunsOf(m, engine, all));
    if (fastest.empty() || ns < fastest_ns) {
      fastest = engine;
      fastest_ns = ns;
    }
  }
  return fastest;
}

Ratio Speedup(const Measurement& m, const std::string& engine,
              const std::string& baseline, const std::vector<Measurement>& all,
              SpeedupTime time) {
  const bool cpu = time == SpeedupTime::kCpu;
  const auto mine = RunsOf(m, engine, all);
  const auto theirs = RunsOf(m, baseline, all);
  std::vector<std::pair<const Measurement*, const Measurement*>> pairs;
  for (const auto& [run, row] : mine) {
    const auto found = theirs.find(run);
    if (found != theirs.end()) pairs.push_back({row, found->second});
  }
  std::vector<double> ratios;
  if (pairs.size() >= 2) {
    for (const auto& [row, base] : pairs) {
      ratios.push_back(cpu ? base->CpuNsMedian() / row->CpuNsMedian()
                           : base->NsMedian() / row->NsMedian());
    }
    return RatioOf(ratios, /*per_run=*/true);
  }
  for (const auto& [row, base] : pairs) {
    const std::vector<double>& a =
        cpu ? row->cpu_ns_per_record : row->ns_per_record;
    const std::vector<double>& b =
        cpu ? base->cpu_ns_per_record : base->ns_per_record;
    for (size_t i = 0; i < std::min(a.size(), b.size()); i++) {
      ratios.push_back(b[i] / a[i]);
    }
  }
  return RatioOf(ratios, /*per_run=*/false);
}

std::string FormatRatio(const Ratio& ratio) {
  if (!ratio.valid()) return "-";
  auto format = [](double x) {
    return absl::StrFormat(x < 10 ? "%.2f" : "%.1f", x);
  };
  return absl::StrCat(format(ratio.median), "x [", format(ratio.min), "-",
                      format(ratio.max), "]");
}

std::string Markdown(const ReportContext& context, const Results& results) {
  const std::vector<Measurement>& all = results.measurements;
  return absl::StrCat(
      "## Context\n\n", ContextText(context),
      "\n## Headline\n\n### Layered tree, merge against merge (warm, "
      "ascending)\n\n",
      SummaryTable(all, LayeredWarmAscending),
      "\n### YCSB workload E (95% scans of 1-100 records from scrambled-"
      "Zipfian keys, 5% inserts)\n\n",
      YcsbTable(results.ycsb),
      "\n### One sorted run (compacted tree), warm, ascending\n\n",
      SummaryTable(all, CompactedWarmAscending),
      "\n### Cold reads (O_DIRECT, 4 MiB caches), ascending\n\n",
      SummaryTable(all, Cold),
      "\n### Descending (reported separately: it mostly measures RocksDB's "
      "Prev())\n\n",
      SummaryTable(all, WarmDescending), "\n## Layouts\n\n",
      LayoutTable(results.layouts), "\n## Every measurement\n",
      FullTables(all));
}

}  // namespace bench
}  // namespace lsmscan
