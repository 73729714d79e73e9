// File: lsm/table_value_stream.h
// -----------------------------------------------------------------------------
//
// The values of a run of tables (disjoint, in key order) or of a memory
// table, one data block at a time: compaction's input. The consumer takes
// values from `values()`; when that runs dry and the stream is not finished,
// it calls `Fetch()`, which loads the next data block (and, at a table
// boundary, the next index block) asynchronously.
//
// Memory: one index block and one data block are held at a time, in frames
// the caller provides (used only by copying storages).

#ifndef LSMSCAN_LSM_TABLE_VALUE_STREAM_H_
#define LSMSCAN_LSM_TABLE_VALUE_STREAM_H_

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
  // Streams `values` (sorted, unique keys); never needs a fetch.
  void ResetMemory(std::span<const Value> values) {
    LSMSCAN_ASSERT(!fetching_);
    Clear();
    values_ = values;
    finished_ = values.empty();
    memory_ = true;
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
    if (values_.empty() && memory_) finished_ = true;
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
    status_ = absl::OkStatus();
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
  bool finished_ = true;
  bool fetching_ = false;
  absl::Status status_;
  Callback callback_ = nullptr;
  void* callback_context_ = nullptr;
};

}  // namespace lsmscan

#endif  // LSMSCAN_LSM_TABLE_VALUE_STREAM_H_
