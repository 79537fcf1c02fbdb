#!/usr/bin/env bash
# ctest fixture: turns the kernel's FUSE-over-io_uring switch on for the
# io_uring=1 run of the mount tests (`on STATE`), and back to what it was
# (`restore STATE`). Without CONFIG_FUSE_IO_URING there is no switch, and that
# run goes through /dev/fuse.
set -euo pipefail
param=/sys/module/fuse/parameters/enable_uring
state=$2
[ -e "$param" ] || { echo "no $param: FUSE over io_uring is not in this kernel"; exit 0; }
case $1 in
  on) cat "$param" >"$state"; echo Y >"$param" ;;
  restore) [ -s "$state" ] && cat "$state" >"$param"; rm -f "$state" ;;
esac
