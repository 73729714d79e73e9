// File: tools/lsmscan/verify_command.h
// -----------------------------------------------------------------------------
//
// `lsmscan verify FILE [--progress=auto|always|never]`: reads every block
// the current checkpoint references and checks every checksum and invariant
// (walk.h lists them), printing each problem with its block address.
// Superblock copies other than the current one that fail to decode are
// warnings (a checkpoint torn by a crash leaves one). Exit status: 0 clean,
// 1 corrupt, 2 unreadable.

#ifndef LSMSCAN_TOOLS_LSMSCAN_VERIFY_COMMAND_H_
#define LSMSCAN_TOOLS_LSMSCAN_VERIFY_COMMAND_H_

#include <cstdint>
#include <optional>
#include <string>

#include "lsmscan/lsm/schema.h"
#include "lsmscan/tools/lsmscan/context.h"
#include "lsmscan/tools/lsmscan/info_command.h"
#include "lsmscan/tools/lsmscan/output.h"
#include "lsmscan/tools/lsmscan/progress.h"
#include "lsmscan/tools/lsmscan/walk.h"

namespace lsmscan {
namespace tool {

// PrintSuperblockWarnings()
//
// A warning line on `context.out` for each copy that is not current and did
// not decode.
void PrintSuperblockWarnings(const Context& context);

// PrintVerifySummary()
//
// The closing line of `verify`.
void PrintVerifySummary(const Context& context, uint64_t blocks_read,
                        uint64_t table_count, size_t problem_count);

// RunVerify<S>()
//
// `verify` (see the file comment): warnings, then one line per problem,
// then a summary line, on stdout; progress on stderr. Exit 0 clean, 1
// corrupt, 2 a block could not be read.
template <Schema S>
int RunVerify(const Context& context) {
  const std::optional<std::string> mode_text = context.line->Flag("progress");
  absl::StatusOr<ProgressMode> mode =
      ParseProgressMode(mode_text.value_or("auto"));
  if (!mode.ok())
    return UsageError(context, std::string(mode.status().message()));
  const bool enabled =
      *mode == ProgressMode::kAlways ||
      (*mode == ProgressMode::kAuto &&
       context.view->file_size_bytes >= kProgressFileSizeBytesMin);
  Progress progress(context.err, "verify", enabled,
                    context.environment->stderr_is_terminal);
  PrintSuperblockWarnings(context);
  const WalkResult<typename S::Key> walk =
      Walk<S>(*context.view, WalkOptions{true, true, &progress});
  const int status = PrintProblems(context, walk.problems);
  PrintVerifySummary(context, walk.blocks_read, walk.tables.size(),
                     walk.problems.size());
  return status;
}

}  // namespace tool
}  // namespace lsmscan

#endif  // LSMSCAN_TOOLS_LSMSCAN_VERIFY_COMMAND_H_
