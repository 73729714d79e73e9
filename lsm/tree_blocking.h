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
#include "lsmscan/storage/storage.h"

namespace lsmscan {

// RunBlocking()
//
// Starts `start(callback, context)` (Compact or Checkpoint) and ticks the
// storage until its callback ran; returns the callback's status (or the
// start error).
template <typename Start>
absl::Status RunBlocking(Storage* storage, const Start& start) {
  struct Result {
    bool done = false;
    absl::Status status;
  } result;
  auto callback = [](void* context, absl::Status status) {
    auto* r = static_cast<Result*>(context);
    r->done = true;
    r->status = std::move(status);
  };
  absl::Status started = start(+callback, &result);
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

// PutWithBackPressure()
//
// Puts `value`, compacting (blocking) when the memory tables are full.
template <Schema S>
absl::Status PutWithBackPressure(Tree<S>* tree,
                                 const typename S::Value& value) {
  absl::Status status = tree->Put(value);
  if (!absl::IsResourceExhausted(status)) return status;
  absl::Status compacted = CompactBlocking(tree);
  if (!compacted.ok()) return compacted;
  return tree->Put(value);
}

}  // namespace lsmscan

#endif  // LSMSCAN_LSM_TREE_BLOCKING_H_
