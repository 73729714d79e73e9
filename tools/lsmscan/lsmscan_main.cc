// The lsmscan command-line tool with the shipped schemas (lsm/schema.h).
// Another set: lsmscan_tool() in lsmscan_tool.bzl. See doc/tools.md.

#include "lsmscan/lsm/schema.h"
#include "lsmscan/tools/lsmscan/tool.h"

int main(int argc, char** argv) {
  return lsmscan::tool::Main<lsmscan::Record32Schema, lsmscan::Record128Schema>(
      argc, argv);
}
