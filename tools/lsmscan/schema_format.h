// File: tools/lsmscan/schema_format.h
// -----------------------------------------------------------------------------
//
// How lsmscan prints and parses the keys and values of a schema, with hooks
// a schema may provide (doc/tools.md, "Your own schema"):
//
//   static std::string FormatKey(const Key&);            // printed keys
//   static std::optional<Key> ParseKey(std::string_view); // KEY, --from, --to
//   static std::string FormatValue(const Value&);        // the value column
//
// Without them: integer keys (including unsigned __int128) are printed and
// parsed in decimal (or 0x hex when parsed); other keys as the hex of their
// bytes; values as the hex of their bytes. The shipped record schemas
// (lsm/schema.h) print their payload in hex.

#ifndef LSMSCAN_TOOLS_LSMSCAN_SCHEMA_FORMAT_H_
#define LSMSCAN_TOOLS_LSMSCAN_SCHEMA_FORMAT_H_

#include <concepts>
#include <cstdint>
#include <cstring>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "lsmscan/lsm/block_header.h"
#include "lsmscan/lsm/schema.h"
#include "lsmscan/lsm/superblock.h"
#include "lsmscan/tools/lsmscan/output.h"

namespace lsmscan {
namespace tool {

namespace schema_format_internal {

template <typename Key>
constexpr bool kIsInteger =
    std::is_integral_v<Key> || std::is_same_v<Key, unsigned __int128>;

inline std::string U128ToString(unsigned __int128 value) {
  if (value == 0) return "0";
  std::string digits;
  while (value > 0) {
    digits.insert(digits.begin(), static_cast<char>('0' + value % 10));
    value /= 10;
  }
  return digits;
}

// Parses decimal, or hex with a 0x prefix, into an unsigned 128-bit value.
inline std::optional<unsigned __int128> ParseU128(std::string_view text) {
  unsigned base = 10;
  if (text.size() > 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X')) {
    base = 16;
    text.remove_prefix(2);
  }
  if (text.empty() || text.size() > 40) return std::nullopt;
  unsigned __int128 value = 0;
  const unsigned __int128 max = ~static_cast<unsigned __int128>(0);
  for (char c : text) {
    unsigned digit;
    if (c >= '0' && c <= '9') {
      digit = static_cast<unsigned>(c - '0');
    } else if (base == 16 && c >= 'a' && c <= 'f') {
      digit = static_cast<unsigned>(c - 'a' + 10);
    } else if (base == 16 && c >= 'A' && c <= 'F') {
      digit = static_cast<unsigned>(c - 'A' + 10);
    } else {
      return std::nullopt;
    }
    if (digit >= base || value > (max - digit) / base) return std::nullopt;
    value = value * base + digit;
  }
  return value;
}

}  // namespace schema_format_internal

// A schema whose values are RecordSchema records (key, tombstone byte,
// payload).
template <typename S>
concept RecordLike = requires(const typename S::Value& value) {
  value.key;
  value.tombstone;
  value.payload;
};

// FormatKey()
//
// `key` as the tool prints it: S::FormatKey if the schema has it, else
// decimal for integer keys (unsigned __int128 included), else "0x" and the
// hex of the key's bytes in memory order (what ParseKey reads back).
template <Schema S>
std::string FormatKey(const typename S::Key& key) {
  using Key = typename S::Key;
  if constexpr (requires {
                  { S::FormatKey(key) } -> std::convertible_to<std::string>;
                }) {
    return S::FormatKey(key);
  } else if constexpr (std::is_same_v<Key, unsigned __int128>) {
    return schema_format_internal::U128ToString(key);
  } else if constexpr (std::is_integral_v<Key>) {
    return absl::StrCat(key);
  } else {
    return "0x" + HexString(&key, sizeof(key));
  }
}

// KeyIsNumber()
//
// Whether FormatKey() writes a JSON number (a 64-bit or smaller integer
// without a FormatKey hook).
template <Schema S>
constexpr bool KeyIsNumber() {
  using Key = typename S::Key;
  return std::is_integral_v<Key> && sizeof(Key) <= 8 &&
         !requires(const Key& key) {
    S::FormatKey(key);
  };
}

// KeyMinOf(), KeyMaxOf()
//
// The smallest and largest keys of the schema's domain, if known
// (S::kKeyMin and S::kKeyMax, else the integer type's limits; nullopt for
// other keys): the defaults of --from and --to.
template <Schema S>
std::optional<typename S::Key> KeyMinOf() {
  using Key = typename S::Key;
  if constexpr (requires { S::kKeyMin; }) {
    return Key(S::kKeyMin);
  } else if constexpr (schema_format_internal::kIsInteger<Key>) {
    if constexpr (std::is_same_v<Key, unsigned __int128>) return Key(0);
    return std::numeric_limits<Key>::lowest();
  } else {
    return std::nullopt;
  }
}

template <Schema S>
std::optional<typename S::Key> KeyMaxOf() {
  using Key = typename S::Key;
  if constexpr (requires { S::kKeyMax; }) {
    return Key(S::kKeyMax);
  } else if constexpr (std::is_same_v<Key, unsigned __int128>) {
    return ~Key(0);
  } else if constexpr (std::is_integral_v<Key>) {
    return std::numeric_limits<Key>::max();
  } else {
    return std::nullopt;
  }
}

namespace schema_format_internal {

// An integer key in [KeyMinOf<S>(), KeyMaxOf<S>()], decimal or 0x hex, with
// a sign for signed types; nullopt otherwise.
template <Schema S>
std::optional<typename S::Key> ParseIntegerKey(std::string_view text) {
  using Key = typename S::Key;
  bool negative = false;
  if constexpr (std::is_signed_v<Key>) {
    if (!text.empty() && text[0] == '-') {
      negative = true;
      text.remove_prefix(1);
    }
  }
  const std::optional<unsigned __int128> magnitude = ParseU128(text);
  if (!magnitude.has_value()) return std::nullopt;
  const Key min = *KeyMinOf<S>();
  const Key max = *KeyMaxOf<S>();
  Key key{};
  if (!negative) {
    if (*magnitude > static_cast<unsigned __int128>(max)) return std::nullopt;
    key = static_cast<Key>(*magnitude);
  } else {
    // Signed types only: the magnitude of lowest() is max() + 1, so the
    // negation below neither overflows nor leaves the type.
    if (*magnitude > static_cast<unsigned __int128>(max) + 1) {
      return std::nullopt;
    }
    key = static_cast<Key>(-static_cast<__int128>(*magnitude));
  }
  if (key < min) return std::nullopt;
  return key;
}

// A key written as the hex of its bytes in memory order (as FormatKey
// prints keys that are not integers), with or without 0x.
template <Schema S>
std::optional<typename S::Key> ParseHexKey(std::string_view text) {
  using Key = typename S::Key;
  if (text.size() > 2 && text[0] == '0' && text[1] == 'x') {
    text.remove_prefix(2);
  }
  if (text.size() != 2 * sizeof(Key)) return std::nullopt;
  Key key{};
  auto* bytes = reinterpret_cast<unsigned char*>(&key);
  for (size_t i = 0; i < sizeof(Key); i++) {
    const std::optional<unsigned __int128> byte =
        ParseU128("0x" + std::string(text.substr(2 * i, 2)));
    if (!byte.has_value()) return std::nullopt;
    bytes[i] = static_cast<unsigned char>(*byte);
  }
  return key;
}

}  // namespace schema_format_internal

// ParseKey()
//
// A key typed on the command line (KEY, --from, --to): through S::ParseKey
// if the schema has it, else as an integer (decimal, or hex with 0x) for
// integer keys, else as the hex of the key's bytes. InvalidArgument naming
// what is expected if `text` is none, or if the key is outside the
// schema's domain (S::key_valid, SchemaKeyValid()).
template <Schema S>
absl::StatusOr<typename S::Key> ParseKey(std::string_view text) {
  using Key = typename S::Key;
  std::optional<Key> key;
  std::string expected;
  if constexpr (requires {
                  { S::ParseKey(text) } -> std::same_as<std::optional<Key>>;
                }) {
    key = S::ParseKey(text);
  } else if constexpr (schema_format_internal::kIsInteger<Key>) {
    key = schema_format_internal::ParseIntegerKey<S>(text);
    expected = absl::StrCat(": an integer in [", FormatKey<S>(*KeyMinOf<S>()),
                            ", ", FormatKey<S>(*KeyMaxOf<S>()),
                            "] (decimal, or hex with 0x)");
  } else {
    key = schema_format_internal::ParseHexKey<S>(text);
    expected = absl::StrCat(": ", 2 * sizeof(Key),
                            " hex digits (the key's bytes in memory order)");
  }
  if (key.has_value() && !SchemaKeyValid<S>(*key)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "\"", Printable(std::string(text)), "\" is outside the key domain of ",
        std::string(SchemaName<S>()), " (its key_valid() refuses it)"));
  }
  if (!key.has_value()) {
    return absl::InvalidArgumentError(
        absl::StrCat("\"", Printable(std::string(text)), "\" is not a key of ",
                     std::string(SchemaName<S>()), expected));
  }
  return *key;
}

