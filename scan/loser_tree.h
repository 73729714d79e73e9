// File: scan/loser_tree.h
// -----------------------------------------------------------------------------
//
// The merge step of the scan: a loser tree (Knuth, TAOCP vol. 3, 5.4.1) over
// the heads of up to kCapacity sorted streams, with each head's key stored
// inline in the tree (no indirection through the streams).
//
// A head is one stream's next position:
//
//   kPending  the stream's next key is not known without I/O. It may carry
//             a *fence*: a key the stream's next value cannot precede (in
//             scan direction); without one it precedes every key.
//   kKey      the stream's next value has this key.
//   kEnd      the stream has nothing more.
//
// Heads order by key in scan direction, then by class (a pending fence
// before a key equal to it, so a stream that may hold a newer version of
// that key is waited for), then by stream index (streams are numbered
// newest first, so the newest version of a key wins). A pending head
// without a fence precedes everything; an end head follows everything.
//
// Only the winner's head may change between rebuilds: ReplayWinner() fixes
// its path in log2(capacity) branch-free comparisons, and RunnerUp() is the
// best head other than the winner (the best loser on the winner's path),
// which bounds how far the winner's stream may run before the tree must be
// replayed.
//
// Keys that are unsigned integers of up to 8 bytes are packed with their
// class and stream into one 128-bit word (the key complemented when
// descending), so a comparison is one 128-bit compare with no branches.
// Other keys (unsigned __int128, structs with operator<=>) use a
// comparison function with the same order.

#ifndef LSMSCAN_SCAN_LOSER_TREE_H_
#define LSMSCAN_SCAN_LOSER_TREE_H_

#include <array>
#include <bit>
#include <concepts>
#include <cstdint>

#include "lsmscan/lsm/direction.h"
#include "lsmscan/scan/head_kind.h"
#include "lsmscan/storage/base/assert.h"

namespace lsmscan {

// MergeOrder<Key>
//
// Makes and compares heads (see the file comment). The general form: a key
// and a rank = class << 8 | stream, with classes 0 pending without a fence,
// 1 pending with a fence, 2 key, 3 end.
template <typename Key>
struct MergeOrder {
  struct Head {
    Key key{};
    uint32_t rank = 0;
  };

  static constexpr uint32_t kClassUnbounded = 0;
  static constexpr uint32_t kClassFence = 1;
  static constexpr uint32_t kClassKey = 2;
  static constexpr uint32_t kClassEnd = 3;

  static Head Make(Direction, uint32_t klass, const Key& key, uint32_t stream) {
    return {key, klass << 8 | stream};
  }
  template <Direction D>
  static Head MakeKey(const Key& key, uint32_t stream) {
    return {key, kClassKey << 8 | stream};
  }
  static uint32_t Class(const Head& head) { return head.rank >> 8; }
  static uint32_t Stream(const Head& head) { return head.rank & 0xff; }
  static Key KeyOf(Direction, const Head& head) { return head.key; }

