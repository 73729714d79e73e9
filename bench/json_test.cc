#include "lsmscan/bench/json.h"

#include <cmath>
#include <string>

#include "gtest/gtest.h"

namespace lsmscan {
namespace bench {
namespace {

TEST(JsonStringTest, EscapesQuoteAndReverseSolidus) {
  EXPECT_EQ(JsonString("a\"b\\c"), "\"a\\\"b\\\\c\"");
}

TEST(JsonStringTest, EscapesEveryControlCharacter) {
  // RFC 8259 section 7: U+0000 through U+001F must be escaped.
  for (int c = 0; c < 0x20; c++) {
    const std::string escaped =
        JsonString(std::string(1, static_cast<char>(c)));
    SCOPED_TRACE(c);
    ASSERT_GE(escaped.size(), 4u);
    EXPECT_EQ(escaped.front(), '"');
    EXPECT_EQ(escaped.back(), '"');
    EXPECT_EQ(escaped[1], '\\');
    for (char out : escaped) {
      EXPECT_GE(static_cast<unsigned char>(out), 0x20) << "raw control byte";
    }
  }
  EXPECT_EQ(JsonString(std::string("\0", 1)), "\"\\u0000\"");
  EXPECT_EQ(JsonString("\x1f"), "\"\\u001f\"");
  EXPECT_EQ(JsonString("\b\f\n\r\t"), "\"\\b\\f\\n\\r\\t\"");
}

TEST(JsonStringTest, PassesOtherBytesThrough) {
  EXPECT_EQ(JsonString("x/y \x7f caf\xC3\xA9"), "\"x/y \x7f caf\xC3\xA9\"");
}

TEST(JsonNumberTest, NonFiniteIsNull) {
  EXPECT_EQ(JsonNumber(std::nan("")), "null");
  EXPECT_EQ(JsonNumber(INFINITY), "null");
  EXPECT_EQ(JsonNumber(1.5), "1.5");
}

}  // namespace
}  // namespace bench
}  // namespace lsmscan
