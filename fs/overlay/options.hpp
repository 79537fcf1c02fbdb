#pragma once
// The mount command line: fuse-overlayfs compatible, parsed without side effects.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "fs/overlay/idmap.hpp"

namespace layerfs {

struct MountConfig {
    std::vector<std::string> lowerdirs;  // top first
    std::string upperdir;                // empty: read-only mount
    std::string workdir;
    std::string mountpoint;

    bool foreground = false;
    bool debug = false;
    bool read_only = false;
    // Generic mount flags handed to the kernel mount as they were given
    // (ro, nodev, noatime, allow_other, default_permissions, ...).
    std::vector<std::string> kernel_opts;
    bool noatime = false;

    bool squash_to_root = false;
    std::optional<uint32_t> squash_uid, squash_gid;
    IdMapping uid_map, gid_map;
    int xattr_permissions = 0;  // 0: off, 1: override_stat read, 2: read and written
    bool no_sync = false;       // volatile or fsync=0
    bool static_nlink = false;
    bool noxattrs = false;
    double timeout = 86400.0;  // seconds the kernel may cache entries and attributes
    bool threaded = true;
    bool passthrough = true;  // when the kernel and our rights allow it
    // Requests through FUSE over io_uring when the kernel offers it (Linux
    // 6.14+ with fuse.enable_uring=1); else through /dev/fuse.
    bool io_uring = false;
    // chmod, chown, utimes, xattrs and renames copy a lower file's metadata only
    // (kernel overlayfs' metacopy=on). Off by default as in the kernel: tools
    // that read an upper directory themselves would see holes for the data.
    bool metacopy = false;
    std::string redirect_dir, context;  // accepted for compatibility
};

struct ParsedArgs {
    MountConfig config;
    bool help = false;
    bool version = false;
};

// Splits a -o value on commas: "\," escapes a comma, "..." quotes, empty items
// are skipped. Other backslash escapes are left for the option's own parser.
std::vector<std::string> split_option_list(std::string_view s);

// Splits lowerdir=A:B:C; "\:" escapes a colon and "\\" a backslash.
std::vector<std::string> split_lowerdirs(std::string_view s);

// Applies one NAME[=VALUE] item; returns an error message naming the option.
std::string apply_option(MountConfig& cfg, std::string_view item);

// The options for the kernel's FUSE mount: what the caller gave, and
// fuse-overlayfs's defaults where it gave nothing. `allow_other` lets every uid
// of a container reach its root (default_permissions makes the kernel check
// each against the owner and mode shown), which needs root or
// `user_allow_other` in /etc/fuse.conf; `suid` (libfuse's default is nosuid)
// needs root, and fusermount3 would only warn that it ignores it. `dev` stays
// off unless asked for, as in fuse-overlayfs.
std::string fuse_mount_options(const MountConfig& cfg, bool read_only, bool privileged,
                               bool user_allow_other);

// Whether /etc/fuse.conf's text lets ordinary users mount with allow_other.
bool fuse_conf_allows_other(std::string_view fuse_conf);

// Parses argv after the program name (or after "mount"). The last bare argument
// is the mount point; a bare argument before it is the (ignored) source, as
// mount.fuse3 passes it. Returns an error message, empty on success.
std::string parse_mount_args(const std::vector<std::string>& args, ParsedArgs& out);

}  // namespace layerfs
