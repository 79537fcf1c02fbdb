#!/usr/bin/env bash
# Builds the suite's input image as an OCI layout in DIR (run as root): three
# uncompressed layers made by hand, so every back end starts from the same bytes
# and the lower layers already hold what an overlay has to merge (a directory
# spread over layers, a whiteout, an opaque directory, a hard link pair).
#
#   layer 1: busybox (Debian's busybox-static) with its applet symlinks, /etc
#            with root and user 1000, a static setuid-root program printing its
#            ids, and /data, the tree the scenarios change
#   layer 2: adds to and changes /data, deletes a layer-1 file (.wh.) and hides a
#            layer-1 directory's entries (.wh..wh..opq)
#   layer 3: one more file in the directory that spans the layers
#
# The tars are reproducible (sorted, numeric owners, fixed mtimes): the same host
# busybox and gcc give the same image id.
set -euo pipefail
out=$1
src_dir=$(cd "$(dirname "$0")" && pwd)
stage=$(mktemp -d /tmp/layerfs-clients-image.XXXXXX)
trap 'rm -rf "$stage"' EXIT
umask 022

l1=$stage/l1 l2=$stage/l2 l3=$stage/l3
mkdir -p "$l1" "$l2" "$l3"

# --- layer 1
mkdir -p "$l1"/{bin,sbin,usr/bin,usr/sbin,usr/local/bin,etc,root,home/user,tmp,var/tmp,dev,proc,sys,run}
chmod 1777 "$l1/tmp" "$l1/var/tmp"
chmod 0700 "$l1/root"
cp /bin/busybox "$l1/bin/busybox"
for applet in $(/bin/busybox --list-full); do
  [ "$applet" = bin/busybox ] && continue
  mkdir -p "$l1/$(dirname "$applet")"
  ln -sf /bin/busybox "$l1/$applet"
done
cat >"$l1/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/bin/sh
user:x:1000:1000:user:/home/user:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
EOF
cat >"$l1/etc/group" <<'EOF'
root:x:0:
user:x:1000:
nogroup:x:65534:
EOF
echo "hello from user" >"$l1/home/user/hello"
chown -R 1000:1000 "$l1/home/user"
chmod 0600 "$l1/home/user/hello"
# A setuid-root program: busybox drops setuid unless configured to keep it.
gcc -static -Os -s -o "$l1/usr/local/bin/euid" "$src_dir/euid.c"
chmod 4755 "$l1/usr/local/bin/euid"

d=$l1/data
mkdir -p "$d"/{dir1/sub,deldir/sub,opq/sub,l2opq,hl,modes/dir,spread}
echo a1 >"$d/dir1/a"
echo b1 >"$d/dir1/b"
echo c1 >"$d/dir1/sub/c"
echo gone >"$d/deldir/f"
echo gone >"$d/deldir/sub/g"
echo x >"$d/opq/x"
echo y >"$d/opq/sub/y"
echo hidden-by-layer-2 >"$d/l2opq/old"
echo "hard link pair" >"$d/hl/f1"
ln "$d/hl/f1" "$d/hl/f2"
echo "one name" >"$d/hl/single"
echo "root file" >"$d/modes/rootfile"
echo "secret" >"$d/modes/secret"
chmod 0600 "$d/modes/secret"
echo "user file" >"$d/modes/file"
chown 1000:1000 "$d/modes/file"
chmod 0640 "$d/modes/file"
echo top >"$d/top.txt"
echo "delete me" >"$d/del.txt"
echo "to be truncated" >"$d/trunc.txt"
echo rename >"$d/file-to-rename"
echo s1 >"$d/spread/from-l1"
# Read-only trees (rm -rf of them by root, rootless too) and a mode-000 file.
mkdir -p "$d/ro-dir/empty-sub" "$d/ro-dir/sub"
echo ro >"$d/ro-dir/sub/file"
chmod 0444 "$d/ro-dir/sub/file"
chmod 0555 "$d/ro-dir/empty-sub" "$d/ro-dir/sub" "$d/ro-dir"
echo zero >"$d/zero"
chmod 0000 "$d/zero"
# A name of 255 bytes (NAME_MAX): its whiteout cannot be a .wh. file.
echo long >"$d/$(printf 'n%.0s' $(seq 255))"
ln -s dir1/a "$d/link-to-a"

# --- layer 2
mkdir -p "$l2/data"/{dir1/sub,l2opq,spread}
echo a2 >"$l2/data/dir1/a"
echo d2 >"$l2/data/dir1/sub/d"
: >"$l2/data/dir1/.wh.b"
: >"$l2/data/l2opq/.wh..wh..opq"
echo new-in-layer-2 >"$l2/data/l2opq/new"
echo s2 >"$l2/data/spread/from-l2"

# --- layer 3
mkdir -p "$l3/data/spread"
echo s3 >"$l3/data/spread/from-l3"
# The parents a layer repeats keep layer 1's metadata.
for l in "$l2" "$l3"; do
  (cd "$l" && find . -type d -exec touch -d @1000000000 {} +)
done

rm -rf "$out"
mkdir -p "$out/blobs/sha256"
blob() { # FILE -> prints sha256 digest, moves FILE into the layout
  local sum
  sum=$(sha256sum "$1" | cut -d' ' -f1)
  mv "$1" "$out/blobs/sha256/$sum"
  echo "$sum"
}
diff_ids=() layers=()
for l in "$l1" "$l2" "$l3"; do
  find "$l" -exec touch -h -d @1000000000 {} +
  tar --sort=name --format=posix --numeric-owner \
      --pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime \
      --mtime=@1000000000 -C "$l" -cf "$stage/layer.tar" .
  size=$(stat -c %s "$stage/layer.tar")
  sum=$(blob "$stage/layer.tar")
  diff_ids+=("\"sha256:$sum\"")
  layers+=("{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar\",\"digest\":\"sha256:$sum\",\"size\":$size}")
done
join() { local IFS=,; echo "$*"; }
printf '%s' "{\"created\":\"2001-09-09T01:46:40Z\",\"architecture\":\"amd64\",\"os\":\"linux\",\"config\":{\"Env\":[\"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\"],\"Cmd\":[\"/bin/sh\"]},\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[$(join "${diff_ids[@]}")]},\"history\":[{\"created\":\"2001-09-09T01:46:40Z\",\"created_by\":\"layerfs client suite: layer 1\"},{\"created\":\"2001-09-09T01:46:40Z\",\"created_by\":\"layerfs client suite: layer 2\"},{\"created\":\"2001-09-09T01:46:40Z\",\"created_by\":\"layerfs client suite: layer 3\"}]}" >"$stage/config"
csize=$(stat -c %s "$stage/config")
csum=$(blob "$stage/config")
printf '%s' "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"config\":{\"mediaType\":\"application/vnd.oci.image.config.v1+json\",\"digest\":\"sha256:$csum\",\"size\":$csize},\"layers\":[$(join "${layers[@]}")]}" >"$stage/manifest"
msize=$(stat -c %s "$stage/manifest")
msum=$(blob "$stage/manifest")
printf '%s' "{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"digest\":\"sha256:$msum\",\"size\":$msize,\"annotations\":{\"org.opencontainers.image.ref.name\":\"latest\"}}]}" >"$out/index.json"
printf '%s' '{"imageLayoutVersion":"1.0.0"}' >"$out/oci-layout"
chmod -R a+rX "$out"
echo "sha256:$csum"
