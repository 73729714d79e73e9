#include "lsmscan/bench/chart.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <limits>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace lsmscan {
namespace {

constexpr Rgb kWhite = {255, 255, 255};

// -----------------------------------------------------------------------------
// An independent PNG reader for stored-deflate streams.
// -----------------------------------------------------------------------------

uint32_t BigEndian32(std::string_view bytes, size_t offset) {
  return (uint32_t{static_cast<uint8_t>(bytes[offset])} << 24) |
         (uint32_t{static_cast<uint8_t>(bytes[offset + 1])} << 16) |
         (uint32_t{static_cast<uint8_t>(bytes[offset + 2])} << 8) |
         uint32_t{static_cast<uint8_t>(bytes[offset + 3])};
}

uint32_t LittleEndian16(std::string_view bytes, size_t offset) {
  return uint32_t{static_cast<uint8_t>(bytes[offset])} |
         (uint32_t{static_cast<uint8_t>(bytes[offset + 1])} << 8);
}

// Bit-at-a-time CRC-32, independent of the table-driven one under test.
uint32_t SlowCrc32(std::string_view data) {
  uint32_t crc = 0xFFFFFFFFu;
  for (const char c : data) {
    crc ^= static_cast<uint8_t>(c);
    for (int bit = 0; bit < 8; ++bit) {
      crc = (crc >> 1) ^ ((crc & 1) != 0 ? 0xEDB88320u : 0u);
    }
  }
  return ~crc;
}

// Adler-32 with a modulus per byte, independent of the chunked one.
uint32_t SlowAdler32(std::string_view data) {
  uint32_t a = 1;
  uint32_t b = 0;
  for (const char c : data) {
    a = (a + static_cast<uint8_t>(c)) % 65521;
    b = (b + a) % 65521;
  }
  return (b << 16) | a;
}

struct Chunk {
  std::string type;
  std::string data;
};

constexpr std::string_view kPngSignature("\x89PNG\r\n\x1a\n", 8);

// Splits a PNG file into chunks, checking the signature and every CRC.
absl::StatusOr<std::vector<Chunk>> ParseChunks(std::string_view png) {
  if (png.substr(0, kPngSignature.size()) != kPngSignature) {
    return absl::DataLossError("bad signature");
  }
  std::vector<Chunk> chunks;
  size_t offset = kPngSignature.size();
  while (offset < png.size()) {
    if (png.size() - offset < 12) return absl::DataLossError("short chunk");
    const uint32_t length = BigEndian32(png, offset);
    if (png.size() - offset - 12 < length) {
      return absl::DataLossError("chunk overruns the file");
    }
    const std::string_view type_and_data = png.substr(offset + 4, 4 + length);
    const uint32_t crc = BigEndian32(png, offset + 8 + length);
    if (crc != SlowCrc32(type_and_data)) {
      return absl::DataLossError(
          absl::StrCat("bad CRC on ", std::string(type_and_data.substr(0, 4))));
    }
    chunks.push_back({std::string(type_and_data.substr(0, 4)),
                      std::string(type_and_data.substr(4))});
    offset += 12 + length;
  }
  return chunks;
}

// Decodes a zlib stream made only of stored deflate blocks; `block_count`
// receives the number of blocks.
absl::StatusOr<std::string> InflateStored(std::string_view zlib,
                                          int* block_count) {
  *block_count = 0;
  if (zlib.size() < 6) return absl::DataLossError("short zlib stream");
  const uint32_t cmf = static_cast<uint8_t>(zlib[0]);
  const uint32_t flg = static_cast<uint8_t>(zlib[1]);
  if ((cmf & 0x0F) != 8 || (cmf >> 4) > 7) {
    return absl::DataLossError("not deflate");
  }
  if ((cmf * 256 + flg) % 31 != 0) return absl::DataLossError("bad FCHECK");
  if ((flg & 0x20) != 0) return absl::DataLossError("preset dictionary");
  std::string out;
  size_t offset = 2;
  bool final_block = false;
  while (!final_block) {
    if (zlib.size() - offset < 5) return absl::DataLossError("short block");
    const uint8_t header = static_cast<uint8_t>(zlib[offset]);
    final_block = (header & 1) != 0;
    if (((header >> 1) & 3) != 0) return absl::DataLossError("not stored");
    const uint32_t length = LittleEndian16(zlib, offset + 1);
    const uint32_t inverse = LittleEndian16(zlib, offset + 3);
    if ((length ^ inverse) != 0xFFFF) return absl::DataLossError("bad NLEN");
    offset += 5;
    if (zlib.size() - offset < length) {
      return absl::DataLossError("block overruns the stream");
    }
    out.append(zlib.substr(offset, length));
    offset += length;
    ++*block_count;
  }
  if (zlib.size() - offset != 4) return absl::DataLossError("bad trailer");
  if (BigEndian32(zlib, offset) != SlowAdler32(out)) {
    return absl::DataLossError("bad Adler-32");
  }
  return out;
}

struct DecodedPng {
  int width = 0;
  int height = 0;
  std::vector<uint8_t> pixels;
  int block_count = 0;
};

absl::StatusOr<DecodedPng> DecodePng(std::string_view png) {
  absl::StatusOr<std::vector<Chunk>> chunks = ParseChunks(png);
  if (!chunks.ok()) return chunks.status();
  if (chunks->empty() || (*chunks)[0].type != "IHDR" ||
      (*chunks)[0].data.size() != 13) {
    return absl::DataLossError("IHDR is not first");
  }
  if (chunks->back().type != "IEND" || !chunks->back().data.empty()) {
    return absl::DataLossError("IEND is not last");
  }
  const std::string& header = (*chunks)[0].data;
  DecodedPng decoded;
  decoded.width = static_cast<int>(BigEndian32(header, 0));
  decoded.height = static_cast<int>(BigEndian32(header, 4));
  if (header.substr(8) != std::string("\x08\x02\x00\x00\x00", 5)) {
    return absl::DataLossError("not 8-bit RGB, deflate, non-interlaced");
  }
  std::string zlib;
  for (const Chunk& chunk : *chunks) {
    if (chunk.type == "IDAT") zlib += chunk.data;
  }
  absl::StatusOr<std::string> scanlines =
      InflateStored(zlib, &decoded.block_count);
  if (!scanlines.ok()) return scanlines.status();
  const size_t row_bytes = static_cast<size_t>(decoded.width) * 3;
  if (scanlines->size() != (row_bytes + 1) * decoded.height) {
    return absl::DataLossError("wrong amount of pixel data");
  }
  for (int row = 0; row < decoded.height; ++row) {
    const size_t start = row * (row_bytes + 1);
    if ((*scanlines)[start] != 0) return absl::DataLossError("filtered row");
    decoded.pixels.insert(decoded.pixels.end(), scanlines->begin() + start + 1,
                          scanlines->begin() + start + 1 + row_bytes);
  }
  return decoded;
}

// An image whose every pixel differs from its neighbours.
Image PatternImage(int width, int height) {
  Image image(width, height);
  for (int y = 0; y < height; ++y) {
    for (int x = 0; x < width; ++x) {
      image.SetPixel(
          x, y,
          {static_cast<uint8_t>(x * 7 + y), static_cast<uint8_t>(y * 13),
           static_cast<uint8_t>((x ^ y) * 31)});
    }
  }
  return image;
}

std::string ReadFile(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(file),
                     std::istreambuf_iterator<char>());
}

