// File: scan/tournament_tree.h
// -----------------------------------------------------------------------------
//
// A tournament (winner) tree over the heads of up to kCapacity sorted
// streams: the merge step of the scan. Each leaf is one stream's head:
// a key, the end of the stream, or *pending* (the stream's next key is not
// known without I/O). The tree orders heads so that
//
//   pending  beats  any key  beats  end,
//
// keys compare in scan direction, and ties go to the lower stream index
// (streams are numbered newest first, so the newest version of a key wins).
// A pending head therefore reaches the root whenever one exists: the merge
// can never emit a value that a not-yet-loaded block might precede.
//
// After a leaf changes, Replay() fixes its path in log2(size) comparisons.
// RunnerUp() finds the best head other than the winner (the winner's path
// siblings), which bounds how far the winner can be drained in one run.
//
// Invariant: node p holds the winner of the leaves under it.

#ifndef LSMSCAN_SCAN_TOURNAMENT_TREE_H_
#define LSMSCAN_SCAN_TOURNAMENT_TREE_H_

#include <array>
#include <bit>
#include <cstdint>

#include "lsmscan/lsm/direction.h"
#include "lsmscan/scan/head_kind.h"
#include "lsmscan/storage/base/assert.h"

namespace lsmscan {

// TournamentTree<Key, kCapacity>
template <typename Key, uint32_t kCapacity>
class TournamentTree {
 public:
  static_assert(std::has_single_bit(kCapacity));
  static constexpr uint32_t kNone = UINT32_MAX;

  // TournamentTree::Reset()
  //
  // `leaf_count` streams, all at their end, merged in `direction`.
  void Reset(uint32_t leaf_count, Direction direction) {
    LSMSCAN_ASSERT(leaf_count > 0);
    LSMSCAN_ASSERT(leaf_count <= kCapacity);
    leaf_count_ = leaf_count;
    size_ = std::bit_ceil(leaf_count);
    direction_ = direction;
    for (uint32_t leaf = 0; leaf < kCapacity; leaf++)
      kinds_[leaf] = HeadKind::kEnd;
    Build();
  }

  // TournamentTree::Set()
  //
  // Changes a leaf's head; call Replay(leaf) (or Build()) afterwards.
  void Set(uint32_t leaf, HeadKind kind, const Key& key) {
    LSMSCAN_ASSERT(leaf < leaf_count_);
    kinds_[leaf] = kind;
    keys_[leaf] = key;
  }

  // TournamentTree::Replay()
  //
  // Restores the invariant on the path of `leaf` after Set().
  void Replay(uint32_t leaf) {
    LSMSCAN_ASSERT(leaf < leaf_count_);
    for (uint32_t node = (size_ + leaf) / 2; node >= 1; node /= 2) {
      nodes_[node] = Match(Child(2 * node), Child(2 * node + 1));
    }
  }

  // TournamentTree::Build()
  //
  // Replays every node, bottom up.
  void Build() {
    for (uint32_t node = size_ - 1; node >= 1; node--) {
      nodes_[node] = Match(Child(2 * node), Child(2 * node + 1));
    }
  }

  // TournamentTree::winner()
  //
  // The leaf at the root: the best head.
  uint32_t winner() const { return size_ == 1 ? 0 : nodes_[1]; }

  // TournamentTree::RunnerUp()
  //
  // The best leaf other than winner(), or kNone with a single leaf.
  uint32_t RunnerUp() const {
    if (size_ == 1) return kNone;
    uint32_t best = kNone;
    for (uint32_t node = size_ + winner(); node > 1; node /= 2) {
      const uint32_t sibling = Child(node ^ 1);
      if (best == kNone || Beats(sibling, best)) best = sibling;
    }
    return best;
  }

  HeadKind kind(uint32_t leaf) const { return kinds_[leaf]; }
  const Key& key(uint32_t leaf) const { return keys_[leaf]; }
  uint32_t leaf_count() const { return leaf_count_; }

  // TournamentTree::CheckInvariants()
  //
  // Aborts unless every node holds the winner of its subtree. O(size).
  void CheckInvariants() const {
    for (uint32_t node = size_ - 1; node >= 1; node--) {
      LSMSCAN_ASSERT(nodes_[node] ==
                     Match(Child(2 * node), Child(2 * node + 1)));
    }
  }

 private:
  // The winner of the subtree at `node` (a leaf if node >= size_).
  uint32_t Child(uint32_t node) const {
    return node >= size_ ? node - size_ : nodes_[node];
  }

  uint32_t Match(uint32_t a, uint32_t b) const { return Beats(a, b) ? a : b; }

  // Whether head `a` comes before head `b`.
  bool Beats(uint32_t a, uint32_t b) const {
    const HeadKind kind_a = kinds_[a];
    const HeadKind kind_b = kinds_[b];
    if (kind_a != kind_b) return kind_a < kind_b;
    if (kind_a == HeadKind::kKey) {
      if (Before(direction_, keys_[a], keys_[b])) return true;
      if (Before(direction_, keys_[b], keys_[a])) return false;
    }
    return a < b;
  }

  uint32_t leaf_count_ = 0;
  uint32_t size_ = 1;
  Direction direction_ = Direction::kAscending;
  std::array<uint32_t, kCapacity> nodes_{};  // nodes_[0] unused.
  std::array<HeadKind, kCapacity> kinds_{};
  std::array<Key, kCapacity> keys_{};
};

}  // namespace lsmscan

#endif  // LSMSCAN_SCAN_TOURNAMENT_TREE_H_
