// File: lsm/tree.h
// -----------------------------------------------------------------------------
//
// An LSM tree of fixed-size values (a Schema), after TigerBeetle's: a mutable
// memory table, a few immutable ones, and `level_count` disk levels, each a
// sorted run of disjoint tables growing by `growth_factor` per level.
//
//   * Put() / Remove() write to the mutable table (Remove writes a
//     tombstone). When it is full it is sealed into an immutable table;
//     when no immutable slot is free, the write returns ResourceExhausted
//     (back-pressure: run Compact()).
//   * Get() reads one key at a snapshot, asynchronously.
//   * Compact() flushes sealed memory tables to level 0 and compacts level i
//     into i + 1 while a level is over its size, one job at a time.
//   * Checkpoint() flushes everything and durably writes the manifest and a
//     superblock; Open() recovers the newest checkpoint. Data written after
//     the last checkpoint is lost in a crash; checkpointed data never is.
//
// Snapshots. A snapshot is an op number. AcquireSnapshot() seals the mutable
// table (if not empty) and returns the current op S: reads at S see every
// write made before the call and nothing after, for as long as S is held,
// whatever compactions run meanwhile (replaced tables are freed only when no
// live snapshot can see them). Reads at kSnapshotLatest see the current
// state, including the mutable table. Older snapshots never see the mutable
// table: its writes are newer than any acquired snapshot by construction.
//
// Asynchrony. Get, Compact and Checkpoint complete through callbacks run
// from the storage's Tick(), never inside the call. Create and Open are
// blocking (they drive the storage until done).
//
// Thread safety: none. One thread owns the tree, its storage and its
// readers.

#ifndef LSMSCAN_LSM_TREE_H_
#define LSMSCAN_LSM_TREE_H_

#include <algorithm>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "lsmscan/lsm/block_header.h"
#include "lsmscan/lsm/compaction.h"
#include "lsmscan/lsm/data_block.h"
#include "lsmscan/lsm/direction.h"
#include "lsmscan/lsm/grid.h"
#include "lsmscan/lsm/index_block.h"
#include "lsmscan/lsm/manifest.h"
#include "lsmscan/lsm/manifest_codec.h"
#include "lsmscan/lsm/memory_tables.h"
#include "lsmscan/lsm/read_view.h"
#include "lsmscan/lsm/schema.h"
#include "lsmscan/lsm/snapshot_set.h"
#include "lsmscan/lsm/superblock.h"
#include "lsmscan/lsm/table_info.h"
#include "lsmscan/lsm/table_memory.h"
#include "lsmscan/lsm/tree_options.h"
#include "lsmscan/storage/aligned_buffer.h"
#include "lsmscan/storage/base/assert.h"
#include "lsmscan/storage/base/status_macros.h"
#include "lsmscan/storage/storage.h"

namespace lsmscan {

template <Schema S>
class Tree;

// GetRequest<S>
//
// A caller-owned point read. Fill the inputs, call Tree::Get(), keep the
// request alive and unmoved until the callback has run.
template <Schema S>
struct GetRequest {
  using Key = typename S::Key;
  using Value = typename S::Value;

  // Inputs.
  Key key{};
  Snapshot snapshot = kSnapshotLatest;
  // block_size_bytes, aligned to kSectorSizeBytes; needed by copying
  // storages only (may be nullptr for memory and mmap).
  std::byte* frame = nullptr;
  void (*callback)(GetRequest* request) = nullptr;
  void* context = nullptr;

  // Outputs, valid in the callback. `found` is false if the key is absent or
  // its newest version is a tombstone.
  absl::Status status;
  bool found = false;
  Value value{};

  // Owned by the tree while in flight.
  Tree<S>* tree = nullptr;
  ReadView<S> view;
  uint32_t level = 0;
  Grid::Read read;
  Storage::NextTick next_tick;
};

// TreeStats
struct TreeStats {
  uint64_t puts = 0;
  uint64_t seals = 0;
  uint64_t flushes = 0;      // Memory table -> level 0 jobs.
  uint64_t compactions = 0;  // Level -> level jobs that rewrote tables.
  uint64_t moves = 0;        // Level -> level jobs that only moved one.
  uint64_t values_compacted = 0;
  uint64_t checkpoints = 0;
  uint64_t tables_freed = 0;
  uint64_t gets = 0;
};

// Tree<S>
template <Schema S>
class Tree {
 public:
  using Key = typename S::Key;
  using Value = typename S::Value;
  // Completion of Compact() and Checkpoint().
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
  // Recovers the newest valid checkpoint of `storage`. Errors: NotFound (an
  // empty storage), FailedPrecondition (not an lsmscan file, or another
  // schema or level count), InvalidArgument (another block size), DataLoss
  // (no intact checkpoint). Blocking.
  static absl::StatusOr<std::unique_ptr<Tree>> Open(Storage* storage,
                                                    const TreeOptions& options);

  Tree(const Tree&) = delete;
  Tree& operator=(const Tree&) = delete;
  // REQUIRES: no compaction or checkpoint running, no reader open.
  ~Tree();

  // Tree::Put()
  //
  // Writes `value`, replacing any value with its key. ResourceExhausted when
  // the memory tables are full (run Compact(), finish scans, release
  // snapshots). Never blocks.
  absl::Status Put(const Value& value);

  // Tree::Remove()
  //
  // Writes a tombstone for `key` (whether or not the key exists).
  absl::Status Remove(const Key& key) { return Put(S::tombstone(key)); }

  // Tree::Get()
  //
  // Looks `request->key` up at `request->snapshot`; the callback runs from a
  // later Tick(). FailedPrecondition in `status` if the snapshot is not live.
  void Get(GetRequest<S>* request);

