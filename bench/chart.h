// File: bench/chart.h
// -----------------------------------------------------------------------------
//
// A small, dependency-free chart writer for the benchmark report: an RGB
// raster `Image` with rectangle, line and bitmap-text drawing, a PNG encoder
// (8-bit RGB, unfiltered rows, zlib with stored deflate blocks) and a grouped
// bar chart renderer.
//
// The PNG files are larger than a compressing encoder would make them (about
// 3 bytes per pixel), which is fine for a handful of report charts.
//
// Example:
//
//   BarChart chart;
//   chart.title = "Scan throughput";
//   chart.y_label = "rows/s";
//   chart.groups = {"full asc", "full desc", "L=100 asc"};
//   chart.series = {{"mmap", SeriesColor(0), {1.2e6, 1.1e6, 3.4e4}},
//                   {"pread", SeriesColor(1), {8.0e5, 7.5e5, 2.1e4}}};
//   absl::Status status = WriteBarChartPng("/tmp/scan.png", chart);

#ifndef LSMSCAN_BENCH_CHART_H_
#define LSMSCAN_BENCH_CHART_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"

namespace lsmscan {

// An 8-bit RGB color.
using Rgb = std::array<uint8_t, 3>;

// Image
//
// A width x height raster of RGB pixels, row-major, top row first. Every
// drawing call clips to the image, so callers may draw partly (or entirely)
// outside it.
class Image {
 public:
  // The largest width or height an Image accepts; larger values are clamped.
  static constexpr int kMaxDimension = 1 << 14;

  // Creates a width x height image filled with `background`. Negative sizes
  // are treated as 0; sizes above kMaxDimension are clamped to it.
  Image(int width, int height, Rgb background = {255, 255, 255});

  int width() const { return width_; }
  int height() const { return height_; }
  bool empty() const { return width_ == 0 || height_ == 0; }

  // Image::pixels()
  //
  // The raw pixels: 3 bytes (R, G, B) per pixel, `width() * 3` bytes per row,
  // top row first.
  const std::vector<uint8_t>& pixels() const { return pixels_; }

  // Image::GetPixel()
  //
  // The color at (x, y). Requires 0 <= x < width() and 0 <= y < height().
  Rgb GetPixel(int x, int y) const;

  // Image::SetPixel()
  //
  // Sets the color at (x, y); does nothing outside the image.
  void SetPixel(int x, int y, Rgb color);

  // Image::FillRect()
  //
  // Fills the w x h rectangle whose top-left corner is (x, y).
  void FillRect(int x, int y, int w, int h, Rgb color);

  // Image::DrawRect()
  //
  // Draws the 1-pixel outline of the w x h rectangle at (x, y).
  void DrawRect(int x, int y, int w, int h, Rgb color);

  // Image::DrawLine()
  //
  // Draws a line from (x0, y0) to (x1, y1), both ends included. Horizontal
  // and vertical lines are exact and `thickness` pixels wide (growing right
  // and down); other lines are 1-pixel Bresenham lines.
  void DrawLine(int x0, int y0, int x1, int y1, Rgb color, int thickness = 1);

  // Image::DrawText()
  //
  // Draws `text` in the built-in 5x7 bitmap font, each font pixel a
  // scale x scale square; (x, y) is the top-left corner of the text box
  // (`TextWidth(text, scale)` x `TextHeight(scale)`). Printable ASCII is
  // supported; any other byte is drawn as '?'.
  void DrawText(int x, int y, std::string_view text, Rgb color, int scale = 1);

  // Image::DrawTextVertical()
  //
  // Like DrawText(), but rotated a quarter turn counter-clockwise so the text
  // reads bottom to top. (x, y) is the top-left corner of the rotated box,
  // which is `TextHeight(scale)` wide and `TextWidth(text, scale)` high.
  void DrawTextVertical(int x, int y, std::string_view text, Rgb color,
                        int scale = 1);

 private:
  int width_;
  int height_;
  std::vector<uint8_t> pixels_;
};

// The built-in font: glyph cells are 5 pixels wide and 9 high (7 rows above
// the baseline, 2 for descenders), advancing 6 pixels per character. All
// measures below are at scale 1; multiply by the scale.
inline constexpr int kGlyphWidth = 5;
inline constexpr int kGlyphAdvance = 6;
inline constexpr int kGlyphHeight = 9;

// TextWidth()
//
// The width in pixels of `text` drawn at `scale` (no trailing gap); 0 for
// empty text.
int TextWidth(std::string_view text, int scale = 1);

// TextHeight()
//
// The height in pixels of one line of text drawn at `scale`, descenders
// included.
int TextHeight(int scale = 1);

// Crc32()
//
// The CRC-32 (ISO 3309 / ITU-T V.42, as used by PNG and zlib's crc32()) of
// `data`. Crc32("123456789") == 0xCBF43926.
uint32_t Crc32(std::string_view data);

// Adler32()
//
// The Adler-32 checksum (RFC 1950) of `data`. Adler32("Wikipedia") ==
// 0x11E60398.
uint32_t Adler32(std::string_view data);

// EncodePng()
//
// Encodes `image` as a PNG file: 8-bit RGB, no interlacing, filter type 0
// on every row, and a zlib stream made of stored (uncompressed) deflate
// blocks. Returns an empty string for an empty image (PNG forbids a zero
// width or height).
std::string EncodePng(const Image& image);

// WritePng()
//
// Writes EncodePng(image) to `path`, replacing any existing file.
// InvalidArgument for an empty image; an error status if the file cannot be
// written.
absl::Status WritePng(const std::string& path, const Image& image);

// BarSeries
//
// One bar per group, in series order within each group. `values[i]` belongs
// to `BarChart::groups[i]`; a missing, NaN, infinite or non-positive value
// draws no bar. Values past the end of `groups` form unlabelled groups.
struct BarSeries {
  std::string name;
  std::array<uint8_t, 3> color;
  std::vector<double> values;
};

// BarChart
//
// A grouped bar chart: a title, a legend with one entry per series, a y axis
// (logarithmic with one tick per decade, or linear with "nice" ticks) and one
// group of bars per entry in `groups`, labelled under the x axis.
struct BarChart {
  std::string title;
  std::string y_label;
  std::vector<std::string> groups;
  std::vector<BarSeries> series;
  bool log_scale = true;
  int width = 1400;
  int height = 700;
};

// SeriesColor()
//
// A distinct, colorblind-friendly color for series `index`; the palette
// repeats after 8 colors.
Rgb SeriesColor(size_t index);

// FormatCompact()
//
// Formats `value` with up to 3 significant digits and an SI suffix (k, M, G,
// T) for large magnitudes: 1500 -> "1.5k", 2e6 -> "2M", 0.25 -> "0.25". Used
// for axis ticks and bar values.
std::string FormatCompact(double value);

// RenderBarChart()
//
// Draws `chart` on a white `chart.width` x `chart.height` image (sizes are
// clamped as by Image). Never fails: empty groups or series, and charts with
// no drawable value, produce a chart with axes and labels only.
Image RenderBarChart(const BarChart& chart);

// WriteBarChartPng()
//
// WritePng(path, RenderBarChart(chart)).
absl::Status WriteBarChartPng(const std::string& path, const BarChart& chart);

}  // namespace lsmscan

#endif  // LSMSCAN_BENCH_CHART_H_