std::string TempPath(std::string_view name) {
  const char* dir = std::getenv("TEST_TMPDIR");
  return absl::StrCat(dir != nullptr ? dir : "/tmp", "/", std::string(name));
}

// -----------------------------------------------------------------------------
// Checksums
// -----------------------------------------------------------------------------

TEST(ChecksumTest, Crc32KnownValues) {
  EXPECT_EQ(Crc32("123456789"), 0xCBF43926u);
  EXPECT_EQ(Crc32(""), 0u);
  EXPECT_EQ(Crc32("IEND"), 0xAE426082u);  // Every PNG ends with these bytes.
}

TEST(ChecksumTest, Adler32KnownValues) {
  EXPECT_EQ(Adler32("Wikipedia"), 0x11E60398u);
  EXPECT_EQ(Adler32(""), 1u);
}

TEST(ChecksumTest, MatchBitwiseImplementationsOnLongInput) {
  // Long runs of 0xFF stress Adler-32's deferred modulus.
  std::string data(200000, '\xFF');
  for (size_t i = 0; i < data.size(); i += 7) data[i] = static_cast<char>(i);
  EXPECT_EQ(Crc32(data), SlowCrc32(data));
  EXPECT_EQ(Adler32(data), SlowAdler32(data));
}

// -----------------------------------------------------------------------------
// PNG
// -----------------------------------------------------------------------------

