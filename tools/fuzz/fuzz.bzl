"""lsmscan_fuzz_test(): a libFuzzer target built as a regular test.

With gcc (the normal build) the target links fuzz_main.cc, which runs the
target's seed corpus plus deterministic mutations of it; tools/fuzz.sh builds
the same source with clang and real libFuzzer. See doc/fuzzing.md.
"""

load("//tools:build_defs.bzl", "lsmscan_cc_test")

def lsmscan_fuzz_test(name, deps, mutations, size = "small", max_seconds = 50):
    """Declares `<name>_fuzz_test` from `<name>_fuzz.cc` and corpus/<name>/.

    Args:
      name: the target's name: its source is <name>_fuzz.cc.
      deps: libraries the target uses (fuzz_util is added).
      mutations: how many mutated inputs a test run tries.
      size: the test size.
      max_seconds: a safety stop for slow machines (the run stays
        deterministic otherwise).
    """
    lsmscan_cc_test(
        name = name + "_fuzz_test",
        size = size,
        srcs = [
            name + "_fuzz.cc",
            "fuzz_main.cc",
        ],
        args = [
            "--mutations=%d" % mutations,
            "--max_seconds=%d" % max_seconds,
            "tools/fuzz/corpus/" + name,
        ],
        data = native.glob(["corpus/%s/*" % name]),
        main = False,
        deps = deps + [
            ":fuzz_util",
            "//storage/base:prng",
        ],
    )
