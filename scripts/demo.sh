#!/usr/bin/env bash
# The layerfs demo: two image layers under a read-write layer, mounted with
# `layerfs mount`, showing a whiteout and a copy-up, and what lands in the upper dir.
set -euo pipefail
LAYERFS=${LAYERFS:-layerfs}
demo=$(mktemp -d /tmp/layerfs-demo.XXXXXX)
mnt="$demo/merged"
cleanup() { mountpoint -q "$mnt" && fusermount3 -u "$mnt"; rm -rf "$demo"; }
trap cleanup EXIT

step() { printf '\n\033[1m$ %s\033[0m\n' "$*"; eval "$@"; }

mkdir -p "$demo"/{base,app,upper,work,merged}
# The base layer, like a distribution image.
mkdir -p "$demo/base/etc" "$demo/base/usr/share/doc"
echo "debian 12" > "$demo/base/etc/os-release"
echo "root:x:0:0:root:/root:/bin/sh" > "$demo/base/etc/passwd"
echo "old docs" > "$demo/base/usr/share/doc/README"
# An application layer on top: adds a file, deletes the docs (an OCI whiteout).
mkdir -p "$demo/app/usr/share/doc" "$demo/app/app"
echo 'echo hello from the app' > "$demo/app/app/run.sh"
touch "$demo/app/usr/share/doc/.wh.README"

cd "$demo"
step "$LAYERFS mount -o lowerdir=app:base,upperdir=upper,workdir=work merged"
step "find merged | sort"
echo "# usr/share/doc/README is gone: the app layer's .wh.README whites it out."
step "echo 'nameserver 10.0.0.1' > merged/etc/resolv.conf"
step "echo 'app:x:1000:1000::/app:/bin/sh' >> merged/etc/passwd"
echo "# Appending to a base file copied it up: the layer below is untouched."
step "cat merged/etc/passwd"
step "cat base/etc/passwd"
step "rm merged/etc/os-release"
step "ls -l upper/etc"
echo "# The read-write layer holds the new file, the copied-up passwd and a whiteout"
echo "# (a 0/0 character device, as kernel overlayfs writes it) for os-release."
step "fusermount3 -u merged"
echo
echo "demo: done"
