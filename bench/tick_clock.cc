#include "lsmscan/bench/tick_clock.h"

#include <thread>

namespace lsmscan {
namespace bench {
namespace {

// Where the calibration loop's readings go, so none is optimised away.
volatile uint64_t reading_sink = 0;

}  // namespace

TickClock TickClock::Calibrate(uint32_t calibration_ms) {
  using Clock = std::chrono::steady_clock;
  const Clock::time_point start = Clock::now();
  const uint64_t start_ticks = Now();
  Clock::time_point end = start;
  while (end - start < std::chrono::milliseconds(calibration_ms)) {
    end = Clock::now();
  }
  const uint64_t end_ticks = Now();
  const double ns = static_cast<double>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(end - start)
          .count());
  double ticks_per_ns = static_cast<double>(end_ticks - start_ticks) / ns;
  if (!(ticks_per_ns > 0)) ticks_per_ns = 1;
  // The cost of one reading: many back-to-back readings, timed as a whole.
  constexpr int kReadings = 1 << 20;
  uint64_t sink = 0;
  const uint64_t first = Now();
  for (int i = 0; i < kReadings; i++) sink ^= Now();
  const uint64_t last = Now();
  const double read_cost_ns =
      static_cast<double>(last - first) / ticks_per_ns / kReadings;
  reading_sink = sink;
  return TickClock(ticks_per_ns, read_cost_ns);
}

void Pacer::WaitTurn(uint64_t i) const {
  if (ticks_per_operation_ <= 0) return;
  const uint64_t due =
      start_ticks_ +
      static_cast<uint64_t>(static_cast<double>(i) * ticks_per_operation_);
  uint64_t now = TickClock::Now();
  if (now >= due) return;
  // Sleep through most of a long wait (the machine has other work), spin
  // the last 100 us.
  const double wait_ns = static_cast<double>(due - now) / ticks_per_ns_;
  if (wait_ns > 200'000) {
    std::this_thread::sleep_for(
        std::chrono::nanoseconds(static_cast<int64_t>(wait_ns - 100'000)));
  }
  while (TickClock::Now() < due) {
  }
}

const char* TickClock::Source() {
#if defined(__x86_64__)
  return "rdtsc";
#else
  return "steady_clock";
#endif
}

}  // namespace bench
}  // namespace lsmscan
