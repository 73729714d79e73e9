#!/usr/bin/env bash
# Builds lsmscan's fuzz targets (tools/fuzz/*_fuzz.cc) with clang, libFuzzer,
# AddressSanitizer and UndefinedBehaviorSanitizer, and runs each for a bounded
# time on a scratch copy of its seed corpus. Exits non-zero on any finding,
# printing the command that reproduces it. See doc/fuzzing.md.
#
#   tools/fuzz.sh [--seconds=N] [--only=NAME[,NAME...]] [--build-only]
#                 [--work=DIR] [--jobs=N]
#
#   --seconds=N    run time per target (default 60)
#   --only=NAMES   targets to run, e.g. --only=scan,whole_file
#   --build-only   build the fuzzers, run nothing
#   --work=DIR     scratch directory (default: a new /tmp/lsmscan-fuzz.*);
#                  binaries, corpora, logs and crash files go there
#   --jobs=N       parallel compile jobs (default 2)
#
# Environment: EXTRA_CXXFLAGS is appended to the compile flags (for example
# -DNDEBUG to fuzz without the expensive assertion tier).
#
# The repository is never modified: the corpus is copied, and new inputs
# libFuzzer finds stay in the scratch directory.

set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
ALL_TARGETS=(block_header data_block index_block manifest superblock scan whole_file lsmscan_tool)

seconds=60
only=""
build_only=0
work=""
jobs=2
for arg in "$@"; do
  case "${arg}" in
    --seconds=*) seconds="${arg#*=}" ;;
    --only=*) only="${arg#*=}" ;;
    --build-only) build_only=1 ;;
    --work=*) work="${arg#*=}" ;;
    --jobs=*) jobs="${arg#*=}" ;;
    -h|--help) sed -n '2,22p' "$0"; exit 0 ;;
    *) echo "fuzz.sh: unknown argument ${arg} (see --help)" >&2; exit 2 ;;
  esac
done

targets=("${ALL_TARGETS[@]}")
if [[ -n "${only}" ]]; then
  IFS=',' read -r -a targets <<<"${only}"
  for target in "${targets[@]}"; do
    if [[ ! -f "${ROOT}/tools/fuzz/${target}_fuzz.cc" ]]; then
      echo "fuzz.sh: no target ${target} (have: ${ALL_TARGETS[*]})" >&2
      exit 2
    fi
  done
fi

# Extra libFuzzer flags per target: programs and files are worth growing to
# full length at once (len_control=0) rather than slowly from the seeds.
extra_flags_for() {
  case "$1" in
    scan|whole_file|lsmscan_tool) echo "-len_control=0" ;;
    *) echo "" ;;
  esac
}

# The most bytes libFuzzer may make an input of each target.
max_len() {
  case "$1" in
    superblock) echo 16400 ;;
    scan) echo 2048 ;;
    whole_file|lsmscan_tool) echo 65536 ;;
    *) echo 4200 ;;
  esac
}

# --- (a) The toolchain: clang and libFuzzer's runtime -------------------------

fuzzer_runtime() {
  local dir
  dir="$(clang++ -print-resource-dir 2>/dev/null)" || return 1
  [[ -f "${dir}/lib/linux/libclang_rt.fuzzer-x86_64.a" ]]
}

if ! command -v clang++ >/dev/null 2>&1 || ! fuzzer_runtime ||
   ! command -v pkg-config >/dev/null 2>&1; then
  sudo=""
  if [[ "$(id -u)" -ne 0 ]]; then sudo="sudo"; fi
  echo "fuzz.sh: installing clang and libFuzzer (libclang-rt-14-dev)"
  ${sudo} apt-get update
  ${sudo} apt-get install -y clang libclang-rt-14-dev pkg-config \
    libabsl-dev libxxhash-dev nlohmann-json3-dev
  if ! fuzzer_runtime; then
    echo "fuzz.sh: libFuzzer's runtime is still missing under" \
         "$(clang++ -print-resource-dir)/lib/linux" >&2
    exit 1
  fi
