// File: tools/lsmscan/read_commands.h
// -----------------------------------------------------------------------------
//
// `lsmscan scan FILE [--from=K] [--to=K] [--reverse] [--limit=N]
// [--snapshot=S] [--format=table|json|csv]` and `lsmscan get FILE KEY`:
// the file is opened with Tree<S>::Open (the library's own recovery) over
// the read-only storage, and read through the real ScanTree (ScanIterator)
// and Tree::Get. Nothing is written: the storage refuses writes, and
// nothing these commands call writes.
//
// Snapshots are not persisted (doc/design.md): a file holds one, the op of
// its checkpoint, which `info` prints. --snapshot accepts that op (or
// "latest", the same state) and refuses any other with a clear message.

#ifndef LSMSCAN_TOOLS_LSMSCAN_READ_COMMANDS_H_
#define LSMSCAN_TOOLS_LSMSCAN_READ_COMMANDS_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "lsmscan/lsm/index_block.h"
#include "lsmscan/lsm/schema.h"
#include "lsmscan/lsm/tree.h"
#include "lsmscan/lsm/tree_blocking.h"
#include "lsmscan/lsm/tree_options.h"
#include "lsmscan/scan/scan_buffer.h"
#include "lsmscan/scan/scan_iterator.h"
#include "lsmscan/storage/aligned_buffer.h"
#include "lsmscan/tools/lsmscan/context.h"
#include "lsmscan/tools/lsmscan/output.h"
#include "lsmscan/tools/lsmscan/schema_format.h"

