// File: lsm/tree_testing.h
// -----------------------------------------------------------------------------
//
// Test support for trees (testonly): blocking wrappers around the tree's
// asynchronous calls, a reference model (an ordered map per snapshot), and
// small tree shapes that put data on many levels with little of it.

#ifndef LSMSCAN_LSM_TREE_TESTING_H_
#define LSMSCAN_LSM_TREE_TESTING_H_

#include <cstdint>
#include <map>
#include <optional>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "lsmscan/lsm/schema.h"
#include "lsmscan/lsm/tree.h"
#include "lsmscan/storage/base/assert.h"
#include "lsmscan/storage/storage.h"

namespace lsmscan {
namespace testing {

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
absl::Status CheckpointBlocking(Tree<S>* tree) {
  return RunBlocking(tree->storage(), [&](auto callback, void* context) {
    return tree->Checkpoint(callback, context);
  });
}

// GetBlocking()
//
// The live value of `key` at `snapshot` (nullopt if absent or removed).
// `frame` is needed for copying storages.
template <Schema S>
absl::StatusOr<std::optional<typename S::Value>> GetBlocking(
    Tree<S>* tree, typename S::Key key, Snapshot snapshot,
    std::byte* frame) {
  GetRequest<S> request;
  bool done = false;
  request.key = key;
  request.snapshot = snapshot;
  request.frame = frame;
  request.context = &done;
  request.callback = [](GetRequest<S>* r) { *static_cast<bool*>(r->context) = true; };
  tree->Get(&request);
  while (!done) tree->storage()->Tick(Storage::TickMode::kWaitForProgress);
  if (!request.status.ok()) return request.status;
  if (!request.found) return std::optional<typename S::Value>();
  return std::optional<typename S::Value>(request.value);
}

// PutWithBackPressure()
//
// Puts `value`, compacting (blocking) whenever the memory tables are full.
template <Schema S>
absl::Status PutWithBackPressure(Tree<S>* tree, const typename S::Value& value) {
  absl::Status status = tree->Put(value);
  if (!absl::IsResourceExhausted(status)) return status;
  absl::Status compacted = CompactBlocking(tree);
  if (!compacted.ok()) return compacted;
  return tree->Put(value);
}

// Model<S>
//
// The reference: what the tree must contain, as an ordered map of live
// values, plus frozen copies for the snapshots a test holds.
template <Schema S>
class Model {
 public:
  using Key = typename S::Key;
  using Value = typename S::Value;
  using Map = std::map<Key, Value>;

  void Put(const Value& value) {
    if (S::is_tombstone(value)) {
      latest_.erase(S::key_of(value));
    } else {
      latest_[S::key_of(value)] = value;
    }
  }
  void Freeze(Snapshot snapshot) { frozen_[snapshot] = latest_; }
  void Thaw(Snapshot snapshot) { frozen_.erase(snapshot); }

  // The map a read at `snapshot` must match.
  const Map& at(Snapshot snapshot) const {
    if (snapshot == kSnapshotLatest) return latest_;
    auto it = frozen_.find(snapshot);
    LSMSCAN_ASSERT(it != frozen_.end());
    return it->second;
  }
  const Map& latest() const { return latest_; }
  void set_latest(Map map) { latest_ = std::move(map); }
  const std::map<Snapshot, Map>& frozen() const { return frozen_; }

 private:
  Map latest_;
  std::map<Snapshot, Map> frozen_;
};

// SmallTreeOptions()
//
// A shape for 4 KiB blocks that spreads a few thousand values over many
// levels: tables of 2 data blocks (254 values of 32 bytes), memory tables
// of 200 values, growth factor 2, five levels.
inline TreeOptions SmallTreeOptions() {
  TreeOptions options;
  options.level_count = 5;
  options.growth_factor = 2;
  options.table_data_block_count_max = 2;
  options.memory_table_value_count_max = 200;
  options.immutable_table_count_max = 2;
  options.cache_block_count = 64;
  options.compaction_write_frame_count = 2;
  return options;
}

}  // namespace testing
}  // namespace lsmscan

#endif  // LSMSCAN_LSM_TREE_TESTING_H_
