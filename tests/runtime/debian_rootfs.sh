#!/usr/bin/env bash
# Prints the path of a Debian bookworm minbase rootfs tarball (uncompressed,
# numeric owners) for the runtime tests, building it once as root with
# debootstrap and caching it where the ordinary test user can read it.
#
# When it cannot provide the tarball it prints nothing on stdout, a reason on
# stderr, and still exits 0: the caller turns that into a visible skip, since
# no network or no debootstrap is a property of the machine, not a failure.
set -euo pipefail

cache_dir=/var/cache/layerfs-tests
tarball=$cache_dir/debian-bookworm-minbase.tar
suite=bookworm
mirror=http://deb.debian.org/debian

cannot() {
  echo "debian_rootfs.sh: $*" >&2
  exit 0
}

if [ -r "$tarball" ]; then
  echo "$tarball"
  exit 0
fi
if [ -e "$tarball" ]; then
  cannot "$tarball exists but this user cannot read it"
fi
if [ "$(id -u)" != 0 ]; then
  cannot "no $tarball; only root builds it (run the root tests first)"
fi

if ! command -v debootstrap >/dev/null; then
  apt-get install -y debootstrap >&2 || cannot "debootstrap is not installed and apt-get could not install it"
fi

# Probe the mirror before committing to a build that would otherwise spend
# minutes on retries. wget is what debootstrap itself downloads with (the
# debootstrap package depends on it), so it is there on a fresh Debian 12
# without curl and honours the same http_proxy settings the build will use; a
# raw /dev/tcp probe would wrongly fail behind a proxy.
if ! wget -q --spider --timeout=10 --tries=1 "$mirror/dists/$suite/Release" 2>/dev/null; then
  cannot "mirror $mirror is not reachable"
fi

install -d -m 0755 "$cache_dir"
# One builder at a time; the others wait here and then find the tarball.
exec 9>"$cache_dir/.lock"
flock -w 1800 9 || cannot "timed out waiting for another build of $tarball"
if [ -r "$tarball" ]; then
  echo "$tarball"
  exit 0
fi

# Inside a container debootstrap bind-mounts the host's /dev/pts and /dev/shm
# into the target, and a killed build leaves them mounted: unmount before
# deleting so rm can never reach the host's files.
remove_build() {
  local dir=$1 mnt
  # Build dirs are mktemp names without spaces, so /proc/mounts needs no unescaping.
  for mnt in $(awk -v d="$dir/" 'index($2, d) == 1 {print $2}' /proc/mounts | sort -r); do
    umount -l "$mnt" 2>/dev/null || true
  done
  rm -rf --one-file-system -- "$dir"
}
# Holding the lock, any build dir left here is from a builder that was killed.
for stale in "$cache_dir"/.build.*; do
  [ -d "$stale" ] && remove_build "$stale"
done

build=$(mktemp -d "$cache_dir/.build.XXXXXX")
trap 'remove_build "$build"' EXIT
trap 'exit 130' INT TERM HUP
echo "debian_rootfs.sh: building $tarball with debootstrap (a few minutes, once)" >&2
if ! debootstrap --variant=minbase "$suite" "$build/root" "$mirror" >"$build/log" 2>&1; then
  tail -n 20 "$build/log" >&2
  cannot "debootstrap failed"
fi
# --one-file-system: never archive something debootstrap left mounted.
tar -C "$build/root" --numeric-owner --one-file-system -cf "$build/rootfs.tar" .
chmod 0644 "$build/rootfs.tar"
# Same directory, same file system: the rename is atomic, so readers see either
# no tarball or a whole one.
mv -f "$build/rootfs.tar" "$tarball"
echo "$tarball"
