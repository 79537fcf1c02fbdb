#!/usr/bin/env bash
# ThreadSanitizer run of the daemon's concurrent paths: builds the layerfs binary
# and the mount tests with -fsanitize=thread in build-tsan/, runs the stress tests
# ([stress]) against that daemon through /dev/fuse and through FUSE over io_uring,
# and fails on any report. Needs root (kernel overlayfs is the reference) and
# scripts/setup.sh to have run. tests/tsan.supp says what is suppressed and why.
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc)

# -Wno-tsan: GCC warns that TSan cannot see std::atomic_thread_fence, which
# liburing's inline ring accessors use; -Werror would make that fatal.
# (CMakePresets.json's tsan preset.)
cmake --preset tsan >/dev/null
cmake --build build-tsan -j "$jobs" --target layerfs mount_tests

modprobe overlay 2>/dev/null || true
# The daemon's stderr is /dev/null once it detaches: reports go to files, and
# any report fails the run. The test binary is built with TSan too.
reports=$(mktemp -d /tmp/layerfs-tsan.XXXXXX)
chmod 1777 "$reports"
uring_state=$reports/enable_uring.old
cleanup() {
  tests/fuse_uring_switch.sh restore "$uring_state" >/dev/null
  rm -rf "$reports"
}
trap cleanup EXIT
export TSAN_OPTIONS="log_path=$reports/tsan suppressions=$PWD/tests/tsan.supp history_size=4"
export LAYERFS_BIN=$PWD/build-tsan/cli/layerfs

status=0
echo "== stress tests under TSan (/dev/fuse)"
build-tsan/tests/mount_tests "[stress]" || status=1
echo "== stress tests under TSan (io_uring=1)"
tests/fuse_uring_switch.sh on "$uring_state"
LAYERFS_TEST_MOUNT_OPTIONS=io_uring=1 build-tsan/tests/mount_tests "[stress]" || status=1
tests/fuse_uring_switch.sh restore "$uring_state"

if compgen -G "$reports/tsan*" >/dev/null; then
  echo "TSan reports:"
  cat "$reports"/tsan*
  status=1
fi
exit $status
