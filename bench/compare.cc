// //bench:compare — lsmscan's range scans beside RocksDB's iterators, on the
// same data, in one run.
//
//   bazel run //bench:compare                  # --quick: 1M records
//   bazel run //bench:compare -- --full        # 4M records, 128 B layered too
//   bazel run //bench:compare -- --help
//
// For each record size and tree shape it loads the same dataset (bench/
// dataset.h) into lsmscan and into RocksDB, checks that every engine returns
// the same records (counts and checksums must agree, or the run fails),
// then times full scans and range scans of 10 to 10,000 records in both
// directions, warm and cold, each repeated and reported as median, min and
// max ns/record. Reports go to stdout and to --out (results.json,
// results.md, chart_*.png). See bench/RESULTS.md for the last full run.

#include <fcntl.h>
#include <time.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "lsmscan/bench/build_info.h"
#include "lsmscan/bench/dataset.h"
#include "lsmscan/bench/engine.h"
#include "lsmscan/bench/lsmscan_engine.h"
#include "lsmscan/bench/report.h"
#include "lsmscan/bench/rocksdb_engine.h"
#include "lsmscan/lsm/schema.h"
#include "lsmscan/lsm/tree.h"
#include "lsmscan/lsm/tree_blocking.h"
#include "lsmscan/storage/aligned_buffer.h"
#include "lsmscan/storage/base/assert.h"
#include "lsmscan/storage/base/status_macros.h"
#include "lsmscan/storage/memory_storage.h"
#include "lsmscan/storage/mmap_storage.h"
#include "lsmscan/storage/pread_storage.h"
#include "lsmscan/storage/uring_storage.h"
#include "rocksdb/db.h"

ABSL_FLAG(bool, quick, true,
          "Quick mode (the default): 1,000,000 records, 32-byte records for "
          "both shapes and 128-byte records compacted; about 2-3 minutes.");
ABSL_FLAG(bool, full, false,
          "Full mode: 4,000,000 records, both record sizes in both shapes "
          "(overrides --quick).");
ABSL_FLAG(uint64_t, records, 0, "Records per dataset (0: 1M quick, 4M full).");
ABSL_FLAG(std::string, value_size, "",
          "Record sizes in bytes, comma-separated, from {32, 128} (default: "
          "per mode).");
ABSL_FLAG(std::string, shapes, "compacted,layered",
          "Tree shapes: compacted (one sorted run) and/or layered (several "
          "levels + memory tables, with overwrites and deletes).");
ABSL_FLAG(uint32_t, repetitions, 5,
          "Timed repetitions per measurement (>= 1).");
ABSL_FLAG(bool, cold, true,
          "Also measure cold reads (O_DIRECT, tiny caches) of the compacted "
          "trees.");
ABSL_FLAG(std::string, out, "",
          "Report directory (default: bench/out in the workspace under `bazel "
          "run`, else ./bench_out).");
ABSL_FLAG(std::string, data_dir, "/tmp/lsmscan_compare",
          "Where the data files go (must support O_DIRECT for cold runs); "
          "removed at the end.");
ABSL_FLAG(uint32_t, rocksdb_block_size, 4096, "RocksDB's block_size.");
ABSL_FLAG(uint64_t, seed, 20261125, "Seed of the dataset and workloads.");
ABSL_FLAG(bool, allow_unoptimized, false,
          "Run even if this binary was built without optimisation.");

