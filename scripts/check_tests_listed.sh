#!/usr/bin/env bash
# Fails unless ctest lists every mount test once per mount configuration, and no
# test name twice: catch_discover_tests once let one configuration's list
# overwrite the others', and CI ran a third of what it claimed.
# Usage: scripts/check_tests_listed.sh BUILD_DIR
set -euo pipefail
build=$1
listed=$(ctest --test-dir "$build" -N | sed -n 's/^ *Test *#[0-9]*: //p')
status=0
dups=$(sort <<<"$listed" | uniq -d)
if [ -n "$dups" ]; then
  echo "check_tests_listed: ctest lists these names more than once:"
  echo "$dups"
  status=1
fi
# Catch2 exits with the number of tests it listed.
expected=$( ("$build/tests/mount_tests" "~[rootless]" --list-test-names-only || true) | grep -c .)
# catch_discover_tests drops the space after a TEST_PREFIX.
for prefix in "mount:" "mount (passthrough=0):" "mount (io_uring=1):"; do
  n=$(awk -v p="$prefix" 'index($0, p) == 1' <<<"$listed" | wc -l)
  if [ "$n" -ne "$expected" ]; then
    echo "check_tests_listed: '$prefix' has $n tests, mount_tests has $expected"
    status=1
  fi
done
[ $status -ne 0 ] || echo "check_tests_listed: $build lists each of $expected mount tests in 3 configurations"
exit $status
