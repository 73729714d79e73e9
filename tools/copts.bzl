"""Compiler flags for lsmscan's own code (never for system headers).

The language level (-std=c++20) is global, set in .bazelrc, so every target of
a build agrees on it (Abseil's FAQ explains why per-target -std is an ODR
hazard). Warnings are errors in our code only: system headers under
/usr/include are compiled as system headers and stay quiet.
"""

LSMSCAN_COPTS = [
    "-Wall",
    "-Wextra",
    "-Werror",
    "-Wcast-qual",
    "-Wimplicit-fallthrough",
    "-Wmissing-declarations",
    "-Wnon-virtual-dtor",
    "-Woverloaded-virtual",
    "-Wvla",
]

# GoogleTest's macros trip over a few of the stricter checks.
LSMSCAN_TEST_COPTS = LSMSCAN_COPTS + [
    "-Wno-missing-declarations",
]
