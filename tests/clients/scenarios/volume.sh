# With a named volume over /data/dir1 (podman copied the directory into it).
tree /data/dir1
echo v >/data/dir1/v && cat /data/dir1/v
