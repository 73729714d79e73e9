"""lsmscan_deps(): declares every external repository lsmscan needs.

A consumer workspace uses lsmscan like this:

    local_repository(name = "lsmscan", path = "path/to/lsmscan")
    load("@lsmscan//:deps.bzl", "lsmscan_deps")
    lsmscan_deps()

Each repository is declared only if the workspace has not declared one of the
same name already, so a consumer can supply its own Abseil or GoogleTest.
"""

load("//third_party:offline_shims.bzl", "offline_shims")
load("//third_party:system_libs.bzl", "system_libs")

def lsmscan_deps():
    """Declares rules shims and system libraries (Debian -dev packages)."""
    offline_shims()
    if "platforms" not in native.existing_rules():
        # Debian's bazel-bootstrap ships @platforms; Bazel 4 would download it.
        native.local_repository(name = "platforms", path = "/usr/share/bazel/platforms")
    system_libs()
