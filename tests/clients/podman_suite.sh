#!/usr/bin/env bash
# The podman and buildah client suite (issue 19): the same scenarios through
# podman 4.3 and buildah 1.28 (Debian 12, runc) on three overlay back ends,
# rootful and as an ordinary user (rootless), each run in a private store; each
# mount program's results are compared with the reference, podman on kernel
# overlayfs. README.md in this directory lists the scenarios.
#
#   podman_suite.sh [--mode rootful|rootless|all] [--backend kernel|fuse-overlayfs|layerfs|all]
#                   [--layerfs-mount PATH] [--results DIR] [--user NAME] [--keep]
#
#   --mode, --backend  what to run (default: all of each). The reference (kernel)
#                      of a mode runs first unless DIR/MODE/kernel holds results of
#                      this same suite and input (the ctest fixture runs it once).
#   --layerfs-mount    the layerfs-mount to test (default: the one on PATH). It is
#                      copied, with the `layerfs` it links to, into the run's
#                      private dir: the rootless user runs it wherever it was built,
#                      and a re-install during a run does not change it.
#   --results DIR      where results go (default /tmp/layerfs-clients-results):
#                      DIR/MODE/BACKEND/*.txt (compared), DIR/MODE/BACKEND/logs/
#                      (stderr of every step, timings, the mount program's command
#                      lines, the configuration; not compared).
#   --user NAME        the ordinary user for rootless runs (default layerfs-test;
#                      created, with /etc/subuid and /etc/subgid ranges, if missing)
#   --keep             keep each run's private dir (storage, configs) for a look
#
# Run as root. Every run gets a fresh private dir /tmp/layerfs-clients.* with its
# own storage.conf and containers.conf (CONTAINERS_STORAGE_CONF, CONTAINERS_CONF):
# graphroot, runroot, tmp_dir, XDG_RUNTIME_DIR and HOME are in it; the machine's
# and the user's default storage are never used. At exit (trap) containers are
# removed, the rootless `podman pause` process and every other process of the run
# (found by the private dir on its command line or as its root) are killed by
# pid, what is still mounted under the private dir is unmounted and the dir is
# removed. A dir left by a run that was killed (SIGKILL: no trap) is cleaned up
# the same way by the next run.
#
# The reference takes podman's "naive diff" (as every mount program gets) and
# no idmapped layers: see run_backend. Known deviations, where a back end is
# wrong and the others agree, are listed line by line in expected/ (fuse-overlayfs
# bugs; kernel overlayfs' own); layerfs has none. Exit status: 0 when every run
# passed its checks (scenarios/check.sh) and matched the reference but for those
# lines, 1 otherwise, 2 on bad usage or a missing tool.
set -euo pipefail
suite_dir=$(cd "$(dirname "$0")" && pwd)

modes=(rootful rootless)
backends=(kernel fuse-overlayfs layerfs)
layerfs_mount=""
results=/tmp/layerfs-clients-results
user=layerfs-test
keep=0
while [ $# -gt 0 ]; do
  case $1 in
    --mode) [ "$2" = all ] || modes=("$2"); shift 2 ;;
    --backend) [ "$2" = all ] || backends=("$2"); shift 2 ;;
    --layerfs-mount) layerfs_mount=$2; shift 2 ;;
    --results) results=$2; shift 2 ;;
    --user) user=$2; shift 2 ;;
    --keep) keep=1; shift ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "podman_suite: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done
for m in "${modes[@]}"; do
  case $m in rootful|rootless) ;; *) echo "podman_suite: unknown mode '$m'" >&2; exit 2 ;; esac
done
for b in "${backends[@]}"; do
  case $b in kernel|fuse-overlayfs|layerfs) ;; *) echo "podman_suite: unknown backend '$b'" >&2; exit 2 ;; esac
done

die() { echo "podman_suite: $*" >&2; exit 2; }
[ "$(id -u)" = 0 ] || die "run as root (rootless runs drop to user '$user')"
for tool in podman buildah runc fuse-overlayfs fusermount3 newuidmap newgidmap gcc setfattr getfattr; do
  command -v "$tool" >/dev/null || die "'$tool' is missing (scripts/setup.sh installs it)"
