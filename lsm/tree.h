// File: lsm/tree.h
// -----------------------------------------------------------------------------
//
// An LSM tree of fixed-size values (a Schema), after TigerBeetle's: a mutable
// memory table, a few immutable ones, and `level_count` disk levels, each a
// sorted run of disjoint tables growing by `growth_factor` per level.
//
//   * Put() / Remove() append to the mutable table (Remove writes a
//     tombstone): O(1), nothing sorted, no I/O. When it is full it is sealed
//     into an immutable table, also O(1); when no immutable slot is free, the
//     write returns ResourceExhausted (overload: wait with
//     NotifyWhenWritable()). Memory
//     tables are sorted runs plus an unsorted suffix (table_memory.h): a
//     read at kSnapshotLatest sorts only the suffix written since the last
//     read into a new run, and a reader pinning the mutable table does not
//     stop writes to it.
//   * Get() reads one key at a snapshot, asynchronously.
//   * Background compaction (TreeOptions::background_compaction, on by
//     default): the tree flushes sealed memory tables to level 0 and
//     compacts level i into i + 1 while a level is over its size, one job at
//     a time, in bounded steps run from the storage's Tick() and paced by
//     the writes (compaction_pace.h). The caller ticks the storage.
//   * Compact() forces that work to its end, joining the background job.
//   * Checkpoint() flushes everything and durably writes the manifest and a
//     superblock; Open() recovers the newest checkpoint. Data written after
//     the last checkpoint is lost in a crash; checkpointed data never is.
//
// Snapshots. AcquireSnapshot() holds the mutable table's runs as they are
// (doc/design.md "Snapshots") and returns a SnapshotHandle (snapshot_handle.h)
// on the current op S: reads at S (handle.snapshot()) see every write made
// before the call and nothing after, until the handle is released, whatever
// compactions run meanwhile (replaced tables are freed only when no live
// snapshot can see them). ReleaseSnapshot() takes a handle back exactly once; a
// stray, double or foreign release is InvalidArgument and changes nothing.
// Readers hold the snapshot they read at apart from users, so no release drops
// a running scan's hold. Reads at kSnapshotLatest see the current state,
// including the mutable table. An older snapshot sees only the runs of the
// mutable table it holds: the writes after it are newer by construction.
//
// Asynchrony. Get, Compact and Checkpoint complete through callbacks run
// from the storage's Tick(), never inside the call. Create and Open are
// blocking (they drive the storage until done).
//
// Thread safety: none. One thread owns the tree, its storage and its
// readers.
//
// This is the one header users include. The tree's parts, each in its own
// header:
//   tree_get.h             GetRequest and the point read
//   tree_snapshots.h       live snapshots and read views
//   tree_read_views.h      AcquireSnapshot(), ReleaseSnapshot() and the
//                          read views readers take (the tree's side)
//   compaction_planner.h   which compaction job runs next
//   compaction_pace.h      how much background work each tick does
//   compaction.h           running one compaction job
//   tree_compaction.h      the schedule of background work, compactions and
//                          checkpoints, the commit of each job, freeing
//                          retired tables
//   tree_checkpoint.h      writing a checkpoint (manifest and superblock)
//   tree_recovery.h        recovering the newest checkpoint (Open())
// This file holds the facade: creating and opening, the write path (Put,
// Remove, sealing the mutable table) and the calls that hand off to the
// parts.

#ifndef LSMSCAN_LSM_TREE_H_
#define LSMSCAN_LSM_TREE_H_

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "lsmscan/lsm/compaction.h"
#include "lsmscan/lsm/compaction_pace.h"
#include "lsmscan/lsm/compaction_planner.h"
#include "lsmscan/lsm/data_block.h"
#include "lsmscan/lsm/grid.h"
#include "lsmscan/lsm/manifest.h"
#include "lsmscan/lsm/memory_tables.h"
#include "lsmscan/lsm/read_view.h"
#include "lsmscan/lsm/schema.h"
#include "lsmscan/lsm/snapshot_handle.h"
#include "lsmscan/lsm/superblock.h"
#include "lsmscan/lsm/superblock_copies.h"
#include "lsmscan/lsm/table_info.h"
#include "lsmscan/lsm/table_memory.h"
#include "lsmscan/lsm/tree_checkpoint.h"
#include "lsmscan/lsm/tree_get.h"
#include "lsmscan/lsm/tree_options.h"
#include "lsmscan/lsm/tree_recovery.h"
#include "lsmscan/lsm/tree_snapshots.h"
#include "lsmscan/lsm/tree_stats.h"
#include "lsmscan/storage/base/assert.h"
#include "lsmscan/storage/base/status_macros.h"
#include "lsmscan/storage/storage.h"

