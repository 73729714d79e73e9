#include "lsmscan/tools/lsmscan/read_commands.h"

#include <algorithm>

namespace lsmscan {
namespace tool {

TreeOptions ReaderTreeOptions(const Superblock& superblock,
                              uint32_t block_size_bytes, size_t key_size_bytes,
                              uint32_t cache_block_count) {
  TreeOptions options;
  options.level_count = superblock.level_count;
  // Open accepts tables of any size; this only has to be valid.
  options.table_data_block_count_max = std::max<uint32_t>(
      1, IndexBlockEntryCountMax(block_size_bytes, key_size_bytes));
  options.memory_table_value_count_max = 64;
  options.immutable_table_count_max = 1;
  options.cache_block_count = cache_block_count;
  options.compaction_write_frame_count = 1;
  return options;
}

absl::StatusOr<Snapshot> SnapshotFlag(const CommandLine& line, Snapshot op) {
  const std::optional<std::string> text = line.Flag("snapshot");
  if (!text.has_value() || *text == "latest") return kSnapshotLatest;
  uint64_t snapshot = 0;
  if (absl::SimpleAtoi(*text, &snapshot) && snapshot == op) return snapshot;
  return absl::InvalidArgumentError(absl::StrCat(
      "--snapshot=", Printable(*text), ": this file holds one snapshot, op ",
      op,
      " of its checkpoint (snapshots are not persisted; see `lsmscan info`)"));
}

}  // namespace tool
}  // namespace lsmscan
