// File: lsm/tree_snapshots.h
// -----------------------------------------------------------------------------
//
// A tree's live snapshots and the read views its readers hold.
//
// Two kinds of holder, kept apart:
//   * users hold snapshots through handles (snapshot_handle.h), from
//     Tree::AcquireSnapshot() until Tree::ReleaseSnapshot(); a handle is
//     released once, and a stray or double release is refused;
//   * readers (a scan, a get) hold the snapshot they read at between
//     AcquireReadView() and ReleaseReadView(); only a read view can give
//     that hold back, so no user call can drop it.
// A snapshot is live while either kind holds it. The tree frees no disk
// table a live snapshot can see (AnyLiveIn() is what it asks), and no
// memory table a user snapshot sees (AnyUserIn()) or a reader pins: a
// reader reads only the memory tables it pins. A reader may start
// only at kSnapshotLatest or at a snapshot a user holds. A read view also
// pins the memory tables visible at its snapshot, so none is changed or
// reused while it is read (read_view.h).
//
// Registering a reader allocates nothing once the set's reserved capacity
// covers the live snapshots (every scan registers one).

#ifndef LSMSCAN_LSM_TREE_SNAPSHOTS_H_
#define LSMSCAN_LSM_TREE_SNAPSHOTS_H_

#include <cstdint>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "lsmscan/lsm/memory_tables.h"
#include "lsmscan/lsm/read_view.h"
#include "lsmscan/lsm/schema.h"
#include "lsmscan/lsm/snapshot_handle.h"
#include "lsmscan/lsm/snapshot_set.h"
#include "lsmscan/lsm/table_info.h"
#include "lsmscan/lsm/table_memory.h"
#include "lsmscan/lsm/tree_options.h"
#include "lsmscan/storage/base/assert.h"

namespace lsmscan {

// TreeSnapshots<S>
//
// Owned by the tree. It registers and pins; the tree decides what to free
// once a holder lets go.
template <Schema S>
class TreeSnapshots {
 public:
  // Users may hold up to `user_count_max` snapshots at once.
  explicit TreeSnapshots(uint32_t user_count_max) : handles_(user_count_max) {}
  TreeSnapshots(const TreeSnapshots&) = delete;
  TreeSnapshots& operator=(const TreeSnapshots&) = delete;

  // TreeSnapshots::CanRead()
  //
  // Whether a reader may start at `snapshot`: kSnapshotLatest, or a
  // snapshot a user holds.
  bool CanRead(Snapshot snapshot) const {
    return snapshot == kSnapshotLatest || users_.Contains(snapshot);
  }

  // TreeSnapshots::AnyLiveIn()
  //
  // Whether a snapshot in [min, max] has a holder, user or reader.
  bool AnyLiveIn(Snapshot min, Snapshot max) const {
    return users_.AnyIn(min, max) || readers_.AnyIn(min, max);
  }

  // TreeSnapshots::AnyUserIn()
  //
  // Whether a snapshot in [min, max] is held by a user (readers aside).
  bool AnyUserIn(Snapshot min, Snapshot max) const {
    return users_.AnyIn(min, max);
  }

  // TreeSnapshots::Acquire()
  //
  // A handle on `snapshot` (the tree's current op) for the user.
  // ResourceExhausted, changing nothing, when the user holds
  // user_count_max() snapshots already.
  absl::StatusOr<SnapshotHandle> Acquire(Snapshot snapshot) {
    absl::StatusOr<SnapshotHandle> handle = handles_.Issue(snapshot);
    if (handle.ok()) users_.Add(snapshot);
    return handle;
  }

  // TreeSnapshots::Release()
  //
  // Takes back a handle Acquire() issued. InvalidArgument, changing
  // nothing, for a default handle, another tree's handle or one already
  // released (see snapshot_handle.h).
  absl::Status Release(const SnapshotHandle& handle) {
    absl::StatusOr<Snapshot> snapshot = handles_.Take(handle);
    if (!snapshot.ok()) return snapshot.status();
    users_.Remove(*snapshot);
    return absl::OkStatus();
  }