namespace lsmscan {
namespace tool {

// ReaderTreeOptions()
//
// Options that open any file of `superblock`'s shape with little memory:
// the file's level count, the format's largest tables, tiny memory tables
// (nothing is written), `cache_block_count` cache frames.
TreeOptions ReaderTreeOptions(const Superblock& superblock,
                              uint32_t block_size_bytes, size_t key_size_bytes,
                              uint32_t cache_block_count);

// OpenTree<S>()
//
// Tree<S>::Open over the view's read-only storage.
template <Schema S>
absl::StatusOr<std::unique_ptr<Tree<S>>> OpenTree(const FileView& view,
                                                  uint32_t cache_block_count) {
  const Superblock& superblock = view.superblock;
  if (superblock.level_count == 0 || superblock.level_count > kLevelCountMax) {
    return absl::DataLossError(
        absl::StrCat("superblock: level_count ", superblock.level_count,
                     " is outside [1, ", kLevelCountMax, "]"));
  }
  return Tree<S>::Open(
      view.storage.get(),
      ReaderTreeOptions(superblock, view.block_size_bytes,
                        sizeof(typename S::Key), cache_block_count));
}

// KeyRangeFlags<S>()
//
// --from and --to, defaulting to the schema's key domain.
template <Schema S>
absl::StatusOr<std::pair<typename S::Key, typename S::Key>> KeyRangeFlags(
    const CommandLine& line) {
  std::optional<typename S::Key> from = KeyMinOf<S>();
  std::optional<typename S::Key> to = KeyMaxOf<S>();
  if (const std::optional<std::string> text = line.Flag("from")) {
    absl::StatusOr<typename S::Key> key = ParseKey<S>(*text);
    if (!key.ok()) return key.status();
    from = *key;
  }
  if (const std::optional<std::string> text = line.Flag("to")) {
    absl::StatusOr<typename S::Key> key = ParseKey<S>(*text);
    if (!key.ok()) return key.status();
    to = *key;
  }
  if (!from.has_value() || !to.has_value()) {
    return absl::InvalidArgumentError(
        absl::StrCat("the keys of ", S::kName,
                     " have no default range: pass --from and --to"));
  }
  if (*to < *from) {
    return absl::InvalidArgumentError(
        absl::StrCat("--from (", FormatKey<S>(*from), ") is above --to (",
                     FormatKey<S>(*to), "); use --reverse to scan downwards"));
  }
  return std::make_pair(*from, *to);
}

// SnapshotFlag()
//
// --snapshot: kSnapshotLatest if absent or "latest"; `op` if it names it;
// InvalidArgument for any other.
absl::StatusOr<Snapshot> SnapshotFlag(const CommandLine& line, Snapshot op);

// RowColumns<S>()
//
// "key" and the value's columns, the key right-aligned to `key_width`.
template <Schema S>
std::vector<Column> RowColumns(size_t key_width) {
  std::vector<Column> columns = {{"key", key_width, true}};
  for (const Column& column : ValueColumns<S>()) columns.push_back(column);
  return columns;
}

template <Schema S>
std::vector<Cell> RowCells(const typename S::Value& value) {
  std::vector<Cell> cells = {KeyCell<S>(S::key_of(value))};
  for (Cell& cell : ValueCells<S>(value)) cells.push_back(std::move(cell));
  return cells;
}

// RunScan<S>()
template <Schema S>
int RunScan(const Context& context) {
  const CommandLine& line = *context.line;
  auto range = KeyRangeFlags<S>(line);
  if (!range.ok())
    return UsageError(context, std::string(range.status().message()));
  absl::StatusOr<std::optional<uint64_t>> limit = line.UnsignedFlag("limit");
  if (!limit.ok())
    return UsageError(context, std::string(limit.status().message()));
  absl::StatusOr<OutputFormat> format =
      ParseOutputFormat(line.Flag("format").value_or("table"));
  if (!format.ok())
    return UsageError(context, std::string(format.status().message()));
  if (line.Has("reverse") && !line.Flag("reverse")->empty()) {
    return UsageError(context, "--reverse takes no value");
  }
  absl::StatusOr<std::unique_ptr<Tree<S>>> tree =
      OpenTree<S>(*context.view, /*cache_block_count=*/64);
  if (!tree.ok()) return Fail(context, tree.status());
  absl::StatusOr<Snapshot> snapshot = SnapshotFlag(line, (*tree)->op());
  if (!snapshot.ok())
    return UsageError(context, std::string(snapshot.status().message()));
  std::optional<SnapshotHandle> held;
  if (*snapshot != kSnapshotLatest) {
    // The checkpoint's op: registered as a live snapshot, read through it.
    absl::StatusOr<SnapshotHandle> acquired = (*tree)->AcquireSnapshot();
    if (!acquired.ok()) return Fail(context, acquired.status());
    held = *acquired;
  }
  absl::StatusOr<std::unique_ptr<ScanBuffer>> buffer =
      ScanBuffer::ForTree(**tree);
  if (!buffer.ok()) return Fail(context, buffer.status());
  absl::Status status;
  {
    ScanIterator<S> it(tree->get(), buffer->get(), *snapshot);
    const auto [from, to] = *range;
    // Wide enough for the bounds given (defaults are often the key type's
    // extremes, which the file's keys seldom reach).
    size_t key_width = 0;
    if (line.Has("from")) key_width = FormatKey<S>(from).size();
    if (line.Has("to")) {
      key_width = std::max(key_width, FormatKey<S>(to).size());
    }
    RowWriter rows(context.out, *format, RowColumns<S>(key_width));
    const uint64_t limit_count = limit->value_or(UINT64_MAX);
    if (line.Has("reverse")) {
      it.SeekForPrev(to, from);
    } else {
      it.Seek(from, to);
    }
    for (; it.Valid() && rows.row_count() < limit_count; it.Next()) {
      rows.Row(RowCells<S>(it.value()));
    }
    rows.Finish();
    status = it.status();
  }
  if (held.has_value()) (void)(*tree)->ReleaseSnapshot(*held);
  return status.ok() ? kExitOk : Fail(context, status);
}

// RunGet<S>()
template <Schema S>
int RunGet(const Context& context) {
  absl::StatusOr<typename S::Key> key =
      ParseKey<S>(context.line->arguments.at(0));
  if (!key.ok())
    return UsageError(context, std::string(key.status().message()));
  absl::StatusOr<OutputFormat> format =
      ParseOutputFormat(context.line->Flag("format").value_or("table"));
  if (!format.ok())
    return UsageError(context, std::string(format.status().message()));
  absl::StatusOr<std::unique_ptr<Tree<S>>> tree =
      OpenTree<S>(*context.view, /*cache_block_count=*/0);
  if (!tree.ok()) return Fail(context, tree.status());
  AlignedBuffer frame(context.view->block_size_bytes);
  const absl::StatusOr<std::optional<typename S::Value>> got =
      GetBlocking(tree->get(), *key, kSnapshotLatest, frame.data());
  if (!got.ok()) return Fail(context, got.status());
  if (!got->has_value()) {
    *context.err << "lsmscan: key " << FormatKey<S>(*key) << ": not found\n";
    return kExitNotFound;
  }
  RowWriter rows(context.out, *format,
                 RowColumns<S>(FormatKey<S>(*key).size()));
  rows.Row(RowCells<S>(**got));
  rows.Finish();
  return kExitOk;
}

}  // namespace tool
}  // namespace lsmscan

#endif  // LSMSCAN_TOOLS_LSMSCAN_READ_COMMANDS_H_
