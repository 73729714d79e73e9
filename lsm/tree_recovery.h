// File: lsm/tree_recovery.h
// -----------------------------------------------------------------------------
//
// Recovering a tree from the newest intact checkpoint on its storage (what
// Tree::Open() does; tree_checkpoint.h writes checkpoints).
//
// Recovery reads every superblock copy and chooses the newest valid one
// (superblock_copies.h), checks that it was written for this schema and
// level count, then reads the manifest blocks it references and, for every
// table they list, the table's index block. It rebuilds the manifest and
// marks every block the checkpoint references as acquired in the free set.
// Every reference is checked before it is followed, and any disagreement (a
// checksum, a table's keys against its index, overlapping tables in a
// level, a block past the end of the storage) is DataLoss: recovery never
// builds a tree from a corrupt checkpoint. Last, it rewrites the copies of
// the recovered checkpoint that did not hold it, and reports every damaged
// copy. Blocking: it drives the storage until each read and write is done.

#ifndef LSMSCAN_LSM_TREE_RECOVERY_H_
#define LSMSCAN_LSM_TREE_RECOVERY_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "lsmscan/lsm/block_header.h"
#include "lsmscan/lsm/grid.h"
#include "lsmscan/lsm/index_block.h"
#include "lsmscan/lsm/manifest.h"
#include "lsmscan/lsm/manifest_codec.h"
#include "lsmscan/lsm/schema.h"
#include "lsmscan/lsm/superblock.h"
#include "lsmscan/lsm/superblock_copies.h"
#include "lsmscan/lsm/table_info.h"
#include "lsmscan/storage/aligned_buffer.h"
#include "lsmscan/storage/base/status_macros.h"
#include "lsmscan/storage/storage.h"

namespace lsmscan {

// RecoveredCheckpoint
//
// What recovery found besides the manifest.
struct RecoveredCheckpoint {
  Snapshot op = 0;                              // The tree's op.
  uint64_t sequence = 0;                        // The superblock's.
  std::vector<BlockReference> manifest_blocks;  // Still referenced.
  RecoveryReport report;                        // The superblock copies.
};

// TreeRecovery<S>
//
// One recovery of one storage; `storage`, `grid` and `manifest` must
// outlive it. REQUIRES: `grid`'s free set and `manifest` are empty.
template <Schema S>
class TreeRecovery {
 public:
  using Key = typename S::Key;
  using Value = typename S::Value;

  TreeRecovery(Storage* storage, Grid* grid, Manifest<Key>* manifest,
               uint32_t schema_id, uint32_t level_count)
      : storage_(storage),
        grid_(grid),
        manifest_(manifest),
        schema_id_(schema_id),
        level_count_(level_count) {}

  // TreeRecovery::Recover()
  //
  // Fills the manifest and the free set from the newest valid checkpoint,
  // then repairs its superblock copies. Errors: FailedPrecondition (not an
  // lsmscan file, another schema or level count), InvalidArgument (another
  // block size), DataLoss (no intact checkpoint, or a corrupt one), or the
  // read error of two unreadable superblock copies of one slot. A repair
  // that fails is in the report, not an error. On an error the manifest
  // and free set hold part of the checkpoint: discard them.
  absl::StatusOr<RecoveredCheckpoint> Recover();

 private:
  absl::Status CheckShape(const Superblock& superblock) const;
  absl::Status RecoverManifestBlocks(
      const std::vector<BlockReference>& references, AlignedBuffer* frame,
      std::vector<TableInfo<Key>>* infos);
  absl::Status RecoverTable(const TableInfo<Key>& info, AlignedBuffer* frame);
  absl::Status CheckLevelsDisjoint() const;
  absl::StatusOr<BlockRef> ReadBlocking(const BlockExpectation& expected,
                                        std::byte* frame);

