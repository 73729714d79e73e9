#include "lsmscan/tools/lsmscan/command_line.h"

#include <algorithm>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace lsmscan {
namespace tool {

std::optional<std::string> CommandLine::Flag(const std::string& name) const {
  const auto it = flags.find(name);
  if (it == flags.end()) return std::nullopt;
  return it->second;
}

absl::StatusOr<std::optional<uint64_t>> CommandLine::UnsignedFlag(
    const std::string& name) const {
  const std::optional<std::string> text = Flag(name);
  if (!text.has_value()) return std::optional<uint64_t>();
  uint64_t value = 0;
  if (text->empty() || !absl::SimpleAtoi(*text, &value) || (*text)[0] == '-' ||
      (*text)[0] == '+') {
    return absl::InvalidArgumentError(absl::StrCat(
        "--", name, " takes an unsigned integer, got \"", *text, "\""));
  }
  return std::optional<uint64_t>(value);
}

namespace {

const CommandSpec* FindCommand(const std::vector<CommandSpec>& commands,
                               const std::string& name) {
  for (const CommandSpec& spec : commands) {
    if (name == spec.name) return &spec;
  }
  return nullptr;
}

}  // namespace

absl::StatusOr<CommandLine> ParseCommandLine(
    const std::vector<std::string>& args,
    const std::vector<CommandSpec>& commands) {
  CommandLine line;
  std::vector<std::string> positional;
  for (const std::string& arg : args) {
    if (arg == "--help" || arg == "-h" || arg == "help") {
      line.command = "help";
      return line;
    }
    if (arg.size() > 2 && arg.compare(0, 2, "--") == 0) {
      const size_t equals = arg.find('=');
      const std::string name = arg.substr(2, equals - 2);
      line.flags[name] =
          equals == std::string::npos ? "" : arg.substr(equals + 1);
    } else {
      positional.push_back(arg);
    }
  }
  if (positional.empty()) {
    return absl::InvalidArgumentError("no command given");
  }
  line.command = positional[0];
  const CommandSpec* spec = FindCommand(commands, line.command);
  if (spec == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("unknown command \"", line.command, "\""));
  }
  if (positional.size() < 2) {
    return absl::InvalidArgumentError(
        absl::StrCat("usage: lsmscan ", spec->synopsis, " (no FILE given)"));
  }
  line.file = positional[1];
  line.arguments.assign(positional.begin() + 2, positional.end());
  if (line.arguments.size() != spec->positional_count) {
    return absl::InvalidArgumentError(
        absl::StrCat("usage: lsmscan ", spec->synopsis));
  }
  for (const auto& [name, value] : line.flags) {
    if (std::find(spec->allowed_flags.begin(), spec->allowed_flags.end(),
                  name) == spec->allowed_flags.end()) {
      return absl::InvalidArgumentError(
          absl::StrCat("unknown flag --", name, " for ", spec->name,
                       " (usage: lsmscan ", spec->synopsis, ")"));
    }
  }
  return line;
}

std::string UsageText(const std::vector<CommandSpec>& commands) {
  std::string text =
      "usage: lsmscan COMMAND FILE [ARGUMENTS] [FLAGS]\n"
      "Reads an lsmscan tree file without ever writing to it.\n\n"
      "commands:\n";
  for (const CommandSpec& spec : commands) {
    absl::StrAppend(&text, "  ", spec.synopsis, "\n      ", spec.summary, "\n");
  }
  absl::StrAppend(&text,
                  "\nexit status: 0 success, 1 the file is corrupt, 2 the "
                  "file cannot be read as a tree,\n"
                  "3 `get`: key not found, 64 bad command line. See "
                  "doc/tools.md.\n");
  return text;
}

int ExitStatusFor(const absl::Status& status) {
  if (status.ok()) return kExitOk;
  return absl::IsDataLoss(status) ? kExitCorrupt : kExitUnreadable;
}

}  // namespace tool
}  // namespace lsmscan
