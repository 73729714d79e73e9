// File: storage/fault_storage.h
// -----------------------------------------------------------------------------
//
// A Storage that wraps another and injects faults, deterministically from a
// seed: failed reads and writes, bit flips in the bytes a read returns,
// delayed and reordered completions, and a "crash" after which writes are
// acknowledged but never reach the inner storage. Layers above `storage/`
// test against it to show that faults surface as errors, never as data.
//
// Example:
//
//   FaultOptions faults;
//   faults.read_corruption_probability = 0.01;
//   faults.delay_probability = 0.5;
//   FaultStorage storage(inner.get(), faults, /*seed=*/42);

#ifndef LSMSCAN_STORAGE_FAULT_STORAGE_H_
#define LSMSCAN_STORAGE_FAULT_STORAGE_H_

#include <cstdint>
#include <vector>

#include "absl/status/status.h"
#include "lsmscan/storage/base/intrusive_queue.h"
#include "lsmscan/storage/base/prng.h"
#include "lsmscan/storage/storage.h"

namespace lsmscan {

// FaultOptions
//
// What to inject. Probabilities are per request, in [0, 1].
struct FaultOptions {
  // A read completes with an I/O error (Internal).
  double read_error_probability = 0;
  // A write completes with an I/O error and is not applied.
  double write_error_probability = 0;
  // A read returns a copy of the block with one bit flipped, within its
  // first `read_corruption_span_bytes` bytes (0: anywhere in the block).
  double read_corruption_probability = 0;
  uint32_t read_corruption_span_bytes = 0;
  // Sync() fails with an I/O error (Internal), as fsync(2) can: with this
  // probability, and always once `sync_count_max` syncs have succeeded.
  double sync_error_probability = 0;
  uint64_t sync_count_max = UINT64_MAX;
  // A completion is held back for 1..delay_ticks_max ticks; held completions
  // are released in random order, so completions get reordered.
  double delay_probability = 0;
  uint32_t delay_ticks_max = 4;
  // After this many writes have been applied, later writes are acknowledged
  // as OK but dropped: the storage has "crashed" (reopen the inner storage to
  // see what survived).
  uint64_t write_count_max = UINT64_MAX;
  // Requests in flight at once through the wrapper (preallocated); more
  // complete with ResourceExhausted.
  uint32_t request_count_max = 1024;
};

// FaultStats
//
// How many faults of each kind were injected so far.
struct FaultStats {
  uint64_t reads_failed = 0;
  uint64_t writes_failed = 0;
  uint64_t reads_corrupted = 0;
  uint64_t completions_delayed = 0;
  uint64_t writes_dropped = 0;
  uint64_t syncs_failed = 0;
};

// FaultStorage
//
// Forwards to `inner` (not owned; must outlive the wrapper), injecting the
// faults of `options`. The same seed and the same calls give the same faults.
// Always a copying storage (reads land in the caller's buffer), whatever the
// inner one is, so no layer above can trust a view it verified earlier: every
// read through the wrapper is exposed to its faults.
class FaultStorage final : public Storage {
 public:
  FaultStorage(Storage* inner, const FaultOptions& options, uint64_t seed);
  ~FaultStorage() override;

  bool zero_copy() const override { return false; }
  const char* name() const override { return "fault"; }

  // FaultStorage::set_options()
  //
  // Changes what is injected from now on (e.g. quiet during set-up).
  void set_options(const FaultOptions& options);
  const FaultOptions& fault_options() const { return options_; }
  const FaultStats& fault_stats() const { return fault_stats_; }
  // Syncs that succeeded so far.
  uint64_t sync_count() const { return sync_count_; }
  // True once `write_count_max` writes have been applied.
  bool crashed() const {
    return applied_write_count_ >= options_.write_count_max;
  }

 private:
  // A slot that carries one outer request through the inner storage.
  struct Slot {
    Storage::Read inner_read;
    Storage::Write inner_write;
    Storage::Read* outer_read = nullptr;
    Storage::Write* outer_write = nullptr;
    FaultStorage* owner = nullptr;
    uint64_t release_tick = 0;
    absl::Status status;
    const std::byte* data = nullptr;
    Slot* next = nullptr;
  };

  void StartRead(Read* read) override;
  void StartWrite(Write* write) override;
  void PollBackend(TickMode mode) override;
  absl::Status SyncBackend() override;
  absl::Status CloseBackend() override;

  static void InnerReadCallback(Storage::Read* inner_read);
  static void InnerWriteCallback(Storage::Write* inner_write);
  Slot* AcquireSlot();
  // Either completes `slot` now or holds it for a later tick.
  void Finish(Slot* slot);
  void Complete(Slot* slot);
  void ReleaseHeld(bool release_all);
  // Copies the inner storage's bytes into the caller's buffer.
  void CopyOut(Slot* slot, const std::byte* source);

  Storage* inner_;
  FaultOptions options_;
  Prng prng_;
  FaultStats fault_stats_;
  uint64_t tick_ = 0;
  uint64_t applied_write_count_ = 0;
  uint64_t sync_count_ = 0;
  std::vector<Slot> slots_;
  IntrusiveQueue<Slot> free_slots_;
  IntrusiveQueue<Slot> ready_;  // Completed without the inner storage.
  // Requests beyond request_count_max: they fail with ResourceExhausted.
  IntrusiveQueue<Read> overflow_reads_;
  IntrusiveQueue<Write> overflow_writes_;
  std::vector<Slot*> held_;  // Delayed completions (bounded by slots_).
};

}  // namespace lsmscan

#endif  // LSMSCAN_STORAGE_FAULT_STORAGE_H_