namespace lsmscan {

// Tree<S>
template <Schema S>
class Tree {
 public:
  using Key = typename S::Key;
  using Value = typename S::Value;
  // Completion of Compact(), Checkpoint() and NotifyWhenWritable().
  using Callback = void (*)(void* context, absl::Status status);

  // Tree::Create()
  //
  // Formats an empty `storage` (not owned; must outlive the tree) as a new,
  // empty tree and writes its first checkpoint. FailedPrecondition if the
  // storage is not empty. Blocking.
  static absl::StatusOr<std::unique_ptr<Tree>> Create(
      Storage* storage, const TreeOptions& options);

  // Tree::Open()
  //
  // Recovers the newest valid checkpoint of `storage`: the valid superblock
  // copy with the highest sequence (a checkpoint that reported OK survives
  // the loss of any one copy). Rewrites the copies of that checkpoint that
  // did not hold it; recovery() reports the checkpoint and every damaged
  // copy (nothing is logged). Errors: NotFound (an empty storage),
  // FailedPrecondition (not an lsmscan file, another format version, or
  // another schema or level count), InvalidArgument (another block size),
  // DataLoss (no intact checkpoint, a corrupt one, or one whose blocks lie
  // past the end of a truncated storage), an I/O error (both superblock
  // copies of a slot unreadable). A repair the storage refuses (a
  // read-only file) is in recovery().repair_status, not an error. Blocking.
  static absl::StatusOr<std::unique_ptr<Tree>> Open(Storage* storage,
                                                    const TreeOptions& options);

  Tree(const Tree&) = delete;
  Tree& operator=(const Tree&) = delete;
  // Finishes a background job in flight (ticking the storage: other
  // callbacks on it may run), starting no other. REQUIRES: no Compact(),
  // CompactAll() or Checkpoint() running, no reader open, no waiter
  // registered, not inside a storage callback while background work runs.
  ~Tree();

  // Tree::Put()
  //
  // Writes `value`, replacing any value with its key (a tombstone value,
  // S::is_tombstone(), removes the key). InvalidArgument, and nothing
  // written, if its key is outside the schema's domain (S::key_valid(), see
  // schema.h). Never blocks, does I/O or runs a callback. ResourceExhausted,
  // nothing written, when the memory tables are full: writes outpace the
  // compaction (an overload), or an open scan or get holds the memory
  // tables (held snapshots cannot: AcquireSnapshot()). Wait with
  // NotifyWhenWritable(), then retry (or run Compact(): it frees a table
  // once no open scan or get holds the memory tables).
  absl::Status Put(const Value& value);

  // Tree::Remove()
  //
  // Writes a tombstone for `key` (whether or not the key exists). Errors as
  // Put().
  absl::Status Remove(const Key& key) {
    if (!SchemaKeyValid<S>(key)) return KeyOutsideDomain();
    return Put(S::tombstone(key));
  }

  // Tree::Get()
  //
  // Looks `request->key` up at `request->snapshot`; the callback runs from a
  // later Tick(). FailedPrecondition in `status` if the snapshot is not live;
  // InvalidArgument if the storage copies (pread, io_uring) and
  // `request->frame` is null or not aligned to kSectorSizeBytes.
  void Get(GetRequest<S>* request);

