#include "lsmscan/bench/chart.h"

#include <algorithm>
#include <array>
#include <cerrno>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <limits>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace lsmscan {
namespace {

// -----------------------------------------------------------------------------
// Font
// -----------------------------------------------------------------------------

// One glyph per printable ASCII character (0x20 to 0x7E). Each entry is 9
// rows, top first; bit 4 of a row is the leftmost of its 5 columns. Rows 0-6
// hold capitals, digits and the x-height letters (rows 2-6); rows 7-8 hold
// descenders.
constexpr uint8_t kFont[95][kGlyphHeight] = {
    {0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00},  // space
    {0x04, 0x04, 0x04, 0x04, 0x04, 0x00, 0x04, 0x00, 0x00},  // !
    {0x0A, 0x0A, 0x0A, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00},  // "
    {0x0A, 0x0A, 0x1F, 0x0A, 0x1F, 0x0A, 0x0A, 0x00, 0x00},  // #
    {0x04, 0x0F, 0x14, 0x0E, 0x05, 0x1E, 0x04, 0x00, 0x00},  // $
    {0x18, 0x19, 0x02, 0x04, 0x08, 0x13, 0x03, 0x00, 0x00},  // %
    {0x0C, 0x12, 0x14, 0x08, 0x15, 0x12, 0x0D, 0x00, 0x00},  // &
    {0x04, 0x04, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00},  // '
    {0x02, 0x04, 0x08, 0x08, 0x08, 0x04, 0x02, 0x00, 0x00},  // (
    {0x08, 0x04, 0x02, 0x02, 0x02, 0x04, 0x08, 0x00, 0x00},  // )
    {0x00, 0x04, 0x15, 0x0E, 0x15, 0x04, 0x00, 0x00, 0x00},  // *
    {0x00, 0x04, 0x04, 0x1F, 0x04, 0x04, 0x00, 0x00, 0x00},  // +
    {0x00, 0x00, 0x00, 0x00, 0x00, 0x0C, 0x0C, 0x04, 0x08},  // ,
    {0x00, 0x00, 0x00, 0x1F, 0x00, 0x00, 0x00, 0x00, 0x00},  // -
    {0x00, 0x00, 0x00, 0x00, 0x00, 0x0C, 0x0C, 0x00, 0x00},  // .
    {0x00, 0x01, 0x02, 0x04, 0x08, 0x10, 0x00, 0x00, 0x00},  // /
    {0x0E, 0x11, 0x13, 0x15, 0x19, 0x11, 0x0E, 0x00, 0x00},  // 0
    {0x04, 0x0C, 0x04, 0x04, 0x04, 0x04, 0x0E, 0x00, 0x00},  // 1
    {0x0E, 0x11, 0x01, 0x02, 0x04, 0x08, 0x1F, 0x00, 0x00},  // 2
    {0x1F, 0x02, 0x04, 0x02, 0x01, 0x11, 0x0E, 0x00, 0x00},  // 3
    {0x02, 0x06, 0x0A, 0x12, 0x1F, 0x02, 0x02, 0x00, 0x00},  // 4
    {0x1F, 0x10, 0x1E, 0x01, 0x01, 0x11, 0x0E, 0x00, 0x00},  // 5
    {0x06, 0x08, 0x10, 0x1E, 0x11, 0x11, 0x0E, 0x00, 0x00},  // 6
    {0x1F, 0x01, 0x02, 0x04, 0x08, 0x08, 0x08, 0x00, 0x00},  // 7
    {0x0E, 0x11, 0x11, 0x0E, 0x11, 0x11, 0x0E, 0x00, 0x00},  // 8
    {0x0E, 0x11, 0x11, 0x0F, 0x01, 0x02, 0x0C, 0x00, 0x00},  // 9
    {0x00, 0x0C, 0x0C, 0x00, 0x0C, 0x0C, 0x00, 0x00, 0x00},  // :
    {0x00, 0x0C, 0x0C, 0x00, 0x0C, 0x0C, 0x04, 0x08, 0x00},  // ;
    {0x02, 0x04, 0x08, 0x10, 0x08, 0x04, 0x02, 0x00, 0x00},  // <
    {0x00, 0x00, 0x1F, 0x00, 0x1F, 0x00, 0x00, 0x00, 0x00},  // =
    {0x08, 0x04, 0x02, 0x01, 0x02, 0x04, 0x08, 0x00, 0x00},  // >
    {0x0E, 0x11, 0x01, 0x02, 0x04, 0x00, 0x04, 0x00, 0x00},  // ?
    {0x0E, 0x11, 0x17, 0x15, 0x17, 0x10, 0x0F, 0x00, 0x00},  // @
    {0x0E, 0x11, 0x11, 0x1F, 0x11, 0x11, 0x11, 0x00, 0x00},  // A
    {0x1E, 0x11, 0x11, 0x1E, 0x11, 0x11, 0x1E, 0x00, 0x00},  // B
    {0x0E, 0x11, 0x10, 0x10, 0x10, 0x11, 0x0E, 0x00, 0x00},  // C
    {0x1C, 0x12, 0x11, 0x11, 0x11, 0x12, 0x1C, 0x00, 0x00},  // D
    {0x1F, 0x10, 0x10, 0x1E, 0x10, 0x10, 0x1F, 0x00, 0x00},  // E
    {0x1F, 0x10, 0x10, 0x1E, 0x10, 0x10, 0x10, 0x00, 0x00},  // F
    {0x0E, 0x11, 0x10, 0x17, 0x11, 0x11, 0x0F, 0x00, 0x00},  // G
    {0x11, 0x11, 0x11, 0x1F, 0x11, 0x11, 0x11, 0x00, 0x00},  // H
    {0x0E, 0x04, 0x04, 0x04, 0x04, 0x04, 0x0E, 0x00, 0x00},  // I
    {0x07, 0x02, 0x02, 0x02, 0x02, 0x12, 0x0C, 0x00, 0x00},  // J
    {0x11, 0x12, 0x14, 0x18, 0x14, 0x12, 0x11, 0x00, 0x00},  // K
    {0x10, 0x10, 0x10, 0x10, 0x10, 0x10, 0x1F, 0x00, 0x00},  // L
    {0x11, 0x1B, 0x15, 0x15, 0x11, 0x11, 0x11, 0x00, 0x00},  // M
    {0x11, 0x11, 0x19, 0x15, 0x13, 0x11, 0x11, 0x00, 0x00},  // N
    {0x0E, 0x11, 0x11, 0x11, 0x11, 0x11, 0x0E, 0x00, 0x00},  // O
    {0x1E, 0x11, 0x11, 0x1E, 0x10, 0x10, 0x10, 0x00, 0x00},  // P
    {0x0E, 0x11, 0x11, 0x11, 0x15, 0x12, 0x0D, 0x00, 0x00},  // Q
    {0x1E, 0x11, 0x11, 0x1E, 0x14, 0x12, 0x11, 0x00, 0x00},  // R
    {0x0F, 0x10, 0x10, 0x0E, 0x01, 0x01, 0x1E, 0x00, 0x00},  // S
    {0x1F, 0x04, 0x04, 0x04, 0x04, 0x04, 0x04, 0x00, 0x00},  // T
    {0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x0E, 0x00, 0x00},  // U
    {0x11, 0x11, 0x11, 0x11, 0x11, 0x0A, 0x04, 0x00, 0x00},  // V
    {0x11, 0x11, 0x11, 0x15, 0x15, 0x15, 0x0A, 0x00, 0x00},  // W
    {0x11, 0x11, 0x0A, 0x04, 0x0A, 0x11, 0x11, 0x00, 0x00},  // X
    {0x11, 0x11, 0x0A, 0x04, 0x04, 0x04, 0x04, 0x00, 0x00},  // Y
    {0x1F, 0x01, 0x02, 0x04, 0x08, 0x10, 0x1F, 0x00, 0x00},  // Z
    {0x0E, 0x08, 0x08, 0x08, 0x08, 0x08, 0x0E, 0x00, 0x00},  // [
    {0x00, 0x10, 0x08, 0x04, 0x02, 0x01, 0x00, 0x00, 0x00},  // backslash
    {0x0E, 0x02, 0x02, 0x02, 0x02, 0x02, 0x0E, 0x00, 0x00},  // ]
    {0x04, 0x0A, 0x11, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00},  // ^
    {0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x1F, 0x00},  // _
    {0x08, 0x04, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00},  // `
    {0x00, 0x00, 0x0E, 0x01, 0x0F, 0x11, 0x0F, 0x00, 0x00},  // a
    {0x10, 0x10, 0x16, 0x19, 0x11, 0x11, 0x1E, 0x00, 0x00},  // b
    {0x00, 0x00, 0x0E, 0x10, 0x10, 0x11, 0x0E, 0x00, 0x00},  // c
    {0x01, 0x01, 0x0D, 0x13, 0x11, 0x11, 0x0F, 0x00, 0x00},  // d
    {0x00, 0x00, 0x0E, 0x11, 0x1F, 0x10, 0x0E, 0x00, 0x00},  // e
    {0x06, 0x09, 0x08, 0x1C, 0x08, 0x08, 0x08, 0x00, 0x00},  // f
    {0x00, 0x00, 0x0F, 0x11, 0x11, 0x11, 0x0F, 0x01, 0x0E},  // g
    {0x10, 0x10, 0x16, 0x19, 0x11, 0x11, 0x11, 0x00, 0x00},  // h
    {0x04, 0x00, 0x0C, 0x04, 0x04, 0x04, 0x0E, 0x00, 0x00},  // i
    {0x02, 0x00, 0x06, 0x02, 0x02, 0x02, 0x02, 0x12, 0x0C},  // j
    {0x10, 0x10, 0x12, 0x14, 0x18, 0x14, 0x12, 0x00, 0x00},  // k
    {0x0C, 0x04, 0x04, 0x04, 0x04, 0x04, 0x0E, 0x00, 0x00},  // l
    {0x00, 0x00, 0x1A, 0x15, 0x15, 0x15, 0x15, 0x00, 0x00},  // m
    {0x00, 0x00, 0x16, 0x19, 0x11, 0x11, 0x11, 0x00, 0x00},  // n
    {0x00, 0x00, 0x0E, 0x11, 0x11, 0x11, 0x0E, 0x00, 0x00},  // o
    {0x00, 0x00, 0x1E, 0x11, 0x11, 0x11, 0x1E, 0x10, 0x10},  // p
    {0x00, 0x00, 0x0F, 0x11, 0x11, 0x11, 0x0F, 0x01, 0x01},  // q
    {0x00, 0x00, 0x16, 0x19, 0x10, 0x10, 0x10, 0x00, 0x00},  // r
    {0x00, 0x00, 0x0F, 0x10, 0x0E, 0x01, 0x1E, 0x00, 0x00},  // s
    {0x08, 0x08, 0x1C, 0x08, 0x08, 0x09, 0x06, 0x00, 0x00},  // t
    {0x00, 0x00, 0x11, 0x11, 0x11, 0x13, 0x0D, 0x00, 0x00},  // u
    {0x00, 0x00, 0x11, 0x11, 0x11, 0x0A, 0x04, 0x00, 0x00},  // v
    {0x00, 0x00, 0x11, 0x11, 0x15, 0x15, 0x0A, 0x00, 0x00},  // w
    {0x00, 0x00, 0x11, 0x0A, 0x04, 0x0A, 0x11, 0x00, 0x00},  // x
    {0x00, 0x00, 0x11, 0x11, 0x11, 0x11, 0x0F, 0x01, 0x0E},  // y
    {0x00, 0x00, 0x1F, 0x02, 0x04, 0x08, 0x1F, 0x00, 0x00},  // z
    {0x03, 0x04, 0x04, 0x08, 0x04, 0x04, 0x03, 0x00, 0x00},  // {
    {0x04, 0x04, 0x04, 0x04, 0x04, 0x04, 0x04, 0x00, 0x00},  // |
    {0x18, 0x04, 0x04, 0x02, 0x04, 0x04, 0x18, 0x00, 0x00},  // }
    {0x00, 0x00, 0x08, 0x15, 0x02, 0x00, 0x00, 0x00, 0x00},  // ~
};

constexpr char kFirstGlyph = ' ';
constexpr char kLastGlyph = '~';

// The rows of the glyph for `c`; '?' for anything outside printable ASCII.
const uint8_t* GlyphRows(char c) {
  if (c < kFirstGlyph || c > kLastGlyph) c = '?';
  return kFont[c - kFirstGlyph];
}

// Calls plot(u, v) for every set font pixel of `text` at scale 1, where u is
// the column from the left edge of the text and v the row from its top.
template <typename Plot>
void ForEachTextPixel(std::string_view text, Plot plot) {
  int left = 0;
  for (const char c : text) {
    const uint8_t* rows = GlyphRows(c);
    for (int v = 0; v < kGlyphHeight; ++v) {
      for (int column = 0; column < kGlyphWidth; ++column) {
        if ((rows[v] >> (kGlyphWidth - 1 - column)) & 1) plot(left + column, v);
      }
    }
    left += kGlyphAdvance;
  }
}

// -----------------------------------------------------------------------------
// Checksums and PNG
// -----------------------------------------------------------------------------

constexpr std::array<uint32_t, 256> MakeCrc32Table() {
  std::array<uint32_t, 256> table{};
  for (uint32_t n = 0; n < 256; ++n) {
    uint32_t c = n;
    for (int k = 0; k < 8; ++k) {
      c = (c & 1) != 0 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
    }
    table[n] = c;
  }
  return table;
}

constexpr std::array<uint32_t, 256> kCrc32Table = MakeCrc32Table();

void AppendBigEndian32(uint32_t value, std::string* out) {
  out->push_back(static_cast<char>((value >> 24) & 0xFF));
  out->push_back(static_cast<char>((value >> 16) & 0xFF));
  out->push_back(static_cast<char>((value >> 8) & 0xFF));
  out->push_back(static_cast<char>(value & 0xFF));
}

void AppendLittleEndian16(uint32_t value, std::string* out) {
  out->push_back(static_cast<char>(value & 0xFF));
  out->push_back(static_cast<char>((value >> 8) & 0xFF));
}

// Appends one PNG chunk: length, type, data and the CRC of type and data.
void AppendChunk(std::string_view type, std::string_view data,
                 std::string* out) {
  AppendBigEndian32(static_cast<uint32_t>(data.size()), out);
  const size_t crc_start = out->size();
  out->append(type);
  out->append(data);
  AppendBigEndian32(
      Crc32(std::string_view(*out).substr(crc_start, out->size() - crc_start)),
      out);
}

// A zlib stream (RFC 1950) holding `data` in stored deflate blocks
// (RFC 1951, section 3.2.4).
std::string ZlibStore(std::string_view data) {
  constexpr size_t kMaxStoredBlock = 65535;
  std::string out;
  out.reserve(data.size() + data.size() / kMaxStoredBlock * 5 + 16);
  // CMF: deflate with a 32 KiB window; FLG: no dictionary, fastest level,
  // FCHECK making (CMF * 256 + FLG) a multiple of 31.
  out.push_back(static_cast<char>(0x78));
  out.push_back(static_cast<char>(0x01));
  size_t offset = 0;
  do {
    const size_t length = std::min(kMaxStoredBlock, data.size() - offset);
    const bool final_block = offset + length == data.size();
    // BFINAL in bit 0, BTYPE = 00 (stored) in bits 1-2, then padding to the
    // byte boundary.
    out.push_back(static_cast<char>(final_block ? 0x01 : 0x00));
    AppendLittleEndian16(static_cast<uint32_t>(length), &out);
    AppendLittleEndian16(static_cast<uint32_t>(~length & 0xFFFF), &out);
    out.append(data.substr(offset, length));
    offset += length;
  } while (offset < data.size());
  AppendBigEndian32(Adler32(data), &out);
  return out;
}

absl::Status FileError(const std::string& what, const std::string& path,
                       int error_number) {
  return absl::UnavailableError(absl::StrCat("cannot ", what, " ", path, ": ",
                                             std::strerror(error_number)));
}

// -----------------------------------------------------------------------------
// Bar chart
// -----------------------------------------------------------------------------

constexpr Rgb kWhite = {255, 255, 255};
constexpr Rgb kTitleColor = {20, 20, 20};
constexpr Rgb kTextColor = {45, 45, 45};
constexpr Rgb kMutedTextColor = {130, 130, 130};
constexpr Rgb kAxisColor = {70, 70, 70};
constexpr Rgb kMajorGridColor = {214, 214, 214};
constexpr Rgb kMinorGridColor = {238, 238, 238};

// Rows of the font above the baseline (capitals and digits).
constexpr int kCapHeight = 7;

bool Drawable(double value) { return std::isfinite(value) && value > 0; }

// A color `factor` of the way to black.
Rgb Darken(Rgb color, double factor) {
  Rgb result;
  for (size_t i = 0; i < 3; ++i) {
    result[i] = static_cast<uint8_t>(std::lround(color[i] * (1.0 - factor)));
  }
  return result;
}

// Dark text on light colors, white text on dark ones.
Rgb ContrastingText(Rgb background) {
  const double luminance =
      0.299 * background[0] + 0.587 * background[1] + 0.114 * background[2];
  return luminance > 150 ? kTitleColor : kWhite;
}

// The y axis: maps values to fractions of the plot height and lists the
// lines to draw across the plot.
struct ValueAxis {
  struct Line {
    double value;
    bool major;  // Majors get a tick mark, and a label if `label` is set.
    std::string label;
  };

