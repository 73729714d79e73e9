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

#include <algorithm>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <tuple>
#include <utility>
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
#include "lsmscan/tools/lsmscan/walk.h"

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
// Tree<S>::Open over the view's read-only storage, after a walk of the
// manifest and index blocks (walk.h; data blocks are not read): a file
// whose manifest or index blocks are damaged, or missing because the file
// is truncated, is refused with the walk's first problem, which names the
// block as `verify` does (DataLoss, or the read's error). If `tables` is
// not null it receives the tables of the walk.
template <Schema S>
absl::StatusOr<std::unique_ptr<Tree<S>>> OpenTree(
    const FileView& view, uint32_t cache_block_count,
    std::vector<WalkedTable<typename S::Key>>* tables = nullptr) {
  const Superblock& superblock = view.superblock;
  if (superblock.level_count == 0 || superblock.level_count > kLevelCountMax) {
    return absl::DataLossError(
        absl::StrCat("superblock: level_count ", superblock.level_count,
                     " is outside [1, ", kLevelCountMax, "]"));
  }
  WalkResult<typename S::Key> walk = Walk<S>(
      view, WalkOptions{/*read_index_blocks=*/true,
                        /*read_data_blocks=*/false, /*progress=*/nullptr});
  if (!walk.clean()) {
    const Problem& first = walk.problems.front();
    std::string message = first.message;
    if (walk.problems.size() > 1) {
      absl::StrAppend(&message, " (and ", walk.problems.size() - 1,
                      " more problems: run `lsmscan verify`)");
    }
    return first.unreadable ? absl::UnavailableError(message)
                            : absl::DataLossError(message);
  }
  if (tables != nullptr) *tables = std::move(walk.tables);
  return Tree<S>::Open(
      view.storage.get(),
      ReaderTreeOptions(superblock, view.block_size_bytes,
                        sizeof(typename S::Key), cache_block_count));
}

