// File: tools/lsmscan/dump_block.h
// -----------------------------------------------------------------------------
//
// `lsmscan dump-block FILE ADDRESS [--hex]`: one block's header, whether it
// passes its own checks (VerifyBlockSelf: size, checksum, magic, version,
// address, schema), whether the current checkpoint references it, and its
// decoded contents (superblock fields, manifest entries, index entries or
// data values). --hex adds a hex dump of its used bytes. The header and hex
// need no schema; the contents of manifest, index and data blocks do.

#ifndef LSMSCAN_TOOLS_LSMSCAN_DUMP_BLOCK_H_
#define LSMSCAN_TOOLS_LSMSCAN_DUMP_BLOCK_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "lsmscan/lsm/block_header.h"
#include "lsmscan/lsm/data_block.h"
#include "lsmscan/lsm/index_block.h"
#include "lsmscan/lsm/manifest_codec.h"
#include "lsmscan/lsm/schema.h"
#include "lsmscan/storage/aligned_buffer.h"
#include "lsmscan/tools/lsmscan/context.h"
#include "lsmscan/tools/lsmscan/output.h"
#include "lsmscan/tools/lsmscan/read_commands.h"
#include "lsmscan/tools/lsmscan/schema_format.h"
#include "lsmscan/tools/lsmscan/walk.h"

namespace lsmscan {
namespace tool {

// DumpedBlock
//
// A block read for dump-block, and what its header and self-check say.
struct DumpedBlock {
  BlockAddress address = 0;
  AlignedBuffer frame;
  const std::byte* data = nullptr;
  BlockHeader header;
  bool all_zero = false;
  bool intact = false;  // Passed VerifyBlockSelf.

