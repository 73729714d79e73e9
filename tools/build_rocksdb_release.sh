#!/usr/bin/env bash
# build_rocksdb_release.sh: builds Debian's own RocksDB source as a release
# build (-DNDEBUG, liburing), the fair baseline for //bench:compare.
#
#   tools/build_rocksdb_release.sh [--prefix=DIR] [--jobs=N] [--opt=O3|O2]
#       [--library=static|shared] [--db_bench]
#   ./bazelw run --config=rocksdb_release //bench:compare
#
# Why: Debian's librocksdb is built with CMake build type "None", so NDEBUG is
# never defined and every assert() of RocksDB stays in; that build scans
# markedly slower than a release build of the same source. This script gets
# the very source package Debian built its librocksdb-dev from (apt-get
# source, through a deb-src entry for the archive this machine already uses),
# and builds it with Debian's own compiler flags (dpkg-buildflags) minus -g,
# plus -DNDEBUG. Unlike Debian's build it links liburing (so RocksDB's
# async_io can work) and, by default, builds -O3 and a static library (the
# faster variant: bench/RESULTS.md, "Build variants"; --opt=O2
# --library=shared builds the other). Like Debian's build it is PORTABLE (no
# -march=native) and uses no jemalloc; it links no compression library, and
# gflags and db_bench only with --db_bench (the cross-check in RESULTS.md).
# It builds no tests or examples.
#
# Everything goes under ${XDG_CACHE_HOME:-$HOME/.cache}/lsmscan (source,
# build tree, and the install prefix rocksdb-release/), never into the
# repository. Run once: each phase is skipped when its result is already
# there, so running again is cheap. A full build takes tens of minutes on two
# cores; it runs under `nice`.
set -euo pipefail

readonly CACHE_ROOT="${XDG_CACHE_HOME:-${HOME}/.cache}/lsmscan"
PREFIX="${CACHE_ROOT}/rocksdb-release"
JOBS="$(nproc 2>/dev/null || echo 2)"
OPT_LEVEL=O3
LIBRARY_KIND=static
DB_BENCH=0
readonly SOURCES_FILE=/etc/apt/sources.list.d/lsmscan-deb-src.sources
readonly DEBIAN_SOURCES=/etc/apt/sources.list.d/debian.sources
readonly BINARY_PACKAGE=librocksdb-dev

usage() {
  sed -n '2,7p' "$0" | sed 's/^# \{0,1\}//'
  exit "${1:-0}"
}

for argument in "$@"; do
  case "${argument}" in
    --prefix=*) PREFIX="${argument#--prefix=}" ;;
    --jobs=*) JOBS="${argument#--jobs=}" ;;
    --opt=O2 | --opt=O3) OPT_LEVEL="${argument#--opt=}" ;;
    --library=static | --library=shared) LIBRARY_KIND="${argument#--library=}" ;;
    --db_bench) DB_BENCH=1 ;;
    -h | --help) usage 0 ;;
    *) echo "build_rocksdb_release: unknown argument ${argument}" >&2; usage 2 >&2 ;;
  esac
done
# Absolute, as LSMSCAN_ROCKSDB_RELEASE must be.
PREFIX="$(realpath -m -- "${PREFIX}")"
readonly PREFIX JOBS OPT_LEVEL LIBRARY_KIND DB_BENCH
readonly SOURCE_ROOT="${CACHE_ROOT}/rocksdb-source"
# One build tree per variant, so building another variant keeps this one.
readonly BUILD_DIR="${CACHE_ROOT}/rocksdb-build-${OPT_LEVEL}-${LIBRARY_KIND}"
if [[ "${LIBRARY_KIND}" == static ]]; then
  readonly LIBRARY_FILE=librocksdb.a LIBRARY_TARGET=rocksdb
else
  readonly LIBRARY_FILE=librocksdb.so LIBRARY_TARGET=rocksdb-shared
fi
# What this run builds: a prefix holding another variant is rebuilt.
readonly VARIANT="opt=-${OPT_LEVEL} library=${LIBRARY_KIND} liburing=ON db_bench=${DB_BENCH}"
readonly STAMP="${PREFIX}/lsmscan-rocksdb-release.txt"

