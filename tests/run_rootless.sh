#!/usr/bin/env bash
# Runs the [rootless] mount tests as an ordinary user, through fusermount3, the
# way rootless podman mounts. As root it creates the user and opens /dev/fuse to
# everyone (Debian's default mode), then drops to that user.
set -euo pipefail
tests_bin=$1
layerfs_bin=$2
if [ "$(id -u)" != 0 ]; then
  exec "$tests_bin" "[rootless]"
fi
user=layerfs-test
id "$user" >/dev/null 2>&1 || useradd --create-home --shell /bin/bash "$user"
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
  LAYERFS_TEST_TMP="$work/tmp" "$work/$(basename "$tests_bin")" "[rootless]"