done
[ -x /usr/bin/python3 ] || die "/usr/bin/python3 is missing (apt-get install python3)"
[ -x /bin/busybox ] || die "/bin/busybox is missing (apt-get install busybox-static)"
if [[ " ${backends[*]} " == *" layerfs "* ]]; then
  [ -n "$layerfs_mount" ] || layerfs_mount=$(command -v layerfs-mount || true)
  [ -n "$layerfs_mount" ] && [ -x "$layerfs_mount" ] || die "no layerfs-mount (give --layerfs-mount PATH)"
  layerfs_bin=$(readlink -f "$layerfs_mount")
fi

# The environment the rootless runs need, as scripts/test.sh sets it up.
if [[ " ${modes[*]} " == *" rootless "* ]]; then
  id "$user" >/dev/null 2>&1 || useradd --create-home --shell /bin/bash "$user"
  for f in /etc/subuid /etc/subgid; do
    grep -q "^$user:" "$f" 2>/dev/null || echo "$user:300000:65536" >>"$f"
  done
  chmod 0666 /dev/fuse
  grep -qx user_allow_other /etc/fuse.conf 2>/dev/null || echo user_allow_other >>/etc/fuse.conf
fi
modprobe overlay 2>/dev/null || true
grep -qw overlay /proc/filesystems || die "the kernel has no overlay file system"