phase_number=0
phase() {
  phase_number=$((phase_number + 1))
  printf '[build_rocksdb_release] %d/7 %s\n' "${phase_number}" "$*"
}
say() { printf '[build_rocksdb_release]     %s\n' "$*"; }
die() {
  printf '[build_rocksdb_release] ERROR: %s\n' "$*" >&2
  printf '[build_rocksdb_release] no release build in %s yet; without one, //bench:compare uses Debian'"'"'s librocksdb\n' \
    "${PREFIX}" >&2
  exit 1
}

# Runs a command as root: directly when root, else through sudo.
as_root() {
  if [[ "$(id -u)" -eq 0 ]]; then
    "$@"
  elif command -v sudo >/dev/null 2>&1; then
    sudo "$@"
  else
    die "not root and no sudo: cannot run $*"
  fi
}

# The Debian version of the installed librocksdb-dev's source package: the
# release build must be the very same source (e.g. 7.8.3-2).
installed_source_version() {
  dpkg-query -W -f='${source:Version}' "${BINARY_PACKAGE}" 2>/dev/null || true
}

# --- 1. The Debian package whose source we build -----------------------------
phase "checking ${BINARY_PACKAGE} (the Debian build the benchmark uses today)"
VERSION="$(installed_source_version)"
if [[ -z "${VERSION}" ]]; then
  die "${BINARY_PACKAGE} is not installed; run ./bazelw once (it installs it), then run this again"
fi
readonly VERSION
readonly UPSTREAM_VERSION="${VERSION%%-*}"
say "Debian's librocksdb is ${VERSION}; building the same source with -DNDEBUG"
if [[ -f "${STAMP}" ]] && grep -qx "debian_source_version=${VERSION}" "${STAMP}" &&
    grep -qxF "variant=${VARIANT}" "${STAMP}" &&
    [[ -e "${PREFIX}/lib/${LIBRARY_FILE}" && -f "${PREFIX}/include/rocksdb/db.h" ]]; then
  say "already built: ${PREFIX} (delete it to build again)"
  cat "${STAMP}"
  exit 0
fi

# --- 2. Build tools ------------------------------------------------------------
phase "checking the build tools (dpkg-dev for apt-get source, cmake, g++, make, liburing-dev)"
missing=()
packages=(dpkg-dev cmake g++ make liburing-dev)
if [[ "${DB_BENCH}" == 1 ]]; then packages+=(libgflags-dev); fi
for package in "${packages[@]}"; do
  if [[ "$(dpkg-query -W -f='${Status}' "${package}" 2>/dev/null)" != \
        "install ok installed" ]]; then
    missing+=("${package}")
  fi
done
if [[ ${#missing[@]} -gt 0 ]]; then
  say "installing ${missing[*]} through apt-get"
  as_root apt-get update -qq >/dev/null 2>&1 ||
    say "apt-get update reported errors; trying the install anyway"
  as_root env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y -qq --no-install-recommends "${missing[@]}" ||
    die "could not install ${missing[*]} (apt-get install failed)"
else
  say "all present"
fi

# --- 3. A deb-src entry for the archive this machine already uses -------------
phase "adding a deb-src entry (${SOURCES_FILE})"
if [[ -f "${SOURCES_FILE}" ]]; then
  say "already there"
else
  [[ -f "${DEBIAN_SOURCES}" ]] ||
    die "${DEBIAN_SOURCES} not found: add a deb-src line for Debian's archive by hand, then run again"
  # The same stanzas as Debian's own entry, with "Types: deb-src": same URIs,
  # suites, components and signing key.
  entry="$(sed -e 's/^Types:.*/Types: deb-src/' "${DEBIAN_SOURCES}")"
  grep -q '^URIs:' <<<"${entry}" || die "no URIs in ${DEBIAN_SOURCES}"
  printf '# Added by lsmscan tools/build_rocksdb_release.sh: Debian source packages\n# from the same archive as %s.\n%s\n' \
    "${DEBIAN_SOURCES}" "${entry}" | as_root tee "${SOURCES_FILE}" >/dev/null
  say "written"
fi

# --- 4. Debian's source package ----------------------------------------------
SOURCE_DIR="${SOURCE_ROOT}/rocksdb-${UPSTREAM_VERSION}"
phase "getting Debian's rocksdb ${VERSION} source (apt-get source) into ${SOURCE_ROOT}"
if [[ -f "${SOURCE_DIR}/CMakeLists.txt" && -d "${SOURCE_DIR}/debian" ]]; then
  say "already there: ${SOURCE_DIR}"
else
  say "apt-get update (source lists)"
  as_root apt-get update -qq >/dev/null 2>&1 ||
    say "apt-get update reported errors; trying apt-get source anyway"
  mkdir -p "${SOURCE_ROOT}"
  rm -rf "${SOURCE_DIR}"
  (cd "${SOURCE_ROOT}" && apt-get source -qq "rocksdb=${VERSION}") ||
    die "apt-get source rocksdb=${VERSION} failed: is Debian's archive reachable, and does it still carry ${VERSION}?"
  [[ -f "${SOURCE_DIR}/CMakeLists.txt" ]] ||
    die "apt-get source did not unpack ${SOURCE_DIR}"
  say "unpacked with Debian's patches applied: ${SOURCE_DIR}"
fi

# --- 5. Configure --------------------------------------------------------------
# Debian's flags (dpkg-buildflags: -O2, hardening) without debug info and
# file-prefix maps, with -O2 replaced by the chosen level, plus -DNDEBUG.
debian_flags="$(dpkg-buildflags --get CXXFLAGS) $(dpkg-buildflags --get CPPFLAGS)"
cxx_flags=""
for flag in ${debian_flags}; do
  case "${flag}" in
    -g | -ffile-prefix-map=*) ;;
    -O2) cxx_flags="${cxx_flags:+${cxx_flags} }-${OPT_LEVEL}" ;;
    *) cxx_flags="${cxx_flags:+${cxx_flags} }${flag}" ;;
  esac
