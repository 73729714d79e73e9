// File: tools/lsmscan/tool.h
// -----------------------------------------------------------------------------
//
// The lsmscan command-line tool, for a set of schemas chosen at build time:
//
//   int main(int argc, char** argv) {
//     return lsmscan::tool::Main<lsmscan::Record32Schema,
//                                lsmscan::Record128Schema, MySchema>(argc,
//                                                                    argv);
//   }
//
// (the lsmscan_tool() macro in lsmscan_tool.bzl writes this main). The file
// names its schema in the superblock; the tool picks the built-in schema
// with that name, sizes and fingerprint, or says that it has none. See
// doc/tools.md.

#ifndef LSMSCAN_TOOLS_LSMSCAN_TOOL_H_
#define LSMSCAN_TOOLS_LSMSCAN_TOOL_H_

#include <unistd.h>

#include <iostream>
#include <ostream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "lsmscan/lsm/schema.h"
#include "lsmscan/tools/lsmscan/command_line.h"
#include "lsmscan/tools/lsmscan/context.h"
#include "lsmscan/tools/lsmscan/dump_block.h"
#include "lsmscan/tools/lsmscan/file_view.h"
#include "lsmscan/tools/lsmscan/info_command.h"
#include "lsmscan/tools/lsmscan/read_commands.h"
#include "lsmscan/tools/lsmscan/schema_format.h"
#include "lsmscan/tools/lsmscan/stats_command.h"
#include "lsmscan/tools/lsmscan/verify_command.h"

namespace lsmscan {
namespace tool {

// Commands()
//
// Every command, its synopsis and flags.
const std::vector<CommandSpec>& Commands();

// UnknownSchemaError()
//
// Why a command that needs the file's schema cannot run: the file's schema
// and the ones this build knows.
absl::Status UnknownSchemaError(const Superblock& superblock,
                                const std::vector<std::string>& known);

// RunWithSchema<S>()
//
// Runs the command of `context` on a file of schema S.
template <Schema S>
int RunWithSchema(const Context& context) {
  const std::string& command = context.line->command;
  if (command == "info") return RunInfo<S>(context);
  if (command == "tables") return RunTables<S>(context);
  if (command == "verify") return RunVerify<S>(context);
  if (command == "scan") return RunScan<S>(context);
  if (command == "get") return RunGet<S>(context);
  if (command == "stats") return RunStats<S>(context);
  return RunDumpBlock<S>(context);
}

// RunTool<S...>()
//
// Runs one command line (`args` without the program name), printing results
// on `out` and errors on `err`; returns the exit status. Never writes to the
// file.
template <Schema... Schemas>
int RunTool(const std::vector<std::string>& args, std::ostream& out,
            std::ostream& err, const ToolEnvironment& environment) {
  absl::StatusOr<CommandLine> line = ParseCommandLine(args, Commands());
  if (!line.ok()) {
    err << "lsmscan: " << line.status().message()
        << "\n(lsmscan --help lists the commands)\n";
    return kExitUsage;
  }
  if (line->command == "help") {
    out << UsageText(Commands());
    return kExitOk;
  }
  Context context;
  context.line = &*line;
  context.out = &out;
  context.err = &err;
  context.environment = &environment;
  absl::StatusOr<FileView> view = OpenFileView(line->file);
  if (!view.ok()) return Fail(context, view.status());
  context.view = &*view;
  int status = -1;
  ((status < 0 && SchemaMatches<Schemas>(view->superblock)
        ? (status = RunWithSchema<Schemas>(context), true)
        : false),
   ...);
  if (status >= 0) return status;
  // No built-in schema: what can be shown without one.
  if (line->command == "info") {
    PrintSuperblockInfo(context);
  } else if (line->command == "dump-block") {
    return RunDumpBlockWithoutSchema(context);
  }
  return Fail(context, UnknownSchemaError(view->superblock,
                                          {std::string(Schemas::kName)...}));
}

// Main<S...>()
//
// main() of an lsmscan binary.
template <Schema... Schemas>
int Main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  ToolEnvironment environment;
  environment.stderr_is_terminal = isatty(STDERR_FILENO) != 0;
  return RunTool<Schemas...>(args, std::cout, std::cerr, environment);
}

}  // namespace tool
}  // namespace lsmscan

#endif  // LSMSCAN_TOOLS_LSMSCAN_TOOL_H_
