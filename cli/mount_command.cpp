#include "cli/mount_command.hpp"

#include <spdlog/spdlog.h>

#include <cstdio>

#include "cli/version.hpp"
#include "fs/daemon/session.hpp"
#include "fs/overlay/options.hpp"

namespace layerfs::cli {

const char* const kMountUsage =
    R"(usage: layerfs mount [-f] [-d] -o lowerdir=TOP:...:BOTTOM[,upperdir=U,workdir=W][,OPTS] MOUNTPOINT
       layerfs-mount [SOURCE] MOUNTPOINT -o OPTS      (fuse-overlayfs / mount.fuse3 command line)
       layerfs [--root DIR] mount CONTAINER           (a container's root; prints where)

  -f                    stay in the foreground
  -d                    debug logs (implies -f)
  -o OPTS               comma-separated; may be given more than once

layers:       lowerdir= upperdir= workdir=   (no upperdir: read-only mount)
mount flags:  ro rw dev nodev suid nosuid exec noexec atime noatime relatime strictatime
              diratime nodiratime sync async dirsync allow_other allow_root default_permissions
              (defaults, as fuse-overlayfs: allow_other when root or /etc/fuse.conf allows it;
              suid and nodev as root)
ownership:    squash_to_root squash_to_uid=N squash_to_gid=N
              uidmapping=H:C:N[:H:C:N...] gidmapping=H:C:N[:...]  (stored H shows as C)
              xattr_permissions=0|1|2 (owner and mode from user.containers.override_stat)
behaviour:    volatile | fsync=0|1   static_nlink   noxattrs   timeout=SECONDS   threaded=0|1
              passthrough=0|1   io_uring=0|1   metacopy=on|off
accepted:     redirect_dir=on|off|follow|nofollow   context=...   xino=on|off|auto
)";

int mount_main(const std::vector<std::string>& args) {
    ParsedArgs parsed;
    std::string err = parse_mount_args(args, parsed);
    if (!err.empty()) {
        std::fprintf(stderr, "layerfs: %s\n%s", err.c_str(), kMountUsage);
        return 2;
    }
    if (parsed.help) {
        std::fputs(kMountUsage, stdout);
        return 0;
    }
    if (parsed.version) {
        std::printf("layerfs %s\n", kVersion);
        return 0;
    }
    return run_mount(parsed.config);
}

}  // namespace layerfs::cli
