// File: tools/simulator_clients.h
// -----------------------------------------------------------------------------
//
// The tree's clients as the simulator tracks them: scans, gets, held
// snapshots and the background work in flight, each with what it must
// return (the model sequence it reads at) and what its callback saw.
//
// Part of the simulator (the API is simulator_lib.h; doc/reliability.md).

#ifndef LSMSCAN_TOOLS_SIMULATOR_CLIENTS_H_
#define LSMSCAN_TOOLS_SIMULATOR_CLIENTS_H_

#include <cstdint>
#include <memory>
#include <optional>

#include "absl/status/status.h"
#include "lsmscan/lsm/direction.h"
#include "lsmscan/lsm/table_info.h"
#include "lsmscan/lsm/tree.h"
#include "lsmscan/scan/scan_buffer.h"
#include "lsmscan/scan/scan_tree.h"
#include "lsmscan/storage/aligned_buffer.h"
#include "lsmscan/tools/simulator_types.h"

namespace lsmscan {
namespace simulator {

enum class ScanOutcome : uint8_t { kCompleted, kAborted, kFailed };

// ScanSlot
//
// One ScanTree (with its own ScanBuffer), and what it must return: the live
// values of the model at `model_seq` in [key_min, key_max], in `direction`,
// from `start` on (probes move it), after `last`.
struct ScanSlot {
  std::unique_ptr<SimScan> scan;
  std::unique_ptr<ScanBuffer> buffer;
  bool active = false;
  bool quiet = false;  // Verification scans: no probes, no aborts.
  uint64_t id = 0;
  // A Read() whose callback has not been handled yet.
  bool read_pending = false;
  bool read_done = false;
  bool read_after_abort = false;
  bool unexpected_callback = false;
  uint64_t read_tick = 0;
  absl::Status read_status;
  // The expected output.
  uint64_t model_seq = 0;
  Snapshot snapshot = kSnapshotLatest;
  Key key_min = 0;
  Key key_max = 0;
  Direction direction = Direction::kAscending;
  Key start = 0;
  std::optional<Key> last;
  uint32_t speed = 1;
  uint64_t values = 0;
  ScanOutcome outcome = ScanOutcome::kCompleted;
  absl::Status end_status;
};

// Records a Read() completion in its slot (or that it was not expected).
void OnScanRead(void* context, SimScan* scan, absl::Status status);

// GetSlot
//
// One GetRequest in flight, and the model sequence it must match.
struct GetSlot {
  GetRequest<Rec> request;
  AlignedBuffer frame;
  bool in_flight = false;
  bool done = false;
  bool unexpected_callback = false;
  uint64_t model_seq = 0;
  uint64_t start_tick = 0;
};

// Records a get's completion in its slot (or that it was not expected).
void OnGetDone(GetRequest<Rec>* request);

// HeldSnapshot
//
// A snapshot acquired from the tree, and the model sequence it shows.
struct HeldSnapshot {
  SnapshotHandle handle;
  Snapshot snapshot = 0;
  uint64_t model_seq = 0;
};

enum class WorkKind : uint8_t { kCompact, kCompactAll, kCheckpoint };

// For messages and logs.
const char* WorkName(WorkKind kind);

// WorkState
//
// The Compact(), CompactAll() or Checkpoint() in flight, and what its
// callback saw.
struct WorkState {
  bool in_flight = false;
  bool done = false;
  WorkKind kind = WorkKind::kCompact;
  absl::Status status;
  uint64_t start_tick = 0;
  // At the callback: the tree's flush count (which sealed tables reached
  // disk) and the writes the storage had dropped (a crashed checkpoint).
  uint64_t flushes = 0;
  uint64_t writes_dropped = 0;
};

}  // namespace simulator
}  // namespace lsmscan

#endif  // LSMSCAN_TOOLS_SIMULATOR_CLIENTS_H_
