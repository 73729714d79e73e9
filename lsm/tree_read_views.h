// File: lsm/tree_read_views.h
// -----------------------------------------------------------------------------
//
// Tree<S>'s snapshot calls: AcquireSnapshot() (with its memory-table limit,
// memory_tables.h "Snapshots and back-pressure"), ReleaseSnapshot(), and the
// read views a reader takes and gives back (read_view.h). The sets they
// keep are in tree_snapshots.h. Part of the Tree facade: include
// lsmscan/lsm/tree.h (which includes this file after the class; including
// this file alone works too).

#ifndef LSMSCAN_LSM_TREE_READ_VIEWS_H_
#define LSMSCAN_LSM_TREE_READ_VIEWS_H_

#include <cstdint>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "lsmscan/lsm/read_view.h"
#include "lsmscan/lsm/schema.h"
#include "lsmscan/lsm/snapshot_handle.h"
#include "lsmscan/lsm/tree.h"
#include "lsmscan/storage/base/assert.h"
#include "lsmscan/storage/base/status_macros.h"

namespace lsmscan {

template <Schema S>
absl::StatusOr<SnapshotHandle> Tree<S>::AcquireSnapshot() {
  if (!snapshots_.CanAcquire()) return snapshots_.Acquire(op_);  // The error.
  const uint32_t tables = memory_tables_.SnapshotTableCount(AnyUserIn(), true);
  if (tables > snapshot_memory_table_count_max()) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "user snapshots would hold ", tables,
        " memory tables, over the "
        "limit of immutable_table_count_max - 1 = ",
        snapshot_memory_table_count_max(),
        " (so writes never wedge): "
        "Checkpoint() first (a snapshot after it holds no memory table), "
        "release snapshots, or raise immutable_table_count_max"));
  }
  // The snapshot holds the mutable table's runs as they are now, at a new
  // op (writes after it are newer), without sealing it: writes go on in
  // the same table. Sealed only when no run is free to hold.
  const bool as_before = memory_tables_.mutable_held_as_is();
  const bool has_writes =
      memory_tables_.has_mutable() && !memory_tables_.mutable_table().empty();
  if (has_writes && !as_before) {
    if (memory_tables_.PrepareLatest()) {
      op_++;
      const bool held = memory_tables_.HoldForSnapshot(op_);
      LSMSCAN_ASSERT(held);
    } else {
      Seal();
    }
  } else if (has_writes) {
    const bool held = memory_tables_.HoldForSnapshot(op_);
    LSMSCAN_ASSERT(held);
  }
  absl::StatusOr<SnapshotHandle> handle = snapshots_.Acquire(op_);
  LSMSCAN_ASSERT(handle.ok());
  return handle;
}

template <Schema S>
absl::Status Tree<S>::ReleaseSnapshot(const SnapshotHandle& handle) {
  LSMSCAN_RETURN_IF_ERROR(snapshots_.Release(handle));
  memory_tables_.ReleaseSnapshot(handle.snapshot());
  CollectGarbage();
  return absl::OkStatus();
}

template <Schema S>
absl::StatusOr<ReadView<S>> Tree<S>::AcquireReadView(Snapshot snapshot) {
  if (!snapshots_.CanRead(snapshot)) {
    return snapshots_.AcquireView(snapshot, op_, &memory_tables_);  // Error.
  }
  // The view pins whole runs: sort what it will read first. The latest
  // view sorts the mutable table's suffix into a run (cheap: only what was
  // written since the last read); if pinned runs leave no room for one,
  // the table is sealed instead.
  if (snapshot == kSnapshotLatest && !memory_tables_.PrepareLatest()) Seal();
  memory_tables_.PrepareSealed(snapshot == kSnapshotLatest ? op_ : snapshot);
  return snapshots_.AcquireView(snapshot, op_, &memory_tables_);
}

template <Schema S>
void Tree<S>::ReleaseReadViewMemory(ReadView<S>* view) {
  snapshots_.ReleaseViewMemory(view);
  CollectGarbage();
}

template <Schema S>
void Tree<S>::ReleaseReadView(ReadView<S>* view) {
  snapshots_.ReleaseView(view);
  CollectGarbage();
}

}  // namespace lsmscan

#endif  // LSMSCAN_LSM_TREE_READ_VIEWS_H_