namespace lsmscan {
namespace bench {
namespace {

using Clock = std::chrono::steady_clock;

// The CPU time (user + system) the process has used so far, in seconds.
double ProcessCpuSeconds() {
  timespec now{};
  const int result = clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &now);
  LSMSCAN_ASSERT(result == 0);
  return static_cast<double>(now.tv_sec) +
         static_cast<double>(now.tv_nsec) * 1e-9;
}

constexpr uint32_t kBlockSizeBytes = 64 << 10;
constexpr uint64_t kColdCacheBytes = uint64_t{4} << 20;  // Both engines.
constexpr uint32_t kColdReadAheadBlocks = 63;  // 4 MiB of slots per level.

struct Options {
  uint64_t records = 0;
  std::vector<uint32_t> value_sizes;
  std::vector<Shape> shapes;
  uint32_t repetitions = 5;
  bool cold = true;
  bool full = false;
  std::string out;
  std::string data_dir;
  uint64_t seed = 0;
  RocksDbSettings rocksdb;
};

// Progress of a long phase on stderr: a line rewritten in place on a
// terminal, a line per 10% otherwise.
void Progress(const std::string& what, uint64_t done, uint64_t total) {
  static const bool terminal = isatty(STDERR_FILENO) != 0;
  const int percent = total == 0 ? 100 : static_cast<int>(100 * done / total);
  static int last_percent = -1;
  if (percent == last_percent) return;
  last_percent = percent == 100 ? -1 : percent;
  if (terminal) {
    std::fprintf(stderr, "\r[compare] %s: %3d%%%s", what.c_str(), percent,
                 percent == 100 ? "\n" : "");
  } else if (percent % 10 == 0) {
    std::fprintf(stderr, "[compare] %s: %d%%\n", what.c_str(), percent);
  }
  std::fflush(stderr);
}

void Say(const std::string& line) {
  std::fprintf(stderr, "[compare] %s\n", line.c_str());
  std::fflush(stderr);
}

StorageOptions LsmscanStorageOptions(const Options& options,
                                     uint32_t value_size) {
  StorageOptions storage;
  storage.block_size_bytes = kBlockSizeBytes;
  // Room for the data several times over (compaction needs space while old
  // tables are replaced); address space only.
  const uint64_t data_blocks =
      options.records * value_size / kBlockSizeBytes + 1;
  storage.block_count_max = std::max<uint64_t>(data_blocks * 6, 4096);
  return storage;
}

TreeOptions LsmscanTreeOptions(Shape shape) {
  TreeOptions tree;  // 7 levels, growth 8, 4 MiB tables.
  if (shape == Shape::kLayered) {
    // Smaller tables and a lower growth factor, so the data spreads over
    // several levels plus the memory tables, like RocksDB's layered tree.
    tree.growth_factor = 4;
    tree.table_data_block_count_max = 16;
  }
  return tree;
}

// Whether files in `directory` can be opened with O_DIRECT (tmpfs cannot).
bool DirectIoSupported(const std::string& directory) {
  const std::string path = directory + "/o_direct_probe";
  const int fd = open(path.c_str(), O_RDWR | O_CREAT | O_DIRECT, 0644);
  if (fd < 0) return false;
  close(fd);
  unlink(path.c_str());
  return true;
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
// engines (full scans only), so the ratio of a cold scan to it is measured
// in the same minutes on the same, often noisy, device.
class RawFileEngine final : public Engine {
 public:
  RawFileEngine(std::string path, uint64_t record_count)
      : path_(std::move(path)), record_count_(record_count) {}

  std::string family() const override { return "raw"; }
  std::string variant() const override { return "O_DIRECT 1 MiB preads"; }
  Temperature temperature() const override { return Temperature::kCold; }
  uint64_t device_reads() const override { return 0; }
  std::string DescribeShape() const override { return "the data file"; }

  absl::StatusOr<ScanOutcome> FullScan(Direction direction) override {
    if (direction != Direction::kAscending) {
      return absl::UnimplementedError("raw reads are forward only");
    }
    const int fd = open(path_.c_str(), O_RDONLY | O_DIRECT);
    if (fd < 0) return absl::InternalError(absl::StrCat("cannot open ", path_));
    uint64_t offset = 0;
    uint64_t checksum = 0;
    while (true) {
      const ssize_t got =
          pread(fd, buffer_.data(), buffer_.size(), static_cast<off_t>(offset));
      if (got <= 0) break;
      checksum += static_cast<uint8_t>(buffer_.data()[0]);
      offset += static_cast<uint64_t>(got);
    }
    close(fd);
    bytes_ = offset;
    // Reported per record of the dataset, like the scans it is set beside.
    return ScanOutcome{record_count_, checksum};
  }

  absl::StatusOr<ScanOutcome> RangeScans(std::span<const uint64_t>, uint64_t,
                                         Direction) override {
    return absl::UnimplementedError("raw reads are full scans only");
  }

  // The file size read by the last full scan.
  uint64_t bytes() const { return bytes_; }

 private:
  std::string path_;
  uint64_t record_count_;
  AlignedBuffer buffer_{size_t{1} << 20};
  uint64_t bytes_ = 0;
};

// The lsmscan engines of one dataset and shape.
template <Schema S>
absl::Status AddLsmscanEngines(const Options& options, const Dataset& dataset,
                               Shape shape,
                               std::vector<std::unique_ptr<Engine>>* engines,
                               std::vector<std::string>* notes) {
  const std::string label = absl::StrCat("lsmscan ", ShapeName(shape), " ",
                                         dataset.value_size_bytes(), "B");
  const StorageOptions storage_options =
      LsmscanStorageOptions(options, dataset.value_size_bytes());
  LSMSCAN_ASSIGN_OR_RETURN(std::shared_ptr<MemoryDevice> device,
                           MemoryDevice::Create(storage_options));
  std::unique_ptr<Storage> memory = MemoryStorage::Open(device);
  const TreeOptions tree_options = LsmscanTreeOptions(shape);
  LSMSCAN_ASSIGN_OR_RETURN(std::unique_ptr<Tree<S>> tree,
                           Tree<S>::Create(memory.get(), tree_options));
  const Clock::time_point start = Clock::now();
  LSMSCAN_RETURN_IF_ERROR(LoadTree<S>(
      tree.get(), dataset, shape, [&](uint64_t done, uint64_t total) {
        Progress(absl::StrCat("loading ", label), done, total);
      }));
  Say(absl::StrFormat(
      "%s loaded in %.1f s: %s", label,
      std::chrono::duration<double>(Clock::now() - start).count(),
      DescribeTreeShape(*tree)));
  if (shape == Shape::kLayered) {
    LSMSCAN_ASSIGN_OR_RETURN(
        auto engine,
        LsmscanEngine<S>::Create(std::move(memory), std::move(tree), "memory",
                                 Temperature::kWarm, 1));
    notes->push_back(absl::StrCat(label, " shape: ", engine->DescribeShape()));
    engines->push_back(std::move(engine));
    return absl::OkStatus();
  }
  LSMSCAN_RETURN_IF_ERROR(CheckpointBlocking(tree.get()));
  notes->push_back(absl::StrCat(label, " shape: ", DescribeTreeShape(*tree)));
  const std::string path = absl::StrCat(options.data_dir, "/lsmscan_",
                                        dataset.value_size_bytes(), "B.blocks");
  LSMSCAN_RETURN_IF_ERROR(DumpDevice(device.get(), path));
  LSMSCAN_ASSIGN_OR_RETURN(
      auto memory_engine,
      LsmscanEngine<S>::Create(std::move(memory), std::move(tree), "memory",
                               Temperature::kWarm, 1));
  engines->push_back(std::move(memory_engine));

  // The same tree through the file backends.
  auto open_file_engine = [&](std::unique_ptr<Storage> storage,
                              uint32_t cache_blocks, std::string variant,
                              Temperature temperature,
                              uint32_t read_ahead) -> absl::Status {
    TreeOptions reopened = tree_options;
    reopened.cache_block_count = cache_blocks;
    LSMSCAN_ASSIGN_OR_RETURN(std::unique_ptr<Tree<S>> file_tree,
                             Tree<S>::Open(storage.get(), reopened));
    LSMSCAN_ASSIGN_OR_RETURN(
        auto engine,
        LsmscanEngine<S>::Create(std::move(storage), std::move(file_tree),
                                 std::move(variant), temperature, read_ahead));
    engines->push_back(std::move(engine));
    return absl::OkStatus();
  };
  const uint32_t all_blocks = static_cast<uint32_t>(device->block_count() + 16);
  MmapStorageOptions mmap_options;
  mmap_options.storage = storage_options;
  LSMSCAN_ASSIGN_OR_RETURN(
      auto mmap,
      MmapStorage::Open(path, OpenMode::kOpenExisting, mmap_options));
  LSMSCAN_RETURN_IF_ERROR(
      open_file_engine(std::move(mmap), 0, "mmap", Temperature::kWarm, 1));
  LSMSCAN_ASSIGN_OR_RETURN(
      auto pread,
      PreadStorage::Open(path, OpenMode::kOpenExisting,
                         PreadStorageOptions{storage_options, false}));
  LSMSCAN_RETURN_IF_ERROR(open_file_engine(
      std::move(pread), all_blocks, "pread+cache", Temperature::kWarm, 1));
  if (!options.cold) return absl::OkStatus();
  const uint32_t cold_cache_blocks =
      static_cast<uint32_t>(kColdCacheBytes / kBlockSizeBytes);
  UringStorageOptions uring_options;
  uring_options.storage = storage_options;
  uring_options.direct_io = true;
  LSMSCAN_ASSIGN_OR_RETURN(
      auto uring,
      UringStorage::Open(path, OpenMode::kOpenExisting, uring_options));
  LSMSCAN_RETURN_IF_ERROR(
      open_file_engine(std::move(uring), cold_cache_blocks, "io_uring O_DIRECT",
                       Temperature::kCold, kColdReadAheadBlocks));
  LSMSCAN_ASSIGN_OR_RETURN(
      auto pread_direct,
      PreadStorage::Open(path, OpenMode::kOpenExisting,
                         PreadStorageOptions{storage_options, true}));
  LSMSCAN_RETURN_IF_ERROR(open_file_engine(
      std::move(pread_direct), cold_cache_blocks, "pread O_DIRECT",
      Temperature::kCold, kColdReadAheadBlocks));
  engines->push_back(
      std::make_unique<RawFileEngine>(path, dataset.record_count()));
  return absl::OkStatus();
}

absl::Status AddRocksDbEngines(const Options& options, const Dataset& dataset,
                               Shape shape,
                               std::vector<std::unique_ptr<Engine>>* engines,
                               std::vector<std::string>* notes) {
  const std::string label = absl::StrCat("rocksdb ", ShapeName(shape), " ",
                                         dataset.value_size_bytes(), "B");
  const std::string path =
      absl::StrCat(options.data_dir, "/rocksdb_", ShapeName(shape), "_",
                   dataset.value_size_bytes(), "B");
  auto progress = [&](uint64_t done, uint64_t total) {
    Progress(absl::StrCat("loading ", label), done, total);
  };
  const Clock::time_point start = Clock::now();
  if (shape == Shape::kLayered) {
    LSMSCAN_ASSIGN_OR_RETURN(
        auto engine, RocksDbEngine::BuildAndOpen(path, dataset, shape,
                                                 options.rocksdb, progress));
    notes->push_back(absl::StrCat(label, " shape: ", engine->DescribeShape()));
    engines->push_back(std::move(engine));
  } else {
    LSMSCAN_RETURN_IF_ERROR(
        BuildRocksDb(path, dataset, shape, options.rocksdb, progress));
    LSMSCAN_ASSIGN_OR_RETURN(auto warm,
                             RocksDbEngine::Open(path, dataset, options.rocksdb,
                                                 Temperature::kWarm));
    notes->push_back(absl::StrCat(label, " shape: ", warm->DescribeShape()));
    engines->push_back(std::move(warm));
    if (options.cold) {
      LSMSCAN_ASSIGN_OR_RETURN(
          auto cold, RocksDbEngine::Open(path, dataset, options.rocksdb,
                                         Temperature::kCold));
      engines->push_back(std::move(cold));
    }
  }
  Say(absl::StrFormat(
      "%s built in %.1f s", label,
      std::chrono::duration<double>(Clock::now() - start).count()));
  return absl::OkStatus();
}

// A workload: a full scan, or range scans of `length` keys.
struct Workload {
  std::string name;
  uint64_t length = 0;  // 0: full scan.
  Direction direction = Direction::kAscending;
};

std::vector<Workload> Workloads(Temperature temperature) {
  std::vector<Workload> workloads;
  for (Direction direction : {Direction::kAscending, Direction::kDescending}) {
    const char* suffix = direction == Direction::kAscending ? "asc" : "desc";
    if (temperature == Temperature::kCold &&
        direction == Direction::kDescending) {
      continue;  // Cold runs: forward scans only.
    }
    workloads.push_back({absl::StrCat("full ", suffix), 0, direction});
    for (uint64_t length : {10, 100, 1000, 10000}) {
      if (temperature == Temperature::kCold &&
          (length == 10 || length == 1000)) {
        continue;
      }
      workloads.push_back(
          {absl::StrCat("L=", length, " ", suffix), length, direction});
    }
  }
  return workloads;
}

uint64_t ScansPerRepetition(const Workload& workload, Temperature temperature,
                            uint64_t record_count) {
  if (workload.length == 0) return 1;
  const uint64_t target = temperature == Temperature::kWarm
                              ? std::min<uint64_t>(record_count, 200000)
                              : 20000;
  return std::max<uint64_t>(4, target / workload.length);
}

absl::StatusOr<ScanOutcome> RunOnce(Engine* engine, const Workload& workload,
                                    const std::vector<uint64_t>& starts) {
  if (workload.length == 0) return engine->FullScan(workload.direction);
  return engine->RangeScans(starts, workload.length, workload.direction);
}

// Every engine must return the same records: the comparison is void
// otherwise.
absl::Status CrossCheck(const std::vector<std::unique_ptr<Engine>>& engines,
                        const Dataset& dataset) {
  for (Direction direction : {Direction::kAscending, Direction::kDescending}) {
    const std::vector<uint64_t> starts = dataset.RangeStarts(100, 50, 1);
    for (uint64_t length : {uint64_t{0}, uint64_t{100}}) {
      ScanOutcome reference;
      std::string reference_engine;
      for (const std::unique_ptr<Engine>& engine : engines) {
        if (engine->family() == "raw") continue;
        LSMSCAN_ASSIGN_OR_RETURN(
            const ScanOutcome outcome,
            length == 0 ? engine->FullScan(direction)
                        : engine->RangeScans(starts, length, direction));
        if (reference_engine.empty()) {
          reference = outcome;
          reference_engine = engine->family() + " " + engine->variant();
          continue;
        }
        if (outcome.records != reference.records ||
            outcome.checksum != reference.checksum) {
          return absl::InternalError(absl::StrCat(
              "engines disagree (", DirectionName(direction),
              length == 0 ? " full scan" : " range scans", "): ",
              reference_engine, " returned ", reference.records, " records, ",
              engine->family(), " ", engine->variant(), " ", outcome.records));
        }
      }
    }
  }
  return absl::OkStatus();
}

absl::Status Measure(const Options& options, const Dataset& dataset,
                     Shape shape,
                     const std::vector<std::unique_ptr<Engine>>& engines,
                     std::vector<Measurement>* measurements) {
  for (Temperature temperature : {Temperature::kWarm, Temperature::kCold}) {
    std::vector<Engine*> group;
    for (const auto& engine : engines) {
      if (engine->temperature() == temperature) group.push_back(engine.get());
    }
    if (group.empty()) continue;
    for (const Workload& workload : Workloads(temperature)) {
      const uint64_t scans =
          ScansPerRepetition(workload, temperature, dataset.record_count());
      std::vector<Measurement> rows(group.size());
      for (size_t e = 0; e < group.size(); e++) {
        rows[e].shape = ShapeName(shape);
        rows[e].value_size_bytes = dataset.value_size_bytes();
        rows[e].workload = workload.name;
        rows[e].family = group[e]->family();
        rows[e].variant = group[e]->variant();
        rows[e].temperature = temperature;
        rows[e].scans_per_repetition = scans;
      }
      for (uint32_t repetition = 0; repetition < options.repetitions;
           repetition++) {
        const std::vector<uint64_t> starts =
            workload.length == 0
                ? std::vector<uint64_t>()
                : dataset.RangeStarts(workload.length, scans, repetition + 7);
        for (size_t e = 0; e < group.size(); e++) {
          const uint64_t reads_before = group[e]->device_reads();
          const uint64_t requests_before = group[e]->device_requests();
          const double cpu_start = ProcessCpuSeconds();
          const Clock::time_point start = Clock::now();
          absl::StatusOr<ScanOutcome> ran = RunOnce(group[e], workload, starts);
          if (absl::IsUnimplemented(ran.status())) continue;  // Raw reads.
          LSMSCAN_ASSIGN_OR_RETURN(const ScanOutcome outcome, std::move(ran));
          const double seconds =
              std::chrono::duration<double>(Clock::now() - start).count();
          rows[e].seconds.push_back(seconds);
          rows[e].cpu_seconds.push_back(ProcessCpuSeconds() - cpu_start);
          rows[e].records_per_repetition = outcome.records;
          if (temperature == Temperature::kCold) {
            rows[e].device_reads_per_scan =
                static_cast<double>(group[e]->device_reads() - reads_before) /
                static_cast<double>(scans);
            rows[e].device_requests_per_scan =
                static_cast<double>(group[e]->device_requests() -
                                    requests_before) /
                static_cast<double>(scans);
          }
        }
      }
      Say(absl::StrCat(ShapeName(shape), " ", dataset.value_size_bytes(), "B ",
                       temperature == Temperature::kWarm ? "warm " : "cold ",
                       workload.name, " done"));
      for (Measurement& row : rows) {
        if (!row.seconds.empty()) measurements->push_back(std::move(row));
      }
    }
  }
  return absl::OkStatus();
}

// How fast cold full scans read their data file, beside the device alone
// (the raw engine, timed in the same repetitions).
void NoteColdScansAgainstTheDevice(
    const std::vector<Measurement>& measurements, size_t first,
    const std::vector<std::unique_ptr<Engine>>& engines,
    std::vector<std::string>* notes) {
  const RawFileEngine* raw_engine = nullptr;
  for (const auto& engine : engines) {
    if (engine->family() == "raw") {
      raw_engine = static_cast<const RawFileEngine*>(engine.get());
    }
  }
  const Measurement* raw = nullptr;
  for (size_t i = first; i < measurements.size(); i++) {
    if (measurements[i].family == "raw") raw = &measurements[i];
  }
  if (raw_engine == nullptr || raw == nullptr) return;
  const double raw_seconds = raw->NsPerRecordMedian() * 1e-9 *
                             static_cast<double>(raw->records_per_repetition);
  const double raw_mb_per_second =
      static_cast<double>(raw_engine->bytes()) / raw_seconds / 1e6;
  notes->push_back(absl::StrFormat(
      "raw O_DIRECT sequential read of lsmscan's %uB data file (%.0f MB, "
      "1 MiB preads one at a time), median of the cold repetitions: %.0f MB/s",
      raw->value_size_bytes, static_cast<double>(raw_engine->bytes()) / 1e6,
      raw_mb_per_second));
  for (size_t i = first; i < measurements.size(); i++) {
    const Measurement& m = measurements[i];
    if (m.family != "lsmscan" || m.temperature != Temperature::kCold ||
        m.workload != "full asc") {
      continue;
    }
    const double seconds = m.NsPerRecordMedian() * 1e-9 *
                           static_cast<double>(m.records_per_repetition);
    const double mb_per_second =
        m.device_reads_per_scan * kBlockSizeBytes / seconds / 1e6;
    notes->push_back(absl::StrFormat(
        "cold full asc, lsmscan %s, %uB records: read its data file at %.0f "
        "MB/s, %.0f%% of the raw read in the same run (%.0f blocks in %.0f "
        "device requests); CPU busy %.1f of its %.1f ns/record (the raw "
        "read: %.1f of %.1f)",
        m.variant, m.value_size_bytes, mb_per_second,
        100 * mb_per_second / raw_mb_per_second, m.device_reads_per_scan,
        m.device_requests_per_scan, m.CpuNsPerRecordMedian(),
        m.NsPerRecordMedian(), raw->CpuNsPerRecordMedian(),
        raw->NsPerRecordMedian()));
  }
}

absl::Status RunDataset(const Options& options, uint32_t value_size,
                        Shape shape, std::vector<Measurement>* measurements,
                        std::vector<std::string>* notes) {
  const Dataset dataset(options.records, value_size, options.seed);
  std::vector<std::unique_ptr<Engine>> engines;
  if (value_size == 32) {
    LSMSCAN_RETURN_IF_ERROR(AddLsmscanEngines<Record32Schema>(
        options, dataset, shape, &engines, notes));
  } else {
    LSMSCAN_RETURN_IF_ERROR(AddLsmscanEngines<Record128Schema>(
        options, dataset, shape, &engines, notes));
  }
  LSMSCAN_RETURN_IF_ERROR(
      AddRocksDbEngines(options, dataset, shape, &engines, notes));
  Say(absl::StrCat("cross-checking ", engines.size(),
                   " engines (and warming their caches)"));
  LSMSCAN_RETURN_IF_ERROR(CrossCheck(engines, dataset));
  const size_t first = measurements->size();
  LSMSCAN_RETURN_IF_ERROR(
      Measure(options, dataset, shape, engines, measurements));
  NoteColdScansAgainstTheDevice(*measurements, first, engines, notes);
  return absl::OkStatus();
}

absl::StatusOr<Options> ParseOptions() {
  Options options;
  options.full = absl::GetFlag(FLAGS_full);
  options.records = absl::GetFlag(FLAGS_records);
  if (options.records == 0)
    options.records = options.full ? 4'000'000 : 1'000'000;
  std::string sizes = absl::GetFlag(FLAGS_value_size);
  if (sizes.empty()) sizes = "32,128";
  for (absl::string_view size : absl::StrSplit(sizes, ',', absl::SkipEmpty())) {
    uint32_t value = 0;
    if (!absl::SimpleAtoi(size, &value) || (value != 32 && value != 128)) {
      return absl::InvalidArgumentError(
          absl::StrCat("--value_size: 32 or 128, got ", size));
    }
    options.value_sizes.push_back(value);
  }
  for (absl::string_view shape :
       absl::StrSplit(absl::GetFlag(FLAGS_shapes), ',', absl::SkipEmpty())) {
    if (shape == "compacted") {
      options.shapes.push_back(Shape::kCompacted);
    } else if (shape == "layered") {
      options.shapes.push_back(Shape::kLayered);
    } else {
      return absl::InvalidArgumentError(
          absl::StrCat("--shapes: compacted or layered, got ", shape));
    }
  }
  options.repetitions = std::max<uint32_t>(1, absl::GetFlag(FLAGS_repetitions));
  options.cold = absl::GetFlag(FLAGS_cold);
  options.data_dir = absl::GetFlag(FLAGS_data_dir);
  options.seed = absl::GetFlag(FLAGS_seed);
  options.rocksdb.block_size_bytes = absl::GetFlag(FLAGS_rocksdb_block_size);
  options.out = absl::GetFlag(FLAGS_out);
  if (options.out.empty()) {
    const char* workspace = std::getenv("BUILD_WORKSPACE_DIRECTORY");
    options.out = workspace != nullptr ? absl::StrCat(workspace, "/bench/out")
                                       : "bench_out";
  }
  return options;
}

int Main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "lsmscan vs RocksDB range-scan throughput on the same data.\n"
      "  bazel run //bench:compare [-- --quick | --full] [--records=N]\n"
      "      [--value_size=32,128] [--shapes=compacted,layered] [--out=DIR]\n"
      "      [--repetitions=5] [--cold=true] "
      "[--data_dir=/tmp/lsmscan_compare]");
  std::vector<char*> positional = absl::ParseCommandLine(argc, argv);
  (void)positional;
  absl::StatusOr<Options> options = ParseOptions();
  if (!options.ok()) {
    std::fprintf(stderr, "%s\n", options.status().ToString().c_str());
    return 2;
  }
  ReportContext context;
  context.machine = CollectMachineInfo();
  if (!context.machine.optimized && !absl::GetFlag(FLAGS_allow_unoptimized)) {
    std::fprintf(stderr,
                 "compare: built without optimisation; run it with `bazel run "
                 "//bench:compare` (which builds -c opt) or pass "
                 "--allow_unoptimized\n");
    return 2;
  }
  context.rocksdb_version = RocksDbVersion();
  absl::StatusOr<LibraryInfo> library =
      InspectLibraryOf(reinterpret_cast<const void*>(&rocksdb::DestroyDB));
  if (library.ok()) {
    context.rocksdb_library = library->path;
    context.rocksdb_assertions = library->imports_assert_fail;
  } else {
    context.rocksdb_library =
        absl::StrCat("unknown (", library.status().message(), ")");
  }
  context.record_count = options->records;
  context.repetitions = options->repetitions;
  std::vector<std::string> args(argv + 1, argv + argc);
  context.command =
      absl::StrCat("bazel run //bench:compare", args.empty() ? "" : " -- ",
                   absl::StrJoin(args, " "));
  context.rocksdb_options = DescribeRocksDbOptions(options->rocksdb);
  context.notes.push_back(absl::StrCat(
      "lsmscan: 64 KiB blocks; warm = memory storage, mmap, pread with a "
      "block cache holding the whole tree; cold = io_uring or pread with "
      "O_DIRECT, a ",
      kColdCacheBytes >> 20, " MiB block cache and ", kColdReadAheadBlocks,
      " blocks of read-ahead per level"));
  context.notes.push_back(
      "speedup = RocksDB ns/record / lsmscan ns/record, same data, workload "
      "and temperature, same run");
  if (context.rocksdb_assertions) {
    std::fprintf(stderr,
                 "[compare] WARNING: %s keeps its assertions (no NDEBUG): "
                 "RocksDB runs slower than a release build; see "
                 "tools/build_rocksdb_release.sh\n",
                 context.rocksdb_library.c_str());
  }
  std::error_code error;
  std::filesystem::create_directories(options->data_dir, error);
  if (error) {
    std::fprintf(stderr, "compare: cannot create %s: %s\n",
                 options->data_dir.c_str(), error.message().c_str());
    return 1;
  }
  if (options->cold && !DirectIoSupported(options->data_dir)) {
    options->cold = false;
    context.notes.push_back(absl::StrCat(
        "cold runs skipped: ", options->data_dir,
        " does not support O_DIRECT (pass --data_dir on a disk file system)"));
    Say(context.notes.back());
  }
  std::vector<Measurement> measurements;
  absl::Status status;
  for (uint32_t value_size : options->value_sizes) {
    for (Shape shape : options->shapes) {
      // Quick mode keeps 128-byte records to the compacted tree.
      if (!options->full && value_size == 128 && shape == Shape::kLayered &&
          absl::GetFlag(FLAGS_value_size).empty()) {
        continue;
      }
      status = RunDataset(*options, value_size, shape, &measurements,
                          &context.notes);
      if (!status.ok()) break;
    }
    if (!status.ok()) break;
  }
  std::filesystem::remove_all(options->data_dir, error);
  if (!status.ok()) {
    std::fprintf(stderr, "compare: %s\n", status.ToString().c_str());
    return 1;
  }
  PrintTables(context, measurements);
  absl::Status written = WriteReports(options->out, context, measurements);
  if (!written.ok()) {
    std::fprintf(stderr, "compare: %s\n", written.ToString().c_str());
    return 1;
  }
  std::printf(
      "\nReports written to %s (results.json, results.md, chart_*.png)\n",
      options->out.c_str());
  return 0;
}

}  // namespace
}  // namespace bench
}  // namespace lsmscan

int main(int argc, char** argv) { return lsmscan::bench::Main(argc, argv); }
