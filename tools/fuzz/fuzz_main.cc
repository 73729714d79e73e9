// File: tools/fuzz/fuzz_main.cc
// -----------------------------------------------------------------------------
//
// A main() for fuzz targets built without libFuzzer (the regular gcc build):
// it makes each target a deterministic regression test. It runs
// LLVMFuzzerTestOneInput() on every corpus file, then on pseudo-random
// mutations of them (bit flips, byte and integer overwrites with
// interesting values, inserts, erases, copies, truncation, crossover),
// drawn from a fixed seed, so `bazel test` runs the same inputs every time.
//
//   <target>_fuzz_test [--seed=S] [--mutations=N] [--max_seconds=T] PATH...
//
// PATHs are files or directories (every regular file in them, sorted). The
// seed defaults to 1 (or $LSMSCAN_FUZZ_SEED). Every one of the --mutations
// runs, so a run does the same work on every machine; --max_seconds
// (default 60) bounds its time: a run that has not finished them by then
// stops and fails (exit 1), never passes having checked less. It prints
// how many inputs it executed. If an input crashes, the
// input is written to $TEST_UNDECLARED_OUTPUTS_DIR (else the working
// directory) as crash-<hash>, and its path is printed, before the process
// dies; run the test binary on that file to reproduce it.

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "lsmscan/storage/base/prng.h"
#include "lsmscan/tools/fuzz/fuzz_util.h"

