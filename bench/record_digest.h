// File: bench/record_digest.h
// -----------------------------------------------------------------------------
//
// The work //bench:compare does with every record a scan returns, the same
// on both sides: it hashes every byte of the record (the key as a
// little-endian 64-bit word, then every payload byte) into an XXH3-64
// streaming state, one state per scan, in scan order. A scan's digest
// therefore depends on every byte and on the order of its records, and
// engines holding the same data must produce the same digests.

#ifndef LSMSCAN_BENCH_RECORD_DIGEST_H_
#define LSMSCAN_BENCH_RECORD_DIGEST_H_

#include <cstddef>
#include <cstdint>

#define XXH_INLINE_ALL
#include <xxhash.h>

namespace lsmscan {
namespace bench {

// ScanOutcome
//
// What a workload returned: how many records, and the digests of its scans
// folded in order (FoldDigest), which must agree between engines.
struct ScanOutcome {
  uint64_t records = 0;
  uint64_t digest = 0;
};

// FoldDigest()
//
// Order-sensitive: folding a then b differs from b then a.
inline uint64_t FoldDigest(uint64_t folded, uint64_t scan_digest) {
  const uint64_t mixed = ((folded << 7) | (folded >> 57)) ^ scan_digest;
  return mixed * 0x9E3779B97F4A7C15ull + 1;
}

// RecordDigest
//
// One scan's digest. Usage: Reset(); Add() per record; Finish(). Not
// copyable (the XXH3 state is large and aligned); reuse one per engine.
class RecordDigest {
 public:
  RecordDigest() { Reset(); }
  RecordDigest(const RecordDigest&) = delete;
  RecordDigest& operator=(const RecordDigest&) = delete;

  void Reset() { XXH3_64bits_reset(&state_); }

  // Hashes the key's 8 bytes (little-endian) and the `size` payload bytes.
  void Add(uint64_t key, const void* payload, size_t size) {
    uint8_t key_bytes[8];
    for (int i = 0; i < 8; i++)
      key_bytes[i] = static_cast<uint8_t>(key >> (8 * i));
    XXH3_64bits_update(&state_, key_bytes, sizeof(key_bytes));
    XXH3_64bits_update(&state_, payload, size);
  }

  // The digest of the records added since Reset().
  uint64_t Finish() const { return XXH3_64bits_digest(&state_); }

 private:
  XXH3_state_t state_;
};

}  // namespace bench
}  // namespace lsmscan

#endif  // LSMSCAN_BENCH_RECORD_DIGEST_H_
