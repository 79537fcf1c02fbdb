# Rootful podman run --uidmap/--gidmap 0:200000:65536: the container's ids are
# host ids 200000 and up; the layers must show it the image's owners.
id
stat -c '%n %u:%g %a' / /etc/passwd /home/user /home/user/hello /data/modes/file /usr/local/bin/euid
echo m >/tmp/m && stat -c '%n %u:%g' /tmp/m
echo m2 >/tmp/m2 && chown 1000:1000 /tmp/m2 && stat -c '%n %u:%g' /tmp/m2
chown 1000:1000 /data/modes/rootfile && stat -c '%n %u:%g' /data/modes/rootfile
su -s /bin/sh user -c 'id; cat /home/user/hello; echo by-user >/home/user/by-user; stat -c "%n %u:%g" /home/user/by-user' 2>&1 || echo "su: failed"
/usr/local/bin/euid
