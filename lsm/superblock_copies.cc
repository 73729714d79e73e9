#include "lsmscan/lsm/superblock_copies.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "lsmscan/storage/aligned_buffer.h"
#include "lsmscan/storage/base/assert.h"

namespace lsmscan {
namespace {

// Reads copy `address` into `frame` (blocking), up to
// kSuperblockReadAttemptCount times while the read or the decode fails.
absl::StatusOr<Superblock> ReadCopy(Storage* storage, BlockAddress address,
                                    std::byte* frame, bool* unreadable) {
  absl::StatusOr<Superblock> decoded;
  *unreadable = false;
  for (uint32_t attempt = 0; attempt < kSuperblockReadAttemptCount; attempt++) {
    Storage::Read read;
    read.address = address;
    read.buffer = frame;
    read.callback = [](Storage::Read*) {};
    storage->SubmitRead(&read);
    storage->RunUntilIdle();
    if (absl::IsOutOfRange(read.status)) {
      // Past the end of the storage: missing, which reading again will not
      // change.
      return absl::OutOfRangeError(
          absl::StrCat("superblock copy ", address,
                       ": past the end of the storage (truncated?)"));
    }
    *unreadable = !read.status.ok();
    if (*unreadable) {
      decoded = absl::Status(read.status.code(),
                             absl::StrCat("reading superblock copy ", address,
                                          ": ", read.status.message()));
      continue;
    }
    decoded = DecodeSuperblock(read.data, storage->block_size_bytes(), address);
    // A copy that fails its checks is read again before it is given up: a
    // torn write stays torn, but a corruption in transit does not.
    if (!absl::IsDataLoss(decoded.status())) break;
  }
  return decoded;
}

}  // namespace

std::string RecoveryReport::ToString() const {
  std::string out =
      absl::StrCat("recovered checkpoint ", sequence, " (op ", op, ") from ",
                   intact_copy_count, " of its ",
                   kSuperblockCopiesPerCheckpoint, " superblock copies");
  if (clean()) {
    absl::StrAppend(&out, "; every superblock copy intact");
    return out;
  }
  for (BlockAddress address : damaged) {
    absl::StrAppend(&out, "; copy ", address, " damaged (",
                    copies[address].status.ToString(), ")");
  }
  for (BlockAddress address : repaired) {
    absl::StrAppend(&out, "; copy ", address, " rewritten");
  }
  if (!repair_status.ok()) {
    absl::StrAppend(&out, "; not repaired: ", repair_status.ToString());
  }
  return out;
}

absl::StatusOr<Superblock> ReadSuperblockCopies(Storage* storage,
                                                RecoveryReport* report) {
  LSMSCAN_ASSERT(storage != nullptr && report != nullptr);
  *report = RecoveryReport();
  AlignedBuffer frame(storage->block_size_bytes());
  absl::StatusOr<Superblock> copies[kSuperblockCopyCount];
  bool unreadable[kSuperblockCopyCount] = {};
  for (BlockAddress address = 0; address < kSuperblockCopyCount; address++) {
    copies[address] =
        ReadCopy(storage, address, frame.data(), &unreadable[address]);
    SuperblockCopyReport& copy = report->copies[address];
    copy.status = copies[address].status();
    if (copies[address].ok()) {
      copy.sequence = copies[address]->sequence;
    } else {
      report->damaged.push_back(address);
    }
  }
  // Two unreadable copies of one slot may hide the newest checkpoint (a
  // crash leaves torn copies, never unreadable ones): recovering an older
  // one could resurrect a checkpoint whose blocks were reused.
  for (BlockAddress slot = 0; slot < kSuperblockSlotCount; slot++) {
    bool all_unreadable = true;
    for (uint32_t i = 0; i < kSuperblockCopiesPerCheckpoint; i++) {
      all_unreadable =
          all_unreadable && unreadable[slot + i * kSuperblockSlotCount];
    }
    if (all_unreadable) return copies[slot].status();
  }
  absl::StatusOr<Superblock> chosen = ChooseSuperblock(copies);
  if (!chosen.ok()) return chosen;
  report->sequence = chosen->sequence;
  report->op = chosen->op;
  for (uint32_t i = 0; i < kSuperblockCopiesPerCheckpoint; i++) {
    const absl::StatusOr<Superblock>& copy =
        copies[SuperblockAddress(chosen->sequence, i)];
    if (copy.ok() && copy->sequence == chosen->sequence) {
      report->intact_copy_count++;
    }
  }
  return chosen;
}

void RepairSuperblockCopies(Storage* storage, const Superblock& superblock,
                            RecoveryReport* report) {
  AlignedBuffer frame(storage->block_size_bytes());
  bool wrote = false;
  for (uint32_t i = 0; i < kSuperblockCopiesPerCheckpoint; i++) {
    const BlockAddress address = SuperblockAddress(superblock.sequence, i);
    SuperblockCopyReport& copy = report->copies[address];
    if (copy.status.ok() && copy.sequence == superblock.sequence) continue;
    EncodeSuperblock(superblock, frame.data(), storage->block_size_bytes(), i);
    Storage::Write write;
    write.address = address;
    write.data = frame.data();
    write.callback = [](Storage::Write*) {};
    storage->SubmitWrite(&write);
    storage->RunUntilIdle();
    if (!write.status.ok()) {
      report->repair_status =
          absl::Status(write.status.code(),
                       absl::StrCat("rewriting superblock copy ", address, ": ",
                                    write.status.message()));
      return;
    }
    copy.repaired = true;
    report->repaired.push_back(address);
    wrote = true;
  }
  if (!wrote) return;
  const absl::Status synced = storage->Sync();
  if (!synced.ok()) {
    report->repair_status = absl::Status(
        synced.code(), absl::StrCat("syncing the rewritten superblock copies: ",
                                    synced.message()));
  }
}

RecoveryReport NewTreeReport(uint64_t op) {
  RecoveryReport report;
  report.sequence = kSuperblockSlotCount - 1;
  report.op = op;
  report.intact_copy_count = kSuperblockCopiesPerCheckpoint;
  for (BlockAddress address = 0; address < kSuperblockCopyCount; address++) {
    report.copies[address].sequence = address % kSuperblockSlotCount;
  }
  return report;
}

}  // namespace lsmscan
