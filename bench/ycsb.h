// File: bench/ycsb.h
// -----------------------------------------------------------------------------
//
// YCSB workload E as //bench:compare runs it on every engine: the load
// inserts `records` keys in hashed order; the run is `ops` operations, 95%
// scans and 5% inserts. A scan starts at an existing key chosen by YCSB's
// scrambled Zipfian distribution (constant 0.99, items hashed with FNV-1a
// 64) and reads a uniform 1..100 records; an insert writes the next key in
// the hashed insert sequence. As in YCSB, the distribution is set up for
// the keys expected by the end of the run, and draws past the keys
// inserted so far are drawn again.
//
// Keys: Hashed(i) = FNV-1a 64 of i with the top bit cleared (lsmscan keys
// are below 2^63); payloads come from Dataset::Payload(key, 0).

#ifndef LSMSCAN_BENCH_YCSB_H_
#define LSMSCAN_BENCH_YCSB_H_

#include <cstdint>
#include <vector>

#include "lsmscan/storage/base/prng.h"

namespace lsmscan {
namespace bench {

// Fnv1a64()
//
// FNV-1a over the 8 little-endian bytes of `value`.
uint64_t Fnv1a64(uint64_t value);

// YcsbKey()
//
// The key of record number `i`: Fnv1a64(i) with bit 63 cleared.
inline uint64_t YcsbKey(uint64_t i) { return Fnv1a64(i) >> 1; }

// ZipfianGenerator
//
// Gray et al.'s Zipfian over [0, item_count), item 0 the most popular, as
// YCSB's ZipfianGenerator; zeta(n) is computed once in the constructor
// (O(item_count)), or given.
class ZipfianGenerator {
 public:
  ZipfianGenerator(uint64_t item_count, double theta);
  ZipfianGenerator(uint64_t item_count, double theta, double zeta_n);

  uint64_t Next(Prng* prng) const;
  uint64_t item_count() const { return item_count_; }

  // zeta(n, theta) = sum over i in [1, n] of 1 / i^theta.
  static double Zeta(uint64_t n, double theta);

 private:
  uint64_t item_count_;
  double theta_;
  double zeta_n_;
  double alpha_;
  double eta_;
};

// ScrambledZipfian
//
// YCSB's ScrambledZipfianGenerator: a Zipfian over 10^10 items (zeta
// precomputed, as YCSB does), hashed and reduced modulo `item_count`, so
// popular items are spread over the key space.
class ScrambledZipfian {
 public:
  explicit ScrambledZipfian(uint64_t item_count);
  uint64_t Next(Prng* prng) const;

 private:
  uint64_t item_count_;
  ZipfianGenerator zipfian_;
};

// YcsbOp
struct YcsbOp {
  bool insert = false;
  uint64_t key = 0;     // The inserted key, or the scan's start key.
  uint32_t length = 0;  // Records a scan reads (1..100).
};

// YcsbWorkloadE()
//
// The run phase's `ops` operations after a load of `records` keys
// (YcsbKey(0..records-1)), deterministic in `seed`.
std::vector<YcsbOp> YcsbWorkloadE(uint64_t records, uint64_t ops,
                                  uint64_t seed);

}  // namespace bench
}  // namespace lsmscan

#endif  // LSMSCAN_BENCH_YCSB_H_
