#include "lsmscan/tools/lsmscan/verify_command.h"

namespace lsmscan {
namespace tool {

void PrintSuperblockWarnings(const Context& context) {
  const FileView& view = *context.view;
  for (size_t copy = 0; copy < view.copies.size(); copy++) {
    if (view.copies[copy].ok()) continue;
    const bool current = SuperblockHolds(copy, view.superblock.sequence);
    *context.out << "warning: superblock copy " << copy
                 << (current ? " (of the current checkpoint, whose other "
                               "copy is intact): "
                             : " (not the current one): ")
                 << Printable(view.copies[copy].status().message())
                 << (current ? " (opening the tree rewrites it)\n"
                             : " (a checkpoint torn by a crash leaves this; "
                               "the next checkpoint rewrites it)\n");
  }
}

void PrintVerifySummary(const Context& context, uint64_t blocks_read,
                        uint64_t table_count, size_t problem_count) {
  *context.out << "verify: read " << WithThousands(blocks_read) << " block"
               << (blocks_read == 1 ? "" : "s") << " of "
               << WithThousands(table_count) << " table"
               << (table_count == 1 ? "" : "s") << ": "
               << (problem_count == 0
                       ? std::string("no problems")
                       : absl::StrCat(problem_count, " problem",
                                      problem_count == 1 ? "" : "s"))
               << "\n";
}

}  // namespace tool
}  // namespace lsmscan