  Storage* storage_;
  Grid* grid_;
  Manifest<Key>* manifest_;
  uint32_t schema_id_;
  uint32_t level_count_;
};

// -----------------------------------------------------------------------------
// Implementation.

template <Schema S>
absl::StatusOr<RecoveredCheckpoint> TreeRecovery<S>::Recover() {
  RecoveredCheckpoint recovered;
  LSMSCAN_ASSIGN_OR_RETURN(const Superblock superblock,
                           ReadSuperblockCopies(storage_, &recovered.report));
  LSMSCAN_RETURN_IF_ERROR(CheckShape(superblock));
  recovered.op = superblock.op;
  recovered.sequence = superblock.sequence;
  std::vector<TableInfo<Key>> infos;
  AlignedBuffer frame(storage_->block_size_bytes());
  LSMSCAN_RETURN_IF_ERROR(
      RecoverManifestBlocks(superblock.manifest_blocks, &frame, &infos));
  recovered.manifest_blocks = superblock.manifest_blocks;
  for (const TableInfo<Key>& info : infos) {
    LSMSCAN_RETURN_IF_ERROR(RecoverTable(info, &frame));
  }
  LSMSCAN_RETURN_IF_ERROR(CheckLevelsDisjoint());
  manifest_->CheckInvariants();
  // Only a checkpoint that checked out is worth two copies again.
  RepairSuperblockCopies(storage_, superblock, &recovered.report);
  return recovered;
}

template <Schema S>
absl::Status TreeRecovery<S>::CheckShape(const Superblock& superblock) const {
  if (superblock.schema_id != schema_id_ ||
      superblock.schema_name != SchemaName<S>() ||
      superblock.key_size_bytes != sizeof(Key) ||
      superblock.value_size_bytes != sizeof(Value)) {
    return absl::FailedPreconditionError(absl::StrCat(
        "the file holds another schema, ", superblock.schema_name, " (",
        superblock.key_size_bytes, "-byte keys, ", superblock.value_size_bytes,
        "-byte values), than ", std::string(SchemaName<S>()), " (", sizeof(Key),
        "-byte keys, ", sizeof(Value), "-byte values)"));
  }
  if (superblock.level_count != level_count_) {
    return absl::FailedPreconditionError(
        absl::StrCat("the file has ", superblock.level_count,
                     " levels, opened with ", level_count_));
  }
  return absl::OkStatus();
}

template <Schema S>
absl::Status TreeRecovery<S>::RecoverManifestBlocks(
    const std::vector<BlockReference>& references, AlignedBuffer* frame,
    std::vector<TableInfo<Key>>* infos) {
  const uint32_t block_size = storage_->block_size_bytes();
  for (const BlockReference& reference : references) {
    if (reference.address < kSuperblockCopyCount ||
        reference.address >= storage_->options().block_count_max ||
        grid_->free_set().acquired(reference.address)) {
      return absl::DataLossError("superblock: bad manifest block reference");
    }
    LSMSCAN_ASSIGN_OR_RETURN(
        BlockRef block, ReadBlocking({reference.address, reference.checksum,
                                      BlockType::kManifest, schema_id_},
                                     frame->data()));
    LSMSCAN_RETURN_IF_ERROR(DecodeManifestBlock<Key>(block.data(), block_size,
                                                     level_count_, infos));
    grid_->free_set().MarkAcquired(reference.address);
  }
  return absl::OkStatus();
}

template <Schema S>
absl::Status TreeRecovery<S>::RecoverTable(const TableInfo<Key>& info,
                                           AlignedBuffer* frame) {
  const uint64_t block_count_max = storage_->options().block_count_max;
  FreeSet& free_set = grid_->free_set();
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
  table.data_keys_min.assign(index.keys_min().begin(), index.keys_min().end());
  table.data_keys_max.assign(index.keys_max().begin(), index.keys_max().end());
  table.data_checksums.assign(index.checksums().begin(),
                              index.checksums().end());
  manifest_->Insert(std::move(table));
  return absl::OkStatus();
}

template <Schema S>
absl::Status TreeRecovery<S>::CheckLevelsDisjoint() const {
  // Decoded tables must form disjoint levels; anything else is corruption.
  for (uint32_t level = 0; level < level_count_; level++) {
    const std::vector<ManifestTable<Key>>& tables = manifest_->tables(level);
    for (size_t i = 1; i < tables.size(); i++) {
      if (!(tables[i - 1].info.key_max < tables[i].info.key_min)) {
        return absl::DataLossError(
            absl::StrCat("manifest: tables of level ", level, " overlap"));
      }
    }
  }
  return absl::OkStatus();
}

template <Schema S>
absl::StatusOr<BlockRef> TreeRecovery<S>::ReadBlocking(
    const BlockExpectation& expected, std::byte* frame) {
  Grid::Read read;
  read.expected = expected;
  read.frame = frame;
  read.callback = [](Grid::Read*) {};
  grid_->SubmitRead(&read);
  storage_->RunUntilIdle();
  LSMSCAN_RETURN_IF_ERROR(read.status);
  return std::move(read.block);
}

}  // namespace lsmscan

#endif  // LSMSCAN_LSM_TREE_RECOVERY_H_