fi

# --- (b) Build ----------------------------------------------------------------

if [[ -z "${work}" ]]; then
  work="$(mktemp -d /tmp/lsmscan-fuzz.XXXXXX)"
fi
mkdir -p "${work}"/{include,obj,bin,corpus,artifacts,logs}
work="$(cd "${work}" && pwd)"
# Headers are included as "lsmscan/<package>/<file>.h".
ln -sfn "${ROOT}" "${work}/include/lsmscan"

PKGS=(absl_status absl_statusor absl_strings absl_str_format libxxhash)
read -r -a pkg_cflags <<<"$(pkg-config --cflags "${PKGS[@]}")"
read -r -a pkg_libs <<<"$(pkg-config --libs "${PKGS[@]}")"
read -r -a extra_flags <<<"${EXTRA_CXXFLAGS:-}"

CXXFLAGS=(
  -std=c++20 -g -O1 -fno-omit-frame-pointer
  -Wall -Wextra
  -fno-sanitize-recover=undefined
  -I"${work}/include"
  "${pkg_cflags[@]}"
  "${extra_flags[@]}"
)

# The library sources every target may need (the rest is header-only).
LIB_SOURCES=(
  lsm/block_cache.cc
  lsm/block_header.cc
  lsm/checksum.cc
  lsm/free_set.cc
  lsm/grid.cc
  lsm/superblock.cc
  scan/scan_buffer.cc
  storage/aligned_buffer.cc
  storage/base/assert.cc
  storage/block_file.cc
  storage/fault_storage.cc
  storage/memory_storage.cc
  storage/pread_storage.cc
  storage/queued_storage.cc
  storage/storage.cc
  tools/lsmscan/command_line.cc
  tools/lsmscan/context.cc
  tools/lsmscan/dump_block.cc
  tools/lsmscan/file_view.cc
  tools/lsmscan/info_command.cc
  tools/lsmscan/output.cc
  tools/lsmscan/progress.cc
  tools/lsmscan/read_commands.cc
  tools/lsmscan/stats_command.cc
  tools/lsmscan/tool.cc
  tools/lsmscan/verify_command.cc
)

# A scratch directory reused with --work rebuilds only when a source, the
# flags or this script changed since its last build.
stamp="${work}/build.stamp"
flags_file="${work}/build.flags"
if [[ -f "${stamp}" && -f "${flags_file}" &&
      "$(cat "${flags_file}")" == "${CXXFLAGS[*]}" &&
      -z "$(find "${ROOT}/lsm" "${ROOT}/scan" "${ROOT}/storage" \
              "${ROOT}/tools/fuzz" "${ROOT}/tools/lsmscan" "$0" -newer "${stamp}" \
              \( -name '*.h' -o -name '*.cc' -o -name '*.sh' \) -print -quit)" ]]; then
  up_to_date=1
else
  up_to_date=0
  rm -f "${stamp}"
fi

export ROOT work
export COMPILE_FLAGS="${CXXFLAGS[*]}"
if (( ! up_to_date )); then
  echo "fuzz.sh: building in ${work}"
  printf '%s\n' "${LIB_SOURCES[@]}" | xargs -P "${jobs}" -I{} sh -c '
    out="${work}/obj/$(echo {} | tr / _).o"
    nice -n 10 clang++ ${COMPILE_FLAGS} \
      -fsanitize=fuzzer-no-link,address,undefined -c "${ROOT}/{}" -o "${out}"'
