// File: tools/lsmscan/stats_command.h
// -----------------------------------------------------------------------------
//
// `lsmscan stats FILE`: how the data sits in the tree and what reading it
// costs.
//
//   * per level: tables, values, live values (the newest version of a key,
//     not a tombstone), tombstones, shadowed versions (older versions a
//     newer one of the same key, in a lower-numbered level, hides), from a
//     merge of the levels' data blocks;
//   * bytes on disk per live value (blocks the checkpoint references times
//     the block size, over the live values);
//   * a histogram of table sizes (data blocks per table);
//   * read amplification, measured, not estimated: blocks the storage read
//     for Tree::Get of sampled keys, for a full ScanTree scan, and for short
//     scans, with no block cache.

#ifndef LSMSCAN_TOOLS_LSMSCAN_STATS_COMMAND_H_
#define LSMSCAN_TOOLS_LSMSCAN_STATS_COMMAND_H_

#include <algorithm>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "lsmscan/lsm/data_block.h"
#include "lsmscan/lsm/schema.h"
#include "lsmscan/lsm/tree_blocking.h"
#include "lsmscan/scan/scan_buffer.h"
#include "lsmscan/scan/scan_iterator.h"
#include "lsmscan/storage/aligned_buffer.h"
#include "lsmscan/storage/base/status_macros.h"
#include "lsmscan/tools/lsmscan/context.h"
#include "lsmscan/tools/lsmscan/even_sample.h"
#include "lsmscan/tools/lsmscan/info_command.h"
#include "lsmscan/tools/lsmscan/output.h"
#include "lsmscan/tools/lsmscan/read_commands.h"
#include "lsmscan/tools/lsmscan/walk.h"

namespace lsmscan {
namespace tool {

// Keys sampled for the point lookups and short scans of `stats`.
inline constexpr size_t kStatsSampleCount = 64;
// Values each short scan of `stats` reads.
inline constexpr uint64_t kStatsShortScanValueCount = 100;

// LevelCounts
//
// What `stats` counts in one level (see the file comment for the terms).
struct LevelCounts {
  uint64_t tables = 0;
  uint64_t values = 0;
  uint64_t live = 0;
  uint64_t tombstones = 0;
  uint64_t shadowed = 0;
};

// ReadAmplification
//
// Storage reads measured by `stats`.
struct ReadAmplification {
  uint64_t gets = 0;
  uint64_t get_blocks = 0;
  uint64_t get_blocks_max = 0;
  uint64_t scan_values = 0;
  uint64_t scan_blocks = 0;
  uint64_t short_scans = 0;
  uint64_t short_scan_blocks = 0;
};

// PrintStats()
//
// The report of `stats`, schema-independent.
void PrintStats(const Context& context, const std::vector<LevelCounts>& levels,
                const std::vector<uint32_t>& table_data_blocks,
                uint64_t blocks_used, const ReadAmplification& amplification);

// LevelCursor<S>
//
// The values of one level in key order, a data block at a time.
template <Schema S>
class LevelCursor {
 public:
  LevelCursor(Storage* storage, std::vector<BlockAddress> addresses)
      : storage_(storage),
        addresses_(std::move(addresses)),
        frame_(storage->block_size_bytes()) {}

  // Loads the first value; the read's error if it failed.
  absl::Status Start() { return Load(); }
  // Whether value() is a value of the level (false past its last).
  bool valid() const { return position_ < values_.size(); }
  // The current value. REQUIRES: valid().
  const typename S::Value& value() const { return values_[position_]; }
  // Moves to the next value; the read's error if a block read failed.
  absl::Status Advance() {
    if (++position_ < values_.size()) return absl::OkStatus();
    return Load();
  }

 private:
  absl::Status Load() {
    position_ = 0;
    values_ = {};
    while (values_.empty() && next_block_ < addresses_.size()) {
      absl::StatusOr<const std::byte*> block =
          ReadBlock(storage_, addresses_[next_block_++], frame_.data());
      if (!block.ok()) return block.status();
      // Verified by the walk (type, size) before the merge reads it again.
      if (ReadHeader(*block).block_type != BlockType::kData) {
        return absl::DataLossError("data block changed during stats");
      }
      values_ = DataBlockValues<S>(*block);
    }
    return absl::OkStatus();
  }

