#!/usr/bin/env bash
# tools/format.sh: formats lsmscan's sources, or checks that they are.
#
#   tools/format.sh           # rewrite C++ (clang-format) and Bazel files
#                             # (buildifier) in place
#   tools/format.sh --check   # change nothing; list unformatted files and
#                             # exit 1 if there are any (CI runs this)
#
# C++ follows .clang-format (Google style) with Debian bookworm's
# clang-format 14, which ./bazelw installs. BUILD, WORKSPACE and .bzl files
# follow buildifier, from the npm registry (@bazel/buildifier, pinned below),
# installed once into ${XDG_CACHE_HOME:-~/.cache}/lsmscan/buildifier.
set -euo pipefail
cd "$(dirname "$0")/.."

readonly BUILDIFIER_VERSION=8.2.1
readonly CACHE_DIR="${XDG_CACHE_HOME:-${HOME}/.cache}/lsmscan/buildifier"

check=0
case "${1:-}" in
  --check) check=1 ;;
  "") ;;
  *)
    echo "usage: tools/format.sh [--check]" >&2
    exit 2
    ;;
esac

if ! command -v clang-format >/dev/null 2>&1; then
  echo "format: clang-format not found (Debian package clang-format; ./bazelw installs it)" >&2
  exit 2
fi
if [[ "$(clang-format --version)" != *"version 14."* ]]; then
  echo "format: expected clang-format 14 (Debian bookworm), got: $(clang-format --version)" >&2
  echo "format: other versions format some lines differently" >&2
  exit 2
fi

install_buildifier() {
  local binary="${CACHE_DIR}/node_modules/.bin/buildifier"
  if [[ -x "${binary}" ]] &&
      "${binary}" --version 2>/dev/null | grep -q "version: ${BUILDIFIER_VERSION}"; then
    printf '%s\n' "${binary}"
    return 0
  fi
  if ! command -v npm >/dev/null 2>&1; then
    echo "format: installing npm (Debian) for buildifier" >&2
    local -a sudo=()
    [[ "$(id -u)" -ne 0 ]] && sudo=(sudo)
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
      apt-get install -y -qq --no-install-recommends npm >&2
  fi
  mkdir -p "${CACHE_DIR}"
  npm install --silent --no-audit --no-fund --prefix "${CACHE_DIR}" \
    "@bazel/buildifier@${BUILDIFIER_VERSION}" >&2
  printf '%s\n' "${binary}"
}

buildifier="$(install_buildifier)"

mapfile -t cpp_files < <(git ls-files '*.h' '*.cc')
mapfile -t bazel_files < <(git ls-files 'WORKSPACE' '*/WORKSPACE' \
  'BUILD.bazel' '*/BUILD.bazel' '*.bzl')

if [[ "${check}" -eq 0 ]]; then
  clang-format -i "${cpp_files[@]}"
  "${buildifier}" "${bazel_files[@]}"
  exit 0
fi

unformatted=()
for file in "${cpp_files[@]}"; do
  if ! clang-format --dry-run -Werror "${file}" >/dev/null 2>&1; then
    unformatted+=("${file}")
  fi
done
while IFS= read -r line; do
  [[ -n "${line}" ]] && unformatted+=("${line%% *}")
done < <("${buildifier}" -mode=check "${bazel_files[@]}" 2>&1 | grep ' # reformat' || true)

if [[ ${#unformatted[@]} -gt 0 ]]; then
  echo "format: these files are not formatted (run tools/format.sh):" >&2
  printf '  %s\n' "${unformatted[@]}" >&2
  exit 1
fi
echo "format: ${#cpp_files[@]} C++ files and ${#bazel_files[@]} Bazel files are formatted"
