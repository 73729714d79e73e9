// File: tools/simulator_workload.h
// -----------------------------------------------------------------------------
//
// The workload: which operation comes next and on which key, in phases
// that change the mix of operations, the key distribution and the share of
// removes. Every choice comes from the Prng it is given.
//
// Part of the simulator (the API is simulator_lib.h; doc/reliability.md).

#ifndef LSMSCAN_TOOLS_SIMULATOR_WORKLOAD_H_
#define LSMSCAN_TOOLS_SIMULATOR_WORKLOAD_H_

#include <algorithm>
#include <cstdint>
#include <string>

#include "absl/strings/str_format.h"
#include "lsmscan/storage/base/assert.h"
#include "lsmscan/storage/base/prng.h"
#include "lsmscan/tools/simulator_types.h"

namespace lsmscan {
namespace simulator {

enum class OpKind : uint8_t {
  kWrite,
  kGet,
  kScan,
  kAcquire,
  kRelease,
  kCompact,
  kCompactAll,
  kCheckpoint,
  kRestart,
};

enum class PhaseKind : uint8_t {
  kWriteHeavy,
  kRangeHeavy,
  kPointHeavy,
  kMixed
};
enum class KeyDistribution : uint8_t { kUniform, kSequential, kHotSpot };

// For messages and logs.
inline const char* PhaseName(PhaseKind phase) {
  switch (phase) {
    case PhaseKind::kWriteHeavy:
      return "write-heavy";
    case PhaseKind::kRangeHeavy:
      return "range-heavy";
    case PhaseKind::kPointHeavy:
      return "point-heavy";
    case PhaseKind::kMixed:
      return "mixed";
  }
  return "unknown";
}

inline const char* DistributionName(KeyDistribution distribution) {
  switch (distribution) {
    case KeyDistribution::kUniform:
      return "uniform";
    case KeyDistribution::kSequential:
      return "sequential";
    case KeyDistribution::kHotSpot:
      return "hot-spot";
  }
  return "unknown";
}

// Workload
//
// Which operation comes next and on which key. Phases of random length
// switch the mix (write-, range-, point-heavy, mixed), the key
// distribution and the share of removes.
class Workload {
 public:
  explicit Workload(uint64_t key_space) : key_space_(key_space) {}

  // Workload::NextOp()
  //
  // The kind of the next operation (starting a new phase when one ends).
  OpKind NextOp(Prng* prng) {
    if (phase_left_ == 0) NewPhase(prng);
    phase_left_--;
    const uint64_t roll = prng->Uniform(100000);
    if (roll < 400) return OpKind::kAcquire;
    if (roll < 800) return OpKind::kRelease;
    if (roll < 2300) return OpKind::kCompact;
    if (roll < 2360) return OpKind::kCompactAll;
    if (roll < 2960) return OpKind::kCheckpoint;
    if (roll < 2980) return OpKind::kRestart;
    const uint64_t mix = prng->Uniform(100);
    if (mix < write_percent_) return OpKind::kWrite;
    if (mix < write_percent_ + get_percent_) return OpKind::kGet;
    return OpKind::kScan;
  }

  // Workload::NextKey()
  //
  // A key from the phase's distribution.
  Key NextKey(Prng* prng) {
    if (prng->Chance(0.005)) {  // The ends of the key space.
      // The ends of the key domain, and the keys around bit 63 (where the
      // record schemas kept their tombstone flag before format 3).
      const Key edges[] = {0,          1,           kBit63 - 1, kBit63,
                           kBit63 + 1, kKeyMax - 1, kKeyMax};
      return Pick(prng, edges);
    }
    switch (distribution_) {
      case KeyDistribution::kUniform:
        return prng->Uniform(key_space_);
      case KeyDistribution::kSequential:
        cursor_ = (cursor_ + prng->Range(1, 2)) % key_space_;
        return cursor_;
      case KeyDistribution::kHotSpot:
        if (prng->Chance(0.9)) {
          return (hot_base_ + prng->Uniform(hot_width_)) % key_space_;
        }
        return prng->Uniform(key_space_);
    }
    LSMSCAN_UNREACHABLE();
  }

  double remove_probability() const { return remove_probability_; }
  uint64_t key_space() const { return key_space_; }
  std::string Describe() const {
    return absl::StrFormat("%s phase, %s keys, %.0f%% removes",
                           PhaseName(phase_), DistributionName(distribution_),
                           remove_probability_ * 100);
  }

 private:
  void NewPhase(Prng* prng) {
    phase_ = static_cast<PhaseKind>(prng->Uniform(4));
    distribution_ = static_cast<KeyDistribution>(prng->Uniform(3));
    phase_left_ = prng->Range(200, 3000);
    const double remove_rates[] = {0.02, 0.1, 0.2, 0.35};
    remove_probability_ = Pick(prng, remove_rates);
    hot_base_ = prng->Uniform(key_space_);
    hot_width_ = std::max<uint64_t>(1, key_space_ / prng->Range(20, 200));
    cursor_ = prng->Uniform(key_space_);
    switch (phase_) {
      case PhaseKind::kWriteHeavy:
        SetMix(85, 10);
        break;
      case PhaseKind::kRangeHeavy:
        SetMix(45, 5);
        break;
      case PhaseKind::kPointHeavy:
        SetMix(45, 50);
        break;
      case PhaseKind::kMixed:
        SetMix(60, 20);
        break;
    }
  }

  void SetMix(uint64_t write_percent, uint64_t get_percent) {
    write_percent_ = write_percent;
    get_percent_ = get_percent;
  }

  uint64_t key_space_;
  PhaseKind phase_ = PhaseKind::kMixed;
  KeyDistribution distribution_ = KeyDistribution::kUniform;
  uint64_t phase_left_ = 0;
  uint64_t write_percent_ = 60;
  uint64_t get_percent_ = 20;
  double remove_probability_ = 0.1;
  uint64_t hot_base_ = 0;
  uint64_t hot_width_ = 1;
  uint64_t cursor_ = 0;
};

}  // namespace simulator
}  // namespace lsmscan

#endif  // LSMSCAN_TOOLS_SIMULATOR_WORKLOAD_H_
