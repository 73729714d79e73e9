#include "lsmscan/lsm/snapshot_handle.h"

#include <atomic>
#include <cstdint>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "lsmscan/storage/base/assert.h"

namespace lsmscan {
namespace {

// Table ids are unique in the process, so a handle of one tree (or of an
// earlier Open() of the same file) never matches another.
std::atomic<uint64_t> next_table_id{1};

}  // namespace

SnapshotHandleTable::SnapshotHandleTable(uint32_t count_max)
    : id_(next_table_id.fetch_add(1, std::memory_order_relaxed)),
      slots_(count_max) {
  LSMSCAN_ASSERT(count_max > 0);
  free_.reserve(count_max);
  // Slot 0 is handed out first.
  for (uint32_t i = count_max; i > 0; i--) free_.push_back(i - 1);
}

absl::StatusOr<SnapshotHandle> SnapshotHandleTable::Issue(Snapshot snapshot) {
  if (free_.empty()) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "snapshot_count_max = ", slots_.size(),
        " snapshots are held: release one before acquiring another"));
  }
  const uint32_t index = free_.back();
  free_.pop_back();
  Slot& slot = slots_[index];
  LSMSCAN_ASSERT(!slot.held);
  slot.held = true;
  slot.snapshot = snapshot;
  count_++;
  return SnapshotHandle(id_, index, slot.generation, snapshot);
}

absl::StatusOr<Snapshot> SnapshotHandleTable::Take(
    const SnapshotHandle& handle) {
  if (handle.tree_id_ == 0) {
    return absl::InvalidArgumentError(
        "ReleaseSnapshot(): the handle was never issued (a default "
        "SnapshotHandle)");
  }
  if (handle.tree_id_ != id_ || handle.slot_ >= slots_.size()) {
    return absl::InvalidArgumentError(
        "ReleaseSnapshot(): the handle was issued by another tree (or an "
        "earlier Open() of this file)");
  }
  Slot& slot = slots_[handle.slot_];
  if (!slot.held || slot.generation != handle.generation_) {
    return absl::InvalidArgumentError(
        absl::StrCat("ReleaseSnapshot(): the handle of snapshot ",
                     handle.snapshot_, " was already released"));
  }
  LSMSCAN_ASSERT(slot.snapshot == handle.snapshot_);
  slot.held = false;
  slot.generation++;
  free_.push_back(handle.slot_);
  LSMSCAN_ASSERT(count_ > 0);
  count_--;
  return slot.snapshot;
}

}  // namespace lsmscan