// KeyColumnWidth<S>()
//
// The width of the key column of a scan of [from, to]: that of the longest
// printed key among the range's ends, clipped to the file's keys (`tables`),
// which for integer keys is the longest of any key the scan can print.
template <Schema S>
size_t KeyColumnWidth(const std::vector<WalkedTable<typename S::Key>>& tables,
                      const typename S::Key& from, const typename S::Key& to) {
  using Key = typename S::Key;
  std::optional<Key> lowest, highest;
  for (const WalkedTable<Key>& table : tables) {
    if (!lowest.has_value() || table.info.key_min < *lowest) {
      lowest = table.info.key_min;
    }
    if (!highest.has_value() || *highest < table.info.key_max) {
      highest = table.info.key_max;
    }
  }
  if (!lowest.has_value()) return 0;
  const Key first = from < *lowest ? *lowest : from;
  const Key last = *highest < to ? *highest : to;
  if (last < first) return 0;
  return std::max(FormatKey<S>(first).size(), FormatKey<S>(last).size());
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
        absl::StrCat("the keys of ", std::string(SchemaName<S>()),
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

// RowColumns<S>(), RowCells<S>()
//
// "key" and the value's columns, the key right-aligned to `key_width`;
// and the cells of one value under them.
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

// ScanFlags<Key>
//
// The flags of `scan`, parsed.
template <typename Key>
struct ScanFlags {
  Key from{};
  Key to{};
  bool reverse = false;
  uint64_t limit = UINT64_MAX;
  OutputFormat format = OutputFormat::kTable;
};

// ParseScanFlags<S>()
//
// --from, --to, --reverse, --limit and --format; InvalidArgument, with the
// message for the user, if one is malformed.
template <Schema S>
absl::StatusOr<ScanFlags<typename S::Key>> ParseScanFlags(
    const CommandLine& line) {
  ScanFlags<typename S::Key> flags;
  auto range = KeyRangeFlags<S>(line);
  if (!range.ok()) return range.status();
  std::tie(flags.from, flags.to) = *range;
  absl::StatusOr<std::optional<uint64_t>> limit = line.UnsignedFlag("limit");
  if (!limit.ok()) return limit.status();
  flags.limit = limit->value_or(UINT64_MAX);
  absl::StatusOr<OutputFormat> format =
      ParseOutputFormat(line.Flag("format").value_or("table"));
  if (!format.ok()) return format.status();
  flags.format = *format;
  if (line.Has("reverse") && !line.Flag("reverse")->empty()) {
    return absl::InvalidArgumentError("--reverse takes no value");
  }
  flags.reverse = line.Has("reverse");
  return flags;
}

// ScanRows<S>()
//
// Streams the live values of the scan `flags` describe, at `snapshot`,
// through a ScanIterator on `tree`, as rows on `context.out`. Returns the
// scan's status; on an error the rows are abandoned (RowWriter::Abandon).
template <Schema S>
absl::Status ScanRows(const Context& context, Tree<S>* tree,
                      const ScanFlags<typename S::Key>& flags,
                      Snapshot snapshot, size_t key_width) {
  absl::StatusOr<std::unique_ptr<ScanBuffer>> buffer =
      ScanBuffer::ForTree(*tree);
  if (!buffer.ok()) return buffer.status();
  ScanIterator<S> it(tree, buffer->get(), snapshot);
  RowWriter rows(context.out, flags.format, RowColumns<S>(key_width));
  if (flags.reverse) {
    it.SeekForPrev(flags.to, flags.from);
  } else {
    it.Seek(flags.from, flags.to);
  }
  // Prev() descends after SeekForPrev(), as in RocksDB.
  while (it.Valid() && rows.row_count() < flags.limit) {
    rows.Row(RowCells<S>(it.value()));
    if (flags.reverse) {
      it.Prev();
    } else {
      it.Next();
    }
  }
  if (!it.status().ok()) {
    rows.Abandon();
    return it.status();
  }
  rows.Finish();
  return absl::OkStatus();
}

// RunScan<S>()
//
// `scan`: the live values in [--from, --to] (the schema's whole key domain
// by default), ascending or with --reverse descending, at most --limit of
// them, as a table, JSON or CSV. Exit 0, or the failure's status (a
// damaged block met on the way: 1, after the rows before it).
template <Schema S>
int RunScan(const Context& context) {
  const absl::StatusOr<ScanFlags<typename S::Key>> flags =
      ParseScanFlags<S>(*context.line);
  if (!flags.ok()) {
    return UsageError(context, std::string(flags.status().message()));
  }
  std::vector<WalkedTable<typename S::Key>> tables;
  absl::StatusOr<std::unique_ptr<Tree<S>>> tree =
      OpenTree<S>(*context.view, /*cache_block_count=*/64, &tables);
  if (!tree.ok()) return Fail(context, tree.status());
  absl::StatusOr<Snapshot> snapshot =
      SnapshotFlag(*context.line, (*tree)->op());
  if (!snapshot.ok()) {
    return UsageError(context, std::string(snapshot.status().message()));
  }
  std::optional<SnapshotHandle> held;
  if (*snapshot != kSnapshotLatest) {
    // The checkpoint's op: registered as a live snapshot, read through it.
    absl::StatusOr<SnapshotHandle> acquired = (*tree)->AcquireSnapshot();
    if (!acquired.ok()) return Fail(context, acquired.status());
    held = *acquired;
  }
  const absl::Status status =
      ScanRows<S>(context, tree->get(), *flags, *snapshot,
                  KeyColumnWidth<S>(tables, flags->from, flags->to));
  if (held.has_value()) (void)(*tree)->ReleaseSnapshot(*held);
  return status.ok() ? kExitOk : Fail(context, status);
}

// RunGet<S>()
//
// `get KEY`: the live value of KEY through Tree::Get, as one row. Exit 0,
// kExitNotFound (one line on stderr) if absent or removed.
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
