#include "lsmscan/tools/lsmscan/dump_block.h"

#include <algorithm>
#include <cstring>

#include "absl/strings/numbers.h"
#include "absl/strings/str_format.h"

namespace lsmscan {
namespace tool {

std::optional<DumpedBlock> ReadDumpedBlock(const Context& context,
                                           int* exit_status) {
  const std::string& text = context.line->arguments.at(0);
  uint64_t address = 0;
  const bool hex = text.size() > 2 && text[0] == '0' && text[1] == 'x';
  if (!(hex ? absl::SimpleHexAtoi(text.substr(2), &address)
            : absl::SimpleAtoi(text, &address)) ||
      text[0] == '-' || text[0] == '+') {
    *exit_status = UsageError(
        context,
        absl::StrCat("ADDRESS must be a block number, got \"", text, "\""));
    return std::nullopt;
  }
  const FileView& view = *context.view;
  if (address >= view.block_count()) {
    *exit_status =
        UsageError(context, absl::StrCat("block ", address,
                                         " is past the end of the file (",
                                         view.block_count(), " blocks)"));
    return std::nullopt;
  }
  DumpedBlock block(view.block_size_bytes);
  block.address = address;
  absl::StatusOr<const std::byte*> data =
      ReadBlock(view.storage.get(), address, block.frame.data());
  if (!data.ok()) {
    *exit_status = Fail(context, data.status());
    return std::nullopt;
  }
  block.data = *data;
  block.header = ReadHeader(block.data);
  block.all_zero = std::all_of(block.data, block.data + view.block_size_bytes,
                               [](std::byte b) { return b == std::byte{0}; });
  BlockExpectation expected;
  expected.address = address;
  expected.type = block.header.block_type;
  expected.schema_id = view.superblock.schema_id;
  block.intact =
      !block.all_zero &&
      VerifyBlockSelf(block.data, view.block_size_bytes, expected).ok();
  return block;
}

void PrintBlockHeader(const Context& context, const DumpedBlock& block) {
  std::ostream& out = *context.out;
  const BlockHeader& h = block.header;
  out << "block:         " << block.address << " (bytes "
      << WithThousands(block.address * context.view->block_size_bytes) << " to "
      << WithThousands((block.address + 1) * context.view->block_size_bytes)
      << ")\n";
  if (block.all_zero) {
    out << "contents:      all zeros (never written: a hole in the file)\n";
    return;
  }
  out << "type:          " << BlockTypeName(h.block_type) << " ("
      << static_cast<int>(h.block_type) << ")\n"
      << "checksum:      " << HexString(&h.checksum, sizeof(h.checksum)) << "\n"
      << "magic:         " << absl::StrFormat("0x%08x", h.magic)
      << (h.magic == kBlockMagic ? " (LSMB)" : " (not lsmscan's)") << "\n"
      << "version:       " << h.format_version << "\n"
      << "address:       " << h.address << "\n"
      << "size_bytes:    " << h.size_bytes << "\n"
      << "schema_id:     " << absl::StrFormat("0x%08x", h.schema_id) << "\n"
      << "snapshot_min:  " << h.snapshot_min << "\n"
      << "count:         " << h.count << "\n"
      << "element_size:  " << h.element_size << "\n"
      << "level:         " << h.level << "\n";
  BlockExpectation expected;
  expected.address = block.address;
  expected.type = h.block_type;
  expected.schema_id = context.view->superblock.schema_id;
  const absl::Status self =
      VerifyBlockSelf(block.data, context.view->block_size_bytes, expected);
  out << "self-check:    "
      << (self.ok() ? std::string("ok (size, checksum, magic, version, "
                                  "address, schema)")
                    : absl::StrCat("FAILED: ", Printable(self.message())))
      << "\n";
}

void PrintSuperblockContents(const Context& context, const DumpedBlock& block) {
  const absl::StatusOr<Superblock> decoded = DecodeSuperblock(
      block.data, context.view->block_size_bytes, block.address);
  std::ostream& out = *context.out;
  if (!decoded.ok()) {
    out << "contents:      " << Printable(decoded.status().message()) << "\n";
    return;
  }
  out << "sequence:      " << decoded->sequence << "\n"
      << "op:            " << decoded->op << "\n"
      << "schema:        " << Printable(decoded->schema_name) << " ("
      << decoded->key_size_bytes << "-byte keys, " << decoded->value_size_bytes
      << "-byte values)\n"
      << "level_count:   " << decoded->level_count << "\n"
      << "manifest:      " << decoded->manifest_blocks.size() << " blocks\n";
  for (const BlockReference& reference : decoded->manifest_blocks) {
    out << "  block " << reference.address << ", checksum "
        << HexString(&reference.checksum, sizeof(reference.checksum)) << "\n";
  }
}

void PrintHex(const Context& context, const DumpedBlock& block) {
  if (!context.line->Has("hex") || block.all_zero) return;
  const uint32_t block_size = context.view->block_size_bytes;
  const uint32_t size = block.header.size_bytes >= kBlockHeaderSizeBytes &&
                                block.header.size_bytes <= block_size
                            ? block.header.size_bytes
                            : block_size;
  *context.out << "\nbytes [0, " << size << ")"
               << (size < block_size ? " (the rest is padding)" : "") << ":\n"
               << HexDump(block.data, size);
}

int RunDumpBlockWithoutSchema(const Context& context) {
  int exit_status = kExitOk;
  std::optional<DumpedBlock> block = ReadDumpedBlock(context, &exit_status);
  if (!block.has_value()) return exit_status;
  PrintBlockHeader(context, *block);
  if (block->intact && block->header.block_type == BlockType::kSuperblock) {
    *context.out << "\n";
    PrintSuperblockContents(context, *block);
  } else if (block->intact) {
    *context.out << "contents:      not decoded: the file's schema is not "
                    "built into this lsmscan (use --hex)\n";
  }
  PrintHex(context, *block);
  return kExitOk;
}

}  // namespace tool
}  // namespace lsmscan
