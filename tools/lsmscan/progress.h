// File: tools/lsmscan/progress.h
// -----------------------------------------------------------------------------
//
// Progress of a long command (verify) on stderr: a bar redrawn in place on a
// terminal, plain lines every 10% otherwise, nothing at all when disabled
// (the default for files under kProgressFileSizeBytesMin).

#ifndef LSMSCAN_TOOLS_LSMSCAN_PROGRESS_H_
#define LSMSCAN_TOOLS_LSMSCAN_PROGRESS_H_

#include <cstdint>
#include <ostream>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace lsmscan {
namespace tool {

// Files at least this large show progress by default (--progress=auto).
inline constexpr uint64_t kProgressFileSizeBytesMin = uint64_t{256} << 20;

// ProgressMode
//
// --progress: auto (only for files of kProgressFileSizeBytesMin or more),
// always, or never.
enum class ProgressMode : uint8_t { kAuto, kAlways, kNever };

// ParseProgressMode()
//
// "auto", "always" or "never"; InvalidArgument otherwise.
absl::StatusOr<ProgressMode> ParseProgressMode(absl::string_view text);

// Progress
//
// Reports `done` out of `total` units. Writes only to `out`.
class Progress {
 public:
  // `enabled`: whether to report at all; `terminal`: whether `out` is a
  // terminal (a redrawn bar) or not (plain lines).
  Progress(std::ostream* out, std::string what, bool enabled, bool terminal)
      : out_(out),
        what_(std::move(what)),
        enabled_(enabled),
        terminal_(terminal) {}

  // Sets the total (may grow as the work is discovered).
  void set_total(uint64_t total) { total_ = total; }

  // Records that `done` units are complete.
  void Update(uint64_t done);

  // Ends the bar (a newline on a terminal) once the work is over.
  void Finish();

 private:
  std::ostream* out_;
  std::string what_;
  bool enabled_;
  bool terminal_;
  uint64_t total_ = 0;
  uint64_t done_ = 0;
  int last_percent_ = -1;
  bool drawn_ = false;
};

}  // namespace tool
}  // namespace lsmscan

#endif  // LSMSCAN_TOOLS_LSMSCAN_PROGRESS_H_
