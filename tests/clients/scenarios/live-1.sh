# podman exec in a running container (podman run -d ... sleep), before podman cp.
set -e
echo live >/data/live.txt
rm -rf /data/opq && mkdir /data/opq && echo one >/data/opq/one
mv /data/dir1 /data/dir1-live
echo changed >/data/dir1-live/sub/c
rm /data/hl/f2
tree /data/opq /data/dir1-live /data/hl