  // Whether `a` comes before `b`.
  static bool Less(Direction direction, const Head& a, const Head& b) {
    const uint32_t class_a = Class(a);
    const uint32_t class_b = Class(b);
    if (class_a == kClassUnbounded || class_b == kClassUnbounded ||
        class_a == kClassEnd || class_b == kClassEnd) {
      return a.rank < b.rank;  // Their keys do not matter.
    }
    if (Before(direction, a.key, b.key)) return true;
    if (Before(direction, b.key, a.key)) return false;
    return a.rank < b.rank;
  }
  static const Head& Min(Direction direction, const Head& a, const Head& b) {
    return Less(direction, b, a) ? b : a;
  }
  template <Direction D>
  static bool LessIn(const Head& a, const Head& b) {
    return Less(D, a, b);
  }
};

// MergeOrder<Key> for unsigned integers of up to 8 bytes: one 128-bit word,
//   key (complemented when descending) << 64 | class << 8 | stream.
// A pending head without a fence has key bits 0, an end head all ones.
template <std::unsigned_integral Key>
requires(sizeof(Key) <= 8) struct MergeOrder<Key> {
  using Head = unsigned __int128;

  static constexpr uint32_t kClassUnbounded = 0;
  static constexpr uint32_t kClassFence = 1;
  static constexpr uint32_t kClassKey = 2;
  static constexpr uint32_t kClassEnd = 3;

  static Head Make(Direction direction, uint32_t klass, const Key& key,
                   uint32_t stream) {
    uint64_t bits = direction == Direction::kAscending
                        ? uint64_t{key}
                        : ~uint64_t{key} >> (64 - 8 * sizeof(Key));
    if (klass == kClassUnbounded) bits = 0;
    if (klass == kClassEnd) bits = UINT64_MAX;
    return Head{bits} << 64 | Head{klass << 8 | stream};
  }
  template <Direction D>
  static Head MakeKey(const Key& key, uint32_t stream) {
    const uint64_t bits = D == Direction::kAscending
                              ? uint64_t{key}
                              : ~uint64_t{key} >> (64 - 8 * sizeof(Key));
    return Head{bits} << 64 | Head{kClassKey << 8 | stream};
  }
  static uint32_t Class(const Head& head) {
    return static_cast<uint32_t>(head) >> 8;
  }
  static uint32_t Stream(const Head& head) {
    return static_cast<uint32_t>(head) & 0xff;
  }
  static Key KeyOf(Direction direction, const Head& head) {
    const uint64_t bits = static_cast<uint64_t>(head >> 64);
    return static_cast<Key>(direction == Direction::kAscending ? bits : ~bits);
  }
  static bool Less(Direction, const Head& a, const Head& b) { return a < b; }
  template <Direction D>
  static bool LessIn(const Head& a, const Head& b) {
    return a < b;
  }
  static Head Min(Direction, const Head& a, const Head& b) {
    // Branch-free: a mask from the comparison selects one of the two.
    const Head mask = -static_cast<Head>(b < a);
    return a ^ ((a ^ b) & mask);
  }
};

// LoserTree<Key, kCapacity>
//
// Heads of up to kCapacity streams (stream = leaf index). Internal node n
// holds the loser of the match played there; the overall winner is held
// apart. Invariant: for every node, the winner of its subtree beats (or is)
// every head below it, and the node holds the subtree's second-round loser
// (Knuth's loser tree).
template <typename Key, uint32_t kCapacity>
class LoserTree {
 public:
  static_assert(std::has_single_bit(kCapacity) && kCapacity <= 256);
  using Order = MergeOrder<Key>;
  using Head = typename Order::Head;

  // LoserTree::Reset()
  //
  // `leaf_count` streams (0 allowed), every head at its end, in `direction`.
  // Set() the heads, then Build().
  void Reset(uint32_t leaf_count, Direction direction) {
    LSMSCAN_ASSERT(leaf_count <= kCapacity);
    leaf_count_ = leaf_count;
    size_ = std::bit_ceil(std::max<uint32_t>(leaf_count, 1));
    direction_ = direction;
    for (uint32_t leaf = 0; leaf < size_; leaf++) {
      leaves_[leaf] = End(leaf);
    }
    winner_ = leaves_[0];
  }

  // The heads of each class for `stream`.
  Head KeyHead(const Key& key, uint32_t stream) const {
    return Order::Make(direction_, Order::kClassKey, key, stream);
  }
  // KeyHead() for a tree merging in direction D.
  template <Direction D>
  static Head KeyHeadIn(const Key& key, uint32_t stream) {
    return Order::template MakeKey<D>(key, stream);
  }
  Head PendingHead(uint32_t stream) const {
    return Order::Make(direction_, Order::kClassUnbounded, Key{}, stream);
  }
  Head FenceHead(const Key& fence, uint32_t stream) const {
    return Order::Make(direction_, Order::kClassFence, fence, stream);
  }
  Head End(uint32_t stream) const {
    return Order::Make(direction_, Order::kClassEnd, Key{}, stream);
  }

  // LoserTree::Set()
  //
  // Changes a leaf's head; call Build() before using the tree again.
  void Set(uint32_t leaf, const Head& head) {
    LSMSCAN_ASSERT(leaf < leaf_count_);
    LSMSCAN_ASSERT(Order::Stream(head) == leaf);
    leaves_[leaf] = head;
  }

