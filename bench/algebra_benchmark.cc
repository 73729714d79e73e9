// //bench:algebra_benchmark — the scan algebra against the alternatives,
// on the same data:
//
//   lsmscan zig-zag   ScanIntersection / ScanDifference of two index scans
//                     (scan/scan_intersection.h): laggards stepped, then
//                     probed to the leader's id
//   lsmscan full      both index scans read whole, then
//                     std::set_intersection / std::set_difference
//   RocksDB zig-zag   two iterators doing the same zig-zag: the laggard is
//                     stepped with Next() (lsmscan's adaptive budget of at
//                     most kScanCatchUpStepCount steps), then Seek()s to
//                     the leader's id
//   RocksDB full      both ranges read whole with Next(), then std::set_*
//
// Data: one index tree of 32-byte entries keyed (field, id), packed as
// field << 32 | id (8-byte big-endian keys for RocksDB, 24-byte values on
// both sides), holding `--entries` ids for field 1 (scan A) and as many for
// field 2 (scan B). Queries: A AND B, A MINUS B, over all ids, both
// directions. Overlap patterns:
//
//   clustered p%   ids come in clusters of `--cluster_ids` consecutive ids
//                  (time-correlated fields: ids are timestamps); in each
//                  cluster A's run and B's run share p% of their ids, so a
//                  zig-zag can skip the rest of each run unread
//   interleaved 1% A and B each take every id of [0, 100 * entries) with
//                  probability 1/100, independently: no run to skip, the
//                  zig-zag's worst case
//
// Both engines are warm: lsmscan on its memory storage (zero-copy), RocksDB
// with a block cache holding the database (files in --dir; no compression,
// no filters, indexes in the table readers, max_auto_readahead_size=0,
// perf level kDisable, statistics without timers: //bench:compare's tuned
// warm profile), both compacted into one sorted run, same block size
// (--block_size). Blocks are data
// blocks used: ScanStats (lsmscan) and the block cache's data hit + miss
// tickers (RocksDB). Times are the thread's CPU time (the machine is
// shared): the four methods run round-robin, one warm-up round and then
// --repetitions rounds, and the table shows each one's median (min-max);
// ns/result divides a whole query's time (Init to End) by the keys it
// returns. Ratios are taken round by round (methods of one round met the
// machine in the same mood), median (min-max).
//
//   ./bazelw run //bench:algebra_benchmark -- --entries=1000000

#include <rocksdb/cache.h>
#include <rocksdb/db.h>
#include <rocksdb/iterator.h>
#include <rocksdb/options.h>
#include <rocksdb/perf_level.h>
#include <rocksdb/slice.h>
#include <rocksdb/statistics.h>
#include <rocksdb/table.h>
#include <rocksdb/version.h>
#include <rocksdb/write_batch.h>
#include <time.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "lsmscan/bench/build_info.h"
#include "lsmscan/lsm/schema.h"
#include "lsmscan/lsm/tree.h"
#include "lsmscan/lsm/tree_blocking.h"
#include "lsmscan/scan/scan_buffer.h"
#include "lsmscan/scan/scan_combinator.h"
#include "lsmscan/scan/scan_difference.h"
#include "lsmscan/scan/scan_intersection.h"
#include "lsmscan/scan/scan_tree.h"
#include "lsmscan/scan/scan_tree_source.h"
#include "lsmscan/storage/base/assert.h"
#include "lsmscan/storage/base/prng.h"
#include "lsmscan/storage/memory_storage.h"

ABSL_FLAG(uint64_t, entries, 1000000, "Ids per field (per scan).");
ABSL_FLAG(uint64_t, cluster_ids, 10000,
          "Ids per cluster per field in the clustered patterns.");
ABSL_FLAG(uint32_t, block_size, 4096, "Block size of both engines.");
ABSL_FLAG(int, repetitions, 5, "Runs per measurement (the median is shown).");
ABSL_FLAG(std::string, dir, "/tmp/lsmscan_algebra_benchmark",
          "Where RocksDB's database goes (replaced).");
