// File: lsm/compaction.h
// -----------------------------------------------------------------------------
//
// One compaction job: merges a *source* (an immutable memory table, or one
// table of level a) over the *target* tables of the next level that overlap
// it, and writes the result as new tables of that level. On equal keys the
// source (newer) wins and the target's value is dropped; tombstones are
// dropped only when writing the last level (nothing older can be below).
//
// The job does the I/O and the merge; the tree plans it and commits its
// result to the manifest (tree.h). Until that commit the new tables are
// referenced by nothing, so an error or a crash loses no data: the job gives
// back its blocks and the tree is unchanged.
//
// Paced: the job merges only as many input values as its budget allows
// (Grant(): bytes of input values, sizeof(Value) each), then waits, with
// no I/O of its own in flight, until more is granted. Its reads and writes
// go on meanwhile; completing the last output blocks needs no budget.
//
// Memory: four block frames for the inputs (index + data per stream) and
// `write_frame_count + 1` for the output, all allocated at Init().

#ifndef LSMSCAN_LSM_COMPACTION_H_
#define LSMSCAN_LSM_COMPACTION_H_

#include <algorithm>
#include <cstdint>
#include <span>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "lsmscan/lsm/grid.h"
#include "lsmscan/lsm/schema.h"
#include "lsmscan/lsm/table_info.h"
#include "lsmscan/lsm/table_value_stream.h"
#include "lsmscan/lsm/table_writer.h"
#include "lsmscan/storage/aligned_buffer.h"
#include "lsmscan/storage/base/assert.h"

namespace lsmscan {

// kCompactionBudgetUnlimited
//
// A CompactionJob::Grant() that lets the job run unpaced to its end.
inline constexpr uint64_t kCompactionBudgetUnlimited = UINT64_MAX;

// CompactionJob<S>
template <Schema S>
class CompactionJob {
 public:
  using Key = typename S::Key;
  using Value = typename S::Value;
  using Callback = void (*)(void* context, absl::Status status);

  CompactionJob() = default;
  CompactionJob(const CompactionJob&) = delete;
  CompactionJob& operator=(const CompactionJob&) = delete;

  // CompactionJob::Init()
  //
  // Allocates the job's frames once.
  void Init(Grid* grid, uint32_t data_block_count_max,
            uint32_t write_frame_count) {
    grid_ = grid;
    const size_t block_size = grid->block_size_bytes();
    input_frames_ = AlignedBuffer(4 * block_size);
    source_.Init(grid, input_frames_.data(), input_frames_.data() + block_size);
    target_.Init(grid, input_frames_.data() + 2 * block_size,
                 input_frames_.data() + 3 * block_size);
    writer_.Init(grid, data_block_count_max, write_frame_count,
                 &CompactionJob::Resume, this);
    next_tick_.context = this;
    next_tick_.callback = [](Storage::NextTick* next_tick) {
      auto* self = static_cast<CompactionJob*>(next_tick->context);
      self->next_tick_pending_ = false;
      // A completion may have run the job (or a job after it) meanwhile:
      // Step() goes on from wherever it is.
      if (self->running_) self->Step();
    };
  }

  // CompactionJob::StartMemory(), StartTables()
  //
  // Merges the source over `targets` into `output_level`. `done(context,
  // status)` runs from a later Tick(); on OK, tables() holds the output.
  void StartMemory(std::span<const std::span<const Value>> source_runs,
                   std::vector<TableInfo<Key>> targets, uint8_t output_level,
                   bool drop_tombstones, Snapshot op, Callback done,
                   void* context) {
    source_.ResetMemory(source_runs);
    Start(std::move(targets), output_level, drop_tombstones, op, done, context);
  }

  void StartTables(std::vector<TableInfo<Key>> sources,
                   std::vector<TableInfo<Key>> targets, uint8_t output_level,
                   bool drop_tombstones, Snapshot op, Callback done,
                   void* context) {
    source_.ResetTables(std::move(sources));
    Start(std::move(targets), output_level, drop_tombstones, op, done, context);
  }

  // CompactionJob::Grant()
  //
  // Lets the job merge `bytes` more of input (see the file comment; a job
  // starts with none) and resumes it, from a later Tick(), if it was
  // waiting for budget. kCompactionBudgetUnlimited lifts the bound.
  void Grant(uint64_t bytes) {
    LSMSCAN_ASSERT(running_);
    budget_bytes_ =
        bytes > UINT64_MAX - budget_bytes_ ? UINT64_MAX : budget_bytes_ + bytes;
    if (waiting_for_budget_ && budget_bytes_ >= sizeof(Value)) {
      waiting_for_budget_ = false;
      SubmitStep();
    }
  }

  // Budget granted and not spent yet.
  uint64_t budget_bytes() const { return budget_bytes_; }

  // The tables written by a job that completed OK.
  std::vector<ManifestTable<Key>>& tables() { return writer_.tables(); }
  bool running() const { return running_; }
  // Whether the job has a storage callback pending (even after it ended):
  // its owner must not be destroyed until it has run.
  bool tick_pending() const { return next_tick_pending_; }
  // Whether the job waits for Grant() (and for nothing else).
  bool waiting_for_budget() const { return waiting_for_budget_; }
  uint64_t values_written() const { return values_written_; }
  // Input values merged so far by this job (what its budget paid for).
  uint64_t values_read() const { return values_read_; }

