// File: lsm/table_value_stream.h
// -----------------------------------------------------------------------------
//
// The values of a run of tables (disjoint, in key order) or of a memory
// table, one data block at a time: compaction's input. The consumer takes
// values from `values()`; when that runs dry and the stream is not finished,
// it calls `Fetch()`, which loads the next data block (and, at a table
// boundary, the next index block) asynchronously.
//
// A memory table's runs (table_memory.h) are merged as they are consumed,
// newest run first on equal keys, a data frame's worth at a time into the
// data frame (a table of one run is streamed in place); no fetch is ever
// needed.
//
// Memory: one index block and one data block are held at a time, in frames
// the caller provides (the data frame also serves memory runs' merge).

#ifndef LSMSCAN_LSM_TABLE_VALUE_STREAM_H_
#define LSMSCAN_LSM_TABLE_VALUE_STREAM_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "lsmscan/lsm/data_block.h"
#include "lsmscan/lsm/grid.h"
#include "lsmscan/lsm/index_block.h"
#include "lsmscan/lsm/schema.h"
#include "lsmscan/lsm/table_info.h"
#include "lsmscan/lsm/tree_options.h"
#include "lsmscan/storage/base/assert.h"

namespace lsmscan {

// TableValueStream<S>
template <Schema S>
class TableValueStream {
 public:
  using Key = typename S::Key;
  using Value = typename S::Value;
  using Callback = void (*)(void* context);

  TableValueStream() = default;
  TableValueStream(const TableValueStream&) = delete;
  TableValueStream& operator=(const TableValueStream&) = delete;

  // TableValueStream::Init()
  //
  // Binds the stream to `grid` and two block frames (index, data).
  void Init(Grid* grid, std::byte* index_frame, std::byte* data_frame) {
    grid_ = grid;
    index_frame_ = index_frame;
    data_frame_ = data_frame;
    read_.context = this;
    read_.callback = &TableValueStream::ReadCallback;
  }

  // TableValueStream::ResetTables()
  //
  // Streams the values of `tables` (disjoint, ascending).
  void ResetTables(std::vector<TableInfo<Key>> tables) {
    LSMSCAN_ASSERT(!fetching_);
    Clear();
    tables_ = std::move(tables);
    finished_ = tables_.empty();
  }

  // TableValueStream::ResetMemory()
  //
  // Streams the merge of `runs` (newest first; each ascending with unique
  // keys): each key once, with the newest run's value. The runs must stay
  // unchanged until the stream is reset. Never needs a fetch.
  // REQUIRES: runs.size() <= kMemoryTableRunCountMax.
  void ResetMemory(std::span<const std::span<const Value>> runs) {
    LSMSCAN_ASSERT(!fetching_);
    LSMSCAN_ASSERT(runs.size() <= runs_.size());
    Clear();
    memory_ = true;
    run_count_ = 0;
    for (std::span<const Value> run : runs) {
      if (!run.empty()) runs_[run_count_++] = run;
    }
    if (run_count_ == 1) {
      values_ = runs_[0];
      run_count_ = 0;
    } else {
      FillFromRuns();
    }
    finished_ = values_.empty();
  }

  // TableValueStream::ReleaseBlocks()
  //
  // Unpins the blocks held (when the consumer is done with the stream, so
  // its tables can be freed). REQUIRES: not fetching.
  void ReleaseBlocks() {
    LSMSCAN_ASSERT(!fetching_);
    Clear();
    finished_ = true;
  }

  // The values buffered now (a view into a pinned block or memory table).
  std::span<const Value> values() const { return values_; }

  // TableValueStream::Consume()
  //
  // Drops the first `count` buffered values.
  void Consume(size_t count) {
    LSMSCAN_ASSERT(count <= values_.size());
    values_ = values_.subspan(count);
    if (values_.empty() && memory_) {
      FillFromRuns();
      finished_ = values_.empty();
    }
    if (values_.empty() && !memory_ && AtLastBlock()) finished_ = true;
  }

  // True once every value has been consumed (or an error occurred).
  bool finished() const { return finished_; }
  // True iff the consumer must Fetch() before values() has more.
  bool needs_fetch() const {
    return values_.empty() && !finished_ && !fetching_;
  }
  bool fetching() const { return fetching_; }
  const absl::Status& status() const { return status_; }

  // TableValueStream::Fetch()
  //
  // Loads the next data block; `callback(context)` runs from a later Tick()
  // once values() is non-empty, or the stream finished, or status() is an
  // error. REQUIRES: needs_fetch().
  void Fetch(Callback callback, void* context) {
    LSMSCAN_ASSERT(needs_fetch());
    callback_ = callback;
    callback_context_ = context;
    fetching_ = true;
    data_block_.Reset();
    const bool need_index = !index_block_ || block_index_ + 1 >= block_count_;
    if (need_index) {
      LSMSCAN_ASSERT(table_index_ < tables_.size());
      index_block_.Reset();
      const TableInfo<Key>& table = tables_[table_index_];
      SubmitRead(BlockType::kIndex, table.index_address, table.index_checksum,
                 index_frame_);
      return;
    }
    block_index_++;
    SubmitDataRead();
  }

