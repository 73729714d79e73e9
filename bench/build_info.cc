#include "lsmscan/bench/build_info.h"

#include <dlfcn.h>
#include <elf.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <cstring>
#include <ctime>
#include <fstream>
#include <iterator>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"

namespace lsmscan {
namespace bench {

MachineInfo CollectMachineInfo() {
  MachineInfo info;
  std::ifstream cpuinfo("/proc/cpuinfo");
  std::string line;
  while (std::getline(cpuinfo, line)) {
    if (absl::StartsWith(line, "model name")) {
      const size_t colon = line.find(':');
      if (colon != std::string::npos) {
        info.cpu = std::string(absl::StripLeadingAsciiWhitespace(
            absl::string_view(line).substr(colon + 1)));
      }
      break;
    }
  }
  info.cores = static_cast<int>(sysconf(_SC_NPROCESSORS_ONLN));
  struct utsname name;
  if (uname(&name) == 0)
    info.kernel = absl::StrCat(name.sysname, " ", name.release);
#if defined(__clang__)
  info.compiler = absl::StrCat("clang ", __clang_version__);
#elif defined(__GNUC__)
  info.compiler = absl::StrCat("g++ ", __VERSION__);
#endif
#if defined(__OPTIMIZE__)
  info.optimized = true;
#endif
  char date[32];
  const std::time_t now = std::time(nullptr);
  std::strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&now));
  info.date = date;
  return info;
}

absl::StatusOr<bool> ElfImportsSymbol(const std::string& path,
                                      const std::string& name) {
  std::ifstream file(path, std::ios::binary);
  if (!file) return absl::NotFoundError(absl::StrCat("cannot read ", path));
  const std::vector<char> bytes((std::istreambuf_iterator<char>(file)),
                                std::istreambuf_iterator<char>());
  auto in_file = [&](uint64_t offset, uint64_t size) {
    return offset <= bytes.size() && size <= bytes.size() - offset;
  };
  Elf64_Ehdr header;
  if (!in_file(0, sizeof(header)))
    return absl::DataLossError("not an ELF file");
  std::memcpy(&header, bytes.data(), sizeof(header));
  if (std::memcmp(header.e_ident, ELFMAG, SELFMAG) != 0 ||
      header.e_ident[EI_CLASS] != ELFCLASS64 ||
      header.e_shentsize != sizeof(Elf64_Shdr) ||
      !in_file(header.e_shoff, uint64_t{header.e_shnum} * sizeof(Elf64_Shdr))) {
    return absl::DataLossError(
        absl::StrCat(path, " is not a readable ELF64 file"));
  }
  std::vector<Elf64_Shdr> sections(header.e_shnum);
  std::memcpy(sections.data(), bytes.data() + header.e_shoff,
              sections.size() * sizeof(Elf64_Shdr));
  for (const Elf64_Shdr& section : sections) {
    if (section.sh_type != SHT_DYNSYM || section.sh_link >= sections.size()) {
      continue;
    }
    const Elf64_Shdr& strings = sections[section.sh_link];
    if (!in_file(section.sh_offset, section.sh_size) ||
        !in_file(strings.sh_offset, strings.sh_size)) {
      return absl::DataLossError("ELF dynamic symbol table out of bounds");
    }
    const size_t count = section.sh_size / sizeof(Elf64_Sym);
    for (size_t i = 0; i < count; i++) {
      Elf64_Sym symbol;
      std::memcpy(&symbol,
                  bytes.data() + section.sh_offset + i * sizeof(symbol),
                  sizeof(symbol));
      if (symbol.st_shndx != SHN_UNDEF || symbol.st_name >= strings.sh_size) {
        continue;
      }
      const char* symbol_name =
          bytes.data() + strings.sh_offset + symbol.st_name;
      const size_t limit = strings.sh_size - symbol.st_name;
      if (strnlen(symbol_name, limit) == name.size() &&
          std::memcmp(symbol_name, name.data(), name.size()) == 0) {
        return true;
      }
    }
  }
  return false;
}

absl::StatusOr<LibraryInfo> InspectLibraryOf(const void* symbol) {
  Dl_info dl;
  if (dladdr(symbol, &dl) == 0 || dl.dli_fname == nullptr) {
    return absl::NotFoundError("dladdr found no object for the symbol");
  }
  LibraryInfo info;
  info.path = dl.dli_fname;
  if (!absl::StrContains(info.path, ".so")) {
    return absl::NotFoundError(absl::StrCat("the symbol is linked into ",
                                            info.path,
                                            " itself, not a shared library"));
  }
  absl::StatusOr<bool> imports = ElfImportsSymbol(info.path, "__assert_fail");
  if (!imports.ok()) return imports.status();
  info.imports_assert_fail = *imports;
  return info;
}

}  // namespace bench
}  // namespace lsmscan
