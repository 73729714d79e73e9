#include "lsmscan/bench/svg_chart.h"

#include <expat.h>

#include <cmath>
#include <cstdlib>
#include <map>
#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace lsmscan {
namespace bench {
namespace {

// What a real XML parser (expat) reads from a chart.
struct ParsedSvg {
  bool well_formed = false;
  std::string error;
  std::string root;
  std::vector<std::map<std::string, std::string>> bars;  // rect.bar attrs.
  std::string text;  // All character data, concatenated.
};

void OnStart(void* data, const XML_Char* name, const XML_Char** attributes) {
  auto* parsed = static_cast<ParsedSvg*>(data);
  if (parsed->root.empty()) parsed->root = name;
  std::map<std::string, std::string> map;
  for (int i = 0; attributes[i] != nullptr; i += 2) {
    map[attributes[i]] = attributes[i + 1];
  }
  if (std::string(name) == "rect" && map["class"] == "bar") {
    parsed->bars.push_back(map);
  }
}

void OnEnd(void*, const XML_Char*) {}

void OnText(void* data, const XML_Char* text, int length) {
  static_cast<ParsedSvg*>(data)->text.append(text, length);
}

ParsedSvg Parse(const std::string& svg) {
  ParsedSvg parsed;
  XML_Parser parser = XML_ParserCreate("UTF-8");
  XML_SetUserData(parser, &parsed);
  XML_SetElementHandler(parser, OnStart, OnEnd);
  XML_SetCharacterDataHandler(parser, OnText);
  parsed.well_formed =
      XML_Parse(parser, svg.data(), static_cast<int>(svg.size()), 1) ==
      XML_STATUS_OK;
  if (!parsed.well_formed) {
    parsed.error = XML_ErrorString(XML_GetErrorCode(parser));
  }
  XML_ParserFree(parser);
  return parsed;
}

double Number(const std::string& text) {
  return std::strtod(text.c_str(), nullptr);
}

BarChart TwoEngines() {
  BarChart chart;
  chart.title = "Range scans";
  chart.y_label = "records/s";
  chart.groups = {"full asc", "L=100 asc", "L=10 asc"};
  chart.series = {{"lsmscan memory", {400e6, 100e6, std::nan("")}},
                  {"rocksdb tuned 16K", {20e6, 25e6, 5e6}}};
  return chart;
}

TEST(SvgChartTest, BarsCarryTheirValuesAndHeightsScaleWithThem) {
  const ParsedSvg parsed = Parse(RenderSvgBarChart(TwoEngines()));
  ASSERT_TRUE(parsed.well_formed) << parsed.error;
  EXPECT_EQ(parsed.root, "svg");
  // Five bars: the NaN value draws none.
  ASSERT_EQ(parsed.bars.size(), 5u);
  const std::vector<std::pair<std::string, double>> expected = {
      {"lsmscan memory", 400e6},
      {"rocksdb tuned 16K", 20e6},
      {"lsmscan memory", 100e6},
      {"rocksdb tuned 16K", 25e6},
      {"rocksdb tuned 16K", 5e6}};
  for (size_t i = 0; i < expected.size(); i++) {
    const auto& bar = parsed.bars[i];
    EXPECT_EQ(bar.at("data-series"), expected[i].first);
    EXPECT_DOUBLE_EQ(Number(bar.at("data-value")), expected[i].second);
    // Linear from 0: the largest value fills the plot height.
    EXPECT_NEAR(Number(bar.at("height")),
                kSvgPlotHeight * expected[i].second / 400e6, 0.01);
  }
  EXPECT_EQ(parsed.bars[4].at("data-group"), "L=10 asc");
}

TEST(SvgChartTest, EscapesMarkupInEveryText) {
  BarChart chart = TwoEngines();
  chart.title = "a <b> & \"c\" 'd'";
  chart.groups[0] = "<L=1>";
  chart.series[1].name = "x&y";
  const ParsedSvg parsed = Parse(RenderSvgBarChart(chart));
  ASSERT_TRUE(parsed.well_formed) << parsed.error;
  EXPECT_NE(parsed.text.find("a <b> & \"c\" 'd'"), std::string::npos);
  EXPECT_EQ(parsed.bars[0].at("data-group"), "<L=1>");
  EXPECT_EQ(parsed.bars[1].at("data-series"), "x&y");
}

TEST(SvgChartTest, ControlCharactersStayWellFormed) {
  BarChart chart = TwoEngines();
  chart.title = std::string("bell\x07 and nul", 13);
  chart.title[9] = '\0';
  const ParsedSvg parsed = Parse(RenderSvgBarChart(chart));
  EXPECT_TRUE(parsed.well_formed) << parsed.error;
  EXPECT_EQ(XmlEscape(std::string("\x01\t", 2)), "\xEF\xBF\xBD\t");
}

TEST(SvgChartTest, AnEmptyChartIsStillAnSvgDocument) {
  BarChart chart;
  chart.title = "nothing";
  const ParsedSvg parsed = Parse(RenderSvgBarChart(chart));
  ASSERT_TRUE(parsed.well_formed) << parsed.error;
  EXPECT_EQ(parsed.root, "svg");
  EXPECT_TRUE(parsed.bars.empty());
}

}  // namespace
}  // namespace bench
}  // namespace lsmscan
