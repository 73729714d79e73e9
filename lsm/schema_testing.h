// File: lsm/schema_testing.h
// -----------------------------------------------------------------------------
//
// Schemas for tests (testonly): shapes the shipped record schemas do not
// have, so that block, table and memory-table code is tested on them too.

#ifndef LSMSCAN_LSM_SCHEMA_TESTING_H_
#define LSMSCAN_LSM_SCHEMA_TESTING_H_

#include <cstdint>

#include "lsmscan/lsm/schema.h"

namespace lsmscan {
namespace testing {

// Wide128Schema
//
// A 16-byte key (unsigned __int128): its values are 16-byte aligned and 32
// bytes long, the tombstone flag in a word of its own.
struct Wide128Schema {
  using Key = unsigned __int128;
  struct Value {
    Key key;
    uint64_t flags;
    uint64_t payload;
  };
  static constexpr const char* kName = "test.wide128";
  static Key key_of(const Value& value) { return value.key; }
  static Value tombstone(Key key) { return Value{key, 1, 0}; }
  static bool is_tombstone(const Value& value) {
    return (value.flags & 1) != 0;
  }
};
static_assert(Schema<Wide128Schema>);
static_assert(sizeof(Wide128Schema::Value) == 32);
static_assert(alignof(Wide128Schema::Value) == 16);

}  // namespace testing
}  // namespace lsmscan

#endif  // LSMSCAN_LSM_SCHEMA_TESTING_H_
