#!/usr/bin/env bash
# Absolute checks of one back end's results (the reference's too): what any
# correct overlay gives, whatever the others do.
#   check.sh RESULTS_DIR MODE [KNOWN [quiet]]
# KNOWN: the back end's known deviations (FILE<TAB>LINE), not counted here (and
# with quiet, not shown: the comparison shows them).
set -uo pipefail
r=$1 mode=$2 known=${3:-/dev/null} quiet=${4:-} bad=0
is_known() { grep -qxF -e "$1"$'\t'"$2" -e "$1"$'\t*' "$known"; }
has() { # FILE LINE...: FILE holds each LINE exactly
  local f=$1 line
  shift
  for line; do
    grep -qxF -- "$line" "$r/$f" 2>/dev/null && continue
    if is_known "$f" "$line"; then
      [ -n "$quiet" ] || echo "   known deviation: $f lacks: $line"
    else
      echo "   CHECK FAILED: $f lacks: $line"
      bad=1
    fi
  done
}
has_re() { # FILE REGEX...: some line of FILE matches each REGEX
  local f=$1 re
  shift
  for re; do
    grep -qE -- "$re" "$r/$f" 2>/dev/null && continue
    echo "   CHECK FAILED: $f has no line like: $re"
    bad=1
  done
}
lacks() { # FILE REGEX: no line of FILE matches
  local line
  while IFS= read -r line; do
    if is_known "$1" "$line"; then
      [ -n "$quiet" ] || echo "   known deviation: $1 has: $line"
    else
      echo "   CHECK FAILED: $1 has: $line"
      bad=1
    fi
  done < <(grep -E -- "$2" "$r/$1" 2>/dev/null)
}
for f in "$r"/*.txt; do
  has "$(basename "$f")" "[exit status 0]"
done
has ops.run.txt "/data/hl/single /data/hl/single-link: same file, links 2 2" \
  "/data/hl/f1 /data/hl/f2: same file, links 2 2" "/data/top.txt /data/top-link: same file, links 2 2" \
  "/data/dir1-renamed/b: gone" "/data/deldir: gone"
has ops.committed-run.txt "/data/hl/single /data/hl/single-link: same file, links 2 2" \
  "/data/hl/f1 /data/hl/f2: same file, links 2 2" "/data/top.txt /data/top-link: same file, links 2 2"
# The re-made directories hold only what was made in them.
lacks opaque.run.txt '^/data/(opq/(x|sub/y)|l2opq/(old|new)|spread/from-|dir1/sub/[cd]) '
lacks opaque.committed-run.txt '^/data/(opq/(x|sub/y)|l2opq/(old|new)|spread/from-|dir1/sub/[cd]) '
lacks opaque.run.txt ': found'
lacks build.run.txt '^/data/opq/(x|sub)'
lacks buildah.committed-run.txt '^/data/opq/(x|sub)'
has opaque.committed-run.txt "/data/opq/new f 644 0:0 size=4 $(echo new | md5sum | cut -c1-12)"
# A non-root user runs from the root file system; setuid works.
has user.run.txt "uid=1000(user) gid=1000(user) groups=1000(user)" "ruid=1000 euid=0" \
  "hello from user" "cat /data/modes/secret: refused" "exec: ok"
lacks user.run.txt '^root mount: .*nosuid'
has build.run.txt "ruid=1000 euid=0"
has ops.committed-setuid.txt "ruid=1000 euid=0"
has live.exec-again.txt "/data/dir1: gone" "now /data/opq/two f 644 0:0 size=4 $(echo two | md5sum | cut -c1-12)"
lacks live.exec-again.txt '^now /data/opq/(x|sub|one)'
if [ "$mode" = rootful ]; then
  has mapped.run.txt "uid=0(root) gid=0(root)" "/home/user/hello 1000:1000 600" \
    "/tmp/m2 1000:1000" "ruid=0 euid=0"
fi
has buildah.run-user.txt "uid=1000(user) gid=1000(user) groups=1000(user)"
if [ "$mode" = rootless ]; then
  has_re keepid.run.txt '^uid=USER_UID\(' '^/tmp/k USER_UID:USER_(UID|GID) 644$' '^ruid=USER_UID euid=0$'
  has keepid.run.txt "/home/user 1000:1000 755" "/data/modes/file 1000:1000 640"
fi
has longname.run.txt "create: ok" "rm: ok"
has setgid.run.txt "/data/sg/f 644 0:1000" "/data/sg/d 2755 0:1000" "/data/sg/p/q 2755 0:1000" \
  "/data/modes/dir/d 2755 0:1000"
has cleanup.leftovers.txt "[exit status 0]"
lacks cleanup.leftovers.txt '^left'
exit $bad
