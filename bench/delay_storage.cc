#include "lsmscan/bench/delay_storage.h"

#include <algorithm>
#include <thread>
#include <utility>

#include "lsmscan/storage/base/assert.h"

namespace lsmscan {
namespace bench {

DelayStorage::DelayStorage(Storage* inner,
                           const std::vector<BlockAddress>& slow_blocks,
                           Clock::duration delay)
    : Storage(inner->options(), inner->block_count()),
      inner_(inner),
      slow_blocks_(slow_blocks.begin(), slow_blocks.end()),
      delay_(delay),
      slots_(kRequestCountMax) {
  free_.reserve(slots_.size());
  held_.reserve(slots_.size());
  for (Slot& slot : slots_) {
    slot.owner = this;
    slot.inner_read.context = &slot;
    slot.inner_read.callback = &DelayStorage::InnerReadCallback;
    slot.inner_write.context = &slot;
    slot.inner_write.callback = &DelayStorage::InnerWriteCallback;
    free_.push_back(&slot);
  }
}

DelayStorage::~DelayStorage() { (void)Close(); }

DelayStorage::Slot* DelayStorage::AcquireSlot() {
  LSMSCAN_ASSERT_MSG(!free_.empty(), "DelayStorage: too many requests");
  Slot* slot = free_.back();
  free_.pop_back();
  return slot;
}

void DelayStorage::StartRead(Read* read) {
  Slot* slot = AcquireSlot();
  slot->outer_read = read;
  slot->outer_write = nullptr;
  slot->due = Clock::now() + delay_;
  slot->inner_read.address = read->address;
  slot->inner_read.buffer = read->buffer;
  inner_->SubmitRead(&slot->inner_read);
}

void DelayStorage::StartWrite(Write* write) {
  Slot* slot = AcquireSlot();
  slot->outer_read = nullptr;
  slot->outer_write = write;
  slot->inner_write.address = write->address;
  slot->inner_write.data = write->data;
  inner_->SubmitWrite(&slot->inner_write);
}

void DelayStorage::InnerReadCallback(Storage::Read* inner_read) {
  Slot* slot = static_cast<Slot*>(inner_read->context);
  DelayStorage* self = slot->owner;
  if (inner_read->status.ok() &&
      self->slow_blocks_.contains(inner_read->address)) {
    self->held_.push_back(slot);
    return;
  }
  Read* read = slot->outer_read;
  self->free_.push_back(slot);
  self->completed_in_poll_++;
  self->CompleteRead(read, inner_read->status, inner_read->data);
}

void DelayStorage::InnerWriteCallback(Storage::Write* inner_write) {
  Slot* slot = static_cast<Slot*>(inner_write->context);
  DelayStorage* self = slot->owner;
  Write* write = slot->outer_write;
  self->free_.push_back(slot);
  self->completed_in_poll_++;
  if (inner_write->status.ok()) self->NoteWritten(write->address);
  self->CompleteWrite(write, inner_write->status);
}

uint32_t DelayStorage::ReleaseDue() {
  const Clock::time_point now = Clock::now();
  std::vector<Slot*> due;
  for (size_t i = 0; i < held_.size();) {
    if (held_[i]->due <= now) {
      due.push_back(held_[i]);
      held_[i] = held_.back();
      held_.pop_back();
    } else {
      i++;
    }
  }
  for (Slot* slot : due) {
    Read* read = slot->outer_read;
    free_.push_back(slot);
    slow_read_count_++;
    CompleteRead(read, slot->inner_read.status, slot->inner_read.data);
  }
  return static_cast<uint32_t>(due.size());
}

void DelayStorage::PollBackend(TickMode mode) {
  completed_in_poll_ = 0;
  while (true) {
    // With slow reads held, never block in the inner storage: they come
    // due by the clock alone.
    inner_->Tick(held_.empty() ? mode : TickMode::kPoll);
    completed_in_poll_ += ReleaseDue();
    if (mode == TickMode::kPoll || completed_in_poll_ > 0 || held_.empty()) {
      return;
    }
    if (inner_->pending_count() == 0) {
      Clock::time_point first = held_.front()->due;
      for (const Slot* slot : held_) first = std::min(first, slot->due);
      std::this_thread::sleep_until(first);
    }
  }
}

absl::Status DelayStorage::CloseBackend() {
  while (!held_.empty() || inner_->pending_count() > 0) {
    PollBackend(TickMode::kWaitForProgress);
  }
  return absl::OkStatus();
}

}  // namespace bench
}  // namespace lsmscan