ABSL_FLAG(std::vector<std::string>, patterns,
          std::vector<std::string>({"clustered1", "clustered10", "clustered50",
                                    "interleaved1"}),
          "Overlap patterns to run (clustered1, clustered10, clustered50, "
          "interleaved1).");
ABSL_FLAG(bool, rocksdb, true, "Also measure RocksDB.");
ABSL_FLAG(std::vector<std::string>, queries,
          std::vector<std::string>({"and", "minus"}),
          "Queries to run: and (A AND B), minus (A MINUS B).");
ABSL_FLAG(bool, zigzag_only, false,
          "Measure only lsmscan's zig-zag (for profiling).");

namespace lsmscan {
namespace {

using Schema32 = Record32Schema;
using Tree32 = Tree<Schema32>;
using Ids = std::vector<uint64_t>;

constexpr uint64_t kFieldA = 1;
constexpr uint64_t kFieldB = 2;
constexpr uint64_t kIdMask = 0xFFFFFFFFull;

uint64_t IndexKey(uint64_t field, uint64_t id) { return (field << 32) | id; }

// The CPU time of this thread: on this shared 2-core machine it counts
// what the query did, not the time other processes held the CPU.
double CpuSeconds() {
  timespec now;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now);
  return static_cast<double>(now.tv_sec) +
         1e-9 * static_cast<double>(now.tv_nsec);
}

// (field, id) -> id, for ScanTreeSource.
struct IdProjection {
  using Key = uint64_t;
  Key Project(const Schema32::Value& value) const {
    return Schema32::key_of(value) & kIdMask;
  }
  uint64_t TreeKey(const Key& id, const uint64_t& key_min) const {
    return (key_min & ~kIdMask) | id;
  }
};

enum class Op { kIntersection, kDifference };

const char* OpName(Op op) {
  return op == Op::kIntersection ? "A AND B" : "A MINUS B";
}

// One run of one method.
struct Outcome {
  uint64_t results = 0;
  uint64_t checksum = 0;  // Sum of the ids returned.
  uint64_t data_blocks = 0;
  double seconds = 0;
};

// The two id sets of one pattern.
struct Pattern {
  std::string name;
  Ids a;
  Ids b;
};

Pattern Clustered(uint64_t entries, uint64_t cluster_ids, uint32_t percent) {
  Pattern pattern;
  pattern.name = absl::StrCat("clustered ", percent, "%");
  const uint64_t shared = cluster_ids * percent / 100;
  const uint64_t stride = 2 * cluster_ids + cluster_ids / 2;
  for (uint64_t base = 0; pattern.a.size() < entries; base += stride) {
    for (uint64_t i = 0; i < cluster_ids && pattern.a.size() < entries; i++) {
      pattern.a.push_back(base + i);
      pattern.b.push_back(base + cluster_ids - shared + i);
    }
  }
  return pattern;
}

Pattern Interleaved(uint64_t entries) {
  Pattern pattern;
  pattern.name = "interleaved 1%";
  Prng prng(17);
  for (uint64_t id = 0; id < 100 * entries; id++) {
    if (prng.Uniform(100) == 0) pattern.a.push_back(id);
    if (prng.Uniform(100) == 0) pattern.b.push_back(id);
  }
  return pattern;
}

// --- lsmscan -----------------------------------------------------------------

class LsmscanIndex {
 public:
  void Load(const Pattern& pattern, uint32_t block_size) {
    StorageOptions storage_options;
    storage_options.block_size_bytes = block_size;
    storage_options.block_count_max =
        6 * (pattern.a.size() + pattern.b.size()) * 32 / block_size + 4096;
    auto storage = MemoryStorage::Create(storage_options);
    LSMSCAN_ASSERT(storage.ok());
    storage_ = std::move(storage).value();
    auto tree = Tree32::Create(storage_.get(), TreeOptions());
    LSMSCAN_ASSERT(tree.ok());
    tree_ = std::move(tree).value();
    for (uint64_t field : {kFieldA, kFieldB}) {
      for (uint64_t id : field == kFieldA ? pattern.a : pattern.b) {
        const absl::Status put = PutWithBackPressure(
            tree_.get(), Schema32::Make(IndexKey(field, id), id));
        LSMSCAN_ASSERT(put.ok());
      }
    }
    LSMSCAN_ASSERT(CompactAllBlocking(tree_.get()).ok());
    for (auto& buffer : buffers_) {
      // Zero-copy storage: blocks are resident, read-ahead has nothing to do.
      auto made = ScanBuffer::ForTree(*tree_, {.read_ahead_blocks = 0});
      LSMSCAN_ASSERT(made.ok());
      buffer = std::move(made).value();
    }
  }