# --- the input image, built once per results dir and suite version
stamp=$(cat "$suite_dir"/podman_suite.sh "$suite_dir"/make_image.sh "$suite_dir"/tarlist.py \
          "$suite_dir"/euid.c "$suite_dir"/scenarios/* /bin/busybox \
        | sha256sum | cut -c1-16)-$(podman --version | tr -dc 0-9.)-$(buildah --version | cut -d' ' -f3)
mkdir -p "$results"
chmod 0755 "$results"
input=$results/input
if [ "$(cat "$input/stamp" 2>/dev/null)" != "$stamp" ]; then
  rm -rf "$input"
  mkdir -p "$input"
  bash "$suite_dir/make_image.sh" "$input/oci" >"$input/image-id"
  mkdir -p "$input/context/ctx-dir/sub"
  echo "copied file" >"$input/context/ctx-file"
  echo "ctx a" >"$input/context/ctx-dir/a"
  echo "ctx b" >"$input/context/ctx-dir/sub/b"
  cp "$suite_dir/scenarios/Containerfile" "$input/context/Containerfile"
  chmod -R a+rX "$input"
  chmod 0600 "$input/context/ctx-dir/a"
  chmod 0750 "$input/context/ctx-dir/sub"
  echo "$stamp" >"$input/stamp"
fi
image_id=$(cat "$input/image-id")

# --- one run: MODE BACKEND -> $results/MODE/BACKEND
work=""          # the current run's private dir
run_as_user=0
# cleanup_run: ends the current run's containers, processes and mounts, and
# removes its private dir ($work).
cleanup_run() {
  [ -n "$work" ] && [ -d "$work" ] || return 0
  # Containers first (podman unmounts their roots), then whatever is left.
  run_as_user=0
  [ "$(stat -c %U "$work/storage" 2>/dev/null)" = "$user" ] && run_as_user=1
  if [ -f "$work/env" ] && { [ "$run_as_user" = 1 ] || kill -0 "$(cat "$work/ns/holder" 2>/dev/null)" 2>/dev/null; }; then
    step_timeout=60 pm rm -af -t 0 >/dev/null 2>&1 || true
    step_timeout=60 bh rm -a >/dev/null 2>&1 || true
  fi
  # The rootless pause process holds the user and mount namespaces in which
  # podman mounted everything. It and every other process of this run (conmon,
  # a mount program's daemon: the private dir on their command line; a
  # container's processes: their root in it) are killed by pid.
  local pids=() pid p f m
  for f in "$work"/tmp/pause.pid "$work"/xdg/libpod/tmp/pause.pid; do
    [ -f "$f" ] && pids+=("$(cat "$f")")
  done
  for p in /proc/[0-9]*; do
    pid=${p#/proc/}
    [ "$pid" = $$ ] && continue
    if tr '\0' ' ' 2>/dev/null <"$p/cmdline" | grep -qF -- "$work/" ||
       [[ "$(readlink "$p/root" 2>/dev/null)" == "$work/"* ]]; then
      pids+=("$pid")
    fi
  done
  for pid in "${pids[@]}"; do kill -9 "$pid" 2>/dev/null || true; done
  # The rootful run's mount namespace goes with its last process.
  if [ -f "$work/ns/holder" ]; then kill -9 "$(cat "$work/ns/holder")" 2>/dev/null || true; fi
  # Mounts under the private dir in this namespace (none, unless a run made
  # some outside its namespace), deepest first.
  for _ in 1 2 3; do
    mapfile -t mounts < <(findmnt -rn -o TARGET | awk -v w="$work/" 'index($0, w) == 1' | sort -r)
    [ ${#mounts[@]} -eq 0 ] && break
    for m in "${mounts[@]}"; do umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true; done
  done
  if [ "$keep" = 1 ]; then
    rm -f "$work/owner"
    echo "  kept $work"
  else
    rm -rf --one-file-system "$work"
  fi
  work=""
}
trap 'cleanup_run' EXIT
trap 'exit 130' INT TERM

# podman and buildah as this run's client (root, or the ordinary user), with the
# private configuration only.
# Each call may take at most step_timeout seconds (a hung mount would hang it).
step_timeout=180
client() {
  if [ "$run_as_user" = 1 ]; then
    (cd "$work" && timeout -k 10 "$step_timeout" runuser -u "$user" -- env -i $(cat "$work/env") "$@")
  else
    (cd "$work" && timeout -k 10 "$step_timeout" nsenter --mount="/proc/$(cat "$work/ns/holder")/ns/mnt" -- \
       env -i $(cat "$work/env") "$@")
  fi
}
# Rootful runs happen in a mount namespace of their own, held by a process
# (its pid in $work/ns/holder), in which /var/lib is an overlay whose upper dir
# is in the private dir: podman and buildah as root write there what no
# setting moves (c/image's /var/lib/containers/cache/blob-info-cache-v1.boltdb),
# and every mount of the run (container roots, the mount programs' FUSE mounts)
# stays in that namespace and goes with it.
start_namespace() {
  mkdir -p "$work/ns/varlib-upper" "$work/ns/varlib-work"
  unshare --mount --propagation private -- sh -c '
    mount -t overlay overlay -o "lowerdir=/var/lib,upperdir=$1,workdir=$2" /var/lib || exit 1
    echo ready
    exec sleep infinity' sh "$work/ns/varlib-upper" "$work/ns/varlib-work" >"$work/ns/ready" 2>&1 &
  echo $! >"$work/ns/holder"
  disown
  local i
  for i in $(seq 50); do
    grep -qx ready "$work/ns/ready" 2>/dev/null && return 0
    kill -0 "$(cat "$work/ns/holder")" 2>/dev/null || break
    sleep 0.1
  done
  die "cannot make a mount namespace for the rootful run: $(cat "$work/ns/ready")"
}
pm() { client podman "$@"; }
bh() { client buildah "$@"; }

# step NAME CMD...: CMD's stdout and its exit status are the result NAME.txt;
# its stderr goes to logs/NAME.err.
step() {
  local name=$1 rc t0 t1
  shift
  t0=$(date +%s%N)
  set +e
  "$@" >"$res/$name.txt" 2>"$res/logs/$name.err"
  rc=$?
  set -e
  t1=$(date +%s%N)
  echo "[exit status $rc]" >>"$res/$name.txt"
  printf '%-28s %6.1fs  exit %d\n' "$name" "$(((t1 - t0) / 1000000))e-3" "$rc" >>"$res/logs/timings"
  if [ "$rc" != 0 ]; then
    failed_steps=$((failed_steps + 1))
    if [ $failed_steps -le 5 ]; then
      [ "$rc" = 124 ] && echo "    $name: a command timed out after ${step_timeout}s"
      echo "    $name: exit status $rc"
      tail -n 3 "$res/logs/$name.err" | cut -c1-400 | sed "s|$work|WORK|g; s/^/      /"
    elif [ $failed_steps = 6 ]; then
      echo "    (more steps failed: see logs/timings and logs/*.err)"
    fi
  fi
  return 0
}

quiet() { "$@" >/dev/null; }
# Results of podman's and buildah's outputs, sorted or listed.
sorted_diff() { pm diff "$1" | LC_ALL=C sort; }
export_listing() {
  pm export -o "$work/out/$1.tar" "$1" && /usr/bin/python3 "$suite_dir/tarlist.py" tar "$work/out/$1.tar"
  local rc=$?
  rm -f "$work/out/$1.tar"
  return $rc
}
image_listing() {
  pm save --format oci-dir --uncompressed -o "$work/out/$2" "$1" &&
    /usr/bin/python3 "$suite_dir/tarlist.py" oci "$work/out/$2" 3
  local rc=$?
  rm -rf "$work/out/$2"
  return $rc
}
# copy_out CTR:PATH: podman cp out of a container, then what arrived (names,
# types, modes, sizes, contents; the owner is the caller's).
copy_out() {
  rm -rf "$work/out/cp"
  pm cp "$1" "$work/out/cp" || return
  (cd "$work/out/cp" && find . -printf '%p %y %m %s\n' | LC_ALL=C sort &&
     find . -type f -exec md5sum {} + | LC_ALL=C sort -k2)
}
scenario() { cat "$suite_dir/scenarios/lib.sh" "$suite_dir/scenarios/$1.sh"; }
# Scenario NAME in a container, then its podman diff, export and commit, and
# scenario after-NAME in a container of the committed image.
run_diff_commit() {
  local n=$1
  step "$n.run" pm run --pull=never --name "$n" localhost/clientbase sh -c "$(scenario "$n")"
  step "$n.diff" sorted_diff "$n"
  step "$n.export" export_listing "$n"
  step "$n.commit" pm commit -q -c "CMD sh" "$n" "localhost/$n-committed"
  sed -i 's/^[0-9a-f]\{64\}$/IMAGE-ID/' "$res/$n.commit.txt"
  step "$n.committed-image" image_listing "localhost/$n-committed" "$n-committed"
  step "$n.committed-run" pm run --pull=never --rm "localhost/$n-committed" sh -c "$(scenario "after-$n")"
}
mount_program_processes() {
  # Mount program daemons of this run still alive once its containers are gone.
  local p
  for p in /proc/[0-9]*; do
    if tr '\0' ' ' 2>/dev/null <"$p/cmdline" | grep -qE "^(/[^ ]*/)?(fuse-overlayfs|layerfs-mount|layerfs) .*$work/"; then
      echo "left running: $(tr '\0' ' ' <"$p/cmdline" | sed "s|$work|WORK|g" | cut -c1-200)"
    fi
  done
  # FUSE or overlay mounts left in the run's mount namespace (rootful) or here.
  { if [ "$run_as_user" = 0 ]; then client findmnt -rn -o TARGET,FSTYPE; fi; findmnt -rn -o TARGET,FSTYPE; } |
    awk -v w="$work/" 'index($1, w) == 1 && ($2 ~ /^fuse/ || $2 == "overlay") {print "left mounted: " $0}' | sed "s|$work|WORK|g"
}