done
readonly cxx_flags
ld_flags="$(dpkg-buildflags --get LDFLAGS)"
readonly ld_flags
cmake_arguments=(
  -S "${SOURCE_DIR}" -B "${BUILD_DIR}"
  -DCMAKE_BUILD_TYPE=Release
  "-DCMAKE_CXX_FLAGS=${cxx_flags}"
  "-DCMAKE_C_FLAGS=${cxx_flags}"
  "-DCMAKE_CXX_FLAGS_RELEASE=-DNDEBUG"
  "-DCMAKE_C_FLAGS_RELEASE=-DNDEBUG"
  "-DCMAKE_SHARED_LINKER_FLAGS=${ld_flags}"
  # As Debian's build: portable code (no -march=native), RTTI on (CMake's
  # AUTO would add -fno-rtti to a Release build; RTTI costs scans nothing).
  -DPORTABLE=ON
  -DFORCE_SSE42=OFF
  -DUSE_RTTI=ON
  -DFAIL_ON_WARNINGS=OFF
  "-DROCKSDB_BUILD_SHARED=$([[ "${LIBRARY_KIND}" == shared ]] && echo ON || echo OFF)"
  "-DWITH_GFLAGS=$([[ "${DB_BENCH}" == 1 ]] && echo ON || echo OFF)"
  -DWITH_SNAPPY=OFF
  -DWITH_LZ4=OFF
  -DWITH_ZLIB=OFF
  -DWITH_ZSTD=OFF
  -DWITH_BZ2=OFF
  -DWITH_JEMALLOC=OFF
  # io_uring for MultiGet and async_io; the shared liburing (Debian's static
  # one is not position-independent, and RocksDB's finder prefers it).
  -DWITH_LIBURING=ON
  "-During_LIBRARIES=$(pkg-config --variable=libdir liburing)/liburing.so"
  -DWITH_TESTS=OFF
  -DWITH_ALL_TESTS=OFF
  -DWITH_TOOLS=OFF
  -DWITH_CORE_TOOLS=OFF
  -DWITH_TRACE_TOOLS=OFF
  "-DWITH_BENCHMARK_TOOLS=$([[ "${DB_BENCH}" == 1 ]] && echo ON || echo OFF)"
  -DWITH_EXAMPLES=OFF
)
configure_signature="$(printf '%s\n' "${cmake_arguments[@]}" | sha256sum | cut -c1-16)"
phase "configuring a Release build in ${BUILD_DIR}"
if [[ -f "${BUILD_DIR}/CMakeCache.txt" && \
      "$(cat "${BUILD_DIR}/lsmscan-configure.txt" 2>/dev/null)" == "${configure_signature}" ]]; then
  say "already configured"