  // Tree::AcquireSnapshot()
  //
  // A handle on a snapshot of the current state (see the file comment):
  // read at handle.snapshot() until ReleaseSnapshot(handle). Holds the
  // mutable table's runs as they are (sorting its suffix into a run), not
  // sealing it, unless no run is free to hold (then it seals it).
  // ResourceExhausted, changing nothing, when options().snapshot_count_max
  // handles are held, or when user snapshots would then hold more than
  // snapshot_memory_table_count_max() = immutable_table_count_max - 1
  // memory tables (the error names the limit). That limit keeps writes
  // going: under it, a Put refused for back-pressure always goes through
  // after one Compact() once no reader holds memory tables (the proof is in
  // memory_tables.h, "Snapshots and back-pressure"). A snapshot taken right
  // after Checkpoint() or CompactAll(), with no write since, holds no memory
  // table and is never refused for it.
  absl::StatusOr<SnapshotHandle> AcquireSnapshot();

  // Tree::ReleaseSnapshot()
  //
  // Gives back a handle AcquireSnapshot() issued, exactly once. Readers
  // already reading at its snapshot keep their own hold until they end.
  // InvalidArgument, changing nothing, for a default handle, a handle of
  // another tree (or of an earlier Open()) or one already released.
  absl::Status ReleaseSnapshot(const SnapshotHandle& handle);

  // Tree::NotifyWhenWritable()
  //
  // Registers one waiter: `callback(context, OK)` runs exactly once, from a
  // later Tick(), once a Put() would succeed (from the next Tick() if one
  // would now), and the waiter is unregistered; if background compaction
  // failed (background_status()), it gets that error instead. Space frees
  // when a sealed table is flushed, or a reader or snapshot holding one
  // lets it go. FailedPrecondition if a waiter is already registered.
  absl::Status NotifyWhenWritable(Callback callback, void* context);

  // Tree::CancelNotifyWhenWritable()
  //
  // Unregisters the waiter, if any, without calling it.
  void CancelNotifyWhenWritable() { writable_callback_ = nullptr; }

  // Tree::Compact()
  //
  // Flushes sealed memory tables and compacts over-full levels until none
  // is left, unpaced; `callback(context, status)` runs from a later Tick().
  // Joins background work: a background job in flight becomes the first
  // job of the compaction and runs unpaced to its end. Clears a background
  // error (the work is retried). FailedPrecondition if a Compact(),
  // CompactAll() or Checkpoint() is already running.
  absl::Status Compact(Callback callback, void* context);

  // Tree::CompactAll()
  //
  // Seals the mutable table, flushes the memory tables, then merges every
  // level down into the last one, leaving one sorted run with no tombstone
  // (the last level never holds one: compaction_planner.h). For benchmarks
  // and bulk loads. Joins background work as Compact() does.
  absl::Status CompactAll(Callback callback, void* context);

  // Tree::Checkpoint()
  //
  // Seals and flushes the memory tables, then durably writes the manifest
  // and two superblock copies; joins background work as Compact() does.
  // When the callback reports OK, everything
  // written before the call survives a crash, and the loss of any one
  // superblock copy. FailedPrecondition if busy, or if an earlier
  // checkpoint wrote one superblock copy but failed to write the other or
  // to sync them (reopen the tree: the outcome of that checkpoint is then
  // whatever reached the disk). The two syncs (manifest, then superblock)
  // are synchronous Storage::Sync() calls: the checkpoint blocks the
  // storage loop, with every scan and get on it, while each runs.
  absl::Status Checkpoint(Callback callback, void* context);

  // Tree::AcquireReadView()
  //
  // For readers (scans, gets): holds `snapshot` (or the current op for
  // kSnapshotLatest) for the reader and pins the memory tables visible at
  // it. FailedPrecondition unless `snapshot` is kSnapshotLatest or held by
  // a user (SnapshotIsLive()).
  absl::StatusOr<ReadView<S>> AcquireReadView(Snapshot snapshot);

  // Tree::ReleaseReadView()
  //
  // Unpins and unregisters what AcquireReadView() took.
  void ReleaseReadView(ReadView<S>* view);

  // Tree::ReleaseReadViewMemory()
  //
  // Unpins the memory tables of `view` but keeps its snapshot held (for a
  // reader whose disk reads are still in flight); ReleaseReadView() later
  // gives back the rest.
  void ReleaseReadViewMemory(ReadView<S>* view);

