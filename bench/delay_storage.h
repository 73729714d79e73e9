// File: bench/delay_storage.h
// -----------------------------------------------------------------------------
//
// A Storage for benchmarks that forwards every request to another and holds
// back the completion of reads of chosen blocks until a fixed wall-clock
// delay has passed since they were submitted: a slow device region
// (//bench:fence_benchmark --shape=slow_level). Other reads and all writes
// complete as the inner storage completes them. storage/fault_storage.h
// delays by ticks, which suits deterministic tests but not a timed run.
//
// Example:
//
//   DelayStorage slow(uring.get(), level_blocks, std::chrono::microseconds(
//                     2000));
//   auto tree = Tree<S>::Open(&slow, options);

#ifndef LSMSCAN_BENCH_DELAY_STORAGE_H_
#define LSMSCAN_BENCH_DELAY_STORAGE_H_

#include <chrono>
#include <cstdint>
#include <unordered_set>
#include <vector>

#include "absl/status/status.h"
#include "lsmscan/storage/storage.h"

namespace lsmscan {
namespace bench {

// DelayStorage
//
// Wraps `inner` (not owned; must outlive it). Reads of `slow_blocks`
// complete no earlier than `delay` after their submission. At most
// kRequestCountMax requests in flight.
class DelayStorage final : public Storage {
 public:
  using Clock = std::chrono::steady_clock;
  static constexpr uint32_t kRequestCountMax = 4096;

  DelayStorage(Storage* inner, const std::vector<BlockAddress>& slow_blocks,
               Clock::duration delay);
  ~DelayStorage() override;

  bool zero_copy() const override { return inner_->zero_copy(); }
  const char* name() const override { return "delay"; }
  // Reads of slow blocks completed so far.
  uint64_t slow_read_count() const { return slow_read_count_; }

 private:
  // Carries one outer request through the inner storage.
  struct Slot {
    Storage::Read inner_read;
    Storage::Write inner_write;
    Storage::Read* outer_read = nullptr;
    Storage::Write* outer_write = nullptr;
    DelayStorage* owner = nullptr;
    Clock::time_point due;  // Slow reads: when it may complete.
  };

  void StartRead(Read* read) override;
  void StartWrite(Write* write) override;
  void PollBackend(TickMode mode) override;
  absl::Status SyncBackend() override { return inner_->Sync(); }
  absl::Status CloseBackend() override;

  static void InnerReadCallback(Storage::Read* inner_read);
  static void InnerWriteCallback(Storage::Write* inner_write);
  Slot* AcquireSlot();
  // Completes held slow reads that are due; returns how many.
  uint32_t ReleaseDue();

  Storage* inner_;
  std::unordered_set<BlockAddress> slow_blocks_;
  Clock::duration delay_;
  std::vector<Slot> slots_;
  std::vector<Slot*> free_;
  std::vector<Slot*> held_;  // Slow reads done by the inner storage.
  uint32_t completed_in_poll_ = 0;
  uint64_t slow_read_count_ = 0;
};

}  // namespace bench
}  // namespace lsmscan

#endif  // LSMSCAN_BENCH_DELAY_STORAGE_H_