fi
objects=("${work}"/obj/*.o)
build_target() {
  local target="$1"
  if (( up_to_date )) && [[ -x "${work}/bin/${target}_fuzz" ]]; then return; fi
  nice -n 10 clang++ "${CXXFLAGS[@]}" -fsanitize=fuzzer,address,undefined \
    "${ROOT}/tools/fuzz/${target}_fuzz.cc" "${objects[@]}" \
    -o "${work}/bin/${target}_fuzz" "${pkg_libs[@]}"
}
pids=()
for target in "${targets[@]}"; do
  build_target "${target}" &
  pids+=($!)
  if (( ${#pids[@]} >= jobs )); then wait "${pids[0]}"; pids=("${pids[@]:1}"); fi
done
for pid in "${pids[@]}"; do wait "${pid}"; done
if (( ! up_to_date )); then
  echo "${CXXFLAGS[*]}" >"${flags_file}"
  # Only a complete build of every target counts as up to date.
  if (( ${#targets[@]} == ${#ALL_TARGETS[@]} )); then touch "${stamp}"; fi
fi
echo "fuzz.sh: built ${targets[*]}"
if (( build_only )); then
  echo "fuzz.sh: binaries in ${work}/bin"
  exit 0
fi

# --- (c) Run --------------------------------------------------------------------

failed=()
summary=()
for target in "${targets[@]}"; do
  corpus="${work}/corpus/${target}"
  artifacts="${work}/artifacts/${target}"
  log="${work}/logs/${target}.log"
  mkdir -p "${corpus}" "${artifacts}"
  cp -n "${ROOT}/tools/fuzz/corpus/${target}"/* "${corpus}/" 2>/dev/null || true
  echo "fuzz.sh: ${target}: ${seconds} s on $(ls "${corpus}" | wc -l) inputs"
  status=0
  ASAN_OPTIONS="abort_on_error=1:detect_leaks=1:${ASAN_OPTIONS:-}" \
  UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:${UBSAN_OPTIONS:-}" \
    nice -n 10 "${work}/bin/${target}_fuzz" \
      -max_total_time="${seconds}" -timeout=30 -rss_limit_mb=4096 \
      -max_len="$(max_len "${target}")" -print_final_stats=1 \
      $(extra_flags_for "${target}") \
      -dict="${ROOT}/tools/fuzz/lsmscan.dict" \
      -artifact_prefix="${artifacts}/" "${corpus}" >"${log}" 2>&1 || status=$?
  done_line="$(grep -E '^#[0-9]+[[:space:]]+DONE' "${log}" | tail -1 || true)"
  execs="$(grep -E '^stat::number_of_executed_units' "${log}" | awk '{print $2}' || true)"
  if [[ "${status}" -ne 0 ]]; then
    crash="$(ls -t "${artifacts}" 2>/dev/null | head -1 || true)"
    echo "fuzz.sh: ${target}: FINDING (exit ${status}); log: ${log}"
    grep -E 'ERROR:|assertion failed|check failed|runtime error|SUMMARY' "${log}" |
      head -5 | sed 's/^/    /'
    if [[ -n "${crash}" ]]; then
      echo "    reproduce: ${work}/bin/${target}_fuzz ${artifacts}/${crash}"
      echo "    minimise:  ${work}/bin/${target}_fuzz -minimize_crash=1" \
           "-max_total_time=60 ${artifacts}/${crash}"
    fi
    failed+=("${target}")
    summary+=("${target}: FINDING")
  else
    cov="$(grep -oE 'cov: [0-9]+' <<<"${done_line}" | awk '{print $2}' || true)"
    ft="$(grep -oE 'ft: [0-9]+' <<<"${done_line}" | awk '{print $2}' || true)"
    corp="$(grep -oE 'corp: [0-9]+/[0-9]+[a-zA-Z]*' <<<"${done_line}" | awk '{print $2}' || true)"
    rate="$(grep -oE 'exec/s: [0-9]+' <<<"${done_line}" | awk '{print $2}' || true)"
    summary+=("${target}: ok, ${execs:-?} execs (${rate:-?}/s), coverage ${cov:-?} edges, ${ft:-?} features, corpus ${corp:-?}")
  fi
done

echo
echo "fuzz.sh: results (${seconds} s each; logs in ${work}/logs)"
for line in "${summary[@]}"; do echo "  ${line}"; done
if (( ${#failed[@]} > 0 )); then
  echo "fuzz.sh: findings in: ${failed[*]}"
  exit 1
fi
echo "fuzz.sh: no findings"