  // Tree::AcquireSnapshot()
  //
  // A snapshot of the current state (see the file comment). Seals the
  // mutable table; never fails.
  absl::StatusOr<Snapshot> AcquireSnapshot();

  // Tree::ReleaseSnapshot()
  //
  // Gives a snapshot back (once per Acquire). InvalidArgument if not live.
  absl::Status ReleaseSnapshot(Snapshot snapshot);

  // Tree::Compact()
  //
  // Flushes sealed memory tables and compacts over-full levels until none
  // is left; `callback(context, status)` runs from a later Tick().
  // FailedPrecondition if a compaction or checkpoint is already running.
  absl::Status Compact(Callback callback, void* context);

  // Tree::CompactAll()
  //
  // Seals the mutable table, flushes the memory tables, then merges every
  // level down into the last one, leaving one sorted run (tombstones
  // dropped). For benchmarks and bulk loads.
  absl::Status CompactAll(Callback callback, void* context);

  // Tree::Checkpoint()
  //
  // Seals and flushes the memory tables, then durably writes the manifest
  // and a superblock. When the callback reports OK, everything written
  // before the call survives a crash. FailedPrecondition if busy, or if an
  // earlier checkpoint failed to sync its superblock (reopen the tree: the
  // outcome of that checkpoint is then whatever reached the disk).
  absl::Status Checkpoint(Callback callback, void* context);

  // Tree::AcquireReadView()
  //
  // For readers (scans, gets): registers `snapshot` (or the current op for
  // kSnapshotLatest) as live and pins the memory tables visible at it.
  // FailedPrecondition if `snapshot` is neither latest nor live.
  absl::StatusOr<ReadView<S>> AcquireReadView(Snapshot snapshot);

  // Tree::ReleaseReadView()
  //
  // Unpins and unregisters what AcquireReadView() took.
  void ReleaseReadView(ReadView<S>* view);

