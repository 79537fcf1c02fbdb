# podman run --userns keep-id: the host user's own id (USER_UID) in the container.
id
root_mount
stat -c '%n %u:%g %a' / /etc/passwd /home/user /home/user/hello /data/modes/file /usr/local/bin/euid
cat /home/user/hello || echo "cat /home/user/hello: refused"
echo k >/tmp/k && stat -c '%n %u:%g %a' /tmp/k
mkdir /tmp/kd && stat -c '%n %u:%g %a' /tmp/kd
/usr/local/bin/euid