// ValueColumns(), ValueCells()
//
// The columns that print a value (after "key"), and their cells.
template <Schema S>
std::vector<Column> ValueColumns() {
  if constexpr (requires(const typename S::Value& value) {
                  S::FormatValue(value);
                }) {
    return {Column{"value"}};
  } else if constexpr (RecordLike<S>) {
    return {Column{"payload"}};
  } else {
    return {Column{"value"}};
  }
}

template <Schema S>
std::vector<Cell> ValueCells(const typename S::Value& value) {
  if constexpr (requires { S::FormatValue(value); }) {
    return {Cell{std::string(S::FormatValue(value))}};
  } else if constexpr (RecordLike<S>) {
    return {Cell{HexString(value.payload.data(), value.payload.size())}};
  } else {
    return {Cell{HexString(&value, sizeof(value))}};
  }
}

// KeyCell()
//
// `key` as a printed field: a JSON number when KeyIsNumber<S>().
template <Schema S>
Cell KeyCell(const typename S::Key& key) {
  return Cell{FormatKey<S>(key), KeyIsNumber<S>()};
}

// SchemaMatches()
//
// Whether a file's superblock was written with schema S: the same name,
// key and value sizes, and fingerprint.
template <Schema S>
bool SchemaMatches(const Superblock& superblock) {
  return superblock.schema_name == SchemaName<S>() &&
         superblock.key_size_bytes == sizeof(typename S::Key) &&
         superblock.value_size_bytes == sizeof(typename S::Value) &&
         superblock.schema_id == SchemaId(std::string(SchemaName<S>()),
                                          sizeof(typename S::Key),
                                          sizeof(typename S::Value));
}

}  // namespace tool
}  // namespace lsmscan

#endif  // LSMSCAN_TOOLS_LSMSCAN_SCHEMA_FORMAT_H_
