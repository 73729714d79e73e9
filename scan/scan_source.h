// File: scan/scan_source.h
// -----------------------------------------------------------------------------
//
// ScanSource<Key>: what the scan algebra reads from and what it yields. A
// source is a sorted stream of distinct keys (ascending or descending) with
// the scan contract of ScanTree:
//
//   Init()                (each implementation's own; no I/O)   -> kIdle
//   Read(callback)        from kIdle/kNeedsData/kAborted        -> kBuffering
//                         ...callback(OK) from a later Tick()   -> kSeeking
//   Next()                in kSeeking: a key, ReadAgain (-> kNeedsData: call
//                         Read()), or End; never blocks, never does I/O
//   NextBatch(keys)       Next() until `keys` is full or an answer is not
//                         a key (what a combinator reads its sources with)
//   Probe(key)            skip ahead: the next key is at or past `key`
//   Abort()               in any state                          -> kAborted
//
// Three kinds implement it, and they nest:
//
//   * ScanTreeSource (scan/scan_tree_source.h): one ScanTree, its values
//     mapped to keys by a caller-given projection (an index tree keyed
//     (field, id) projected to id).
//   * ScanUnion, ScanIntersection, ScanDifference (scan/scan_union.h, ...):
//     combinators over 1..kScanSourceCountMax sources of the same key type
//     and direction, themselves sources.
//
// ScanLookup (scan/scan_lookup.h) reads a source of ids and yields objects.
//
// Keys, not values, flow through the algebra: Next() returns the key by
// value, so a combinator caches each source's current head as a copy and
// never holds a pointer into another scan's blocks.
//
// Errors. A failed read, or a broken promise found inside Next() (a
// projection that is not increasing), ends the source: Next() answers
// ReadAgain, and the Read() that follows calls back with the error (state
// kAborted). A source never returns a wrong key as if it were valid.
//
// Thread safety: none. One thread owns a source, its sources and their
// storages.

#ifndef LSMSCAN_SCAN_SCAN_SOURCE_H_
#define LSMSCAN_SCAN_SCAN_SOURCE_H_

#include <cstdint>
#include <span>

#include "absl/status/status.h"
#include "lsmscan/lsm/direction.h"
#include "lsmscan/scan/scan_tree.h"
#include "lsmscan/storage/storage.h"

namespace lsmscan {

// kScanSourceCountMax
//
// The most sources one combinator reads (its arrays are this long).
inline constexpr uint32_t kScanSourceCountMax = 64;

// SourceNext<Key>
//
// What ScanSource::Next() returns: a key (kind kValue), ReadAgain or End.
template <typename Key>
struct SourceNext {
  ScanNextKind kind;
  Key key;  // Meaningful for kValue only.
};

// SourceBatch
//
// What ScanSource::NextBatch() returns: how many keys it stored, and what
// stopped it: kValue when the span is full (more keys may follow), else the
// answer that ended the batch (ReadAgain or End), as Next() gave it.
struct SourceBatch {
  uint32_t count;
  ScanNextKind stop;
};

template <typename Key>
class ScanSourceClaim;

// ScanSource<Key>
//
// The interface. Every method has the meaning of ScanTree's method of the
// same name (scan/scan_tree.h, doc/scan.md), for keys instead of values.
template <typename Key>
class ScanSource {
 public:
  // Completion of Read(): OK (state kSeeking) or the error that ended the
  // source (state kAborted). Runs from a storage's Tick(), never inside
  // Read().
  using ReadCallback = void (*)(void* context, ScanSource* source,
                                absl::Status status);

  ScanSource() = default;
  ScanSource(const ScanSource&) = delete;
  ScanSource& operator=(const ScanSource&) = delete;
  virtual ~ScanSource() = default;

  // ScanSource::Read()
  //
  // Loads what the source needs to answer Next() again; calls back once,
  // from a later Tick(), unless Abort() comes first. On an aborted source it
  // just calls back with status(). REQUIRES: state kIdle, kNeedsData or
  // kAborted.
  virtual void Read(ReadCallback callback, void* context) = 0;

  // ScanSource::Next()
  //
  // The next key in the source's direction (strictly after the previous
  // one), ReadAgain (state kNeedsData) or End. REQUIRES: state kSeeking,
  // kNeedsData or kAborted (the latter two answer ReadAgain and End).
  virtual SourceNext<Key> Next() = 0;

  // ScanSource::NextBatch()
  //
  // Next() up to `keys.size()` times, storing the keys in order, stopping
  // at the first answer that is not a key; the source is then in the state
  // that answer left it in. The keys stored count as returned (a later
  // Probe() at or behind them changes nothing). A source may override it
  // with a loop that costs less than a virtual call per key.
  virtual SourceBatch NextBatch(std::span<Key> keys) {
    uint32_t count = 0;
    while (count < keys.size()) {
      const SourceNext<Key> next = Next();
      if (next.kind != ScanNextKind::kValue) return {count, next.kind};
      keys[count++] = next.key;
    }
    return {count, ScanNextKind::kValue};
  }

  // ScanSource::Probe()
  //
  // Skips ahead: the next key returned is at or past `key` (in the
  // source's direction). Probes only move forward: a key at or behind the
  // last key returned, or before the source's range, changes nothing. A key
  // past the end of the range ends the source. REQUIRES: not kBuffering.
  virtual absl::Status Probe(const Key& key) = 0;

  // ScanSource::Abort()
  //
  // Ends the source in any state; a Read() in flight never calls back.
  // Next() then returns End.
  virtual void Abort() = 0;

  virtual ScanState state() const = 0;
  // OK, or the error that ended the source.
  virtual const absl::Status& status() const = 0;
  virtual Direction direction() const = 0;
  // The storage whose Tick() completes a Read() that needed no I/O.
  // REQUIRES: Init() succeeded.
  virtual Storage* storage() const = 0;
  // This source's own counts (values, read_agains, reads), with `levels`
  // summed over every ScanTree below it: the blocks the whole expression
  // used.
  virtual ScanStats stats() const = 0;

  // True while a combinator or a lookup reads this source (a source feeds
  // one reader at a time).
  bool claimed() const { return claimed_; }

 private:
  friend class ScanSourceClaim<Key>;
  bool claimed_ = false;
};

// ScanSourceClaim<Key>
//
// Marks a source as read by a combinator or a lookup, for as long as the
// claim lives (internal to the algebra).
template <typename Key>
class ScanSourceClaim {
 public:
  static void Claim(ScanSource<Key>* source) { source->claimed_ = true; }
  static void Release(ScanSource<Key>* source) { source->claimed_ = false; }
};

}  // namespace lsmscan

#endif  // LSMSCAN_SCAN_SCAN_SOURCE_H_
