#include "lsmscan/bench/write_load_rocksdb.h"

#include <rocksdb/db.h>
#include <rocksdb/iterator.h>
#include <rocksdb/options.h>
#include <rocksdb/slice.h>
#include <rocksdb/statistics.h>

#include <chrono>
#include <map>
#include <memory>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "lsmscan/bench/record_digest.h"
#include "lsmscan/storage/base/status_macros.h"

namespace lsmscan {
namespace bench {
namespace {

using Clock = std::chrono::steady_clock;

absl::Status ToStatus(const rocksdb::Status& status, const char* what) {
  if (status.ok()) return absl::OkStatus();
  return absl::InternalError(
      absl::StrCat("rocksdb ", what, ": ", status.ToString()));
}

rocksdb::Options WriteOptionsFor(const RocksDbConfig& config,
                                 const RocksDbWriteTuning& tuning,
                                 std::shared_ptr<rocksdb::Statistics> stats) {
  rocksdb::Options options = MakeRocksDbOptions(
      config, Shape::kCompacted, Temperature::kWarm, true, std::move(stats));
  options.error_if_exists = true;
  options.write_buffer_size = tuning.write_buffer_bytes;
  options.max_write_buffer_number = tuning.max_write_buffer_number;
  options.min_write_buffer_number_to_merge = 1;
  options.max_background_jobs = tuning.max_background_jobs;
  options.target_file_size_base = tuning.target_file_bytes;
  options.max_bytes_for_level_base = tuning.level_base_bytes;
  options.max_bytes_for_level_multiplier = tuning.level_multiplier;
  options.level0_file_num_compaction_trigger = 4;
  options.level0_slowdown_writes_trigger = 20;
  options.level0_stop_writes_trigger = 36;
  options.level_compaction_dynamic_level_bytes = false;
  return options;
}

// Waits until no flush or compaction is running or pending (at most 10
// minutes).
void WaitForBackgroundWork(rocksdb::DB* db) {
  for (int i = 0; i < 60000; i++) {
    uint64_t pending = 0;
    uint64_t compactions = 0;
    uint64_t flushes = 0;
    uint64_t memtable_flush_pending = 0;
    db->GetIntProperty("rocksdb.compaction-pending", &pending);
    db->GetIntProperty("rocksdb.num-running-compactions", &compactions);
    db->GetIntProperty("rocksdb.num-running-flushes", &flushes);
    db->GetIntProperty("rocksdb.mem-table-flush-pending",
                       &memtable_flush_pending);
    if (pending == 0 && compactions == 0 && flushes == 0 &&
        memtable_flush_pending == 0) {
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

// "L0 1, L1 4, L2 21 files", and the sorted runs (each L0 file, each
// non-empty level past it).
std::string LevelShape(rocksdb::DB* db, uint64_t* sorted_runs) {
  std::string shape;
  *sorted_runs = 0;
  for (int level = 0; level < db->NumberLevels(); level++) {
    std::string files;
    db->GetProperty(absl::StrCat("rocksdb.num-files-at-level", level), &files);
    uint64_t count = 0;
    if (!absl::SimpleAtoi(files, &count) || count == 0) continue;
    *sorted_runs += level == 0 ? count : 1;
    absl::StrAppend(&shape, shape.empty() ? "" : ", ", "L", level, " ", count);
  }
  return absl::StrCat(shape.empty() ? "no" : shape, " files");
}

uint64_t StallCount(rocksdb::DB* db) {
  std::map<std::string, std::string> stats;
  if (!db->GetMapProperty("rocksdb.cfstats", &stats)) return 0;
  uint64_t total = 0;
  for (const char* key : {"io_stalls.total_stop", "io_stalls.total_slowdown"}) {
    uint64_t count = 0;
    if (absl::SimpleAtoi(stats[key], &count)) total += count;
  }
  return total;
}

absl::StatusOr<ScanOutcome> FullScan(rocksdb::DB* db) {
  std::unique_ptr<rocksdb::Iterator> it(db->NewIterator({}));
  RecordDigest digest;
  ScanOutcome outcome;
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    const rocksdb::Slice value = it->value();
    digest.Add(DecodeKey(it->key().data()), value.data(), value.size());
    outcome.records++;
  }
  LSMSCAN_RETURN_IF_ERROR(ToStatus(it->status(), "scan"));
  outcome.digest = FoldDigest(0, digest.Finish());
  return outcome;
}

}  // namespace

std::string DescribeRocksDbWriteTuning(const RocksDbWriteTuning& tuning) {
  return absl::StrCat(
      "disableWAL=true, one Put per record (no batching); write_buffer_size=",
      tuning.write_buffer_bytes >> 20,
      " MiB, max_write_buffer_number=", tuning.max_write_buffer_number,
      ", min_write_buffer_number_to_merge=1, max_background_jobs=",
      tuning.max_background_jobs, " (one flush and one compaction at a time)",
      ", level0 compaction/slowdown/stop triggers 4/20/36 (defaults), "
      "target_file_size_base=",
      tuning.target_file_bytes >> 20,
      " MiB, max_bytes_for_level_base=", tuning.level_base_bytes >> 20,
      " MiB, multiplier ", tuning.level_multiplier,
      ", level_compaction_dynamic_level_bytes=false, statistics "
      "kExceptTimers (for STALL_MICROS and the bytes flushed and compacted)");
}

absl::Status LoadRocksDb(const std::string& path, const RocksDbConfig& config,
                         const RocksDbWriteTuning& tuning,
                         const Dataset& dataset, std::span<const uint64_t> keys,
                         const TickClock& clock, double puts_per_second,
                         WriteLoadResult* result) {
  std::shared_ptr<rocksdb::Statistics> statistics =
      rocksdb::CreateDBStatistics();
  statistics->set_stats_level(rocksdb::StatsLevel::kExceptTimers);
  const rocksdb::Options options = WriteOptionsFor(config, tuning, statistics);
  LSMSCAN_RETURN_IF_ERROR(
      ToStatus(rocksdb::DestroyDB(path, options), "destroy"));
  rocksdb::DB* raw = nullptr;
  LSMSCAN_RETURN_IF_ERROR(
      ToStatus(rocksdb::DB::Open(options, path, &raw), "open"));
  std::unique_ptr<rocksdb::DB> db(raw);
  rocksdb::WriteOptions write_options;
  write_options.disableWAL = true;  // lsmscan has no log either.
  std::vector<uint64_t> ticks(keys.size());
  std::vector<char> payload(dataset.payload_size_bytes());
  const rocksdb::Slice value(payload.data(), payload.size());
  char key[8];
  const Clock::time_point start = Clock::now();
  const double cpu_start = ThreadCpuSeconds();
  const double process_cpu_start = ProcessCpuSeconds();
  const Pacer pacer(puts_per_second, clock);
  for (size_t i = 0; i < keys.size(); i++) {
    EncodeKey(keys[i], key);
    dataset.Payload(keys[i], 0, reinterpret_cast<uint8_t*>(payload.data()));
    pacer.WaitTurn(i);
    const uint64_t put_start = TickClock::Now();
    const rocksdb::Status status =
        db->Put(write_options, rocksdb::Slice(key, 8), value);
    ticks[i] = TickClock::Now() - put_start;
    LSMSCAN_RETURN_IF_ERROR(ToStatus(status, "put"));
  }
  const Clock::time_point loaded = Clock::now();
  result->load_thread_cpu_seconds = ThreadCpuSeconds() - cpu_start;
  rocksdb::FlushOptions flush;
  flush.wait = true;
  LSMSCAN_RETURN_IF_ERROR(ToStatus(db->Flush(flush), "flush"));
  WaitForBackgroundWork(db.get());
  const Clock::time_point quiet = Clock::now();
  result->process_cpu_seconds = ProcessCpuSeconds() - process_cpu_start;
  result->puts = keys.size();
  result->load_seconds = std::chrono::duration<double>(loaded - start).count();
  result->quiesce_seconds =
      std::chrono::duration<double>(quiet - loaded).count();
  result->latency = Summarize(&ticks, clock);
  result->waits = StallCount(db.get());
  result->wait_seconds =
      static_cast<double>(statistics->getTickerCount(rocksdb::STALL_MICROS)) *
      1e-6;
  result->shape = LevelShape(db.get(), &result->sorted_runs);
  const double written = static_cast<double>(
      statistics->getTickerCount(rocksdb::FLUSH_WRITE_BYTES) +
      statistics->getTickerCount(rocksdb::COMPACT_WRITE_BYTES));
  result->write_amplification =
      written / (static_cast<double>(keys.size()) *
                 (8.0 + static_cast<double>(payload.size())));
  LSMSCAN_ASSIGN_OR_RETURN(result->full_scan, FullScan(db.get()));
  return ToStatus(db->Close(), "close");
}

}  // namespace bench
}  // namespace lsmscan
