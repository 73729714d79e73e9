// File: bench/dataset.h
// -----------------------------------------------------------------------------
//
// The logical dataset //bench:compare loads into both engines, and the
// workloads it runs on it: everything derived from one seed, so lsmscan and
// RocksDB see byte-for-byte the same records in the same order.
//
// Records: key i in [0, record_count) (8 bytes; RocksDB stores it
// big-endian so that its bytewise order is the numeric order), and a
// payload of value_size_bytes - 9 bytes derived from (key, version): the
// record schemas' payload, after the key and lsmscan's tombstone byte
// (lsm/schema.h). RocksDB stores the same payload as its value.
//
// Shapes:
//   compacted: every key once, loaded in shuffled order, then compacted
//              into one sorted run.
//   layered:   the same inserts, then ~10% overwrites and ~5% deletes of
//              random keys, interleaved; no final compaction.

#ifndef LSMSCAN_BENCH_DATASET_H_
#define LSMSCAN_BENCH_DATASET_H_

#include <cstdint>
#include <string>
#include <vector>

namespace lsmscan {
namespace bench {

// Shape
enum class Shape : uint8_t { kCompacted, kLayered };
const char* ShapeName(Shape shape);

// Operation
//
// One write of the load: a put of (key, version) or a delete of key.
struct Operation {
  uint64_t key = 0;
  uint32_t version = 0;
  bool remove = false;
};

// Dataset
class Dataset {
 public:
  Dataset(uint64_t record_count, uint32_t value_size_bytes, uint64_t seed);

  // The writes that build `shape`, in load order.
  std::vector<Operation> Operations(Shape shape) const;

  // Fills `payload` (payload_size_bytes()) for (key, version).
  void Payload(uint64_t key, uint32_t version, uint8_t* payload) const;

  // The start keys of `count` range scans of `length` keys, uniformly
  // distributed so that every range lies inside the key space.
  std::vector<uint64_t> RangeStarts(uint64_t length, uint64_t count,
                                    uint64_t seed) const;

  uint64_t record_count() const { return record_count_; }
  uint32_t value_size_bytes() const { return value_size_bytes_; }
  uint32_t payload_size_bytes() const { return value_size_bytes_ - 9; }

 private:
  uint64_t record_count_;
  uint32_t value_size_bytes_;
  uint64_t seed_;
};

// EncodeKey(), DecodeKey()
//
// The 8-byte big-endian form RocksDB stores.
inline void EncodeKey(uint64_t key, char* out) {
  for (int i = 7; i >= 0; i--) {
    out[i] = static_cast<char>(key & 0xff);
    key >>= 8;
  }
}
inline uint64_t DecodeKey(const char* in) {
  uint64_t key = 0;
  for (int i = 0; i < 8; i++) key = (key << 8) | static_cast<uint8_t>(in[i]);
  return key;
}

}  // namespace bench
}  // namespace lsmscan

#endif  // LSMSCAN_BENCH_DATASET_H_
