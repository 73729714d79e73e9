#include "lsmscan/tools/lsmscan/progress.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace lsmscan {
namespace tool {

absl::StatusOr<ProgressMode> ParseProgressMode(absl::string_view text) {
  if (text == "auto") return ProgressMode::kAuto;
  if (text == "always") return ProgressMode::kAlways;
  if (text == "never") return ProgressMode::kNever;
  return absl::InvalidArgumentError("--progress takes auto, always or never");
}

void Progress::Update(uint64_t done) {
  done_ = done;
  if (!enabled_ || total_ == 0) return;
  const int percent =
      static_cast<int>(std::min<uint64_t>(100, done * 100 / total_));
  if (terminal_) {
    if (percent == last_percent_) return;
    constexpr int kWidth = 40;
    const int filled = percent * kWidth / 100;
    *out_ << "\r" << what_ << " [" << std::string(filled, '#')
          << std::string(kWidth - filled, ' ') << "] " << percent << "% ("
          << done << " / " << total_ << " blocks)" << std::flush;
    drawn_ = true;
  } else {
    // Plain lines at every 10%.
    if (last_percent_ >= 0 && percent / 10 == last_percent_ / 10) return;
    *out_ << what_ << ": " << percent << "% (" << done << " / " << total_
          << " blocks)\n"
          << std::flush;
  }
  last_percent_ = percent;
}

void Progress::Finish() {
  if (!enabled_) return;
  if (done_ != total_ || last_percent_ != 100) {
    // Always report the end.
    last_percent_ = -1;
    total_ = std::max(total_, done_);
    Update(done_);
  }
  if (terminal_ && drawn_) *out_ << "\n" << std::flush;
}

}  // namespace tool
}  // namespace lsmscan
