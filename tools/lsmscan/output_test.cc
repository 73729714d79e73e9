// Unit tests of the tool's output: CSV quoting, JSON escaping (parsed back),
// aligned tables, hex helpers, printable names, progress lines.

#include "lsmscan/tools/lsmscan/output.h"

#include <sstream>
#include <string>

#include "gtest/gtest.h"
#include "lsmscan/tools/lsmscan/progress.h"
#include "nlohmann/json.hpp"

namespace lsmscan {
namespace tool {
namespace {

TEST(OutputTest, CsvFieldsAreQuotedOnlyWhenNeeded) {
  EXPECT_EQ(CsvField("plain"), "plain");
  EXPECT_EQ(CsvField(""), "");
  EXPECT_EQ(CsvField("a,b"), "\"a,b\"");
  EXPECT_EQ(CsvField("say \"hi\""), "\"say \"\"hi\"\"\"");
  EXPECT_EQ(CsvField("two\nlines"), "\"two\nlines\"");
  EXPECT_EQ(CsvField("cr\r"), "\"cr\r\"");
}

TEST(OutputTest, JsonRowsParseBackWithEveryCharacter) {
  std::string nasty = "quote\" backslash\\ newline\n tab\t nul";
  nasty.push_back('\0');
  nasty += " \x01 end";
  std::ostringstream out;
  RowWriter rows(&out, OutputFormat::kJson, {{"key"}, {"text"}});
  rows.Row({{"18446744073709551615", true}, {nasty}});
  rows.Row({{"0", true}, {""}});
  rows.Finish();
  const nlohmann::json parsed = nlohmann::json::parse(out.str());
  ASSERT_EQ(parsed.size(), 2u);
  EXPECT_EQ(parsed[0]["key"].get<uint64_t>(), 18446744073709551615ull);
  EXPECT_EQ(parsed[0]["text"].get<std::string>(), nasty);
  EXPECT_EQ(parsed[1]["text"].get<std::string>(), "");
  std::ostringstream empty;
  RowWriter none(&empty, OutputFormat::kJson, {{"key"}});
  none.Finish();
  EXPECT_EQ(empty.str(), "[]\n");
  EXPECT_TRUE(nlohmann::json::parse(empty.str()).empty());
}

// Text a schema's FormatValue returns need not be UTF-8 (a Latin-1 name, a
// damaged file): JSON still comes out, valid, with U+FFFD for each byte
// that is not UTF-8, instead of an exception that aborts the tool.
TEST(OutputTest, JsonRowsWithBytesThatAreNotUtf8StayValid) {
  std::ostringstream out;
  RowWriter rows(&out, OutputFormat::kJson, {{"key"}, {"text"}});
  rows.Row({{"1", true}, {"caf\xc3\xa9 latin\xe9 \xff"}});
  rows.Finish();
  const nlohmann::json parsed = nlohmann::json::parse(out.str());
  EXPECT_EQ(parsed[0]["text"].get<std::string>(),
            "caf\xc3\xa9 latin\xef\xbf\xbd \xef\xbf\xbd");
}

// A table is for a terminal: control bytes in a cell (a newline, an escape
// sequence) are written as \xNN, so they cannot break a row or move the
// cursor; UTF-8 text stays as it is.
TEST(OutputTest, TableCellsEscapeControlBytes) {
  std::ostringstream out;
  RowWriter rows(&out, OutputFormat::kTable, {{"key", 3, true}, {"text"}});
  rows.Row({{"1", true}, {"two\nlines \x1b[2J caf\xc3\xa9\x7f"}});
  rows.Finish();
  EXPECT_EQ(out.str(),
            "key  text\n"
            "  1  two\\x0alines \\x1b[2J caf\xc3\xa9\\x7f\n");
}

TEST(OutputTest, TablesAlignColumns) {
  std::ostringstream out;
  RowWriter rows(&out, OutputFormat::kTable,
                 {{"key", 4, true}, {"name", 0, false}});
  rows.Row({{"7", true}, {"seven"}});
  rows.Row({{"1234", true}, {"x"}});
  rows.Finish();
  EXPECT_EQ(out.str(),
            " key  name\n"
            "   7  seven\n"
            "1234  x\n");
  EXPECT_EQ(rows.row_count(), 2u);
}

TEST(OutputTest, CsvHasAHeader) {
  std::ostringstream out;
  RowWriter rows(&out, OutputFormat::kCsv, {{"key"}, {"a,b"}});
  rows.Row({{"1", true}, {"x"}});
  rows.Finish();
  EXPECT_EQ(out.str(), "key,\"a,b\"\n1,x\n");
}

TEST(OutputTest, ParseOutputFormat) {
  EXPECT_EQ(*ParseOutputFormat("json"), OutputFormat::kJson);
  EXPECT_EQ(*ParseOutputFormat("csv"), OutputFormat::kCsv);
  EXPECT_EQ(*ParseOutputFormat("table"), OutputFormat::kTable);
  EXPECT_FALSE(ParseOutputFormat("xml").ok());
}

TEST(OutputTest, HexHelpers) {
  const unsigned char bytes[] = {0x00, 0x4c, 0xff, 0x10};
  EXPECT_EQ(HexString(bytes, 4), "004cff10");
  std::byte block[20];
  for (int i = 0; i < 20; i++) block[i] = static_cast<std::byte>('A' + i);
  EXPECT_EQ(HexDump(block, 20),
            "00000000  41 42 43 44 45 46 47 48  49 4a 4b 4c 4d 4e 4f 50  "
            "|ABCDEFGHIJKLMNOP|\n"
            "00000010  51 52 53 54                                       "
            "|QRST|\n");
}

TEST(OutputTest, PrintableEscapesControlBytes) {
  EXPECT_EQ(Printable("lsmscan.record32"), "lsmscan.record32");
  EXPECT_EQ(Printable(std::string("a\nb\x1b[2J\\", 8)), "a\\x0ab\\x1b[2J\\x5c");
  EXPECT_EQ(WithThousands(0), "0");
  EXPECT_EQ(WithThousands(999), "999");
  EXPECT_EQ(WithThousands(1234567), "1,234,567");
}

TEST(ProgressTest, PlainLinesEveryTenPercent) {
  std::ostringstream out;
  Progress progress(&out, "verify", /*enabled=*/true, /*terminal=*/false);
  progress.set_total(200);
  for (uint64_t done = 1; done <= 200; done++) progress.Update(done);
  progress.Finish();
  std::string expected;
  for (int percent = 0; percent <= 100; percent += 10) {
    expected += "verify: " + std::to_string(percent) + "% (" +
                std::to_string(percent * 2 == 0 ? 1 : percent * 2) +
                " / 200 blocks)\n";
  }
  EXPECT_EQ(out.str(), expected);
  std::ostringstream off;
  Progress disabled(&off, "verify", false, true);
  disabled.set_total(10);
  disabled.Update(5);
  disabled.Finish();
  EXPECT_EQ(off.str(), "");
}

}  // namespace
}  // namespace tool
}  // namespace lsmscan
