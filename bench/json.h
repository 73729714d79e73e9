// File: bench/json.h
// -----------------------------------------------------------------------------
//
// The two pieces of JSON //bench:compare's results.json needs: strings
// escaped completely as RFC 8259 section 7 requires (quotation mark,
// reverse solidus and every control character U+0000..U+001F; other bytes,
// UTF-8 included, pass through), and numbers (non-finite ones as null,
// which JSON has no number for).

#ifndef LSMSCAN_BENCH_JSON_H_
#define LSMSCAN_BENCH_JSON_H_

#include <cmath>
#include <string>
#include <string_view>

#include "absl/strings/str_format.h"

namespace lsmscan {
namespace bench {

// JsonString()
//
// `text` as a JSON string, quotes included.
inline std::string JsonString(std::string_view text) {
  std::string out;
  out.reserve(text.size() + 2);
  out.push_back('"');
  for (const char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (byte < 0x20) {
          out += absl::StrFormat("\\u%04x", byte);
        } else {
          out.push_back(c);
        }
    }
  }
  out.push_back('"');
  return out;
}

// JsonNumber()
//
// Six significant digits; null for NaN and infinities.
inline std::string JsonNumber(double value) {
  if (!std::isfinite(value)) return "null";
  return absl::StrFormat("%.6g", value);
}

}  // namespace bench
}  // namespace lsmscan

#endif  // LSMSCAN_BENCH_JSON_H_