  // The fraction of the plot height (0 at the x axis, 1 at the top) where
  // `value` lies; unclamped.
  double Fraction(double value) const {
    const double position = log_scale ? std::log10(value) : value;
    return (position - low) / (high - low);
  }

  bool log_scale = true;
  double low = 0;   // log10 of the bottom value on a log scale.
  double high = 1;  // log10 of the top value on a log scale.
  std::vector<Line> lines;
};

// A "nice" tick spacing (1, 2, 2.5 or 5 times a power of ten) splitting
// `range` into about `target` intervals.
double NiceStep(double range, int target) {
  const double raw = range / std::max(1, target);
  const double magnitude = std::pow(10.0, std::floor(std::log10(raw)));
  const double normalized = raw / magnitude;
  double nice = 10;
  if (normalized <= 1) {
    nice = 1;
  } else if (normalized <= 2) {
    nice = 2;
  } else if (normalized <= 2.5) {
    nice = 2.5;
  } else if (normalized <= 5) {
    nice = 5;
  }
  return nice * magnitude;
}

// Builds the y axis for values in [min_value, max_value] (both drawable, or
// both NaN when there is nothing to draw). A log axis labels every decade;
// RenderBarChart thins the labels later if they would crowd.
ValueAxis MakeAxis(bool log_scale, double min_value, double max_value,
                   int target_ticks) {
  ValueAxis axis;
  axis.log_scale = log_scale;
  const bool empty = !Drawable(min_value) || !Drawable(max_value);
  if (log_scale) {
    double low = 0;
    double high = 1;
    if (!empty) {
      const double log_min = std::log10(min_value);
      low = std::floor(log_min);
      // Keep the smallest bar visibly taller than the axis.
      if (log_min - low < 0.05) low -= 1;
      high = std::max(low + 1, std::ceil(std::log10(max_value)));
    }
    axis.low = low;
    axis.high = high;
    const bool minor = high - low <= 12;
    for (double exponent = low; exponent <= high; exponent += 1) {
      const double decade = std::pow(10.0, exponent);
      axis.lines.push_back({decade, true, FormatCompact(decade)});
      if (minor && exponent < high) {
        for (int m = 2; m <= 9; ++m) {
          axis.lines.push_back({decade * m, false, ""});
        }
      }
    }
  } else {
    const double top =
        empty ? 1.0
              : std::min(max_value * 1.04, std::numeric_limits<double>::max());
    double step = NiceStep(top, target_ticks);
    double count = std::ceil(top / step - 1e-9);
    // Denormal or huge values can defeat NiceStep(): fall back to one step.
    if (!(step > 0) || !std::isfinite(count) || count < 1 || count > 100) {
      step = top;
      count = 1;
    }
    const int intervals = static_cast<int>(count);
    axis.low = 0;
    axis.high = step * intervals;
    for (int i = 0; i <= intervals; ++i) {
      const double value = step * i;
      axis.lines.push_back({value, true, FormatCompact(value)});
    }
  }
  return axis;
}

// Splits `text` into lines of at most `max_chars` characters, breaking at
// spaces and, for words longer than a line, inside words.
std::vector<std::string> WrapText(std::string_view text, size_t max_chars) {
  max_chars = std::max<size_t>(1, max_chars);
  std::vector<std::string> lines;
  std::string current;
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find(' ', start);
    if (end == std::string_view::npos) end = text.size();
    std::string_view word = text.substr(start, end - start);
    start = end + 1;
    if (word.empty()) continue;
    if (!current.empty() && current.size() + 1 + word.size() <= max_chars) {
      current.push_back(' ');
      current.append(word);
      continue;
    }
    if (!current.empty()) lines.push_back(std::move(current));
    current.clear();
    if (word.size() <= max_chars) {
      current = std::string(word);
      continue;
    }
    // Pieces of a broken word get lines of their own, so that the tail does
    // not read as part of the next word.
    while (!word.empty()) {
      lines.emplace_back(word.substr(0, max_chars));
      word.remove_prefix(std::min(max_chars, word.size()));
    }
  }
  if (!current.empty()) lines.push_back(std::move(current));
  return lines;
}

