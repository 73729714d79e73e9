// File: bench/record1000_schema.h
// -----------------------------------------------------------------------------
//
// Record1000Schema: the 1,000-byte record //bench:write_benchmark loads
// (YCSB's default record is 10 fields of 100 bytes): an 8-byte key, the
// tombstone byte and a 991-byte payload, laid out as lsm/schema.h's
// RecordSchema. Dataset(records, 1000, seed) fills exactly this payload, and
// RocksDB stores the same 991 bytes as its value.

#ifndef LSMSCAN_BENCH_RECORD1000_SCHEMA_H_
#define LSMSCAN_BENCH_RECORD1000_SCHEMA_H_

#include <cstdint>

#include "lsmscan/lsm/schema.h"

namespace lsmscan {
namespace bench {

// The record size in bytes (key, tombstone byte, payload).
inline constexpr uint32_t kRecord1000Bytes = 1000;

// Record1000Schema: 1,000-byte records (8-byte key, tombstone byte,
// 991-byte payload). Every uint64_t key is valid.
struct Record1000Schema : RecordSchema<kRecord1000Bytes - 9> {
  static constexpr const char* kName = "lsmscan.bench.record1000";
};

static_assert(Schema<Record1000Schema>);
static_assert(sizeof(Record1000Schema::Value) == kRecord1000Bytes);

}  // namespace bench
}  // namespace lsmscan

#endif  // LSMSCAN_BENCH_RECORD1000_SCHEMA_H_