TEST(EncodePngTest, HasSignatureAndVerifiedChunks) {
  const std::string png = EncodePng(PatternImage(3, 2));
  ASSERT_GE(png.size(), kPngSignature.size());
  EXPECT_EQ(png.substr(0, 8), kPngSignature);
  absl::StatusOr<std::vector<Chunk>> chunks = ParseChunks(png);
  ASSERT_TRUE(chunks.ok()) << chunks.status();
  std::vector<std::string> types;
  for (const Chunk& chunk : *chunks) types.push_back(chunk.type);
  EXPECT_THAT(types, testing::ElementsAre("IHDR", "IDAT", "IEND"));
  EXPECT_EQ((*chunks)[0].data,
            std::string("\0\0\0\x03\0\0\0\x02\x08\x02\0\0\0", 13));
  EXPECT_TRUE((*chunks)[2].data.empty());
  // The file ends with IEND's fixed CRC.
  EXPECT_EQ(png.substr(png.size() - 4), "\xAE\x42\x60\x82");
}

TEST(EncodePngTest, SmallImageRoundTrips) {
  const Image image = PatternImage(7, 5);
  absl::StatusOr<DecodedPng> decoded = DecodePng(EncodePng(image));
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(decoded->width, 7);
  EXPECT_EQ(decoded->height, 5);
  EXPECT_EQ(decoded->block_count, 1);
  EXPECT_EQ(decoded->pixels, image.pixels());
}

TEST(EncodePngTest, LargeImageSpansSeveralStoredBlocks) {
  // 150 rows of 1 + 600 bytes: 90150 bytes, two stored blocks.
  const Image image = PatternImage(200, 150);
  absl::StatusOr<DecodedPng> decoded = DecodePng(EncodePng(image));
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(decoded->block_count, 2);
  EXPECT_EQ(decoded->pixels, image.pixels());
}

TEST(EncodePngTest, DataFillingWholeBlocksRoundTrips) {
  // Rows of 28 pixels are 85 bytes with the filter byte; 85 * 771 = 65535,
  // exactly one full stored block, and twice that, exactly two.
  for (const auto& [height, blocks] : {std::pair{771, 1}, std::pair{1542, 2}}) {
    const Image image = PatternImage(28, height);
    absl::StatusOr<DecodedPng> decoded = DecodePng(EncodePng(image));
    ASSERT_TRUE(decoded.ok()) << decoded.status();
    EXPECT_EQ(decoded->block_count, blocks);
    EXPECT_EQ(decoded->pixels, image.pixels());
  }
}

TEST(EncodePngTest, VariousSizesRoundTrip) {
  for (int width : {1, 2, 3, 100, 21844}) {
    for (int height : {1, 2, 3}) {
      const Image image = PatternImage(width, height);
      absl::StatusOr<DecodedPng> decoded = DecodePng(EncodePng(image));
      ASSERT_TRUE(decoded.ok())
          << width << "x" << height << ": " << decoded.status();
      EXPECT_EQ(decoded->pixels, image.pixels()) << width << "x" << height;
    }
  }
}

TEST(EncodePngTest, EmptyImageEncodesToNothing) {
  EXPECT_EQ(EncodePng(Image(0, 5)), "");
  EXPECT_EQ(EncodePng(Image(-3, -3)), "");
}

TEST(WritePngTest, WritesTheEncodedBytes) {
  const Image image = PatternImage(9, 4);
  const std::string path = TempPath("write_png_test.png");
  ASSERT_TRUE(WritePng(path, image).ok());
  EXPECT_EQ(ReadFile(path), EncodePng(image));
  std::remove(path.c_str());
}