  // TreeSnapshots::CanAcquire()
  //
  // Whether Acquire() would issue a handle now.
  bool CanAcquire() const { return handles_.count() < handles_.count_max(); }

  // TreeSnapshots::AcquireView()
  //
  // A read view at `snapshot` (at `op`, the tree's current op, for
  // kSnapshotLatest): holds the snapshot and pins the runs of the memory
  // tables of `memory_tables` visible at it (the mutable table only for
  // kSnapshotLatest and only if it is not empty). FailedPrecondition unless
  // CanRead(snapshot). REQUIRES: those tables are sorted (no suffix).
  absl::StatusOr<ReadView<S>> AcquireView(Snapshot snapshot, Snapshot op,
                                          MemoryTables<S>* memory_tables);

  // TreeSnapshots::ReleaseView()
  //
  // Unpins and lets go of what AcquireView() took. REQUIRES: view->active.
  void ReleaseView(ReadView<S>* view);

  // TreeSnapshots::ReleaseViewMemory()
  //
  // Unpins the view's memory tables only; the view stays active (holding
  // its snapshot) until ReleaseView(). REQUIRES: view->active.
  void ReleaseViewMemory(ReadView<S>* view);

  // Read views not released.
  uint32_t reader_count() const { return reader_count_; }
  // Handles issued to users and not released.
  uint32_t user_count() const { return handles_.count(); }
  uint32_t user_count_max() const { return handles_.count_max(); }

 private:
  SnapshotHandleTable handles_;
  SnapshotSet users_{64};    // The snapshots of the handles users hold.
  SnapshotSet readers_{64};  // The snapshots read views hold.
  uint32_t reader_count_ = 0;
};

// -----------------------------------------------------------------------------
// Implementation.

template <Schema S>
absl::StatusOr<ReadView<S>> TreeSnapshots<S>::AcquireView(
    Snapshot snapshot, Snapshot op, MemoryTables<S>* memory_tables) {
  if (!CanRead(snapshot)) {
    return absl::FailedPreconditionError(absl::StrCat(
        "snapshot ", snapshot,
        " is not held (read at kSnapshotLatest, or at a SnapshotHandle's "
        "snapshot() until the handle is released)"));
  }
  ReadView<S> view;
  view.latest = snapshot == kSnapshotLatest;
  view.snapshot = view.latest ? op : snapshot;
  view.active = true;
  readers_.Add(view.snapshot);
  reader_count_++;
  typename MemoryTables<S>::VisibleTables visible{};
  view.table_count =
      memory_tables->Visible(view.snapshot, view.latest, &visible);
  for (uint32_t i = 0; i < view.table_count; i++) {
    // Every run the view reads is sorted (the suffix is not read).
    LSMSCAN_ASSERT(visible[i].run_count <= visible[i].table->run_count());
    visible[i].table->Pin(visible[i].run_count);
    view.tables[i] = visible[i];
  }
  return view;
}

template <Schema S>
void TreeSnapshots<S>::ReleaseViewMemory(ReadView<S>* view) {
  LSMSCAN_ASSERT(view->active);
  for (uint32_t i = 0; i < view->table_count; i++) {
    ReadViewTable<S>& table = view->tables[i];
    if (table.table != nullptr) table.table->Unpin(table.run_count);
    table = ReadViewTable<S>();
  }
  view->table_count = 0;
}

template <Schema S>
void TreeSnapshots<S>::ReleaseView(ReadView<S>* view) {
  ReleaseViewMemory(view);
  view->active = false;
  LSMSCAN_ASSERT(reader_count_ > 0);
  reader_count_--;
  readers_.Remove(view->snapshot);
}

}  // namespace lsmscan

#endif  // LSMSCAN_LSM_TREE_SNAPSHOTS_H_
