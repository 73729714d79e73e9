// File: lsm/free_set.h
// -----------------------------------------------------------------------------
//
// Which blocks of the storage are in use. A block is *acquired* from the
// moment a writer reserves it until it is released and no checkpoint on disk
// refers to it any more:
//
//   * Releasing a block that the last durable checkpoint may refer to only
//     *stages* it; it stays acquired until the next checkpoint is durable
//     (`Checkpointed()`), so a crash never finds a checkpoint pointing at a
//     reused block.
//   * Releasing a block written since that checkpoint frees it at once.
//
// The free set is not persisted: `Tree::Open()` rebuilds it from the
// manifest (every table's index and data blocks, the manifest blocks and the
// superblock copies).

#ifndef LSMSCAN_LSM_FREE_SET_H_
#define LSMSCAN_LSM_FREE_SET_H_

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "lsmscan/storage/storage.h"

namespace lsmscan {

// FreeSet
class FreeSet {
 public:
  // Tracks blocks [0, block_count_max); blocks [0, reserved_count) are
  // acquired for good (the superblock copies).
  FreeSet(uint64_t block_count_max, uint64_t reserved_count);

  // FreeSet::Acquire()
  //
  // Reserves the lowest free block; ResourceExhausted when none is left.
  absl::StatusOr<BlockAddress> Acquire();

  // FreeSet::MarkAcquired()
  //
  // Marks `address` acquired and durable (rebuilding the set at open).
  void MarkAcquired(BlockAddress address);

  // FreeSet::Release()
  //
  // Gives back an acquired block: staged if durable, freed otherwise.
  void Release(BlockAddress address);

  // FreeSet::Checkpointed()
  //
  // A checkpoint is durable: staged blocks become free, and every block
  // still acquired is durable (the new checkpoint may refer to it).
  void Checkpointed();

  bool acquired(BlockAddress address) const { return Test(acquired_, address); }
  bool staged(BlockAddress address) const { return Test(staged_, address); }
  uint64_t acquired_count() const { return acquired_count_; }
  uint64_t staged_count() const { return staged_count_; }
  uint64_t block_count_max() const { return block_count_max_; }
  // One past the highest acquired block (the storage's useful size).
  uint64_t high_water() const;

 private:
  static bool Test(const std::vector<uint64_t>& bits, BlockAddress address) {
    return (bits[address / 64] >> (address % 64)) & 1;
  }
  static void Set(std::vector<uint64_t>& bits, BlockAddress address) {
    bits[address / 64] |= uint64_t{1} << (address % 64);
  }
  static void Clear(std::vector<uint64_t>& bits, BlockAddress address) {
    bits[address / 64] &= ~(uint64_t{1} << (address % 64));
  }

  uint64_t block_count_max_;
  uint64_t reserved_count_;
  std::vector<uint64_t> acquired_;
  std::vector<uint64_t> durable_;
  std::vector<uint64_t> staged_;
  uint64_t acquired_count_ = 0;
  uint64_t staged_count_ = 0;
  uint64_t search_word_ = 0;  // No free block below this word.
};

}  // namespace lsmscan

#endif  // LSMSCAN_LSM_FREE_SET_H_
