// File: bench/tick_clock.h
// -----------------------------------------------------------------------------
//
// A cheap clock for timing single operations (one put): the CPU's
// time-stamp counter (rdtsc) on x86-64, which every core of a machine with
// an invariant TSC (constant_tsc, nonstop_tsc) advances at one fixed rate,
// converted to nanoseconds by a rate measured against steady_clock. Elsewhere
// it falls back to steady_clock. Calibrate() also measures what one reading
// costs, so a report can say how much the timer adds to each sample.

#ifndef LSMSCAN_BENCH_TICK_CLOCK_H_
#define LSMSCAN_BENCH_TICK_CLOCK_H_

#include <chrono>
#include <cstdint>

#if defined(__x86_64__)
#include <x86intrin.h>
#endif

namespace lsmscan {
namespace bench {

// TickClock
class TickClock {
 public:
  // TickClock::Now()
  //
  // Ticks since an arbitrary origin, monotonic on one thread. Not
  // serialising: a reading may move by a few tens of cycles around the code
  // it brackets, which is below the resolution the benchmark reports.
  static uint64_t Now() {
#if defined(__x86_64__)
    return __rdtsc();
#else
    return static_cast<uint64_t>(
        std::chrono::steady_clock::now().time_since_epoch().count());
#endif
  }

  // TickClock::Calibrate()
  //
  // Measures ticks per nanosecond against steady_clock over about
  // `calibration_ms` milliseconds (busy), and the cost of a Now() call.
  static TickClock Calibrate(uint32_t calibration_ms);

  // Nanoseconds in `ticks`.
  double Nanoseconds(uint64_t ticks) const {
    return static_cast<double>(ticks) / ticks_per_ns_;
  }
  double ticks_per_ns() const { return ticks_per_ns_; }
  // What one Now() costs, in nanoseconds (the mean of back-to-back calls).
  double read_cost_ns() const { return read_cost_ns_; }
  // "rdtsc" or "steady_clock".
  static const char* Source();

 private:
  TickClock(double ticks_per_ns, double read_cost_ns)
      : ticks_per_ns_(ticks_per_ns), read_cost_ns_(read_cost_ns) {}

  double ticks_per_ns_;
  double read_cost_ns_;
};

// Pacer
//
// An open-loop schedule of operations at a fixed rate: operation i is due
// at start + i / rate. WaitTurn(i) returns at once when operation i is due
// or late (a late loop catches up, it does not slip), else sleeps and then
// spins until it is due. A rate of 0 never waits.
class Pacer {
 public:
  Pacer(double operations_per_second, const TickClock& clock)
      : start_ticks_(TickClock::Now()),
        ticks_per_operation_(operations_per_second > 0
                                 ? clock.ticks_per_ns() * 1e9 /
                                       operations_per_second
                                 : 0),
        ticks_per_ns_(clock.ticks_per_ns()) {}

  // Returns once operation `i` (from 0) is due.
  void WaitTurn(uint64_t i) const;

 private:
  uint64_t start_ticks_;
  double ticks_per_operation_;
  double ticks_per_ns_;
};

}  // namespace bench
}  // namespace lsmscan

#endif  // LSMSCAN_BENCH_TICK_CLOCK_H_
