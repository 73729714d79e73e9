#include "lsmscan/bench/compare_setup.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "lsmscan/bench/lsmscan_engine.h"
#include "lsmscan/bench/rocksdb_engine.h"
#include "lsmscan/lsm/schema.h"
#include "lsmscan/lsm/tree.h"
#include "lsmscan/lsm/tree_blocking.h"
#include "lsmscan/storage/aligned_buffer.h"
#include "lsmscan/storage/base/status_macros.h"
#include "lsmscan/storage/memory_storage.h"
#include "lsmscan/storage/mmap_storage.h"
#include "lsmscan/storage/pread_storage.h"
#include "lsmscan/storage/uring_storage.h"

namespace lsmscan {
namespace bench {
namespace {

using Clock = std::chrono::steady_clock;

double SecondsSince(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

std::string DatasetLabel(const Dataset& dataset, Shape shape) {
  return absl::StrCat(ShapeName(shape), " ", dataset.value_size_bytes(), "B");
}

StorageOptions LsmscanStorageOptions(uint64_t records, uint32_t value_size) {
  StorageOptions storage;
  storage.block_size_bytes = kBlockSizeBytes;
  // Room for the data several times over (compaction needs space while old
  // tables are replaced); address space only.
  const uint64_t data_blocks = records * value_size / kBlockSizeBytes + 1;
  storage.block_count_max = std::max<uint64_t>(data_blocks * 6, 4096);
  return storage;
}

TreeOptions LsmscanTreeOptions(Shape shape) {
  TreeOptions tree;  // 7 levels, growth 8, 4 MiB tables.
  if (shape == Shape::kLayered) {
    // 1 MiB tables, levels growing by 4: the data spreads over several
    // levels plus the memory tables (RocksDB's layered shape mirrors it).
    tree.growth_factor = 4;
    tree.table_data_block_count_max = 16;
  }
  return tree;
}

// Writes the blocks of a memory device into a file, so file backends can
// open the same tree.
absl::Status DumpDevice(MemoryDevice* device, const std::string& path) {
  const int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) return absl::InternalError(absl::StrCat("cannot create ", path));
  const size_t block_size = device->options().block_size_bytes;
  for (BlockAddress address = 0; address < device->block_count(); address++) {
    const ssize_t written = pwrite(fd, device->block(address), block_size,
                                   static_cast<off_t>(address * block_size));
    if (written != static_cast<ssize_t>(block_size)) {
      close(fd);
      return absl::InternalError(absl::StrCat("cannot write ", path));
    }
  }
  fsync(fd);
  close(fd);
  return absl::OkStatus();
}

// The device alone: reads lsmscan's data file sequentially with O_DIRECT in
// 1 MiB preads, one at a time, and nothing else. Timed beside the cold
// engines (full ascending scans only), so cold scans can be set beside the
// device measured in the same minutes.
class RawFileEngine final : public Engine {
 public:
  RawFileEngine(std::string path, uint64_t record_count)
      : path_(std::move(path)), record_count_(record_count) {}

  std::string family() const override { return "raw"; }
  std::string variant() const override { return "O_DIRECT 1 MiB preads"; }
  Temperature temperature() const override { return Temperature::kCold; }
  Layout layout() const override { return {0, 0, "the data file"}; }

  absl::StatusOr<ScanOutcome> FullScan(Direction direction) override {
    if (direction != Direction::kAscending) {
      return absl::UnimplementedError("raw reads are forward only");
    }
    const int fd = open(path_.c_str(), O_RDONLY | O_DIRECT);
    if (fd < 0) return absl::InternalError(absl::StrCat("cannot open ", path_));
    uint64_t offset = 0;
    while (true) {
      const ssize_t got =
          pread(fd, buffer_.data(), buffer_.size(), static_cast<off_t>(offset));
      if (got <= 0) break;
      offset += static_cast<uint64_t>(got);
    }
    close(fd);
    // Reported per record of the dataset, like the scans it is set beside.
    return ScanOutcome{record_count_, offset};
  }
  absl::StatusOr<ScanOutcome> RangeScans(std::span<const uint64_t>, uint64_t,
                                         Direction) override {
    return absl::UnimplementedError("raw reads are full scans only");
  }
  absl::StatusOr<ScanOutcome> SeekScans(std::span<const uint64_t>,
                                        uint32_t) override {
    return absl::UnimplementedError("raw reads are full scans only");
  }

