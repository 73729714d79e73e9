#include "lsmscan/bench/report.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <tuple>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "lsmscan/bench/chart.h"
#include "lsmscan/storage/base/assert.h"

namespace lsmscan {
namespace bench {
namespace {

double NsPerRecord(const Measurement& m, double seconds) {
  if (m.records_per_repetition == 0) return 0;
  return seconds * 1e9 / static_cast<double>(m.records_per_repetition);
}

const char* TemperatureName(Temperature temperature) {
  return temperature == Temperature::kWarm ? "warm" : "cold";
}

// The key of the comparison groups: same data, same workload, same
// temperature.
std::tuple<std::string, uint32_t, std::string, Temperature> GroupKey(
    const Measurement& m) {
  return {m.shape, m.value_size_bytes, m.workload, m.temperature};
}

double MbPerSecond(const Measurement& m) {
  const double ns = m.NsPerRecordMedian();
  if (ns <= 0) return 0;
  return static_cast<double>(m.value_size_bytes) / ns * 1e9 / 1e6;
}

std::string JsonString(const std::string& text) {
  std::string escaped =
      absl::StrReplaceAll(text, {{"\\", "\\\\"}, {"\"", "\\\""}});
  return absl::StrCat("\"", escaped, "\"");
}

std::string JsonNumber(double value) {
  if (!std::isfinite(value)) return "null";
  return absl::StrFormat("%.6g", value);
}

std::string ContextJson(const ReportContext& context) {
  std::vector<std::string> notes;
  for (const std::string& note : context.notes)
    notes.push_back(JsonString(note));
  return absl::StrCat(
      "{\n    \"date\": ", JsonString(context.machine.date),
      ",\n    \"host_cpu\": ", JsonString(context.machine.cpu),
      ",\n    \"num_cpus\": ", context.machine.cores,
      ",\n    \"kernel\": ", JsonString(context.machine.kernel),
      ",\n    \"compiler\": ", JsonString(context.machine.compiler),
      ",\n    \"library_build_type\": ",
      JsonString(context.machine.optimized ? "release" : "debug"),
      ",\n    \"command\": ", JsonString(context.command),
      ",\n    \"records\": ", context.record_count,
      ",\n    \"repetitions\": ", context.repetitions,
      ",\n    \"rocksdb_version\": ", JsonString(context.rocksdb_version),
      ",\n    \"rocksdb_library\": ", JsonString(context.rocksdb_library),
      ",\n    \"rocksdb_assertions\": ",
      context.rocksdb_assertions ? "true" : "false",
      ",\n    \"rocksdb_options\": ", JsonString(context.rocksdb_options),
      ",\n    \"notes\": [", absl::StrJoin(notes, ", "), "]\n  }");
}

std::string MeasurementJson(const Measurement& m,
                            const std::vector<Measurement>& all) {
  const double median = m.NsPerRecordMedian();
  return absl::StrCat(
      "{\"name\": ",
      JsonString(absl::StrCat(m.shape, "/", m.value_size_bytes, "B/",
                              m.workload, "/", m.engine())),
      ", \"run_type\": \"aggregate\", \"aggregate_name\": \"median\"",
      ", \"iterations\": ", m.seconds.size(),
      ", \"real_time\": ", JsonNumber(median),
      ", \"cpu_time\": ", JsonNumber(m.CpuNsPerRecordMedian()),
      ", \"time_unit\": \"ns\"", ", \"shape\": ", JsonString(m.shape),
      ", \"value_size_bytes\": ", m.value_size_bytes,
      ", \"workload\": ", JsonString(m.workload),
      ", \"engine\": ", JsonString(m.engine()),
      ", \"temperature\": ", JsonString(TemperatureName(m.temperature)),
      ", \"records_per_repetition\": ", m.records_per_repetition,
      ", \"scans_per_repetition\": ", m.scans_per_repetition,
      ", \"ns_per_record\": {\"median\": ", JsonNumber(median),
      ", \"min\": ", JsonNumber(m.NsPerRecordMin()),
      ", \"max\": ", JsonNumber(m.NsPerRecordMax()), "}",
      ", \"records_per_second\": ", JsonNumber(median > 0 ? 1e9 / median : 0),
      ", \"mb_per_second\": ", JsonNumber(MbPerSecond(m)),
      ", \"speedup_vs_rocksdb\": ", JsonNumber(SpeedupVsRocksDb(m, all)),
      ", \"device_reads_per_scan\": ",
      m.device_reads_per_scan < 0 ? "null"
                                  : JsonNumber(m.device_reads_per_scan),
      "}");
}

std::string SpeedupText(const Measurement& m,
                        const std::vector<Measurement>& all, bool assertions) {
  if (m.family == "rocksdb") return "";
  const double speedup = SpeedupVsRocksDb(m, all);
  if (speedup <= 0) return "";
  return absl::StrFormat("%.1fx%s", speedup, assertions ? " (!)" : "");
}

std::string Row(const Measurement& m, const std::vector<Measurement>& all,
                bool assertions) {
  const double median = m.NsPerRecordMedian();
  std::string reads;
  if (m.device_reads_per_scan >= 0) {
    reads = absl::StrFormat("%.1f", m.device_reads_per_scan);
  }
  return absl::StrFormat(
      "| %-12s | %-26s | %10.2f | %10.2f | %10.2f | %12s | %9.0f | %-9s | %6s "
      "|",
      m.workload, m.engine(), median, m.NsPerRecordMin(), m.NsPerRecordMax(),
      FormatCompact(median > 0 ? 1e9 / median : 0), MbPerSecond(m),
      SpeedupText(m, all, assertions), reads);
}

constexpr char kTableHeader[] =
    "| workload     | engine                     | ns/rec med |    ns min  "
    "|    ns max  |    records/s |      MB/s | speedup   | reads  |\n"
    "|--------------|----------------------------|-----------:|-----------:"
    "|-----------:|-------------:|----------:|-----------|-------:|";

// The tables, grouped by (shape, size, temperature), as markdown.
std::string Tables(const ReportContext& context,
                   const std::vector<Measurement>& measurements) {
  std::map<std::tuple<std::string, uint32_t, Temperature>,
           std::vector<const Measurement*>>
      sections;
  for (const Measurement& m : measurements) {
    sections[{m.shape, m.value_size_bytes, m.temperature}].push_back(&m);
  }
  std::string text;
  for (const auto& [key, rows] : sections) {
    const auto& [shape, size, temperature] = key;
    absl::StrAppend(&text, "\n### ", shape, ", ", size, "-byte records, ",
                    TemperatureName(temperature), "\n\n", kTableHeader, "\n");
    for (const Measurement* m : rows) {
      absl::StrAppend(&text, Row(*m, measurements, context.rocksdb_assertions),
                      "\n");
    }
  }
  return text;
}

std::string ContextText(const ReportContext& context) {
  std::string text = absl::StrCat(
      "- date: ", context.machine.date, "\n- machine: ", context.machine.cpu,
      ", ", context.machine.cores, " cores, ", context.machine.kernel,
      "\n- compiler: ", context.machine.compiler,
      context.machine.optimized ? " (optimised)" : " (NOT optimised)",
      "\n- command: `", context.command, "`\n- records: ", context.record_count,
      ", repetitions: ", context.repetitions,
      " (median, min, max of ns/record)\n- RocksDB ", context.rocksdb_version,
      " from ", context.rocksdb_library, ": ",
      context.rocksdb_assertions
          ? "built WITH assertions (no NDEBUG): every speedup marked (!) "
            "overstates lsmscan's lead; see tools/build_rocksdb_release.sh"
          : "release build (NDEBUG)",
      "\n- RocksDB options: ", context.rocksdb_options, "\n");
  for (const std::string& note : context.notes) {
    absl::StrAppend(&text, "- ", note, "\n");
  }
  return text;
}

absl::Status WriteFile(const std::string& path, const std::string& contents) {
  std::ofstream file(path, std::ios::binary | std::ios::trunc);
  file << contents;
  file.close();
  if (!file) return absl::InternalError(absl::StrCat("cannot write ", path));
  return absl::OkStatus();
}

absl::Status WriteCharts(const std::string& directory,
                         const std::vector<Measurement>& measurements) {
  std::map<std::pair<std::string, uint32_t>, std::vector<const Measurement*>>
      charts;
  for (const Measurement& m : measurements) {
    charts[{m.shape, m.value_size_bytes}].push_back(&m);
  }
  for (const auto& [key, rows] : charts) {
    BarChart chart;
    chart.title =
        absl::StrCat("Range scans, ", key.first, " tree, ", key.second,
                     "-byte records: records per second (higher is better)");
    chart.y_label = "records/s";
    std::vector<std::string> groups;
    std::vector<std::string> engines;
    for (const Measurement* m : rows) {
      const std::string group = absl::StrCat(
          m->workload, m->temperature == Temperature::kCold ? " cold" : "");
      if (std::find(groups.begin(), groups.end(), group) == groups.end()) {
        groups.push_back(group);
      }
      if (std::find(engines.begin(), engines.end(), m->engine()) ==
          engines.end()) {
        engines.push_back(m->engine());
      }
    }
    chart.groups = groups;
    for (size_t e = 0; e < engines.size(); e++) {
      BarSeries series;
      series.name = engines[e];
      series.color = SeriesColor(e);
      series.values.assign(groups.size(), std::nan(""));
      for (const Measurement* m : rows) {
        if (m->engine() != engines[e]) continue;
        const std::string group = absl::StrCat(
            m->workload, m->temperature == Temperature::kCold ? " cold" : "");
        const size_t g = static_cast<size_t>(
            std::find(groups.begin(), groups.end(), group) - groups.begin());
        const double ns = m->NsPerRecordMedian();
        series.values[g] = ns > 0 ? 1e9 / ns : std::nan("");
      }
      chart.series.push_back(std::move(series));
    }
    const std::string path =
        absl::StrCat(directory, "/chart_", key.first, "_", key.second, "B.png");
    absl::Status written = WriteBarChartPng(path, chart);
    if (!written.ok()) return written;
  }
  return absl::OkStatus();
}

double Median(std::vector<double> samples) {
  LSMSCAN_ASSERT(!samples.empty());
  std::sort(samples.begin(), samples.end());
  const size_t n = samples.size();
  return n % 2 == 1 ? samples[n / 2]
                    : (samples[n / 2 - 1] + samples[n / 2]) / 2;
}

}  // namespace

double Measurement::NsPerRecordMedian() const {
  if (seconds.empty()) return 0;
  return NsPerRecord(*this, Median(seconds));
}

double Measurement::CpuNsPerRecordMedian() const {
  if (cpu_seconds.empty()) return 0;
  return NsPerRecord(*this, Median(cpu_seconds));
}

double Measurement::NsPerRecordMin() const {
  if (seconds.empty()) return 0;
  return NsPerRecord(*this, *std::min_element(seconds.begin(), seconds.end()));
}

double Measurement::NsPerRecordMax() const {
  if (seconds.empty()) return 0;
  return NsPerRecord(*this, *std::max_element(seconds.begin(), seconds.end()));
}

double SpeedupVsRocksDb(const Measurement& m,
                        const std::vector<Measurement>& all) {
  for (const Measurement& other : all) {
    if (other.family != "rocksdb" || GroupKey(other) != GroupKey(m)) continue;
    const double mine = m.NsPerRecordMedian();
    if (mine <= 0) return 0;
    return other.NsPerRecordMedian() / mine;
  }
  return 0;
}

void PrintTables(const ReportContext& context,
                 const std::vector<Measurement>& measurements) {
  std::printf("\n%s%s\n", ContextText(context).c_str(),
              Tables(context, measurements).c_str());
  if (context.rocksdb_assertions) {
    std::printf(
        "\nWARNING: the RocksDB library measured keeps its assertions (no "
        "NDEBUG); speedups marked (!) overstate lsmscan's lead.\n");
  }
  std::fflush(stdout);
}

absl::Status WriteReports(const std::string& directory,
                          const ReportContext& context,
                          const std::vector<Measurement>& measurements) {
  std::error_code error;
  std::filesystem::create_directories(directory, error);
  if (error) {
    return absl::InternalError(
        absl::StrCat("cannot create ", directory, ": ", error.message()));
  }
  std::vector<std::string> entries;
  for (const Measurement& m : measurements) {
    entries.push_back(absl::StrCat("    ", MeasurementJson(m, measurements)));
  }
  const std::string json = absl::StrCat(
      "{\n  \"context\": ", ContextJson(context), ",\n  \"benchmarks\": [\n",
      absl::StrJoin(entries, ",\n"), "\n  ]\n}\n");
  absl::Status written = WriteFile(directory + "/results.json", json);
  if (!written.ok()) return written;
  const std::string markdown =
      absl::StrCat("# lsmscan vs RocksDB: range scans\n\n",
                   ContextText(context), Tables(context, measurements));
  written = WriteFile(directory + "/results.md", markdown);
  if (!written.ok()) return written;
  return WriteCharts(directory, measurements);
}

}  // namespace bench
}  // namespace lsmscan
