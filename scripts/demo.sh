#!/usr/bin/env bash
# The layerfs demo on the built-in busybox:latest image: the store makes the image
# from the host's busybox-static, `layerfs mount` stacks its layer under a
# read-write layer, a shell runs in the merged tree, and the image is exported as
# an OCI layout that skopeo reads.
set -euo pipefail
LAYERFS=${LAYERFS:-layerfs}
demo=$(mktemp -d /tmp/layerfs-demo.XXXXXX)
mnt="$demo/merged"
cleanup() { mountpoint -q "$mnt" && fusermount3 -u "$mnt"; rm -rf "$demo"; }
trap cleanup EXIT

step() { printf '\n\033[1m$ %s\033[0m\n' "$*"; eval "$@"; }
lf() { "$LAYERFS" --root "$demo/store" "$@"; }

cd "$demo"
mkdir upper work merged
echo "# A private store for the demo; busybox:latest is made on first use."
step "lf images"
step "lf history busybox"
step "lf images"
lower=$(lf inspect busybox | sed -n 's/.*"LowerDir": "\(.*\)".*/\1/p')
step "$LAYERFS mount -o lowerdir=$lower,upperdir=upper,workdir=work merged"
step "chroot merged /bin/sh -c 'echo hello > /etc/motd; rm /etc/group; ls -l /etc'"
echo "# The image's layer is untouched: the read-write layer holds the new file and"
echo "# a whiteout (a 0/0 character device, as kernel overlayfs writes it) for /etc/group."
step "ls -l upper/etc"
step "fusermount3 -u merged"
echo "# Images leave the store as OCI image layouts that the container tools read."
step "lf export busybox:latest busybox-oci"
step "skopeo inspect oci:busybox-oci:latest | head -12"
echo
echo "demo: done"