namespace lsmscan {
namespace fuzz {
namespace {

using Input = std::vector<uint8_t>;

// The input being run, for the crash handler.
const Input* g_current = nullptr;
char g_crash_path[4096];

constexpr int kSignals[] = {SIGABRT, SIGSEGV, SIGBUS, SIGFPE, SIGILL};
struct sigaction g_previous[std::size(kSignals)];

// Writes the current input to g_crash_path (async-signal-safe), then hands
// the signal to the handler installed before ours (a sanitizer's, or the
// default), which reports it.
void CrashHandler(int signal_number) {
  if (g_current != nullptr) {
    const int fd = open(g_crash_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd >= 0) {
      const uint8_t* bytes = g_current->data();
      size_t left = g_current->size();
      while (left > 0) {
        const ssize_t n = write(fd, bytes, left);
        if (n <= 0) break;
        bytes += n;
        left -= static_cast<size_t>(n);
      }
      close(fd);
      const char message[] = "fuzz_main: the crashing input is in ";
      (void)!write(STDERR_FILENO, message, sizeof(message) - 1);
      (void)!write(STDERR_FILENO, g_crash_path, strlen(g_crash_path));
      (void)!write(STDERR_FILENO, "\n", 1);
    }
    g_current = nullptr;
  }
  for (size_t i = 0; i < std::size(kSignals); i++) {
    if (kSignals[i] == signal_number) {
      sigaction(signal_number, &g_previous[i], nullptr);
    }
  }
  raise(signal_number);
}

void InstallCrashHandler() {
  for (size_t i = 0; i < std::size(kSignals); i++) {
    struct sigaction action;
    std::memset(&action, 0, sizeof(action));
    action.sa_handler = &CrashHandler;
    sigemptyset(&action.sa_mask);
    sigaction(kSignals[i], &action, &g_previous[i]);
  }
}

// FNV-1a, to name a crash file after its contents.
uint64_t Hash(const Input& input) {
  uint64_t hash = 0xcbf29ce484222325ull;
  for (uint8_t byte : input) hash = (hash ^ byte) * 0x100000001b3ull;
  return hash;
}

void RunOne(const Input& input) {
  const char* directory = std::getenv("TEST_UNDECLARED_OUTPUTS_DIR");
  std::snprintf(g_crash_path, sizeof(g_crash_path), "%s/crash-%016" PRIx64,
                directory != nullptr ? directory : ".", Hash(input));
  g_current = &input;
  LLVMFuzzerTestOneInput(input.data(), input.size());
  g_current = nullptr;
}

Input ReadFile(const std::filesystem::path& path) {
  std::ifstream file(path, std::ios::binary);
  return Input(std::istreambuf_iterator<char>(file),
               std::istreambuf_iterator<char>());
}

// Values that often sit on a decoder's edge.
uint64_t InterestingValue(Prng* prng) {
  static constexpr uint64_t kValues[] = {0,
                                         1,
                                         2,
                                         3,
                                         7,
                                         8,
                                         15,
                                         16,
                                         31,
                                         32,
                                         63,
                                         64,
                                         65,
                                         112,
                                         127,
                                         128,
                                         255,
                                         256,
                                         4095,
                                         4096,
                                         4097,
                                         8192,
                                         65535,
                                         65536,
                                         1u << 31,
                                         0x424D534C,
                                         UINT32_MAX,
                                         UINT64_MAX,
                                         UINT64_MAX - 1,
                                         uint64_t{1} << 63};
  uint64_t value = kValues[prng->Uniform(std::size(kValues))];
  if (prng->Chance(0.2)) value = ~value + 1;  // Negated.
  return value;
}

void Mutate(Input* input, const std::vector<Input>& corpus, Prng* prng) {
  const uint32_t count = 1 + static_cast<uint32_t>(prng->Uniform(4));
  for (uint32_t m = 0; m < count; m++) {
    const size_t size = input->size();
    switch (prng->Uniform(size == 0 ? 1 : 9)) {
      case 0: {  // Insert random bytes.
        const size_t at = prng->Uniform(size + 1);
        const size_t n = 1 + prng->Uniform(8);
        for (size_t i = 0; i < n; i++) {
          input->insert(input->begin() + static_cast<ptrdiff_t>(at),
                        static_cast<uint8_t>(prng->Next()));
        }
        break;
      }
      case 1:  // Flip a bit.
        (*input)[prng->Uniform(size)] ^=
            static_cast<uint8_t>(1u << prng->Uniform(8));
        break;
      case 2:  // A random byte.
        (*input)[prng->Uniform(size)] = static_cast<uint8_t>(prng->Next());
        break;
      case 3: {  // An interesting 1, 2, 4 or 8-byte integer.
        const size_t width = size_t{1} << prng->Uniform(4);
        if (width > size) break;
        const size_t at = prng->Uniform(size - width + 1);
        const uint64_t value = InterestingValue(prng);
        std::memcpy(input->data() + at, &value, width);
        break;
      }
      case 4: {  // Add a small delta to an integer.
        const size_t width = size_t{1} << prng->Uniform(4);
        if (width > size) break;
        const size_t at = prng->Uniform(size - width + 1);
        uint64_t value = 0;
        std::memcpy(&value, input->data() + at, width);
        value += prng->Uniform(33) - 16;
        std::memcpy(input->data() + at, &value, width);
        break;
      }
      case 5: {  // Erase a run.
        const size_t at = prng->Uniform(size);
        const size_t n = std::min<size_t>(1 + prng->Uniform(16), size - at);
        input->erase(input->begin() + static_cast<ptrdiff_t>(at),
                     input->begin() + static_cast<ptrdiff_t>(at + n));
        break;
      }
      case 6: {  // Copy a run within the input.
        const size_t from = prng->Uniform(size);
        const size_t to = prng->Uniform(size);
        const size_t n =
            std::min({size_t{1} + prng->Uniform(64), size - from, size - to});
        std::memmove(input->data() + to, input->data() + from, n);
        break;
      }
      case 7:  // Truncate.
        input->resize(prng->Uniform(size + 1));
        break;
      case 8: {  // Crossover: splice in a piece of another input.
        const Input& other = corpus[prng->Uniform(corpus.size())];
        if (other.empty()) break;
        const size_t from = prng->Uniform(other.size());
        const size_t n =
            std::min<size_t>(1 + prng->Uniform(256), other.size() - from);
        const size_t at = prng->Uniform(size + 1);
        input->insert(input->begin() + static_cast<ptrdiff_t>(at),
                      other.begin() + static_cast<ptrdiff_t>(from),
                      other.begin() + static_cast<ptrdiff_t>(from + n));
        break;
      }
    }
  }
}

bool ParseFlag(const char* arg, const char* name, uint64_t* value) {
  const size_t length = std::strlen(name);
  if (std::strncmp(arg, name, length) != 0 || arg[length] != '=') return false;
  *value = std::strtoull(arg + length + 1, nullptr, 10);
  return true;
}

// What a run does: the flags and the corpus files.
struct Options {
  uint64_t seed = 1;
  uint64_t mutations = 1000;
  uint64_t max_seconds = 60;
  std::vector<std::filesystem::path> files;
};

// Adds `path` to `files`: a file, or a directory's regular files in name
// order. False if it is neither.
bool AddPath(const std::filesystem::path& path,
             std::vector<std::filesystem::path>* files) {
  if (std::filesystem::is_directory(path)) {
    std::vector<std::filesystem::path> entries;
    for (const auto& entry : std::filesystem::directory_iterator(path)) {
      if (entry.is_regular_file()) entries.push_back(entry.path());
    }
    std::sort(entries.begin(), entries.end());
    files->insert(files->end(), entries.begin(), entries.end());
    return true;
  }
  if (std::filesystem::is_regular_file(path)) {
    files->push_back(path);
    return true;
  }
  return false;
}

// Reads LSMSCAN_FUZZ_SEED, then the flags and paths (which override it).
// False, after saying why, on an unknown flag, a missing path or no path.
bool ParseArgs(int argc, char** argv, Options* options) {
  if (const char* env = std::getenv("LSMSCAN_FUZZ_SEED"); env != nullptr) {
    options->seed = std::strtoull(env, nullptr, 10);
  }
  for (int i = 1; i < argc; i++) {
    const char* arg = argv[i];
    if (ParseFlag(arg, "--seed", &options->seed) ||
        ParseFlag(arg, "--mutations", &options->mutations) ||
        ParseFlag(arg, "--max_seconds", &options->max_seconds)) {
      continue;
    }
    if (arg[0] == '-') {
      std::fprintf(stderr, "fuzz_main: unknown flag %s\n", arg);
      return false;
    }
    if (!AddPath(std::filesystem::path(arg), &options->files)) {
      std::fprintf(stderr, "fuzz_main: no such file or directory: %s\n", arg);
      return false;
    }
  }
  if (options->files.empty()) {
    std::fprintf(stderr,
                 "usage: %s [--seed=S] [--mutations=N] [--max_seconds=T] "
                 "PATH...\n",
                 argv[0]);
    return false;
  }
  return true;
}

// Runs `options.mutations` mutants of random corpus inputs, all of them, so
// a run's work is the same on every machine; returns how many ran: fewer
// only if `options.max_seconds` passed since `start` first (Main() then
// fails the run rather than pass having checked less).
uint64_t RunMutations(const std::vector<Input>& corpus, const Options& options,
                      std::chrono::steady_clock::time_point start) {
  Prng prng(options.seed);
  uint64_t done = 0;
  for (; done < options.mutations; done++) {
    if (done % 64 == 0 && std::chrono::steady_clock::now() - start >
                              std::chrono::seconds(options.max_seconds)) {
      break;
    }
    Input input = corpus[prng.Uniform(corpus.size())];
    Mutate(&input, corpus, &prng);
    RunOne(input);
  }
  return done;
}

int Main(int argc, char** argv) {
  Options options;
  if (!ParseArgs(argc, argv, &options)) return 2;
  InstallCrashHandler();
  const auto start = std::chrono::steady_clock::now();
  std::vector<Input> corpus;
  for (const std::filesystem::path& file : options.files) {
    corpus.push_back(ReadFile(file));
    std::fprintf(stderr, "fuzz_main: %s (%zu bytes)\n", file.c_str(),
                 corpus.back().size());
    RunOne(corpus.back());
  }
  std::fprintf(stderr,
               "fuzz_main: seed %" PRIu64 ", %zu corpus inputs, %" PRIu64
               " mutations\n",
               options.seed, corpus.size(), options.mutations);
  const uint64_t done = RunMutations(corpus, options, start);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
          .count();
  if (done < options.mutations) {
    std::fprintf(stderr,
                 "fuzz_main: FAILED: only %" PRIu64 " of %" PRIu64
                 " mutations ran within --max_seconds=%" PRIu64
                 " (%.1f s): the run must execute all of them (the target got "
                 "slower, or the machine is overloaded; lower --mutations "
                 "only with a reason)\n",
                 done, options.mutations, options.max_seconds, seconds);
    return 1;
  }
  std::fprintf(stderr,
               "fuzz_main: ran %zu corpus inputs and %" PRIu64
               " mutations (seed %" PRIu64 "), %" PRIu64
               " executions in %.1f s: no finding\n",
               corpus.size(), done, options.seed, corpus.size() + done,
               seconds);
  return 0;
}

}  // namespace
}  // namespace fuzz
}  // namespace lsmscan

int main(int argc, char** argv) { return lsmscan::fuzz::Main(argc, argv); }
