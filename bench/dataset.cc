#include "lsmscan/bench/dataset.h"

#include <cstring>
#include <utility>

#include "lsmscan/storage/base/assert.h"
#include "lsmscan/storage/base/prng.h"

namespace lsmscan {
namespace bench {

const char* ShapeName(Shape shape) {
  return shape == Shape::kCompacted ? "compacted" : "layered";
}

Dataset::Dataset(uint64_t record_count, uint32_t value_size_bytes,
                 uint64_t seed)
    : record_count_(record_count),
      value_size_bytes_(value_size_bytes),
      seed_(seed) {
  LSMSCAN_ASSERT(record_count > 0);
  LSMSCAN_ASSERT(value_size_bytes >= 16);
}

std::vector<Operation> Dataset::Operations(Shape shape) const {
  std::vector<Operation> operations;
  operations.reserve(record_count_ + record_count_ / 6);
  for (uint64_t key = 0; key < record_count_; key++) {
    operations.push_back({key, 0, false});
  }
  Prng prng(seed_);
  for (uint64_t i = record_count_ - 1; i > 0; i--) {
    std::swap(operations[i], operations[prng.Uniform(i + 1)]);
  }
  if (shape == Shape::kCompacted) return operations;
  // ~10% overwrites and ~5% deletes of random keys, interleaved, after the
  // inserts (so they land in newer levels and the memory tables).
  const uint64_t update_count = record_count_ * 15 / 100;
  for (uint64_t i = 0; i < update_count; i++) {
    const uint64_t key = prng.Uniform(record_count_);
    const bool remove = prng.Uniform(3) == 0;
    operations.push_back({key, static_cast<uint32_t>(1 + i), remove});
  }
  return operations;
}

void Dataset::Payload(uint64_t key, uint32_t version, uint8_t* payload) const {
  uint64_t state =
      (key * 0x9E3779B97F4A7C15ull) ^ (uint64_t{version} << 32) ^ seed_;
  for (uint32_t i = 0; i < payload_size_bytes(); i += 8) {
    state = state * 6364136223846793005ull + 1442695040888963407ull;
    const uint32_t left = payload_size_bytes() - i;
    std::memcpy(payload + i, &state, left < 8 ? left : 8);
  }
}

std::vector<uint64_t> Dataset::RangeStarts(uint64_t length, uint64_t count,
                                           uint64_t seed) const {
  LSMSCAN_ASSERT(length <= record_count_);
  Prng prng(seed ^ seed_ ^ length);
  std::vector<uint64_t> starts(count);
  for (uint64_t& start : starts) {
    start = prng.Uniform(record_count_ - length + 1);
  }
  return starts;
}

}  // namespace bench
}  // namespace lsmscan
