#include "lsmscan/storage/base/assert.h"

#include <cstdio>
#include <cstdlib>

namespace lsmscan {
namespace internal {

void AssertFail(const char* condition, const char* file, int line,
                const char* message) {
  std::fprintf(stderr, "lsmscan: assertion failed: %s at %s:%d%s%s\n",
               condition, file, line, message != nullptr ? ": " : "",
               message != nullptr ? message : "");
  std::fflush(stderr);
  std::abort();
}

}  // namespace internal
}  // namespace lsmscan
