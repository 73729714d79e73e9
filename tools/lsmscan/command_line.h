// File: tools/lsmscan/command_line.h
// -----------------------------------------------------------------------------
//
// The command line of the lsmscan tool: `lsmscan COMMAND FILE [ARG...]
// [--flag=value...]`, and the exit statuses every command shares. Flags are
// `--name=value` or `--name` (a switch); each command names the flags it
// accepts, and anything else is a usage error.

#ifndef LSMSCAN_TOOLS_LSMSCAN_COMMAND_LINE_H_
#define LSMSCAN_TOOLS_LSMSCAN_COMMAND_LINE_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace lsmscan {
namespace tool {

// Exit statuses (doc/tools.md lists them).
inline constexpr int kExitOk = 0;
inline constexpr int kExitCorrupt = 1;     // The file is damaged (DataLoss).
inline constexpr int kExitUnreadable = 2;  // Cannot be read as a tree at all.
inline constexpr int kExitNotFound = 3;    // `get`: the key is absent.
inline constexpr int kExitUsage = 64;      // A bad command line (sysexits).

// CommandLine
//
// A parsed command line: the command, the file, the positional arguments
// after it, and the flags.
struct CommandLine {
  std::string command;
  std::string file;
  std::vector<std::string> arguments;
  std::map<std::string, std::string> flags;  // A switch maps to "".

  bool Has(const std::string& name) const { return flags.count(name) > 0; }
  // The flag's value, or nullopt if absent.
  std::optional<std::string> Flag(const std::string& name) const;
  // The flag as an unsigned decimal integer; InvalidArgument naming it if it
  // is not one.
  absl::StatusOr<std::optional<uint64_t>> UnsignedFlag(
      const std::string& name) const;
};

// ParseCommandLine()
//
// Splits `args` (without the program name). InvalidArgument, with a message
// for the user, when the command or file is missing, a flag is not one of
// `allowed_flags` of the command, or the positional argument count is not
// `positional_count`. "help"/"--help" yield command "help".
struct CommandSpec {
  const char* name;
  const char* synopsis;  // For the usage text, e.g. "get FILE KEY".
  const char* summary;
  std::vector<std::string> allowed_flags;
  uint32_t positional_count = 0;
};
absl::StatusOr<CommandLine> ParseCommandLine(
    const std::vector<std::string>& args,
    const std::vector<CommandSpec>& commands);

// UsageText()
//
// The help text listing `commands` and the exit statuses.
std::string UsageText(const std::vector<CommandSpec>& commands);

// ExitStatusFor()
//
// kExitCorrupt for DataLoss (the file is an lsmscan file, damaged), else
// kExitUnreadable.
int ExitStatusFor(const absl::Status& status);

}  // namespace tool
}  // namespace lsmscan

#endif  // LSMSCAN_TOOLS_LSMSCAN_COMMAND_LINE_H_
