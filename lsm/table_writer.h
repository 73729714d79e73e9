// File: lsm/table_writer.h
// -----------------------------------------------------------------------------
//
// Writes a run of tables from values in ascending key order: compaction's
// output. Values fill data blocks; each full block is sealed and written
// while the next one fills (up to `write_frame_count` blocks in flight);
// every `data_block_count_max` blocks make a table, closed by its index
// block. The resulting tables are handed to the manifest only when the whole
// run is written (see compaction.h); until then nothing refers to them, so a
// crash or an error leaves the tree as it was.

#ifndef LSMSCAN_LSM_TABLE_WRITER_H_
#define LSMSCAN_LSM_TABLE_WRITER_H_

#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "lsmscan/lsm/data_block.h"
#include "lsmscan/lsm/grid.h"
#include "lsmscan/lsm/index_block.h"
#include "lsmscan/lsm/manifest.h"
#include "lsmscan/lsm/schema.h"
#include "lsmscan/storage/aligned_buffer.h"
#include "lsmscan/storage/base/assert.h"

namespace lsmscan {

// TableWriter<S>
template <Schema S>
class TableWriter {
 public:
  using Key = typename S::Key;
  using Value = typename S::Value;
  using Callback = void (*)(void* context);

  TableWriter() = default;
  TableWriter(const TableWriter&) = delete;
  TableWriter& operator=(const TableWriter&) = delete;

  // TableWriter::Init()
  //
  // Allocates `write_frame_count` data block frames and one index frame.
  // `resume(context)` runs (from Tick()) whenever a write completes.
  void Init(Grid* grid, uint32_t data_block_count_max,
            uint32_t write_frame_count, Callback resume, void* context) {
    LSMSCAN_ASSERT(data_block_count_max > 0);
    LSMSCAN_ASSERT(write_frame_count > 0);
    LSMSCAN_ASSERT(
        data_block_count_max <=
        IndexBlockEntryCountMax(grid->block_size_bytes(), sizeof(Key)));
    grid_ = grid;
    resume_ = resume;
    resume_context_ = context;
    const uint32_t block_size = grid->block_size_bytes();
    frames_memory_ =
        AlignedBuffer(size_t{block_size} * (write_frame_count + 1));
    frames_.resize(write_frame_count + 1);
    for (uint32_t i = 0; i < frames_.size(); i++) {
      frames_[i].data = frames_memory_.data() + size_t{i} * block_size;
      frames_[i].write.context = this;
      frames_[i].write.callback = &TableWriter::WriteCallback;
    }
    index_builder_.Init(data_block_count_max);
  }

  // TableWriter::Start()
  //
  // Begins a new run of tables for `level`; `op` is recorded in the blocks'
  // headers (informational).
  void Start(uint8_t level, Snapshot op) {
    LSMSCAN_ASSERT(in_flight_count_ == 0);
    level_ = level;
    op_ = op;
    status_ = absl::OkStatus();
    tables_.clear();
    acquired_.clear();
    current_frame_ = kNone;
    index_builder_.Reset();
    table_value_count_ = 0;
    table_tombstone_count_ = 0;
    has_last_key_ = false;
  }

  // TableWriter::ready()
  //
  // Whether Add() may be called now; if not, wait for `resume`.
  bool ready() const {
    if (!status_.ok()) return false;
    if (current_frame_ != kNone) return true;
    if (index_builder_.full() && frames_[IndexFrame()].in_flight) return false;
    return FreeDataFrame() != kNone;
  }

  // TableWriter::Add()
  //
  // Appends `value`. REQUIRES: ready(); keys strictly ascend over the run.
  void Add(const Value& value) {
    LSMSCAN_ASSERT(ready());
    if (has_last_key_) LSMSCAN_ASSERT(last_key_ < S::key_of(value));
    last_key_ = S::key_of(value);
    has_last_key_ = true;
    if (current_frame_ == kNone) {
      if (index_builder_.full()) CloseTable();
      current_frame_ = FreeDataFrame();
      block_builder_.Reset(frames_[current_frame_].data,
                           grid_->block_size_bytes());
    }
    if (S::is_tombstone(value)) table_tombstone_count_++;
    block_builder_.Add(value);
    if (block_builder_.full()) CloseBlock();
  }

  // TableWriter::Finish()
  //
  // Closes the last block and table. Returns true once every block of the
  // run is written (or the run failed: see status()); false means wait for
  // `resume` and call again.
  bool Finish() {
    if (status_.ok() && current_frame_ != kNone) CloseBlock();
    if (status_.ok() && !index_builder_.empty()) {
      if (frames_[IndexFrame()].in_flight) return false;
      CloseTable();
    }
    return in_flight_count_ == 0;
  }

  // TableWriter::Abandon()
  //
  // Gives back every block of a run that will not be committed.
  // REQUIRES: nothing in flight.
  void Abandon() {
    LSMSCAN_ASSERT(in_flight_count_ == 0);
    for (BlockAddress address : acquired_) grid_->ReleaseAddress(address);
    acquired_.clear();
    tables_.clear();
    current_frame_ = kNone;
    index_builder_.Reset();
  }

