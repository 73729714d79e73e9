// File: tools/lsmscan/info_command.h
// -----------------------------------------------------------------------------
//
// `lsmscan info FILE` and `lsmscan tables FILE [--level=N] [--format=F]`.
//
// info prints the superblock copies and which one is current, the
// checkpoint, the block size, the schema (name, key and value sizes,
// fingerprint), and, from the manifest, the levels with their table counts,
// the sorted runs, and the bytes used and free. The first part needs no
// schema; the second needs the file's schema built into the tool.
//
// tables prints every table: level, key range, snapshot range, index block,
// data blocks, values and tombstones (which reads every data block).

#ifndef LSMSCAN_TOOLS_LSMSCAN_INFO_COMMAND_H_
#define LSMSCAN_TOOLS_LSMSCAN_INFO_COMMAND_H_

#include <cstdint>
#include <optional>
#include <vector>

#include "absl/strings/str_cat.h"
#include "lsmscan/lsm/schema.h"
#include "lsmscan/lsm/table_info.h"
#include "lsmscan/tools/lsmscan/context.h"
#include "lsmscan/tools/lsmscan/output.h"
#include "lsmscan/tools/lsmscan/schema_format.h"
#include "lsmscan/tools/lsmscan/walk.h"

namespace lsmscan {
namespace tool {

// PrintSuperblockInfo()
//
// The schema-independent part of `info`.
void PrintSuperblockInfo(const Context& context);

// PrintProblems()
//
// Each problem on its own line of `context.out`; returns the exit status
// they add up to (kExitOk if none, kExitUnreadable if a read failed, else
// kExitCorrupt).
int PrintProblems(const Context& context, const std::vector<Problem>& problems);

// RunInfo<S>()
//
// `info` (see the file comment). Exit 0, or 1 if the manifest has problems
// (printed after the report).
template <Schema S>
int RunInfo(const Context& context) {
  PrintSuperblockInfo(context);
  const FileView& view = *context.view;
  const WalkResult<typename S::Key> walk =
      Walk<S>(view, WalkOptions{/*read_index_blocks=*/false,
                                /*read_data_blocks=*/false, nullptr});
  const uint32_t level_count = view.superblock.level_count;
  std::vector<uint64_t> tables(level_count), blocks(level_count),
      values(level_count);
  uint64_t data_blocks = 0;
  for (const WalkedTable<typename S::Key>& table : walk.tables) {
    const uint32_t level = table.info.level;  // < level_count: decoded.
    tables[level]++;
    blocks[level] += table.info.data_block_count;
    values[level] += table.info.value_count;
    data_blocks += table.info.data_block_count;
  }
  std::ostream& out = *context.out;
  out << "\n";
  RowWriter rows(&out, OutputFormat::kTable,
                 {{"level", 5, true},
                  {"tables", 6, true},
                  {"data blocks", 11, true},
                  {"values", 10, true}});
  uint32_t runs = 0;
  for (uint32_t level = 0; level < level_count; level++) {
    if (tables[level] > 0) runs++;
    rows.Row({{absl::StrCat(level)},
              {WithThousands(tables[level])},
              {WithThousands(blocks[level])},
              {WithThousands(values[level])}});
  }
  rows.Finish();
  const uint64_t block_size = view.block_size_bytes;
  const uint64_t used = kSuperblockCopyCount +
                        view.superblock.manifest_blocks.size() +
                        walk.tables.size() + data_blocks;
  const uint64_t free =
      view.block_count() > used ? view.block_count() - used : 0;
  out << "\nsorted runs:     " << runs
      << " (one per non-empty level; memory tables are not on disk)\n"
      << "bytes used:      " << WithThousands(used * block_size) << " ("
      << WithThousands(used) << " blocks: " << kSuperblockCopyCount
      << " superblock copies, " << view.superblock.manifest_blocks.size()
      << " manifest, " << walk.tables.size() << " index, "
      << WithThousands(data_blocks) << " data)\n"
      << "bytes free:      " << WithThousands(free * block_size) << " ("
      << WithThousands(free)
      << " blocks of the file the checkpoint does not reference)\n";
  return PrintProblems(context, walk.problems);
}

// RunTables<S>()
//
// `tables [--level=N] [--format=F]` (see the file comment). Exit 0, or the
// status of the problems the walk found (listed on stderr after the rows;
// the counts of a damaged table are partial); 64 for a level the file
// does not have.
template <Schema S>
int RunTables(const Context& context) {
  absl::StatusOr<std::optional<uint64_t>> level =
      context.line->UnsignedFlag("level");
  if (!level.ok())
    return UsageError(context, std::string(level.status().message()));
  const uint32_t level_count = context.view->superblock.level_count;
  if (level->has_value() && **level >= level_count) {
    return UsageError(
        context, absl::StrCat("--level=", **level,
                              ": the file has levels 0 to ", level_count - 1));
  }
  const std::optional<std::string> format_text = context.line->Flag("format");
  absl::StatusOr<OutputFormat> format =
      ParseOutputFormat(format_text.value_or("table"));
  if (!format.ok())
    return UsageError(context, std::string(format.status().message()));
  const WalkResult<typename S::Key> walk =
      Walk<S>(*context.view, WalkOptions{true, true, nullptr});
  RowWriter rows(context.out, *format,
                 {{"level", 5, true},
                  {"key_min", 12, true},
                  {"key_max", 12, true},
                  {"snapshot_min", 12, true},
                  {"snapshot_max", 12, true},
                  {"index_block", 11, true},
                  {"data_blocks", 11, true},
                  {"values", 8, true},
                  {"tombstones", 10, true}});
  for (const WalkedTable<typename S::Key>& table : walk.tables) {
    const TableInfo<typename S::Key>& info = table.info;
    if (level->has_value() && info.level != **level) continue;
    rows.Row({{absl::StrCat(info.level), true},
              KeyCell<S>(info.key_min),
              KeyCell<S>(info.key_max),
              {absl::StrCat(info.snapshot_min), true},
              {info.snapshot_max == kSnapshotForever
                   ? std::string("forever")
                   : absl::StrCat(info.snapshot_max),
               info.snapshot_max != kSnapshotForever},
              {absl::StrCat(info.index_address), true},
              {absl::StrCat(info.data_block_count), true},
              {absl::StrCat(table.values), true},
              {absl::StrCat(table.tombstones), true}});
  }
  rows.Finish();
  if (walk.clean()) return kExitOk;
  *context.err << "lsmscan: the file has problems (run `lsmscan verify`); "
                  "counts of damaged tables are partial:\n";
  Context to_err = context;
  to_err.out = context.err;
  return PrintProblems(to_err, walk.problems);
}

}  // namespace tool
}  // namespace lsmscan

#endif  // LSMSCAN_TOOLS_LSMSCAN_INFO_COMMAND_H_
