# Many entries and a big file: copies of lower trees, a lower tree removed, a
# big lower file copied up, a 32 MiB file written, truncated and read back.
set -e
cp -a /usr/bin /data/usrbin-copy
rm -rf /usr/sbin
mv /sbin /sbin-moved
echo x >>/usr/local/bin/euid                # a setuid file written by root (CAP_FSETID: it stays setuid)
stat -c '%n %a %s' /usr/local/bin/euid
yes 0123456789abcdef | head -c 33554432 >/data/big
md5sum /data/big
truncate -s 1000000 /data/big && md5sum /data/big
truncate -s 40000000 /data/big && md5sum /data/big
i=0; mkdir /data/many; while [ $i -lt 500 ]; do echo $i >/data/many/f$i; i=$((i + 1)); done
rm /data/many/f1*
echo "entries: $(ls /data/many | wc -l) $(ls /data/usrbin-copy | wc -l) $(ls /sbin-moved | wc -l)"
ls -l /usr/sbin 2>&1 || true
find / -xdev \( -path /proc -o -path /sys -o -path /dev \) -prune -o -print | sort | md5sum
md5sum /usr/local/bin/euid /bin/busybox
