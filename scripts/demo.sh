#!/usr/bin/env bash
# The layerfs demo on the built-in busybox:latest image: the store makes the image
# from the host's busybox-static; a container gets a read-write layer over it, a
# shell changes files in its mounted root, `layerfs diff` lists the changes,
# `layerfs commit` turns them into a new image, a container of that image shows
# them, and the image leaves as an OCI layout that skopeo reads.
set -euo pipefail
LAYERFS=${LAYERFS:-layerfs}
demo=$(mktemp -d /tmp/layerfs-demo.XXXXXX)
lf() { "$LAYERFS" --root "$demo/store" "$@"; }
cleanup() { lf rm -f demo demo2 >/dev/null 2>&1 || true; rm -rf "$demo"; }
trap cleanup EXIT

step() { printf '\n\033[1m$ %s\033[0m\n' "$*"; eval "$@"; }

cd "$demo"
echo "# A private store for the demo; busybox:latest is made on first use."
step "lf images"
step "lf history busybox"
step "lf create --name demo busybox"
step "root=\$(lf mount demo); echo \$root"
step "chroot \$root /bin/sh -c 'echo hello > /etc/motd; rm /etc/group; echo demo:x:1000:1000::/:/bin/sh >> /etc/passwd; mkdir -p /srv/www; echo hi > /srv/www/index.html; chmod 755 /usr'"
echo "# Exact by default: chmod 755 /usr copied /usr up without changing anything,"
echo "# so it is not listed; docker's rule (--docker) lists every copied-up entry."
step "lf diff demo"
step "lf diff --docker demo | grep usr"
step "lf commit -m 'demo: motd, a user, a web root' -c 'WORKDIR /srv/www' demo demo:1"
step "lf history demo:1"
step "lf create --name demo2 demo:1"
step "root2=\$(lf mount demo2); chroot \$root2 /bin/sh -c 'cat /etc/motd; ls /srv/www; tail -1 /etc/passwd; ls /etc/group || true'"
echo "# The new container starts from the committed image: nothing changed yet."
step "lf diff demo2"
step "lf rm -f demo demo2"
echo "# Images leave the store as OCI image layouts that the container tools read."
step "lf export demo:1 demo-oci"
step "skopeo inspect oci:demo-oci:1 | head -12"
echo
echo "demo: done"
