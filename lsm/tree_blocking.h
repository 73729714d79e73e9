// File: lsm/tree_blocking.h
// -----------------------------------------------------------------------------
//
// Blocking wrappers around the tree's asynchronous calls, for programs that
// have no event loop of their own (tools, benchmarks, tests): each starts
// the call and ticks the storage until its callback has run. Other work on
// the same storage (scans, gets) progresses meanwhile. Do not call them from
// inside a storage callback.

#ifndef LSMSCAN_LSM_TREE_BLOCKING_H_
#define LSMSCAN_LSM_TREE_BLOCKING_H_

#include <optional>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "lsmscan/lsm/schema.h"
#include "lsmscan/lsm/tree.h"
#include "lsmscan/storage/base/status_macros.h"
#include "lsmscan/storage/storage.h"

namespace lsmscan {

namespace tree_blocking_internal {

// The outcome of an asynchronous call a blocking wrapper waits for.
struct Result {
  bool done = false;
  absl::Status status;
};

inline void Done(void* context, absl::Status status) {
  auto* result = static_cast<Result*>(context);
  result->done = true;
  result->status = std::move(status);
}

}  // namespace tree_blocking_internal

// RunBlocking()
//
// Starts `start(callback, context)` (Compact or Checkpoint) and ticks the
// storage until its callback ran; returns the callback's status (or the
// start error).
template <typename Start>
absl::Status RunBlocking(Storage* storage, const Start& start) {
  tree_blocking_internal::Result result;
  absl::Status started = start(&tree_blocking_internal::Done, &result);
  if (!started.ok()) return started;
  while (!result.done) storage->Tick(Storage::TickMode::kWaitForProgress);
  return result.status;
}

template <Schema S>
absl::Status CompactBlocking(Tree<S>* tree) {
  return RunBlocking(tree->storage(), [&](auto callback, void* context) {
    return tree->Compact(callback, context);
  });
}

template <Schema S>
absl::Status CompactAllBlocking(Tree<S>* tree) {
  return RunBlocking(tree->storage(), [&](auto callback, void* context) {
    return tree->CompactAll(callback, context);
  });
}

template <Schema S>
absl::Status CheckpointBlocking(Tree<S>* tree) {
  return RunBlocking(tree->storage(), [&](auto callback, void* context) {
    return tree->Checkpoint(callback, context);
  });
}

// AcquireSnapshotAfterCheckpoint()
//
// Tree::AcquireSnapshot(); if it is refused for the memory-table limit
// (ResourceExhausted with fewer than snapshot_count_max handles held),
// checkpoints (blocking) and tries once more: a snapshot taken right after
// a checkpoint holds no memory table, so only the handle limit or a failed
// checkpoint can refuse it then.
template <Schema S>
absl::StatusOr<SnapshotHandle> AcquireSnapshotAfterCheckpoint(Tree<S>* tree) {
  absl::StatusOr<SnapshotHandle> handle = tree->AcquireSnapshot();
  if (!absl::IsResourceExhausted(handle.status()) ||
      tree->snapshot_count() >= tree->options().snapshot_count_max) {
    return handle;
  }
  absl::Status checkpointed = CheckpointBlocking(tree);
  if (!checkpointed.ok()) return checkpointed;
  return tree->AcquireSnapshot();
}

// GetBlocking()
//
// The live value of `key` at `snapshot` (nullopt if absent or removed).
// `frame` is needed for copying storages.
template <Schema S>
absl::StatusOr<std::optional<typename S::Value>> GetBlocking(
    Tree<S>* tree, typename S::Key key, Snapshot snapshot, std::byte* frame) {
  GetRequest<S> request;
  bool done = false;
  request.key = key;
  request.snapshot = snapshot;
  request.frame = frame;
  request.context = &done;
  request.callback = [](GetRequest<S>* r) {
    *static_cast<bool*>(r->context) = true;
  };
  tree->Get(&request);
  while (!done) tree->storage()->Tick(Storage::TickMode::kWaitForProgress);
  if (!request.status.ok()) return request.status;
  if (!request.found) return std::optional<typename S::Value>();
  return std::optional<typename S::Value>(request.value);
}

// WaitWritableBlocking()
//
// Ticks the storage until a Put() to `tree` would succeed (the tree's
// NotifyWhenWritable() callback ran): background compaction, or readers on
// the same storage letting go of memory tables, make the room. Returns the
// callback's status (an error if background compaction failed), or
// ResourceExhausted, unregistering the waiter, if nothing in flight on the
// storage can free a table (background compaction off or stopped, or every
// sealed table held by a snapshot: release one). FailedPrecondition if
// another waiter is registered.
template <Schema S>
absl::Status WaitWritableBlocking(Tree<S>* tree) {
  tree_blocking_internal::Result result;
  LSMSCAN_RETURN_IF_ERROR(
      tree->NotifyWhenWritable(&tree_blocking_internal::Done, &result));
  Storage* storage = tree->storage();
  while (!result.done) {
    if (storage->pending_count() == 0) {
      tree->CancelNotifyWhenWritable();
      return absl::ResourceExhaustedError(
          "the memory tables are full and no work in flight can free one: "
          "release snapshots, finish scans, or run Compact()");
    }
    storage->Tick(Storage::TickMode::kWaitForProgress);
  }
  return result.status;
}

// PutWithBackPressure()
//
// Puts `value`; when the memory tables are full (ResourceExhausted), waits
// for room with WaitWritableBlocking() and retries. With background
// compaction off, compacts (blocking) instead of waiting.
template <Schema S>
absl::Status PutWithBackPressure(Tree<S>* tree,
                                 const typename S::Value& value) {
  while (true) {
    absl::Status status = tree->Put(value);
    if (!absl::IsResourceExhausted(status)) return status;
    absl::Status waited = tree->options().background_compaction
                              ? WaitWritableBlocking(tree)
                              : CompactBlocking(tree);
    if (!waited.ok()) return waited;
    // With compaction off and nothing to flush (snapshots hold the
    // tables), the retry fails again: report it rather than spin.
    if (!tree->options().background_compaction) return tree->Put(value);
  }
}

}  // namespace lsmscan

#endif  // LSMSCAN_LSM_TREE_BLOCKING_H_
