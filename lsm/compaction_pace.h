// File: lsm/compaction_pace.h
// -----------------------------------------------------------------------------
//
// How much background compaction work a tree does per tick: the pacing of
// doc/design.md "Writes, compaction and back-pressure", after TigerBeetle's
// beats (each write accrues a debt of compaction work; bounded steps pay it).
//
// Work is counted in bytes: input values merged by a compaction job
// (sizeof(Value) each) and bytes moved by the memory-table sorter.
//
//   * Each value written accrues `sizeof(Value) * pace()` bytes of debt.
//   * pace() = (2 + work done so far / bytes written so far) << pressure,
//     where pressure is the number of sealed memory tables waiting to be
//     flushed beyond the first: the measured write amplification with a
//     margin, doubled for each table the work has fallen behind by. So the
//     work keeps up with a sustained write rate, and catches up when it
//     falls behind, before the memory tables run out.
//   * Each tick takes one step: the debt, at most `step_bytes_max` (the bound
//     on the work of one tick). A tick with no write since the previous
//     step (an idle loop, or writers waiting on back-pressure) takes a full
//     step: idle ticks catch up.
//   * When no background work is left, the debt is forgiven (it pays for
//     work that exists, not for work to come).
//
// Pure arithmetic: no I/O, no allocation; the tree (tree_compaction.h) asks
// it for each step's budget.

#ifndef LSMSCAN_LSM_COMPACTION_PACE_H_
#define LSMSCAN_LSM_COMPACTION_PACE_H_

#include <algorithm>
#include <cstdint>

#include "lsmscan/storage/base/assert.h"

namespace lsmscan {

// CompactionPace
class CompactionPace {
 public:
  // `value_size_bytes`: sizeof(Value); `step_bytes_max`: the most work one
  // step may be granted (TreeOptions::compaction_step_bytes_max).
  CompactionPace(uint64_t value_size_bytes, uint64_t step_bytes_max)
      : value_size_bytes_(value_size_bytes), step_bytes_max_(step_bytes_max) {
    LSMSCAN_ASSERT(value_size_bytes > 0);
    LSMSCAN_ASSERT(step_bytes_max >= value_size_bytes);
  }

  // CompactionPace::NoteWrite()
  //
  // One value written: accrues its debt at the current pace.
  void NoteWrite() {
    written_bytes_ += value_size_bytes_;
    writes_since_step_++;
    const uint64_t debt = value_size_bytes_ * pace_;
    debt_bytes_ =
        debt > UINT64_MAX - debt_bytes_ ? UINT64_MAX : debt_bytes_ + debt;
  }

  // CompactionPace::NoteWork()
  //
  // `bytes` of work done (merged or sorted): measures the amplification.
  void NoteWork(uint64_t bytes) { work_bytes_ += bytes; }

  // CompactionPace::Reprice()
  //
  // Recomputes pace() for `unflushed_tables` sealed memory tables waiting
  // to be flushed (see the file comment).
  void Reprice(uint32_t unflushed_tables) {
    const uint64_t amplification =
        2 + work_bytes_ / std::max<uint64_t>(written_bytes_, 1);
    const uint32_t pressure = std::min<uint32_t>(
        unflushed_tables > 0 ? unflushed_tables - 1 : 0, kPressureShiftMax);
    pace_ = std::min<uint64_t>(amplification, kAmplificationMax) << pressure;
  }

  // CompactionPace::TakeStep()
  //
  // The budget of this tick's step, in bytes: the debt (at most
  // step_bytes_max), or a full step if nothing was written since the last
  // step or `overloaded` (writes are refused); never more than
  // `room_bytes` (what the job in flight may still hold). Pays the debt by
  // the budget.
  uint64_t TakeStep(bool overloaded, uint64_t room_bytes) {
    uint64_t budget = std::min(step_bytes_max_, room_bytes);
    if (writes_since_step_ > 0 && !overloaded) {
      budget = std::min(debt_bytes_, budget);
    }
    writes_since_step_ = 0;
    debt_bytes_ -= std::min(debt_bytes_, budget);
    return budget;
  }

  // CompactionPace::Forgive()
  //
  // No background work is left: drops the debt.
  void Forgive() { debt_bytes_ = 0; }

  // Bytes of work owed per byte written now.
  uint64_t pace() const { return pace_; }
  uint64_t debt_bytes() const { return debt_bytes_; }
  uint64_t step_bytes_max() const { return step_bytes_max_; }

 private:
  // Bounds that keep the arithmetic far from overflow.
  static constexpr uint64_t kAmplificationMax = 1u << 16;
  static constexpr uint32_t kPressureShiftMax = 8;

  uint64_t value_size_bytes_;
  uint64_t step_bytes_max_;
  uint64_t pace_ = 2;
  uint64_t debt_bytes_ = 0;
  uint64_t written_bytes_ = 0;
  uint64_t work_bytes_ = 0;
  uint64_t writes_since_step_ = 0;
};

}  // namespace lsmscan

#endif  // LSMSCAN_LSM_COMPACTION_PACE_H_
