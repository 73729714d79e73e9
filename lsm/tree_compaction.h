// File: lsm/tree_compaction.h
// -----------------------------------------------------------------------------
//
// Tree<S>'s compaction work: background compaction, Compact(), CompactAll()
// and Checkpoint(), the schedule that runs them, the commit of each job to
// the manifest, and the freeing of what no snapshot can see any more. Part of
// the Tree facade: include lsmscan/lsm/tree.h (which includes this file
// after the class; including this file alone works too).
//
// One piece of work at a time. Sealed memory tables are sorted first (their
// unsorted suffixes, MemoryTables::SortStep()), a bounded slice per tick.
// Each tick the tree asks the planner for the
// next job (compaction_planner.h) and starts it (compaction.h); when the job
// is done, Commit() swaps its inputs for its outputs in the manifest at a new
// op, so snapshots older than that op keep seeing the inputs, newer ones the
// outputs. When the planner has nothing left, a compaction completes; a
// checkpoint writes the manifest and the superblock (tree_checkpoint.h).
// Checkpoint() and CompactAll() seal the mutable table once, when the work
// starts: writes made meanwhile are not part of it.
//
// Background work (TreeOptions::background_compaction). Sealing a memory
// table starts it (from the next Tick(), never inside Put()); it then runs
// one step per Tick() while the planner has a job: a slice of sorting, or a
// grant of merge budget to the job in flight, each of at most the bytes
// CompactionPace::TakeStep() allows (compaction_pace.h). It stops when the
// planner has nothing left. Compact(), CompactAll() and Checkpoint() take it
// over where it is: the job in flight is granted an unlimited budget and
// becomes their first job; when they finish, background work resumes if
// any is left. A background job that fails leaves the tree unchanged and
// stops background work (background_status()) until one of them retries.
//
// Retired tables (and flushed memory tables) are freed by CollectGarbage()
// once no live snapshot lies in their lifetime: after every commit, every
// released snapshot, every released read view.

#ifndef LSMSCAN_LSM_TREE_COMPACTION_H_
#define LSMSCAN_LSM_TREE_COMPACTION_H_

#include <algorithm>
#include <array>
#include <cstdint>
#include <span>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "lsmscan/lsm/compaction_planner.h"
#include "lsmscan/lsm/manifest.h"
#include "lsmscan/lsm/schema.h"
#include "lsmscan/lsm/table_info.h"
#include "lsmscan/lsm/tree.h"
#include "lsmscan/storage/base/assert.h"
#include "lsmscan/storage/storage.h"

