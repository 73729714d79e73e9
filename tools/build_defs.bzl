"""Project macros: lsmscan's copts and include prefix on every target.

Every public header is included as "lsmscan/<package>/<file>.h", so a consumer
workspace with its own `storage/` or `scan/` folder never shadows ours (Bazel
puts every repository root on the quote-include path).
"""

load("//tools:copts.bzl", "LSMSCAN_COPTS", "LSMSCAN_TEST_COPTS")

def lsmscan_cc_library(name, copts = [], **kwargs):
    """A cc_library with lsmscan's warnings and the "lsmscan/" include prefix."""
    native.cc_library(
        name = name,
        copts = LSMSCAN_COPTS + copts,
        include_prefix = "lsmscan/" + native.package_name(),
        **kwargs
    )

def lsmscan_cc_binary(name, copts = [], **kwargs):
    """A cc_binary with lsmscan's warnings."""
    native.cc_binary(
        name = name,
        copts = LSMSCAN_COPTS + copts,
        **kwargs
    )

def lsmscan_cc_test(name, copts = [], deps = [], main = True, **kwargs):
    """A cc_test with lsmscan's warnings; links gtest_main unless main = False."""
    test_deps = ["@com_google_googletest//:gtest"]
    if main:
        test_deps = ["@com_google_googletest//:gtest_main"]
    native.cc_test(
        name = name,
        copts = LSMSCAN_TEST_COPTS + copts,
        deps = deps + test_deps,
        **kwargs
    )