 private:
  void Clear() {
    tables_.clear();
    table_index_ = 0;
    index_block_.Reset();
    data_block_.Reset();
    block_index_ = 0;
    block_count_ = 0;
    values_ = {};
    memory_ = false;
    run_count_ = 0;
    status_ = absl::OkStatus();
  }

  // Merges the next values of the memory runs into the data frame (or
  // leaves values() empty when they are all consumed).
  void FillFromRuns() {
    if (run_count_ == 0) return;
    Value* out = reinterpret_cast<Value*>(data_frame_);
    const size_t capacity = grid_->block_size_bytes() / sizeof(Value);
    size_t count = 0;
    while (count < capacity && run_count_ > 0) {
      // The smallest head; on a tie the newest run (the lowest index).
      uint32_t best = 0;
      for (uint32_t i = 1; i < run_count_; i++) {
        if (S::key_of(runs_[i].front()) < S::key_of(runs_[best].front())) {
          best = i;
        }
      }
      const Key key = S::key_of(runs_[best].front());
      out[count++] = runs_[best].front();
      // Drop the key from every run (older versions), then empty runs.
      for (uint32_t i = 0; i < run_count_;) {
        if (!(key < S::key_of(runs_[i].front()))) {
          runs_[i] = runs_[i].subspan(1);
        }
        if (runs_[i].empty()) {
          for (uint32_t j = i + 1; j < run_count_; j++) runs_[j - 1] = runs_[j];
          run_count_--;
        } else {
          i++;
        }
      }
    }
    values_ = {out, count};
  }

  bool AtLastBlock() const {
    return index_block_ && block_index_ + 1 >= block_count_ &&
           table_index_ >= tables_.size();
  }

  void SubmitRead(BlockType type, BlockAddress address,
                  const Checksum128& checksum, std::byte* frame) {
    read_.expected = BlockExpectation{address, checksum, type, 0};
    read_.frame = frame;
    grid_->SubmitRead(&read_);
  }

  void SubmitDataRead() {
    const IndexBlockView<Key> index(index_block_.data());
    LSMSCAN_ASSERT(block_index_ < index.count());
    SubmitRead(BlockType::kData, index.addresses()[block_index_],
               index.checksums()[block_index_], data_frame_);
  }

  static void ReadCallback(Grid::Read* read) {
    auto* self = static_cast<TableValueStream*>(read->context);
    self->OnRead(read);
  }

  void OnRead(Grid::Read* read) {
    if (!read->status.ok()) {
      Fail(read->status);
      return;
    }
    if (read->expected.type == BlockType::kIndex) {
      absl::Status valid = ValidateIndexBlock<Key>(read->block.data(),
                                                   grid_->block_size_bytes());
      if (!valid.ok()) {
        Fail(std::move(valid));
        return;
      }
      index_block_ = std::move(read->block);
      block_count_ = IndexBlockView<Key>(index_block_.data()).count();
      block_index_ = 0;
      table_index_++;
      SubmitDataRead();
      return;
    }
    absl::Status valid =
        ValidateDataBlock<S>(read->block.data(), grid_->block_size_bytes());
    if (!valid.ok()) {
      Fail(std::move(valid));
      return;
    }
    data_block_ = std::move(read->block);
    values_ = DataBlockValues<S>(data_block_.data());
    LSMSCAN_EXPENSIVE_ASSERT(DataBlockKeysAscend<S>(values_));
    fetching_ = false;
    callback_(callback_context_);
  }

  void Fail(absl::Status status) {
    status_ = std::move(status);
    finished_ = true;
    fetching_ = false;
    values_ = {};
    callback_(callback_context_);
  }

  Grid* grid_ = nullptr;
  std::byte* index_frame_ = nullptr;
  std::byte* data_frame_ = nullptr;
  Grid::Read read_;
  std::vector<TableInfo<Key>> tables_;
  size_t table_index_ = 0;  // The next table to open.
  BlockRef index_block_;
  BlockRef data_block_;
  uint32_t block_index_ = 0;  // The data block within the open table.
  uint32_t block_count_ = 0;
  std::span<const Value> values_;
  bool memory_ = false;
  // Memory runs not yet consumed, newest first (when more than one).
  std::array<std::span<const Value>, kMemoryTableRunCountMax> runs_;
  uint32_t run_count_ = 0;
  bool finished_ = true;
  bool fetching_ = false;
  absl::Status status_;
  Callback callback_ = nullptr;
  void* callback_context_ = nullptr;
};

}  // namespace lsmscan

#endif  // LSMSCAN_LSM_TABLE_VALUE_STREAM_H_