namespace lsmscan {

template <Schema S>
absl::Status Tree<S>::Compact(Callback callback, void* context) {
  return StartWork(Work::kCompact, callback, context);
}

template <Schema S>
absl::Status Tree<S>::CompactAll(Callback callback, void* context) {
  return StartWork(Work::kCompactAll, callback, context);
}

template <Schema S>
absl::Status Tree<S>::Checkpoint(Callback callback, void* context) {
  if (checkpoint_writer_.sync_failed()) {
    return absl::FailedPreconditionError(
        "a checkpoint failed to write or sync its superblock copies: "
        "reopen the tree");
  }
  return StartWork(Work::kCheckpoint, callback, context);
}

template <Schema S>
absl::Status Tree<S>::StartWork(Work work, Callback callback, void* context) {
  LSMSCAN_ASSERT(callback != nullptr);
  if (busy()) {
    return absl::FailedPreconditionError(
        "a compaction or checkpoint is already running");
  }
  work_ = work;
  work_callback_ = callback;
  work_context_ = context;
  background_status_ = absl::OkStatus();
  // Checkpoint and CompactAll seal once; reset only when work starts, so a
  // refused call leaves the running work alone.
  work_sealed_ = false;
  if (job_.running()) {
    // A background job joins: it runs unpaced, and its JobDone() goes on.
    job_.Grant(kCompactionBudgetUnlimited);
  } else {
    ScheduleWork();
  }
  return absl::OkStatus();
}

template <Schema S>
void Tree<S>::ScheduleWork() {
  if (work_tick_pending_) return;
  work_tick_pending_ = true;
  storage_->SubmitNextTick(&work_tick_);
}

template <Schema S>
void Tree<S>::WorkTick(Storage::NextTick* next_tick) {
  auto* tree = static_cast<Tree*>(next_tick->context);
  tree->work_tick_pending_ = false;
  if (tree->work_ == Work::kNone) return;
  if (tree->work_ == Work::kBackground) {
    tree->RunBackgroundStep();
  } else if (!tree->job_.running()) {  // Else JobDone() schedules the next.
    tree->RunWork();
  }
}

template <Schema S>
void Tree<S>::RunWork() {
  LSMSCAN_ASSERT(busy());
  LSMSCAN_ASSERT(!job_.running());
  if ((work_ == Work::kCheckpoint || work_ == Work::kCompactAll) &&
      !work_sealed_) {
    // Sealed once: writes that arrive meanwhile are not part of the work.
    Seal();
    work_sealed_ = true;
  }
  if (memory_tables_.sort_pending()) {
    // Sealed tables are sorted before they are flushed, a bounded slice per
    // tick (kMemorySortStepBytes), so no tick stalls the loop for a sort.
    pace_.NoteWork(memory_tables_.SortStep(kMemorySortStepBytes));
    ScheduleWork();
    return;
  }
  plan_ = planner_.Next(op_, work_ == Work::kCompactAll);
  if (!plan_.valid) {
    if (work_ == Work::kCheckpoint) {
      checkpoint_writer_.Write(manifest_, &Tree::CheckpointDone, this);
    } else {
      FinishWork(absl::OkStatus());
    }
    return;
  }
  if (plan_.move) {
    CommitMove();
    ScheduleWork();
    return;
  }
  StartJob(kCompactionBudgetUnlimited);
}

template <Schema S>
void Tree<S>::StartJob(uint64_t budget_bytes) {
  if (plan_.memory_source != nullptr) {
    // The table's runs, newest first (the newest wins on equal keys).
    const TableMemory<S>& memory = *plan_.memory_source;
    std::array<std::span<const Value>, kMemoryTableRunCountMax> runs;
    for (uint32_t i = 0; i < memory.run_count(); i++) {
      runs[i] = memory.run(memory.run_count() - 1 - i);
    }
    job_.StartMemory(std::span(runs.data(), memory.run_count()), plan_.targets,
                     plan_.output_level, plan_.drop_tombstones, op_,
                     &Tree::JobDone, this);
  } else {
    job_.StartTables(plan_.sources, plan_.targets, plan_.output_level,
                     plan_.drop_tombstones, op_, &Tree::JobDone, this);
  }
  job_.Grant(budget_bytes);
}

template <Schema S>
void Tree<S>::CommitMove() {
  // The table keeps its blocks; only its level changes.
  TableInfo<Key> moved = plan_.sources[0];
  const ManifestTable<Key>* original =
      manifest_.Find(moved.level, moved.index_address);
  LSMSCAN_ASSERT(original != nullptr);
  ManifestTable<Key> output;
  output.info = moved;
  output.info.level = plan_.output_level;
  output.data_addresses = original->data_addresses;
  output.data_keys_min = original->data_keys_min;
  output.data_keys_max = original->data_keys_max;
  output.data_checksums = original->data_checksums;
  std::vector<ManifestTable<Key>> outputs;
  outputs.push_back(std::move(output));
  Commit(std::move(outputs));
  stats_.moves++;
}

template <Schema S>
void Tree<S>::JobDone(void* context, absl::Status status) {
  auto* tree = static_cast<Tree*>(context);
  tree->NoteJobWork();
  if (!status.ok()) {
    if (tree->work_ == Work::kBackground) {
      tree->FinishBackground(std::move(status));
    } else {
      tree->FinishWork(std::move(status));
    }
    return;
  }
  tree->stats_.values_compacted += tree->job_.values_written();
  if (tree->plan_.memory_source != nullptr) {
    tree->stats_.flushes++;
    tree->stats_.flush_targets_max = std::max<uint64_t>(
        tree->stats_.flush_targets_max, tree->plan_.targets.size());
  } else {
    tree->stats_.compactions++;
  }
  tree->Commit(std::move(tree->job_.tables()));
  tree->job_.tables().clear();
  tree->ScheduleWork();
}

template <Schema S>
void Tree<S>::CheckpointDone(void* context, absl::Status status) {
  static_cast<Tree*>(context)->FinishWork(std::move(status));
}

template <Schema S>
void Tree<S>::Commit(std::vector<ManifestTable<Key>> outputs) {
  // Snapshots up to op - 1 keep seeing the inputs; from op on, the outputs.
  const Snapshot op = ++op_;
  for (const TableInfo<Key>& source : plan_.sources) {
    manifest_.Retire(source.level, source.index_address, op - 1);
  }
  for (const TableInfo<Key>& target : plan_.targets) {
    manifest_.Retire(target.level, target.index_address, op - 1);
  }
  if (plan_.memory_source != nullptr) plan_.memory_source->Retire(op - 1);
  for (ManifestTable<Key>& output : outputs) {
    // The last level holds no tombstone (compaction_planner.h).
    if (output.info.level + 1u == options_.level_count) {
      LSMSCAN_ASSERT(output.info.tombstone_count == 0);
    }
    output.info.snapshot_min = op;
    output.info.snapshot_max = kSnapshotForever;
    manifest_.Insert(std::move(output));
  }
  plan_ = CompactionPlan<S>();
  LSMSCAN_EXPENSIVE_ASSERT((manifest_.CheckInvariants(), true));
  CollectGarbage();
}

template <Schema S>
void Tree<S>::FinishWork(absl::Status status) {
  LSMSCAN_ASSERT(work_ != Work::kNone);
  if (work_ == Work::kCheckpoint && status.ok()) stats_.checkpoints++;
  plan_ = CompactionPlan<S>();
  work_ = Work::kNone;
  Callback callback = work_callback_;
  work_callback_ = nullptr;
  if (status.ok()) StartBackground();  // What writes meanwhile left to do.
  callback(work_context_, std::move(status));
}

// --- Background work ---------------------------------------------------------

template <Schema S>
Tree<S>::~Tree() {
  LSMSCAN_ASSERT_MSG(work_ == Work::kNone || work_ == Work::kBackground,
                     "tree destroyed while compacting or checkpointing");
  LSMSCAN_ASSERT_MSG(snapshots_.reader_count() == 0,
                     "tree destroyed with open readers");
  LSMSCAN_ASSERT_MSG(writable_callback_ == nullptr,
                     "tree destroyed with a NotifyWhenWritable() waiter");
  // Background work in flight owns storage requests: let it end (the job
  // in flight runs unpaced; no new one starts).
  closing_ = true;
  auto in_flight = [this] {
    return work_tick_pending_ || job_.running() || job_.tick_pending() ||
           writable_tick_pending_;
  };
  if (in_flight()) {
    LSMSCAN_ASSERT_MSG(!storage_->in_tick(),
                       "tree destroyed inside a storage callback while its "
                       "background compaction is in flight");
    while (in_flight()) storage_->Tick(Storage::TickMode::kWaitForProgress);
  }
}

template <Schema S>
absl::Status Tree<S>::WritesRefused() const {
  return absl::ResourceExhaustedError(absl::StrCat(
      "the memory tables are full: writes outpace compaction (tick the "
      "storage; wait with NotifyWhenWritable()), or an open scan or get "
      "holds the memory tables (Compact() frees a table once none does)",
      background_status_.ok()
          ? ""
          : absl::StrCat("; background compaction stopped: ",
                         background_status_.ToString())));
}

template <Schema S>
void Tree<S>::StartBackground() {
  if (!options_.background_compaction || closing_ || work_ != Work::kNone ||
      !background_status_.ok()) {
    return;
  }
  if (memory_tables_.OldestUnflushed() == nullptr &&
      !planner_.Next(op_, /*all=*/false).valid) {
    return;
  }
  work_ = Work::kBackground;
  ScheduleWork();
}

template <Schema S>
void Tree<S>::RunBackgroundStep() {
  LSMSCAN_ASSERT(work_ == Work::kBackground);
  if (closing_) {
    // The destructor waits: finish the job in flight unpaced, start none.
    if (job_.running()) {
      job_.Grant(kCompactionBudgetUnlimited);
    } else {
      FinishBackground(absl::OkStatus());
    }
    return;
  }
  pace_.Reprice(memory_tables_.unflushed_count());
  const uint64_t held = job_.running() ? job_.budget_bytes() : 0;
  const uint64_t room =
      held < pace_.step_bytes_max() ? pace_.step_bytes_max() - held : 0;
  const uint64_t budget = pace_.TakeStep(!memory_tables_.writable(), room);
  ScheduleWork();  // One step per Tick() until no work is left.
  if (job_.running()) {
    if (budget > 0) job_.Grant(budget);
    return;
  }
  if (memory_tables_.sort_pending()) {
    pace_.NoteWork(memory_tables_.SortStep(budget));
    return;
  }
  plan_ = planner_.Next(op_, /*all=*/false);
  if (!plan_.valid) {
    FinishBackground(absl::OkStatus());
    return;
  }
  if (plan_.move) {
    CommitMove();
    return;
  }
  StartJob(budget);
}

template <Schema S>
void Tree<S>::FinishBackground(absl::Status status) {
  LSMSCAN_ASSERT(work_ == Work::kBackground);
  plan_ = CompactionPlan<S>();
  work_ = Work::kNone;
  pace_.Forgive();
  background_status_ = std::move(status);
  NotifyIfWritable();  // A waiter learns of an error at once.
}

template <Schema S>
void Tree<S>::NoteJobWork() {
  pace_.NoteWork(job_.values_read() * sizeof(Value));
}

template <Schema S>
absl::Status Tree<S>::NotifyWhenWritable(Callback callback, void* context) {
  LSMSCAN_ASSERT(callback != nullptr);
  if (writable_callback_ != nullptr) {
    return absl::FailedPreconditionError(
        "a NotifyWhenWritable() waiter is already registered");
  }
  writable_callback_ = callback;
  writable_context_ = context;
  NotifyIfWritable();
  return absl::OkStatus();
}

template <Schema S>
void Tree<S>::NotifyIfWritable() {
  if (writable_callback_ == nullptr || writable_tick_pending_) return;
  if (!memory_tables_.writable() && background_status_.ok()) return;
  writable_tick_pending_ = true;
  storage_->SubmitNextTick(&writable_tick_);
}

template <Schema S>
void Tree<S>::WritableTick(Storage::NextTick* next_tick) {
  auto* tree = static_cast<Tree*>(next_tick->context);
  tree->writable_tick_pending_ = false;
  if (tree->writable_callback_ == nullptr) return;  // Cancelled.
  absl::Status status = tree->background_status_;
  // Writes made since the tick was submitted may have filled the tables
  // again: keep waiting (the next table freed submits the tick again).
  if (status.ok() && !tree->memory_tables_.writable()) return;
  Callback callback = tree->writable_callback_;
  tree->writable_callback_ = nullptr;
  callback(tree->writable_context_, std::move(status));
}

// --- Freeing what no snapshot sees -------------------------------------------

template <Schema S>
void Tree<S>::CollectGarbage() {
  // Most calls (every scan's end) find nothing retired: return at once.
  if (manifest_.retired_table_count() == 0 &&
      memory_tables_.retired_count() == 0) {
    return;
  }
  CollectTables();
  NotifyIfWritable();  // A memory table freed: a waiter can write.
}

template <Schema S>
void Tree<S>::CollectTables() {
  // A memory table is kept for its users' snapshots only: a reader keeps
  // the tables it reads by its pins (reader_count), and a reader that let
  // go of them (an aborted scan waiting for a read in flight) reads no
  // memory table again, so its snapshot must not keep one in the pool.
  memory_tables_.Collect([this](Snapshot min, Snapshot max) {
    return snapshots_.AnyUserIn(min, max);
  });
  // Without a list of the dead (this runs at the end of every scan, which
  // allocates nothing): removing a table shifts the next one into place.
  for (uint32_t level = 0; level < options_.level_count; level++) {
    const std::vector<ManifestTable<Key>>& tables = manifest_.tables(level);
    for (size_t i = 0; i < tables.size();) {
      const TableInfo<Key> info = tables[i].info;
      if (info.snapshot_max == kSnapshotForever ||
          snapshots_.AnyLiveIn(info.snapshot_min, info.snapshot_max)) {
        i++;
        continue;
      }
      const bool shared = SharesBlocks(info);
      ManifestTable<Key> removed = manifest_.Remove(level, info.index_address);
      stats_.tables_freed++;
      if (shared) continue;
      grid_.ReleaseAddress(removed.info.index_address);
      for (BlockAddress address : removed.data_addresses) {
        grid_.ReleaseAddress(address);
      }
    }
  }
}

template <Schema S>
bool Tree<S>::SharesBlocks(const TableInfo<Key>& info) const {
  // A moved table has two entries (old level retired, new level live) that
  // share blocks; the blocks are freed with the last of them.
  for (uint32_t level = 0; level < options_.level_count; level++) {
    for (const ManifestTable<Key>& table : manifest_.tables(level)) {
      if (table.info.index_address == info.index_address &&
          !(level == info.level &&
            table.info.snapshot_min == info.snapshot_min)) {
        return true;
      }
    }
  }
  return false;
}

}  // namespace lsmscan

#endif  // LSMSCAN_LSM_TREE_COMPACTION_H_