 private:
  std::string path_;
  uint64_t record_count_;
  AlignedBuffer buffer_{size_t{1} << 20};
};

// Opens the tree written to `path` through one storage.
template <Schema S>
absl::Status AddFileEngine(std::unique_ptr<Storage> storage,
                           const TreeOptions& tree_options,
                           uint32_t cache_blocks, std::string variant,
                           Temperature temperature, uint32_t read_ahead,
                           EngineSet* set) {
  TreeOptions reopened = tree_options;
  reopened.cache_block_count = cache_blocks;
  LSMSCAN_ASSIGN_OR_RETURN(std::unique_ptr<Tree<S>> tree,
                           Tree<S>::Open(storage.get(), reopened));
  LSMSCAN_ASSIGN_OR_RETURN(
      auto engine,
      LsmscanEngine<S>::Create(std::move(storage), std::move(tree),
                               std::move(variant), temperature, read_ahead));
  set->engines.push_back(std::move(engine));
  return absl::OkStatus();
}

// The same tree through the file backends: mmap and pread+cache warm,
// io_uring and pread with O_DIRECT cold, and the raw device read.
template <Schema S>
absl::Status AddFileEngines(const CompareOptions& options,
                            const StorageOptions& storage_options,
                            const TreeOptions& tree_options,
                            const std::string& path, uint64_t block_count,
                            uint64_t records, EngineSet* set) {
  const uint32_t all_blocks = static_cast<uint32_t>(block_count + 16);
  MmapStorageOptions mmap_options;
  mmap_options.storage = storage_options;
  LSMSCAN_ASSIGN_OR_RETURN(
      auto mmap,
      MmapStorage::Open(path, OpenMode::kOpenExisting, mmap_options));
  LSMSCAN_RETURN_IF_ERROR(AddFileEngine<S>(std::move(mmap), tree_options, 0,
                                           "mmap", Temperature::kWarm, 1, set));
  LSMSCAN_ASSIGN_OR_RETURN(
      auto pread,
      PreadStorage::Open(path, OpenMode::kOpenExisting,
                         PreadStorageOptions{storage_options, false}));
  LSMSCAN_RETURN_IF_ERROR(AddFileEngine<S>(std::move(pread), tree_options,
                                           all_blocks, "pread+cache",
                                           Temperature::kWarm, 1, set));
  if (!options.cold) return absl::OkStatus();
  const uint32_t cold_blocks =
      static_cast<uint32_t>(kColdCacheBytes / kBlockSizeBytes);
  UringStorageOptions uring_options;
  uring_options.storage = storage_options;
  uring_options.direct_io = true;
  LSMSCAN_ASSIGN_OR_RETURN(
      auto uring,
      UringStorage::Open(path, OpenMode::kOpenExisting, uring_options));
  LSMSCAN_RETURN_IF_ERROR(AddFileEngine<S>(
      std::move(uring), tree_options, cold_blocks, "io_uring O_DIRECT",
      Temperature::kCold, kColdReadAheadBlocks, set));
  LSMSCAN_ASSIGN_OR_RETURN(
      auto pread_direct,
      PreadStorage::Open(path, OpenMode::kOpenExisting,
                         PreadStorageOptions{storage_options, true}));
  LSMSCAN_RETURN_IF_ERROR(AddFileEngine<S>(
      std::move(pread_direct), tree_options, cold_blocks, "pread O_DIRECT",
      Temperature::kCold, kColdReadAheadBlocks, set));
  set->engines.push_back(std::make_unique<RawFileEngine>(path, records));
  return absl::OkStatus();
}

template <Schema S>
absl::Status AddLsmscan(const CompareOptions& options, const Dataset& dataset,
                        const std::vector<Operation>& operations, Shape shape,
                        bool file_engines, EngineSet* set) {
  const std::string label =
      absl::StrCat("lsmscan ", DatasetLabel(dataset, shape));
  const StorageOptions storage_options =
      LsmscanStorageOptions(operations.size(), dataset.value_size_bytes());
  LSMSCAN_ASSIGN_OR_RETURN(std::shared_ptr<MemoryDevice> device,
                           MemoryDevice::Create(storage_options));
  std::unique_ptr<Storage> memory = MemoryStorage::Open(device);
  const TreeOptions tree_options = LsmscanTreeOptions(shape);
  LSMSCAN_ASSIGN_OR_RETURN(std::unique_ptr<Tree<S>> tree,
                           Tree<S>::Create(memory.get(), tree_options));
  const Clock::time_point start = Clock::now();
  LSMSCAN_RETURN_IF_ERROR(
      LoadTree<S>(tree.get(), dataset, operations, shape,
                  [&](uint64_t done, uint64_t total) {
                    Progress(absl::StrCat("loading ", label), done, total);
                  }));
  if (file_engines) LSMSCAN_RETURN_IF_ERROR(CheckpointBlocking(tree.get()));
  const Layout layout = TreeLayout(*tree);
  Say(absl::StrFormat("%s loaded in %.1f s: %s", label, SecondsSince(start),
                      layout.description));
  set->layouts.push_back({DatasetLabel(dataset, shape),
                          "lsmscan (every backend)", dataset.record_count(),
                          layout});
  LSMSCAN_ASSIGN_OR_RETURN(
      auto engine, LsmscanEngine<S>::Create(std::move(memory), std::move(tree),
                                            "memory", Temperature::kWarm, 1));
  set->engines.push_back(std::move(engine));
  if (!file_engines) return absl::OkStatus();
  const std::string path = absl::StrCat(options.data_dir, "/lsmscan_",
                                        dataset.value_size_bytes(), "B.blocks");
  LSMSCAN_RETURN_IF_ERROR(DumpDevice(device.get(), path));
  return AddFileEngines<S>(options, storage_options, tree_options, path,
                           device->block_count(), dataset.record_count(), set);
}

}  // namespace

void Say(const std::string& line) {
  std::fprintf(stderr, "[compare] %s\n", line.c_str());
  std::fflush(stderr);
}

void Progress(const std::string& what, uint64_t done, uint64_t total) {
  static const bool terminal = isatty(STDERR_FILENO) != 0;
  static int last_percent = -1;
  const int percent = total == 0 ? 100 : static_cast<int>(100 * done / total);
  if (percent == last_percent) return;
  last_percent = percent == 100 ? -1 : percent;
  if (terminal) {
    std::fprintf(stderr, "\r[compare] %s: %3d%%%s", what.c_str(), percent,
                 percent == 100 ? "\n" : "");
  } else if (percent % 25 == 0) {
    std::fprintf(stderr, "[compare] %s: %d%%\n", what.c_str(), percent);
  }
  std::fflush(stderr);
}

bool DirectIoSupported(const std::string& directory) {
  const std::string path = directory + "/o_direct_probe";
  const int fd = open(path.c_str(), O_RDWR | O_CREAT | O_DIRECT, 0644);
  if (fd < 0) return false;
  close(fd);
  unlink(path.c_str());
  return true;
}

std::vector<Engine*> EngineSet::Group(Temperature temperature) const {
  std::vector<Engine*> group;
  for (const auto& engine : engines) {
    if (engine->temperature() == temperature) group.push_back(engine.get());
  }
  return group;
}

std::vector<RocksDbConfig> RocksDbConfigs(const CompareOptions& options) {
  std::vector<RocksDbConfig> configs;
  if (options.rocksdb_default) configs.push_back(DefaultConfig());
  for (uint32_t block_size : options.tuned_block_sizes) {
    for (ColdReadahead readahead : options.tuned_cold_readaheads) {
      configs.push_back(
          TunedConfig(block_size, readahead, kColdReadAheadBytes));
      if (!options.cold) break;  // The read-ahead modes differ only cold.
    }
  }
  return configs;
}

absl::Status AddLsmscanEngines(const CompareOptions& options,
                               const Dataset& dataset,
                               const std::vector<Operation>& operations,
                               Shape shape, bool file_engines, EngineSet* set) {
  if (dataset.value_size_bytes() == 32) {
    return AddLsmscan<Record32Schema>(options, dataset, operations, shape,
                                      file_engines, set);
  }
  if (dataset.value_size_bytes() == 128) {
    return AddLsmscan<Record128Schema>(options, dataset, operations, shape,
                                       file_engines, set);
  }
  return absl::InvalidArgumentError("record sizes are 32 or 128 bytes");
}

}  // namespace bench
}  // namespace lsmscan

