// File: bench/algebra_rocksdb.h
// -----------------------------------------------------------------------------
//
// RocksDB's side of //bench:algebra_benchmark: the same index in a RocksDB
// database (8-byte big-endian keys, 24-byte values) compacted into one
// sorted run in the last level, warm in a block cache that holds it all;
// the query as two iterators doing lsmscan's zig-zag (a few Next() steps
// with the same adaptive budget, then Seek / SeekForPrev), or as both
// ranges read whole and then std::set_*.

#ifndef LSMSCAN_BENCH_ALGEBRA_ROCKSDB_H_
#define LSMSCAN_BENCH_ALGEBRA_ROCKSDB_H_

#include <rocksdb/cache.h>
#include <rocksdb/db.h>
#include <rocksdb/iterator.h>
#include <rocksdb/options.h>
#include <rocksdb/slice.h>
#include <rocksdb/statistics.h>
#include <rocksdb/table.h>
#include <rocksdb/write_batch.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <iterator>
#include <memory>
#include <string>
#include <system_error>

#include "absl/strings/str_cat.h"
#include "lsmscan/bench/algebra_workload.h"
#include "lsmscan/lsm/direction.h"
#include "lsmscan/scan/scan_combinator.h"
#include "lsmscan/storage/base/assert.h"

namespace lsmscan {
namespace bench {
namespace algebra {

inline void EncodeKey(uint64_t key, char* out) {
  for (int i = 7; i >= 0; i--, key >>= 8) out[i] = static_cast<char>(key);
}

inline uint64_t DecodeKey(const char* in) {
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
    // DestroyDB() fails on a directory that does not exist (a first run).
    std::error_code created;
    std::filesystem::create_directories(path, created);
    LSMSCAN_ASSERT_MSG(!created, "cannot create the --dir directory");
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

}  // namespace algebra
}  // namespace bench
}  // namespace lsmscan

#endif  // LSMSCAN_BENCH_ALGEBRA_ROCKSDB_H_