  // The zig-zag: ScanIntersection or ScanDifference of the two scans.
  Outcome ZigZag(Op op, Direction direction) {
    const double start = CpuSeconds();
    ScanTreeSource<Schema32, IdProjection> a, b;
    Init(&a, kFieldA, 0, direction);
    Init(&b, kFieldB, 1, direction);
    ScanSource<uint64_t>* sources[] = {&a, &b};
    ScanIntersection<uint64_t> intersection;
    ScanDifference<uint64_t> difference;
    ScanSource<uint64_t>* root = &intersection;
    if (op == Op::kIntersection) {
      LSMSCAN_ASSERT(intersection.Init(sources).ok());
    } else {
      LSMSCAN_ASSERT(difference.Init(sources).ok());
      root = &difference;
    }
    Outcome outcome;
    while (true) {
      ReadBlocking(root);
      SourceNext<uint64_t> next = root->Next();
      for (; next.kind == ScanNextKind::kValue; next = root->Next()) {
        outcome.results++;
        outcome.checksum += next.key;
      }
      if (next.kind == ScanNextKind::kEnd) break;
    }
    outcome.seconds = CpuSeconds() - start;
    outcome.data_blocks = root->stats().levels.data_blocks;
    return outcome;
  }

  // Both scans read whole, then std::set_intersection / set_difference.
  Outcome Full(Op op, Direction direction) {
    const double start = CpuSeconds();
    Outcome outcome;
    ScanTreeSource<Schema32, IdProjection> a, b;
    Init(&a, kFieldA, 0, direction);
    Init(&b, kFieldB, 1, direction);
    ReadAll(&a, &ids_a_);
    ReadAll(&b, &ids_b_);
    result_.clear();
    if (direction == Direction::kAscending) {
      SetOp(op, ids_a_.begin(), ids_a_.end(), ids_b_.begin(), ids_b_.end(),
            std::less<uint64_t>());
    } else {
      SetOp(op, ids_a_.begin(), ids_a_.end(), ids_b_.begin(), ids_b_.end(),
            std::greater<uint64_t>());
    }
    for (uint64_t id : result_) outcome.checksum += id;
    outcome.results = result_.size();
    outcome.seconds = CpuSeconds() - start;
    outcome.data_blocks =
        a.stats().levels.data_blocks + b.stats().levels.data_blocks;
    return outcome;
  }

  std::string Shape() const {
    std::string shape;
    for (uint32_t level = 0; level < tree_->level_count(); level++) {
      const uint64_t count = tree_->manifest().live_table_count(level);
      if (count > 0) absl::StrAppend(&shape, "L", level, " ", count, " tables");
    }
    return shape;
  }

 private:
  void Init(ScanTreeSource<Schema32, IdProjection>* source, uint64_t field,
            int buffer, Direction direction) {
    const absl::Status status =
        source->Init(tree_.get(), buffers_[buffer].get(), kSnapshotLatest,
                     IndexKey(field, 0), IndexKey(field, kIdMask), direction);
    LSMSCAN_ASSERT(status.ok());
  }

  void ReadBlocking(ScanSource<uint64_t>* source) {
    bool done = false;
    source->Read(
        [](void* context, ScanSource<uint64_t>*, absl::Status status) {
          LSMSCAN_ASSERT(status.ok());
          *static_cast<bool*>(context) = true;
        },
        &done);
    while (!done) storage_->Tick(Storage::TickMode::kWaitForProgress);
  }

