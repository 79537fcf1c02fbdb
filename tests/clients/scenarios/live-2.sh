# podman exec again after podman stop and start (the root mounted again over
# the same upper dir): the first round's changes, then more on top of them.
set -e
echo "--- after the restart"
tree /data/opq /data/dir1-live /data/hl /data/copied-in /data/live.txt
[ -e /data/dir1 ] && echo "/data/dir1: back" || echo "/data/dir1: gone"
echo "--- changed again"
rm -rf /data/opq && mkdir /data/opq && echo two >/data/opq/two   # opaque again, over an opaque upper dir
mv /data/dir1-live /data/dir1                                     # the renamed directory renamed back
rm /data/dir1/sub/c && echo c-again >/data/dir1/sub/c
echo f2-again >/data/hl/f2                                        # a whiteout replaced by a file
rm /data/live.txt
tree /data/opq /data/dir1 /data/hl | sed 's/^/now /'
