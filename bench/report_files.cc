// The files of WriteReports() (bench/report.h): results.md, results.json and
// the SVG charts.

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "lsmscan/bench/json.h"
#include "lsmscan/bench/report.h"
#include "lsmscan/bench/svg_chart.h"

namespace lsmscan {
namespace bench {
namespace {

std::string JsonArray(const std::vector<double>& values) {
  std::vector<std::string> items;
  for (double value : values) items.push_back(JsonNumber(value));
  return absl::StrCat("[", absl::StrJoin(items, ", "), "]");
}

std::string JsonStrings(const std::vector<std::string>& values) {
  std::vector<std::string> items;
  for (const std::string& value : values) items.push_back(JsonString(value));
  return absl::StrCat("[", absl::StrJoin(items, ", "), "]");
}

std::string ContextJson(const ReportContext& c) {
  return absl::StrCat(
      "{\n    \"date\": ", JsonString(c.machine.date),
      ",\n    \"host_cpu\": ", JsonString(c.machine.cpu),
      ",\n    \"num_cpus\": ", c.machine.cores,
      ",\n    \"kernel\": ", JsonString(c.machine.kernel),
      ",\n    \"compiler\": ", JsonString(c.machine.compiler),
      ",\n    \"library_build_type\": ",
      JsonString(c.machine.optimized ? "release" : "debug"),
      ",\n    \"commit\": ", JsonString(c.commit),
      ",\n    \"command\": ", JsonString(c.command),
      ",\n    \"huge_pages\": ", JsonString(c.huge_pages),
      ",\n    \"load\": ", JsonString(c.load),
      ",\n    \"records\": ", c.record_count, ",\n    \"runs\": ", c.runs,
      ",\n    \"repetitions\": ", c.repetitions,
      ",\n    \"min_sample_seconds\": ", JsonNumber(c.min_sample_seconds),
      ",\n    \"rocksdb_version\": ", JsonString(c.rocksdb_version),
      ",\n    \"rocksdb_library\": ", JsonString(c.rocksdb_library),
      ",\n    \"rocksdb_build\": ", JsonString(c.rocksdb_build),
      ",\n    \"rocksdb_assertions\": ",
      c.rocksdb_assertions ? "true" : "false",
      ",\n    \"rocksdb_configs\": ", JsonStrings(c.rocksdb_configs),
      ",\n    \"notes\": ", JsonStrings(c.notes), "\n  }");
}

std::string MeasurementJson(const Measurement& m,
                            const std::vector<Measurement>& all) {
  const std::string fastest = FastestRocksDb(m, all);
  const Ratio speedup = m.family == "lsmscan" && !fastest.empty()
                            ? Speedup(m, m.engine(), fastest, all)
                            : Ratio();
  return absl::StrCat(
      "{\"name\": ",
      JsonString(absl::StrCat(m.shape, "/", m.value_size_bytes, "B/",
                              m.workload, "/", m.engine(), "/run", m.run)),
      ", \"run_type\": \"aggregate\", \"aggregate_name\": \"median\"",
      ", \"iterations\": ", m.ns_per_record.size(),
      ", \"real_time\": ", JsonNumber(m.NsMedian()),
      ", \"cpu_time\": ", JsonNumber(m.CpuNsMedian()),
      ", \"time_unit\": \"ns\", \"run\": ", m.run,
      ", \"shape\": ", JsonString(m.shape),
      ", \"value_size_bytes\": ", m.value_size_bytes,
      ", \"workload\": ", JsonString(m.workload),
      ", \"engine\": ", JsonString(m.engine()), ", \"temperature\": ",
      JsonString(m.temperature == Temperature::kWarm ? "warm" : "cold"),
      ", \"passes\": ", m.passes,
      ", \"records_per_pass\": ", m.records_per_pass,
      ", \"ns_per_record\": ", JsonArray(m.ns_per_record),
      ", \"device_bytes_per_record\": ",
      m.device_bytes_per_record < 0 ? "null"
                                    : JsonNumber(m.device_bytes_per_record),
      ", \"speedup_baseline\": ", JsonString(fastest),
      ", \"speedup\": {\"median\": ", JsonNumber(speedup.median),
      ", \"min\": ", JsonNumber(speedup.min),
      ", \"max\": ", JsonNumber(speedup.max),
      ", \"per_run\": ", speedup.per_run ? "true" : "false", "}}");
}

std::string YcsbJson(const YcsbMeasurement& m) {
  return absl::StrCat(
      "{\"engine\": ", JsonString(m.engine()), ", \"run\": ", m.run,
      ", \"records\": ", m.records, ", \"ops\": ", m.ops,
      ", \"ops_per_second\": ", JsonArray(m.ops_per_second),
      ", \"scan_p50_us\": ", JsonNumber(Percentile(m.scan_microseconds, 0.5)),
      ", \"scan_p99_us\": ", JsonNumber(Percentile(m.scan_microseconds, 0.99)),
      ", \"scan_after_insert_p50_us\": ",
      JsonNumber(Percentile(m.scan_after_insert_microseconds, 0.5)),
      ", \"scan_after_insert_p99_us\": ",
      JsonNumber(Percentile(m.scan_after_insert_microseconds, 0.99)),
      ", \"scan_after_scan_p50_us\": ",
      JsonNumber(Percentile(m.scan_after_scan_microseconds, 0.5)),
      ", \"scan_after_scan_p99_us\": ",
      JsonNumber(Percentile(m.scan_after_scan_microseconds, 0.99)),
      ", \"scan_records\": ", m.scan_records,
      ", \"write_stats\": ", JsonString(m.write_stats), "}");
}

std::string LayoutJson(const EngineLayout& l) {
  return absl::StrCat("{\"data\": ", JsonString(l.dataset),
                      ", \"engine\": ", JsonString(l.engine),
                      ", \"records\": ", l.records,
                      ", \"sorted_runs\": ", l.layout.sorted_runs,
                      ", \"bytes_on_disk\": ", l.layout.bytes_on_disk,
                      ", \"layout\": ", JsonString(l.layout.description), "}");
}

std::string ResultsJson(const ReportContext& context, const Results& results) {
  std::vector<std::string> entries;
  for (const Measurement& m : results.measurements) {
    entries.push_back(MeasurementJson(m, results.measurements));
  }
  std::vector<std::string> ycsb;
  for (const YcsbMeasurement& m : results.ycsb) ycsb.push_back(YcsbJson(m));
  std::vector<std::string> layouts;
  for (const EngineLayout& l : results.layouts)
    layouts.push_back(LayoutJson(l));
  return absl::StrCat(
      "{\n  \"context\": ", ContextJson(context),
      ",\n  \"benchmarks\": [\n    ", absl::StrJoin(entries, ",\n    "),
      "\n  ],\n  \"ycsb_e\": [\n    ", absl::StrJoin(ycsb, ",\n    "),
      "\n  ],\n  \"layouts\": [\n    ", absl::StrJoin(layouts, ",\n    "),
      "\n  ]\n}\n");
}

// Records per second (median over runs) of every engine on every warm
// ascending workload of one dataset.
BarChart ChartOf(const std::string& shape, uint32_t size,
                 const std::vector<Measurement>& all) {
  BarChart chart;
  chart.title = absl::StrCat("Warm ascending scans, ", shape, " tree, ", size,
                             "-byte records (higher is better)");
  chart.y_label = "records per second (median over runs)";
  std::map<std::pair<std::string, std::string>, std::vector<double>> medians;
  std::vector<std::string> engines;
  for (const Measurement& m : all) {
    if (m.shape != shape || m.value_size_bytes != size ||
        m.temperature != Temperature::kWarm ||
        m.direction != Direction::kAscending) {
      continue;
    }
    if (std::find(chart.groups.begin(), chart.groups.end(), m.workload) ==
        chart.groups.end()) {
      chart.groups.push_back(m.workload);
    }
    if (std::find(engines.begin(), engines.end(), m.engine()) ==
        engines.end()) {
      engines.push_back(m.engine());
    }
    medians[{m.engine(), m.workload}].push_back(m.NsMedian());
  }
  for (const std::string& engine : engines) {
    BarSeries series{engine, {}};
    for (const std::string& group : chart.groups) {
      const auto found = medians.find({engine, group});
      series.values.push_back(
          found == medians.end() ? std::nan("") : 1e9 / Median(found->second));
    }
    chart.series.push_back(std::move(series));
  }
  return chart;
}

absl::Status WriteFile(const std::string& path, const std::string& contents) {
  std::ofstream file(path, std::ios::binary | std::ios::trunc);
  file << contents;
  file.close();
  if (!file) return absl::InternalError(absl::StrCat("cannot write ", path));
  return absl::OkStatus();
}

absl::Status WriteCharts(const std::string& directory, const Results& results) {
  std::map<std::pair<std::string, uint32_t>, bool> datasets;
  for (const Measurement& m : results.measurements) {
    datasets[{m.shape, m.value_size_bytes}] = true;
  }
  for (const auto& [dataset, unused] : datasets) {
    const BarChart chart =
        ChartOf(dataset.first, dataset.second, results.measurements);
    if (chart.groups.empty()) continue;
    const absl::Status written =
        WriteFile(absl::StrCat(directory, "/chart_", dataset.first, "_",
                               dataset.second, "B.svg"),
                  RenderSvgBarChart(chart));
    if (!written.ok()) return written;
  }
  return absl::OkStatus();
}

constexpr char kBegin[] = "<!-- compare:begin -->\n";
constexpr char kEnd[] = "<!-- compare:end -->\n";

}  // namespace

absl::Status UpdateResultsFile(const std::string& path,
                               const ReportContext& context,
                               const Results& results) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read ", path));
  const std::string text((std::istreambuf_iterator<char>(in)),
                         std::istreambuf_iterator<char>());
  const size_t begin = text.find(kBegin);
  const size_t end = text.find(kEnd);
  if (begin == std::string::npos || end == std::string::npos || end < begin) {
    return absl::NotFoundError(
        absl::StrCat(path,
                     " has no <!-- compare:begin --> ... "
                     "<!-- compare:end --> section"));
  }
  const std::string updated =
      absl::StrCat(text.substr(0, begin + sizeof(kBegin) - 1),
                   Markdown(context, results), text.substr(end));
  const absl::Status written = WriteFile(path, updated);
  if (!written.ok()) return written;
  return WriteCharts(std::filesystem::path(path).parent_path().string(),
                     results);
}

absl::Status WriteReports(const std::string& directory,
                          const ReportContext& context,
                          const Results& results) {
  std::error_code error;
  std::filesystem::create_directories(directory, error);
  if (error) {
    return absl::InternalError(
        absl::StrCat("cannot create ", directory, ": ", error.message()));
  }
  absl::Status written =
      WriteFile(directory + "/results.md",
                absl::StrCat("# lsmscan vs RocksDB: range scans\n\n",
                             Markdown(context, results)));
  if (!written.ok()) return written;
  written =
      WriteFile(directory + "/results.json", ResultsJson(context, results));
  if (!written.ok()) return written;
  return WriteCharts(directory, results);
}

}  // namespace bench
}  // namespace lsmscan
