# In the image committed from the bulk container.
md5sum /data/big /usr/local/bin/euid
echo "entries: $(ls /data/many | wc -l) $(ls /data/usrbin-copy | wc -l) $(ls /sbin-moved | wc -l)"
ls /usr/sbin 2>&1 || true
find / -xdev \( -path /proc -o -path /sys -o -path /dev \) -prune -o -print | sort | md5sum
