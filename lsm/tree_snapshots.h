// File: lsm/tree_snapshots.h
// -----------------------------------------------------------------------------
//
// A tree's live snapshots and the read views its readers hold.
//
// A snapshot is live while someone holds it: the user, from
// Tree::AcquireSnapshot() until Tree::ReleaseSnapshot(), or a reader (a
// scan, a get) between AcquireReadView() and ReleaseReadView(). The tree
// frees no table a live snapshot can see (AnyLiveIn() is what it asks).
// A read view also pins the memory tables visible at its snapshot, so none
// is changed or reused while it is read (read_view.h).
//
// Registering a snapshot allocates nothing once the set's reserved
// capacity covers the live snapshots (every scan registers one).

#ifndef LSMSCAN_LSM_TREE_SNAPSHOTS_H_
#define LSMSCAN_LSM_TREE_SNAPSHOTS_H_

#include <cstdint>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "lsmscan/lsm/memory_tables.h"
#include "lsmscan/lsm/read_view.h"
#include "lsmscan/lsm/schema.h"
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
  TreeSnapshots() = default;
  TreeSnapshots(const TreeSnapshots&) = delete;
  TreeSnapshots& operator=(const TreeSnapshots&) = delete;

  // TreeSnapshots::IsLive()
  //
  // True for kSnapshotLatest and for snapshots with a holder.
  bool IsLive(Snapshot snapshot) const {
    return snapshot == kSnapshotLatest || live_.Contains(snapshot);
  }

  // TreeSnapshots::AnyLiveIn()
  //
  // Whether a snapshot in [min, max] has a holder.
  bool AnyLiveIn(Snapshot min, Snapshot max) const {
    return live_.AnyIn(min, max);
  }

  // TreeSnapshots::Acquire()
  //
  // Adds the user as a holder of `snapshot` (the tree's current op).
  void Acquire(Snapshot snapshot) { live_.Add(snapshot); }

  // TreeSnapshots::Release()
  //
  // Removes one user holder of `snapshot`. InvalidArgument if it has none.
  absl::Status Release(Snapshot snapshot) {
    if (!live_.Contains(snapshot)) {
      return absl::InvalidArgumentError(
          absl::StrCat("snapshot ", snapshot, " is not live"));
    }
    live_.Remove(snapshot);
    return absl::OkStatus();
  }

  // TreeSnapshots::AcquireView()
  //
  // A read view at `snapshot` (at `op`, the tree's current op, for
  // kSnapshotLatest): holds the snapshot and pins the memory tables of
  // `memory_tables` visible at it (the mutable table, sorted, only for
  // kSnapshotLatest and only if it is not empty). FailedPrecondition if
  // `snapshot` is not live.
  absl::StatusOr<ReadView<S>> AcquireView(Snapshot snapshot, Snapshot op,
                                          MemoryTables<S>* memory_tables);

  // TreeSnapshots::ReleaseView()
  //
  // Unpins and lets go of what AcquireView() took. REQUIRES: view->active.
  void ReleaseView(ReadView<S>* view);

  // Read views not released.
  uint32_t reader_count() const { return reader_count_; }

 private:
  SnapshotSet live_{64};  // Acquired snapshots and readers.
  uint32_t reader_count_ = 0;
};

// -----------------------------------------------------------------------------
// Implementation.

template <Schema S>
absl::StatusOr<ReadView<S>> TreeSnapshots<S>::AcquireView(
    Snapshot snapshot, Snapshot op, MemoryTables<S>* memory_tables) {
  if (!IsLive(snapshot)) {
    return absl::FailedPreconditionError(
        absl::StrCat("snapshot ", snapshot, " is not live (acquire it first)"));
  }
  ReadView<S> view;
  view.latest = snapshot == kSnapshotLatest;
  view.snapshot = view.latest ? op : snapshot;
  view.active = true;
  live_.Add(view.snapshot);
  reader_count_++;
  if (view.latest && memory_tables->has_mutable() &&
      !memory_tables->mutable_table().empty()) {
    TableMemory<S>& mutable_table = memory_tables->mutable_table();
    mutable_table.Sort();
    mutable_table.Pin();
    view.mutable_table = &mutable_table;
  }
  typename MemoryTables<S>::VisibleTables visible{};
  view.immutable_count = memory_tables->Visible(view.snapshot, &visible);
  for (uint32_t i = 0; i < view.immutable_count; i++) {
    visible[i]->Pin();
    view.immutable_tables[i] = visible[i];
  }
  return view;
}

template <Schema S>
void TreeSnapshots<S>::ReleaseView(ReadView<S>* view) {
  LSMSCAN_ASSERT(view->active);
  if (view->mutable_table != nullptr) view->mutable_table->Unpin();
  for (uint32_t i = 0; i < view->immutable_count; i++) {
    view->immutable_tables[i]->Unpin();
  }
  view->active = false;
  view->mutable_table = nullptr;
  view->immutable_count = 0;
  LSMSCAN_ASSERT(reader_count_ > 0);
  reader_count_--;
  live_.Remove(view->snapshot);
}

}  // namespace lsmscan

#endif  // LSMSCAN_LSM_TREE_SNAPSHOTS_H_
