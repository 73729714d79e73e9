#include "lsmscan/bench/ycsb.h"

#include <cmath>

#include "lsmscan/storage/base/assert.h"

namespace lsmscan {
namespace bench {
namespace {

// YCSB's ScrambledZipfianGenerator: 10^10 items, constant 0.99, and the
// zeta of that many items, precomputed (as YCSB does: computing it takes
// minutes).
constexpr uint64_t kScrambledItemCount = 10'000'000'000ull;
constexpr double kZipfianConstant = 0.99;
constexpr double kScrambledZetaN = 26.46902820178302;

double UniformDouble(Prng* prng) {
  return static_cast<double>(prng->Next() >> 11) * 0x1.0p-53;
}

}  // namespace

uint64_t Fnv1a64(uint64_t value) {
  uint64_t hash = 0xCBF29CE484222325ull;
  for (int i = 0; i < 8; i++) {
    hash ^= value & 0xff;
    hash *= 0x100000001B3ull;
    value >>= 8;
  }
  return hash;
}

double ZipfianGenerator::Zeta(uint64_t n, double theta) {
  double sum = 0;
  for (uint64_t i = 1; i <= n; i++) {
    sum += 1.0 / std::pow(static_cast<double>(i), theta);
  }
  return sum;
}

ZipfianGenerator::ZipfianGenerator(uint64_t item_count, double theta)
    : ZipfianGenerator(item_count, theta, Zeta(item_count, theta)) {}

ZipfianGenerator::ZipfianGenerator(uint64_t item_count, double theta,
                                   double zeta_n)
    : item_count_(item_count), theta_(theta), zeta_n_(zeta_n) {
  LSMSCAN_ASSERT(item_count >= 2);
  LSMSCAN_ASSERT(theta > 0 && theta < 1);
  alpha_ = 1.0 / (1.0 - theta);
  const double zeta_2 = 1.0 + std::pow(0.5, theta);
  eta_ = (1.0 - std::pow(2.0 / static_cast<double>(item_count), 1.0 - theta)) /
         (1.0 - zeta_2 / zeta_n);
}

uint64_t ZipfianGenerator::Next(Prng* prng) const {
  const double u = UniformDouble(prng);
  const double uz = u * zeta_n_;
  if (uz < 1.0) return 0;
  if (uz < 1.0 + std::pow(0.5, theta_)) return 1;
  const double scaled = static_cast<double>(item_count_) *
                        std::pow(eta_ * u - eta_ + 1.0, alpha_);
  const uint64_t item = static_cast<uint64_t>(scaled);
  return item < item_count_ ? item : item_count_ - 1;
}

ScrambledZipfian::ScrambledZipfian(uint64_t item_count)
    : item_count_(item_count),
      zipfian_(kScrambledItemCount, kZipfianConstant, kScrambledZetaN) {
  LSMSCAN_ASSERT(item_count > 0);
}

uint64_t ScrambledZipfian::Next(Prng* prng) const {
  return Fnv1a64(zipfian_.Next(prng)) % item_count_;
}

std::vector<YcsbOp> YcsbWorkloadE(uint64_t records, uint64_t ops,
                                  uint64_t seed) {
  LSMSCAN_ASSERT(records > 0);
  Prng prng(seed);
  // YCSB sizes the key chooser for the inserts expected by the end of the
  // run (twice the expected count, as YCSB's CoreWorkload does).
  const uint64_t expected_inserts = ops * 5 / 100 * 2;
  const ScrambledZipfian chooser(records + expected_inserts);
  std::vector<YcsbOp> run;
  run.reserve(ops);
  uint64_t inserted = records;
  for (uint64_t i = 0; i < ops; i++) {
    YcsbOp op;
    if (prng.Uniform(100) < 5) {
      op.insert = true;
      op.key = YcsbKey(inserted++);
    } else {
      uint64_t number = chooser.Next(&prng);
      while (number >= inserted) number = chooser.Next(&prng);
      op.key = YcsbKey(number);
      op.length = static_cast<uint32_t>(1 + prng.Uniform(100));
    }
    run.push_back(op);
  }
  return run;
}

}  // namespace bench
}  // namespace lsmscan