  // Tree::SnapshotIsLive()
  //
  // True for kSnapshotLatest and for the snapshot of any handle issued and
  // not released: the snapshots a reader may start at.
  bool SnapshotIsLive(Snapshot snapshot) const {
    return snapshots_.CanRead(snapshot);
  }
  // Snapshot handles held by users.
  uint32_t snapshot_count() const { return snapshots_.user_count(); }
  // Memory tables user snapshots hold now (each keeps its pool slot until
  // they are released), and the most they may hold (AcquireSnapshot()).
  uint32_t snapshot_memory_table_count() const {
    return memory_tables_.SnapshotTableCount(AnyUserIn(), false);
  }
  uint32_t snapshot_memory_table_count_max() const {
    return memory_tables_.snapshot_table_count_max();
  }

  const TreeOptions& options() const { return options_; }
  uint32_t level_count() const { return options_.level_count; }
  const Manifest<Key>& manifest() const { return manifest_; }
  Grid& grid() { return grid_; }
  const Grid& grid() const { return grid_; }
  Storage* storage() const { return storage_; }
  const MemoryTables<S>& memory_tables() const { return memory_tables_; }
  // The current op: the snapshot a read at kSnapshotLatest uses.
  Snapshot op() const { return op_; }
  // Whether a Compact(), CompactAll() or Checkpoint() is running.
  bool busy() const {
    return work_ != Work::kNone && work_ != Work::kBackground;
  }
  // Whether background compaction work is under way (a step or a job).
  bool background_busy() const { return work_ == Work::kBackground; }
  // The error that stopped background compaction (OK if none): it stays
  // stopped until Compact(), CompactAll() or Checkpoint() retries it.
  const absl::Status& background_status() const { return background_status_; }
  // The pacing of background compaction (compaction_pace.h).
  const CompactionPace& pace() const { return pace_; }
  // The counters, and the levels' shape as of this call.
  TreeStats stats() const;
  // What Open() found in the superblock copies and did about them (after
  // Create(): the formatted copies, all intact).
  const RecoveryReport& recovery() const { return recovery_; }
  uint32_t data_block_value_count_max() const {
    return DataBlockValueCountMax<Value>(grid_.block_size_bytes());
  }
  // How many tables level `level` may hold before it is compacted.
  uint64_t LevelTableCountMax(uint32_t level) const {
    return planner_.LevelTableCountMax(level);
  }

 private:
  enum class Work : uint8_t {
    kNone,
    kBackground,
    kCompact,
    kCompactAll,
    kCheckpoint
  };

  Tree(Storage* storage, const TreeOptions& options, uint32_t schema_id);

  static absl::Status KeyOutsideDomain() {
    return absl::InvalidArgumentError(
        absl::StrCat("the key is outside the domain of schema ", NameView(),
                     " (S::key_valid() is false)"));
  }
  // S::kName for Abseil's functions (whose string_view may not be std's).
  static absl::string_view NameView() {
    constexpr std::string_view name = SchemaName<S>();
    return absl::string_view(name.data(), name.size());
  }
  static uint32_t ThisSchemaId() {
    return SchemaId(NameView(), sizeof(Key), sizeof(Value));
  }
  absl::Status Recover();
  // Whether a user snapshot lies in [min, max] (for MemoryTables).
  auto AnyUserIn() const {
    return [this](Snapshot min, Snapshot max) {
      return snapshots_.AnyUserIn(min, max);
    };
  }
  // Put()'s ResourceExhausted (tree_compaction.h).
  absl::Status WritesRefused() const;

  // Seals the mutable table if there is one and it is not empty.
  void Seal();