namespace lsmscan {
namespace bench {
namespace {

// A built (compacted) database: warm once, cold per read-ahead mode, and
// the mmap engine for the first tuned database.
absl::Status OpenBuilt(const CompareOptions& options, const Dataset& dataset,
                       Shape shape, const std::string& path,
                       const RocksDbConfig& config, bool first_of_database,
                       bool mmap, EngineSet* set) {
  if (first_of_database) {
    LSMSCAN_ASSIGN_OR_RETURN(
        auto warm,
        RocksDbEngine::Open(path, dataset, shape, config, Temperature::kWarm));
    set->layouts.push_back({DatasetLabel(dataset, shape),
                            absl::StrCat("rocksdb ", config.Label()),
                            dataset.record_count(), warm->layout()});
    set->engines.push_back(std::move(warm));
  }
  if (options.cold) {
    LSMSCAN_ASSIGN_OR_RETURN(
        auto cold,
        RocksDbEngine::Open(path, dataset, shape, config, Temperature::kCold));
    set->engines.push_back(std::move(cold));
  }
  if (mmap) {
    RocksDbConfig mmap_config = config;
    mmap_config.profile = RocksDbProfile::kMmap;
    LSMSCAN_ASSIGN_OR_RETURN(
        auto engine, RocksDbEngine::Open(path, dataset, shape, mmap_config,
                                         Temperature::kWarm));
    set->engines.push_back(std::move(engine));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status AddRocksDbEngines(const CompareOptions& options,
                               const Dataset& dataset,
                               const std::vector<Operation>& operations,
                               Shape shape, const std::string& label,
                               EngineSet* set) {
  std::vector<std::string> built;
  bool mmap_added = false;
  for (const RocksDbConfig& config : RocksDbConfigs(options)) {
    const std::string path = absl::StrCat(options.data_dir, "/", label, "_",
                                          config.DirectoryName(shape), "_",
                                          dataset.value_size_bytes(), "B");
    const bool first =
        std::find(built.begin(), built.end(), path) == built.end();
    const std::string name = absl::StrCat("rocksdb ", config.Label(), " ",
                                          DatasetLabel(dataset, shape));
    auto progress = [&](uint64_t done, uint64_t total) {
      Progress(absl::StrCat("loading ", name), done, total);
    };
    const Clock::time_point start = Clock::now();
    if (shape == Shape::kCompacted) {
      if (first) {
        LSMSCAN_RETURN_IF_ERROR(
            BuildRocksDb(path, dataset, operations, shape, config, progress));
      }
      const bool mmap = options.rocksdb_mmap && !mmap_added &&
                        config.profile == RocksDbProfile::kTuned;
      mmap_added = mmap_added || mmap;
      LSMSCAN_RETURN_IF_ERROR(
          OpenBuilt(options, dataset, shape, path, config, first, mmap, set));
    } else if (first) {
      LSMSCAN_ASSIGN_OR_RETURN(
          auto engine, RocksDbEngine::BuildAndOpen(path, dataset, operations,
                                                   shape, config, progress));
      set->layouts.push_back({DatasetLabel(dataset, shape),
                              absl::StrCat("rocksdb ", config.Label()),
                              dataset.record_count(), engine->layout()});
      set->engines.push_back(std::move(engine));
    }
    if (first) {
      built.push_back(path);
      Say(absl::StrFormat("%s built in %.1f s", name, SecondsSince(start)));
    }
  }
  return absl::OkStatus();
}

}  // namespace bench
}  // namespace lsmscan
