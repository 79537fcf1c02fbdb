# Run on the host (rootless: in podman unshare) on a container's root that
# podman mount mounted: the mount as the host sees it, xattrs through it.
#   hostmount.sh MOUNTPOINT
set -e
cd "$1"
setfattr -n user.test -v copied-up data/top.txt     # a lower file's xattr (copy-up)
echo host >data/host-file
setfattr -n user.new -v on-a-new-file data/host-file
mkdir data/host-dir
setfattr -n user.dir -v on-a-dir data/host-dir
setfattr -n user.gone -v x data/host-file && setfattr -x user.gone data/host-file
rm data/del.txt
mv data/dir1 data/dir1-host
rm -rf data/opq && mkdir data/opq && echo host >data/opq/host
getfattr -d -m '^user\.' data/top.txt data/host-file data/host-dir data/modes/file 2>&1
stat -c '%n %F %a %u:%g %s' data data/top.txt data/host-file data/host-dir data/dir1-host data/dir1-host/sub/d \
  data/modes/file usr/local/bin/euid
ls -a data/opq data/dir1-host
[ -e data/dir1/a ] && echo "data/dir1/a: still there" || echo "data/dir1/a: gone"
