// File: lsm/schema.h
// -----------------------------------------------------------------------------
//
// What a tree stores. lsmscan trees hold fixed-size, trivially copyable
// values, each carrying its own key (TigerBeetle's model). A *schema* is a
// type that names the key and value types and the operations the tree
// needs; `Schema` below is the concept it must satisfy.
//
// Two schemas ship with lsmscan and are used by tests and benchmarks:
// `Record32Schema` (32-byte records: 8-byte key, tombstone byte, 23-byte
// payload) and `Record128Schema` (128-byte records, 119-byte payload). Both
// accept every uint64_t key, 0 to UINT64_MAX.
//
// Example (a schema of your own; lsm/schema_test.cc compiles this very text
// and runs a tree with it):
//
//   struct AccountSchema {
//     using Key = unsigned __int128;
//     struct Value {
//       Key id;
//       uint64_t balance;
//       uint64_t flags;
//     };
//     static constexpr uint64_t kDeleted = 1;  // In `flags`: a tombstone.
//     static constexpr std::string_view kName = "account.v1";
//     static const Key& key_of(const Value& v) { return v.id; }
//     static Value tombstone(const Key& id) { return {id, 0, kDeleted}; }
//     static uint64_t is_tombstone(const Value& v) {
//       return v.flags & kDeleted;
//     }
//     // Ids 0 and 2^128 - 1 are reserved: Put() and Remove() refuse them.
//     static bool key_valid(const Key& id) {
//       return id != 0 && id != ~Key{0};
//     }
//   };

#ifndef LSMSCAN_LSM_SCHEMA_H_
#define LSMSCAN_LSM_SCHEMA_H_

#include <array>
#include <compare>
#include <concepts>
#include <cstdint>
#include <cstring>
#include <string_view>
#include <type_traits>

namespace lsmscan {

// Schema
//
// A schema S must provide:
//   * `S::Key`: totally ordered, trivially copyable, fixed size (an integer,
//     `unsigned __int128`, or a struct with `operator<=>`).
//   * `S::Value`: trivially copyable, fixed size, with no padding the tree
//     would have to zero (values are written to disk byte for byte).
//   * `S::kName`: a stable name, convertible to std::string_view (a
//     `const char*` or a `std::string_view` constant); its fingerprint is
//     recorded in the file, and opening a file with a schema of another
//     name (or other sizes) is refused.
//   * `S::key_of(value)`: the value's key, returned as `Key` or `const Key&`.
//   * `S::tombstone(key)`: a value that deletes `key`.
//   * `S::is_tombstone(value)`: anything testable as a bool (`bool`, or an
//     integer such as `flags & kDeleted`).
//   with `key_of(tombstone(k)) == k` and `is_tombstone(tombstone(k))`.
//   * Optionally `S::key_valid(key)` (testable as a bool): the key domain.
//     Tree::Put() and Tree::Remove() refuse a key outside it with
//     InvalidArgument. Without it every value of `Key` is a valid key.
template <typename S>
concept Schema = requires(const typename S::Value& value,
                          const typename S::Key& key) {
  requires std::totally_ordered<typename S::Key>;
  requires std::is_trivially_copyable_v<typename S::Key>;
  requires std::is_trivially_copyable_v<typename S::Value>;
  requires sizeof(typename S::Value) >= sizeof(typename S::Key);
  { S::kName } -> std::convertible_to<std::string_view>;
  requires std::same_as < std::remove_cvref_t<decltype(S::key_of(value))>,
  typename S::Key > ;
  { S::tombstone(key) } -> std::same_as<typename S::Value>;
  { S::is_tombstone(value) } -> std::convertible_to<bool>;
  // The optional domain check, if declared, must be callable so.
  requires(!requires { &S::key_valid; }) || requires {
    { S::key_valid(key) } -> std::convertible_to<bool>;
  };
};

// SchemaKeyValid()
//
// Whether `key` is in S's key domain: S::key_valid(key) if S declares it,
// else true.
template <Schema S>
constexpr bool SchemaKeyValid(const typename S::Key& key) {
  if constexpr (requires { S::key_valid(key); }) {
    return static_cast<bool>(S::key_valid(key));
  } else {
    return true;
  }
}

// SchemaName()
//
// S::kName as a std::string_view.
template <Schema S>
constexpr std::string_view SchemaName() {
  return std::string_view(S::kName);
}

// RecordSchema<PayloadBytes>
//
// A record: an 8-byte key (every uint64_t is valid), a tombstone byte, then
// `PayloadBytes` of payload, with no padding. The layout on disk is these
// bytes in this order (doc/format.md, section 7.2).
template <size_t PayloadBytes>
struct RecordSchema {
  using Key = uint64_t;
  struct Value {
    uint64_t key;
    // 1 for a tombstone (tombstone()), 0 for a live value (Make()); any
    // other value reads as a tombstone.
    uint8_t tombstone;
    std::array<uint8_t, PayloadBytes> payload;
  };
  static_assert(sizeof(Value) == 8 + 1 + PayloadBytes);
  static_assert(std::has_unique_object_representations_v<Value>);

  // The largest key a record can have.
  static constexpr Key kKeyMax = UINT64_MAX;

  static Key key_of(const Value& value) { return value.key; }
  static Value tombstone(Key key) {
    Value value{};
    value.key = key;
    value.tombstone = 1;
    return value;
  }
  static bool is_tombstone(const Value& value) { return value.tombstone != 0; }
  // A live value with `key` and its payload filled from `seed`.
  static Value Make(Key key, uint64_t seed) {
    Value value{};
    value.key = key;
    for (size_t i = 0; i < PayloadBytes; i += 8) {
      const uint64_t word = seed * 0x9E3779B97F4A7C15ull + i;
      std::memcpy(value.payload.data() + i, &word,
                  PayloadBytes - i < 8 ? PayloadBytes - i : 8);
    }
    return value;
  }
};

// Record32Schema: 32-byte records (8-byte key, tombstone byte, 23-byte
// payload).
struct Record32Schema : RecordSchema<23> {
  static constexpr const char* kName = "lsmscan.record32";
};

// Record128Schema: 128-byte records (8-byte key, tombstone byte, 119-byte
// payload).
struct Record128Schema : RecordSchema<119> {
  static constexpr const char* kName = "lsmscan.record128";
};

static_assert(Schema<Record32Schema>);
static_assert(Schema<Record128Schema>);
static_assert(sizeof(Record32Schema::Value) == 32);
static_assert(sizeof(Record128Schema::Value) == 128);

}  // namespace lsmscan

#endif  // LSMSCAN_LSM_SCHEMA_H_
