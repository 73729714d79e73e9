// File: lsm/schema.h
// -----------------------------------------------------------------------------
//
// What a tree stores. lsmscan trees hold fixed-size, trivially copyable
// values, each carrying its own key (TigerBeetle's model). A *schema* is a
// type that names the key and value types and the four operations the tree
// needs; `Schema` below is the concept it must satisfy.
//
// Two schemas ship with lsmscan and are used by tests and benchmarks:
// `Record32Schema` (8-byte key + 24-byte payload) and `Record128Schema`
// (8-byte key + 120-byte payload). Both keep the tombstone flag in the top
// bit of the stored key word, so keys are limited to [0, 2^63).
//
// Example (a schema of your own):
//
//   struct AccountSchema {
//     using Key = unsigned __int128;
//     struct Value { Key id; uint64_t balance; uint64_t flags; };
//     static constexpr const char* kName = "account.v1";
//     static Key key_of(const Value& v) { return v.id; }
//     static Value tombstone(Key key) { return {key, 0, kDeleted}; }
//     static bool is_tombstone(const Value& v) { return v.flags & kDeleted; }
//   };

#ifndef LSMSCAN_LSM_SCHEMA_H_
#define LSMSCAN_LSM_SCHEMA_H_

#include <array>
#include <compare>
#include <concepts>
#include <cstdint>
#include <cstring>
#include <type_traits>

namespace lsmscan {

// Schema
//
// A schema S must provide:
//   * `S::Key`: totally ordered, trivially copyable, fixed size (an integer,
//     `unsigned __int128`, or a struct with `operator<=>`).
//   * `S::Value`: trivially copyable, fixed size, with no padding the tree
//     would have to zero (values are written to disk byte for byte).
//   * `S::kName`: a stable name; it is recorded in the file, and opening a
//     file with a schema of another name (or other sizes) is refused.
//   * `S::key_of(value)`, `S::tombstone(key)`, `S::is_tombstone(value)`, with
//     `key_of(tombstone(k)) == k` and `is_tombstone(tombstone(k))`.
template <typename S>
concept Schema = requires(const typename S::Value& value,
                          const typename S::Key& key) {
  requires std::totally_ordered<typename S::Key>;
  requires std::is_trivially_copyable_v<typename S::Key>;
  requires std::is_trivially_copyable_v<typename S::Value>;
  requires sizeof(typename S::Value) >= sizeof(typename S::Key);
  { S::kName } -> std::convertible_to<const char*>;
  { S::key_of(value) } -> std::same_as<typename S::Key>;
  { S::tombstone(key) } -> std::same_as<typename S::Value>;
  { S::is_tombstone(value) } -> std::same_as<bool>;
};

// RecordSchema<PayloadBytes>
//
// An 8-byte key and `PayloadBytes` of payload. The stored key word is
// `key | (tombstone ? 1 << 63 : 0)`; user keys must be below 2^63.
template <size_t PayloadBytes>
struct RecordSchema {
  using Key = uint64_t;
  struct Value {
    uint64_t key_word;
    std::array<uint8_t, PayloadBytes> payload;
  };
  static_assert(sizeof(Value) == 8 + PayloadBytes);
  static_assert(std::has_unique_object_representations_v<Value>);

  static constexpr uint64_t kTombstoneBit = uint64_t{1} << 63;
  // The largest key a record can have.
  static constexpr Key kKeyMax = kTombstoneBit - 1;

  static Key key_of(const Value& value) {
    return value.key_word & ~kTombstoneBit;
  }
  static Value tombstone(Key key) {
    Value value{};
    value.key_word = key | kTombstoneBit;
    return value;
  }
  static bool is_tombstone(const Value& value) {
    return (value.key_word & kTombstoneBit) != 0;
  }
  // A live value with `key` and its payload filled from `seed`.
  static Value Make(Key key, uint64_t seed) {
    Value value{};
    value.key_word = key & ~kTombstoneBit;
    for (size_t i = 0; i < PayloadBytes; i += 8) {
      const uint64_t word = seed * 0x9E3779B97F4A7C15ull + i;
      std::memcpy(value.payload.data() + i, &word,
                  PayloadBytes - i < 8 ? PayloadBytes - i : 8);
    }
    return value;
  }
};

// Record32Schema: 32-byte records (8-byte key + 24-byte payload).
struct Record32Schema : RecordSchema<24> {
  static constexpr const char* kName = "lsmscan.record32";
};

// Record128Schema: 128-byte records (8-byte key + 120-byte payload).
struct Record128Schema : RecordSchema<120> {
  static constexpr const char* kName = "lsmscan.record128";
};

static_assert(Schema<Record32Schema>);
static_assert(Schema<Record128Schema>);
static_assert(sizeof(Record32Schema::Value) == 32);
static_assert(sizeof(Record128Schema::Value) == 128);

}  // namespace lsmscan

#endif  // LSMSCAN_LSM_SCHEMA_H_
