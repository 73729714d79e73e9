"""lsmscan_fuzz_test(): a libFuzzer target built as a regular test.

With gcc (the normal build) the target links fuzz_main.cc, which runs the
target's seed corpus plus deterministic mutations of it; tools/fuzz.sh builds
the same source with clang and real libFuzzer. See doc/fuzzing.md.
"""

load("//tools:build_defs.bzl", "lsmscan_cc_test")

def lsmscan_fuzz_test(name, deps, mutations, size = "small", max_seconds = None):
    """Declares `<name>_fuzz_test` from `<name>_fuzz.cc` and corpus/<name>/.

    Args:
      name: the target's name: its source is <name>_fuzz.cc.
      deps: libraries the target uses (fuzz_util is added).
      mutations: how many mutated inputs a test run executes, every one of
        them on every machine (the test fails if they do not all run).
      size: the test size.
      max_seconds: the most a run may take: a run that has not executed
        every mutation by then fails. Default: 50 for small tests, 240 for
        medium ones (under their Bazel timeouts of 60 and 300 seconds).
    """
    if max_seconds == None:
        max_seconds = 50 if size == "small" else 240
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