  void ReadAll(ScanSource<uint64_t>* source, Ids* ids) {
    ids->clear();
    while (true) {
      ReadBlocking(source);
      SourceNext<uint64_t> next = source->Next();
      for (; next.kind == ScanNextKind::kValue; next = source->Next()) {
        ids->push_back(next.key);
      }
      if (next.kind == ScanNextKind::kEnd) return;
    }
  }

  template <typename Iterator, typename Compare>
  void SetOp(Op op, Iterator a, Iterator a_end, Iterator b, Iterator b_end,
             Compare compare) {
    if (op == Op::kIntersection) {
      std::set_intersection(a, a_end, b, b_end, std::back_inserter(result_),
                            compare);
    } else {
      std::set_difference(a, a_end, b, b_end, std::back_inserter(result_),
                          compare);
    }
  }

  std::unique_ptr<MemoryStorage> storage_;
  std::unique_ptr<Tree32> tree_;
  std::unique_ptr<ScanBuffer> buffers_[2];
  Ids ids_a_, ids_b_, result_;
};

// --- RocksDB -----------------------------------------------------------------

void EncodeKey(uint64_t key, char* out) {
  for (int i = 7; i >= 0; i--, key >>= 8) out[i] = static_cast<char>(key);
}

uint64_t DecodeKey(const char* in) {
  uint64_t key = 0;
  for (int i = 0; i < 8; i++) key = (key << 8) | static_cast<uint8_t>(in[i]);
  return key;
}

class RocksDbIndex {
 public:
  ~RocksDbIndex() { db_.reset(); }

  bool loaded() const { return db_ != nullptr; }

  // Loads the pattern into a fresh database, compacted into one sorted run
  // in the last level, with a block cache that holds it all.
  void Load(const Pattern& pattern, uint32_t block_size,
            const std::string& path) {
    db_.reset();
    statistics_ = rocksdb::CreateDBStatistics();
    statistics_->set_stats_level(rocksdb::kExceptTimers);
    rocksdb::Options options;
    options.create_if_missing = true;
    options.compression = rocksdb::kNoCompression;
    options.bottommost_compression = rocksdb::kDisableCompressionOption;
    options.max_open_files = -1;
    options.disable_auto_compactions = true;
    options.statistics = statistics_;
    rocksdb::BlockBasedTableOptions table;
    table.block_size = block_size;
    table.block_cache = rocksdb::NewLRUCache(uint64_t{4} << 30);
    table.cache_index_and_filter_blocks = false;
    table.filter_policy = nullptr;
    // No implicit prefetching of blocks that are in the cache already (the
    // tuned warm profile of //bench:compare).
    table.max_auto_readahead_size = 0;
    options.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
    LSMSCAN_ASSERT(rocksdb::DestroyDB(path, options).ok());
    rocksdb::DB* raw = nullptr;
    LSMSCAN_ASSERT(rocksdb::DB::Open(options, path, &raw).ok());
    db_.reset(raw);
    rocksdb::WriteOptions write_options;
    write_options.disableWAL = true;
    rocksdb::WriteBatch batch;
    char key[8];
    char value[24] = {};
    for (uint64_t field : {kFieldA, kFieldB}) {
      for (uint64_t id : field == kFieldA ? pattern.a : pattern.b) {
        EncodeKey(IndexKey(field, id), key);
        EncodeKey(id, value);
        batch.Put(rocksdb::Slice(key, 8), rocksdb::Slice(value, 24));
        if (batch.Count() == 1000) {
          LSMSCAN_ASSERT(db_->Write(write_options, &batch).ok());
          batch.Clear();
        }
      }
    }
    LSMSCAN_ASSERT(db_->Write(write_options, &batch).ok());
    rocksdb::FlushOptions flush;
    flush.wait = true;
    LSMSCAN_ASSERT(db_->Flush(flush).ok());
    rocksdb::CompactRangeOptions compact;
    compact.bottommost_level_compaction =
        rocksdb::BottommostLevelCompaction::kForce;
    compact.change_level = true;
    compact.target_level = db_->NumberLevels() - 1;
    LSMSCAN_ASSERT(db_->CompactRange(compact, nullptr, nullptr).ok());
  }