  // Compaction and checkpoint work (tree_compaction.h).
  absl::Status StartWork(Work work, Callback callback, void* context);
  void ScheduleWork();
  static void WorkTick(Storage::NextTick* next_tick);
  void RunWork();
  void StartJob(uint64_t budget_bytes);
  // Background work (tree_compaction.h).
  void StartBackground();
  void RunBackgroundStep();
  void FinishBackground(absl::Status status);
  void NotifyIfWritable();
  static void WritableTick(Storage::NextTick* next_tick);
  void NoteJobWork();
  void CommitMove();
  static void JobDone(void* context, absl::Status status);
  static void CheckpointDone(void* context, absl::Status status);
  void Commit(std::vector<ManifestTable<Key>> outputs);
  void FinishWork(absl::Status status);
  // Frees memory tables and disk tables no live snapshot or reader needs.
  void CollectGarbage();
  void CollectTables();
  bool SharesBlocks(const TableInfo<Key>& info) const;

  Storage* storage_;
  TreeOptions options_;
  uint32_t schema_id_;
  Snapshot op_ = 1;
  Grid grid_;
  Manifest<Key> manifest_;
  MemoryTables<S> memory_tables_;
  TreeSnapshots<S> snapshots_;
  CompactionPlanner<S> planner_;
  CompactionJob<S> job_;
  TreeCheckpointWriter<S> checkpoint_writer_;
  TreeStats stats_;
  RecoveryReport recovery_;

  // The work in progress (compaction or checkpoint).
  Work work_ = Work::kNone;
  Callback work_callback_ = nullptr;
  void* work_context_ = nullptr;
  Storage::NextTick work_tick_;
  CompactionPlan<S> plan_;
  bool work_sealed_ = false;  // Checkpoint and CompactAll seal once.
  bool work_tick_pending_ = false;
  CompactionPace pace_;
  absl::Status background_status_;
  bool closing_ = false;  // The destructor runs: start no background work.

