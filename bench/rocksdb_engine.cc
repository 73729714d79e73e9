#include "lsmscan/bench/rocksdb_engine.h"

#include <rocksdb/cache.h>
#include <rocksdb/db.h>
#include <rocksdb/iterator.h>
#include <rocksdb/options.h>
#include <rocksdb/slice.h>
#include <rocksdb/statistics.h>
#include <rocksdb/table.h>
#include <rocksdb/version.h>
#include <rocksdb/write_batch.h>

#include <chrono>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "lsmscan/storage/base/assert.h"

namespace lsmscan {
namespace bench {
namespace {

absl::Status ToStatus(const rocksdb::Status& status, const char* what) {
  if (status.ok()) return absl::OkStatus();
  return absl::InternalError(
      absl::StrCat("rocksdb ", what, ": ", status.ToString()));
}

rocksdb::Options MakeOptions(const RocksDbSettings& settings,
                             Temperature temperature, bool create,
                             std::shared_ptr<rocksdb::Statistics> statistics) {
  rocksdb::Options options;
  options.create_if_missing = create;
  options.comparator = rocksdb::BytewiseComparator();
  // No compression anywhere: lsmscan does not compress either.
  options.compression = rocksdb::kNoCompression;
  options.bottommost_compression = rocksdb::kDisableCompressionOption;
  options.compression_per_level.clear();
  // Scaled so the layered shape spreads over several levels.
  options.write_buffer_size = settings.write_buffer_bytes;
  options.max_write_buffer_number = 4;
  options.target_file_size_base = settings.target_file_bytes;
  options.max_bytes_for_level_base = settings.level_base_bytes;
  options.level0_file_num_compaction_trigger = 4;
  options.level_compaction_dynamic_level_bytes = false;
  options.max_background_jobs = 2;
  // Every table reader (and its index) stays open: no reopen costs.
  options.max_open_files = -1;
  options.use_direct_reads = temperature == Temperature::kCold;
  options.statistics = std::move(statistics);
  rocksdb::BlockBasedTableOptions table;
  table.block_size = settings.block_size_bytes;
  table.block_cache = rocksdb::NewLRUCache(temperature == Temperature::kWarm
                                               ? settings.warm_cache_bytes
                                               : settings.cold_cache_bytes);
  // Index blocks live in the table readers, not the block cache; no bloom
  // filters (they do not help range scans).
  table.cache_index_and_filter_blocks = false;
  table.filter_policy = nullptr;
  options.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  return options;
}

rocksdb::ReadOptions MakeReadOptions(Temperature temperature) {
  rocksdb::ReadOptions read_options;
  read_options.verify_checksums = true;  // As lsmscan verifies blocks read.
  read_options.fill_cache = temperature == Temperature::kWarm;
  read_options.readahead_size = 0;  // RocksDB's automatic read-ahead.
  return read_options;
}

absl::Status LoadDb(rocksdb::DB* db, const Dataset& dataset, Shape shape,
                    const std::function<void(uint64_t, uint64_t)>& progress) {
  const std::vector<Operation> operations = dataset.Operations(shape);
  if (shape == Shape::kCompacted) {
    // Finish compacts everything at once; compactions on the way would only
    // spread the data over levels it then has to gather again.
    absl::Status disabled = ToStatus(
        db->SetOptions({{"disable_auto_compactions", "true"}}), "set options");
    if (!disabled.ok()) return disabled;
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
      const rocksdb::Status written = db->Write(write_options, &batch);
      if (!written.ok()) return ToStatus(written, "write");
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

// Adds the record under `it` to `outcome`, touching its key and value.
inline void TakeRecord(const rocksdb::Iterator& it, ScanOutcome* outcome) {
  const rocksdb::Slice value = it.value();
  outcome->checksum +=
      Touch(DecodeKey(it.key().data()),
            reinterpret_cast<const uint8_t*>(value.data()), value.size());
  outcome->records++;
}

absl::Status Finish(rocksdb::DB* db, Shape shape) {
  if (shape == Shape::kCompacted) {
    rocksdb::FlushOptions flush;
    flush.wait = true;
    absl::Status flushed = ToStatus(db->Flush(flush), "flush");
    if (!flushed.ok()) return flushed;
    rocksdb::CompactRangeOptions compact;
    compact.bottommost_level_compaction =
        rocksdb::BottommostLevelCompaction::kForce;
    // Loading ran without automatic compactions, so every table is in L0;
    // one manual compaction merges them and moves the result to the last
    // level: one sorted run, which no automatic compaction will split (an
    // intermediate level over its target would be pushed down in part).
    compact.change_level = true;
    compact.target_level = db->NumberLevels() - 1;
    absl::Status compacted =
        ToStatus(db->CompactRange(compact, nullptr, nullptr), "compact");
    if (!compacted.ok()) return compacted;
    absl::Status enabled = ToStatus(
        db->SetOptions({{"disable_auto_compactions", "false"}}), "set options");
    if (!enabled.ok()) return enabled;
  }
  WaitForBackgroundWork(db);
  return absl::OkStatus();
}

}  // namespace

struct RocksDbEngine::Bounds {
  rocksdb::Slice lower;
  rocksdb::Slice upper;
};

std::string RocksDbVersion() {
  return absl::StrCat(ROCKSDB_MAJOR, ".", ROCKSDB_MINOR, ".", ROCKSDB_PATCH);
}

absl::Status BuildRocksDb(
    const std::string& path, const Dataset& dataset, Shape shape,
    const RocksDbSettings& settings,
    const std::function<void(uint64_t, uint64_t)>& progress) {
  rocksdb::Options options =
      MakeOptions(settings, Temperature::kWarm, /*create=*/true, nullptr);
  absl::Status destroyed =
      ToStatus(rocksdb::DestroyDB(path, options), "destroy");
  if (!destroyed.ok()) return destroyed;
  rocksdb::DB* raw = nullptr;
  absl::Status opened =
      ToStatus(rocksdb::DB::Open(options, path, &raw), "open");
  if (!opened.ok()) return opened;
  std::unique_ptr<rocksdb::DB> db(raw);
  absl::Status loaded = LoadDb(db.get(), dataset, shape, progress);
  if (!loaded.ok()) return loaded;
  absl::Status finished = Finish(db.get(), shape);
  if (!finished.ok()) return finished;
  rocksdb::FlushOptions flush;
  flush.wait = true;
  return ToStatus(db->Flush(flush), "flush");
}

RocksDbEngine::RocksDbEngine(const Dataset& dataset, Temperature temperature,
                             const RocksDbSettings& settings)
    : payload_size_bytes_(dataset.payload_size_bytes()),
      temperature_(temperature),
      settings_(settings),
      bounds_(std::make_unique<Bounds>()) {
  if (temperature == Temperature::kCold) {
    statistics_ = rocksdb::CreateDBStatistics();
  }
  bounds_->lower = rocksdb::Slice(lower_bound_, 8);
  bounds_->upper = rocksdb::Slice(upper_bound_, 8);
}

RocksDbEngine::~RocksDbEngine() {
  iterator_.reset();
  db_.reset();
}

absl::Status RocksDbEngine::OpenDb(const std::string& path, bool create) {
  rocksdb::Options options =
      MakeOptions(settings_, temperature_, create, statistics_);
  rocksdb::DB* raw = nullptr;
  // A built database is opened read-only, so a warm and a cold engine can
  // share it.
  const rocksdb::Status status =
      create ? rocksdb::DB::Open(options, path, &raw)
             : rocksdb::DB::OpenForReadOnly(options, path, &raw);
  absl::Status opened = ToStatus(status, "open");
  if (!opened.ok()) return opened;
  db_.reset(raw);
  return absl::OkStatus();
}

void RocksDbEngine::MakeIterator() {
  rocksdb::ReadOptions read_options = MakeReadOptions(temperature_);
  read_options.iterate_lower_bound = &bounds_->lower;
  read_options.iterate_upper_bound = &bounds_->upper;
  iterator_.reset(db_->NewIterator(read_options));
}

absl::StatusOr<std::unique_ptr<RocksDbEngine>> RocksDbEngine::Open(
    const std::string& path, const Dataset& dataset,
    const RocksDbSettings& settings, Temperature temperature) {
  std::unique_ptr<RocksDbEngine> engine(
      new RocksDbEngine(dataset, temperature, settings));
  absl::Status opened = engine->OpenDb(path, /*create=*/false);
  if (!opened.ok()) return opened;
  engine->MakeIterator();
  return engine;
}

absl::StatusOr<std::unique_ptr<RocksDbEngine>> RocksDbEngine::BuildAndOpen(
    const std::string& path, const Dataset& dataset, Shape shape,
    const RocksDbSettings& settings,
    const std::function<void(uint64_t, uint64_t)>& progress) {
  std::unique_ptr<RocksDbEngine> engine(
      new RocksDbEngine(dataset, Temperature::kWarm, settings));
  rocksdb::Options options =
      MakeOptions(settings, Temperature::kWarm, /*create=*/true, nullptr);
  absl::Status destroyed =
      ToStatus(rocksdb::DestroyDB(path, options), "destroy");
  if (!destroyed.ok()) return destroyed;
  absl::Status opened = engine->OpenDb(path, /*create=*/true);
  if (!opened.ok()) return opened;
  absl::Status loaded = LoadDb(engine->db_.get(), dataset, shape, progress);
  if (!loaded.ok()) return loaded;
  absl::Status finished = Finish(engine->db_.get(), shape);
  if (!finished.ok()) return finished;
  engine->MakeIterator();
  return engine;
}

std::string RocksDbEngine::variant() const {
  return temperature_ == Temperature::kWarm ? "block cache" : "direct reads";
}

uint64_t RocksDbEngine::device_reads() const {
  if (statistics_ == nullptr) return 0;
  return statistics_->getTickerCount(rocksdb::BLOCK_CACHE_DATA_MISS) +
         statistics_->getTickerCount(rocksdb::BLOCK_CACHE_INDEX_MISS);
}

std::string RocksDbEngine::DescribeShape() const {
  std::string shape;
  for (int level = 0; level < 7; level++) {
    std::string files;
    db_->GetProperty(absl::StrCat("rocksdb.num-files-at-level", level), &files);
    if (files.empty() || files == "0") continue;
    absl::StrAppend(&shape, shape.empty() ? "" : ", ", "L", level, " ", files);
  }
  uint64_t memtable_entries = 0;
  db_->GetIntProperty("rocksdb.num-entries-active-mem-table",
                      &memtable_entries);
  uint64_t immutable = 0;
  db_->GetIntProperty("rocksdb.num-immutable-mem-table", &immutable);
  return absl::StrCat(shape.empty() ? "no" : shape,
                      " files; memtables: ", immutable, " immutable + ",
                      memtable_entries, " active entries");
}

std::string DescribeRocksDbOptions(const RocksDbSettings& settings) {
  return absl::StrCat(
      "compression=none; block_size=", settings.block_size_bytes,
      "; block cache ", settings.warm_cache_bytes >> 20, " MiB warm, ",
      settings.cold_cache_bytes >> 20,
      " MiB cold with use_direct_reads=true; cache_index_and_filter_blocks="
      "false (indexes live in the table readers); no filter_policy; "
      "max_open_files=-1; write_buffer_size=",
      settings.write_buffer_bytes >> 20,
      " MiB; max_bytes_for_level_base=", settings.level_base_bytes >> 20,
      " MiB; target_file_size_base=", settings.target_file_bytes >> 20,
      " MiB; level0_file_num_compaction_trigger=4; WAL off for the load. "
      "ReadOptions: verify_checksums=true, fill_cache=true warm / false cold, "
      "readahead_size=0 (automatic read-ahead); one iterator reused for all "
      "range scans, with iterate_lower_bound and iterate_upper_bound set to "
      "each range; Seek+Next ascending, SeekForPrev+Prev descending");
}

absl::StatusOr<ScanOutcome> RocksDbEngine::FullScan(Direction direction) {
  EncodeKey(0, lower_bound_);
  EncodeKey(UINT64_MAX, upper_bound_);  // Exclusive; no key is that large.
  rocksdb::Iterator* it = iterator_.get();
  ScanOutcome outcome;
  if (direction == Direction::kAscending) {
    for (it->SeekToFirst(); it->Valid(); it->Next()) TakeRecord(*it, &outcome);
  } else {
    for (it->SeekToLast(); it->Valid(); it->Prev()) TakeRecord(*it, &outcome);
  }
  absl::Status status = ToStatus(it->status(), "iterator");
  if (!status.ok()) return status;
  return outcome;
}

absl::StatusOr<ScanOutcome> RocksDbEngine::RangeScans(
    std::span<const uint64_t> starts, uint64_t length, Direction direction) {
  rocksdb::Iterator* it = iterator_.get();
  ScanOutcome outcome;
  char target[8];
  for (uint64_t start : starts) {
    EncodeKey(start, lower_bound_);
    EncodeKey(start + length, upper_bound_);  // Exclusive.
    if (direction == Direction::kAscending) {
      EncodeKey(start, target);
      for (it->Seek(rocksdb::Slice(target, 8)); it->Valid(); it->Next()) {
        TakeRecord(*it, &outcome);
      }
    } else {
      EncodeKey(start + length - 1, target);
      for (it->SeekForPrev(rocksdb::Slice(target, 8)); it->Valid();
           it->Prev()) {
        TakeRecord(*it, &outcome);
      }
    }
    absl::Status status = ToStatus(it->status(), "iterator");
    if (!status.ok()) return status;
  }
  return outcome;
}

}  // namespace bench
}  // namespace lsmscan
