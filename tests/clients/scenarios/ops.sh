# Every kind of change to the image's files (layers 1-3 are below).
set -e
echo new >/data/new.txt                      # new files and directories
mkdir -p /data/newdir/sub
echo x >/data/newdir/sub/x
ln -s ../new.txt /data/newdir/link
mkfifo /data/newdir/fifo
echo changed >/data/dir1/sub/c               # overwrite a layer-1 file
echo more >>/data/top.txt                    # append
: >/data/trunc.txt                           # truncate
rm /data/del.txt                             # delete a lower file
rm -rf /data/deldir                          # delete a lower tree
mv /data/dir1 /data/dir1-renamed             # rename a directory spread over 2 layers (with a whiteout)
mv /data/file-to-rename /data/renamed        # rename a lower file
mv /data/spread/from-l1 /data/spread/moved   # rename in a directory of 3 layers
ln /data/hl/single /data/hl/single-link      # hard-link a lower file, then change it
echo more >>/data/hl/single-link
ln /data/top.txt /data/top-link              # hard-link a copied-up file
chmod 0600 /data/modes/rootfile              # chmod, chown of lower files and directories
chown 1000:1000 /data/modes/rootfile
chmod 0700 /data/modes/dir
chown 1000:1000 /data/modes/dir
chown -h 1000:1000 /data/link-to-a
chmod 4755 /data/new.txt                     # setuid bit on a new file
mkdir /data/modes/dir/made && chown 1000:1000 /data/modes/dir/made
touch -d @1234567890 /data/modes/secret       # a lower file's mtime
mv /data/renamed /data/trunc.txt             # rename over another lower file
cp /usr/local/bin/euid /data/euid-copy && chmod 4755 /data/euid-copy   # a new setuid-root program
rm -rf /data/ro-dir                          # read-only lower directories (0555)
echo more >>/data/zero && chmod 0640 /data/zero   # a mode-000 lower file
exec 3>/data/unlinked && rm /data/unlinked && echo "open after unlink" >&3 && cat /proc/self/fd/3 && exec 3>&-
echo "--- listing"
tree /data
echo "--- contents"
cat /data/dir1-renamed/a /data/dir1-renamed/sub/c /data/dir1-renamed/sub/d /data/top.txt /data/hl/single-link
ls -a /data/dir1-renamed /data/spread
echo "--- links"
same /data/hl/single /data/hl/single-link
same /data/top.txt /data/top-link
same /data/hl/f1 /data/hl/f2                 # a lower hard link pair, not changed
echo "--- times kept by copy-up"
for p in /data/modes/rootfile /data/link-to-a /data/dir1-renamed/a /data/dir1-renamed/sub/d /data/spread/moved; do
  [ "$(stat -c %Y "$p")" = 1000000000 ] && echo "$p: mtime kept" || echo "$p: mtime changed"
done
stat -c '%n %Y' /data/modes/secret
echo "--- missing"
for p in /data/del.txt /data/deldir /data/dir1 /data/file-to-rename /data/renamed /data/unlinked /data/spread/from-l1 /data/dir1-renamed/b /data/ro-dir; do
  [ -e "$p" ] && echo "$p: still there" || echo "$p: gone"
done
