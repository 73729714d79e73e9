"""The system libraries lsmscan builds against, with their upstream labels.

Every library comes from a Debian `-dev` package (see `bazelw` for the list)
and is wrapped by `system_library` (pkg_config.bzl); RocksDB may instead come
from a release build of Debian's source (rocksdb.bzl). Labels follow the
libraries' own Bazel builds, so `@com_google_absl//absl/status:statusor` here
names the same thing as in a source build of Abseil.
"""

load("//third_party:pkg_config.bzl", "system_library")
load("//third_party:rocksdb.bzl", "rocksdb_library")

# Abseil label -> pkg-config module(s) of Debian's libabsl-dev (20220623).
ABSL_TARGETS = {
    "absl/algorithm": "absl_algorithm",
    "absl/algorithm:container": "absl_algorithm_container",
    "absl/base": "absl_base",
    "absl/base:config": "absl_config",
    "absl/base:core_headers": "absl_core_headers",
    "absl/base:endian": "absl_endian",
    "absl/base:prefetch": "absl_prefetch",
    "absl/cleanup": "absl_cleanup",
    "absl/container:btree": "absl_btree",
    "absl/container:fixed_array": "absl_fixed_array",
    "absl/container:flat_hash_map": "absl_flat_hash_map",
    "absl/container:flat_hash_set": "absl_flat_hash_set",
    "absl/container:inlined_vector": "absl_inlined_vector",
    "absl/debugging:failure_signal_handler": "absl_failure_signal_handler",
    "absl/debugging:stacktrace": "absl_stacktrace",
    "absl/debugging:symbolize": "absl_symbolize",
    "absl/flags:flag": "absl_flags",
    "absl/flags:parse": "absl_flags_parse",
    "absl/flags:usage": "absl_flags_usage",
    "absl/functional:any_invocable": "absl_any_invocable",
    "absl/functional:bind_front": "absl_bind_front",
    "absl/functional:function_ref": "absl_function_ref",
    "absl/hash": "absl_hash",
    "absl/memory": "absl_memory",
    "absl/meta:type_traits": "absl_type_traits",
    "absl/numeric:bits": "absl_bits",
    "absl/numeric:int128": "absl_int128",
    "absl/random": "absl_random_random",
    "absl/random:bit_gen_ref": "absl_random_bit_gen_ref",
    "absl/random:distributions": "absl_random_distributions",
    "absl/status": "absl_status",
    "absl/status:statusor": "absl_statusor",
    "absl/strings": "absl_strings",
    "absl/strings:cord": "absl_cord",
    "absl/strings:str_format": "absl_str_format",
    "absl/synchronization": "absl_synchronization",
    "absl/time": "absl_time",
    "absl/types:optional": "absl_optional",
    "absl/types:span": "absl_span",
    "absl/types:variant": "absl_variant",
    "absl/utility": "absl_utility",
}

def _declare(name, rule = system_library, **kwargs):
    if name not in native.existing_rules():
        rule(name = name, **kwargs)

def system_libs():
    """Declares every system library repository not already declared."""
    _declare(
        name = "com_google_absl",
        targets = ABSL_TARGETS,
        apt_packages = ["libabsl-dev"],
    )
    _declare(
        name = "com_google_googletest",
        targets = {
            ":gtest": "gtest",
            ":gtest_main": "gtest_main",
            ":gmock": "gmock gtest",
            ":gmock_main": "gmock_main gtest",
        },
        extra_deps = {":gtest_main": ":gtest", ":gmock_main": ":gmock"},
        apt_packages = ["libgtest-dev", "libgmock-dev"],
    )
    _declare(
        name = "com_github_google_benchmark",
        targets = {
            ":benchmark": "benchmark",
            # Debian ships libbenchmark_main without a .pc file of its own.
            ":benchmark_main": "benchmark",
        },
        extra_linkopts = {":benchmark_main": "-lbenchmark_main"},
        extra_deps = {":benchmark_main": ":benchmark"},
        apt_packages = ["libbenchmark-dev"],
    )
    _declare(
        name = "rocksdb",
        # Debian's, or a release build of it: see rocksdb.bzl.
        rule = rocksdb_library,
        targets = {":rocksdb": "rocksdb"},
        apt_packages = ["librocksdb-dev"],
    )
    _declare(
        name = "xxhash",
        targets = {":xxhash": "libxxhash"},
        apt_packages = ["libxxhash-dev"],
    )
    _declare(
        name = "nlohmann_json",
        # Header-only; its upstream Bazel build names the library :json.
        targets = {":json": "nlohmann_json"},
        apt_packages = ["nlohmann-json3-dev"],
    )
    _declare(
        name = "expat",
        # Only //bench:svg_chart_test: it parses the SVG charts as XML.
        targets = {":expat": "expat"},
        apt_packages = ["libexpat1-dev"],
    )
    _declare(
        name = "liburing",
        targets = {":liburing": "liburing"},
        apt_packages = ["liburing-dev"],
    )
