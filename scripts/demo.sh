#!/usr/bin/env bash
# The layerfs demo on the built-in busybox:latest image (made from the host's
# busybox-static): `layerfs run` a container whose command adds, changes and
# deletes files; `layerfs diff` lists the changes; `layerfs commit` makes them a
# new image; a container of that image has them. Then a detached container's
# lifecycle (ps, logs, exec, stop, rm), and the image leaves as an OCI layout.
set -euo pipefail
LAYERFS=${LAYERFS:-layerfs}
demo=$(mktemp -d /tmp/layerfs-demo.XXXXXX)
lf() { "$LAYERFS" --root "$demo/store" "$@"; }
cleanup() { lf rm -f demo web >/dev/null 2>&1 || true; rm -rf "$demo"; }
trap cleanup EXIT

step() { printf '\n\033[1m$ %s\033[0m\n' "$*"; eval "$@"; }

cd "$demo"
echo "# A private store for the demo; busybox:latest is made on first use."
step "lf run --rm busybox sh -c 'echo pid \$\$ on \$(hostname); id; ls /'"
step "lf run --name demo busybox sh -c 'echo hello > /etc/motd; rm /etc/group; echo demo:x:1000:1000::/:/bin/sh >> /etc/passwd; mkdir -p /srv/www; echo hi > /srv/www/index.html'"
echo "# A: added, C: changed, D: deleted. The runtime's own files (/etc/hostname,"
echo "# /etc/hosts, /etc/resolv.conf, /proc, /dev) are not the container's changes."
step "lf diff demo"
step "lf commit -m 'demo: motd, a user, a web root' -c 'WORKDIR /srv/www' demo demo:1"
step "lf history demo:1"
step "lf run --rm demo:1 sh -c 'cat /etc/motd; pwd; ls; tail -1 /etc/passwd; ls /etc/group || true'"
echo "# A container in the background: ps, logs, exec, stop, rm."
step "lf run -d --name web demo:1 sh -c 'while true; do date; sleep 1; done' | cut -c1-12"
step "sleep 2; lf ps"
step "lf logs web | head -2"
step "lf exec web sh -c 'echo \"in \$(hostname): \$(ls)\"; ps'"
step "lf stop -t 1 web"
step "lf ps -a"
step "lf rm demo web"
echo "# Images leave the store as OCI image layouts that the container tools read."
step "lf export demo:1 demo-oci"
step "skopeo inspect oci:demo-oci:1 | head -12"
echo
echo "demo: done"