// The number of characters of the font that fit in `width` pixels.
size_t CharsThatFit(int width, int scale) {
  if (width <= 0) return 0;
  return static_cast<size_t>((width / scale + 1) / kGlyphAdvance);
}

// Group labels, wrapped to fit their slots at the largest scale that keeps
// every label within a few lines.
struct GroupLabels {
  int scale = 1;
  int line_height = kGlyphHeight;
  size_t max_lines = 0;
  std::vector<std::vector<std::string>> lines;  // Per group.
};

GroupLabels LayoutGroupLabels(const std::vector<std::string>& groups,
                              size_t group_count, int slot_width,
                              int max_scale) {
  constexpr size_t kMaxLinesAtLargerScale = 2;
  constexpr size_t kMaxLinesAtScale1 = 4;
  GroupLabels labels;
  for (int scale = max_scale; scale >= 1; --scale) {
    labels.scale = scale;
    labels.line_height = TextHeight(scale) + scale;
    labels.max_lines = 0;
    labels.lines.assign(group_count, {});
    const size_t max_chars = CharsThatFit(slot_width - 4 * scale, scale);
    for (size_t i = 0; i < group_count && i < groups.size(); ++i) {
      labels.lines[i] = WrapText(groups[i], max_chars);
      labels.max_lines = std::max(labels.max_lines, labels.lines[i].size());
    }
    if (labels.max_lines <= kMaxLinesAtLargerScale) return labels;
  }
  for (std::vector<std::string>& lines : labels.lines) {
    if (lines.size() > kMaxLinesAtScale1) lines.resize(kMaxLinesAtScale1);
  }
  labels.max_lines = std::min(labels.max_lines, kMaxLinesAtScale1);
  return labels;
}