  // The zig-zag with two iterators, as lsmscan's: step, then Seek.
  Outcome ZigZag(Op op, Direction direction) {
    const double start = CpuSeconds();
    const uint64_t blocks_before = DataBlocks();
    Cursor a(db_.get(), kFieldA, direction);
    Cursor b(db_.get(), kFieldB, direction);
    Outcome outcome;
    auto take = [&](uint64_t id) {
      outcome.results++;
      outcome.checksum += id;
    };
    while (a.valid()) {
      if (!b.valid()) {
        if (op == Op::kIntersection) break;
        take(a.id());  // The rest of A.
        a.Next();
        continue;
      }
      const uint64_t id_a = a.id();
      const uint64_t id_b = b.id();
      if (id_a == id_b) {
        if (op == Op::kIntersection) take(id_a);
        a.Next();
        b.Next();
      } else if (a.Before(id_a, id_b)) {
        if (op == Op::kDifference) {
          take(id_a);
          a.Next();
        } else {
          a.CatchUp(id_b);
        }
      } else {
        b.CatchUp(id_a);
      }
    }
    outcome.seconds = CpuSeconds() - start;
    outcome.data_blocks = DataBlocks() - blocks_before;
    return outcome;
  }

  // Both ranges read whole, then std::set_*.
  Outcome Full(Op op, Direction direction) {
    const double start = CpuSeconds();
    const uint64_t blocks_before = DataBlocks();
    for (uint64_t field : {kFieldA, kFieldB}) {
      Ids& ids = field == kFieldA ? ids_a_ : ids_b_;
      ids.clear();
      for (Cursor c(db_.get(), field, direction); c.valid(); c.Next()) {
        ids.push_back(c.id());
      }
    }
    result_.clear();
    const bool up = direction == Direction::kAscending;
    if (op == Op::kIntersection && up) {
      std::set_intersection(ids_a_.begin(), ids_a_.end(), ids_b_.begin(),
                            ids_b_.end(), std::back_inserter(result_));
    } else if (op == Op::kIntersection) {
      std::set_intersection(ids_a_.begin(), ids_a_.end(), ids_b_.begin(),
                            ids_b_.end(), std::back_inserter(result_),
                            std::greater<uint64_t>());
    } else if (up) {
      std::set_difference(ids_a_.begin(), ids_a_.end(), ids_b_.begin(),
                          ids_b_.end(), std::back_inserter(result_));
    } else {
      std::set_difference(ids_a_.begin(), ids_a_.end(), ids_b_.begin(),
                          ids_b_.end(), std::back_inserter(result_),
                          std::greater<uint64_t>());
    }
    Outcome outcome;
    for (uint64_t id : result_) outcome.checksum += id;
    outcome.results = result_.size();
    outcome.seconds = CpuSeconds() - start;
    outcome.data_blocks = DataBlocks() - blocks_before;
    return outcome;
  }

  std::string Shape() const {
    std::string shape;
    for (int level = 0; level < db_->NumberLevels(); level++) {
      std::string files;
      db_->GetProperty(absl::StrCat("rocksdb.num-files-at-level", level),
                       &files);
      if (!files.empty() && files != "0") {
        absl::StrAppend(&shape, "L", level, " ", files, " files");
      }
    }
    return shape;
  }