  // Tree::SnapshotIsLive()
  //
  // True for kSnapshotLatest and for snapshots acquired and not released.
  bool SnapshotIsLive(Snapshot snapshot) const {
    return snapshot == kSnapshotLatest || live_snapshots_.Contains(snapshot);
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
  bool busy() const { return work_ != Work::kNone; }
  const TreeStats& stats() const { return stats_; }
  uint32_t data_block_value_count_max() const {
    return DataBlockValueCountMax<Value>(grid_.block_size_bytes());
  }
  // How many tables level `level` may hold before it is compacted.
  uint64_t LevelTableCountMax(uint32_t level) const;

 private:
  enum class Work : uint8_t { kNone, kCompact, kCompactAll, kCheckpoint };

  // One planned compaction job.
  struct Plan {
    bool valid = false;
    TableMemory<S>* memory_source = nullptr;
    std::vector<TableInfo<Key>> sources;  // A level-a table (if not memory).
    std::vector<TableInfo<Key>> targets;  // Overlapping tables of `level`.
    uint8_t output_level = 0;
    bool move = false;  // A source with no targets: just change its level.
  };

  Tree(Storage* storage, const TreeOptions& options, uint32_t schema_id);

  static uint32_t ThisSchemaId() {
    return SchemaId(S::kName, sizeof(Key), sizeof(Value));
  }
  absl::Status Format();
  absl::Status Recover();
  absl::Status RecoverTable(const TableInfo<Key>& info, AlignedBuffer* frame);
  absl::StatusOr<BlockRef> ReadBlocking(const BlockExpectation& expected,
                                        std::byte* frame);

  // Seals the mutable table if there is one and it is not empty.
  void Seal();
  bool AnyLiveIn(Snapshot min, Snapshot max) const;
  void RegisterSnapshot(Snapshot snapshot) { live_snapshots_.Add(snapshot); }
  void UnregisterSnapshot(Snapshot snapshot) {
    live_snapshots_.Remove(snapshot);
  }
  // Frees memory tables and disk tables no live snapshot or reader needs.
  void CollectGarbage();
  bool SharesBlocks(const TableInfo<Key>& info) const;

  // Compaction and checkpoint driver.
  absl::Status StartWork(Work work, Callback callback, void* context);
  void ScheduleWork();
  static void WorkTick(Storage::NextTick* next_tick);
  void RunWork();
  Plan PlanCompaction() const;
  Plan PlanLevel(uint32_t level) const;
  static void JobDone(void* context, absl::Status status);
  void Commit(std::vector<ManifestTable<Key>> outputs);
  void FinishWork(absl::Status status);

  // Checkpoint phases after the flush.
  void WriteManifest();
  static void ManifestWritten(Grid::Write* write);
  void WriteSuperblock();
  static void SuperblockWritten(Storage::Write* write);
  void FinishCheckpoint();
  void AbandonCheckpoint(absl::Status status);

  // Get.
  bool GetFromMemory(GetRequest<S>* request) const;
  void GetNextLevel(GetRequest<S>* request);
  void GetSubmitRead(GetRequest<S>* request, const BlockExpectation& expected);
  void GetFail(GetRequest<S>* request, BlockRef block, absl::Status status);
  static void GetReadCallback(Grid::Read* read);
  void GetOnIndex(GetRequest<S>* request);
  void GetOnData(GetRequest<S>* request);
  void FinishGet(GetRequest<S>* request);

  Storage* storage_;
  TreeOptions options_;
  uint32_t schema_id_;
  Grid grid_;
  Manifest<Key> manifest_;
  MemoryTables<S> memory_tables_;
  CompactionJob<S> job_;
  Snapshot op_ = 1;
  SnapshotSet live_snapshots_{64};  // Acquired snapshots and readers.
  uint32_t reader_count_ = 0;
  TreeStats stats_;

  // The work in progress (compaction or checkpoint).
  Work work_ = Work::kNone;
  Callback work_callback_ = nullptr;
  void* work_context_ = nullptr;
  Storage::NextTick work_tick_;
  Plan plan_;

  // Checkpoint state.
  uint64_t superblock_sequence_ = 0;  // Of the last durable checkpoint.
  std::vector<BlockReference> manifest_blocks_;  // Of that checkpoint.
  bool checkpoint_sealed_ = false;  // Checkpoint and CompactAll seal once.
  bool sync_failed_ = false;        // See SuperblockWritten().
  std::vector<AlignedBuffer> checkpoint_frames_;
  std::vector<Grid::Write> checkpoint_writes_;
  std::vector<BlockReference> checkpoint_manifest_;
  uint32_t checkpoint_pending_ = 0;
  absl::Status checkpoint_status_;
  AlignedBuffer superblock_frame_;
  Storage::Write superblock_write_;
};

// -----------------------------------------------------------------------------
// Implementation.

template <Schema S>
Tree<S>::Tree(Storage* storage, const TreeOptions& options, uint32_t schema_id)
    : storage_(storage),
      options_(options),
      schema_id_(schema_id),
      grid_(storage, GridOptions{options.cache_block_count, schema_id,
                                 kSuperblockCopyCount}),
      manifest_(options.level_count),
      memory_tables_(options.memory_table_value_count_max,
                     options.immutable_table_count_max),
      superblock_frame_(storage->block_size_bytes()) {
  job_.Init(&grid_, options.table_data_block_count_max,
            options.compaction_write_frame_count);
  work_tick_.context = this;
  work_tick_.callback = &Tree::WorkTick;
}

template <Schema S>
Tree<S>::~Tree() {
  LSMSCAN_ASSERT_MSG(work_ == Work::kNone,
                     "tree destroyed while compacting or checkpointing");
  LSMSCAN_ASSERT_MSG(reader_count_ == 0, "tree destroyed with open readers");
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
  if (storage->block_count() != 0) {
    return absl::FailedPreconditionError(absl::StrCat(
        "storage already holds ", storage->block_count(),
        " blocks: Open() it, or create the tree on an empty storage"));
  }
  std::unique_ptr<Tree> tree(new Tree(
      storage,
      tree_internal::Normalize<S>(options, storage->block_size_bytes()),
      ThisSchemaId()));
  LSMSCAN_RETURN_IF_ERROR(tree->Format());
  return tree;
}

template <Schema S>
absl::StatusOr<std::unique_ptr<Tree<S>>> Tree<S>::Open(
    Storage* storage, const TreeOptions& options) {
  LSMSCAN_ASSERT(storage != nullptr);
  LSMSCAN_RETURN_IF_ERROR(
      ValidateTreeOptions<Key, Value>(options, storage->block_size_bytes(),
                                      storage->options().block_count_max));
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
absl::Status Tree<S>::Format() {
  // Two copies, sequences 0 and 1: both valid, 1 is current.
  for (uint64_t sequence = 0; sequence < kSuperblockCopyCount; sequence++) {
    Superblock superblock;
    superblock.sequence = sequence;
    superblock.op = op_;
    superblock.block_size_bytes = storage_->block_size_bytes();
    superblock.schema_id = schema_id_;
    superblock.key_size_bytes = sizeof(Key);
    superblock.value_size_bytes = sizeof(Value);
    superblock.level_count = options_.level_count;
    EncodeSuperblock(superblock, superblock_frame_.data(),
                     storage_->block_size_bytes());
    Storage::Write write;
    write.address = SuperblockAddress(sequence);
    write.data = superblock_frame_.data();
    write.callback = [](Storage::Write*) {};
    storage_->SubmitWrite(&write);
    storage_->RunUntilIdle();
    LSMSCAN_RETURN_IF_ERROR(write.status);
  }
  LSMSCAN_RETURN_IF_ERROR(storage_->Sync());
  superblock_sequence_ = kSuperblockCopyCount - 1;
  return absl::OkStatus();
}

template <Schema S>
absl::StatusOr<BlockRef> Tree<S>::ReadBlocking(const BlockExpectation& expected,
                                               std::byte* frame) {
  Grid::Read read;
  read.expected = expected;
  read.frame = frame;
  read.callback = [](Grid::Read*) {};
  grid_.SubmitRead(&read);
  storage_->RunUntilIdle();
  LSMSCAN_RETURN_IF_ERROR(read.status);
  return std::move(read.block);
}

// How often Open() reads a superblock copy that fails its checksum before
// it concludes that the copy is torn (see Recover()).
inline constexpr uint32_t kSuperblockReadAttemptCount = 3;

template <Schema S>
absl::Status Tree<S>::Recover() {
  const uint32_t block_size = storage_->block_size_bytes();
  AlignedBuffer frames(size_t{block_size} * kSuperblockCopyCount);
  absl::StatusOr<Superblock> copies[kSuperblockCopyCount];
  for (uint32_t i = 0; i < kSuperblockCopyCount; i++) {
    // A copy that fails its checks is read again before it is given up:
    // falling back to the other copy is right for a torn write, which stays
    // torn, but would silently roll back a checkpoint for a corruption that
    // happened in transit.
    for (uint32_t attempt = 0; attempt < kSuperblockReadAttemptCount;
         attempt++) {
      Storage::Read read;
      read.address = i;
      read.buffer = frames.data() + size_t{i} * block_size;
      read.callback = [](Storage::Read*) {};
      storage_->SubmitRead(&read);
      storage_->RunUntilIdle();
      if (!read.status.ok()) {
        // An unreadable copy may be the newest: recovering the other one
        // could resurrect an older checkpoint whose blocks were reused.
        return absl::Status(read.status.code(),
                            absl::StrCat("reading superblock copy ", i, ": ",
                                         read.status.message()));
      }
      copies[i] = DecodeSuperblock(read.data, block_size, i);
      if (!absl::IsDataLoss(copies[i].status())) break;
    }
  }
  LSMSCAN_ASSIGN_OR_RETURN(const Superblock superblock,
                           ChooseSuperblock(copies));
  if (superblock.schema_id != schema_id_ ||
      superblock.key_size_bytes != sizeof(Key) ||
      superblock.value_size_bytes != sizeof(Value)) {
    return absl::FailedPreconditionError(absl::StrCat(
        "the file holds another schema (", superblock.key_size_bytes,
        "-byte keys, ", superblock.value_size_bytes, "-byte values) than ",
        S::kName, " (", sizeof(Key), "-byte keys, ", sizeof(Value),
        "-byte values)"));
  }
  if (superblock.level_count != options_.level_count) {
    return absl::FailedPreconditionError(
        absl::StrCat("the file has ", superblock.level_count,
                     " levels, opened with ", options_.level_count));
  }
  op_ = superblock.op;
  superblock_sequence_ = superblock.sequence;
  std::vector<TableInfo<Key>> infos;
  AlignedBuffer frame(block_size);
  for (const BlockReference& reference : superblock.manifest_blocks) {
    if (reference.address < kSuperblockCopyCount ||
        reference.address >= storage_->options().block_count_max ||
        grid_.free_set().acquired(reference.address)) {
      return absl::DataLossError("superblock: bad manifest block reference");
    }
    LSMSCAN_ASSIGN_OR_RETURN(
        BlockRef block, ReadBlocking({reference.address, reference.checksum,
                                      BlockType::kManifest, schema_id_},
                                     frame.data()));
    LSMSCAN_RETURN_IF_ERROR(DecodeManifestBlock<Key>(
        block.data(), block_size, options_.level_count, &infos));
    grid_.free_set().MarkAcquired(reference.address);
  }
  manifest_blocks_ = superblock.manifest_blocks;
  for (const TableInfo<Key>& info : infos) {
    LSMSCAN_RETURN_IF_ERROR(RecoverTable(info, &frame));
  }
  // Decoded tables must form disjoint levels; anything else is corruption.
  for (uint32_t level = 0; level < options_.level_count; level++) {
    const std::vector<ManifestTable<Key>>& tables = manifest_.tables(level);
    for (size_t i = 1; i < tables.size(); i++) {
      if (!(tables[i - 1].info.key_max < tables[i].info.key_min)) {
        return absl::DataLossError(
            absl::StrCat("manifest: tables of level ", level, " overlap"));
      }
    }
  }
  manifest_.CheckInvariants();
  return absl::OkStatus();
}

template <Schema S>
absl::Status Tree<S>::RecoverTable(const TableInfo<Key>& info,
                                   AlignedBuffer* frame) {
  const uint64_t block_count_max = storage_->options().block_count_max;
  FreeSet& free_set = grid_.free_set();
  auto usable = [&](BlockAddress address) {
    return address >= kSuperblockCopyCount && address < block_count_max &&
           !free_set.acquired(address);
  };
  if (!usable(info.index_address)) {
    return absl::DataLossError("manifest: bad index block reference");
  }
  LSMSCAN_ASSIGN_OR_RETURN(
      BlockRef block, ReadBlocking({info.index_address, info.index_checksum,
                                    BlockType::kIndex, schema_id_},
                                   frame->data()));
  LSMSCAN_RETURN_IF_ERROR(
      ValidateIndexBlock<Key>(block.data(), storage_->block_size_bytes()));
  const IndexBlockView<Key> index(block.data());
  if (index.count() != info.data_block_count ||
      index.keys_min()[0] != info.key_min ||
      index.keys_max()[index.count() - 1] != info.key_max) {
    return absl::DataLossError("manifest: table info disagrees with its index");
  }
  ManifestTable<Key> table;
  table.info = info;
  free_set.MarkAcquired(info.index_address);
  for (BlockAddress address : index.addresses()) {
    if (!usable(address)) {
      return absl::DataLossError("index block: bad data block reference");
    }
    free_set.MarkAcquired(address);
    table.data_addresses.push_back(address);
  }
  manifest_.Insert(std::move(table));
  return absl::OkStatus();
}

template <Schema S>
uint64_t Tree<S>::LevelTableCountMax(uint32_t level) const {
  LSMSCAN_ASSERT(level < options_.level_count);
  uint64_t count = 1;
  for (uint32_t i = 0; i <= level; i++) {
    if (count > UINT64_MAX / options_.growth_factor) return UINT64_MAX;
    count *= options_.growth_factor;
  }
  return count;
}

template <Schema S>
void Tree<S>::Seal() {
  if (!memory_tables_.has_mutable() || memory_tables_.mutable_table().empty()) {
    return;
  }
  op_++;
  memory_tables_.Seal(op_);
  stats_.seals++;
}

template <Schema S>
absl::Status Tree<S>::Put(const Value& value) {
  if (memory_tables_.has_mutable()) {
    const TableMemory<S>& table = memory_tables_.mutable_table();
    // A pinned table is being read: leave it as it is, write to a new one.
    if ((table.full() || table.reader_count() > 0) &&
        memory_tables_.can_replace()) {
      Seal();
    }
  }
  if (!memory_tables_.has_mutable() || memory_tables_.mutable_table().full() ||
      memory_tables_.mutable_table().reader_count() > 0) {
    return absl::ResourceExhaustedError(
        "the memory tables are full: run Compact(), and finish scans or "
        "release snapshots that hold sealed memory tables");
  }
  const bool put = memory_tables_.mutable_table().Put(value);
  LSMSCAN_ASSERT(put);
  stats_.puts++;
  return absl::OkStatus();
}

template <Schema S>
absl::StatusOr<Snapshot> Tree<S>::AcquireSnapshot() {
  Seal();
  RegisterSnapshot(op_);
  return op_;
}

template <Schema S>
absl::Status Tree<S>::ReleaseSnapshot(Snapshot snapshot) {
  if (!live_snapshots_.Contains(snapshot)) {
    return absl::InvalidArgumentError(
        absl::StrCat("snapshot ", snapshot, " is not live"));
  }
  UnregisterSnapshot(snapshot);
  CollectGarbage();
  return absl::OkStatus();
}

template <Schema S>
bool Tree<S>::AnyLiveIn(Snapshot min, Snapshot max) const {
  return live_snapshots_.AnyIn(min, max);
}

template <Schema S>
absl::StatusOr<ReadView<S>> Tree<S>::AcquireReadView(Snapshot snapshot) {
  if (!SnapshotIsLive(snapshot)) {
    return absl::FailedPreconditionError(
        absl::StrCat("snapshot ", snapshot, " is not live (acquire it first)"));
  }
  ReadView<S> view;
  view.latest = snapshot == kSnapshotLatest;
  view.snapshot = view.latest ? op_ : snapshot;
  view.active = true;
  RegisterSnapshot(view.snapshot);
  reader_count_++;
  if (view.latest && memory_tables_.has_mutable() &&
      !memory_tables_.mutable_table().empty()) {
    TableMemory<S>& mutable_table = memory_tables_.mutable_table();
    mutable_table.Sort();
    mutable_table.Pin();
    view.mutable_table = &mutable_table;
  }
  typename MemoryTables<S>::VisibleTables visible{};
  view.immutable_count = memory_tables_.Visible(view.snapshot, &visible);
  for (uint32_t i = 0; i < view.immutable_count; i++) {
    visible[i]->Pin();
    view.immutable_tables[i] = visible[i];
  }
  return view;
}

template <Schema S>
void Tree<S>::ReleaseReadView(ReadView<S>* view) {
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
  UnregisterSnapshot(view->snapshot);
  CollectGarbage();
}

template <Schema S>
bool Tree<S>::SharesBlocks(const TableInfo<Key>& info) const {
  // A moved table has two entries (old level retired, new level live) that
  // share blocks; the blocks are freed with the last of them.
  for (uint32_t level = 0; level < options_.level_count; level++) {
    for (const ManifestTable<Key>& table : manifest_.tables(level)) {
      if (table.info.index_address == info.index_address &&
          !(level == info.level &&
            table.info.snapshot_min == info.snapshot_min)) {
        return true;
      }
    }
  }
  return false;
}

template <Schema S>
void Tree<S>::CollectGarbage() {
  // Most calls (every scan's end) find nothing retired: return at once.
  if (manifest_.retired_table_count() == 0 &&
      memory_tables_.retired_count() == 0) {
    return;
  }
  memory_tables_.Collect(
      [this](Snapshot min, Snapshot max) { return AnyLiveIn(min, max); });
  // Without a list of the dead (this runs at the end of every scan, which
  // allocates nothing): removing a table shifts the next one into place.
  for (uint32_t level = 0; level < options_.level_count; level++) {
    const std::vector<ManifestTable<Key>>& tables = manifest_.tables(level);
    for (size_t i = 0; i < tables.size();) {
      const TableInfo<Key> info = tables[i].info;
      if (info.snapshot_max == kSnapshotForever ||
          AnyLiveIn(info.snapshot_min, info.snapshot_max)) {
        i++;
        continue;
      }
      const bool shared = SharesBlocks(info);
      ManifestTable<Key> removed = manifest_.Remove(level, info.index_address);
      stats_.tables_freed++;
      if (shared) continue;
      grid_.ReleaseAddress(removed.info.index_address);
      for (BlockAddress address : removed.data_addresses) {
        grid_.ReleaseAddress(address);
      }
    }
  }
}

// --- Compaction driver -------------------------------------------------------

template <Schema S>
absl::Status Tree<S>::StartWork(Work work, Callback callback, void* context) {
  LSMSCAN_ASSERT(callback != nullptr);
  if (work_ != Work::kNone) {
    return absl::FailedPreconditionError(
        "a compaction or checkpoint is already running");
  }
  work_ = work;
  work_callback_ = callback;
  work_context_ = context;
  // Checkpoint and CompactAll seal once; reset only when work starts, so a
  // refused call leaves the running work alone.
  checkpoint_sealed_ = false;
  ScheduleWork();
  return absl::OkStatus();
}

template <Schema S>
absl::Status Tree<S>::Compact(Callback callback, void* context) {
  return StartWork(Work::kCompact, callback, context);
}

template <Schema S>
absl::Status Tree<S>::CompactAll(Callback callback, void* context) {
  return StartWork(Work::kCompactAll, callback, context);
}

template <Schema S>
absl::Status Tree<S>::Checkpoint(Callback callback, void* context) {
  if (sync_failed_) {
    return absl::FailedPreconditionError(
        "a checkpoint failed to sync its superblock: reopen the tree");
  }
  return StartWork(Work::kCheckpoint, callback, context);
}

template <Schema S>
void Tree<S>::ScheduleWork() {
  storage_->SubmitNextTick(&work_tick_);
}

template <Schema S>
void Tree<S>::WorkTick(Storage::NextTick* next_tick) {
  static_cast<Tree*>(next_tick->context)->RunWork();
}

template <Schema S>
void Tree<S>::RunWork() {
  LSMSCAN_ASSERT(work_ != Work::kNone);
  LSMSCAN_ASSERT(!job_.running());
  if ((work_ == Work::kCheckpoint || work_ == Work::kCompactAll) &&
      !checkpoint_sealed_) {
    // Sealed once: writes that arrive meanwhile are not part of the work.
    Seal();
    checkpoint_sealed_ = true;
  }
  plan_ = PlanCompaction();
  if (!plan_.valid) {
    if (work_ == Work::kCheckpoint) {
      WriteManifest();
    } else {
      FinishWork(absl::OkStatus());
    }
    return;
  }
  if (plan_.move) {
    TableInfo<Key> moved = plan_.sources[0];
    const ManifestTable<Key>* original =
        manifest_.Find(moved.level, moved.index_address);
    LSMSCAN_ASSERT(original != nullptr);
    ManifestTable<Key> output;
    output.info = moved;
    output.info.level = plan_.output_level;
    output.data_addresses = original->data_addresses;
    std::vector<ManifestTable<Key>> outputs;
    outputs.push_back(std::move(output));
    Commit(std::move(outputs));
    stats_.moves++;
    ScheduleWork();
    return;
  }
  const bool drop_tombstones = plan_.output_level + 1u == options_.level_count;
  if (plan_.memory_source != nullptr) {
    job_.StartMemory(plan_.memory_source->values(), plan_.targets,
                     plan_.output_level, drop_tombstones, op_, &Tree::JobDone,
                     this);
  } else {
    job_.StartTables(plan_.sources, plan_.targets, plan_.output_level,
                     drop_tombstones, op_, &Tree::JobDone, this);
  }
}

template <Schema S>
typename Tree<S>::Plan Tree<S>::PlanCompaction() const {
  TableMemory<S>* memory = memory_tables_.OldestUnflushed();
  if (memory != nullptr) {
    Plan plan;
    plan.valid = true;
    plan.memory_source = memory;
    const std::span<const Value> values = memory->values();
    LSMSCAN_ASSERT(!values.empty());
    plan.targets = manifest_.Overlapping(0, op_, S::key_of(values.front()),
                                         S::key_of(values.back()));
    plan.output_level = 0;
    return plan;
  }
  for (uint32_t level = 0; level + 1 < options_.level_count; level++) {
    const uint64_t count_max =
        work_ == Work::kCompactAll ? 0 : LevelTableCountMax(level);
    if (manifest_.live_table_count(level) > count_max) return PlanLevel(level);
  }
  return Plan();
}

template <Schema S>
typename Tree<S>::Plan Tree<S>::PlanLevel(uint32_t level) const {
  // The live table of `level` overlapping the fewest tables below it
  // (TigerBeetle's choice: least write amplification).
  Plan plan;
  size_t best_overlap = SIZE_MAX;
  for (const ManifestTable<Key>& table : manifest_.tables(level)) {
    if (table.info.snapshot_max != kSnapshotForever) continue;
    std::vector<TableInfo<Key>> targets = manifest_.Overlapping(
        level + 1, op_, table.info.key_min, table.info.key_max);
    if (targets.size() >= best_overlap) continue;
    best_overlap = targets.size();
    plan.valid = true;
    plan.sources = {table.info};
    plan.targets = std::move(targets);
    if (best_overlap == 0) break;
  }
  LSMSCAN_ASSERT(plan.valid);
  plan.output_level = static_cast<uint8_t>(level + 1);
  plan.move = plan.targets.empty();
  return plan;
}

template <Schema S>
void Tree<S>::JobDone(void* context, absl::Status status) {
  auto* tree = static_cast<Tree*>(context);
  if (!status.ok()) {
    tree->FinishWork(std::move(status));
    return;
  }
  tree->stats_.values_compacted += tree->job_.values_written();
  if (tree->plan_.memory_source != nullptr) {
    tree->stats_.flushes++;
  } else {
    tree->stats_.compactions++;
  }
  tree->Commit(std::move(tree->job_.tables()));
  tree->job_.tables().clear();
  tree->ScheduleWork();
}

template <Schema S>
void Tree<S>::Commit(std::vector<ManifestTable<Key>> outputs) {
  // Snapshots up to op - 1 keep seeing the inputs; from op on, the outputs.
  const Snapshot op = ++op_;
  for (const TableInfo<Key>& source : plan_.sources) {
    manifest_.Retire(source.level, source.index_address, op - 1);
  }
  for (const TableInfo<Key>& target : plan_.targets) {
    manifest_.Retire(target.level, target.index_address, op - 1);
  }
  if (plan_.memory_source != nullptr) plan_.memory_source->Retire(op - 1);
  for (ManifestTable<Key>& output : outputs) {
    output.info.snapshot_min = op;
    output.info.snapshot_max = kSnapshotForever;
    manifest_.Insert(std::move(output));
  }
  plan_ = Plan();
  LSMSCAN_EXPENSIVE_ASSERT((manifest_.CheckInvariants(), true));
  CollectGarbage();
}

template <Schema S>
void Tree<S>::FinishWork(absl::Status status) {
  LSMSCAN_ASSERT(work_ != Work::kNone);
  if (work_ == Work::kCheckpoint && status.ok()) stats_.checkpoints++;
  plan_ = Plan();
  work_ = Work::kNone;
  Callback callback = work_callback_;
  work_callback_ = nullptr;
  callback(work_context_, std::move(status));
}

// --- Checkpoint
// ---------------------------------------------------------------

template <Schema S>
void Tree<S>::WriteManifest() {
  std::vector<TableInfo<Key>> live;
  for (uint32_t level = 0; level < options_.level_count; level++) {
    for (const ManifestTable<Key>& table : manifest_.tables(level)) {
      if (table.info.snapshot_max == kSnapshotForever)
        live.push_back(table.info);
    }
  }
  const uint32_t block_size = storage_->block_size_bytes();
  const size_t per_block = ManifestEntryCountMax<Key>(block_size);
  const size_t block_count = (live.size() + per_block - 1) / per_block;
  if (block_count > SuperblockManifestBlockCountMax(block_size)) {
    FinishWork(absl::ResourceExhaustedError(absl::StrCat(
        "checkpoint: ", live.size(), " tables need ", block_count,
        " manifest blocks, more than a superblock can reference")));
    return;
  }
  checkpoint_frames_.clear();
  checkpoint_writes_ = std::vector<Grid::Write>(block_count);
  checkpoint_manifest_.clear();
  checkpoint_status_ = absl::OkStatus();
  for (size_t i = 0; i < block_count; i++) {
    absl::StatusOr<BlockAddress> address = grid_.AcquireAddress();
    if (!address.ok()) {
      AbandonCheckpoint(address.status());
      return;
    }
    checkpoint_frames_.emplace_back(block_size);
    const size_t begin = i * per_block;
    const size_t count = std::min(per_block, live.size() - begin);
    const Checksum128 checksum = EncodeManifestBlock<Key>(
        std::span<const TableInfo<Key>>(live.data() + begin, count),
        checkpoint_frames_.back().data(), block_size, *address, schema_id_);
    checkpoint_manifest_.push_back({*address, checksum});
  }
  checkpoint_pending_ = static_cast<uint32_t>(block_count);
  for (size_t i = 0; i < block_count; i++) {
    Grid::Write& write = checkpoint_writes_[i];
    write.address = checkpoint_manifest_[i].address;
    write.data = checkpoint_frames_[i].data();
    write.context = this;
    write.callback = &Tree::ManifestWritten;
    grid_.SubmitWrite(&write);
  }
  if (block_count == 0) WriteSuperblock();
}

template <Schema S>
void Tree<S>::ManifestWritten(Grid::Write* write) {
  auto* tree = static_cast<Tree*>(write->context);
  if (!write->status.ok() && tree->checkpoint_status_.ok()) {
    tree->checkpoint_status_ = write->status;
  }
  LSMSCAN_ASSERT(tree->checkpoint_pending_ > 0);
  if (--tree->checkpoint_pending_ > 0) return;
  if (!tree->checkpoint_status_.ok()) {
    tree->AbandonCheckpoint(tree->checkpoint_status_);
    return;
  }
  tree->WriteSuperblock();
}

template <Schema S>
void Tree<S>::WriteSuperblock() {
  // The manifest blocks must be durable before the superblock points at them.
  absl::Status synced = storage_->Sync();
  if (!synced.ok()) {
    AbandonCheckpoint(std::move(synced));
    return;
  }
  Superblock superblock;
  superblock.sequence = superblock_sequence_ + 1;
  superblock.op = op_;
  superblock.block_size_bytes = storage_->block_size_bytes();
  superblock.schema_id = schema_id_;
  superblock.key_size_bytes = sizeof(Key);
  superblock.value_size_bytes = sizeof(Value);
  superblock.level_count = options_.level_count;
  superblock.manifest_blocks = checkpoint_manifest_;
  EncodeSuperblock(superblock, superblock_frame_.data(),
                   storage_->block_size_bytes());
  superblock_write_ = Storage::Write();
  superblock_write_.address = SuperblockAddress(superblock.sequence);
  superblock_write_.data = superblock_frame_.data();
  superblock_write_.context = this;
  superblock_write_.callback = &Tree::SuperblockWritten;
  storage_->SubmitWrite(&superblock_write_);
}

template <Schema S>
void Tree<S>::SuperblockWritten(Storage::Write* write) {
  auto* tree = static_cast<Tree*>(write->context);
  if (!write->status.ok()) {
    // Not written, or torn: Open() rejects a torn copy and falls back to
    // the other, so the new manifest blocks are referenced by nothing.
    tree->AbandonCheckpoint(write->status);
    return;
  }
  absl::Status synced = tree->storage_->Sync();
  if (!synced.ok()) {
    // The superblock may or may not be durable: keep every block either
    // checkpoint refers to, and refuse further checkpoints until the tree
    // is reopened (which recovers whichever checkpoint is on disk).
    tree->sync_failed_ = true;
    tree->checkpoint_frames_.clear();
    tree->FinishWork(std::move(synced));
    return;
  }
  tree->FinishCheckpoint();
}

template <Schema S>
void Tree<S>::FinishCheckpoint() {
  superblock_sequence_++;
  // The previous checkpoint's manifest blocks are referenced by nothing
  // durable any more; Checkpointed() frees them with the other staged blocks.
  for (const BlockReference& reference : manifest_blocks_) {
    grid_.ReleaseAddress(reference.address);
  }
  manifest_blocks_ = std::move(checkpoint_manifest_);
  checkpoint_manifest_.clear();
  grid_.free_set().Checkpointed();
  checkpoint_frames_.clear();
  FinishWork(absl::OkStatus());
}

template <Schema S>
void Tree<S>::AbandonCheckpoint(absl::Status status) {
  // The new manifest blocks were never referenced: give them back.
  for (const BlockReference& reference : checkpoint_manifest_) {
    grid_.ReleaseAddress(reference.address);
  }
  checkpoint_manifest_.clear();
  checkpoint_frames_.clear();
  FinishWork(std::move(status));
}

// --- Get
// ----------------------------------------------------------------------

template <Schema S>
void Tree<S>::Get(GetRequest<S>* request) {
  LSMSCAN_ASSERT(request != nullptr);
  LSMSCAN_ASSERT(request->callback != nullptr);
  stats_.gets++;
  request->tree = this;
  request->status = absl::OkStatus();
  request->found = false;
  request->level = 0;
  request->next_tick.context = request;
  request->next_tick.callback = [](Storage::NextTick* next_tick) {
    auto* r = static_cast<GetRequest<S>*>(next_tick->context);
    r->tree->FinishGet(r);
  };
  absl::StatusOr<ReadView<S>> view = AcquireReadView(request->snapshot);
  if (!view.ok()) {
    request->status = view.status();
    storage_->SubmitNextTick(&request->next_tick);
    return;
  }
  request->view = *view;
  if (GetFromMemory(request)) {
    storage_->SubmitNextTick(&request->next_tick);
    return;
  }
  GetNextLevel(request);
}

namespace tree_internal {

// The value with `key` in ascending `values`, or null.
template <Schema S>
const typename S::Value* FindValue(std::span<const typename S::Value> values,
                                   const typename S::Key& key) {
  const auto it = std::partition_point(
      values.begin(), values.end(),
      [&](const typename S::Value& value) { return S::key_of(value) < key; });
  if (it == values.end() || key < S::key_of(*it)) return nullptr;
  return &*it;
}

}  // namespace tree_internal

template <Schema S>
bool Tree<S>::GetFromMemory(GetRequest<S>* request) const {
  const ReadView<S>& view = request->view;
  const Value* value = nullptr;
  if (view.mutable_table != nullptr) {
    value =
        tree_internal::FindValue<S>(view.mutable_table->values(), request->key);
  }
  for (uint32_t i = 0; value == nullptr && i < view.immutable_count; i++) {
    value = tree_internal::FindValue<S>(view.immutable_tables[i]->values(),
                                        request->key);
  }
  if (value == nullptr) return false;
  request->found = !S::is_tombstone(*value);
  request->value = *value;
  return true;
}

template <Schema S>
void Tree<S>::GetNextLevel(GetRequest<S>* request) {
  for (; request->level < options_.level_count; request->level++) {
    const std::optional<TableInfo<Key>> table = manifest_.FindTable(
        request->level, request->view.snapshot, request->key);
    if (!table.has_value()) continue;
    GetSubmitRead(request, {table->index_address, table->index_checksum,
                            BlockType::kIndex, 0});
    return;
  }
  storage_->SubmitNextTick(&request->next_tick);
}

template <Schema S>
void Tree<S>::GetSubmitRead(GetRequest<S>* request,
                            const BlockExpectation& expected) {
  request->read = Grid::Read();
  request->read.expected = expected;
  request->read.frame = request->frame;
  request->read.context = request;
  request->read.callback = &Tree::GetReadCallback;
  grid_.SubmitRead(&request->read);
}

template <Schema S>
void Tree<S>::GetFail(GetRequest<S>* request, BlockRef block,
                      absl::Status status) {
  block.Reset();  // Unpin before FinishGet() may free the block's table.
  request->status = std::move(status);
  FinishGet(request);
}

template <Schema S>
void Tree<S>::GetReadCallback(Grid::Read* read) {
  auto* request = static_cast<GetRequest<S>*>(read->context);
  Tree* tree = request->tree;
  if (!read->status.ok()) {
    request->status = read->status;
    tree->FinishGet(request);
    return;
  }
  if (read->expected.type == BlockType::kIndex) {
    tree->GetOnIndex(request);
  } else {
    tree->GetOnData(request);
  }
}

template <Schema S>
void Tree<S>::GetOnIndex(GetRequest<S>* request) {
  BlockRef block = std::move(request->read.block);
  absl::Status valid =
      ValidateIndexBlock<Key>(block.data(), grid_.block_size_bytes());
  if (!valid.ok()) {
    GetFail(request, std::move(block), std::move(valid));
    return;
  }
  const IndexBlockView<Key> index(block.data());
  const std::span<const Key> keys_max = index.keys_max();
  const size_t i = static_cast<size_t>(
      std::partition_point(keys_max.begin(), keys_max.end(),
                           [&](const Key& key) { return key < request->key; }) -
      keys_max.begin());
  if (i == keys_max.size() || request->key < index.keys_min()[i]) {
    request->level++;  // The key falls between this table's blocks.
    GetNextLevel(request);
    return;
  }
  const BlockExpectation expected{index.addresses()[i], index.checksums()[i],
                                  BlockType::kData, 0};
  block.Reset();
  GetSubmitRead(request, expected);
}

template <Schema S>
void Tree<S>::GetOnData(GetRequest<S>* request) {
  BlockRef block = std::move(request->read.block);
  absl::Status valid =
      ValidateDataBlock<S>(block.data(), grid_.block_size_bytes());
  if (!valid.ok()) {
    GetFail(request, std::move(block), std::move(valid));
    return;
  }
  const Value* value = tree_internal::FindValue<S>(
      DataBlockValues<S>(block.data()), request->key);
  if (value == nullptr) {
    block.Reset();
    request->level++;
    GetNextLevel(request);
    return;
  }
  request->found = !S::is_tombstone(*value);
  request->value = *value;
  // FinishGet() releases the read view, which may free this block's table:
  // the block must be unpinned first.
  block.Reset();
  FinishGet(request);
}

template <Schema S>
void Tree<S>::FinishGet(GetRequest<S>* request) {
  if (request->view.active) ReleaseReadView(&request->view);
  request->callback(request);
}

}  // namespace lsmscan

#endif  // LSMSCAN_LSM_TREE_H_