// Draws FormatCompact(value) above the bar, or just inside its top when the
// plot has no room above it; skipped when it fits neither way.
void DrawValueLabel(double value, bool vertical, int scale, int bar_x,
                    int bar_width, int bar_top, int plot_top, int plot_bottom,
                    Rgb bar_color, Image* image) {
  const std::string text = FormatCompact(value);
  // The label's extent along the bar and across it.
  const int length = vertical ? TextWidth(text, scale) : kCapHeight * scale;
  const int breadth = vertical ? kCapHeight * scale : TextWidth(text, scale);
  if (breadth > bar_width) return;
  const int gap = 2 * scale;
  const int x = bar_x + (bar_width - breadth) / 2;
  int y = bar_top - gap - length;
  Rgb color = kTextColor;
  if (y <= plot_top) {
    if (plot_bottom - bar_top < length + 2 * gap) return;
    y = bar_top + gap;
    color = ContrastingText(bar_color);
  }
  if (vertical) {
    image->DrawTextVertical(x, y, text, color, scale);
  } else {
    image->DrawText(x, y, text, color, scale);
  }
}

}  // namespace

// -----------------------------------------------------------------------------
// Image
// -----------------------------------------------------------------------------

Image::Image(int width, int height, Rgb background)
    : width_(std::clamp(width, 0, kMaxDimension)),
      height_(std::clamp(height, 0, kMaxDimension)) {
  const size_t pixel_count =
      static_cast<size_t>(width_) * static_cast<size_t>(height_);
  pixels_.resize(pixel_count * 3);
  for (size_t i = 0; i < pixel_count; ++i) {
    pixels_[3 * i] = background[0];
    pixels_[3 * i + 1] = background[1];
    pixels_[3 * i + 2] = background[2];
  }
}

