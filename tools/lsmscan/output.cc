#include "lsmscan/tools/lsmscan/output.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "lsmscan/storage/base/assert.h"
#include "nlohmann/json.hpp"

namespace lsmscan {
namespace tool {

absl::StatusOr<OutputFormat> ParseOutputFormat(absl::string_view text) {
  if (text == "table") return OutputFormat::kTable;
  if (text == "json") return OutputFormat::kJson;
  if (text == "csv") return OutputFormat::kCsv;
  return absl::InvalidArgumentError(absl::StrCat(
      "--format takes table, json or csv, got \"", Printable(text), "\""));
}

namespace {

std::string Pad(const std::string& text, size_t width, bool right) {
  if (text.size() >= width) return text;
  const std::string fill(width - text.size(), ' ');
  return right ? fill + text : text + fill;
}

}  // namespace

RowWriter::RowWriter(std::ostream* out, OutputFormat format,
                     std::vector<Column> columns)
    : out_(out), format_(format), columns_(std::move(columns)) {
  for (Column& column : columns_) {
    column.width = std::max(column.width, column.name.size());
  }
  switch (format_) {
    case OutputFormat::kTable: {
      std::vector<Cell> header;
      for (const Column& column : columns_) header.push_back({column.name});
      Row(header);
      row_count_ = 0;
      break;
    }
    case OutputFormat::kCsv: {
      std::string line;
      for (size_t i = 0; i < columns_.size(); i++) {
        absl::StrAppend(&line, i == 0 ? "" : ",", CsvField(columns_[i].name));
      }
      *out_ << line << "\n";
      break;
    }
    case OutputFormat::kJson:
      *out_ << "[";
      break;
  }
}

void RowWriter::Row(const std::vector<Cell>& cells) {
  LSMSCAN_ASSERT(cells.size() == columns_.size());
  LSMSCAN_ASSERT(!finished_);
  std::string line;
  switch (format_) {
    case OutputFormat::kTable:
      for (size_t i = 0; i < cells.size(); i++) {
        const bool last = i + 1 == cells.size();
        const Column& column = columns_[i];
        std::string text = EscapeControlBytes(cells[i].text);
        if (!(last && !column.right_aligned)) {
          text = Pad(text, column.width, column.right_aligned);
        }
        absl::StrAppend(&line, i == 0 ? "" : "  ", text);
      }
      break;
    case OutputFormat::kCsv:
      for (size_t i = 0; i < cells.size(); i++) {
        absl::StrAppend(&line, i == 0 ? "" : ",", CsvField(cells[i].text));
      }
      break;
    case OutputFormat::kJson: {
      nlohmann::ordered_json object = nlohmann::ordered_json::object();
      for (size_t i = 0; i < cells.size(); i++) {
        if (cells[i].number) {
          object[columns_[i].name] =
              nlohmann::ordered_json::parse(cells[i].text);
        } else {
          object[columns_[i].name] = cells[i].text;
        }
      }
      // Bytes that are not UTF-8 become U+FFFD: JSON strings are Unicode,
      // and the strict default would throw (and abort the tool).
      line = absl::StrCat(
          row_count_ == 0 ? "\n" : ",\n",
          object.dump(-1, ' ', false,
                      nlohmann::ordered_json::error_handler_t::replace));
      *out_ << line;
      row_count_++;
      return;
    }
  }
  *out_ << line << "\n";
  row_count_++;
}

void RowWriter::Finish() {
  LSMSCAN_ASSERT(!finished_);
  finished_ = true;
  if (format_ == OutputFormat::kJson) {
    *out_ << (row_count_ == 0 ? "]\n" : "\n]\n");
  }
  out_->flush();
}

void RowWriter::Abandon() {
  LSMSCAN_ASSERT(!finished_);
  finished_ = true;
  if (format_ == OutputFormat::kJson) *out_ << "\n";
  out_->flush();
}

std::string CsvField(absl::string_view text) {
  if (text.find_first_of(",\"\r\n") == absl::string_view::npos) {
    return std::string(text);
  }
  std::string quoted = "\"";
  for (char c : text) {
    if (c == '"') quoted += '"';
    quoted += c;
  }
  quoted += '"';
  return quoted;
}

std::string HexString(const void* data, size_t size) {
  static constexpr char kDigits[] = "0123456789abcdef";
  const auto* bytes = static_cast<const uint8_t*>(data);
  std::string hex(2 * size, '0');
  for (size_t i = 0; i < size; i++) {
    hex[2 * i] = kDigits[bytes[i] >> 4];
    hex[2 * i + 1] = kDigits[bytes[i] & 15];
  }
  return hex;
}

std::string HexDump(const std::byte* data, size_t size) {
  std::string dump;
  for (size_t offset = 0; offset < size; offset += 16) {
    const size_t n = std::min<size_t>(16, size - offset);
    absl::StrAppendFormat(&dump, "%08x ", offset);
    std::string text;
    for (size_t i = 0; i < 16; i++) {
      if (i == 8) dump += ' ';
      if (i < n) {
        const auto byte = static_cast<uint8_t>(data[offset + i]);
        absl::StrAppendFormat(&dump, " %02x", byte);
        text += (byte >= 0x20 && byte < 0x7f) ? static_cast<char>(byte) : '.';
      } else {
        dump += "   ";
      }
    }
    absl::StrAppend(&dump, "  |", text, "|\n");
  }
  return dump;
}

std::string Printable(absl::string_view text) {
  std::string out;
  for (char c : text) {
    const auto byte = static_cast<uint8_t>(c);
    if (byte >= 0x20 && byte < 0x7f && c != '\\') {
      out += c;
    } else {
      absl::StrAppendFormat(&out, "\\x%02x", byte);
    }
  }
  return out;
}

std::string EscapeControlBytes(absl::string_view text) {
  std::string out;
  for (char c : text) {
    const auto byte = static_cast<uint8_t>(c);
    if (byte < 0x20 || byte == 0x7f) {
      absl::StrAppendFormat(&out, "\\x%02x", byte);
    } else {
      out += c;
    }
  }
  return out;
}

std::string WithThousands(uint64_t value) {
  std::string digits = absl::StrCat(value);
  std::string out;
  for (size_t i = 0; i < digits.size(); i++) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

}  // namespace tool
}  // namespace lsmscan
