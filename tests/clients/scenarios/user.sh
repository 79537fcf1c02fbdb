# As user 1000 (podman run -u 1000): reading and executing from the root file
# system, the kernel's permission checks, and a setuid-root program.
id
root_mount
tree /home/user /data/modes
cat /home/user/hello
echo written >/home/user/new && cat /home/user/new
echo appended >>/data/modes/file && cat /data/modes/file
cat /data/modes/secret || echo "cat /data/modes/secret: refused"
touch /data/nope || echo "touch /data/nope: refused"
rm /data/top.txt || echo "rm /data/top.txt: refused"
/usr/local/bin/euid
ls /root || echo "ls /root: refused"
echo "exec: $(/bin/busybox echo ok)"
