# A setgid directory: what is made in it takes its group, a directory its
# setgid bit too.
mkdir /data/sg && chown 0:1000 /data/sg && chmod 2775 /data/sg
touch /data/sg/f && mkdir /data/sg/d && mkdir -p /data/sg/p/q
stat -c '%n %a %u:%g' /data/sg /data/sg/f /data/sg/d /data/sg/p /data/sg/p/q
chmod 2755 /data/modes/dir && chown 0:1000 /data/modes/dir   # a lower directory made setgid
touch /data/modes/dir/f && mkdir /data/modes/dir/d
stat -c '%n %a %u:%g' /data/modes/dir /data/modes/dir/f /data/modes/dir/d
