// File: lsm/snapshot_handle.h
// -----------------------------------------------------------------------------
//
// SnapshotHandle: a user's hold on one snapshot of a tree, issued by
// Tree::AcquireSnapshot() and given back, exactly once, by
// Tree::ReleaseSnapshot().
//
// A handle is a checked token, not a pointer: it names the tree that issued
// it, a slot of that tree's snapshot table and the slot's generation (bumped
// at every release). Releasing a default-constructed handle, a handle of
// another tree (or of an earlier Open() of the same file), or a handle
// already released is refused with InvalidArgument and changes nothing: a
// stray release can never drop another holder's hold, and readers (scans,
// gets) hold their snapshot apart from users (tree_snapshots.h).
//
// Handles are plain values: copying one copies the token, and whichever copy
// is released first releases the hold (the others become stale). They hold
// no pointer, so a handle may outlive its tree (it is then stale too).
//
// SnapshotHandleTable is the issuing side: a fixed table of
// `snapshot_count_max` slots, allocated once; acquiring past the limit is
// ResourceExhausted.

#ifndef LSMSCAN_LSM_SNAPSHOT_HANDLE_H_
#define LSMSCAN_LSM_SNAPSHOT_HANDLE_H_

#include <cstdint>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "lsmscan/lsm/table_info.h"

namespace lsmscan {

// SnapshotHandle
class SnapshotHandle {
 public:
  // A handle that names no snapshot (releasing it is InvalidArgument).
  SnapshotHandle() = default;

  // SnapshotHandle::snapshot()
  //
  // The op the snapshot reads at: what readers take (ScanTree::Init(),
  // GetRequest::snapshot, ScanIterator). 0 for a default handle.
  Snapshot snapshot() const { return snapshot_; }

  friend bool operator==(const SnapshotHandle&,
                         const SnapshotHandle&) = default;

 private:
  friend class SnapshotHandleTable;

  SnapshotHandle(uint64_t tree_id, uint32_t slot, uint32_t generation,
                 Snapshot snapshot)
      : tree_id_(tree_id),
        slot_(slot),
        generation_(generation),
        snapshot_(snapshot) {}

  uint64_t tree_id_ = 0;  // 0: issued by no tree.
  uint32_t slot_ = 0;
  uint32_t generation_ = 0;
  Snapshot snapshot_ = 0;
};

// SnapshotHandleTable
//
// The handles a tree has issued and not had back.
class SnapshotHandleTable {
 public:
  // `count_max` slots (at least one).
  explicit SnapshotHandleTable(uint32_t count_max);
  SnapshotHandleTable(const SnapshotHandleTable&) = delete;
  SnapshotHandleTable& operator=(const SnapshotHandleTable&) = delete;

  // SnapshotHandleTable::Issue()
  //
  // A new handle on `snapshot`. ResourceExhausted (naming the limit) when
  // every slot is held; nothing changes then.
  absl::StatusOr<SnapshotHandle> Issue(Snapshot snapshot);

  // SnapshotHandleTable::Take()
  //
  // Takes `handle` back and returns its snapshot. InvalidArgument, changing
  // nothing, for a handle this table did not issue or already took back.
  absl::StatusOr<Snapshot> Take(const SnapshotHandle& handle);

  // Handles issued and not taken back.
  uint32_t count() const { return count_; }
  uint32_t count_max() const { return static_cast<uint32_t>(slots_.size()); }

 private:
  struct Slot {
    Snapshot snapshot = 0;
    uint32_t generation = 0;
    bool held = false;
  };

  uint64_t id_;  // Unique in the process, never 0.
  std::vector<Slot> slots_;
  std::vector<uint32_t> free_;  // Indexes of free slots.
  uint32_t count_ = 0;
};

}  // namespace lsmscan

#endif  // LSMSCAN_LSM_SNAPSHOT_HANDLE_H_
