#include "lsmscan/tools/lsmscan/info_command.h"

#include "absl/strings/str_format.h"
#include "lsmscan/lsm/block_header.h"

namespace lsmscan {
namespace tool {

void PrintSuperblockInfo(const Context& context) {
  const FileView& view = *context.view;
  const Superblock& superblock = view.superblock;
  std::ostream& out = *context.out;
  out << "format version:  " << kFormatVersion << "\n"
      << "block size:      " << WithThousands(view.block_size_bytes)
      << " bytes\n"
      << "file size:       " << WithThousands(view.file_size_bytes)
      << " bytes (" << WithThousands(view.block_count()) << " blocks)\n"
      << "schema:          " << Printable(superblock.schema_name) << " ("
      << superblock.key_size_bytes << "-byte keys, "
      << superblock.value_size_bytes << "-byte values, fingerprint "
      << absl::StrFormat("0x%08x", superblock.schema_id) << ")\n";
  for (size_t copy = 0; copy < view.copies.size(); copy++) {
    out << "superblock " << copy << ":    ";
    const absl::StatusOr<Superblock>& decoded = view.copies[copy];
    if (!decoded.ok()) {
      out << "invalid: " << Printable(decoded.status().message()) << "\n";
      continue;
    }
    out << "sequence " << decoded->sequence << ", op " << decoded->op << ", "
        << decoded->manifest_blocks.size() << " manifest block"
        << (decoded->manifest_blocks.size() == 1 ? "" : "s")
        << (decoded->sequence == superblock.sequence ? " (current)" : "")
        << "\n";
  }
  out << "checkpoint:      sequence " << superblock.sequence << ", op "
      << superblock.op << " (the snapshot a reader of this file sees)\n"
      << "levels:          " << superblock.level_count << "\n";
}

int PrintProblems(const Context& context,
                  const std::vector<Problem>& problems) {
  bool unreadable = false;
  for (const Problem& problem : problems) {
    *context.out << (problem.unreadable ? "unreadable: " : "corrupt: ")
                 << Printable(problem.message) << "\n";
    unreadable = unreadable || problem.unreadable;
  }
  if (problems.empty()) return kExitOk;
  return unreadable ? kExitUnreadable : kExitCorrupt;
}

}  // namespace tool
}  // namespace lsmscan
