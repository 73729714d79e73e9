// File: tools/lsmscan/walk.h
// -----------------------------------------------------------------------------
//
// The walk of every block the current checkpoint references, checking each
// against what refers to it and recording every problem instead of stopping
// at the first (Tree::Open stops at the first). It is the body of `verify`,
// and `info`, `tables`, `stats` and `dump-block` read the tree through it.
//
// Checked, in order (doc/tools.md lists the messages):
//   * every reference is inside the file and no block is referenced twice;
//   * manifest blocks: VerifyBlock against the superblock's reference, then
//     DecodeManifestBlock;
//   * index blocks: VerifyBlock against the manifest entry, ValidateIndexBlock
//     (sorted, disjoint data block ranges), and agreement with the entry
//     (data block count, first and last key);
//   * data blocks: VerifyBlock against the index entry, ValidateDataBlock,
//     strictly ascending keys, first and last key equal to the index's;
//   * per table: the manifest's value count equals the data blocks' values,
//     snapshot_min is not after the checkpoint's op;
//   * per level: the tables are disjoint.

#ifndef LSMSCAN_TOOLS_LSMSCAN_WALK_H_
#define LSMSCAN_TOOLS_LSMSCAN_WALK_H_

#include <algorithm>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "lsmscan/lsm/block_header.h"
#include "lsmscan/lsm/data_block.h"
#include "lsmscan/lsm/index_block.h"
#include "lsmscan/lsm/manifest_codec.h"
#include "lsmscan/lsm/schema.h"
#include "lsmscan/lsm/table_info.h"
#include "lsmscan/storage/aligned_buffer.h"
#include "lsmscan/tools/lsmscan/file_view.h"
#include "lsmscan/tools/lsmscan/progress.h"
#include "lsmscan/tools/lsmscan/schema_format.h"

namespace lsmscan {
namespace tool {

// Problem
//
// One thing wrong with the file; `message` names the block's address.
struct Problem {
  BlockAddress address = 0;
  std::string message;
  bool unreadable = false;  // A read failed (an I/O error), not corruption.
};

// WalkedTable<Key>
//
// A table of the current checkpoint as the walk found it.
template <typename Key>
struct WalkedTable {
  TableInfo<Key> info;
  std::vector<BlockAddress> data_addresses;  // Empty if the index failed.
  uint64_t values = 0;      // Counted in its data blocks (if read).
  uint64_t tombstones = 0;  // Likewise.
  bool intact = true;       // No problem found in its blocks.
};

// WalkOptions
//
// How far the walk reads (the manifest is always read) and where it
// reports progress (may be null).
struct WalkOptions {
  bool read_index_blocks = true;
  bool read_data_blocks = true;  // Implies reading index blocks.
  Progress* progress = nullptr;
};

// WalkResult<Key>
//
// Everything the walk found: the tables, the problems (empty if the file is
// intact as far as the walk read), and the role of each block.
template <typename Key>
struct WalkResult {
  // In manifest order: by level, then key.
  std::vector<WalkedTable<Key>> tables;
  std::vector<Problem> problems;
  // Per block of the file: the type it is referenced as (0: not referenced
  // by the current checkpoint).
  std::vector<uint8_t> roles;
  uint64_t referenced_block_count = 0;
  uint64_t blocks_read = 0;

  bool clean() const { return problems.empty(); }
};

namespace walk_internal {

// `status`'s message, naming `address` if it names only the block type
// ("index block: ..." -> "index block 12: ...").
inline std::string Describe(const absl::Status& status, BlockType type,
                            BlockAddress address) {
  const std::string prefix = absl::StrCat(BlockTypeName(type), " block");
  const std::string message(status.message());
  if (absl::StartsWith(message, prefix + ": ")) {
    return absl::StrCat(prefix, " ", address, message.substr(prefix.size()));
  }
  if (absl::StartsWith(message, prefix + " ")) return message;
  return absl::StrCat(prefix, " ", address, ": ", message);
}

}  // namespace walk_internal

// Walker<S>
//
// Walks one FileView (see the file comment). One use.
template <Schema S>
class Walker {
 public:
  using Key = typename S::Key;
  using Value = typename S::Value;

  Walker(const FileView* view, const WalkOptions& options)
      : view_(view),
        options_(options),
        frame_(view->block_size_bytes),
        block_size_(view->block_size_bytes) {}

  WalkResult<Key> Run() {
    result_.roles.assign(view_->block_count(), 0);
    for (BlockAddress copy = 0;
         copy < kSuperblockCopyCount && copy < view_->block_count(); copy++) {
      result_.roles[copy] = static_cast<uint8_t>(BlockType::kSuperblock);
    }
    std::vector<TableInfo<Key>> infos = ReadManifest();
    uint64_t total = view_->superblock.manifest_blocks.size();
    for (const TableInfo<Key>& info : infos) {
      if (options_.read_index_blocks || options_.read_data_blocks) total++;
      if (options_.read_data_blocks) total += info.data_block_count;
    }
    if (options_.progress != nullptr) options_.progress->set_total(total);
    for (const TableInfo<Key>& info : infos) WalkTable(info);
    CheckLevels();
    if (options_.progress != nullptr) options_.progress->Finish();
    return std::move(result_);
  }

