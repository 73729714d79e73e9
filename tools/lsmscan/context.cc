#include "lsmscan/tools/lsmscan/context.h"

#include "lsmscan/tools/lsmscan/output.h"

namespace lsmscan {
namespace tool {

int Fail(const Context& context, const absl::Status& status) {
  *context.err << "lsmscan: " << Printable(status.message()) << "\n";
  return ExitStatusFor(status);
}

int UsageError(const Context& context, const std::string& message) {
  *context.err << "lsmscan: " << Printable(message) << "\n";
  return kExitUsage;
}

}  // namespace tool
}  // namespace lsmscan
