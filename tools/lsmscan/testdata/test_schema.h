// File: tools/lsmscan/testdata/test_schema.h
// -----------------------------------------------------------------------------
//
// A schema of the tests' own, as a user would write one, to check that the
// lsmscan_tool() macro builds the tool with it: 16-byte struct keys, and
// the optional hooks of tools/lsmscan/schema_format.h.

#ifndef LSMSCAN_TOOLS_LSMSCAN_TESTDATA_TEST_SCHEMA_H_
#define LSMSCAN_TOOLS_LSMSCAN_TESTDATA_TEST_SCHEMA_H_

#include <charconv>
#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>

#include "lsmscan/lsm/schema.h"

namespace lsmscan {
namespace tool {
namespace testing {

// PairKeySchema
//
// Keys are (account, entry) pairs, ordered by account then entry; a value
// holds its key, an amount and flags (bit 0: removed).
struct PairKeySchema {
  struct Key {
    uint64_t account;
    uint64_t entry;
    friend auto operator<=>(const Key&, const Key&) = default;
  };
  struct Value {
    Key key;
    uint64_t amount;
    uint64_t flags;
  };
  static constexpr const char* kName = "test.pair_key";
  static Key key_of(const Value& value) { return value.key; }
  static Value tombstone(Key key) { return {key, 0, 1}; }
  static bool is_tombstone(const Value& value) { return value.flags & 1; }

  // lsmscan hooks: keys are written "account:entry".
  static std::string FormatKey(const Key& key) {
    return std::to_string(key.account) + ":" + std::to_string(key.entry);
  }
  static std::optional<Key> ParseKey(std::string_view text) {
    const size_t colon = text.find(':');
    if (colon == std::string_view::npos) return std::nullopt;
    Key key{0, 0};
    if (!ParseField(text.substr(0, colon), &key.account) ||
        !ParseField(text.substr(colon + 1), &key.entry)) {
      return std::nullopt;
    }
    return key;
  }
  static std::string FormatValue(const Value& value) {
    return "amount=" + std::to_string(value.amount);
  }

 private:
  // One decimal field of a key: digits only, and within uint64_t.
  static bool ParseField(std::string_view text, uint64_t* field) {
    const char* end = text.data() + text.size();
    const auto [stop, error] = std::from_chars(text.data(), end, *field);
    return !text.empty() && error == std::errc() && stop == end;
  }
};

static_assert(Schema<PairKeySchema>);

}  // namespace testing
}  // namespace tool
}  // namespace lsmscan

#endif  // LSMSCAN_TOOLS_LSMSCAN_TESTDATA_TEST_SCHEMA_H_
