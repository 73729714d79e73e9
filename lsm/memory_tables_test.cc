// MemoryTables (lsm/memory_tables.h) with readers of the latest state:
// what each reader pinned stays as it saw it while writes and background
// sorts go on, against a std::map.
//
// Seeded; rerun a failure with LSMSCAN_SEED=<seed>.

#include "lsmscan/lsm/memory_tables.h"

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "gtest/gtest.h"
#include "lsmscan/lsm/schema.h"
#include "lsmscan/lsm/table_memory.h"
#include "lsmscan/lsm/table_memory_testing.h"
#include "lsmscan/storage/base/prng.h"
#include "lsmscan/storage/storage_testing.h"

namespace lsmscan {
namespace {

using S32 = Record32Schema;
using Value32 = S32::Value;
using ::lsmscan::testing::Merged;
using ::lsmscan::testing::SameBytes;

// MemoryTables with one mutable table: puts, and readers of the latest state
// starting (PrepareLatest(), then pinning the runs as a read view does) and
// ending at random, against a std::map. Every reader keeps seeing exactly
// what it saw at its start while writes and sorts go on; the mutable table
// never holds more than kMemoryTableRunCountMax - 1 runs, and PrepareLatest()
// refuses only when readers pin that many. Then the table is sealed and
// sorted in small background slices (SortStep()), readers still pinned.
TEST(MemoryTablesTest, LatestReadersSeeTheirRunsWhileWritesGoOn) {
  const uint64_t seed = testing::SeedFromEnvironment(0x3E4D);
  SCOPED_TRACE("seed " + std::to_string(seed) +
               " (rerun with LSMSCAN_SEED=" + std::to_string(seed) + ")");
  Prng prng(seed);
  struct Reader {
    uint32_t run_count;
    std::vector<Value32> seen;
  };
  uint32_t refusals = 0;
  for (int round = 0; round < 16; round++) {
    const uint32_t capacity = static_cast<uint32_t>(prng.Range(1, 1200));
    const uint64_t key_space = prng.Range(1, 2 * uint64_t{capacity} + 2);
    const double reader_chance = prng.Chance(0.5) ? 0.02 : 0.3;
    SCOPED_TRACE("round " + std::to_string(round));
    MemoryTables<S32> tables(capacity, 1);
    TableMemory<S32>& table = tables.mutable_table();
    std::map<uint64_t, Value32> model;
    std::vector<Reader> readers;
    auto check_reader = [&table](const Reader& reader) {
      const std::vector<Value32> now = Merged(table, reader.run_count);
      ASSERT_EQ(now.size(), reader.seen.size());
      for (size_t i = 0; i < now.size(); i++) {
        ASSERT_TRUE(SameBytes<S32>(now[i], reader.seen[i])) << i;
      }
    };
    auto end_reader = [&](size_t index) {
      check_reader(readers[index]);
      table.Unpin(readers[index].run_count);
      readers.erase(readers.begin() + static_cast<ptrdiff_t>(index));
    };
    for (uint32_t step = 0; step < 4 * capacity && !table.full(); step++) {
      if (prng.Chance(reader_chance)) {
        if (!tables.PrepareLatest()) {
          refusals++;
          ASSERT_EQ(table.pinned_run_count(), kMemoryTableRunCountMax - 1);
          while (!readers.empty()) end_reader(readers.size() - 1);
          continue;
        }
        ASSERT_TRUE(table.sorted());
        ASSERT_LE(table.run_count(), kMemoryTableRunCountMax - 1);
        Reader reader{table.run_count(), Merged(table)};
        ASSERT_EQ(reader.seen.size(), model.size());
        auto it = model.begin();
        for (const Value32& value : reader.seen) {
          ASSERT_TRUE(SameBytes<S32>(value, (it++)->second));
        }
        table.Pin(reader.run_count);
        readers.push_back(std::move(reader));
      } else if (!readers.empty() && prng.Chance(0.2)) {
        end_reader(prng.Uniform(readers.size()));
      } else {
        const uint64_t key = prng.Uniform(key_space);
        const Value32 value = prng.Chance(0.2) ? S32::tombstone(key)
                                               : S32::Make(key, prng.Next());
        ASSERT_TRUE(table.Put(value));
        model[key] = value;
      }
    }
    if (table.empty()) continue;
    // Sealed, then sorted a slice at a time, as the tree's background does.
    tables.Seal(round + 1);
    while (tables.sort_pending()) {
      ASSERT_GT(tables.SortStep(4096), 0u);
    }
    ASSERT_TRUE(table.sorted());
    ASSERT_LE(table.run_count(), kMemoryTableRunCountMax);
    const std::vector<Value32> merged = Merged(table);
    ASSERT_EQ(merged.size(), model.size());
    auto it = model.begin();
    for (const Value32& value : merged) {
      ASSERT_TRUE(SameBytes<S32>(value, (it++)->second));
    }
    while (!readers.empty()) end_reader(readers.size() - 1);
  }
  // The seed reaches the bound at least once (readers pin every run).
  EXPECT_GT(refusals, 0u);
}

}  // namespace
}  // namespace lsmscan
