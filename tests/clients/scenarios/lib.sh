# Prepended to every scenario run in a container (busybox sh). Output must not
# depend on the back end where the reference's is right: no times, no inode
# numbers, no directory sizes or link counts (each file system has its own).
# Commands' errors go to the output too.
exec 2>&1
# tree PATH...: every entry below PATH, sorted: type, mode, owner; for files
# also the size and a content hash; a symlink's target. Not the link count: a
# lower file whose other name was removed has the lower inode's count on kernel
# overlayfs and the names left on fuse-overlayfs (hard links: see same).
tree() {
  find "$@" | sort | while IFS= read -r p; do
    if [ -L "$p" ]; then
      echo "$p l $(stat -c '%u:%g' "$p") -> $(readlink "$p")"
    elif [ -d "$p" ]; then
      stat -c '%n d %a %u:%g' "$p"
    elif [ -f "$p" ]; then
      if [ -r "$p" ]; then h=$(md5sum <"$p" | cut -c1-12); else h=unreadable; fi
      echo "$(stat -c '%n f %a %u:%g size=%s' "$p") $h"
    else
      stat -c '%n %F %a %u:%g' "$p"
    fi
  done
}
# same A B: whether A and B are one file (hard links), and their link counts.
same() {
  if [ "$(stat -c %d:%i "$1")" = "$(stat -c %d:%i "$2")" ]; then
    echo "$1 $2: same file, links $(stat -c %h "$1") $(stat -c %h "$2")"
  else
    echo "$1 $2: different files, links $(stat -c %h "$1") $(stat -c %h "$2")"
  fi
}
# The root mount's options that matter to a container: ro, nosuid (nodev is
# fuse-overlayfs's default, not the kernel's; it is never needed on the root).
root_mount() {
  awk '$5 == "/" { split($6, o, ","); s = "suid"; r = "rw";
        for (i in o) { if (o[i] == "nosuid") s = "nosuid"; if (o[i] == "ro") r = "ro" }
        print "root mount: " r " " s }' /proc/self/mountinfo
}