 private:
  // One iterator over one field's range, in one direction.
  class Cursor {
   public:
    Cursor(rocksdb::DB* db, uint64_t field, Direction direction)
        : field_(field), up_(direction == Direction::kAscending) {
      EncodeKey(IndexKey(field, 0), lower_);
      EncodeKey(IndexKey(field + 1, 0), upper_);  // Exclusive.
      lower_slice_ = rocksdb::Slice(lower_, 8);
      upper_slice_ = rocksdb::Slice(upper_, 8);
      rocksdb::ReadOptions read_options;
      read_options.verify_checksums = true;  // As lsmscan verifies blocks.
      read_options.iterate_lower_bound = &lower_slice_;
      read_options.iterate_upper_bound = &upper_slice_;
      it_.reset(db->NewIterator(read_options));
      if (up_) {
        it_->SeekToFirst();
      } else {
        it_->SeekToLast();
      }
    }
    bool valid() const { return it_->Valid(); }
    uint64_t id() const { return DecodeKey(it_->key().data()) & kIdMask; }
    bool Before(uint64_t x, uint64_t y) const { return up_ ? x < y : y < x; }
    void Next() {
      if (up_) {
        it_->Next();
      } else {
        it_->Prev();
      }
    }
    // Moves to the first id at or past `target`: a few steps, then a seek,
    // with lsmscan's adaptive step budget (scan/scan_combinator.h).
    void CatchUp(uint64_t target) {
      for (uint32_t step = 0; step < step_budget_; step++) {
        Next();
        if (!valid() || !Before(id(), target)) {
          step_budget_ = std::min(2 * step_budget_, kScanCatchUpStepCount);
          return;
        }
      }
      step_budget_ = std::max(step_budget_ / 2, uint32_t{1});
      char key[8];
      EncodeKey(IndexKey(field_, target), key);
      if (up_) {
        it_->Seek(rocksdb::Slice(key, 8));
      } else {
        it_->SeekForPrev(rocksdb::Slice(key, 8));
      }
    }

   private:
    uint64_t field_;
    bool up_;
    uint32_t step_budget_ = kScanCatchUpStepCount;
    char lower_[8];
    char upper_[8];
    rocksdb::Slice lower_slice_;
    rocksdb::Slice upper_slice_;
    std::unique_ptr<rocksdb::Iterator> it_;
  };

  uint64_t DataBlocks() const {
    return statistics_->getTickerCount(rocksdb::BLOCK_CACHE_DATA_HIT) +
           statistics_->getTickerCount(rocksdb::BLOCK_CACHE_DATA_MISS);
  }