else
  rm -rf "${BUILD_DIR}"
  mkdir -p "${BUILD_DIR}"
  say "flags: ${cxx_flags} -DNDEBUG"
  nice -n 10 cmake "${cmake_arguments[@]}" >"${BUILD_DIR}/configure.log" 2>&1 ||
    die "cmake failed; see ${BUILD_DIR}/configure.log"
  echo "${configure_signature}" >"${BUILD_DIR}/lsmscan-configure.txt"
  say "configured (log: ${BUILD_DIR}/configure.log)"
fi

# --- 6. Build the library (and db_bench) --------------------------------------
# RocksDB's CMake compiles every source once per library kind; only the kind
# asked for is built.
targets=("${LIBRARY_TARGET}")
what="${LIBRARY_FILE} (-${OPT_LEVEL}, liburing)"
if [[ "${DB_BENCH}" == 1 ]]; then
  targets+=(db_bench)
  what="${what} and db_bench"
fi
phase "building ${what} with ${JOBS} jobs under nice (tens of minutes on 2 cores)"
say "log: ${BUILD_DIR}/build.log"
grep -q 'Found uring' "${BUILD_DIR}/configure.log" ||
  die "cmake did not find liburing (see ${BUILD_DIR}/configure.log): install liburing-dev"
nice -n 10 cmake --build "${BUILD_DIR}" --target "${targets[@]}" -j "${JOBS}" \
    >"${BUILD_DIR}/build.log" 2>&1 ||
  die "the build failed; see the end of ${BUILD_DIR}/build.log"
if [[ "${LIBRARY_KIND}" == static ]]; then
  library="${BUILD_DIR}/librocksdb.a"
else
  library="$(find "${BUILD_DIR}" -maxdepth 1 -name "librocksdb.so.${UPSTREAM_VERSION}" | head -n 1)"
fi
[[ -n "${library}" && -f "${library}" ]] || die "the build made no ${LIBRARY_FILE}"
# The symbols the library takes from elsewhere, in a file: `grep -q` on a
# pipe would end nm early, and pipefail would call that a failure.
undefined_symbols="${BUILD_DIR}/lsmscan-undefined-symbols.txt"
if [[ "${LIBRARY_KIND}" == static ]]; then
  nm --undefined-only "${library}" 2>/dev/null >"${undefined_symbols}" || true
else
  nm -D --undefined-only "${library}" >"${undefined_symbols}"
fi
if grep -qw __assert_fail "${undefined_symbols}"; then
  die "${library} still calls __assert_fail: NDEBUG did not reach the compiler"
fi
grep -qw io_uring_queue_init "${undefined_symbols}" ||
  die "${library} never calls io_uring_queue_init: liburing did not reach the build"
# (With --db_bench, the archive's trace-analysis tools also call gflags;
# a static link takes only the objects a program uses, and //bench:compare
# uses none of those.)
say "built ${library}: no __assert_fail (assertions compiled out), calls liburing"

# --- 7. Install into the prefix ------------------------------------------------
# By hand rather than `cmake --install` (which wants every target): the
# public headers, the library (with its version links) and db_bench.
phase "installing into ${PREFIX}"
rm -rf "${PREFIX}"
mkdir -p "${PREFIX}/include" "${PREFIX}/lib"
cp -a "${SOURCE_DIR}/include/rocksdb" "${PREFIX}/include/"
cp -a "${BUILD_DIR}/${LIBRARY_FILE}"* "${PREFIX}/lib/"
if [[ "${DB_BENCH}" == 1 ]]; then
  mkdir -p "${PREFIX}/bin"
  cp -a "${BUILD_DIR}/db_bench" "${PREFIX}/bin/"
fi
{
  echo "debian_source_version=${VERSION}"
  echo "variant=${VARIANT}"
  echo "built=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "cxxflags=${cxx_flags} -DNDEBUG"
  echo "cmake=${cmake_arguments[*]:4}"
} >"${STAMP}"
say "done: ${PREFIX}/lib/${LIBRARY_FILE} (-${OPT_LEVEL}, ${LIBRARY_KIND}, liburing)"
if [[ "${DB_BENCH}" == 1 ]]; then say "db_bench: ${PREFIX}/bin/db_bench"; fi
say "use it: ./bazelw run --config=rocksdb_release //bench:compare"
say "   (or LSMSCAN_ROCKSDB_RELEASE=${PREFIX} in the environment of Bazel)"
