#include "lsmscan/tools/lsmscan/stats_command.h"

#include <bit>

namespace lsmscan {
namespace tool {
namespace {

std::string Ratio(uint64_t numerator, uint64_t denominator) {
  if (denominator == 0) return "n/a";
  return absl::StrFormat("%.2f", static_cast<double>(numerator) /
                                     static_cast<double>(denominator));
}

void PrintLevels(const Context& context,
                 const std::vector<LevelCounts>& levels) {
  RowWriter rows(context.out, OutputFormat::kTable,
                 {{"level", 5, true},
                  {"tables", 6, true},
                  {"values", 10, true},
                  {"live", 10, true},
                  {"tombstones", 10, true},
                  {"shadowed", 10, true}});
  LevelCounts total;
  for (size_t level = 0; level < levels.size(); level++) {
    const LevelCounts& counts = levels[level];
    rows.Row({{absl::StrCat(level)},
              {WithThousands(counts.tables)},
              {WithThousands(counts.values)},
              {WithThousands(counts.live)},
              {WithThousands(counts.tombstones)},
              {WithThousands(counts.shadowed)}});
    total.tables += counts.tables;
    total.values += counts.values;
    total.live += counts.live;
    total.tombstones += counts.tombstones;
    total.shadowed += counts.shadowed;
  }
  rows.Row({{"all"},
            {WithThousands(total.tables)},
            {WithThousands(total.values)},
            {WithThousands(total.live)},
            {WithThousands(total.tombstones)},
            {WithThousands(total.shadowed)}});
  rows.Finish();
  *context.out
      << "(live: the newest version of its key and not a tombstone; "
         "shadowed: hidden by a newer version in a lower-numbered level)\n";
}

void PrintHistogram(const Context& context,
                    const std::vector<uint32_t>& table_data_blocks) {
  // Bucket b holds tables of [2^b, 2^(b+1)) data blocks.
  std::vector<uint64_t> buckets;
  for (uint32_t blocks : table_data_blocks) {
    const size_t bucket = static_cast<size_t>(std::bit_width(blocks) - 1);
    if (buckets.size() <= bucket) buckets.resize(bucket + 1, 0);
    buckets[bucket]++;
  }
  *context.out << "\ntable sizes (data blocks per table):\n";
  if (buckets.empty()) {
    *context.out << "  (no tables)\n";
    return;
  }
  const uint64_t most = *std::max_element(buckets.begin(), buckets.end());
  for (size_t bucket = 0; bucket < buckets.size(); bucket++) {
    const uint64_t low = uint64_t{1} << bucket;
    const uint64_t high = (low << 1) - 1;
    const std::string label =
        low == high ? absl::StrCat(low) : absl::StrCat(low, "-", high);
    const size_t bar = buckets[bucket] == 0
                           ? 0
                           : std::max<size_t>(1, buckets[bucket] * 40 / most);
    std::string line =
        absl::StrFormat("  %11s  %8s  %s", label,
                        WithThousands(buckets[bucket]), std::string(bar, '#'));
    line.erase(line.find_last_not_of(' ') + 1);
    *context.out << line << "\n";
  }
}

}  // namespace

void PrintStats(const Context& context, const std::vector<LevelCounts>& levels,
                const std::vector<uint32_t>& table_data_blocks,
                uint64_t blocks_used, const ReadAmplification& amplification) {
  const FileView& view = *context.view;
  std::ostream& out = *context.out;
  PrintLevels(context, levels);
  uint64_t live = 0;
  for (const LevelCounts& counts : levels) live += counts.live;
  const uint64_t bytes_used = blocks_used * view.block_size_bytes;
  out << "\nbytes on disk per live value: " << Ratio(bytes_used, live) << " ("
      << WithThousands(bytes_used) << " bytes in " << WithThousands(blocks_used)
      << " referenced blocks / " << WithThousands(live)
      << " live values; a value is " << view.superblock.value_size_bytes
      << " bytes)\n";
  PrintHistogram(context, table_data_blocks);
  const uint64_t value_bytes =
      amplification.scan_values * view.superblock.value_size_bytes;
  out << "\nread amplification (measured through Tree::Get and ScanTree on "
         "this file, no block cache; blocks of "
      << WithThousands(view.block_size_bytes) << " bytes):\n"
      << "  point lookup:  "
      << Ratio(amplification.get_blocks, amplification.gets)
      << " blocks read per Get on average, at most "
      << amplification.get_blocks_max << " (" << amplification.gets
      << " live keys sampled evenly)\n"
      << "  full scan:     " << WithThousands(amplification.scan_blocks)
      << " blocks read for " << WithThousands(amplification.scan_values)
      << " values: "
      << Ratio(amplification.scan_blocks * view.block_size_bytes, value_bytes)
      << " bytes read per byte returned\n"
      << "  short scans:   "
      << Ratio(amplification.short_scan_blocks, amplification.short_scans)
      << " blocks read per scan of up to " << kStatsShortScanValueCount
      << " values on average (" << amplification.short_scans
      << " scans, from the sampled keys)\n";
}

}  // namespace tool
}  // namespace lsmscan
