# rm -rf of lower directories, then made again: the new directory must hide
# everything the lower layers had there (an opaque directory).
set -e
rm -rf /data/opq && mkdir /data/opq && echo new >/data/opq/new
mkdir /data/opq/sub                          # a subdirectory the lower one had too
rm -rf /data/l2opq && mkdir /data/l2opq && echo again >/data/l2opq/again   # opaque in layer 2 already
rm -rf /data/spread && mkdir /data/spread    # a directory of 3 layers, made again empty
rm -rf /data/dir1/sub && mkdir /data/dir1/sub && echo e >/data/dir1/sub/e
rmdir /data/modes/dir && mkdir -m 0750 /data/modes/dir   # an empty lower directory
echo "--- listing"
tree /data/opq /data/l2opq /data/spread /data/dir1 /data/modes
echo "--- lookups in the re-made directories, once listed"
ls /data/opq /data/dir1/sub /data/spread >/dev/null
for p in /data/opq/x /data/opq/sub/y /data/dir1/sub/c /data/dir1/sub/d /data/spread/from-l1 /data/l2opq/new; do
  [ -e "$p" ] && echo "$p: found ($(cat "$p"))" || echo "$p: not found"
done
