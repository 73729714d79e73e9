// File: scan/head_kind.h
// -----------------------------------------------------------------------------
//
// HeadKind: what a merged stream's head is (shared by the scan's loser tree,
// loser_tree.h, and the scan algebra's tournament tree, tournament_tree.h).

#ifndef LSMSCAN_SCAN_HEAD_KIND_H_
#define LSMSCAN_SCAN_HEAD_KIND_H_

#include <cstdint>

namespace lsmscan {

// HeadKind
//
// kPending: the stream's next key is not known without I/O (without a
// fence it beats every key; with one, every key from the fence on, so the
// merge never emits a value a not-yet-loaded block might precede or hold
// another version of); kKey: a key; kEnd: the stream has ended (beaten by
// everything).
enum class HeadKind : uint8_t { kPending = 0, kKey = 1, kEnd = 2 };

}  // namespace lsmscan

#endif  // LSMSCAN_SCAN_HEAD_KIND_H_
