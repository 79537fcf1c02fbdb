# buildah run in a working container.
set -e
id
echo run >/run-file
rm -rf /data/opq && mkdir /data/opq && echo bb >/data/opq/bb
chown 1000:1000 /data/top.txt
mv /data/dir1 /data/dir1-renamed
rm /data/hl/f2
tree /data/opq /data/dir1-renamed /data/hl