  // The tables written so far (snapshot_min not yet set).
  std::vector<ManifestTable<Key>>& tables() { return tables_; }
  const absl::Status& status() const { return status_; }
  bool idle() const { return in_flight_count_ == 0; }

 private:
  static constexpr uint32_t kNone = UINT32_MAX;

  struct Frame {
    std::byte* data = nullptr;
    Grid::Write write;
    bool in_flight = false;
  };

  uint32_t IndexFrame() const {
    return static_cast<uint32_t>(frames_.size() - 1);
  }

  uint32_t FreeDataFrame() const {
    for (uint32_t i = 0; i < IndexFrame(); i++) {
      if (!frames_[i].in_flight) return i;
    }
    return kNone;
  }

  bool AcquireAddress(BlockAddress* address) {
    absl::StatusOr<BlockAddress> acquired = grid_->AcquireAddress();
    if (!acquired.ok()) {
      status_ = acquired.status();
      return false;
    }
    *address = *acquired;
    acquired_.push_back(*address);
    return true;
  }

  void CloseBlock() {
    LSMSCAN_ASSERT(current_frame_ != kNone);
    LSMSCAN_ASSERT(!block_builder_.empty());
    const uint32_t frame = current_frame_;
    current_frame_ = kNone;
    BlockAddress address = 0;
    if (!AcquireAddress(&address)) return;
    const Checksum128 checksum =
        block_builder_.Seal(address, grid_->schema_id(), op_);
    index_builder_.Add(checksum, address, block_builder_.first_key(),
                       block_builder_.last_key());
    table_value_count_ += block_builder_.count();
    Submit(frame, address);
  }

  void CloseTable() {
    LSMSCAN_ASSERT(!index_builder_.empty());
    LSMSCAN_ASSERT(!frames_[IndexFrame()].in_flight);
    BlockAddress address = 0;
    if (!AcquireAddress(&address)) return;
    ManifestTable<Key> table;
    table.info.key_min = index_builder_.key_min();
    table.info.key_max = index_builder_.key_max();
    table.info.index_address = address;
    table.info.index_checksum = index_builder_.Seal(
        frames_[IndexFrame()].data, grid_->block_size_bytes(), address,
        grid_->schema_id(), op_, level_);
    table.info.value_count = table_value_count_;
    table.info.tombstone_count = table_tombstone_count_;
    table.info.data_block_count = index_builder_.count();
    table.info.level = level_;
    table.data_addresses.assign(index_builder_.addresses().begin(),
                                index_builder_.addresses().end());
    table.data_keys_min.assign(index_builder_.block_keys_min().begin(),
                               index_builder_.block_keys_min().end());
    table.data_keys_max.assign(index_builder_.block_keys_max().begin(),
                               index_builder_.block_keys_max().end());
    table.data_checksums.assign(index_builder_.block_checksums().begin(),
                                index_builder_.block_checksums().end());
    tables_.push_back(std::move(table));
    index_builder_.Reset();
    table_value_count_ = 0;
    table_tombstone_count_ = 0;
    Submit(IndexFrame(), address);
  }

  void Submit(uint32_t frame, BlockAddress address) {
    Frame& slot = frames_[frame];
    LSMSCAN_ASSERT(!slot.in_flight);
    slot.in_flight = true;
    in_flight_count_++;
    slot.write.address = address;
    slot.write.data = slot.data;
    grid_->SubmitWrite(&slot.write);
  }

  static void WriteCallback(Grid::Write* write) {
    auto* self = static_cast<TableWriter*>(write->context);
    for (Frame& frame : self->frames_) {
      if (&frame.write != write) continue;
      LSMSCAN_ASSERT(frame.in_flight);
      frame.in_flight = false;
    }
    LSMSCAN_ASSERT(self->in_flight_count_ > 0);
    self->in_flight_count_--;
    if (!write->status.ok() && self->status_.ok())
      self->status_ = write->status;
    self->resume_(self->resume_context_);
  }

  Grid* grid_ = nullptr;
  Callback resume_ = nullptr;
  void* resume_context_ = nullptr;
  AlignedBuffer frames_memory_;
  std::vector<Frame> frames_;  // Data frames, then the index frame.
  DataBlockBuilder<S> block_builder_;
  IndexBlockBuilder<Key> index_builder_;
  uint32_t current_frame_ = kNone;
  uint32_t in_flight_count_ = 0;
  uint64_t table_value_count_ = 0;
  uint64_t table_tombstone_count_ = 0;  // Of the table being written.
  uint8_t level_ = 0;
  Snapshot op_ = 0;
  Key last_key_{};
  bool has_last_key_ = false;
  absl::Status status_;
  std::vector<ManifestTable<Key>> tables_;
  std::vector<BlockAddress> acquired_;
};

}  // namespace lsmscan

#endif  // LSMSCAN_LSM_TABLE_WRITER_H_