 private:
  void AddProblem(BlockAddress address, std::string message,
                  bool unreadable = false) {
    result_.problems.push_back({address, std::move(message), unreadable});
  }

  // Claims `address` for a block of `type`; false (with a problem) if it is
  // outside the file or referenced already.
  bool Claim(BlockAddress address, BlockType type, const std::string& what) {
    const std::string name =
        absl::StrCat(BlockTypeName(type), " block ", address);
    if (address < kSuperblockCopyCount) {
      AddProblem(address, absl::StrCat(name, " (", what,
                                       "): the address of a superblock copy"));
      return false;
    }
    if (address >= view_->block_count()) {
      AddProblem(address,
                 absl::StrCat(name, " (", what, "): past the end of the file (",
                              view_->block_count(),
                              " blocks): the file is truncated"));
      return false;
    }
    if (result_.roles[address] != 0) {
      AddProblem(
          address,
          absl::StrCat(
              name, " (", what, "): already referenced, as a block of type ",
              BlockTypeName(static_cast<BlockType>(result_.roles[address]))));
      return false;
    }
    result_.roles[address] = static_cast<uint8_t>(type);
    result_.referenced_block_count++;
    return true;
  }

  // Reads and verifies a claimed block; null (with a problem) if it fails.
  const std::byte* ReadVerified(const BlockExpectation& expected) {
    absl::StatusOr<const std::byte*> block =
        ReadBlock(view_->storage.get(), expected.address, frame_.data());
    result_.blocks_read++;
    if (options_.progress != nullptr) {
      options_.progress->Update(result_.blocks_read);
    }
    if (!block.ok()) {
      AddProblem(expected.address,
                 walk_internal::Describe(block.status(), expected.type,
                                         expected.address),
                 !absl::IsDataLoss(block.status()));
      return nullptr;
    }
    const absl::Status verified = VerifyBlock(*block, block_size_, expected);
    if (!verified.ok()) {
      AddProblem(expected.address, std::string(verified.message()));
      return nullptr;
    }
    return *block;
  }

  std::vector<TableInfo<Key>> ReadManifest() {
    std::vector<TableInfo<Key>> infos;
    const Superblock& superblock = view_->superblock;
    for (const BlockReference& reference : superblock.manifest_blocks) {
      if (!Claim(reference.address, BlockType::kManifest,
                 "in the superblock")) {
        continue;
      }
      const std::byte* block =
          ReadVerified({reference.address, reference.checksum,
                        BlockType::kManifest, superblock.schema_id});
      if (block == nullptr) continue;
      const absl::Status decoded = DecodeManifestBlock<Key>(
          block, block_size_, superblock.level_count, &infos);
      if (!decoded.ok()) {
        AddProblem(reference.address,
                   walk_internal::Describe(decoded, BlockType::kManifest,
                                           reference.address));
      }
    }
    return infos;
  }

  void WalkTable(const TableInfo<Key>& info) {
    WalkedTable<Key> table;
    table.info = info;
    const size_t problems_before = result_.problems.size();
    if (info.snapshot_min > view_->superblock.op) {
      AddProblem(
          info.index_address,
          absl::StrCat("table at index block ", info.index_address,
                       ": snapshot_min ", info.snapshot_min,
                       " is after the checkpoint's op ", view_->superblock.op));
    }
    if ((options_.read_index_blocks || options_.read_data_blocks) &&
        Claim(info.index_address, BlockType::kIndex,
              absl::StrCat("a table of level ", info.level))) {
      WalkIndex(&table);
    }
    table.intact = result_.problems.size() == problems_before;
    result_.tables.push_back(std::move(table));
  }

