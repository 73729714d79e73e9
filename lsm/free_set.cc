#include "lsmscan/lsm/free_set.h"

#include <bit>

#include "absl/strings/str_cat.h"
#include "lsmscan/storage/base/assert.h"

namespace lsmscan {

FreeSet::FreeSet(uint64_t block_count_max, uint64_t reserved_count)
    : block_count_max_(block_count_max),
      reserved_count_(reserved_count),
      acquired_((block_count_max + 63) / 64, 0),
      durable_(acquired_.size(), 0),
      staged_(acquired_.size(), 0) {
  LSMSCAN_ASSERT(reserved_count < block_count_max);
  for (BlockAddress address = 0; address < reserved_count; address++) {
    MarkAcquired(address);
  }
  // Bits past the end are acquired so Acquire() never returns them.
  for (uint64_t address = block_count_max; address < acquired_.size() * 64;
       address++) {
    Set(acquired_, address);
  }
}

absl::StatusOr<BlockAddress> FreeSet::Acquire() {
  for (uint64_t word = search_word_; word < acquired_.size(); word++) {
    if (acquired_[word] == ~uint64_t{0}) continue;
    search_word_ = word;
    const BlockAddress address =
        word * 64 + static_cast<uint64_t>(std::countr_one(acquired_[word]));
    LSMSCAN_ASSERT(address < block_count_max_);
    LSMSCAN_ASSERT(!Test(durable_, address));
    Set(acquired_, address);
    acquired_count_++;
    return address;
  }
  search_word_ = acquired_.size();
  return absl::ResourceExhaustedError(
      absl::StrCat("the storage is full: all ", block_count_max_,
                   " blocks are in use (raise block_count_max)"));
}

void FreeSet::MarkAcquired(BlockAddress address) {
  LSMSCAN_ASSERT(address < block_count_max_);
  LSMSCAN_ASSERT_MSG(!Test(acquired_, address), "block referenced twice");
  Set(acquired_, address);
  Set(durable_, address);
  acquired_count_++;
}

void FreeSet::Release(BlockAddress address) {
  LSMSCAN_ASSERT(address >= reserved_count_);
  LSMSCAN_ASSERT(address < block_count_max_);
  LSMSCAN_ASSERT(Test(acquired_, address));
  LSMSCAN_ASSERT(!Test(staged_, address));
  if (Test(durable_, address)) {
    Set(staged_, address);
    staged_count_++;
    return;
  }
  Clear(acquired_, address);
  acquired_count_--;
  if (address / 64 < search_word_) search_word_ = address / 64;
}

void FreeSet::Checkpointed() {
  for (size_t word = 0; word < acquired_.size(); word++) {
    const uint64_t staged = staged_[word];
    if (staged != 0) {
      acquired_count_ -= static_cast<uint64_t>(std::popcount(staged));
      acquired_[word] &= ~staged;
      staged_[word] = 0;
      if (word < search_word_) search_word_ = word;
    }
    durable_[word] = acquired_[word];
  }
  staged_count_ = 0;
}

uint64_t FreeSet::high_water() const {
  for (uint64_t word = acquired_.size(); word > 0; word--) {
    uint64_t bits = acquired_[word - 1];
    if (word * 64 > block_count_max_) {
      // Mask the padding bits past the end.
      const uint64_t valid = block_count_max_ - (word - 1) * 64;
      bits &= valid == 64 ? ~uint64_t{0} : (uint64_t{1} << valid) - 1;
    }
    if (bits != 0) {
      return (word - 1) * 64 + 64 -
             static_cast<uint64_t>(std::countl_zero(bits));
    }
  }
  return 0;
}

}  // namespace lsmscan