  // LoserTree::Build()
  //
  // Plays every match from the leaves up. O(size).
  void Build() {
    std::array<Head, 2 * kCapacity> winners;
    for (uint32_t leaf = 0; leaf < size_; leaf++) {
      winners[size_ + leaf] = leaves_[leaf];
    }
    for (uint32_t node = size_ - 1; node >= 1; node--) {
      const Head& a = winners[2 * node];
      const Head& b = winners[2 * node + 1];
      const bool a_wins = !Order::Less(direction_, b, a);
      winners[node] = a_wins ? a : b;
      nodes_[node] = a_wins ? b : a;
    }
    winner_ = size_ == 1 ? leaves_[0] : winners[1];
  }

  // LoserTree::ReplayWinner()
  //
  // The winner's stream has a new head (`head`, same stream): plays it up
  // the winner's path. log2(size) comparisons.
  template <Direction D>
  void ReplayWinner(const Head& head) {
    const uint32_t leaf = Order::Stream(head);
    LSMSCAN_EXPENSIVE_ASSERT(leaf == Order::Stream(winner_));
    if constexpr (kVerify) leaves_[leaf] = head;  // For CheckInvariants().
    Head current = head;
    for (uint32_t node = (size_ + leaf) / 2; node >= 1; node /= 2) {
      const Head other = nodes_[node];
      const bool other_wins = Order::template LessIn<D>(other, current);
      nodes_[node] = other_wins ? current : other;
      current = other_wins ? other : current;
    }
    winner_ = current;
  }

  // LoserTree::SetWinner()
  //
  // The winner's stream has a new head that still beats RunnerUp(): the
  // tree is unchanged but for the winner itself. REQUIRES: that order.
  void SetWinner(const Head& head) {
    LSMSCAN_EXPENSIVE_ASSERT(Order::Stream(head) == Order::Stream(winner_));
    if constexpr (kVerify) leaves_[Order::Stream(head)] = head;
    winner_ = head;
  }

  // LoserTree::winner()
  const Head& winner() const { return winner_; }

  // LoserTree::RunnerUp()
  //
  // The best head other than the winner: the best loser on the winner's
  // path (an end head if there is no other stream).
  Head RunnerUp() const {
    const uint32_t leaf = Order::Stream(winner_);
    Head best = End(0xff);
    for (uint32_t node = (size_ + leaf) / 2; node >= 1; node /= 2) {
      best = Order::Min(direction_, best, nodes_[node]);
    }
    return best;
  }

  // Whether head `a` comes before head `b`.
  bool Less(const Head& a, const Head& b) const {
    return Order::Less(direction_, a, b);
  }
  HeadKind kind(const Head& head) const {
    const uint32_t klass = Order::Class(head);
    return klass == Order::kClassKey   ? HeadKind::kKey
           : klass == Order::kClassEnd ? HeadKind::kEnd
                                       : HeadKind::kPending;
  }
  static uint32_t stream(const Head& head) { return Order::Stream(head); }
  uint32_t leaf_count() const { return leaf_count_; }
  Direction direction() const { return direction_; }

  // LoserTree::CheckInvariants()
  //
  // Aborts unless the winner beats every head and the tree equals a fresh
  // Build(). O(size). Only where kVerify (the leaves are kept up to date
  // for it only there).
  void CheckInvariants() const {
    if constexpr (!kVerify) return;
    for (uint32_t leaf = 0; leaf < size_; leaf++) {
      LSMSCAN_ASSERT(!Order::Less(direction_, leaves_[leaf], winner_));
    }
    LoserTree copy = *this;
    copy.Build();
    LSMSCAN_ASSERT(Order::Stream(copy.winner_) == Order::Stream(winner_));
  }

 private:
  uint32_t leaf_count_ = 0;
  uint32_t size_ = 1;
  Direction direction_ = Direction::kAscending;
  Head winner_{};
  std::array<Head, kCapacity> nodes_{};  // nodes_[0] unused.
  std::array<Head, kCapacity> leaves_{};
};

}  // namespace lsmscan

#endif  // LSMSCAN_SCAN_LOSER_TREE_H_
