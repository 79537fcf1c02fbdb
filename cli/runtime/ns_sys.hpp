#pragma once
// The runtime's raw syscalls (namespaces, mounts, pivot_root, ptys), as fs/sys
// is the file system's: thin, errno kept in the Result.
#include <sys/types.h>

#include <string>
#include <string_view>

#include "fs/sys/fd.hpp"
#include "fs/sys/result.hpp"

namespace layerfs::runtime::nsys {

Status unshare_ns(int flags);
Result<Fd> pidfd_open(pid_t pid);
// Joins the namespaces (CLONE_NEW* flags) of the process behind `pidfd`, at once.
Status setns_pidfd(int pidfd, int flags);

Status mount_at(const char* source, const char* target, const char* type, unsigned long flags,
                const char* data = nullptr);
// Mounts on the inode behind an O_PATH fd (resolved once, in the container's
// root, so a symlink in the image cannot send a mount elsewhere).
Status mount_on_fd(const char* source, int target_fd, const char* type, unsigned long flags,
                   const char* data = nullptr);
// Binds `source` (a host path) on the inode behind `target_fd`.
Status bind_on_fd(const char* source, int target_fd, bool recursive, bool read_only);
Status umount_at(const char* target, int flags);
// pivot_root(".", ".") in the new root, then detaches the old one.
Status pivot_here();
Status set_hostname(std::string_view name);
Status write_text(const char* path, std::string_view text);
// A small file's bytes ("" when it cannot be read: /etc files that may be absent).
std::string read_text(const char* path);

// openat2 RESOLVE_IN_ROOT: `path` as the container sees it from its root.
Result<Fd> open_in_root(int root, const std::string& path, int flags, mode_t mode = 0);
// mkdir -p of `path` in the container's root; returns the last dir (O_PATH).
Result<Fd> make_dirs_in_root(int root, const std::string& path, mode_t mode);

// A new pty from the devpts at /dev/pts: {master, slave}.
Result<std::pair<Fd, Fd>> open_pty();

}  // namespace layerfs::runtime::nsys
