// File: storage/storage.h
// -----------------------------------------------------------------------------
//
// The block storage interface every layer of lsmscan reads and writes through.
// A `Storage` is an array of fixed-size blocks, addressed by index, with an
// asynchronous, completion-based API after TigerBeetle's storage:
//
//   * The caller owns every request object (`Storage::Read`, `Storage::Write`,
//     `Storage::NextTick`) and keeps it alive until its callback has run.
//     Submitting never allocates.
//   * Callbacks run only from `Tick()`, never inside the submit call, so a
//     caller can submit from anywhere (even from a callback) without
//     re-entrancy. Any number of requests may be in flight at once.
//   * Errors are values: every failure (I/O error, short read, address out of
//     range, misaligned buffer, closed storage) arrives as a non-OK `status`
//     in the completed request. Nothing in this interface aborts on bad input.
//
// Which backend sits behind the interface (memory, pread, mmap, a fault
// injector) is chosen at open time; nothing above `storage/` knows.
//
// Thread safety: none. One thread owns a storage and all its requests.
//
// Example:
//
//   Storage::Read read;
//   read.address = 7;
//   read.buffer = frame;            // block_size_bytes, 4 KiB-aligned
//   read.callback = [](Storage::Read* r) { ... r->status, r->data ... };
//   storage->SubmitRead(&read);
//   storage->RunUntilIdle();        // or Tick() from an event loop

#ifndef LSMSCAN_STORAGE_STORAGE_H_
#define LSMSCAN_STORAGE_STORAGE_H_

#include <cstddef>
#include <cstdint>

#include "absl/status/status.h"
#include "lsmscan/storage/base/intrusive_queue.h"

namespace lsmscan {

// BlockAddress
//
// The index of a block: its byte offset is `address * block_size_bytes`.
using BlockAddress = uint64_t;

// kSectorSizeBytes
//
// The alignment of every buffer handed to a storage (so O_DIRECT works).
inline constexpr size_t kSectorSizeBytes = 4096;

// Limits on `StorageOptions::block_size_bytes`.
inline constexpr uint32_t kBlockSizeBytesMin = 4096;
inline constexpr uint32_t kBlockSizeBytesMax = 16u << 20;
inline constexpr uint32_t kBlockSizeBytesDefault = 64u << 10;
static_assert(kBlockSizeBytesMin % kSectorSizeBytes == 0);
static_assert(kBlockSizeBytesDefault >= kBlockSizeBytesMin);
static_assert(kBlockSizeBytesDefault <= kBlockSizeBytesMax);

// StorageOptions
//
// The geometry of a storage, fixed when it is opened.
struct StorageOptions {
  // The size of every block: a power of two in
  // [kBlockSizeBytesMin, kBlockSizeBytesMax]. Default 64 KiB.
  uint32_t block_size_bytes = kBlockSizeBytesDefault;

  // The storage never holds more blocks than this. Backends reserve address
  // space (not memory) for it up front, so views never move. Default 2^20
  // blocks (64 GiB at the default block size).
  uint64_t block_count_max = uint64_t{1} << 20;
};

// ValidateStorageOptions()
//
// Returns InvalidArgument naming the bad field, or OK.
absl::Status ValidateStorageOptions(const StorageOptions& options);

// StorageStats
//
// Counters of completed requests, for benchmarks and tests.
struct StorageStats {
  uint64_t read_count = 0;
  uint64_t write_count = 0;
  uint64_t read_bytes = 0;
  uint64_t write_bytes = 0;
  uint64_t error_count = 0;
  // Read requests the device saw: fewer than read_count where a backend
  // merges consecutive reads (io_uring).
  uint64_t device_read_count = 0;
};

// Storage
//
// The abstract block storage. See the file comment for the contract.
class Storage {
 public:
  struct Read;
  struct Write;
  struct NextTick;

  // Callbacks take the request they complete; recover the owner through the
  // request's `context` (or by embedding the request in the owner).
  using ReadCallback = void (*)(Read* read);
  using WriteCallback = void (*)(Write* write);
  using NextTickCallback = void (*)(NextTick* next_tick);

  // Storage::Read
  //
  // A caller-owned read of one whole block.
  struct Read {
    // Set by the caller before SubmitRead().
    BlockAddress address = 0;
    // Where a copying backend puts the bytes: block_size_bytes long, aligned
    // to kSectorSizeBytes. May be nullptr only if `zero_copy()`.
    std::byte* buffer = nullptr;
    ReadCallback callback = nullptr;
    void* context = nullptr;  // Free for the caller; the storage ignores it.

    // Valid when the callback runs.
    absl::Status status;
    // The block's bytes iff `status.ok()`. A zero-copy backend points into
    // its own memory; a copying one points at `buffer`. The view is valid
    // until the block is written again or the storage is closed.
    const std::byte* data = nullptr;

    // Owned by the storage while the read is in flight.
    Read* next = nullptr;
  };

  // Storage::Write
  //
  // A caller-owned write of one whole block.
  struct Write {
    BlockAddress address = 0;
    // block_size_bytes long, aligned to kSectorSizeBytes; must stay unchanged
    // until the callback runs.
    const std::byte* data = nullptr;
    WriteCallback callback = nullptr;
    void* context = nullptr;

    // Valid when the callback runs. OK means the block is written (durable
    // only after a later Sync()).
    absl::Status status;

    Write* next = nullptr;
  };