run_backend() {
  local mode=$1 backend=$2
  res=$results/$mode/$backend
  rm -rf "$res"
  mkdir -p "$res/logs"
  # Lower case: podman names an image pulled from oci:DIR after DIR.
  work=/tmp/layerfs-clients.$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')
  mkdir -m 0755 "$work"
  echo $$ >"$work/owner"
  mkdir -p "$work"/{storage,runroot,tmp,xdg,home,net,out,bin}
  # The input, where the rootless user surely reads it.
  cp -r "$input/oci" "$input/context" "$suite_dir/scenarios" "$work/"
  chmod 0700 "$work/xdg"
  run_as_user=0
  [ "$mode" = rootless ] && run_as_user=1

  # The mount program itself, unwrapped, as a user's storage.conf names it.
  local mount_program=""
  case $backend in
    fuse-overlayfs) mount_program=$(command -v fuse-overlayfs) ;;
    layerfs)
      # Copied where the rootless user surely may run it, under podman's name for it.
      cp "$layerfs_bin" "$work/bin/layerfs"
      ln -s layerfs "$work/bin/layerfs-mount"
      mount_program=$work/bin/layerfs-mount ;;
  esac
  {
    echo "[storage]"
    echo "driver = \"overlay\""
    echo "graphroot = \"$work/storage\""
    echo "runroot = \"$work/runroot\""
    echo "rootless_storage_path = \"$work/storage\""
    if [ -n "$mount_program" ]; then
      echo "[storage.options.overlay]"
      echo "mount_program = \"$mount_program\""
    fi
  } >"$work/storage.conf"
  # No systemd here: cgroupfs and a file for events. No network at all. runc
  # may not raise rlimits past the host's hard limits (podman asks for more).
  # Locks in files in tmp_dir, not in the machine's /dev/shm/libpod_lock.
  cat >"$work/containers.conf" <<EOF