Rgb Image::GetPixel(int x, int y) const {
  const size_t offset = (static_cast<size_t>(y) * static_cast<size_t>(width_) +
                         static_cast<size_t>(x)) *
                        3;
  return {pixels_[offset], pixels_[offset + 1], pixels_[offset + 2]};
}

void Image::SetPixel(int x, int y, Rgb color) {
  if (x < 0 || y < 0 || x >= width_ || y >= height_) return;
  const size_t offset = (static_cast<size_t>(y) * static_cast<size_t>(width_) +
                         static_cast<size_t>(x)) *
                        3;
  pixels_[offset] = color[0];
  pixels_[offset + 1] = color[1];
  pixels_[offset + 2] = color[2];
}

void Image::FillRect(int x, int y, int w, int h, Rgb color) {
  if (w <= 0 || h <= 0) return;
  // 64-bit so that x + w cannot overflow.
  const int64_t x0 = std::max<int64_t>(x, 0);
  const int64_t y0 = std::max<int64_t>(y, 0);
  const int64_t x1 = std::min<int64_t>(int64_t{x} + w, width_);
  const int64_t y1 = std::min<int64_t>(int64_t{y} + h, height_);
  for (int64_t row = y0; row < y1; ++row) {
    uint8_t* pixel = pixels_.data() + (row * width_ + x0) * 3;
    for (int64_t column = x0; column < x1; ++column) {
      pixel[0] = color[0];
      pixel[1] = color[1];
      pixel[2] = color[2];
      pixel += 3;
    }
  }
}

void Image::DrawRect(int x, int y, int w, int h, Rgb color) {
  if (w <= 0 || h <= 0) return;
  FillRect(x, y, w, 1, color);
  FillRect(x, y + h - 1, w, 1, color);
  FillRect(x, y, 1, h, color);
  FillRect(x + w - 1, y, 1, h, color);
}

