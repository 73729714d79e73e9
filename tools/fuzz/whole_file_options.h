// File: tools/fuzz/whole_file_options.h
// -----------------------------------------------------------------------------
//
// The tree shape of whole_file_fuzz.cc, shared with the corpus generator
// that writes its seed files: 4 KiB blocks and small tables, so a file of a
// few dozen blocks has tables on several levels.

#ifndef LSMSCAN_TOOLS_FUZZ_WHOLE_FILE_OPTIONS_H_
#define LSMSCAN_TOOLS_FUZZ_WHOLE_FILE_OPTIONS_H_

#include <cstdint>

#include "lsmscan/lsm/tree_options.h"

namespace lsmscan {
namespace fuzz {

inline constexpr uint32_t kWholeFileBlockSize = 4096;
inline constexpr uint32_t kWholeFileLevelCount = 3;

// WholeFileTreeOptions()
//
// The options whole_file_fuzz.cc opens files with (`level_count` levels).
inline TreeOptions WholeFileTreeOptions(
    uint32_t level_count = kWholeFileLevelCount) {
  TreeOptions options;
  options.level_count = level_count;
  options.growth_factor = 2;
  options.table_data_block_count_max = 2;
  options.memory_table_value_count_max = 64;
  options.immutable_table_count_max = 2;
  options.cache_block_count = 16;
  options.compaction_write_frame_count = 2;
  return options;
}

}  // namespace fuzz
}  // namespace lsmscan

#endif  // LSMSCAN_TOOLS_FUZZ_WHOLE_FILE_OPTIONS_H_
