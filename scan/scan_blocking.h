// File: scan/scan_blocking.h
// -----------------------------------------------------------------------------
//
// A blocking wrapper around a scan's asynchronous Read(), for programs that
// have no event loop of their own (tools, tests, ScanIterator): like the
// tree's wrappers in lsm/tree_blocking.h, it starts the call and ticks the
// storage until the callback has run. Other work on the same storage
// progresses meanwhile. Do not call it from inside a storage callback.

#ifndef LSMSCAN_SCAN_SCAN_BLOCKING_H_
#define LSMSCAN_SCAN_SCAN_BLOCKING_H_

#include <utility>

#include "absl/status/status.h"
#include "lsmscan/storage/base/assert.h"
#include "lsmscan/storage/storage.h"

namespace lsmscan {

// ReadBlocking()
//
// Calls scan->Read() and ticks `storage` (waiting for progress) until the
// scan calls back; returns the status the callback reported. Works for
// every scan with Read(callback, context): ScanTree, the combinators,
// ScanLookup. The callback never runs inside Read() (asserted: the storage
// contract, storage/storage.h).
// REQUIRES: `scan` is in a state where Read() is allowed (doc/scan.md), and
// every storage its reads go to is `storage`.
template <typename Scan>
absl::Status ReadBlocking(Scan* scan, Storage* storage) {
  struct Done {
    bool done = false;
    absl::Status status;
  } done;
  scan->Read(
      [](void* context, auto*, absl::Status status) {
        auto* d = static_cast<Done*>(context);
        d->done = true;
        d->status = std::move(status);
      },
      &done);
  LSMSCAN_ASSERT(!done.done);  // Read() called back from inside the call.
  while (!done.done) storage->Tick(Storage::TickMode::kWaitForProgress);
  return done.status;
}

}  // namespace lsmscan

#endif  // LSMSCAN_SCAN_SCAN_BLOCKING_H_