  std::shared_ptr<rocksdb::Statistics> statistics_;
  std::unique_ptr<rocksdb::DB> db_;
  Ids ids_a_, ids_b_, result_;
};

// --- The report -----------------------------------------------------------

struct Measured {
  bool measured = false;
  double ns_per_result = 0;  // Median.
  double ns_min = 0;
  double ns_max = 0;
  uint64_t results = 0;
  uint64_t checksum = 0;
  uint64_t data_blocks = 0;
};

double NsPerResult(const Outcome& outcome) {
  return outcome.seconds * 1e9 /
         static_cast<double>(std::max<uint64_t>(1, outcome.results));
}

// The median (min-max) of `values`.
struct Spread {
  double median = 0;
  double min = 0;
  double max = 0;
};

Spread SpreadOf(std::vector<double> values) {
  if (values.empty()) return {};
  std::sort(values.begin(), values.end());
  return {values[values.size() / 2], values.front(), values.back()};
}

// Runs `methods` round-robin, one warm-up round and then `repetitions`
// rounds, so that every method meets the shared machine in the same moods;
// returns each method's outcomes, round by round.
std::vector<std::vector<Outcome>> MeasureTogether(
    int repetitions, const std::vector<std::function<Outcome()>>& methods) {
  std::vector<std::vector<Outcome>> outcomes(methods.size());
  for (int round = -1; round < repetitions; round++) {
    for (size_t m = 0; m < methods.size(); m++) {
      const Outcome outcome = methods[m]();
      if (round >= 0) outcomes[m].push_back(outcome);
    }
  }
  return outcomes;
}

Measured Summarize(const std::vector<Outcome>& outcomes) {
  Measured measured;
  if (outcomes.empty()) return measured;
  measured.measured = true;
  std::vector<double> ns;
  for (const Outcome& outcome : outcomes) ns.push_back(NsPerResult(outcome));
  const Spread spread = SpreadOf(ns);
  measured.ns_per_result = spread.median;
  measured.ns_min = spread.min;
  measured.ns_max = spread.max;
  measured.results = outcomes.back().results;
  measured.checksum = outcomes.back().checksum;
  measured.data_blocks = outcomes.back().data_blocks;
  return measured;
}

// Round by round, how many times slower `slow` was than `fast`.
Spread RatioOf(const std::vector<Outcome>& slow,
               const std::vector<Outcome>& fast) {
  std::vector<double> ratios;
  for (size_t i = 0; i < slow.size() && i < fast.size(); i++) {
    ratios.push_back(NsPerResult(slow[i]) / NsPerResult(fast[i]));
  }
  return SpreadOf(ratios);
}

// One line of the table (methods not measured show zeros).
void Row(const Pattern& pattern, Op op, Direction direction,
         const Measured& zig, const Measured& full, const Measured& rocks,
         const Measured& rocks_full, const Spread& full_ratio,
         const Spread& rocks_ratio) {
  // Every method must agree on the answer.
  for (const Measured* other : {&full, &rocks, &rocks_full}) {
    if (!other->measured) continue;
    LSMSCAN_ASSERT(zig.results == other->results);
    LSMSCAN_ASSERT(zig.checksum == other->checksum);
  }
  auto ns = [](const Measured& m) {
    return absl::StrFormat("%.1f (%.1f-%.1f)", m.ns_per_result, m.ns_min,
                           m.ns_max);
  };
  auto times = [](const Spread& r) {
    return absl::StrFormat("%.1fx (%.1f-%.1f)", r.median, r.min, r.max);
  };
  std::printf(
      "| %s | %s | %s | %llu | %s | %s | %s | %s | %llu | %llu | %llu | "
      "%llu | %.3f | %s | %s |\n",
      pattern.name.c_str(), OpName(op), DirectionName(direction),
      static_cast<unsigned long long>(zig.results), ns(zig).c_str(),
      ns(full).c_str(), ns(rocks).c_str(), ns(rocks_full).c_str(),
      static_cast<unsigned long long>(zig.data_blocks),
      static_cast<unsigned long long>(full.data_blocks),
      static_cast<unsigned long long>(rocks.data_blocks),
      static_cast<unsigned long long>(rocks_full.data_blocks),
      static_cast<double>(zig.data_blocks) /
          static_cast<double>(std::max<uint64_t>(1, full.data_blocks)),
      times(full_ratio).c_str(), times(rocks_ratio).c_str());
  std::fflush(stdout);
}

void PrintHeader() {
  const bench::MachineInfo machine = bench::CollectMachineInfo();
  std::printf("# //bench:algebra_benchmark\n\n");
  std::printf("- date: %s\n- machine: %s, %d cores, %s\n- compiler: %s%s\n",
              machine.date.c_str(), machine.cpu.c_str(), machine.cores,
              machine.kernel.c_str(), machine.compiler.c_str(),
              machine.optimized ? " (optimised)" : " (NOT optimised)");
  auto library = bench::InspectLibraryOf(
      reinterpret_cast<const void*>(&rocksdb::DestroyDB));
#ifdef LSMSCAN_ROCKSDB_RELEASE
  const char* build = "the release build (tools/build_rocksdb_release.sh)";
#else
  const char* build = "Debian's librocksdb";
#endif
  const std::string where =
      !library.ok()
          ? std::string("statically linked")
          : absl::StrCat(library->path, library->imports_assert_fail
                                            ? " (assertions ON: not NDEBUG)"
                                            : " (NDEBUG: no assertions)");
  std::printf("- RocksDB %d.%d.%d, %s: %s\n", ROCKSDB_MAJOR, ROCKSDB_MINOR,
              ROCKSDB_PATCH, build, where.c_str());
  std::printf(
      "- data: %llu ids per field, clusters of %llu ids, %u-byte blocks, "
      "32-byte entries; %d repetitions, median (min-max) ns of CPU time per "
      "result\n\n",
      static_cast<unsigned long long>(absl::GetFlag(FLAGS_entries)),
      static_cast<unsigned long long>(absl::GetFlag(FLAGS_cluster_ids)),
      absl::GetFlag(FLAGS_block_size), absl::GetFlag(FLAGS_repetitions));
  std::printf(
      "| pattern | query | direction | results | lsmscan zig-zag ns/result | "
      "lsmscan full+std ns/result | RocksDB zig-zag ns/result | RocksDB "
      "full+std ns/result | lsmscan zig-zag blocks | lsmscan full blocks | "
      "RocksDB zig-zag blocks | RocksDB full blocks | zig-zag / full blocks "
      "| lsmscan full / zig-zag time | RocksDB zig-zag / lsmscan zig-zag "
      "time |\n");
  std::printf(
      "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
      "---:|\n");
  std::fflush(stdout);
}

int Main() {
  rocksdb::SetPerfLevel(rocksdb::PerfLevel::kDisable);
  const uint64_t entries = absl::GetFlag(FLAGS_entries);
  const uint64_t cluster_ids = absl::GetFlag(FLAGS_cluster_ids);
  const uint32_t block_size = absl::GetFlag(FLAGS_block_size);
  const int repetitions = absl::GetFlag(FLAGS_repetitions);
  PrintHeader();
  std::vector<Pattern> patterns;
  for (const std::string& name : absl::GetFlag(FLAGS_patterns)) {
    if (name == "interleaved1") {
      patterns.push_back(Interleaved(entries));
    } else if (name.rfind("clustered", 0) == 0) {
      uint32_t percent = 0;
      LSMSCAN_ASSERT_MSG(absl::SimpleAtoi(name.substr(9), &percent),
                         "--patterns: clustered<percent>");
      patterns.push_back(Clustered(entries, cluster_ids, percent));
    } else {
      std::fprintf(stderr, "unknown pattern %s\n", name.c_str());
      return 1;
    }
  }
  std::string shapes;
  for (const Pattern& pattern : patterns) {
    const bool zigzag_only = absl::GetFlag(FLAGS_zigzag_only);
    const bool with_rocksdb = absl::GetFlag(FLAGS_rocksdb) && !zigzag_only;
    LsmscanIndex lsmscan;
    lsmscan.Load(pattern, block_size);
    RocksDbIndex rocksdb;
    if (with_rocksdb) {
      rocksdb.Load(pattern, block_size, absl::GetFlag(FLAGS_dir));
    }
    absl::StrAppend(&shapes, "- ", pattern.name, ": lsmscan ", lsmscan.Shape(),
                    with_rocksdb ? "; RocksDB " + rocksdb.Shape() : "", "\n");
    for (Op op : {Op::kIntersection, Op::kDifference}) {
      const std::vector<std::string> queries = absl::GetFlag(FLAGS_queries);
      if (std::find(queries.begin(), queries.end(),
                    op == Op::kIntersection ? "and" : "minus") ==
          queries.end()) {
        continue;
      }
      for (Direction direction :
           {Direction::kAscending, Direction::kDescending}) {
        std::vector<std::function<Outcome()>> methods = {
            [&] { return lsmscan.ZigZag(op, direction); }};
        if (!zigzag_only) {
          methods.push_back([&] { return lsmscan.Full(op, direction); });
        }
        if (with_rocksdb) {
          methods.push_back([&] { return rocksdb.ZigZag(op, direction); });
          methods.push_back([&] { return rocksdb.Full(op, direction); });
        }
        const std::vector<std::vector<Outcome>> outcomes =
            MeasureTogether(repetitions, methods);
        const std::vector<Outcome> none;
        const std::vector<Outcome>& zig = outcomes[0];
        const std::vector<Outcome>& full = zigzag_only ? none : outcomes[1];
        const std::vector<Outcome>& rocks =
            with_rocksdb ? outcomes[outcomes.size() - 2] : none;
        const std::vector<Outcome>& rocks_full =
            with_rocksdb ? outcomes.back() : none;
        Row(pattern, op, direction, Summarize(zig), Summarize(full),
            Summarize(rocks), Summarize(rocks_full), RatioOf(full, zig),
            RatioOf(rocks, zig));
      }
    }
  }
  std::printf("\nShapes:\n%s", shapes.c_str());
  return 0;
}

}  // namespace
}  // namespace lsmscan

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  return lsmscan::Main();
}