[containers]
netns = "none"
default_ulimits = ["nofile=1024:1024", "nproc=4096:4096"]
[network]
network_config_dir = "$work/net"
[engine]
lock_type = "file"
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = "$work/events.log"
runtime = "runc"
tmp_dir = "$work/tmp"
EOF
  cat >"$work/env" <<EOF
HOME=$work/home
XDG_RUNTIME_DIR=$work/xdg
XDG_CONFIG_HOME=$work/home/.config
XDG_DATA_HOME=$work/home/.local/share
TMPDIR=$work/tmp
CONTAINERS_STORAGE_CONF=$work/storage.conf
CONTAINERS_CONF=$work/containers.conf
BUILDAH_ISOLATION=oci
PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
EOF
  # Sanitizer settings reach the mount program (podman passes it its environment):
  # an ASan build's reports go where scripts/test.sh looks for them.
  local v
  for v in ASAN_OPTIONS UBSAN_OPTIONS LSAN_OPTIONS TSAN_OPTIONS; do
    if [ -n "${!v:-}" ]; then echo "$v=${!v}" >>"$work/env"; fi
  done
  if [ "$backend" = kernel ]; then
    # podman diffs a container whose layers a mount program serves by walking
    # two mounts (the container's and its image's) side by side: c/storage's
    # "naive diff". On kernel overlayfs it reads the upper dir instead ("native
    # diff"), which writes the same change differently (an opaque directory
    # where the naive diff lists each removed entry; a hard link to an
    # unchanged lower file, which the naive diff, blind to link counts, leaves
    # out). The reference takes the naive diff too (c/storage's cached feature
    # check, seeded), so that every difference is the mount's.
    mkdir -p "$work/runroot/overlay" "$work/xdg/containers/overlay"
    touch "$work/runroot/overlay/native-diff()-false" "$work/xdg/containers/overlay/native-diff()-false"
  fi
  # On a kernel with idmapped mounts (5.12+) c/storage 1.43 gives a rootful
  # container with a user namespace (--uidmap) idmapped lower dirs
  # (overlay/<id>/mapped/0/l/...), and passes a mount program uidmapping= too:
  # every file is mapped twice and shows as 65534, runc cannot make its mount
  # points (permission denied), the container does not start, with fuse-overlayfs
  # and layerfs alike. With the feature off (the cached check, seeded) podman
  # passes the mapping to the mount program alone, as on older kernels, and
  # gives kernel overlayfs chowned copies of the layers.
  mkdir -p "$work/runroot/overlay" "$work/xdg/containers/overlay"
  touch "$work/runroot/overlay/idmapped-lower-dir-false" "$work/xdg/containers/overlay/idmapped-lower-dir-false"
  [ "$run_as_user" = 1 ] && chown -R "$user:" "$work"
  [ "$run_as_user" = 1 ] || start_namespace
  cp "$work/storage.conf" "$work/containers.conf" "$res/logs/"

  echo "== $mode $backend${mount_program:+ (mount_program $mount_program)}"
  failed_steps=0
  local t0
  t0=$(date +%s)
  step setup.pull pm pull -q "oci:$work/oci:latest"
  step setup.tag pm tag "$image_id" localhost/clientbase:latest
  step setup.info pm info --format '{{.Store.GraphDriverName}} {{.Host.OCIRuntime.Name}} {{.Store.GraphRoot}} {{.Store.RunRoot}} {{.Store.GraphStatus}}'
  # Which file system the containers' roots are (not compared: it names the back end).
  step setup.rootfs pm run --pull=never --rm localhost/clientbase awk '$5 == "/" { for (i = 7; $i != "-"; i++); print $(i + 1), $(i + 2) }' /proc/self/mountinfo
  cp "$res/setup.info.txt" "$res/setup.rootfs.txt" "$res/logs/"
  echo "   container root: $(head -1 "$res/setup.rootfs.txt")"
  rm -f "$res"/setup.*.txt

  # Changes of every kind to lower files and directories.
  run_diff_commit ops
  step ops.committed-setuid pm run --pull=never --rm -u 1000 localhost/ops-committed /data/euid-copy

  # rm -rf of lower directories, then made again (opaque directories).
  run_diff_commit opaque

  # Setgid directories.
  step setgid.run pm run --pull=never --rm localhost/clientbase sh -c "$(scenario setgid)"

  # Names of NAME_MAX bytes.
  # Setgid directories.
  step setgid.run pm run --pull=never --rm localhost/clientbase sh -c "$(scenario setgid)"

  # Names of NAME_MAX bytes. (Not committed: c/storage keeps a mount program's
  # layers with .wh.NAME whiteout files, and .wh. + 255 bytes is too long.)
  step longname.run pm run --pull=never --name longname localhost/clientbase sh -c "$(scenario longname)"
  step longname.diff sorted_diff longname

  # A non-root container user, and a setuid-root program.
  step user.run pm run --pull=never --rm -u 1000 localhost/clientbase sh -c "$(scenario user)"

  if [ "$mode" = rootless ]; then
    # The host user's own id in the container: podman maps the layers for it.
    step keepid.run pm run --pull=never --name keepid --userns keep-id localhost/clientbase sh -c "$(scenario keepid)"
    step keepid.diff sorted_diff keepid
    step keepid.commit pm commit -q -c "CMD sh" keepid localhost/keepid-committed
    sed -i 's/^[0-9a-f]\{64\}$/IMAGE-ID/' "$res/keepid.commit.txt"
    step keepid.committed-image image_listing localhost/keepid-committed keepid-committed
    # The user's ids differ from machine to machine.
    sed -i "s/\b$(id -u "$user")\b/USER_UID/g; s/\b$(id -g "$user")\b/USER_GID/g" "$res"/keepid.*.txt
  fi

  if [ "$mode" = rootful ]; then
    # A user namespace of a rootful container: podman passes the mapping to the
    # mount program (uidmapping=, gidmapping=); the kernel gets mapped layers.
    step mapped.run pm run --pull=never --name mapped --uidmap 0:200000:65536 --gidmap 0:200000:65536 \
      localhost/clientbase sh -c "$(scenario mapped)"
    step mapped.diff sorted_diff mapped
    step mapped.commit pm commit -q -c "CMD sh" mapped localhost/mapped-committed
    sed -i 's/^[0-9a-f]\{64\}$/IMAGE-ID/' "$res/mapped.commit.txt"
    step mapped.committed-image image_listing localhost/mapped-committed mapped-committed
  fi

  # A running container: podman exec, cp in and out, diff while it runs, stop
  # and start (its root mounted again over the same upper dir), exec again.
  step live.run quiet pm run --pull=never -d --name live localhost/clientbase sleep 600
  step live.exec pm exec live sh -c "$(scenario live-1)"
  step live.cp-in pm cp "$work/context/ctx-file" live:/data/copied-in
  step live.cp-out copy_out live:/data/dir1-live
  step live.diff sorted_diff live
  step live.stop quiet pm stop -t 0 live
  step live.start quiet pm start live
  step live.exec-again pm exec live sh -c "$(scenario live-2)"
  step live.diff-again sorted_diff live
  step live.rm quiet pm rm -f -t 0 live

  # podman mount: the container's root as the host sees it (rootless: in podman
  # unshare), changed there, xattrs included; then diff and commit.
  step hostmount.create quiet pm create --pull=never --name hm localhost/clientbase true
  if [ "$mode" = rootless ]; then
    step hostmount.host pm unshare sh -c 'm=$(podman mount hm) && sh "$0" "$m"; s=$?; podman umount hm >/dev/null; exit $s' \
      "$work/scenarios/hostmount.sh"
  else
    step hostmount.host client sh -c 'm=$(podman mount hm) && sh "$0" "$m"; s=$?; podman umount hm >/dev/null; exit $s' \
      "$work/scenarios/hostmount.sh"
  fi
  step hostmount.diff sorted_diff hm
  step hostmount.commit pm commit -q hm localhost/hostmount-committed
  sed -i 's/^[0-9a-f]\{64\}$/IMAGE-ID/' "$res/hostmount.commit.txt"
  step hostmount.committed-image image_listing localhost/hostmount-committed hostmount-committed

  # A named volume over an image directory: podman copies the directory into
  # it from the container's root.
  step volume.run pm run --pull=never --rm -v vol1:/data/dir1 localhost/clientbase \
    sh -c "$(scenario volume)"

  # Many entries, a big file.
  step bulk.run pm run --pull=never --name bulk localhost/clientbase sh -c "$(scenario bulk)"
  step bulk.diff sorted_diff bulk
  step bulk.commit pm commit -q -c "CMD sh" bulk localhost/bulk-committed
  sed -i 's/^[0-9a-f]\{64\}$/IMAGE-ID/' "$res/bulk.commit.txt"
  step bulk.committed-run pm run --pull=never --rm localhost/bulk-committed sh -c "$(scenario after-bulk)"

  # podman build: RUN, COPY, USER.
  step build.build pm build -q --pull=never --network=none -t localhost/built -f "$work/context/Containerfile" "$work/context"
  sed -i 's/^[0-9a-f]\{64\}$/IMAGE-ID/' "$res/build.build.txt"
  step build.image image_listing localhost/built built
  step build.run pm run --pull=never --rm localhost/built sh -c "$(scenario after-build)"

  # buildah: from, run, copy, config, commit.
  step buildah.from bh from --pull=never --name bctr localhost/clientbase
  step buildah.run bh run --network=none bctr -- sh -c "$(scenario buildah)"
  step buildah.copy bh copy --chown 1000:1000 bctr "$work/context/ctx-file" /copied
  step buildah.config bh config --user 1000 --cmd sh bctr
  step buildah.run-user bh run --network=none bctr -- sh -c 'id; stat -c "%n %a %u:%g %s" /copied'
  step buildah.commit bh commit -q bctr localhost/buildah-img
  sed -i 's/^[0-9a-f]\{64\}$/IMAGE-ID/' "$res/buildah.commit.txt"
  step buildah.image image_listing localhost/buildah-img buildah-img
  step buildah.committed-run pm run --pull=never --rm localhost/buildah-img sh -c "$(scenario after-buildah)"

  # Nothing of the mount program may outlive the containers.
  # (podman rm's own failures, an shm mount it finds busy now and then, are
  # podman's: logged, not compared.)
  pm rm -af -t 0 >/dev/null 2>"$res/logs/cleanup.rm.err" || true
  bh rm -a >/dev/null 2>"$res/logs/cleanup.buildah-rm.err" || true
  sleep 1
  step cleanup.leftovers mount_program_processes

  cleanup_run
  echo "$stamp" >"$res/stamp"
  echo "   $(($(date +%s) - t0)) s (steps: $res/logs/timings)"
}

