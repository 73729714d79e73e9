// File: lsm/tree_checkpoint.h
// -----------------------------------------------------------------------------
//
// Writing a tree's checkpoints: the durable state Tree::Open() recovers
// (tree_recovery.h reads it back).
//
// A checkpoint is the manifest's live tables, encoded into manifest blocks,
// and a superblock that references those blocks (superblock.h). Write()
// writes the manifest blocks, syncs, writes both superblock copies of the
// slot the next sequence number names, and syncs again; only then does the
// checkpoint count, durable in two places. The previous checkpoint (the
// other slot) stays whole until that last sync: its manifest blocks, and
// the blocks the free set staged since, are released only after it
// (FreeSet::Checkpointed()).
//
// The two syncs are Storage::Sync() calls, which block the thread (an
// fdatasync on a file backend) from inside the storage loop's callbacks:
// a checkpoint stalls the loop for two syncs, and the other work on it
// (scans, gets) waits meanwhile.
//
// The writer holds no memory table: the tree flushes them before it calls
// Write(), and schedules checkpoints among its compactions
// (tree_compaction.h).

#ifndef LSMSCAN_LSM_TREE_CHECKPOINT_H_
#define LSMSCAN_LSM_TREE_CHECKPOINT_H_

#include <algorithm>
#include <cstdint>
#include <span>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "lsmscan/lsm/grid.h"
#include "lsmscan/lsm/manifest.h"
#include "lsmscan/lsm/manifest_codec.h"
#include "lsmscan/lsm/schema.h"
#include "lsmscan/lsm/superblock.h"
#include "lsmscan/lsm/table_info.h"
#include "lsmscan/storage/aligned_buffer.h"
#include "lsmscan/storage/base/assert.h"
#include "lsmscan/storage/base/status_macros.h"
#include "lsmscan/storage/storage.h"

namespace lsmscan {

// How often a checkpoint writes a superblock copy whose write fails before
// it gives up on that copy.
inline constexpr uint32_t kSuperblockWriteAttemptCount = 3;

// TreeCheckpointWriter<S>
//
// Owned by the tree; one checkpoint in flight at a time.
template <Schema S>
class TreeCheckpointWriter {
 public:
  using Key = typename S::Key;
  using Value = typename S::Value;
  using Callback = void (*)(void* context, absl::Status status);

  // `storage` and `grid` must outlive the writer. `*op` is the tree's
  // current op, read whenever a superblock is encoded.
  TreeCheckpointWriter(Storage* storage, Grid* grid, const Snapshot* op,
                       uint32_t schema_id, uint32_t level_count)
      : storage_(storage),
        grid_(grid),
        op_(op),
        schema_id_(schema_id),
        level_count_(level_count) {
    for (AlignedBuffer& frame : superblock_frames_) {
      frame = AlignedBuffer(storage->block_size_bytes());
    }
  }

  TreeCheckpointWriter(const TreeCheckpointWriter&) = delete;
  TreeCheckpointWriter& operator=(const TreeCheckpointWriter&) = delete;

  // TreeCheckpointWriter::Format()
  //
  // Writes every superblock copy of an empty tree (sequence 0 in slot 0,
  // sequence 1 in slot 1, all valid, 1 current) and syncs. Blocking: drives
  // the storage until done.
  absl::Status Format();

  // TreeCheckpointWriter::Recovered()
  //
  // Records the checkpoint Open() recovered: the next checkpoint follows
  // `sequence`, and frees `manifest_blocks` once it is durable.
  void Recovered(uint64_t sequence,
                 std::vector<BlockReference> manifest_blocks) {
    sequence_ = sequence;
    manifest_blocks_ = std::move(manifest_blocks);
  }

  // TreeCheckpointWriter::Write()
  //
  // Writes a checkpoint of `manifest`'s live tables (which must not change
  // until the callback runs). `callback(context, status)` runs once: from
  // within Write() if it fails before any I/O (ResourceExhausted if the
  // tables need more manifest blocks than a superblock can reference, or no
  // block is free), else from a later Tick(). OK means durable. On an error
  // the previous checkpoint is still the one on disk, except after a
  // superblock copy was written but its sibling's write or the sync failed
  // (see sync_failed()).
  // REQUIRES: no Write() in flight, !sync_failed().
  void Write(const Manifest<Key>& manifest, Callback callback, void* context);

  // TreeCheckpointWriter::sync_failed()
  //
  // True once a superblock copy was written but the other copy's write or
  // the sync after them failed: whether that checkpoint is durable is
  // unknown, so the writer keeps every block either checkpoint refers to
  // and writes no more (reopening the tree recovers whichever is on disk).
  bool sync_failed() const { return sync_failed_; }

 private:
  Superblock MakeSuperblock(uint64_t sequence) const;
  void WriteManifest(const Manifest<Key>& manifest);
  static void ManifestWritten(Grid::Write* write);
  void WriteSuperblock();
  static void SuperblockWritten(Storage::Write* write);
  void SuperblockCopiesWritten();
  void FinishCheckpoint();
  void AbandonCheckpoint(absl::Status status);
  void Finish(absl::Status status);