void Image::DrawLine(int x0, int y0, int x1, int y1, Rgb color, int thickness) {
  thickness = std::max(1, thickness);
  if (y0 == y1) {
    FillRect(std::min(x0, x1), y0, std::abs(x1 - x0) + 1, thickness, color);
    return;
  }
  if (x0 == x1) {
    FillRect(x0, std::min(y0, y1), thickness, std::abs(y1 - y0) + 1, color);
    return;
  }
  // Bresenham's line algorithm, in 64 bits against overflow.
  int64_t x = x0;
  int64_t y = y0;
  const int64_t dx = std::abs(int64_t{x1} - x0);
  const int64_t dy = -std::abs(int64_t{y1} - y0);
  const int64_t step_x = x0 < x1 ? 1 : -1;
  const int64_t step_y = y0 < y1 ? 1 : -1;
  int64_t error = dx + dy;
  while (true) {
    SetPixel(static_cast<int>(x), static_cast<int>(y), color);
    if (x == x1 && y == y1) break;
    const int64_t doubled = 2 * error;
    if (doubled >= dy) {
      error += dy;
      x += step_x;
    }
    if (doubled <= dx) {
      error += dx;
      y += step_y;
    }
  }
}

void Image::DrawText(int x, int y, std::string_view text, Rgb color,
                     int scale) {
  scale = std::max(1, scale);
  ForEachTextPixel(text, [&](int u, int v) {
    FillRect(x + u * scale, y + v * scale, scale, scale, color);
  });
}

void Image::DrawTextVertical(int x, int y, std::string_view text, Rgb color,
                             int scale) {
  scale = std::max(1, scale);
  const int length = TextWidth(text);
  ForEachTextPixel(text, [&](int u, int v) {
    FillRect(x + v * scale, y + (length - 1 - u) * scale, scale, scale, color);
  });
}

int TextWidth(std::string_view text, int scale) {
  if (text.empty()) return 0;
  return (static_cast<int>(text.size()) * kGlyphAdvance -
          (kGlyphAdvance - kGlyphWidth)) *
         std::max(1, scale);
}

int TextHeight(int scale) { return kGlyphHeight * std::max(1, scale); }

// -----------------------------------------------------------------------------
// Checksums and PNG
// -----------------------------------------------------------------------------

uint32_t Crc32(std::string_view data) {
  uint32_t crc = 0xFFFFFFFFu;
  for (const char c : data) {
    crc = kCrc32Table[(crc ^ static_cast<uint8_t>(c)) & 0xFF] ^ (crc >> 8);
  }
  return crc ^ 0xFFFFFFFFu;
}

uint32_t Adler32(std::string_view data) {
  constexpr uint32_t kModulus = 65521;
  // The most bytes summed before `b` could overflow 32 bits (RFC 1950's
  // NMAX), so the modulus is taken once per chunk.
  constexpr size_t kChunk = 5552;
  uint32_t a = 1;
  uint32_t b = 0;
  while (!data.empty()) {
    const size_t length = std::min(kChunk, data.size());
    for (size_t i = 0; i < length; ++i) {
      a += static_cast<uint8_t>(data[i]);
      b += a;
    }
    a %= kModulus;
    b %= kModulus;
    data.remove_prefix(length);
  }
  return (b << 16) | a;
}

std::string EncodePng(const Image& image) {
  if (image.empty()) return "";
  const size_t width = static_cast<size_t>(image.width());
  const size_t height = static_cast<size_t>(image.height());
  const size_t row_bytes = width * 3;

  std::string header;
  AppendBigEndian32(static_cast<uint32_t>(width), &header);
  AppendBigEndian32(static_cast<uint32_t>(height), &header);
  header.push_back(8);  // Bit depth.
  header.push_back(2);  // Color type: RGB.
  header.push_back(0);  // Compression: deflate.
  header.push_back(0);  // Filter method: adaptive (each row says type 0).
  header.push_back(0);  // Interlace: none.

  std::string scanlines;
  scanlines.reserve(height * (row_bytes + 1));
  const char* pixels = reinterpret_cast<const char*>(image.pixels().data());
  for (size_t row = 0; row < height; ++row) {
    scanlines.push_back(0);  // Filter type: none.
    scanlines.append(pixels + row * row_bytes, row_bytes);
  }

  static constexpr char kSignature[] = {'\x89', 'P',  'N',    'G',
                                        '\r',   '\n', '\x1a', '\n'};
  std::string png(kSignature, sizeof(kSignature));
  AppendChunk("IHDR", header, &png);
  AppendChunk("IDAT", ZlibStore(scanlines), &png);
  AppendChunk("IEND", "", &png);
  return png;
}

absl::Status WritePng(const std::string& path, const Image& image) {
  if (image.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot write an empty image (", image.width(), "x",
                     image.height(), ") as PNG to ", path));
  }
  const std::string png = EncodePng(image);
  std::FILE* file = std::fopen(path.c_str(), "wb");
  if (file == nullptr) return FileError("open", path, errno);
  const size_t written = std::fwrite(png.data(), 1, png.size(), file);
  const int write_error = errno;
  if (written != png.size()) {
    std::fclose(file);
    return FileError("write", path, write_error);
  }
  if (std::fclose(file) != 0) return FileError("close", path, errno);
  return absl::OkStatus();
}

// -----------------------------------------------------------------------------
// Bar chart
// -----------------------------------------------------------------------------

Rgb SeriesColor(size_t index) {
  // Okabe & Ito's colorblind-safe palette, with its yellow (too pale on
  // white) replaced by a dark gray, black last.
  static constexpr Rgb kPalette[] = {
      {0, 114, 178},    // Blue.
      {230, 159, 0},    // Orange.
      {0, 158, 115},    // Bluish green.
      {213, 94, 0},     // Vermillion.
      {204, 121, 167},  // Reddish purple.
      {86, 180, 233},   // Sky blue.
      {100, 100, 100},  // Gray.
      {30, 30, 30},     // Black.
  };
  return kPalette[index % (sizeof(kPalette) / sizeof(kPalette[0]))];
}