# --- comparison with the reference
# Known deviations: expected/<backend>.txt lists, per mode and result file, the
# exact lines a known bug of that back end changes (kernel.txt: where the
# reference itself is wrong). They are dropped from both sides before the
# comparison; the checks do not count them for that back end. layerfs has none.
allow_list() { # BACKEND MODE -> FILE<TAB>LINE per known deviation
  local f=$suite_dir/expected/$1.txt
  [ -f "$f" ] || return 0
  [ "$1" != layerfs ] || die "$f: layerfs gets no known deviations; fix layerfs instead"
  awk -v mode="$2" '/^#/ || NF < 3 { next }
    $1 == "any" || $1 == mode { file = $2; sub(/^[^ ]+ [^ ]+ /, ""); print file "\t" $0 }' "$f"
}
# filter_known ALLOWED FILE: FILE without the lines ALLOWED lists for it.
# A known deviation "*" covers the whole file (a scenario that a bug breaks).
filter_known() {
  awk -F'\t' -v name="$(basename "$2")" 'FILENAME == ARGV[1] { if ($1 == name) skip[substr($0, length($1) + 2)] = 1; next }
    ("*" in skip) { exit } !($0 in skip)' "$1" "$2"
}
compare() {
  local mode=$1 backend=$2 ref=$results/$1/kernel got=$results/$1/$2 tmp f name out="" d
  tmp=$(mktemp -d /tmp/layerfs-clients-compare.XXXXXX)
  { allow_list kernel "$mode"; allow_list "$backend" "$mode"; } >"$tmp/allowed"
  mkdir "$tmp/kernel" "$tmp/$backend"
  for f in "$ref"/*.txt "$got"/*.txt; do
    name=$(basename "$f")
    [ -f "$tmp/kernel/$name" ] && continue
    if [ -f "$ref/$name" ]; then filter_known "$tmp/allowed" "$ref/$name" >"$tmp/kernel/$name"; else : >"$tmp/kernel/$name"; fi
    if [ -f "$got/$name" ]; then filter_known "$tmp/allowed" "$got/$name" >"$tmp/$backend/$name"; else : >"$tmp/$backend/$name"; fi
    # Known deviations that showed: a listed line on one side only.
    while IFS=$'\t' read -r fname line; do
      [ "$fname" = "$name" ] || continue
      if [ "$line" = "*" ]; then
        cmp -s "$ref/$name" "$got/$name" || echo "   known deviation: $name: differs entirely"
        continue
      fi
      local in_ref=0 in_got=0
      grep -qxF -- "$line" "$ref/$name" 2>/dev/null && in_ref=1
      grep -qxF -- "$line" "$got/$name" 2>/dev/null && in_got=1
      if [ $in_ref != $in_got ]; then
        if [ $in_got = 1 ]; then echo "   known deviation: $name: $backend has: $line"
        else echo "   known deviation: $name: kernel has: $line"; fi
      fi
    done <"$tmp/allowed"
    # At most 60 lines a file: a back end that fails everything differs everywhere.
    d=$(diff -u --label "kernel/$name" --label "$backend/$name" "$tmp/kernel/$name" "$tmp/$backend/$name") ||
      out+=$(echo "$d" | awk -v f="$got/$name" 'NR <= 60 { print } END { if (NR > 60) print "... " NR - 60 " more lines: diff " f " with the reference" }')$'\n'
  done >"$tmp/seen"
  if [ -s "$tmp/seen" ]; then
    echo "   known deviations, not counted:"
    for b in kernel "$backend"; do
      [ -f "$suite_dir/expected/$b.txt" ] &&
        awk -v mode="$mode" -v b="$b" '$1 == "#:" && ($2 == "any" || $2 == mode) { $1 = ""; $2 = ""; sub(/^ +/, ""); print "     " b ": " $0 }' "$suite_dir/expected/$b.txt"
    done
    sed 's/^   known deviation: /       /' "$tmp/seen"
  fi
  rm -rf "$tmp"
  if [ -n "$out" ]; then
    echo "   FAIL: $mode $backend differs from podman on kernel overlayfs (- kernel, + $backend):"
    echo "$out" | awk 'NR <= 400 { print "     " $0 } END { if (NR > 400) print "     ... " NR - 400 " more lines" }'
    return 1
  fi
  echo "   OK: $mode $backend gives what podman on kernel overlayfs gives"
}

# A run killed before its trap ran (ctest's timeout kills): its private dir,
# whose owner pid is gone, is cleaned up the same way by the next run.
for stale in /tmp/layerfs-clients.*; do
  [ -f "$stale/owner" ] || continue
  owner=$(cat "$stale/owner")
  kill -0 "$owner" 2>/dev/null && [ "$(cat /proc/"$owner"/comm 2>/dev/null)" = bash ] && continue
  echo "podman_suite: cleaning up $stale, left by a run that was killed"
  work=$stale keep=0 cleanup_run
done

status=0
summary=()
result() { # MODE BACKEND OK
  if [ "$3" = 1 ]; then summary+=("PASS $1 $2"); else summary+=("FAIL $1 $2"); status=1; fi
}
for mode in "${modes[@]}"; do
  # The reference: run when asked for, or when there is none of this suite and
  # input (the results of an earlier run are reused otherwise).
  if [[ " ${backends[*]} " == *" kernel "* ]] ||
     [ "$(cat "$results/$mode/kernel/stamp" 2>/dev/null)" != "$stamp" ]; then
    run_backend "$mode" kernel
    ok=1
    allow_list kernel "$mode" >"$results/$mode/kernel/logs/known-deviations"
    bash "$suite_dir/scenarios/check.sh" "$results/$mode/kernel" "$mode" \
      "$results/$mode/kernel/logs/known-deviations" || ok=0
    result "$mode" kernel $ok
  else
    echo "== $mode kernel: the reference of an earlier run ($results/$mode/kernel)"
  fi
  for backend in "${backends[@]}"; do
    [ "$backend" = kernel ] && continue
    run_backend "$mode" "$backend"
    ok=1
    allow_list "$backend" "$mode" >"$results/$mode/$backend/logs/known-deviations"
    bash "$suite_dir/scenarios/check.sh" "$results/$mode/$backend" "$mode" \
      "$results/$mode/$backend/logs/known-deviations" quiet || ok=0
    compare "$mode" "$backend" || ok=0
    result "$mode" "$backend" $ok
  done
done
echo "== summary"
printf '   %s\n' "${summary[@]}"
exit $status
