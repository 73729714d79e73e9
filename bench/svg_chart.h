// File: bench/svg_chart.h
// -----------------------------------------------------------------------------
//
// Grouped bar charts as SVG text: crisp at any size, viewable in any
// browser, and diff-able in git. Each bar is a <rect class="bar"> carrying
// its series, group and value as data-series, data-group and data-value
// attributes (so tools and tests can read the numbers back); its height is
// value / (largest value) of the plot's height, on a linear axis from 0.

#ifndef LSMSCAN_BENCH_SVG_CHART_H_
#define LSMSCAN_BENCH_SVG_CHART_H_

#include <string>
#include <string_view>
#include <vector>

namespace lsmscan {
namespace bench {

// BarSeries: one engine; values[g] belongs to group g (NaN: no bar).
struct BarSeries {
  std::string name;
  std::vector<double> values;
};

// BarChart
struct BarChart {
  std::string title;
  std::string y_label;
  std::vector<std::string> groups;
  std::vector<BarSeries> series;
};

// Geometry of the plot area, for callers and tests.
inline constexpr double kSvgPlotHeight = 360;

// RenderSvgBarChart()
//
// A complete SVG document (UTF-8). Every text is XML-escaped. REQUIRES:
// each series has one value per group.
std::string RenderSvgBarChart(const BarChart& chart);

// XmlEscape()
//
// `text` with &, <, >, " and ' replaced by entities, and control
// characters other than tab, newline and carriage return (not allowed in
// XML 1.0) replaced by U+FFFD.
std::string XmlEscape(std::string_view text);

}  // namespace bench
}  // namespace lsmscan

#endif  // LSMSCAN_BENCH_SVG_CHART_H_