TEST(WritePngTest, ReportsErrors) {
  EXPECT_EQ(WritePng(TempPath("empty.png"), Image(0, 0)).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_FALSE(WritePng(TempPath("no/such/dir/x.png"), Image(2, 2)).ok());
}

// -----------------------------------------------------------------------------
// Image drawing
// -----------------------------------------------------------------------------

int CountPixels(const Image& image, Rgb color) {
  int count = 0;
  for (int y = 0; y < image.height(); ++y) {
    for (int x = 0; x < image.width(); ++x) {
      if (image.GetPixel(x, y) == color) ++count;
    }
  }
  return count;
}

TEST(ImageTest, StartsWithBackground) {
  const Image image(4, 3, {1, 2, 3});
  EXPECT_EQ(image.width(), 4);
  EXPECT_EQ(image.height(), 3);
  EXPECT_EQ(image.pixels().size(), 36u);
  EXPECT_EQ(CountPixels(image, {1, 2, 3}), 12);
}

TEST(ImageTest, ClampsSizes) {
  EXPECT_TRUE(Image(-1, 10).empty());
  EXPECT_EQ(Image(Image::kMaxDimension + 5, 1).width(), Image::kMaxDimension);
}

TEST(ImageTest, FillRectClips) {
  Image image(10, 10);
  image.FillRect(-5, -5, 8, 7, {9, 9, 9});  // Covers x 0..2, y 0..1.
  EXPECT_EQ(CountPixels(image, {9, 9, 9}), 6);
  image.FillRect(8, 8, 100, 100, {7, 7, 7});
  EXPECT_EQ(CountPixels(image, {7, 7, 7}), 4);
  image.FillRect(std::numeric_limits<int>::max() - 1, 0, 100, 100, {5, 5, 5});
  image.FillRect(0, 0, -3, 4, {5, 5, 5});
  EXPECT_EQ(CountPixels(image, {5, 5, 5}), 0);
}

TEST(ImageTest, DrawLine) {
  Image image(10, 10);
  image.DrawLine(7, 2, 1, 2, {1, 1, 1});  // Horizontal, drawn right to left.
  EXPECT_EQ(CountPixels(image, {1, 1, 1}), 7);
  EXPECT_EQ(image.GetPixel(1, 2), (Rgb{1, 1, 1}));
  EXPECT_EQ(image.GetPixel(7, 2), (Rgb{1, 1, 1}));
  image.DrawLine(4, 3, 4, 9, {2, 2, 2}, 2);  // Vertical, 2 wide.
  EXPECT_EQ(CountPixels(image, {2, 2, 2}), 14);
  image.DrawLine(0, 0, 9, 9, {3, 3, 3});  // Diagonal.
  EXPECT_EQ(image.GetPixel(0, 0), (Rgb{3, 3, 3}));
  EXPECT_EQ(image.GetPixel(9, 9), (Rgb{3, 3, 3}));
  image.DrawLine(-100, 5, 100, 7, {4, 4, 4});  // Clipped, no crash.
}

TEST(TextTest, Measures) {
  EXPECT_EQ(TextWidth(""), 0);
  EXPECT_EQ(TextWidth("a"), kGlyphWidth);
  EXPECT_EQ(TextWidth("abc"), 2 * kGlyphAdvance + kGlyphWidth);
  EXPECT_EQ(TextWidth("abc", 3), 3 * TextWidth("abc"));
  EXPECT_EQ(TextHeight(), kGlyphHeight);
  EXPECT_EQ(TextHeight(2), 2 * kGlyphHeight);
}

// The pixels of `text` drawn alone at (0, 0) and scale 1.
std::vector<uint8_t> RenderText(std::string_view text) {
  Image image(TextWidth(text), TextHeight());
  image.DrawText(0, 0, text, {0, 0, 0});
  return image.pixels();
}

TEST(TextTest, EveryRequiredCharacterHasAGlyph) {
  const std::string required =
      "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
      ".,:;-_/()%x=+<>[]#*'";
  for (const char c : required) {
    const std::vector<uint8_t> pixels = RenderText(std::string(1, c));
    EXPECT_NE(pixels, std::vector<uint8_t>(pixels.size(), 255))
        << "blank glyph for '" << c << "'";
  }
  EXPECT_EQ(RenderText(" "), std::vector<uint8_t>(RenderText(" ").size(), 255));
}

TEST(TextTest, PrintableGlyphsAreDistinct) {
  std::set<std::vector<uint8_t>> seen;
  for (char c = '!'; c <= '~'; ++c) {
    EXPECT_TRUE(seen.insert(RenderText(std::string(1, c))).second)
        << "glyph for '" << c << "' repeats an earlier one";
  }
}

TEST(TextTest, UnknownBytesDrawAsQuestionMark) {
  EXPECT_EQ(RenderText("\x01"), RenderText("?"));
  EXPECT_EQ(RenderText("\xE9"), RenderText("?"));
}

TEST(TextTest, DrawsInsideItsBoxOnly) {
  const std::string text = "Hello, gy_";
  constexpr int kScale = 3;
  constexpr int kX = 4;
  constexpr int kY = 6;
  Image image(100 + TextWidth(text, kScale), 100, kWhite);
  image.DrawText(kX, kY, text, {0, 0, 0}, kScale);
  int inside = 0;
  for (int y = 0; y < image.height(); ++y) {
    for (int x = 0; x < image.width(); ++x) {
      if (image.GetPixel(x, y) == kWhite) continue;
      ++inside;
      EXPECT_GE(x, kX);
      EXPECT_LT(x, kX + TextWidth(text, kScale));
      EXPECT_GE(y, kY);
      EXPECT_LT(y, kY + TextHeight(kScale));
    }
  }
  EXPECT_GT(inside, 0);
  EXPECT_EQ(inside % (kScale * kScale), 0);
}

TEST(TextTest, VerticalTextIsTheRotatedHorizontalText) {
  const std::string text = "Ab1";
  Image horizontal(TextWidth(text), TextHeight());
  horizontal.DrawText(0, 0, text, {0, 0, 0});
  Image vertical(TextHeight(), TextWidth(text));
  vertical.DrawTextVertical(0, 0, text, {0, 0, 0});
  for (int y = 0; y < horizontal.height(); ++y) {
    for (int x = 0; x < horizontal.width(); ++x) {
      // A quarter turn counter-clockwise: the start of the text at the
      // bottom, the top of the glyphs on the left.
      EXPECT_EQ(horizontal.GetPixel(x, y),
                vertical.GetPixel(y, horizontal.width() - 1 - x));
    }
  }
}

TEST(FormatCompactTest, Formats) {
  EXPECT_EQ(FormatCompact(0), "0");
  EXPECT_EQ(FormatCompact(1), "1");
  EXPECT_EQ(FormatCompact(0.25), "0.25");
  EXPECT_EQ(FormatCompact(999), "999");
  EXPECT_EQ(FormatCompact(999.7), "1k");
  EXPECT_EQ(FormatCompact(1500), "1.5k");
  EXPECT_EQ(FormatCompact(123456), "123k");
  EXPECT_EQ(FormatCompact(2e6), "2M");
  EXPECT_EQ(FormatCompact(-3e9), "-3G");
  EXPECT_EQ(FormatCompact(1e12), "1T");
  EXPECT_EQ(FormatCompact(std::nan("")), "nan");
}

// -----------------------------------------------------------------------------
// Bar chart
// -----------------------------------------------------------------------------

constexpr Rgb kRed = {200, 30, 40};
constexpr Rgb kBlue = {20, 60, 210};

// Runs of adjacent `color` pixels in row y, as [begin, end) column pairs.
std::vector<std::pair<int, int>> RunsInRow(const Image& image, int y,
                                           Rgb color) {
  std::vector<std::pair<int, int>> runs;
  for (int x = 0; x < image.width(); ++x) {
    if (image.GetPixel(x, y) != color) continue;
    if (!runs.empty() && runs.back().second == x) {
      runs.back().second = x + 1;
    } else {
      runs.emplace_back(x, x + 1);
    }
  }
  return runs;
}

// The bars of `color`: the most runs found in any row of the lower two
// thirds of the image (the legend, which shares the color, sits at the top).
std::vector<std::pair<int, int>> FindBars(const Image& image, Rgb color) {
  std::vector<std::pair<int, int>> best;
  for (int y = image.height() / 3; y < image.height(); ++y) {
    std::vector<std::pair<int, int>> runs = RunsInRow(image, y, color);
    if (runs.size() > best.size()) best = std::move(runs);
  }
  return best;
}

// The number of `color` pixels in column x.
int ColumnCount(const Image& image, int x, Rgb color) {
  int count = 0;
  for (int y = 0; y < image.height(); ++y) {
    if (image.GetPixel(x, y) == color) ++count;
  }
  return count;
}

BarChart ThreeGroupChart(std::vector<double> values, bool log_scale) {
  BarChart chart;
  chart.title = "Test chart";
  chart.y_label = "ns per row";
  chart.groups = {"full asc", "L=100 desc", "cold full"};
  chart.series = {{"red", kRed, std::move(values)}};
  chart.log_scale = log_scale;
  return chart;
}

TEST(RenderBarChartTest, HasTheRequestedSize) {
  BarChart chart = ThreeGroupChart({1, 2, 3}, true);
  chart.width = 900;
  chart.height = 480;
  const Image image = RenderBarChart(chart);
  EXPECT_EQ(image.width(), 900);
  EXPECT_EQ(image.height(), 480);
  EXPECT_EQ(image.GetPixel(0, 0), kWhite);
}

TEST(RenderBarChartTest, LogScaleBarsGrowWithTheLogarithm) {
  const Image image = RenderBarChart(ThreeGroupChart({1, 1e3, 1e6}, true));
  EXPECT_EQ(image.width(), 1400);
  EXPECT_EQ(image.height(), 700);
  const std::vector<std::pair<int, int>> bars = FindBars(image, kRed);
  ASSERT_EQ(bars.size(), 3u);
  std::vector<int> heights;
  for (const auto& [begin, end] : bars) {
    EXPECT_GT(end - begin, 100);  // Wide bars for 3 groups of 1 series.
    heights.push_back(ColumnCount(image, begin, kRed));
  }
  EXPECT_LT(heights[0], heights[1]);
  EXPECT_LT(heights[1], heights[2]);
  // Equal steps in log10(value) give equal steps in height.
  EXPECT_NEAR(heights[1] - heights[0], heights[2] - heights[1], 3);
}

TEST(RenderBarChartTest, LinearScaleBarsGrowLinearly) {
  const Image image = RenderBarChart(ThreeGroupChart({1, 2, 4}, false));
  const std::vector<std::pair<int, int>> bars = FindBars(image, kRed);
  ASSERT_EQ(bars.size(), 3u);
  // The fill plus the bar's 1-pixel top outline.
  const int h0 = ColumnCount(image, bars[0].first, kRed) + 1;
  const int h1 = ColumnCount(image, bars[1].first, kRed) + 1;
  const int h2 = ColumnCount(image, bars[2].first, kRed) + 1;
  EXPECT_GT(h0, 20);
  EXPECT_NEAR(h1, 2 * h0, 3);
  EXPECT_NEAR(h2, 4 * h0, 4);
}

TEST(RenderBarChartTest, GroupsSeriesInOrder) {
  BarChart chart = ThreeGroupChart({5, 50, 500}, true);
  chart.series.push_back({"blue", kBlue, {500, 50, 5}});
  const Image image = RenderBarChart(chart);
  const std::vector<std::pair<int, int>> red = FindBars(image, kRed);
  const std::vector<std::pair<int, int>> blue = FindBars(image, kBlue);
  ASSERT_EQ(red.size(), 3u);
  ASSERT_EQ(blue.size(), 3u);
  for (size_t group = 0; group < 3; ++group) {
    EXPECT_LT(red[group].second, blue[group].first);  // Red, then blue...
    if (group + 1 < 3) {
      // ...with a wider gap between groups than inside them.
      EXPECT_GT(red[group + 1].first - blue[group].second,
                blue[group].first - red[group].second);
    }
  }
}

TEST(RenderBarChartTest, SkipsNaNInfiniteAndNonPositiveValues) {
  BarChart chart = ThreeGroupChart(
      {std::nan(""), 5, -1, std::numeric_limits<double>::infinity(), 0}, true);
  chart.groups.push_back("inf");
  chart.groups.push_back("zero");
  for (bool log_scale : {true, false}) {
    chart.log_scale = log_scale;
    const Image image = RenderBarChart(chart);
    EXPECT_EQ(FindBars(image, kRed).size(), 1u);
  }
}

TEST(RenderBarChartTest, HandlesEmptyCharts) {
  BarChart empty;
  Image image = RenderBarChart(empty);
  EXPECT_EQ(image.width(), 1400);
  EXPECT_EQ(image.height(), 700);

  BarChart no_series;
  no_series.title = "No series";
  no_series.groups = {"a", "b"};
  image = RenderBarChart(no_series);
  EXPECT_EQ(image.width(), 1400);

  BarChart no_values = ThreeGroupChart({}, true);
  no_values.series.push_back({"all NaN", kBlue, {std::nan(""), std::nan("")}});
  for (bool log_scale : {true, false}) {
    no_values.log_scale = log_scale;
    image = RenderBarChart(no_values);
    EXPECT_EQ(image.height(), 700);
    EXPECT_TRUE(FindBars(image, kRed).empty());
  }
}

TEST(RenderBarChartTest, SurvivesOddSizesAndExtremeValues) {
  const std::vector<std::vector<double>> value_sets = {
      {1, 1e6, 1e3},
      {std::numeric_limits<double>::denorm_min(), 1},
      {std::numeric_limits<double>::max(), 1},
      {std::numeric_limits<double>::denorm_min()},
      {std::numeric_limits<double>::max()},
      {7, 7, 7},
  };
  const std::vector<std::pair<int, int>> sizes = {
      {1400, 700}, {300, 200}, {10, 10}, {1, 1}, {0, 0}, {-5, 40}, {40, 3000}};
  for (const std::vector<double>& values : value_sets) {
    for (const auto& [width, height] : sizes) {
      for (bool log_scale : {true, false}) {
        BarChart chart = ThreeGroupChart(values, log_scale);
        chart.width = width;
        chart.height = height;
        const Image image = RenderBarChart(chart);
        EXPECT_EQ(image.width(), std::max(0, width));
        EXPECT_EQ(image.height(), std::max(0, height));
      }
    }
  }
}

TEST(RenderBarChartTest, ManyGroupsAndSeries) {
  BarChart chart;
  chart.title = "Many";
  for (int group = 0; group < 200; ++group) {
    chart.groups.push_back(absl::StrCat("group number ", group, " desc"));
  }
  for (int s = 0; s < 30; ++s) {
    std::vector<double> values;
    for (int group = 0; group < 200; ++group) values.push_back(1 + group * s);
    chart.series.push_back(
        {absl::StrCat("series ", s), SeriesColor(s), values});
  }
  const Image image = RenderBarChart(chart);
  EXPECT_EQ(image.width(), 1400);
}

// A report-like chart: 12 groups, 4 series, values spanning 1 to 1e6.
BarChart ReportLikeChart() {
  BarChart chart;
  chart.title = "Scan cost per row by storage backend";
  chart.y_label = "ns/row (log)";
  chart.groups = {"full asc",  "full desc",  "L=10 asc",   "L=10 desc",
                  "L=100 asc", "L=100 desc", "L=1000 asc", "L=1000 desc",
                  "cold full", "cold L=100", "point get",  "point miss"};
  const char* names[] = {"memory", "mmap", "pread", "io_uring (O_DIRECT)"};
  for (int s = 0; s < 4; ++s) {
    std::vector<double> values;
    for (int group = 0; group < 12; ++group) {
      values.push_back(std::pow(10.0, (group * 0.5 + s * 0.4)) *
                       (1 + 0.37 * ((group + s) % 3)));
    }
    chart.series.push_back({names[s], SeriesColor(s), values});
  }
  chart.series[3].values[2] = std::nan("");
  chart.series[1].values[11] = 1e6;
  chart.series[0].values[0] = 1;
  return chart;
}

TEST(RenderBarChartTest, ReportLikeChartDrawsEveryBar) {
  const BarChart chart = ReportLikeChart();
  const Image image = RenderBarChart(chart);
  EXPECT_EQ(FindBars(image, SeriesColor(0)).size(), 12u);
  EXPECT_EQ(FindBars(image, SeriesColor(3)).size(), 11u);  // One NaN.
}

TEST(WriteBarChartPngTest, WritesADecodablePng) {
  const BarChart chart = ReportLikeChart();
  const std::string path = TempPath("chart.png");
  ASSERT_TRUE(WriteBarChartPng(path, chart).ok());
  absl::StatusOr<DecodedPng> decoded = DecodePng(ReadFile(path));
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(decoded->pixels, RenderBarChart(chart).pixels());
  std::remove(path.c_str());

  // For eyeballing: bazel test //bench:chart_test
  //   --test_env=LSMSCAN_CHART_EXAMPLE_PNG=/tmp/example_chart.png
  if (const char* example = std::getenv("LSMSCAN_CHART_EXAMPLE_PNG")) {
    EXPECT_TRUE(WriteBarChartPng(example, chart).ok());
  }
}

}  // namespace
}  // namespace lsmscan
