#include "lsmscan/bench/rocksdb_engine.h"

#include <rocksdb/db.h>
#include <rocksdb/iterator.h>
#include <rocksdb/options.h>
#include <rocksdb/perf_level.h>
#include <rocksdb/slice.h>
#include <rocksdb/statistics.h>
#include <rocksdb/version.h>
#include <rocksdb/write_batch.h>

#include <chrono>
#include <thread>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "lsmscan/storage/base/status_macros.h"

namespace lsmscan {
namespace bench {
namespace {

absl::Status ToStatus(const rocksdb::Status& status, const char* what) {
  if (status.ok()) return absl::OkStatus();
  return absl::InternalError(
      absl::StrCat("rocksdb ", what, ": ", status.ToString()));
}

absl::Status LoadDb(rocksdb::DB* db, const Dataset& dataset,
                    const std::vector<Operation>& operations, Shape shape,
                    const ProgressFunction& progress) {
  if (shape == Shape::kCompacted) {
    // Finish compacts everything at once; compactions on the way would only
    // spread the data over levels it then has to gather again.
    LSMSCAN_RETURN_IF_ERROR(ToStatus(
        db->SetOptions({{"disable_auto_compactions", "true"}}), "options"));
  }
  rocksdb::WriteOptions write_options;
  write_options.disableWAL = true;  // Neither side logs writes.
  std::vector<uint8_t> payload(dataset.payload_size_bytes());
  char key[8];
  rocksdb::WriteBatch batch;
  const uint64_t step = std::max<uint64_t>(1, operations.size() / 100);
  for (uint64_t i = 0; i < operations.size(); i++) {
    const Operation& operation = operations[i];
    EncodeKey(operation.key, key);
    if (operation.remove) {
      batch.Delete(rocksdb::Slice(key, 8));
    } else {
      dataset.Payload(operation.key, operation.version, payload.data());
      batch.Put(rocksdb::Slice(key, 8),
                rocksdb::Slice(reinterpret_cast<const char*>(payload.data()),
                               payload.size()));
    }
    if (batch.Count() == 1000 || i + 1 == operations.size()) {
      LSMSCAN_RETURN_IF_ERROR(
          ToStatus(db->Write(write_options, &batch), "write"));
      batch.Clear();
    }
    if (i % step == 0) progress(i, operations.size());
  }
  progress(operations.size(), operations.size());
  return absl::OkStatus();
}

// Waits until no flush or compaction is running or pending.
void WaitForBackgroundWork(rocksdb::DB* db) {
  for (int i = 0; i < 6000; i++) {
    uint64_t pending = 0;
    uint64_t running_compactions = 0;
    uint64_t running_flushes = 0;
    db->GetIntProperty("rocksdb.compaction-pending", &pending);
    db->GetIntProperty("rocksdb.num-running-compactions", &running_compactions);
    db->GetIntProperty("rocksdb.num-running-flushes", &running_flushes);
    if (pending == 0 && running_compactions == 0 && running_flushes == 0)
      return;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

absl::Status Finish(rocksdb::DB* db, Shape shape) {
  if (shape == Shape::kCompacted) {
    rocksdb::FlushOptions flush;
    flush.wait = true;
    LSMSCAN_RETURN_IF_ERROR(ToStatus(db->Flush(flush), "flush"));
    rocksdb::CompactRangeOptions compact;
    compact.bottommost_level_compaction =
        rocksdb::BottommostLevelCompaction::kForce;
    // Loading ran without automatic compactions, so every table is in L0;
    // one manual compaction merges them and moves the result to the last
    // level: one sorted run, which no automatic compaction will split.
    compact.change_level = true;
    compact.target_level = db->NumberLevels() - 1;
    LSMSCAN_RETURN_IF_ERROR(
        ToStatus(db->CompactRange(compact, nullptr, nullptr), "compact"));
    LSMSCAN_RETURN_IF_ERROR(ToStatus(
        db->SetOptions({{"disable_auto_compactions", "false"}}), "options"));
  }
  WaitForBackgroundWork(db);
  return absl::OkStatus();
}

// Hashes the record under `it` into `digest`.
inline void TakeRecord(const rocksdb::Iterator& it, RecordDigest* digest) {
  const rocksdb::Slice value = it.value();
  digest->Add(DecodeKey(it.key().data()), value.data(), value.size());
}

}  // namespace

struct RocksDbEngine::Bounds {
  rocksdb::Slice lower;
  rocksdb::Slice upper;
};

std::string RocksDbVersion() {
  return absl::StrCat(ROCKSDB_MAJOR, ".", ROCKSDB_MINOR, ".", ROCKSDB_PATCH);
}

absl::Status BuildRocksDb(const std::string& path, const Dataset& dataset,
                          const std::vector<Operation>& operations, Shape shape,
                          const RocksDbConfig& config,
                          const ProgressFunction& progress) {
  LSMSCAN_ASSIGN_OR_RETURN(
      std::unique_ptr<RocksDbEngine> engine,
      RocksDbEngine::BuildAndOpen(path, dataset, operations, shape, config,
                                  progress));
  return absl::OkStatus();  // Closing flushes the memtable.
}

RocksDbEngine::RocksDbEngine(Shape shape, Temperature temperature,
                             const RocksDbConfig& config)
    : shape_(shape),
      temperature_(temperature),
      config_(config),
      bounds_(std::make_unique<Bounds>()) {
  if (temperature == Temperature::kCold) {
    statistics_ = rocksdb::CreateDBStatistics();
    if (config.profile != RocksDbProfile::kDefault) {
      statistics_->set_stats_level(rocksdb::kExceptTimers);
    }
  }
  bounds_->lower = rocksdb::Slice(lower_bound_, 8);
  bounds_->upper = rocksdb::Slice(upper_bound_, 8);
}

RocksDbEngine::~RocksDbEngine() {
  bounded_.reset();
  unbounded_.reset();
  db_.reset();
}

absl::Status RocksDbEngine::OpenDb(const std::string& path, bool create) {
  rocksdb::Options options =
      MakeRocksDbOptions(config_, shape_, temperature_, create, statistics_);
  rocksdb::DB* raw = nullptr;
  // A built database is opened read-only, so several engines can share it.
  const rocksdb::Status status =
      create ? rocksdb::DB::Open(options, path, &raw)
             : rocksdb::DB::OpenForReadOnly(options, path, &raw);
  LSMSCAN_RETURN_IF_ERROR(ToStatus(status, "open"));
  db_.reset(raw);
  return absl::OkStatus();
}

void RocksDbEngine::MakeIterators() {
  rocksdb::ReadOptions read_options =
      MakeRocksDbReadOptions(config_, temperature_);
  unbounded_.reset(db_->NewIterator(read_options));
  read_options.iterate_lower_bound = &bounds_->lower;
  read_options.iterate_upper_bound = &bounds_->upper;
  bounded_.reset(db_->NewIterator(read_options));
  stale_ = false;
}

absl::Status RocksDbEngine::PrepareRead() {
  rocksdb::SetPerfLevel(config_.profile == RocksDbProfile::kDefault
                            ? rocksdb::kEnableCount
                            : rocksdb::kDisable);
  if (!stale_) return absl::OkStatus();
  // Iterators read at the snapshot of their creation or last Refresh().
  LSMSCAN_RETURN_IF_ERROR(ToStatus(bounded_->Refresh(), "refresh"));
  LSMSCAN_RETURN_IF_ERROR(ToStatus(unbounded_->Refresh(), "refresh"));
  stale_ = false;
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<RocksDbEngine>> RocksDbEngine::Open(
    const std::string& path, const Dataset& dataset, Shape shape,
    const RocksDbConfig& config, Temperature temperature) {
  (void)dataset;
  std::unique_ptr<RocksDbEngine> engine(
      new RocksDbEngine(shape, temperature, config));
  LSMSCAN_RETURN_IF_ERROR(engine->OpenDb(path, /*create=*/false));
  engine->MakeIterators();
  return engine;
}

absl::StatusOr<std::unique_ptr<RocksDbEngine>> RocksDbEngine::BuildAndOpen(
    const std::string& path, const Dataset& dataset,
    const std::vector<Operation>& operations, Shape shape,
    const RocksDbConfig& config, const ProgressFunction& progress) {
  std::unique_ptr<RocksDbEngine> engine(
      new RocksDbEngine(shape, Temperature::kWarm, config));
  rocksdb::Options options =
      MakeRocksDbOptions(config, shape, Temperature::kWarm, true, nullptr);
  LSMSCAN_RETURN_IF_ERROR(
      ToStatus(rocksdb::DestroyDB(path, options), "destroy"));
  LSMSCAN_RETURN_IF_ERROR(engine->OpenDb(path, /*create=*/true));
  LSMSCAN_RETURN_IF_ERROR(
      LoadDb(engine->db_.get(), dataset, operations, shape, progress));
  LSMSCAN_RETURN_IF_ERROR(Finish(engine->db_.get(), shape));
  engine->MakeIterators();
  return engine;
}

std::string RocksDbEngine::variant() const {
  if (config_.profile == RocksDbProfile::kMmap) return config_.Label();
  if (temperature_ == Temperature::kWarm) {
    return absl::StrCat(config_.Label(), " block cache");
  }
  if (config_.profile == RocksDbProfile::kDefault) {
    return absl::StrCat(config_.Label(), " direct reads");
  }
  return absl::StrCat(config_.Label(), " direct ",
                      ColdReadaheadName(config_.cold_readahead));
}

Layout RocksDbEngine::layout() const {
  Layout layout;
  std::string shape;
  for (int level = 0; level < db_->NumberLevels(); level++) {
    std::string files;
    db_->GetProperty(absl::StrCat("rocksdb.num-files-at-level", level), &files);
    if (files.empty() || files == "0") continue;
    // Every L0 file is a sorted run of its own; a level >= 1 is one run.
    layout.sorted_runs += level == 0 ? std::stoul(files) : 1;
    absl::StrAppend(&shape, shape.empty() ? "" : ", ", "L", level, " ", files);
  }
  uint64_t active = 0;
  uint64_t immutable = 0;
  db_->GetIntProperty("rocksdb.num-entries-active-mem-table", &active);
  db_->GetIntProperty("rocksdb.num-immutable-mem-table", &immutable);
  layout.sorted_runs += static_cast<uint32_t>(immutable) + (active > 0);
  db_->GetIntProperty("rocksdb.live-sst-files-size", &layout.bytes_on_disk);
  layout.description = absl::StrCat(shape.empty() ? "no" : shape,
                                    " files; memtables: ", immutable,
                                    " immutable + ", active, " active entries");
  return layout;
}

absl::Status RocksDbEngine::Put(uint64_t key,
                                std::span<const uint8_t> payload) {
  char encoded[8];
  EncodeKey(key, encoded);
  rocksdb::WriteOptions write_options;
  write_options.disableWAL = true;  // Neither side logs writes.
  puts_++;
  stale_ = true;
  return ToStatus(
      db_->Put(write_options, rocksdb::Slice(encoded, 8),
               rocksdb::Slice(reinterpret_cast<const char*>(payload.data()),
                              payload.size())),
      "put");
}

std::string RocksDbEngine::WriteStats() const {
  if (puts_ == 0) return "";
  uint64_t l0 = 0;
  uint64_t pending = 0;
  db_->GetIntProperty("rocksdb.num-files-at-level0", &l0);
  db_->GetIntProperty("rocksdb.estimate-pending-compaction-bytes", &pending);
  return absl::StrFormat(
      "%u puts (WAL off); flushes and compactions run in RocksDB's background "
      "threads (max_background_jobs=2) during the run; at its end: %u L0 "
      "files, %u bytes of compaction pending",
      puts_, l0, pending);
}

absl::StatusOr<ScanOutcome> RocksDbEngine::FullScan(Direction direction) {
  LSMSCAN_RETURN_IF_ERROR(PrepareRead());
  rocksdb::Iterator* it = unbounded_.get();
  ScanOutcome outcome;
  digest_.Reset();
  if (direction == Direction::kAscending) {
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      TakeRecord(*it, &digest_);
      outcome.records++;
    }
  } else {
    for (it->SeekToLast(); it->Valid(); it->Prev()) {
      TakeRecord(*it, &digest_);
      outcome.records++;
    }
  }
  LSMSCAN_RETURN_IF_ERROR(ToStatus(it->status(), "iterator"));
  outcome.digest = FoldDigest(0, digest_.Finish());
  return outcome;
}

absl::StatusOr<ScanOutcome> RocksDbEngine::RangeScans(
    std::span<const uint64_t> starts, uint64_t length, Direction direction) {
  LSMSCAN_RETURN_IF_ERROR(PrepareRead());
  rocksdb::Iterator* it = bounded_.get();
  ScanOutcome outcome;
  char target[8];
  for (uint64_t start : starts) {
    EncodeKey(start, lower_bound_);
    EncodeKey(start + length, upper_bound_);  // Exclusive.
    digest_.Reset();
    uint64_t records = 0;
    if (direction == Direction::kAscending) {
      EncodeKey(start, target);
      for (it->Seek(rocksdb::Slice(target, 8)); it->Valid(); it->Next()) {
        TakeRecord(*it, &digest_);
        records++;
      }
    } else {
      EncodeKey(start + length - 1, target);
      for (it->SeekForPrev(rocksdb::Slice(target, 8)); it->Valid();
           it->Prev()) {
        TakeRecord(*it, &digest_);
        records++;
      }
    }
    LSMSCAN_RETURN_IF_ERROR(ToStatus(it->status(), "iterator"));
    outcome.records += records;
    outcome.digest = FoldDigest(outcome.digest, digest_.Finish());
  }
  return outcome;
}

absl::StatusOr<ScanOutcome> RocksDbEngine::SeekScans(
    std::span<const uint64_t> starts, uint32_t count) {
  LSMSCAN_RETURN_IF_ERROR(PrepareRead());
  rocksdb::Iterator* it = unbounded_.get();
  ScanOutcome outcome;
  char target[8];
  for (uint64_t start : starts) {
    EncodeKey(start, target);
    digest_.Reset();
    uint32_t records = 0;
    for (it->Seek(rocksdb::Slice(target, 8)); it->Valid(); it->Next()) {
      TakeRecord(*it, &digest_);
      if (++records == count) break;
    }
    LSMSCAN_RETURN_IF_ERROR(ToStatus(it->status(), "iterator"));
    outcome.records += records;
    outcome.digest = FoldDigest(outcome.digest, digest_.Finish());
  }
  return outcome;
}

}  // namespace bench
}  // namespace lsmscan