  // The NotifyWhenWritable() waiter.
  Callback writable_callback_ = nullptr;
  void* writable_context_ = nullptr;
  Storage::NextTick writable_tick_;
  bool writable_tick_pending_ = false;
};

// -----------------------------------------------------------------------------
// Implementation: construction, the write path, snapshots and gets. The
// compaction and checkpoint schedule is in tree_compaction.h.

template <Schema S>
Tree<S>::Tree(Storage* storage, const TreeOptions& options, uint32_t schema_id)
    : storage_(storage),
      options_(options),
      schema_id_(schema_id),
      grid_(storage,
            GridOptions{options.cache_block_count, schema_id,
                        kSuperblockCopyCount, &ValidateDataBlockContents<S>}),
      manifest_(options.level_count),
      memory_tables_(options.memory_table_value_count_max,
                     options.immutable_table_count_max),
      snapshots_(options.snapshot_count_max),
      planner_(&manifest_, &memory_tables_, options.level_count,
               options.growth_factor),
      checkpoint_writer_(storage, &grid_, &op_, schema_id, options.level_count),
      pace_(sizeof(Value), options.compaction_step_bytes_max) {
  job_.Init(&grid_, options.table_data_block_count_max,
            options.compaction_write_frame_count);
  work_tick_.context = this;
  work_tick_.callback = &Tree::WorkTick;
  writable_tick_.context = this;
  writable_tick_.callback = &Tree::WritableTick;
}

namespace tree_internal {

template <Schema S>
TreeOptions Normalize(TreeOptions options, uint32_t block_size_bytes) {
  if (options.memory_table_value_count_max == 0) {
    options.memory_table_value_count_max =
        options.table_data_block_count_max *
        DataBlockValueCountMax<typename S::Value>(block_size_bytes);
  }
  return options;
}

}  // namespace tree_internal

template <Schema S>
absl::StatusOr<std::unique_ptr<Tree<S>>> Tree<S>::Create(
    Storage* storage, const TreeOptions& options) {
  LSMSCAN_ASSERT(storage != nullptr);
  LSMSCAN_RETURN_IF_ERROR(
      ValidateTreeOptions<Key, Value>(options, storage->block_size_bytes(),
                                      storage->options().block_count_max));
  LSMSCAN_RETURN_IF_ERROR(ValidateSchemaName(NameView()));
  if (storage->block_count() != 0) {
    return absl::FailedPreconditionError(absl::StrCat(
        "storage already holds ", storage->block_count(),
        " blocks: Open() it, or create the tree on an empty storage"));
  }
  std::unique_ptr<Tree> tree(new Tree(
      storage,
      tree_internal::Normalize<S>(options, storage->block_size_bytes()),
      ThisSchemaId()));
  LSMSCAN_RETURN_IF_ERROR(tree->checkpoint_writer_.Format());
  tree->recovery_ = NewTreeReport(tree->op_);
  return tree;
}

template <Schema S>
absl::StatusOr<std::unique_ptr<Tree<S>>> Tree<S>::Open(
    Storage* storage, const TreeOptions& options) {
  LSMSCAN_ASSERT(storage != nullptr);
  LSMSCAN_RETURN_IF_ERROR(
      ValidateTreeOptions<Key, Value>(options, storage->block_size_bytes(),
                                      storage->options().block_count_max));
  LSMSCAN_RETURN_IF_ERROR(ValidateSchemaName(NameView()));
  if (storage->block_count() == 0) {
    return absl::NotFoundError(
        "the storage is empty: there is no tree to open (Create one)");
  }
  std::unique_ptr<Tree> tree(new Tree(
      storage,
      tree_internal::Normalize<S>(options, storage->block_size_bytes()),
      ThisSchemaId()));
  LSMSCAN_RETURN_IF_ERROR(tree->Recover());
  return tree;
}

template <Schema S>
absl::Status Tree<S>::Recover() {
  TreeRecovery<S> recovery(storage_, &grid_, &manifest_, schema_id_,
                           options_.level_count);
  LSMSCAN_ASSIGN_OR_RETURN(RecoveredCheckpoint recovered, recovery.Recover());
  op_ = recovered.op;
  recovery_ = std::move(recovered.report);
  checkpoint_writer_.Recovered(recovered.sequence,
                               std::move(recovered.manifest_blocks));
  return absl::OkStatus();
}

// --- Write path --------------------------------------------------------------

template <Schema S>
void Tree<S>::Seal() {
  if (!memory_tables_.has_mutable() || memory_tables_.mutable_table().empty()) {
    return;
  }
  op_++;
  memory_tables_.Seal(op_);
  stats_.seals++;
  StartBackground();  // From the next Tick(): never inside this call.
}

template <Schema S>
absl::Status Tree<S>::Put(const Value& value) {
  if (!SchemaKeyValid<S>(S::key_of(value))) return KeyOutsideDomain();
  // Readers pinning the mutable table do not stop appends (table_memory.h):
  // it is sealed only when full, in O(1) (its suffix is sorted later).
  if (memory_tables_.has_mutable() && memory_tables_.mutable_table().full() &&
      memory_tables_.can_replace()) {
    Seal();
  }
  if (!memory_tables_.has_mutable() || memory_tables_.mutable_table().full()) {
    return WritesRefused();
  }
  const bool put = memory_tables_.mutable_table().Put(value);
  LSMSCAN_ASSERT(put);
  stats_.puts++;
  pace_.NoteWrite();
  return absl::OkStatus();
}

template <Schema S>
TreeStats Tree<S>::stats() const {
  TreeStats stats = stats_;
  for (uint32_t level = 0; level < level_count(); level++) {
    stats.levels[level].tables = manifest_.live_table_count(level);
    stats.levels[level].values = manifest_.live_value_count(level);
    stats.levels[level].tombstones = manifest_.live_tombstone_count(level);
    if (stats.levels[level].tables > 0) stats.sorted_runs++;
  }
  stats.memory_runs = memory_tables_.run_count();
  stats.sorted_runs += stats.memory_runs;
  return stats;
}

// --- Get ---------------------------------------------------------------------

template <Schema S>
void Tree<S>::Get(GetRequest<S>* request) {
  LSMSCAN_ASSERT(request != nullptr);
  LSMSCAN_ASSERT(request->callback != nullptr);
  stats_.gets++;
  StartGet(this, request);
}

}  // namespace lsmscan

// The rest of Tree<S>'s members: snapshots and read views; compaction and
// checkpoint scheduling.
#include "lsmscan/lsm/tree_compaction.h"  // IWYU pragma: export
#include "lsmscan/lsm/tree_read_views.h"  // IWYU pragma: export

#endif  // LSMSCAN_LSM_TREE_H_
