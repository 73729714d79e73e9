// File: lsm/superblock_copies.h
// -----------------------------------------------------------------------------
//
// The superblock copies of a storage, as Tree::Open() handles them: read
// every copy, choose the checkpoint to recover (the valid copy with the
// highest sequence), report what each copy held, and repair the copies of
// that checkpoint's slot that do not hold it, so that it again survives the
// loss of any one copy (superblock.h has the layout: two slots of two
// copies, alternating between checkpoints).
//
// A copy is *damaged* if it cannot be decoded: it fails its checksum or its
// checks (a torn write, a flipped bit), is zeroed, lies past the end of the
// storage, or cannot be read. A damaged copy is reported, never silently
// skipped; lsmscan does not log it itself (RecoveryReport::ToString() is a
// line for the caller's log).
//
// Blocking: each call drives the storage until its I/O is done.

#ifndef LSMSCAN_LSM_SUPERBLOCK_COPIES_H_
#define LSMSCAN_LSM_SUPERBLOCK_COPIES_H_

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "lsmscan/lsm/superblock.h"
#include "lsmscan/storage/storage.h"

namespace lsmscan {

// How often Open() reads a superblock copy that fails (an I/O error, or
// checks that fail, which a corruption in transit can cause) before it
// takes the copy as damaged.
inline constexpr uint32_t kSuperblockReadAttemptCount = 3;

// SuperblockCopyReport
//
// What one superblock copy held at open.
struct SuperblockCopyReport {
  // OK if the copy decoded (then `sequence` is its checkpoint's), else why
  // it is damaged: DataLoss (checksum or checks), FailedPrecondition (no
  // lsmscan header: zeroed), OutOfRange (past the end of the storage), or
  // the I/O error of its last read.
  absl::Status status;
  uint64_t sequence = 0;
  // Open rewrote this copy with the recovered checkpoint.
  bool repaired = false;
};

// RecoveryReport
//
// What Tree::Open() found in the superblock copies and did about them
// (Tree::recovery()).
struct RecoveryReport {
  // The checkpoint recovered: its sequence number and the tree's op.
  uint64_t sequence = 0;
  uint64_t op = 0;
  // How many copies of its slot held it (kSuperblockCopiesPerCheckpoint
  // unless a copy was damaged or a crash cut its write short).
  uint32_t intact_copy_count = 0;
  // One entry per copy; the index is the copy's block address.
  std::array<SuperblockCopyReport, kSuperblockCopyCount> copies;
  // The addresses of the damaged copies, and of the copies Open rewrote
  // (the recovered checkpoint's own copies that did not hold it).
  std::vector<BlockAddress> damaged;
  std::vector<BlockAddress> repaired;
  // Why a copy that needed rewriting was not rewritten (the storage refused
  // the write or the sync, e.g. a read-only file); OK otherwise. The
  // checkpoint is then in one copy until the next checkpoint writes two.
  absl::Status repair_status;

  // Every copy decoded, and the recovered checkpoint was in both of its.
  bool clean() const {
    return damaged.empty() && repaired.empty() && repair_status.ok();
  }

  // One line for a log: the checkpoint, and each damaged or repaired copy.
  std::string ToString() const;
};

// ReadSuperblockCopies()
//
// Reads and decodes every copy, each up to kSuperblockReadAttemptCount
// times while it fails, and returns the newest valid one; fills `report`'s
// sequence, op, intact_copy_count, copies and damaged. Errors: if no copy
// is valid, ChooseSuperblock()'s; if both copies of a slot cannot be read
// (I/O errors), the read error, since they may hold the newest checkpoint.
absl::StatusOr<Superblock> ReadSuperblockCopies(Storage* storage,
                                                RecoveryReport* report);

// RepairSuperblockCopies()
//
// Rewrites every copy of `superblock`'s slot that does not hold it (per
// `report`), then syncs; marks them repaired in `report`. No I/O if both
// hold it. A write or sync that fails does not fail the recovery (a
// read-only storage cannot repair): it is `report->repair_status`.
void RepairSuperblockCopies(Storage* storage, const Superblock& superblock,
                            RecoveryReport* report);

// NewTreeReport()
//
// The report of a tree just formatted (Tree::Create()): every copy intact,
// the last formatted checkpoint current.
RecoveryReport NewTreeReport(uint64_t op);

}  // namespace lsmscan

#endif  // LSMSCAN_LSM_SUPERBLOCK_COPIES_H_