std::string FormatCompact(double value) {
  if (std::isnan(value)) return "nan";
  if (std::isinf(value)) return value > 0 ? "inf" : "-inf";
  static constexpr const char* kSuffixes[] = {"", "k", "M", "G", "T"};
  constexpr int kLastSuffix = 4;
  double magnitude = std::fabs(value);
  int suffix = 0;
  // 999.5 rather than 1000: "%.3g" would round 999.7 up to "1e+03".
  while (magnitude >= 999.5 && suffix < kLastSuffix) {
    magnitude /= 1000;
    ++suffix;
  }
  return absl::StrFormat("%s%.3g%s", value < 0 ? "-" : "", magnitude,
                         kSuffixes[suffix]);
}

Image RenderBarChart(const BarChart& chart) {
  Image image(chart.width, chart.height, kWhite);
  const int width = image.width();
  const int height = image.height();
  if (image.empty()) return image;

  // Sizes scale with the chart: a 1400 x 700 chart uses 2x text.
  const int base = width >= 900 && height >= 450 ? 2 : 1;
  const int text_scale = base;
  const int pad = 8 + 4 * base;
  int title_scale = base + 1;
  while (title_scale > 1 &&
         TextWidth(chart.title, title_scale) > width - 2 * pad) {
    --title_scale;
  }

  // Groups and the range of drawable values.
  size_t group_count = chart.groups.size();
  double min_value = std::nan("");
  double max_value = std::nan("");
  for (const BarSeries& series : chart.series) {
    group_count = std::max(group_count, series.values.size());
    for (const double value : series.values) {
      if (!Drawable(value)) continue;
      if (!(value >= min_value)) min_value = value;  // Also replaces NaN.
      if (!(value <= max_value)) max_value = value;
    }
  }
  const bool has_data = Drawable(min_value);

  // Title.
  int y = pad;
  if (!chart.title.empty()) {
    const int title_width = TextWidth(chart.title, title_scale);
    image.DrawText(std::max(pad, (width - title_width) / 2), y, chart.title,
                   kTitleColor, title_scale);
    y += TextHeight(title_scale) + 4 * base;
  }

  // Legend: rows of [box] name entries, each row centered.
  if (!chart.series.empty()) {
    const int box = kCapHeight * text_scale;
    const int box_gap = 3 * text_scale;
    const int entry_gap = 12 * text_scale;
    const int row_height = TextHeight(text_scale) + 3 * base;
    const int available = width - 2 * pad;
    size_t first = 0;
    while (first < chart.series.size()) {
      // Take as many entries as fit (at least one) into this row.
      int row_width = 0;
      size_t last = first;
      while (last < chart.series.size()) {
        const int entry =
            box + box_gap + TextWidth(chart.series[last].name, text_scale);
        const int needed =
            row_width == 0 ? entry : row_width + entry_gap + entry;
        if (row_width != 0 && needed > available) break;
        row_width = needed;
        ++last;
      }
      int x = std::max(pad, (width - row_width) / 2);
      for (size_t i = first; i < last; ++i) {
        const BarSeries& series = chart.series[i];
        image.FillRect(x, y, box, box, series.color);
        image.DrawRect(x, y, box, box, Darken(series.color, 0.3));
        x += box + box_gap;
        image.DrawText(x, y, series.name, kTextColor, text_scale);
        x += TextWidth(series.name, text_scale) + entry_gap;
      }
      y += row_height;
      first = last;
    }
  }
  // Room for the top tick label, which is centered on the top grid line.
  const int plot_top = y + 4 * base + kCapHeight * text_scale / 2;

  // The y axis. The linear tick count depends on the plot height, estimated
  // here with one line of group labels.
  const int estimated_plot_height =
      height - pad - plot_top - 2 * TextHeight(text_scale);
  ValueAxis axis =
      MakeAxis(chart.log_scale, min_value, max_value,
               std::clamp(estimated_plot_height / (20 * text_scale), 2, 8));
  int tick_label_width = 0;
  for (const ValueAxis::Line& line : axis.lines) {
    tick_label_width =
        std::max(tick_label_width, TextWidth(line.label, text_scale));
  }
  const int tick_length = 2 + 2 * base;
  const int y_label_width =
      chart.y_label.empty() ? 0 : TextHeight(text_scale) + 4 * base;
  const int plot_left =
      pad + y_label_width + tick_label_width + tick_length + 2 * base;
  const int plot_right = width - pad - 4 * base;  // Exclusive.
  const int plot_width = std::max(1, plot_right - plot_left);

  // Group labels decide how much room the bottom needs.
  const double slot = static_cast<double>(plot_width) /
                      static_cast<double>(std::max<size_t>(1, group_count));
  const GroupLabels labels = LayoutGroupLabels(
      chart.groups, group_count, static_cast<int>(slot), text_scale);
  const int label_top_gap = tick_length + 3 * base;
  const int plot_bottom =
      height - pad -
      (labels.max_lines == 0
           ? 0
           : label_top_gap +
                 static_cast<int>(labels.max_lines) * labels.line_height);
  const int plot_height = std::max(1, plot_bottom - plot_top);
  auto value_y = [&](double value) {
    const double fraction = std::clamp(axis.Fraction(value), 0.0, 1.0);
    return plot_bottom - static_cast<int>(std::lround(fraction * plot_height));
  };

  // Grid lines, minor first so majors draw over them.
  const int decade_pixels =
      static_cast<int>(plot_height / std::max(1.0, axis.high - axis.low));
  for (const ValueAxis::Line& line : axis.lines) {
    if (line.major || decade_pixels < 40) continue;
    image.DrawLine(plot_left, value_y(line.value), plot_right - 1,
                   value_y(line.value), kMinorGridColor);
  }
  for (const ValueAxis::Line& line : axis.lines) {
    if (!line.major) continue;
    image.DrawLine(plot_left, value_y(line.value), plot_right - 1,
                   value_y(line.value), kMajorGridColor);
  }

  // Bars, centered in each group's slot with a quarter of the slot as the
  // gap between groups.
  const size_t series_count = chart.series.size();
  if (series_count > 0 && group_count > 0) {
    const int bar_step = std::max(
        1, static_cast<int>(slot * 0.75 / static_cast<double>(series_count)));
    const int bar_gap = bar_step >= 10 ? 1 : 0;
    const int bar_width = bar_step - bar_gap;
    const int group_width = bar_step * static_cast<int>(series_count) - bar_gap;
    // Value labels run across the bars at the text scale if every one fits,
    // else at scale 1, else along the bars at scale 1.
    int widest_value_label = 0;
    for (const BarSeries& series : chart.series) {
      for (size_t group = 0; group < group_count; ++group) {
        if (group < series.values.size() && Drawable(series.values[group])) {
          widest_value_label =
              std::max(widest_value_label,
                       TextWidth(FormatCompact(series.values[group])));
        }
      }
    }
    const int value_scale =
        widest_value_label * text_scale <= bar_width ? text_scale : 1;
    const bool vertical_labels = widest_value_label > bar_width;
    for (size_t group = 0; group < group_count; ++group) {
      const int group_left =
          plot_left +
          static_cast<int>(std::lround(static_cast<double>(group) * slot +
                                       (slot - group_width) / 2));
      for (size_t s = 0; s < series_count; ++s) {
        const BarSeries& series = chart.series[s];
        if (group >= series.values.size()) continue;
        const double value = series.values[group];
        if (!Drawable(value)) continue;
        const int bar_x = group_left + static_cast<int>(s) * bar_step;
        // At least 2 pixels tall, so that every bar shows.
        const int bar_top = std::min(value_y(value), plot_bottom - 2);
        image.FillRect(bar_x, bar_top, bar_width, plot_bottom - bar_top,
                       series.color);
        if (bar_width >= 6) {
          image.DrawRect(bar_x, bar_top, bar_width, plot_bottom - bar_top + 1,
                         Darken(series.color, 0.25));
        }
        DrawValueLabel(value, vertical_labels, value_scale, bar_x, bar_width,
                       bar_top, plot_top, plot_bottom, series.color, &image);
      }
    }
  }
  if (!has_data) {
    const std::string_view message = "no data";
    image.DrawText(
        plot_left + (plot_width - TextWidth(message, text_scale)) / 2,
        plot_top + (plot_height - TextHeight(text_scale)) / 2, message,
        kMutedTextColor, text_scale);
  }

  // Axes, tick marks and tick labels. Log labels are thinned to every k-th
  // decade when they would be closer than two text lines.
  image.DrawLine(plot_left - 1, plot_top, plot_left - 1, plot_bottom,
                 kAxisColor);
  image.DrawLine(plot_left - 1, plot_bottom, plot_right - 1, plot_bottom,
                 kAxisColor);
  int label_stride = 1;
  if (axis.log_scale) {
    const int min_spacing = 2 * TextHeight(text_scale);
    while (decade_pixels * label_stride < min_spacing && label_stride < 1000) {
      ++label_stride;
    }
  }
  int major_index = 0;
  for (const ValueAxis::Line& line : axis.lines) {
    if (!line.major) continue;
    const bool labelled = major_index++ % label_stride == 0;
    const int line_y = value_y(line.value);
    image.DrawLine(plot_left - 1 - tick_length, line_y, plot_left - 2, line_y,
                   kAxisColor);
    if (!labelled) continue;
    const int label_width = TextWidth(line.label, text_scale);
    image.DrawText(plot_left - 1 - tick_length - 2 * base - label_width,
                   line_y - kCapHeight * text_scale / 2, line.label, kTextColor,
                   text_scale);
  }

  // Group separators on the x axis and the group labels under it.
  for (size_t group = 0; group <= group_count && group_count > 1; ++group) {
    const int x =
        plot_left +
        static_cast<int>(std::lround(static_cast<double>(group) * slot));
    image.DrawLine(std::min(x, plot_right - 1), plot_bottom,
                   std::min(x, plot_right - 1), plot_bottom + tick_length,
                   kAxisColor);
  }
  for (size_t group = 0; group < labels.lines.size(); ++group) {
    const double center = plot_left + (static_cast<double>(group) + 0.5) * slot;
    int line_y = plot_bottom + label_top_gap;
    for (const std::string& line : labels.lines[group]) {
      const int line_width = TextWidth(line, labels.scale);
      image.DrawText(static_cast<int>(std::lround(center - line_width / 2.0)),
                     line_y, line, kTextColor, labels.scale);
      line_y += labels.line_height;
    }
  }

  // The y label, vertical, centered on the plot.
  if (!chart.y_label.empty()) {
    const int label_length = TextWidth(chart.y_label, text_scale);
    image.DrawTextVertical(
        pad, std::max(0, plot_top + (plot_height - label_length) / 2),
        chart.y_label, kTextColor, text_scale);
  }
  return image;
}

absl::Status WriteBarChartPng(const std::string& path, const BarChart& chart) {
  return WritePng(path, RenderBarChart(chart));
}

}  // namespace lsmscan
