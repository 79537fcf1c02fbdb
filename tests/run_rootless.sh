#!/usr/bin/env bash
# Runs a test binary's [rootless] cases (or those of the test spec given third)
# as an ordinary user, through fusermount3 and user namespaces, the way rootless
# podman works. As root it creates the user (useradd gives it /etc/subuid and
# /etc/subgid ranges) and opens /dev/fuse to everyone (Debian's default mode),
# then drops to that user.
set -euo pipefail
tests_bin=$1
layerfs_bin=$2
spec=${3:-[rootless]}
if [ "$(id -u)" != 0 ]; then
  exec "$tests_bin" "$spec"
fi
user=layerfs-test
id "$user" >/dev/null 2>&1 || useradd --create-home --shell /bin/bash "$user"
# Containers map the user's subordinate ids (newuidmap); give it a range if
# useradd did not.
for f in /etc/subuid /etc/subgid; do
  grep -q "^$user:" "$f" 2>/dev/null || echo "$user:300000:65536" >>"$f"
done
chmod 0666 /dev/fuse
# The user may not reach the build tree: give it copies it can run.
work=$(mktemp -d /tmp/layerfs-rootless.XXXXXX)
trap 'rm -rf "$work"' EXIT
cp "$tests_bin" "$layerfs_bin" "$work/"
mkdir "$work/tmp"
chmod 0755 "$work"
chown -R "$user" "$work"
cd "$work"
runuser -u "$user" -- env LAYERFS_BIN="$work/$(basename "$layerfs_bin")" \
  LAYERFS_TEST_TMP="$work/tmp" "$work/$(basename "$tests_bin")" "$spec"
