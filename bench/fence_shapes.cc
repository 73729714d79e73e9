#include "lsmscan/bench/fence_shapes.h"

#include <algorithm>
#include <memory>
#include <set>

#include "absl/strings/str_cat.h"
#include "lsmscan/bench/dataset.h"
#include "lsmscan/bench/dataset_value.h"
#include "lsmscan/lsm/tree_blocking.h"
#include "lsmscan/storage/base/assert.h"
#include "lsmscan/storage/base/prng.h"

namespace lsmscan {
namespace bench {
namespace {

using Schema32 = Record32Schema;
using Value = Schema32::Value;
using Tree32 = Tree<Schema32>;

constexpr uint64_t kSeed = 20261125;

void Put(Tree32* tree, const Value& value) {
  LSMSCAN_ASSERT(PutWithBackPressure(tree, value).ok());
}

// recent_clustered: the old records compacted into the bottom level, then
// the recent writes (see the header), interleaved at random.
void LoadRecentClustered(uint64_t records, const RecentWrites& recent,
                         Tree32* tree) {
  const Dataset dataset(records, sizeof(Value), kSeed);
  for (const Operation& op : dataset.Operations(Shape::kCompacted)) {
    Put(tree, DatasetValue<Schema32>(dataset, op));
  }
  LSMSCAN_ASSERT(CompactAllBlocking(tree).ok());
  const uint64_t window_keys = recent.window_keys != 0
                                   ? recent.window_keys
                                   : std::max<uint64_t>(1, records / 1024);
  const uint64_t from = records * recent.hot_from_percent / 100;
  LSMSCAN_ASSERT(recent.hot_from_percent < 100 && from + window_keys < records);
  Prng prng(kSeed + 1);
  std::vector<uint64_t> windows(recent.hot_windows);
  for (uint64_t& start : windows) {
    start = from + prng.Uniform(records - from - window_keys);
  }
  const uint64_t count = records * recent.percent / 100;
  uint64_t appended = 0;
  for (uint64_t i = 0; i < count; i++) {
    const auto version = static_cast<uint32_t>(1 + i);
    if (windows.empty() || prng.Chance(0.5)) {
      Put(tree, DatasetValue<Schema32>(dataset,
                                       {records + appended++, version, false}));
      continue;
    }
    const uint64_t key =
        windows[prng.Uniform(windows.size())] + prng.Uniform(window_keys);
    Put(tree,
        DatasetValue<Schema32>(dataset, {key, version, prng.Uniform(10) == 0}));
  }
}

}  // namespace

const char* FenceShapeName(FenceShape shape) {
  switch (shape) {
    case FenceShape::kUniform:
      return "uniform";
    case FenceShape::kRecentClustered:
      return "recent_clustered";
    case FenceShape::kSlowLevel:
      return "slow_level";
  }
  return "?";
}

bool ParseFenceShape(std::string_view name, FenceShape* shape) {
  for (FenceShape candidate :
       {FenceShape::kUniform, FenceShape::kRecentClustered,
        FenceShape::kSlowLevel}) {
    if (name == FenceShapeName(candidate)) {
      *shape = candidate;
      return true;
    }
  }
  return false;
}

void LoadFenceShape(FenceShape shape, uint64_t records,
                    const RecentWrites& recent, Tree32* tree) {
  if (shape == FenceShape::kUniform) {
    const Dataset dataset(records, sizeof(Value), kSeed);
    for (const Operation& op : dataset.Operations(Shape::kLayered)) {
      Put(tree, DatasetValue<Schema32>(dataset, op));
    }
  } else {
    LoadRecentClustered(records, recent, tree);
  }
  LSMSCAN_ASSERT(CompactBlocking(tree).ok());
  LSMSCAN_ASSERT(CheckpointBlocking(tree).ok());
}

std::string LevelsDescription(const Tree32& tree) {
  std::string out;
  for (uint32_t level = 0; level < tree.level_count(); level++) {
    const auto fences = tree.manifest().Fences(level, kSnapshotLatest);
    if (fences == nullptr || fences->block_count() == 0) continue;
    absl::StrAppend(&out, out.empty() ? "" : ", ", "L", level, " ",
                    tree.manifest().live_table_count(level), " tables ",
                    fences->block_count(), " blocks [",
                    fences->keys_min.front(), ", ", fences->keys_max.back(),
                    "]");
  }
  return out;
}

std::string SeekGapsDescription(const Tree32& tree, uint64_t records,
                                uint32_t samples) {
  std::string out;
  for (uint32_t level = 0; level < tree.level_count(); level++) {
    const auto fences = tree.manifest().Fences(level, kSnapshotLatest);
    if (fences == nullptr || fences->block_count() == 0) continue;
    Prng prng(kSeed + 2);
    uint64_t gaps = 0;
    std::set<uint32_t> blocks;
    for (uint32_t i = 0; i < samples; i++) {
      const uint64_t key = prng.Uniform(records);
      const auto it = std::lower_bound(fences->keys_max.begin(),
                                       fences->keys_max.end(), key);
      if (it == fences->keys_max.end()) continue;  // The level is left out.
      const auto block = static_cast<uint32_t>(it - fences->keys_max.begin());
      if (fences->keys_min[block] <= key) continue;
      gaps++;
      blocks.insert(block);
    }
    absl::StrAppend(&out, out.empty() ? "" : ", ", "L", level, " ",
                    100.0 * static_cast<double>(gaps) / samples, "% (",
                    blocks.size(), " blocks)");
  }
  return out;
}

std::vector<BlockAddress> NewestLevelBlocks(const Tree32& tree,
                                            uint32_t* level) {
  for (uint32_t i = 0; i < tree.level_count(); i++) {
    const auto fences = tree.manifest().Fences(i, kSnapshotLatest);
    if (fences == nullptr || fences->block_count() == 0) continue;
    *level = i;
    return fences->addresses;
  }
  LSMSCAN_ASSERT_MSG(false, "the tree has no disk level");
  return {};
}

}  // namespace bench
}  // namespace lsmscan