  Storage* storage_;
  Grid* grid_;
  const Snapshot* op_;
  uint32_t schema_id_;
  uint32_t level_count_;

  uint64_t sequence_ = 0;                        // Of the last durable one.
  std::vector<BlockReference> manifest_blocks_;  // Of that checkpoint.
  bool sync_failed_ = false;

  // The checkpoint in flight.
  Callback callback_ = nullptr;
  void* context_ = nullptr;
  std::vector<AlignedBuffer> frames_;
  std::vector<Grid::Write> writes_;
  std::vector<BlockReference> manifest_;  // Its manifest blocks.
  uint32_t pending_ = 0;
  absl::Status status_;
  // One frame and one write per copy of the checkpoint's slot.
  AlignedBuffer superblock_frames_[kSuperblockCopiesPerCheckpoint];
  Storage::Write superblock_writes_[kSuperblockCopiesPerCheckpoint];
  uint32_t superblock_write_attempts_[kSuperblockCopiesPerCheckpoint] = {};
  uint32_t superblock_copies_written_ = 0;
};

// -----------------------------------------------------------------------------
// Implementation.

template <Schema S>
Superblock TreeCheckpointWriter<S>::MakeSuperblock(uint64_t sequence) const {
  Superblock superblock;
  superblock.sequence = sequence;
  superblock.op = *op_;
  superblock.block_size_bytes = storage_->block_size_bytes();
  superblock.schema_id = schema_id_;
  superblock.key_size_bytes = sizeof(Key);
  superblock.value_size_bytes = sizeof(Value);
  superblock.level_count = level_count_;
  superblock.schema_name = SchemaName<S>();
  return superblock;
}

template <Schema S>
absl::Status TreeCheckpointWriter<S>::Format() {
  // Sequence 0 in slot 0 and 1 in slot 1: all valid, 1 current.
  for (uint64_t sequence = 0; sequence < kSuperblockSlotCount; sequence++) {
    for (uint32_t copy = 0; copy < kSuperblockCopiesPerCheckpoint; copy++) {
      AlignedBuffer& frame = superblock_frames_[copy];
      EncodeSuperblock(MakeSuperblock(sequence), frame.data(),
                       storage_->block_size_bytes(), copy);
      Storage::Write write;
      write.address = SuperblockAddress(sequence, copy);
      write.data = frame.data();
      write.callback = [](Storage::Write*) {};
      storage_->SubmitWrite(&write);
      storage_->RunUntilIdle();
      LSMSCAN_RETURN_IF_ERROR(write.status);
    }
  }
  LSMSCAN_RETURN_IF_ERROR(storage_->Sync());
  sequence_ = kSuperblockSlotCount - 1;
  return absl::OkStatus();
}

template <Schema S>
void TreeCheckpointWriter<S>::Write(const Manifest<Key>& manifest,
                                    Callback callback, void* context) {
  LSMSCAN_ASSERT(callback != nullptr);
  LSMSCAN_ASSERT(callback_ == nullptr);
  LSMSCAN_ASSERT(!sync_failed_);
  callback_ = callback;
  context_ = context;
  WriteManifest(manifest);
}

template <Schema S>
void TreeCheckpointWriter<S>::WriteManifest(const Manifest<Key>& manifest) {
  std::vector<TableInfo<Key>> live;
  for (uint32_t level = 0; level < level_count_; level++) {
    for (const ManifestTable<Key>& table : manifest.tables(level)) {
      if (table.info.snapshot_max == kSnapshotForever)
        live.push_back(table.info);
    }
  }
  const uint32_t block_size = storage_->block_size_bytes();
  const size_t per_block = ManifestEntryCountMax<Key>(block_size);
  const size_t block_count = (live.size() + per_block - 1) / per_block;
  if (block_count > SuperblockManifestBlockCountMax(block_size)) {
    Finish(absl::ResourceExhaustedError(absl::StrCat(
        "checkpoint: ", live.size(), " tables need ", block_count,
        " manifest blocks, more than a superblock can reference")));
    return;
  }
  frames_.clear();
  writes_ = std::vector<Grid::Write>(block_count);
  manifest_.clear();
  status_ = absl::OkStatus();
  for (size_t i = 0; i < block_count; i++) {
    absl::StatusOr<BlockAddress> address = grid_->AcquireAddress();
    if (!address.ok()) {
      AbandonCheckpoint(address.status());
      return;
    }
    frames_.emplace_back(block_size);
    const size_t begin = i * per_block;
    const size_t count = std::min(per_block, live.size() - begin);
    const Checksum128 checksum = EncodeManifestBlock<Key>(
        std::span<const TableInfo<Key>>(live.data() + begin, count),
        frames_.back().data(), block_size, *address, schema_id_);
    manifest_.push_back({*address, checksum});
  }
  pending_ = static_cast<uint32_t>(block_count);
  for (size_t i = 0; i < block_count; i++) {
    Grid::Write& write = writes_[i];
    write.address = manifest_[i].address;
    write.data = frames_[i].data();
    write.context = this;
    write.callback = &TreeCheckpointWriter::ManifestWritten;
    grid_->SubmitWrite(&write);
  }
  if (block_count == 0) WriteSuperblock();
}

template <Schema S>
void TreeCheckpointWriter<S>::ManifestWritten(Grid::Write* write) {
  auto* writer = static_cast<TreeCheckpointWriter*>(write->context);
  if (!write->status.ok() && writer->status_.ok()) {
    writer->status_ = write->status;
  }
  LSMSCAN_ASSERT(writer->pending_ > 0);
  if (--writer->pending_ > 0) return;
  if (!writer->status_.ok()) {
    writer->AbandonCheckpoint(writer->status_);
    return;
  }
  writer->WriteSuperblock();
}

template <Schema S>
void TreeCheckpointWriter<S>::WriteSuperblock() {
  // The manifest blocks must be durable before the superblock points at them.
  absl::Status synced = storage_->Sync();
  if (!synced.ok()) {
    AbandonCheckpoint(std::move(synced));
    return;
  }
  Superblock superblock = MakeSuperblock(sequence_ + 1);
  superblock.manifest_blocks = manifest_;
  status_ = absl::OkStatus();
  pending_ = kSuperblockCopiesPerCheckpoint;
  superblock_copies_written_ = 0;
  for (uint32_t& attempts : superblock_write_attempts_) attempts = 0;
  for (uint32_t copy = 0; copy < kSuperblockCopiesPerCheckpoint; copy++) {
    EncodeSuperblock(superblock, superblock_frames_[copy].data(),
                     storage_->block_size_bytes(), copy);
    Storage::Write& write = superblock_writes_[copy];
    write = Storage::Write();
    write.address = SuperblockAddress(superblock.sequence, copy);
    write.data = superblock_frames_[copy].data();
    write.context = this;
    write.callback = &TreeCheckpointWriter::SuperblockWritten;
    storage_->SubmitWrite(&write);
  }
}

template <Schema S>
void TreeCheckpointWriter<S>::SuperblockWritten(Storage::Write* write) {
  auto* writer = static_cast<TreeCheckpointWriter*>(write->context);
  const size_t copy = static_cast<size_t>(write - writer->superblock_writes_);
  LSMSCAN_ASSERT(copy < kSuperblockCopiesPerCheckpoint);
  if (write->status.ok()) {
    writer->superblock_copies_written_++;
  } else if (++writer->superblock_write_attempts_[copy] <
             kSuperblockWriteAttemptCount) {
    // Writing a superblock copy again is harmless: try once more before
    // the checkpoint's outcome becomes uncertain (one copy written, not
    // the other).
    const BlockAddress address = write->address;
    *write = Storage::Write();
    write->address = address;
    write->data = writer->superblock_frames_[copy].data();
    write->context = writer;
    write->callback = &TreeCheckpointWriter::SuperblockWritten;
    writer->storage_->SubmitWrite(write);
    return;
  } else if (writer->status_.ok()) {
    writer->status_ = write->status;
  }
  LSMSCAN_ASSERT(writer->pending_ > 0);
  if (--writer->pending_ > 0) return;
  writer->SuperblockCopiesWritten();
}

template <Schema S>
void TreeCheckpointWriter<S>::SuperblockCopiesWritten() {
  if (superblock_copies_written_ == 0) {
    // Neither copy written (a failed write is not applied, or is torn, and
    // Open() rejects a torn copy): the new manifest blocks are referenced
    // by nothing on disk.
    AbandonCheckpoint(status_);
    return;
  }
  absl::Status synced = status_.ok() ? storage_->Sync() : status_;
  if (!synced.ok()) {
    // One copy or both may reach the disk, and Open() would recover this
    // checkpoint from either: keep every block either checkpoint refers
    // to, and refuse further checkpoints until the tree is reopened (which
    // recovers whichever checkpoint is on disk, and repairs its copies).
    sync_failed_ = true;
    frames_.clear();
    Finish(std::move(synced));
    return;
  }
  FinishCheckpoint();
}

template <Schema S>
void TreeCheckpointWriter<S>::FinishCheckpoint() {
  sequence_++;
  // The previous checkpoint's manifest blocks are referenced by nothing
  // durable any more; Checkpointed() frees them with the other staged blocks.
  for (const BlockReference& reference : manifest_blocks_) {
    grid_->ReleaseAddress(reference.address);
  }
  manifest_blocks_ = std::move(manifest_);
  manifest_.clear();
  grid_->free_set().Checkpointed();
  frames_.clear();
  Finish(absl::OkStatus());
}

template <Schema S>
void TreeCheckpointWriter<S>::AbandonCheckpoint(absl::Status status) {
  // The new manifest blocks were never referenced: give them back.
  for (const BlockReference& reference : manifest_) {
    grid_->ReleaseAddress(reference.address);
  }
  manifest_.clear();
  frames_.clear();
  Finish(std::move(status));
}

template <Schema S>
void TreeCheckpointWriter<S>::Finish(absl::Status status) {
  Callback callback = callback_;
  callback_ = nullptr;
  callback(context_, std::move(status));
}

}  // namespace lsmscan

#endif  // LSMSCAN_LSM_TREE_CHECKPOINT_H_
