#include "lsmscan/bench/svg_chart.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "lsmscan/storage/base/assert.h"

namespace lsmscan {
namespace bench {
namespace {

constexpr double kLeft = 90;
constexpr double kTop = 50;
constexpr double kBarWidth = 14;
constexpr double kGroupGap = 24;
constexpr double kLegendRow = 18;

// Colour-blind-safe palette (Okabe and Ito), cycled.
constexpr const char* kColors[] = {"#0072B2", "#E69F00", "#009E73", "#D55E00",
                                   "#CC79A7", "#56B4E9", "#F0E442", "#000000"};

std::string Color(size_t series) {
  return kColors[series % (sizeof(kColors) / sizeof(kColors[0]))];
}

// 1, 2 or 5 times a power of ten, at least max / 5: the axis step.
double TickStep(double max) {
  const double raw = max / 5;
  const double power = std::pow(10.0, std::floor(std::log10(raw)));
  for (double factor : {1.0, 2.0, 5.0, 10.0}) {
    if (factor * power >= raw) return factor * power;
  }
  return 10 * power;
}

std::string FormatValue(double value) {
  if (value >= 1e9) return absl::StrFormat("%.3gG", value / 1e9);
  if (value >= 1e6) return absl::StrFormat("%.3gM", value / 1e6);
  if (value >= 1e3) return absl::StrFormat("%.3gk", value / 1e3);
  return absl::StrFormat("%.3g", value);
}

std::string Axis(double max, double plot_width) {
  std::string svg;
  if (max <= 0) return svg;
  const double step = TickStep(max);
  for (double tick = 0; tick <= max * 1.0001; tick += step) {
    const double y = kTop + kSvgPlotHeight * (1 - tick / max);
    absl::StrAppendFormat(
        &svg,
        "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
        "stroke=\"#dddddd\"/>\n<text x=\"%.1f\" y=\"%.1f\" "
        "text-anchor=\"end\" font-size=\"11\">%s</text>\n",
        kLeft, y, kLeft + plot_width, y, kLeft - 6, y + 4, FormatValue(tick));
  }
  return svg;
}

}  // namespace

std::string XmlEscape(std::string_view text) {
  std::string out;
  for (const char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&apos;";
        break;
      default:
        if (byte < 0x20 && c != '\t' && c != '\n' && c != '\r') {
          out += "\xEF\xBF\xBD";  // U+FFFD.
        } else {
          out.push_back(c);
        }
    }
  }
  return out;
}

std::string RenderSvgBarChart(const BarChart& chart) {
  double max = 0;
  for (const BarSeries& series : chart.series) {
    LSMSCAN_ASSERT(series.values.size() == chart.groups.size());
    for (double value : series.values) {
      if (std::isfinite(value)) max = std::max(max, value);
    }
  }
  const double group_width =
      static_cast<double>(chart.series.size()) * kBarWidth + kGroupGap;
  const double plot_width =
      std::max(200.0, group_width * static_cast<double>(chart.groups.size()));
  const double legend_top = kTop + kSvgPlotHeight + 50;
  const double width = kLeft + plot_width + 20;
  const double height =
      legend_top + kLegendRow * static_cast<double>(chart.series.size()) + 10;
  std::string svg = absl::StrFormat(
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" "
      "height=\"%.0f\" viewBox=\"0 0 %.0f %.0f\" font-family=\"sans-serif\">\n"
      "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n"
      "<text x=\"%.1f\" y=\"24\" font-size=\"15\">%s</text>\n"
      "<text x=\"14\" y=\"%.1f\" font-size=\"12\" transform=\"rotate(-90 14 "
      "%.1f)\" text-anchor=\"middle\">%s</text>\n",
      width, height, width, height, kLeft, XmlEscape(chart.title),
      kTop + kSvgPlotHeight / 2, kTop + kSvgPlotHeight / 2,
      XmlEscape(chart.y_label));
  absl::StrAppend(&svg, Axis(max, plot_width));
  for (size_t g = 0; g < chart.groups.size(); g++) {
    const double group_x = kLeft + kGroupGap / 2 + group_width * g;
    for (size_t s = 0; s < chart.series.size(); s++) {
      const double value = chart.series[s].values[g];
      if (!std::isfinite(value) || max <= 0) continue;
      const double bar_height = kSvgPlotHeight * value / max;
      absl::StrAppendFormat(
          &svg,
          "<rect class=\"bar\" data-series=\"%s\" data-group=\"%s\" "
          "data-value=\"%.6g\" x=\"%.1f\" y=\"%.3f\" width=\"%.1f\" "
          "height=\"%.3f\" fill=\"%s\"><title>%s, %s: %s</title></rect>\n",
          XmlEscape(chart.series[s].name), XmlEscape(chart.groups[g]), value,
          group_x + kBarWidth * s, kTop + kSvgPlotHeight - bar_height,
          kBarWidth - 1, bar_height, Color(s), XmlEscape(chart.series[s].name),
          XmlEscape(chart.groups[g]), FormatValue(value));
    }
    absl::StrAppendFormat(&svg,
                          "<text x=\"%.1f\" y=\"%.1f\" font-size=\"11\" "
                          "text-anchor=\"middle\">%s</text>\n",
                          group_x + (group_width - kGroupGap) / 2,
                          kTop + kSvgPlotHeight + 18,
                          XmlEscape(chart.groups[g]));
  }
  for (size_t s = 0; s < chart.series.size(); s++) {
    const double y = legend_top + kLegendRow * s;
    absl::StrAppendFormat(
        &svg,
        "<rect x=\"%.1f\" y=\"%.1f\" width=\"12\" height=\"12\" "
        "fill=\"%s\"/>\n<text x=\"%.1f\" y=\"%.1f\" "
        "font-size=\"12\">%s</text>\n",
        kLeft, y, Color(s), kLeft + 18, y + 10,
        XmlEscape(chart.series[s].name));
  }
  absl::StrAppend(&svg, "</svg>\n");
  return svg;
}

}  // namespace bench
}  // namespace lsmscan