  // Storage::NextTick
  //
  // A deferred callback: lets a layer complete a request "asynchronously"
  // without I/O (a cache hit) while keeping callbacks off the submit path.
  struct NextTick {
    NextTickCallback callback = nullptr;
    void* context = nullptr;
    NextTick* next = nullptr;
  };

  // TickMode
  //
  // Whether Tick() may block waiting for an in-flight request.
  enum class TickMode : uint8_t { kPoll, kWaitForProgress };

  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;
  virtual ~Storage() = default;

  // Storage::SubmitRead()
  //
  // Starts reading block `read->address`, which must have been written (its
  // write completed) before this call. The callback runs from a later
  // Tick(), with `status` OK and `data` set, or an error: OutOfRange for an
  // address at or past `block_count()`, InvalidArgument for a missing or
  // misaligned buffer, FailedPrecondition once closed, the I/O error else.
  void SubmitRead(Read* read);

  // Storage::SubmitWrite()
  //
  // Starts writing block `write->address`; the storage grows to cover it.
  // OutOfRange past `block_count_max`; otherwise as SubmitRead().
  void SubmitWrite(Write* write);

  // Storage::SubmitNextTick()
  //
  // Runs `next_tick->callback` from the next Tick().
  void SubmitNextTick(NextTick* next_tick);

  // Storage::Tick()
  //
  // Delivers every completion that is ready, then the next-tick callbacks
  // submitted before this call. Requests submitted by those callbacks wait
  // for a later Tick(). With kWaitForProgress, blocks until at least one
  // request completes if none is ready but some are in flight.
  void Tick(TickMode mode = TickMode::kPoll);

  // Storage::RunUntilIdle()
  //
  // Ticks until no request is in flight (callbacks may submit more).
  void RunUntilIdle();

  // Storage::Sync()
  //
  // Makes every completed write durable (fdatasync). Synchronous.
  // FailedPrecondition once closed.
  absl::Status Sync();

  // Storage::Close()
  //
  // Completes in-flight requests, syncs and releases the backend. Later
  // submissions fail with FailedPrecondition. Idempotent.
  absl::Status Close();

  // Storage::zero_copy()
  //
  // True iff reads return views into the backend's own memory, so
  // `Read::buffer` may be nullptr and is never written. Constant for the
  // life of the storage.
  virtual bool zero_copy() const = 0;

  // Storage::ZeroCopyView()
  //
  // For a zero-copy backend, the bytes of written block `address` without a
  // request (the same view a read would return); nullptr if the backend is
  // not zero-copy, does not offer this, or the block is not written. Never
  // does I/O itself, but touching an mmap view may fault pages in.
  virtual const std::byte* ZeroCopyView(BlockAddress address) const {
    (void)address;
    return nullptr;
  }

  // Storage::name()
  //
  // A short name of the backend, e.g. "memory", "pread", "mmap".
  virtual const char* name() const = 0;

  const StorageOptions& options() const { return options_; }
  uint32_t block_size_bytes() const { return options_.block_size_bytes; }

  // Storage::block_count()
  //
  // One past the highest block written (or present at open).
  uint64_t block_count() const { return block_count_; }

  // Storage::pending_count()
  //
  // Submitted requests whose callback has not yet run.
  uint64_t pending_count() const { return pending_count_; }

  bool closed() const { return closed_; }
  // Storage::in_tick()
  //
  // True while Tick() runs: inside a completion or next-tick callback. A
  // caller cannot wait there for its own requests by ticking (they may be in
  // the batch being delivered).
  bool in_tick() const { return tick_depth_ > 0; }
  const StorageStats& stats() const { return stats_; }

 protected:
  Storage(const StorageOptions& options, uint64_t block_count);

  // Backend hooks. `StartRead`/`StartWrite` receive only requests that passed
  // validation; the backend finishes each by calling CompleteRead() or
  // CompleteWrite() from within PollBackend(), never from Start*().
  virtual void StartRead(Read* read) = 0;
  virtual void StartWrite(Write* write) = 0;
  // Completes whatever is ready; may block only if `mode` allows it and
  // requests are in flight in the backend.
  virtual void PollBackend(TickMode mode) = 0;
  // Makes completed writes durable; the storage is open.
  virtual absl::Status SyncBackend() = 0;
  // Releases the backend; every request has completed.
  virtual absl::Status CloseBackend() = 0;

  void CompleteRead(Read* read, absl::Status status, const std::byte* data);
  void CompleteWrite(Write* write, absl::Status status);

  // Grows block_count() to cover `address` (on a successful write).
  void NoteWritten(BlockAddress address);

  // Counts one read request sent to the device (see StorageStats).
  void NoteDeviceRead() { stats_.device_read_count++; }

  // Whether `buffer` is non-null and aligned to kSectorSizeBytes.
  static bool IsAligned(const void* buffer);

 private:
  absl::Status ValidateRead(const Read& read) const;
  absl::Status ValidateWrite(const Write& write) const;

  StorageOptions options_;
  uint64_t block_count_;
  uint64_t pending_count_ = 0;
  uint32_t tick_depth_ = 0;  // Tick() calls running (nested from callbacks).
  bool closed_ = false;
  StorageStats stats_;
  // Requests that failed validation complete from the next Tick().
  IntrusiveQueue<Read> rejected_reads_;
  IntrusiveQueue<Write> rejected_writes_;
  IntrusiveQueue<NextTick> next_ticks_;
};

}  // namespace lsmscan

#endif  // LSMSCAN_STORAGE_STORAGE_H_
