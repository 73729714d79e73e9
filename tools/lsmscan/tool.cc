#include "lsmscan/tools/lsmscan/tool.h"

#include "absl/strings/str_join.h"

namespace lsmscan {
namespace tool {

const std::vector<CommandSpec>& Commands() {
  static const std::vector<CommandSpec>* const commands =
      new std::vector<CommandSpec>{
          {"info",
           "info FILE",
           "superblock copies, checkpoint, block size, schema, levels, "
           "sorted runs, bytes used and free",
           {},
           0},
          {"tables",
           "tables FILE [--level=N] [--format=table|json|csv]",
           "every table: level, key range, snapshots, blocks, values, "
           "tombstones",
           {"level", "format"},
           0},
          {"verify",
           "verify FILE [--progress=auto|always|never]",
           "read every referenced block and check every checksum and "
           "invariant; exit 0 clean, 1 corrupt, 2 unreadable",
           {"progress"},
           0},
          {"scan",
           "scan FILE [--from=K] [--to=K] [--reverse] [--limit=N] "
           "[--snapshot=S] [--format=table|json|csv]",
           "the live values in [from, to], through ScanTree",
           {"from", "to", "reverse", "limit", "snapshot", "format"},
           0},
          {"get",
           "get FILE KEY [--format=table|json|csv]",
           "the live value of KEY, through Tree::Get (exit 3 if absent)",
           {"format"},
           1},
          {"stats",
           "stats FILE",
           "values, live values, tombstones and shadowed versions per level, "
           "bytes per live value, table sizes, measured read amplification",
           {},
           0},
          {"dump-block",
           "dump-block FILE ADDRESS [--hex]",
           "one block's header, checks and decoded contents",
           {"hex"},
           1},
      };
  return *commands;
}

absl::Status UnknownSchemaError(const Superblock& superblock,
                                const std::vector<std::string>& known) {
  return absl::FailedPreconditionError(absl::StrFormat(
      "the file's schema \"%s\" (%d-byte keys, %d-byte values, fingerprint "
      "0x%08x) is not built into this lsmscan, which knows %s; build the "
      "tool with your schema (lsmscan_tool() in "
      "tools/lsmscan/lsmscan_tool.bzl, see doc/tools.md)",
      Printable(superblock.schema_name), superblock.key_size_bytes,
      superblock.value_size_bytes, superblock.schema_id,
      absl::StrJoin(known, ", ")));
}

}  // namespace tool
}  // namespace lsmscan
