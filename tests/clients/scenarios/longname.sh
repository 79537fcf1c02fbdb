# Names of 255 bytes (NAME_MAX), the longest there are: a new file, and a lower
# file removed (its whiteout cannot be named .wh.NAME).
short() { awk '{ if (length($0) > 60) print substr($0, 1, 7) "...(" length($0) " bytes)"; else print }'; }
echo new >"/data/$(printf 'm%.0s' $(seq 255))" && echo "create: ok" || echo "create: failed"
rm "/data/$(printf 'n%.0s' $(seq 255))" && echo "rm: ok" || echo "rm: failed"
ls /data | short
