// File: storage/fault_storage.h
// -----------------------------------------------------------------------------
//
// A Storage that wraps another and injects faults, deterministically from a
// seed: failed reads and writes, bit flips in the bytes a read returns,
// delayed and reordered completions, and a "crash" after which writes are
// acknowledged but never reach the inner storage. Layers above `storage/`
// test against it to show that faults surface as errors, never as data.
//
// Two crash models (FaultOptions::crash_loses_unsynced_writes):
//   * in order (the default): every write applied before the crash point
//     survives, every later one is lost;
//   * a device's volatile write cache: the writes no successful Sync()
//     covered are lost in any subset (each block written since the last
//     Sync() independently keeps its new bytes or reverts to what it held
//     then), and the write at the crash point is torn (each sector of it
//     new or old). Only Sync() orders writes; this model catches a missing
//     one.
//
// Example:
//
//   FaultOptions faults;
//   faults.read_corruption_probability = 0.01;
//   faults.delay_probability = 0.5;
//   FaultStorage storage(inner.get(), faults, /*seed=*/42);

#ifndef LSMSCAN_STORAGE_FAULT_STORAGE_H_
#define LSMSCAN_STORAGE_FAULT_STORAGE_H_

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <vector>

#include "absl/status/status.h"
#include "lsmscan/storage/aligned_buffer.h"
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
  // Reads of these blocks always fail (Internal), as on a bad sector.
  std::vector<BlockAddress> unreadable_blocks;
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
  // Reads of these blocks complete exactly `slow_block_ticks` ticks late,
  // even when nothing else is in flight (a slow device region: tests show
  // that work goes on while such a read is outstanding).
  std::vector<BlockAddress> slow_blocks;
  uint32_t slow_block_ticks = 0;
  // After this many writes have been applied, later writes are acknowledged
  // as OK but dropped: the storage has "crashed" (reopen the inner storage to
  // see what survived). Syncs after the crash do nothing and report OK.
  uint64_t write_count_max = UINT64_MAX;
  // With crash_loses_unsynced_writes: a Sync() requested once
  // `write_count_max` writes have been applied crashes the storage too,
  // before the sync takes effect (else only the next write does).
  bool crash_on_sync = false;
  // The crash model (see the file comment). When true, a crash reverts each
  // block written since the last successful Sync() to its bytes at that
  // Sync() with probability `unsynced_loss_probability` (independently; a
  // block never written before reverts to zeros), and tears the write at the
  // crash point: each `torn_sector_bytes` sector of the block holds the new
  // bytes or the old ones, at random. A Sync() covers the writes completed
  // before it. REQUIRES: the inner storage offers ZeroCopyView() (memory).
  bool crash_loses_unsynced_writes = false;
  double unsynced_loss_probability = 0.5;
  uint32_t torn_sector_bytes = 512;
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
  uint64_t slow_reads_completed = 0;  // Reads of `slow_blocks` delivered.
  uint64_t writes_dropped = 0;
  uint64_t syncs_failed = 0;
  // The crash (crash_loses_unsynced_writes): blocks that reverted to their
  // last synced bytes, blocks whose unsynced bytes survived, torn writes.
  uint64_t unsynced_writes_lost = 0;
  uint64_t unsynced_writes_kept = 0;
  uint64_t writes_torn = 0;
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
  // True once the storage has crashed: `write_count_max` writes have been
  // applied, and (with crash_loses_unsynced_writes) a write or sync came
  // after them.
  bool crashed() const {
    if (options_.crash_loses_unsynced_writes) return crash_resolved_;
    return applied_write_count_ >= options_.write_count_max;
  }
  // Blocks written since the last successful Sync() (crash model only).
  size_t unsynced_block_count() const { return unsynced_.size(); }

 private:
  // A slot that carries one outer request through the inner storage.
  struct Slot {
    Storage::Read inner_read;
    Storage::Write inner_write;
    Storage::Read* outer_read = nullptr;
    Storage::Write* outer_write = nullptr;
    FaultStorage* owner = nullptr;
    uint64_t release_tick = 0;
    bool slow = false;  // A read of one of `slow_blocks`.
    absl::Status status;
    const std::byte* data = nullptr;
    Slot* next = nullptr;
  };

  void StartRead(Read* read) override;
  void StartWrite(Write* write) override;
  void PollBackend(TickMode mode) override;
  absl::Status SyncBackend() override;
  absl::Status CloseBackend() override;

  // What a block held at the last successful Sync(), kept while it has
  // unsynced writes (crash model only).
  struct Unsynced {
    AlignedBuffer synced;  // Empty: never written (reverts to zeros).
    uint32_t in_flight = 0;
  };
  // A write the wrapper itself sends to the inner storage at a crash.
  struct CrashWrite {
    Storage::Write write;
    AlignedBuffer data;
    FaultStorage* owner = nullptr;
  };

  static void InnerReadCallback(Storage::Read* inner_read);
  static void InnerWriteCallback(Storage::Write* inner_write);
  static void CrashWriteCallback(Storage::Write* inner_write);
  // Crash model: remembers `address`'s synced bytes before a write.
  void NoteUnsyncedWrite(BlockAddress address);
  // Crash model: the crash itself. `torn` is the write at the crash point,
  // or null (a crash at a sync).
  void Crash(const Write* torn);
  void SubmitCrashWrite(BlockAddress address, AlignedBuffer data);
  // The bytes `address` holds in the inner storage now (zeros if none).
  AlignedBuffer CurrentBytes(BlockAddress address) const;
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
  // Crash model: blocks written since the last successful Sync() (ordered,
  // so a crash is the same for the same seed), and the crash's own writes.
  std::map<BlockAddress, Unsynced> unsynced_;
  std::vector<std::unique_ptr<CrashWrite>> crash_writes_;
  uint64_t crash_writes_pending_ = 0;
  bool crash_resolved_ = false;
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
