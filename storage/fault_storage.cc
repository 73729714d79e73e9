#include "lsmscan/storage/fault_storage.h"

#include <algorithm>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "lsmscan/storage/base/assert.h"

namespace lsmscan {

FaultStorage::FaultStorage(Storage* inner, const FaultOptions& options,
                           uint64_t seed)
    : Storage(inner->options(), inner->block_count()),
      inner_(inner),
      options_(options),
      prng_(seed),
      slots_(options.request_count_max) {
  LSMSCAN_ASSERT(options.request_count_max > 0);
  LSMSCAN_ASSERT(options.delay_ticks_max > 0);
  held_.reserve(slots_.size());
  for (Slot& slot : slots_) {
    slot.owner = this;
    slot.inner_read.context = &slot;
    slot.inner_read.callback = &FaultStorage::InnerReadCallback;
    slot.inner_write.context = &slot;
    slot.inner_write.callback = &FaultStorage::InnerWriteCallback;
    free_slots_.PushBack(&slot);
  }
}

FaultStorage::~FaultStorage() { (void)Close(); }

void FaultStorage::set_options(const FaultOptions& options) {
  LSMSCAN_ASSERT(options.request_count_max == options_.request_count_max);
  LSMSCAN_ASSERT(options.delay_ticks_max > 0);
  options_ = options;
}

absl::Status FaultStorage::SyncBackend() {
  if (crashed()) return absl::OkStatus();  // Nothing more reaches the disk.
  if (options_.crash_loses_unsynced_writes && options_.crash_on_sync &&
      applied_write_count_ >= options_.write_count_max) {
    Crash(nullptr);  // Before the sync takes effect.
    return absl::OkStatus();
  }
  if (sync_count_ >= options_.sync_count_max ||
      prng_.Chance(options_.sync_error_probability)) {
    fault_stats_.syncs_failed++;
    return absl::InternalError("injected sync error (fault storage)");
  }
  sync_count_++;
  absl::Status synced = inner_->Sync();
  if (synced.ok()) {
    // Completed writes are durable now; a block with a write still in
    // flight keeps only what it holds now.
    for (auto it = unsynced_.begin(); it != unsynced_.end();) {
      if (it->second.in_flight == 0) {
        it = unsynced_.erase(it);
      } else {
        it->second.synced = CurrentBytes(it->first);
        ++it;
      }
    }
  }
  return synced;
}

AlignedBuffer FaultStorage::CurrentBytes(BlockAddress address) const {
  AlignedBuffer bytes(block_size_bytes());
  const std::byte* view = inner_->ZeroCopyView(address);
  if (view != nullptr) std::memcpy(bytes.data(), view, block_size_bytes());
  return bytes;
}

void FaultStorage::NoteUnsyncedWrite(BlockAddress address) {
  LSMSCAN_ASSERT_MSG(inner_->zero_copy(),
                     "crash_loses_unsynced_writes needs a zero-copy inner "
                     "storage (memory)");
  auto [it, inserted] = unsynced_.try_emplace(address);
  if (inserted && address < inner_->block_count()) {
    it->second.synced = CurrentBytes(address);
  }
  it->second.in_flight++;
}

void FaultStorage::SubmitCrashWrite(BlockAddress address, AlignedBuffer data) {
  auto crash_write = std::make_unique<CrashWrite>();
  crash_write->data = std::move(data);
  crash_write->owner = this;
  crash_write->write.address = address;
  crash_write->write.data = crash_write->data.data();
  crash_write->write.context = crash_write.get();
  crash_write->write.callback = &FaultStorage::CrashWriteCallback;
  crash_writes_pending_++;
  inner_->SubmitWrite(&crash_write->write);
  crash_writes_.push_back(std::move(crash_write));
}

void FaultStorage::CrashWriteCallback(Storage::Write* inner_write) {
  auto* crash_write = static_cast<CrashWrite*>(inner_write->context);
  LSMSCAN_ASSERT(inner_write->status.ok());
  crash_write->owner->crash_writes_pending_--;
}

void FaultStorage::Crash(const Write* torn) {
  crash_resolved_ = true;
  const uint32_t block_size = block_size_bytes();
  AlignedBuffer torn_base;  // The torn block's old bytes, if it reverts.
  for (auto& [address, unsynced] : unsynced_) {
    if (!prng_.Chance(options_.unsynced_loss_probability)) {
      fault_stats_.unsynced_writes_kept++;
      continue;
    }
    fault_stats_.unsynced_writes_lost++;
    AlignedBuffer synced = unsynced.synced.size() == 0
                               ? AlignedBuffer(block_size)
                               : std::move(unsynced.synced);
    if (torn != nullptr && address == torn->address) {
      torn_base = std::move(synced);  // The torn write lands on these bytes.
    } else {
      SubmitCrashWrite(address, std::move(synced));
    }
  }
  unsynced_.clear();
  const uint32_t sector = options_.torn_sector_bytes;
  if (torn == nullptr || sector == 0) return;
  LSMSCAN_ASSERT(block_size % sector == 0);
  if (torn_base.size() == 0) torn_base = CurrentBytes(torn->address);
  for (uint32_t offset = 0; offset < block_size; offset += sector) {
    if (prng_.Chance(0.5)) {
      std::memcpy(torn_base.data() + offset, torn->data + offset, sector);
    }
  }
  fault_stats_.writes_torn++;
  SubmitCrashWrite(torn->address, std::move(torn_base));
}

FaultStorage::Slot* FaultStorage::AcquireSlot() {
  Slot* slot = free_slots_.PopFront();
  if (slot == nullptr) return nullptr;
  slot->status = absl::OkStatus();
  slot->data = nullptr;
  slot->outer_read = nullptr;
  slot->outer_write = nullptr;
  return slot;
}

void FaultStorage::StartRead(Read* read) {
  Slot* slot = AcquireSlot();
  if (slot == nullptr) {
    // More requests in flight than slots: fail this one, from the next tick.
    overflow_reads_.PushBack(read);
    return;
  }
  slot->outer_read = read;
  slot->inner_read.address = read->address;
  slot->inner_read.buffer = read->buffer;
  inner_->SubmitRead(&slot->inner_read);
}

void FaultStorage::StartWrite(Write* write) {
  Slot* slot = AcquireSlot();
  if (slot == nullptr) {
    overflow_writes_.PushBack(write);
    return;
  }
  slot->outer_write = write;
  if (crashed()) {
    fault_stats_.writes_dropped++;
    ready_.PushBack(slot);
    return;
  }
  if (options_.crash_loses_unsynced_writes &&
      applied_write_count_ >= options_.write_count_max) {
    Crash(write);  // This write is the one in flight at the crash.
    ready_.PushBack(slot);
    return;
  }
  if (prng_.Chance(options_.write_error_probability)) {
    fault_stats_.writes_failed++;
    slot->status = absl::InternalError(absl::StrCat(
        "injected write error on block ", write->address, " (fault storage)"));
    ready_.PushBack(slot);
    return;
  }
  applied_write_count_++;
  if (options_.crash_loses_unsynced_writes) NoteUnsyncedWrite(write->address);
  slot->inner_write.address = write->address;
  slot->inner_write.data = write->data;
  inner_->SubmitWrite(&slot->inner_write);
}

void FaultStorage::InnerReadCallback(Storage::Read* inner_read) {
  Slot* slot = static_cast<Slot*>(inner_read->context);
  FaultStorage* self = slot->owner;
  slot->status = inner_read->status;
  slot->data = nullptr;
  if (slot->status.ok()) {
    self->CopyOut(slot, inner_read->data);
    const std::vector<BlockAddress>& unreadable =
        self->options_.unreadable_blocks;
    if (std::find(unreadable.begin(), unreadable.end(), inner_read->address) !=
        unreadable.end()) {
      self->fault_stats_.reads_failed++;
      slot->status = absl::InternalError(absl::StrCat(
          "block ", inner_read->address, " is unreadable (fault storage)"));
      slot->data = nullptr;
    } else if (self->prng_.Chance(self->options_.read_error_probability)) {
      self->fault_stats_.reads_failed++;
      slot->status = absl::InternalError(
          absl::StrCat("injected read error on block ", inner_read->address,
                       " (fault storage)"));
      slot->data = nullptr;
    } else if (self->prng_.Chance(self->options_.read_corruption_probability)) {
      self->fault_stats_.reads_corrupted++;
      const uint32_t span = self->options_.read_corruption_span_bytes;
      const uint64_t bytes = span == 0 || span > self->block_size_bytes()
                                 ? self->block_size_bytes()
                                 : span;
      const uint64_t bit = self->prng_.Uniform(bytes * 8);
      slot->outer_read->buffer[bit / 8] ^=
          static_cast<std::byte>(1u << (bit % 8));
    }
  }
  self->Finish(slot);
}

void FaultStorage::InnerWriteCallback(Storage::Write* inner_write) {
  Slot* slot = static_cast<Slot*>(inner_write->context);
  slot->status = inner_write->status;
  auto unsynced = slot->owner->unsynced_.find(inner_write->address);
  if (unsynced != slot->owner->unsynced_.end()) {
    LSMSCAN_ASSERT(unsynced->second.in_flight > 0);
    unsynced->second.in_flight--;
  }
  slot->owner->Finish(slot);
}

void FaultStorage::CopyOut(Slot* slot, const std::byte* source) {
  std::byte* target = slot->outer_read->buffer;
  LSMSCAN_ASSERT(target != nullptr);  // A copying storage: validated.
  if (target != source) std::memcpy(target, source, block_size_bytes());
  slot->data = target;
}

void FaultStorage::Finish(Slot* slot) {
  const std::vector<BlockAddress>& slow = options_.slow_blocks;
  if (slot->outer_read != nullptr && options_.slow_block_ticks > 0 &&
      std::find(slow.begin(), slow.end(), slot->outer_read->address) !=
          slow.end()) {
    slot->slow = true;
    slot->release_tick = tick_ + options_.slow_block_ticks;
    held_.push_back(slot);
    return;
  }
  if (prng_.Chance(options_.delay_probability)) {
    fault_stats_.completions_delayed++;
    slot->release_tick = tick_ + prng_.Range(1, options_.delay_ticks_max);
    held_.push_back(slot);  // Capacity reserved: never reallocates.
    return;
  }
  Complete(slot);
}

void FaultStorage::Complete(Slot* slot) {
  Storage::Read* read = slot->outer_read;
  Storage::Write* write = slot->outer_write;
  absl::Status status = std::move(slot->status);
  const std::byte* data = slot->data;
  if (slot->slow) fault_stats_.slow_reads_completed++;
  slot->slow = false;
  free_slots_.PushBack(slot);
  if (read != nullptr) {
    CompleteRead(read, std::move(status), data);
    return;
  }
  LSMSCAN_ASSERT(write != nullptr);
  if (status.ok()) NoteWritten(write->address);
  CompleteWrite(write, std::move(status));
}

void FaultStorage::ReleaseHeld(bool release_all) {
  // Walk the held completions in random order (Fisher-Yates), moving the due
  // ones to a queue and compacting the rest in place. Callbacks of released
  // requests may hold new completions, so they run after the walk.
  IntrusiveQueue<Slot> due;
  size_t kept = 0;
  for (size_t i = 0; i < held_.size(); i++) {
    const size_t j = i + prng_.Uniform(held_.size() - i);
    std::swap(held_[i], held_[j]);
    Slot* slot = held_[i];
    // A slow read is never released early (ticks go on while it is held).
    if ((release_all && !slot->slow) || slot->release_tick <= tick_) {
      due.PushBack(slot);
    } else {
      held_[kept++] = slot;
    }
  }
  held_.resize(kept);
  while (Slot* slot = due.PopFront()) Complete(slot);
}

void FaultStorage::PollBackend(TickMode mode) {
  tick_++;
  const bool have_local = !ready_.empty() || !held_.empty() ||
                          !overflow_reads_.empty() || !overflow_writes_.empty();
  inner_->Tick(have_local ? TickMode::kPoll : mode);
  IntrusiveQueue<Slot> ready = std::move(ready_);
  while (Slot* slot = ready.PopFront()) Complete(slot);
  if (!overflow_reads_.empty() || !overflow_writes_.empty()) {
    // Built only when needed: a Status with a message allocates, and a poll
    // must not (scan_allocation_test).
    const absl::Status overflow = absl::ResourceExhaustedError(
        "fault storage: request_count_max requests in flight");
    IntrusiveQueue<Read> overflow_reads = std::move(overflow_reads_);
    while (Read* read = overflow_reads.PopFront()) {
      CompleteRead(read, overflow, nullptr);
    }
    IntrusiveQueue<Write> overflow_writes = std::move(overflow_writes_);
    while (Write* write = overflow_writes.PopFront()) {
      CompleteWrite(write, overflow);
    }
  }
  // When the caller waits and nothing else can make progress, release all.
  const bool starved =
      mode == TickMode::kWaitForProgress && inner_->pending_count() == 0;
  ReleaseHeld(starved);
}

absl::Status FaultStorage::CloseBackend() {
  LSMSCAN_ASSERT(held_.empty());
  // What a crash did to the device reaches it before the wrapper goes.
  while (crash_writes_pending_ > 0) {
    inner_->Tick(TickMode::kWaitForProgress);
  }
  return absl::OkStatus();
}

}  // namespace lsmscan