  void WalkIndex(WalkedTable<Key>* table) {
    const TableInfo<Key>& info = table->info;
    const std::byte* block =
        ReadVerified({info.index_address, info.index_checksum,
                      BlockType::kIndex, view_->superblock.schema_id});
    if (block == nullptr) return;
    const absl::Status valid = ValidateIndexBlock<Key>(block, block_size_);
    if (!valid.ok()) {
      AddProblem(info.index_address,
                 walk_internal::Describe(valid, BlockType::kIndex,
                                         info.index_address));
      return;
    }
    const IndexBlockView<Key> index(block);
    const Key first = index.keys_min()[0];
    const Key last = index.keys_max()[index.count() - 1];
    if (index.count() != info.data_block_count || first != info.key_min ||
        last != info.key_max) {
      AddProblem(
          info.index_address,
          absl::StrCat("index block ", info.index_address,
                       ": disagrees with its manifest entry (manifest: ",
                       info.data_block_count, " data blocks, keys ",
                       FormatKey<S>(info.key_min), "..",
                       FormatKey<S>(info.key_max), "; index: ", index.count(),
                       " data blocks, keys ", FormatKey<S>(first), "..",
                       FormatKey<S>(last), ")"));
    }
    // Copied out: reading the data blocks reuses the frame.
    const std::vector<BlockAddress> addresses(index.addresses().begin(),
                                              index.addresses().end());
    const std::vector<Checksum128> checksums(index.checksums().begin(),
                                             index.checksums().end());
    const std::vector<Key> keys_min(index.keys_min().begin(),
                                    index.keys_min().end());
    const std::vector<Key> keys_max(index.keys_max().begin(),
                                    index.keys_max().end());
    table->data_addresses = addresses;
    const size_t problems_before = result_.problems.size();
    for (size_t i = 0; i < addresses.size(); i++) {
      const std::string what =
          absl::StrCat("entry ", i, " of index block ", info.index_address);
      if (!Claim(addresses[i], BlockType::kData, what)) continue;
      if (!options_.read_data_blocks) continue;
      WalkData(table,
               {addresses[i], checksums[i], BlockType::kData,
                view_->superblock.schema_id},
               keys_min[i], keys_max[i]);
    }
    // Counted only when every data block was read: a damaged block is
    // reported already, and its values are not counted.
    if (options_.read_data_blocks &&
        result_.problems.size() == problems_before &&
        table->values != info.value_count) {
      AddProblem(info.index_address,
                 absl::StrCat("table at index block ", info.index_address,
                              ": the manifest says ", info.value_count,
                              " values, its data blocks hold ", table->values));
    }
  }

  void WalkData(WalkedTable<Key>* table, const BlockExpectation& expected,
                const Key& key_min, const Key& key_max) {
    const std::byte* block = ReadVerified(expected);
    if (block == nullptr) return;
    const absl::Status valid = ValidateDataBlock<S>(block, block_size_);
    if (!valid.ok()) {
      AddProblem(
          expected.address,
          walk_internal::Describe(valid, BlockType::kData, expected.address));
      return;
    }
    const std::span<const Value> values = DataBlockValues<S>(block);
    for (const Value& value : values) {
      table->values++;
      if (S::is_tombstone(value)) table->tombstones++;
    }
    if (!DataBlockKeysAscend<S>(values)) {
      AddProblem(expected.address,
                 absl::StrCat("data block ", expected.address,
                              ": keys are not in strictly ascending order"));
      return;
    }
    const Key first = S::key_of(values.front());
    const Key last = S::key_of(values.back());
    if (first != key_min || last != key_max) {
      AddProblem(expected.address,
                 absl::StrCat("data block ", expected.address, ": holds keys ",
                              FormatKey<S>(first), "..", FormatKey<S>(last),
                              ", its index entry says ", FormatKey<S>(key_min),
                              "..", FormatKey<S>(key_max)));
    }
  }

  void CheckLevels() {
    std::vector<const TableInfo<Key>*> sorted;
    for (const WalkedTable<Key>& table : result_.tables) {
      sorted.push_back(&table.info);
    }
    std::sort(sorted.begin(), sorted.end(),
              [](const TableInfo<Key>* a, const TableInfo<Key>* b) {
                if (a->level != b->level) return a->level < b->level;
                return a->key_min < b->key_min;
              });
    for (size_t i = 1; i < sorted.size(); i++) {
      const TableInfo<Key>& a = *sorted[i - 1];
      const TableInfo<Key>& b = *sorted[i];
      if (a.level != b.level || a.key_max < b.key_min) continue;
      AddProblem(
          b.index_address,
          absl::StrCat("level ", b.level, ": the tables at index blocks ",
                       a.index_address, " (keys ", FormatKey<S>(a.key_min),
                       "..", FormatKey<S>(a.key_max), ") and ", b.index_address,
                       " (keys ", FormatKey<S>(b.key_min), "..",
                       FormatKey<S>(b.key_max), ") overlap"));
    }
  }

  const FileView* view_;
  WalkOptions options_;
  AlignedBuffer frame_;
  uint32_t block_size_;
  WalkResult<Key> result_;
};

// Walk()
//
// Walks `view` (see the file comment) and returns what it found; never
// stops at a problem. Reads only: the view's storage is read-only.
template <Schema S>
WalkResult<typename S::Key> Walk(const FileView& view,
                                 const WalkOptions& options) {
  return Walker<S>(&view, options).Run();
}

}  // namespace tool
}  // namespace lsmscan

#endif  // LSMSCAN_TOOLS_LSMSCAN_WALK_H_