 private:
  void Start(std::vector<TableInfo<Key>> targets, uint8_t output_level,
             bool drop_tombstones, Snapshot op, Callback done, void* context) {
    LSMSCAN_ASSERT(!running_);
    running_ = true;
    target_.ResetTables(std::move(targets));
    writer_.Start(output_level, op);
    drop_tombstones_ = drop_tombstones;
    done_ = done;
    done_context_ = context;
    fetch_count_ = 0;
    values_written_ = 0;
    values_read_ = 0;
    budget_bytes_ = 0;
    waiting_for_budget_ = false;
    status_ = absl::OkStatus();
    // Never call back from inside Start().
    SubmitStep();
  }

  // Runs Step() from the next Tick() (once, however often it is asked).
  void SubmitStep() {
    if (next_tick_pending_) return;
    next_tick_pending_ = true;
    grid_->storage()->SubmitNextTick(&next_tick_);
  }

  static void Resume(void* context) {
    static_cast<CompactionJob*>(context)->Step();
  }

  static void Fetched(void* context) {
    auto* self = static_cast<CompactionJob*>(context);
    LSMSCAN_ASSERT(self->fetch_count_ > 0);
    self->fetch_count_--;
    self->Step();
  }

  // Runs the job as far as it can without waiting.
  void Step() {
    LSMSCAN_ASSERT(running_);
    while (true) {
      if (status_.ok()) status_ = InputStatus();
      if (!status_.ok()) {
        if (fetch_count_ == 0 && writer_.idle()) Fail();
        return;
      }
      if (source_.needs_fetch()) StartFetch(&source_);
      if (target_.needs_fetch()) StartFetch(&target_);
      if (fetch_count_ > 0) return;
      if (source_.finished() && target_.finished()) {
        if (!writer_.Finish()) return;
        if (!writer_.status().ok()) {
          status_ = writer_.status();
          continue;
        }
        Complete();
        return;
      }
      if (!writer_.ready()) {
        if (!writer_.status().ok()) {
          status_ = writer_.status();
          continue;
        }
        return;
      }
      if (budget_bytes_ < sizeof(Value)) {
        waiting_for_budget_ = true;  // Grant() resumes the job.
        return;
      }
      waiting_for_budget_ = false;
      Merge();
    }
  }

  absl::Status InputStatus() const {
    if (!source_.status().ok()) return source_.status();
    return target_.status();
  }

  void StartFetch(TableValueStream<S>* stream) {
    fetch_count_++;
    stream->Fetch(&CompactionJob::Fetched, this);
  }

  // Merges buffered values until a stream runs dry or the writer is full.
  void Merge() {
    const std::span<const Value> source = source_.values();
    const std::span<const Value> target = target_.values();
    const bool source_done = source_.finished();
    const bool target_done = target_.finished();
    size_t i = 0;
    size_t j = 0;
    while (writer_.ready() && budget_bytes_ >= sizeof(Value)) {
      const bool has_source = i < source.size();
      const bool has_target = j < target.size();
      if ((!has_source && !source_done) || (!has_target && !target_done)) break;
      if (!has_source && !has_target) break;
      const Value* value;
      if (has_source &&
          (!has_target || !(S::key_of(target[j]) < S::key_of(source[i])))) {
        // The source is newer: an equal target key is shadowed.
        if (has_target && !(S::key_of(source[i]) < S::key_of(target[j]))) {
          j++;
          Spend();
        }
        value = &source[i++];
      } else {
        value = &target[j++];
      }
      Spend();
      if (drop_tombstones_ && S::is_tombstone(*value)) continue;
      writer_.Add(*value);
      values_written_++;
    }
    source_.Consume(i);
    target_.Consume(j);
  }

  // One input value merged.
  void Spend() {
    values_read_++;
    budget_bytes_ -= std::min<uint64_t>(budget_bytes_, sizeof(Value));
  }

  void Complete() {
    source_.ReleaseBlocks();
    target_.ReleaseBlocks();
    running_ = false;
    done_(done_context_, absl::OkStatus());
  }

  void Fail() {
    source_.ReleaseBlocks();
    target_.ReleaseBlocks();
    writer_.Abandon();
    running_ = false;
    done_(done_context_, status_);
  }

  Grid* grid_ = nullptr;
  AlignedBuffer input_frames_;
  TableValueStream<S> source_;
  TableValueStream<S> target_;
  TableWriter<S> writer_;
  Storage::NextTick next_tick_;
  bool running_ = false;
  bool next_tick_pending_ = false;
  bool waiting_for_budget_ = false;
  uint64_t budget_bytes_ = 0;
  uint64_t values_read_ = 0;
  bool drop_tombstones_ = false;
  uint32_t fetch_count_ = 0;
  uint64_t values_written_ = 0;
  absl::Status status_;
  Callback done_ = nullptr;
  void* done_context_ = nullptr;
};

}  // namespace lsmscan

#endif  // LSMSCAN_LSM_COMPACTION_H_
