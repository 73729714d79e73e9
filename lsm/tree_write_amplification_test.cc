// Background compaction does no more work than the explicit schedule
// (issue 14): the same seeded random puts, once with the tree's paced
// background compaction (a poll of the storage after each put, as an event
// loop does) and once with background compaction off and a blocking
// Compact() whenever a put is refused. The background schedule must keep
// level 0 within its size, so no flush merges its memory table over more
// than LevelTableCountMax(0) level-0 tables, and its compaction work stays
// within 1.5x the explicit schedule's.
//
// Reproduce a failure with the seed it prints:
//   LSMSCAN_SEED=<seed> bazel test //lsm:tree_write_amplification_test

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <memory>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "lsmscan/lsm/schema.h"
#include "lsmscan/lsm/tree.h"
#include "lsmscan/lsm/tree_testing.h"
#include "lsmscan/storage/base/prng.h"
#include "lsmscan/storage/memory_storage.h"
#include "lsmscan/storage/storage_testing.h"

namespace lsmscan {
namespace {

using Schema128 = Record128Schema;
using Value = Schema128::Value;
using Tree128 = Tree<Schema128>;
using ::lsmscan::testing::CompactBlocking;

// The default shape (growth factor 8, memory tables of one table's worth,
// two sealed) at a small scale with the proportions of write_benchmark's
// 1,000 B load: 8 KiB blocks of 63 values of 128 bytes (64 KiB blocks hold
// 64 of 1,000 B), tables of 8 blocks, so 200,000 puts seal about 400
// memory tables and fill three levels.
TreeOptions LoadOptions(bool background) {
  TreeOptions options;
  options.level_count = 4;
  options.growth_factor = 8;
  options.table_data_block_count_max = 8;
  options.immutable_table_count_max = 2;
  // The default 256 KiB step is 260 values of 1,000 B: the same number of
  // values per step.
  options.compaction_step_bytes_max = 260 * sizeof(Value);
  options.background_compaction = background;
  return options;
}

StorageOptions LoadStorageOptions() {
  StorageOptions options;
  options.block_size_bytes = 8192;
  options.block_count_max = 1 << 16;
  return options;
}

struct LoadResult {
  TreeStats stats;
  uint64_t refused = 0;  // Puts answered ResourceExhausted.
  uint64_t level0_tables_max = 0;
};

// Puts `count` random values (keys from `seed`) into a new tree. In the
// background schedule each put is followed by one poll of the storage, and
// a refused put waits for room (WaitWritableBlocking()); in the explicit
// one a refused put runs Compact() to completion and is retried. Then the
// tree is brought to rest (idle ticks, or one last Compact()), where every
// level but the last must be within its size.
LoadResult Load(bool background, uint64_t seed, uint64_t count) {
  LoadResult result;
  auto storage = MemoryStorage::Create(LoadStorageOptions());
  EXPECT_TRUE(storage.ok()) << storage.status();
  if (!storage.ok()) return result;
  auto tree = Tree128::Create(storage->get(), LoadOptions(background));
  EXPECT_TRUE(tree.ok()) << tree.status();
  if (!tree.ok()) return result;
  Prng prng(seed);
  for (uint64_t i = 0; i < count; i++) {
    const Value value =
        Schema128::Make(prng.Uniform(uint64_t{1} << 40), prng.Next());
    absl::Status status = (*tree)->Put(value);
    if (absl::IsResourceExhausted(status)) {
      result.refused++;
      const absl::Status made_room = background
                                         ? WaitWritableBlocking(tree->get())
                                         : CompactBlocking(tree->get());
      EXPECT_TRUE(made_room.ok()) << made_room;
      status = (*tree)->Put(value);
    }
    EXPECT_TRUE(status.ok()) << "put " << i << ": " << status;
    if (!status.ok()) return result;
    if (background) (*storage)->Tick(Storage::TickMode::kPoll);
    result.level0_tables_max = std::max<uint64_t>(
        result.level0_tables_max, (*tree)->manifest().live_table_count(0));
  }
  if (background) {
    (*storage)->RunUntilIdle();
    EXPECT_FALSE((*tree)->background_busy());
  } else {
    EXPECT_TRUE(CompactBlocking(tree->get()).ok());
  }
  result.stats = (*tree)->stats();
  for (uint32_t level = 0; level + 1 < (*tree)->level_count(); level++) {
    EXPECT_LE(result.stats.levels[level].tables,
              (*tree)->LevelTableCountMax(level))
        << "level " << level;
  }
  return result;
}

void Print(const char* name, const LoadResult& r) {
  std::printf(
      "%s: %llu values compacted (%.2f per put), %llu flushes (at most %llu "
      "level-0 tables merged), %llu compactions, %llu moves, level 0 at "
      "most %llu tables, %llu puts refused\n",
      name, static_cast<unsigned long long>(r.stats.values_compacted),
      static_cast<double>(r.stats.values_compacted) /
          static_cast<double>(std::max<uint64_t>(r.stats.puts, 1)),
      static_cast<unsigned long long>(r.stats.flushes),
      static_cast<unsigned long long>(r.stats.flush_targets_max),
      static_cast<unsigned long long>(r.stats.compactions),
      static_cast<unsigned long long>(r.stats.moves),
      static_cast<unsigned long long>(r.level0_tables_max),
      static_cast<unsigned long long>(r.refused));
}

// Regression (c03c413): the background schedule always flushed a waiting
// memory table before any level job, so under steady writes level 0 grew
// far past its size and every flush rewrote all of it (about 8x the
// explicit schedule's work at 1 M puts of 1,000 B).
TEST(TreeWriteAmplificationTest, BackgroundDoesNoMoreWorkThanExplicit) {
  const uint64_t seed = testing::SeedFromEnvironment(1400);
  SCOPED_TRACE(absl::StrCat("LSMSCAN_SEED=", seed));
  constexpr uint64_t kPuts = 200'000;
  const LoadResult background = Load(/*background=*/true, seed, kPuts);
  const LoadResult explicit_schedule = Load(/*background=*/false, seed, kPuts);
  Print("background", background);
  Print("explicit  ", explicit_schedule);
  ASSERT_EQ(background.stats.puts, kPuts);
  ASSERT_EQ(explicit_schedule.stats.puts, kPuts);
  EXPECT_GT(explicit_schedule.refused, 0u);
  // The memory storage absorbs any rate: no put waits for room.
  EXPECT_EQ(background.refused, 0u);
  EXPECT_LE(background.stats.flush_targets_max,
            LoadOptions(true).growth_factor);  // LevelTableCountMax(0).
  EXPECT_LE(
      static_cast<double>(background.stats.values_compacted),
      1.5 * static_cast<double>(explicit_schedule.stats.values_compacted));
}

}  // namespace
}  // namespace lsmscan
