// File: storage/base/prng.h
// -----------------------------------------------------------------------------
//
// A small, fast, seeded pseudo-random generator (xoshiro256**, seeded by
// SplitMix64) whose every output is fixed by the seed on any platform, unlike
// the standard distributions. Fault injection, randomized tests and the
// simulator draw from it, so one seed reproduces one run exactly.
//
// Example:
//
//   Prng prng(seed);
//   if (prng.Chance(0.01)) InjectFault();
//   const uint64_t key = prng.Uniform(key_count);

#ifndef LSMSCAN_STORAGE_BASE_PRNG_H_
#define LSMSCAN_STORAGE_BASE_PRNG_H_

#include <cstdint>

#include "lsmscan/storage/base/assert.h"

namespace lsmscan {

// Prng
//
// Not cryptographic. Copyable: a copy continues the same sequence.
class Prng {
 public:
  explicit Prng(uint64_t seed) {
    for (uint64_t& word : state_) word = SplitMix64(&seed);
  }

  // Prng::Next()
  //
  // The next 64 uniformly distributed bits.
  uint64_t Next() {
    const uint64_t result = Rotl(state_[1] * 5, 7) * 9;
    const uint64_t t = state_[1] << 17;
    state_[2] ^= state_[0];
    state_[3] ^= state_[1];
    state_[1] ^= state_[2];
    state_[0] ^= state_[3];
    state_[2] ^= t;
    state_[3] = Rotl(state_[3], 45);
    return result;
  }

  // Prng::Uniform()
  //
  // A uniform integer in [0, bound). REQUIRES: bound > 0.
  uint64_t Uniform(uint64_t bound) {
    LSMSCAN_ASSERT(bound > 0);
    // Lemire's multiply-shift; the bias is below 2^-64 * bound.
    return static_cast<uint64_t>(
        (static_cast<unsigned __int128>(Next()) * bound) >> 64);
  }

  // Prng::Range()
  //
  // A uniform integer in [min, max]. REQUIRES: min <= max.
  uint64_t Range(uint64_t min, uint64_t max) {
    LSMSCAN_ASSERT(min <= max);
    if (max - min == UINT64_MAX) return Next();
    return min + Uniform(max - min + 1);
  }

  // Prng::Chance()
  //
  // True with probability `probability` (clamped to [0, 1]).
  bool Chance(double probability) {
    if (probability <= 0) return false;
    if (probability >= 1) return true;
    return static_cast<double>(Next() >> 11) * 0x1.0p-53 < probability;
  }

 private:
  static uint64_t Rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

  static uint64_t SplitMix64(uint64_t* state) {
    uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }

  uint64_t state_[4];
};

}  // namespace lsmscan

#endif  // LSMSCAN_STORAGE_BASE_PRNG_H_
