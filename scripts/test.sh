#!/usr/bin/env bash
# Runs every test: the normal build, then the ASan+UBSan build. Needs root (kernel
# overlayfs is the reference) and scripts/setup.sh to have run.
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc)

# The rootless tests run as this user through fusermount3, as on a stock Debian
# machine where /dev/fuse is 0666.
id layerfs-test >/dev/null 2>&1 || useradd --create-home --shell /bin/bash layerfs-test
chmod 0666 /dev/fuse
# Lets a rootless daemon serve root too (allow_other), as podman's does.
grep -qx user_allow_other /etc/fuse.conf 2>/dev/null || echo user_allow_other >> /etc/fuse.conf
modprobe overlay 2>/dev/null || true

status=0
echo "== format"
bash scripts/check_format.sh || status=1

echo "== tests (release build)"
bash scripts/check_tests_listed.sh build || status=1
ctest --test-dir build --output-on-failure -j "$jobs" || status=1

echo "== tests (ASan+UBSan build)"
cmake --preset asan >/dev/null
cmake --build build-asan -j "$jobs"
bash scripts/check_tests_listed.sh build-asan || status=1
# A daemon's stderr is /dev/null once it detaches: sanitizer reports go to files,
# and any report fails the run.
reports=$(mktemp -d /tmp/layerfs-sanitizer.XXXXXX)
chmod 1777 "$reports"
ASAN_OPTIONS="detect_leaks=1:log_path=$reports/asan" \
UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:log_path=$reports/ubsan" \
  ctest --test-dir build-asan --output-on-failure -j "$jobs" || status=1
# The crash and kill tests SIGKILL daemons and commands at random moments; a CI
# run once left an empty report file, with nothing in it to read. Empty files
# are listed (their names carry the pid); any report with content fails the run.
empty=$(find "$reports" -type f -empty -printf '%f ')
[ -z "$empty" ] || echo "empty sanitizer report files (from killed processes): $empty"
if [ -n "$(find "$reports" -type f -size +0)" ]; then
  echo "sanitizer reports:"
  find "$reports" -type f -size +0 -exec cat {} +
  status=1
fi
rm -rf "$reports"

echo "== fuzzing (libFuzzer, 60 s a target)"
bash scripts/fuzz.sh || status=1

echo "== stress tests under TSan"
bash scripts/tsan.sh || status=1
exit $status
