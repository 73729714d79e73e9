// File: scan/scan_group.h
// -----------------------------------------------------------------------------
//
// Many scans in flight on one storage loop: the asynchronous way to use
// ScanTree. A ScanGroup reads every scan at once; as each Read() completes
// (from the storage's Tick()), it hands that scan's values to a visitor
// until the scan answers ReadAgain (it reads again) or End. Scans never
// wait for each other: while one waits for a block, the others run.
//
// Example:
//
//   ScanGroup<Record32Schema> group;
//   for (auto& scan : scans) group.Add(&scan);   // Init()ed scans.
//   CHECK_OK(group.Run(storage, &Visit, &state));
//
// The group owns nothing; every scan must stay alive until Run() returns.

#ifndef LSMSCAN_SCAN_SCAN_GROUP_H_
#define LSMSCAN_SCAN_SCAN_GROUP_H_

#include <cstdint>
#include <vector>

#include "absl/status/status.h"
#include "lsmscan/lsm/schema.h"
#include "lsmscan/scan/scan_tree.h"
#include "lsmscan/storage/base/assert.h"
#include "lsmscan/storage/storage.h"

namespace lsmscan {

// ScanGroup<S>
template <Schema S>
class ScanGroup {
 public:
  using Value = typename S::Value;
  // Receives each value of scan `index` (the order of Add()), in that
  // scan's order. Values of different scans interleave.
  using Visitor = void (*)(void* context, uint32_t index, const Value& value);

  // ScanGroup::Add()
  //
  // Adds an Init()ed scan (state kIdle). Returns its index.
  uint32_t Add(ScanTree<S>* scan) {
    LSMSCAN_ASSERT(scan->state() == ScanState::kIdle);
    members_.push_back(
        Member{scan, this, static_cast<uint32_t>(members_.size())});
    return members_.back().index;
  }

  // ScanGroup::Run()
  //
  // Runs every scan to its end on `storage`'s loop. Returns OK, or the
  // first read error (the other scans still run to their end).
  absl::Status Run(Storage* storage, Visitor visitor, void* context) {
    visitor_ = visitor;
    context_ = context;
    running_ = 0;
    status_ = absl::OkStatus();
    for (Member& member : members_) StartRead(&member);
    while (running_ > 0) storage->Tick(Storage::TickMode::kWaitForProgress);
    return status_;
  }

  // The most scans that had a Read() in flight at the same time.
  uint32_t concurrent_reads_max() const { return concurrent_reads_max_; }

 private:
  struct Member {
    ScanTree<S>* scan;
    ScanGroup* group;
    uint32_t index;
  };

  void StartRead(Member* member) {
    running_++;
    reading_++;
    if (reading_ > concurrent_reads_max_) concurrent_reads_max_ = reading_;
    member->scan->Read(&ScanGroup::ReadCallback, member);
  }

  static void ReadCallback(void* context, ScanTree<S>* scan,
                           absl::Status status) {
    auto* member = static_cast<Member*>(context);
    ScanGroup* group = member->group;
    group->reading_--;
    group->running_--;
    if (!status.ok()) {
      if (group->status_.ok()) group->status_ = status;
      return;
    }
    while (true) {
      const ScanNext<Value> next = scan->Next();
      if (next.kind == ScanNextKind::kEnd) return;
      if (next.kind == ScanNextKind::kReadAgain) {
        group->StartRead(member);
        return;
      }
      group->visitor_(group->context_, member->index, *next.value);
    }
  }

  std::vector<Member> members_;
  Visitor visitor_ = nullptr;
  void* context_ = nullptr;
  uint32_t running_ = 0;
  uint32_t reading_ = 0;
  uint32_t concurrent_reads_max_ = 0;
  absl::Status status_;
};

}  // namespace lsmscan

#endif  // LSMSCAN_SCAN_SCAN_GROUP_H_
