// File: tools/lsmscan/context.h
// -----------------------------------------------------------------------------
//
// What every lsmscan command gets: its command line, where to print, the
// terminal facts, and the open file.

#ifndef LSMSCAN_TOOLS_LSMSCAN_CONTEXT_H_
#define LSMSCAN_TOOLS_LSMSCAN_CONTEXT_H_

#include <ostream>
#include <string>

#include "absl/status/status.h"
#include "lsmscan/tools/lsmscan/command_line.h"
#include "lsmscan/tools/lsmscan/file_view.h"

namespace lsmscan {
namespace tool {

// ToolEnvironment
//
// Facts about the process the tool cannot learn from its arguments.
struct ToolEnvironment {
  bool stderr_is_terminal = false;
};

// Context
//
// What a command runs with. Every pointer is set by RunTool() before a
// command runs and outlives it.
struct Context {
  const CommandLine* line = nullptr;
  std::ostream* out = nullptr;  // Results.
  std::ostream* err = nullptr;  // Errors, warnings, progress.
  const ToolEnvironment* environment = nullptr;
  FileView* view = nullptr;
};

// Fail()
//
// Prints "lsmscan: <message>" on one line of `context.err` and returns the
// exit status for `status` (ExitStatusFor).
int Fail(const Context& context, const absl::Status& status);

// UsageError()
//
// Prints "lsmscan: <message>" and returns kExitUsage.
int UsageError(const Context& context, const std::string& message);

}  // namespace tool
}  // namespace lsmscan

#endif  // LSMSCAN_TOOLS_LSMSCAN_CONTEXT_H_
