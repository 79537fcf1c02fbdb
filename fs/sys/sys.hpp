#pragma once
// The one module that makes raw file system syscalls. Everything is relative to a
// directory fd (usually O_PATH); nothing here builds a path from the root.
#include <sys/stat.h>
#include <sys/types.h>

#include <string>
#include <string_view>
#include <vector>

#include "fs/sys/fd.hpp"
#include "fs/sys/result.hpp"

namespace layerfs::sys {

// "/proc/self/fd/N": reaches the inode behind an O_PATH fd (symlinks included)
// for calls that have no fd form.
std::string proc_path(int fd);

Result<Fd> open_at(int dir, const char* name, int flags, mode_t mode = 0);
// Open a relative path that must stay under `dir` and cross no symlink (openat2
// RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS): ELOOP when a component is a symlink.
Result<Fd> open_beneath(int dir, const char* path, int flags, mode_t mode = 0);
// Reopen an O_PATH fd with real access flags.
Result<Fd> reopen(int fd, int flags);
Result<struct stat> stat_at(int dir, const char* name);
// A path as the user gave it, symlinks followed (realpath(3)).
Result<std::string> real_path(const std::string& path);
Result<struct stat> stat_fd(int fd);

Status mkdir_at(int dir, const char* name, mode_t mode);
Status mknod_at(int dir, const char* name, mode_t mode, dev_t dev);
Status symlink_at(const char* target, int dir, const char* name);
Result<std::string> readlink_at(int dir, const char* name);
Status link_at(int odir, const char* oname, int ndir, const char* nname);
Status unlink_at(int dir, const char* name, int flags);
Status rename_at(int odir, const char* oname, int ndir, const char* nname, unsigned flags = 0);

Status chmod_fd(int fd, mode_t mode);
Status chown_fd(int fd, uid_t uid, gid_t gid);
Status utimens_fd(int fd, const struct timespec times[2]);
Status truncate_fd(int fd, off_t size);
Status fsync_fd(int fd);
Status syncfs_fd(int fd);
// flock(2): LOCK_EX or LOCK_SH, waiting.
Status lock_fd(int fd, int how);

// Whole-buffer I/O: short writes and EINTR are retried.
Status write_all(int fd, const void* buf, size_t n);
Status pwrite_all(int fd, const void* buf, size_t n, off_t off);
// One read(2), retried on EINTR; 0 at end of file.
Result<size_t> read_some(int fd, void* buf, size_t n);

Result<std::string> getxattr_fd(int fd, const char* name);
Status setxattr_fd(int fd, const char* name, std::string_view value, int flags = 0);
Result<std::vector<std::string>> listxattr_fd(int fd);
// Whether a file has no xattrs that the caller may list (one syscall).
Result<bool> has_no_xattrs(int fd);
Status removexattr_fd(int fd, const char* name);

struct DirEntry {
    std::string name;
    unsigned char type;  // DT_*
    ino_t ino;
};
// All entries of a directory except "." and "..".
Result<std::vector<DirEntry>> read_dir(int dirfd);

}  // namespace layerfs::sys