  Storage* storage_;
  std::vector<BlockAddress> addresses_;
  AlignedBuffer frame_;
  size_t next_block_ = 0;
  std::span<const typename S::Value> values_;
  size_t position_ = 0;
};

// MergeLevels<S>()
//
// Counts live and shadowed values per level, and samples
// min(kStatsSampleCount, live values) live keys evenly over all of them
// (EvenSample).
template <Schema S>
absl::Status MergeLevels(const FileView& view,
                         const WalkResult<typename S::Key>& walk,
                         std::vector<LevelCounts>* levels,
                         std::vector<typename S::Key>* samples) {
  using Key = typename S::Key;
  const uint32_t level_count = static_cast<uint32_t>(levels->size());
  std::vector<std::vector<const WalkedTable<Key>*>> tables(level_count);
  for (const WalkedTable<Key>& table : walk.tables) {
    tables[table.info.level].push_back(&table);
  }
  std::vector<std::unique_ptr<LevelCursor<S>>> cursors;
  for (uint32_t level = 0; level < level_count; level++) {
    std::sort(tables[level].begin(), tables[level].end(),
              [](const WalkedTable<Key>* a, const WalkedTable<Key>* b) {
                return a->info.key_min < b->info.key_min;
              });
    std::vector<BlockAddress> addresses;
    for (const WalkedTable<Key>* table : tables[level]) {
      addresses.insert(addresses.end(), table->data_addresses.begin(),
                       table->data_addresses.end());
    }
    cursors.push_back(std::make_unique<LevelCursor<S>>(view.storage.get(),
                                                       std::move(addresses)));
    LSMSCAN_RETURN_IF_ERROR(cursors.back()->Start());
  }
  EvenSample<Key> live_keys(kStatsSampleCount);
  while (true) {
    std::optional<Key> min;
    for (const auto& cursor : cursors) {
      if (!cursor->valid()) continue;
      const Key key = S::key_of(cursor->value());
      if (!min.has_value() || key < *min) min = key;
    }
    if (!min.has_value()) {
      *samples = live_keys.Take();
      return absl::OkStatus();
    }
    bool newest = true;
    for (uint32_t level = 0; level < level_count; level++) {
      LevelCursor<S>& cursor = *cursors[level];
      if (!cursor.valid() || S::key_of(cursor.value()) != *min) continue;
      if (!newest) {
        (*levels)[level].shadowed++;
      } else if (!S::is_tombstone(cursor.value())) {
        (*levels)[level].live++;
        live_keys.Add(*min);
      }
      newest = false;
      LSMSCAN_RETURN_IF_ERROR(cursor.Advance());
    }
  }
}

// MeasureReads<S>()
//
// Storage reads of Get, a full scan and short scans (see the file comment).
template <Schema S>
absl::StatusOr<ReadAmplification> MeasureReads(
    const FileView& view, const std::vector<typename S::Key>& samples) {
  absl::StatusOr<std::unique_ptr<Tree<S>>> tree =
      OpenTree<S>(view, /*cache_block_count=*/0);
  if (!tree.ok()) return tree.status();
  Storage* storage = view.storage.get();
  ReadAmplification result;
  AlignedBuffer frame(view.block_size_bytes);
  for (const typename S::Key& key : samples) {
    const uint64_t before = storage->stats().read_count;
    auto got = GetBlocking(tree->get(), key, kSnapshotLatest, frame.data());
    if (!got.ok()) return got.status();
    const uint64_t blocks = storage->stats().read_count - before;
    result.gets++;
    result.get_blocks += blocks;
    result.get_blocks_max = std::max(result.get_blocks_max, blocks);
  }
  absl::StatusOr<std::unique_ptr<ScanBuffer>> buffer =
      ScanBuffer::ForTree(**tree);
  if (!buffer.ok()) return buffer.status();
  ScanIterator<S> it(tree->get(), buffer->get());
  uint64_t before = storage->stats().read_count;
  if (std::optional<typename S::Key> from = KeyMinOf<S>(), to = KeyMaxOf<S>();
      from.has_value() && to.has_value()) {
    for (it.Seek(*from, *to); it.Valid(); it.Next()) result.scan_values++;
    if (!it.status().ok()) return it.status();
    result.scan_blocks = storage->stats().read_count - before;
  }
  for (const typename S::Key& key : samples) {
    if (!KeyMaxOf<S>().has_value()) break;
    before = storage->stats().read_count;
    uint64_t values = 0;
    for (it.Seek(key, *KeyMaxOf<S>());
         it.Valid() && values < kStatsShortScanValueCount; it.Next()) {
      values++;
    }
    if (!it.status().ok()) return it.status();
    result.short_scans++;
    result.short_scan_blocks += storage->stats().read_count - before;
  }
  return result;
}

// RunStats<S>()
//
// `stats` (see the file comment). Exit 0; 1 or 2, with the walk's problems
// on stderr and no report, if the file is not intact.
template <Schema S>
int RunStats(const Context& context) {
  using Key = typename S::Key;
  const FileView& view = *context.view;
  const WalkResult<Key> walk = Walk<S>(view, WalkOptions{true, true, nullptr});
  if (!walk.clean()) {
    *context.err << "lsmscan: the file has problems; stats needs an intact "
                    "file (run `lsmscan verify`):\n";
    Context to_err = context;
    to_err.out = context.err;
    return PrintProblems(to_err, walk.problems);
  }
  std::vector<LevelCounts> levels(view.superblock.level_count);
  std::vector<uint32_t> table_data_blocks;
  for (const WalkedTable<Key>& table : walk.tables) {
    LevelCounts& counts = levels[table.info.level];
    counts.tables++;
    counts.values += table.values;
    counts.tombstones += table.tombstones;
    table_data_blocks.push_back(table.info.data_block_count);
  }
  std::vector<Key> samples;
  absl::Status merged = MergeLevels<S>(view, walk, &levels, &samples);
  if (!merged.ok()) return Fail(context, merged);
  absl::StatusOr<ReadAmplification> amplification =
      MeasureReads<S>(view, samples);
  if (!amplification.ok()) return Fail(context, amplification.status());
  PrintStats(context, levels, table_data_blocks,
             walk.referenced_block_count + kSuperblockCopyCount,
             *amplification);
  return kExitOk;
}

}  // namespace tool
}  // namespace lsmscan

#endif  // LSMSCAN_TOOLS_LSMSCAN_STATS_COMMAND_H_
