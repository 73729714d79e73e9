// File: tools/lsmscan/output.h
// -----------------------------------------------------------------------------
//
// How lsmscan prints rows of values: an aligned table for people, JSON (one
// array of objects, written by nlohmann::json, so every string is escaped
// correctly) or CSV (RFC 4180 quoting) for programs. Rows are streamed:
// nothing is held in memory but the current row. Also the byte helpers the
// commands share: hex strings, hex dumps, printable text.

#ifndef LSMSCAN_TOOLS_LSMSCAN_OUTPUT_H_
#define LSMSCAN_TOOLS_LSMSCAN_OUTPUT_H_

#include <cstddef>
#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace lsmscan {
namespace tool {

// OutputFormat
//
// How rows are printed: --format=table|json|csv.
enum class OutputFormat : uint8_t { kTable, kJson, kCsv };

// ParseOutputFormat()
//
// "table", "json" or "csv"; InvalidArgument otherwise.
absl::StatusOr<OutputFormat> ParseOutputFormat(absl::string_view text);

// Cell
//
// One printed field. A `number` is written bare in JSON (its text must be a
// JSON number); everything else is a string.
struct Cell {
  std::string text;
  bool number = false;
};

// Column
//
// A column's name and, for the table format, its minimum width (numbers are
// right-aligned to it, text left-aligned).
struct Column {
  std::string name;
  size_t width = 0;
  bool right_aligned = false;
};

// RowWriter
//
// Writes a header (table, CSV), rows, and a trailer (JSON's closing
// bracket) to `out`. Finish() or Abandon() must be called once after the
// last row. In a table, control bytes of a cell are escaped
// (EscapeControlBytes); in JSON, bytes that are not UTF-8 become U+FFFD.
class RowWriter {
 public:
  // Writes the header: the column names (table, CSV) or the opening bracket
  // (JSON). `out` must outlive the writer.
  RowWriter(std::ostream* out, OutputFormat format,
            std::vector<Column> columns);

  // Writes one row. REQUIRES: cells.size() == the column count.
  void Row(const std::vector<Cell>& cells);

  // Ends the output (JSON: closes the array, even when no row was written).
  void Finish();

  // Ends the output of a listing that failed part way (the caller reports
  // the error): JSON's array is left open, so that what was written never
  // parses as a complete document. Instead of Finish().
  void Abandon();

  uint64_t row_count() const { return row_count_; }

 private:
  std::ostream* out_;
  OutputFormat format_;
  std::vector<Column> columns_;
  uint64_t row_count_ = 0;
  bool finished_ = false;
};

// CsvField()
//
// `text` as one CSV field: quoted (with quotes doubled) when it holds a
// comma, a quote, a carriage return or a newline.
std::string CsvField(absl::string_view text);

// HexString()
//
// Two lowercase hex digits per byte, no separators.
std::string HexString(const void* data, size_t size);

// HexDump()
//
// `size` bytes as lines of 16: "offset  hex bytes  |printable|".
std::string HexDump(const std::byte* data, size_t size);

// Printable()
//
// `text` with every byte outside printable ASCII written as \xNN, so names
// read from a damaged file cannot move the cursor or break a line.
std::string Printable(absl::string_view text);

// EscapeControlBytes()
//
// `text` with each control byte (below 0x20, and 0x7f) written as \xNN,
// so that a value printed for a terminal cannot break a line or move the
// cursor; every other byte (UTF-8 text included) is kept.
std::string EscapeControlBytes(absl::string_view text);

// WithThousands()
//
// 1234567 -> "1,234,567".
std::string WithThousands(uint64_t value);

}  // namespace tool
}  // namespace lsmscan

#endif  // LSMSCAN_TOOLS_LSMSCAN_OUTPUT_H_