  explicit DumpedBlock(uint32_t block_size) : frame(block_size) {}
};

// ReadDumpedBlock()
//
// Parses ADDRESS and reads the block; on failure prints the error and
// returns the exit status in `exit_status`.
std::optional<DumpedBlock> ReadDumpedBlock(const Context& context,
                                           int* exit_status);

// PrintBlockHeader()
//
// The header fields and the self-check.
void PrintBlockHeader(const Context& context, const DumpedBlock& block);

// PrintSuperblockContents()
//
// The fields of a superblock copy (sequence, op, schema, levels, manifest
// references), or why it does not decode.
void PrintSuperblockContents(const Context& context, const DumpedBlock& block);

// PrintHex()
//
// With --hex: a hex dump of the block's used bytes (header.size_bytes, or
// the whole block if that is out of range); nothing otherwise.
void PrintHex(const Context& context, const DumpedBlock& block);

// PrintBlockRole<S>()
//
// How the current checkpoint references the block (a walk of its manifest
// and index blocks).
template <Schema S>
void PrintBlockRole(const Context& context, BlockAddress address) {
  const WalkResult<typename S::Key> walk =
      Walk<S>(*context.view, WalkOptions{true, false, nullptr});
  std::string role =
      "not referenced by the current checkpoint (free, or "
      "left over from an older one)";
  if (address < walk.roles.size() && walk.roles[address] != 0) {
    const auto type = static_cast<BlockType>(walk.roles[address]);
    role = type == BlockType::kSuperblock
               ? "a superblock copy"
               : absl::StrCat("referenced by the current checkpoint as ",
                              type == BlockType::kIndex ? "an " : "a ",
                              BlockTypeName(type), " block");
  }
  *context.out << "referenced:    " << role
               << (walk.clean() ? "" : " (the walk found problems: run verify)")
               << "\n";
}

// PrintManifestContents<S>(), PrintIndexContents<S>(), PrintDataContents<S>()
//
// The decoded entries of a manifest, index or data block as a table, or
// the decoder's message if the block does not decode as one (a block
// that passed its self-check may still hold bad entries).
template <Schema S>
void PrintManifestContents(const Context& context, const DumpedBlock& block) {
  std::vector<TableInfo<typename S::Key>> infos;
  const absl::Status decoded = DecodeManifestBlock<typename S::Key>(
      block.data, context.view->block_size_bytes,
      context.view->superblock.level_count, &infos);
  if (!decoded.ok()) {
    *context.out << "contents:      " << Printable(decoded.message()) << "\n";
    return;
  }
  RowWriter rows(context.out, OutputFormat::kTable,
                 {{"entry", 5, true},
                  {"level", 5, true},
                  {"key_min", 12, true},
                  {"key_max", 12, true},
                  {"snapshot_min", 12, true},
                  {"values", 8, true},
                  {"data_blocks", 11, true},
                  {"index_block", 11, true}});
  for (size_t i = 0; i < infos.size(); i++) {
    const TableInfo<typename S::Key>& info = infos[i];
    rows.Row({{absl::StrCat(i)},
              {absl::StrCat(info.level)},
              KeyCell<S>(info.key_min),
              KeyCell<S>(info.key_max),
              {absl::StrCat(info.snapshot_min)},
              {absl::StrCat(info.value_count)},
              {absl::StrCat(info.data_block_count)},
              {absl::StrCat(info.index_address)}});
  }
  rows.Finish();
}

template <Schema S>
void PrintIndexContents(const Context& context, const DumpedBlock& block) {
  const absl::Status valid = ValidateIndexBlock<typename S::Key>(
      block.data, context.view->block_size_bytes);
  if (!valid.ok()) {
    *context.out << "contents:      " << Printable(valid.message()) << "\n";
    return;
  }
  const IndexBlockView<typename S::Key> index(block.data);
  RowWriter rows(context.out, OutputFormat::kTable,
                 {{"entry", 5, true},
                  {"data_block", 10, true},
                  {"key_min", 12, true},
                  {"key_max", 12, true},
                  {"checksum", 32, false}});
  for (uint32_t i = 0; i < index.count(); i++) {
    const Checksum128 checksum = index.checksums()[i];
    rows.Row({{absl::StrCat(i)},
              {absl::StrCat(index.addresses()[i])},
              KeyCell<S>(index.keys_min()[i]),
              KeyCell<S>(index.keys_max()[i]),
              {HexString(&checksum, sizeof(checksum))}});
  }
  rows.Finish();
}

template <Schema S>
void PrintDataContents(const Context& context, const DumpedBlock& block) {
  const absl::Status valid =
      ValidateDataBlock<S>(block.data, context.view->block_size_bytes);
  if (!valid.ok()) {
    *context.out << "contents:      " << Printable(valid.message()) << "\n";
    return;
  }
  std::vector<Column> columns = {{"key", 12, true}, {"tombstone", 9, false}};
  for (const Column& column : ValueColumns<S>()) columns.push_back(column);
  RowWriter rows(context.out, OutputFormat::kTable, columns);
  for (const typename S::Value& value : DataBlockValues<S>(block.data)) {
    std::vector<Cell> cells = {KeyCell<S>(S::key_of(value)),
                               {S::is_tombstone(value) ? "yes" : "no"}};
    for (Cell& cell : ValueCells<S>(value)) cells.push_back(std::move(cell));
    rows.Row(cells);
  }
  rows.Finish();
}

// RunDumpBlock<S>()
//
// `dump-block ADDRESS [--hex]` with `S` the file's schema
// (RunDumpBlockWithoutSchema() otherwise). Exit 0 whenever the block could
// be read, whatever it holds (a failed self-check is shown, not an error);
// 64 for an ADDRESS that is not a block of the file.
template <Schema S>
int RunDumpBlock(const Context& context) {
  int exit_status = kExitOk;
  std::optional<DumpedBlock> block = ReadDumpedBlock(context, &exit_status);
  if (!block.has_value()) return exit_status;
  PrintBlockHeader(context, *block);
  PrintBlockRole<S>(context, block->address);
  if (block->intact) {
    *context.out << "\n";
    switch (block->header.block_type) {
      case BlockType::kSuperblock:
        PrintSuperblockContents(context, *block);
        break;
      case BlockType::kManifest:
        PrintManifestContents<S>(context, *block);
        break;
      case BlockType::kIndex:
        PrintIndexContents<S>(context, *block);
        break;
      case BlockType::kData:
        PrintDataContents<S>(context, *block);
        break;
    }
  }
  PrintHex(context, *block);
  return kExitOk;
}

// RunDumpBlockWithoutSchema()
//
// Header, self-check, superblock contents and hex: what needs no schema.
int RunDumpBlockWithoutSchema(const Context& context);

}  // namespace tool
}  // namespace lsmscan

#endif  // LSMSCAN_TOOLS_LSMSCAN_DUMP_BLOCK_H_
