// File: tools/simulator_clients.cc
// -----------------------------------------------------------------------------
//
// The completion callbacks of the simulator's clients (simulator_clients.h).

#include "lsmscan/tools/simulator_clients.h"

#include <utility>

#include "absl/status/status.h"

namespace lsmscan {
namespace simulator {

void OnScanRead(void* context, SimScan* /*scan*/, absl::Status status) {
  auto* slot = static_cast<ScanSlot*>(context);
  if (!slot->read_pending || slot->read_done) {
    slot->unexpected_callback = true;
    return;
  }
  slot->read_done = true;
  slot->read_status = std::move(status);
}

void OnGetDone(GetRequest<Rec>* request) {
  auto* slot = static_cast<GetSlot*>(request->context);
  if (!slot->in_flight || slot->done) {
    slot->unexpected_callback = true;
    return;
  }
  slot->done = true;
}

const char* WorkName(WorkKind kind) {
  switch (kind) {
    case WorkKind::kCompact:
      return "compact";
    case WorkKind::kCompactAll:
      return "compact-all";
    case WorkKind::kCheckpoint:
      return "checkpoint";
  }
  return "unknown";
}

}  // namespace simulator
}  // namespace lsmscan
