#include "fs/sys/sys.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/file.h>
#include <sys/syscall.h>
#include <sys/xattr.h>

#include <cstdio>
#include <cstring>

namespace layerfs {

std::string Error::what() const {
    return std::string(op) + ": " + std::strerror(code);
}

namespace sys {

std::string proc_path(int fd) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "/proc/self/fd/%d", fd);
    return buf;
}

Result<Fd> open_at(int dir, const char* name, int flags, mode_t mode) {
    int fd = ::openat(dir, name, flags | O_CLOEXEC, mode);
    if (fd < 0) return errno_error("openat");
    return Fd(fd);
}

Result<Fd> open_beneath(int dir, const char* path, int flags, mode_t mode) {
    struct open_how how {};
    how.flags = static_cast<uint64_t>(flags | O_CLOEXEC);
    how.mode = (flags & (O_CREAT | O_TMPFILE)) ? mode : 0;
    how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
    long fd;
    do
        fd = ::syscall(SYS_openat2, dir, path, &how, sizeof how);
    while (fd < 0 && errno == EAGAIN);  // a concurrent rename elsewhere: retry
    if (fd < 0) return errno_error("openat2");
    return Fd(static_cast<int>(fd));
}

Result<Fd> reopen(int fd, int flags) {
    // O_NOFOLLOW would stop at the magic link itself; the magic link already
    // names the inode, so following it is exact.
    int r = ::open(proc_path(fd).c_str(), (flags & ~(O_NOFOLLOW | O_CREAT | O_EXCL)) | O_CLOEXEC);
    if (r < 0) return errno_error("open");
    return Fd(r);
}

Result<struct stat> stat_at(int dir, const char* name) {
    struct stat st;
    if (::fstatat(dir, name, &st, AT_SYMLINK_NOFOLLOW) < 0) return errno_error("fstatat");
    return st;
}

Result<struct stat> stat_fd(int fd) {
    struct stat st;
    if (::fstatat(fd, "", &st, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0)
        return errno_error("fstat");
    return st;
}

static Status check(int r, const char* op) {
    if (r < 0) return errno_error(op);
    return {};
}

Status mkdir_at(int dir, const char* name, mode_t mode) {
    return check(::mkdirat(dir, name, mode), "mkdirat");
}

Status mknod_at(int dir, const char* name, mode_t mode, dev_t dev) {
    return check(::mknodat(dir, name, mode, dev), "mknodat");
}

Status symlink_at(const char* target, int dir, const char* name) {
    return check(::symlinkat(target, dir, name), "symlinkat");
}

Result<std::string> real_path(const std::string& path) {
    char buf[PATH_MAX];
    if (!::realpath(path.c_str(), buf)) return errno_error("realpath");
    return std::string(buf);
}

Result<std::string> readlink_at(int dir, const char* name) {
    std::string buf(PATH_MAX, '\0');
    ssize_t n = ::readlinkat(dir, name, buf.data(), buf.size());
    if (n < 0) return errno_error("readlinkat");
    buf.resize(static_cast<size_t>(n));
    return buf;
}

Status link_at(int odir, const char* oname, int ndir, const char* nname) {
    int flags = oname[0] == '\0' ? AT_EMPTY_PATH : 0;
    return check(::linkat(odir, oname, ndir, nname, flags), "linkat");
}

Status unlink_at(int dir, const char* name, int flags) {
    return check(::unlinkat(dir, name, flags), flags & AT_REMOVEDIR ? "rmdir" : "unlinkat");
}

Status rename_at(int odir, const char* oname, int ndir, const char* nname, unsigned flags) {
    return check(static_cast<int>(::syscall(SYS_renameat2, odir, oname, ndir, nname, flags)),
                 "renameat2");
}

Status chmod_fd(int fd, mode_t mode) {
    return check(::chmod(proc_path(fd).c_str(), mode), "chmod");
}

Status chown_fd(int fd, uid_t uid, gid_t gid) {
    return check(::fchownat(fd, "", uid, gid, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW), "fchownat");
}

Status utimens_fd(int fd, const struct timespec times[2]) {
    // Following the magic link lands on the fd's own inode, symlinks included.
    return check(::utimensat(AT_FDCWD, proc_path(fd).c_str(), times, 0), "utimensat");
}

Status truncate_fd(int fd, off_t size) {
    return check(::truncate(proc_path(fd).c_str(), size), "truncate");
}

Status fsync_fd(int fd) {
    return check(::fsync(fd), "fsync");
}

Status syncfs_fd(int fd) {
    return check(::syncfs(fd), "syncfs");
}

Status lock_fd(int fd, int how) {
    int r;
    do
        r = ::flock(fd, how);
    while (r < 0 && errno == EINTR);
    return check(r, "flock");
}

Status write_all(int fd, const void* buf, size_t n) {
    auto* p = static_cast<const char*>(buf);
    while (n) {
        ssize_t w = ::write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR) continue;
            return errno_error("write");
        }
        p += w;
        n -= static_cast<size_t>(w);
    }
    return {};
}

Status pwrite_all(int fd, const void* buf, size_t n, off_t off) {
    auto* p = static_cast<const char*>(buf);
    while (n) {
        ssize_t w = ::pwrite(fd, p, n, off);
        if (w < 0) {
            if (errno == EINTR) continue;
            return errno_error("pwrite");
        }
        p += w;
        n -= static_cast<size_t>(w);
        off += w;
    }
    return {};
}

Result<size_t> read_some(int fd, void* buf, size_t n) {
    for (;;) {
        ssize_t r = ::read(fd, buf, n);
        if (r >= 0) return static_cast<size_t>(r);
        if (errno != EINTR) return errno_error("read");
    }
}

Result<std::string> getxattr_fd(int fd, const char* name) {
    auto path = proc_path(fd);
    std::string buf;
    for (;;) {
        ssize_t n = ::getxattr(path.c_str(), name, nullptr, 0);
        if (n < 0) return errno_error("getxattr");
        buf.resize(static_cast<size_t>(n));
        n = ::getxattr(path.c_str(), name, buf.data(), buf.size());
        if (n >= 0) {
            buf.resize(static_cast<size_t>(n));
            return buf;
        }
        if (errno != ERANGE) return errno_error("getxattr");
    }
}

Status setxattr_fd(int fd, const char* name, std::string_view value, int flags) {
    return check(::setxattr(proc_path(fd).c_str(), name, value.data(), value.size(), flags),
                 "setxattr");
}

Result<bool> has_no_xattrs(int fd) {
    ssize_t n = ::listxattr(proc_path(fd).c_str(), nullptr, 0);
    if (n < 0) return errno_error("listxattr");
    return n == 0;
}

Result<std::vector<std::string>> listxattr_fd(int fd) {
    auto path = proc_path(fd);
    std::string buf;
    for (;;) {
        ssize_t n = ::listxattr(path.c_str(), nullptr, 0);
        if (n < 0) return errno_error("listxattr");
        buf.resize(static_cast<size_t>(n));
        n = ::listxattr(path.c_str(), buf.data(), buf.size());
        if (n >= 0) {
            buf.resize(static_cast<size_t>(n));
            break;
        }
        if (errno != ERANGE) return errno_error("listxattr");
    }
    std::vector<std::string> names;
    for (size_t i = 0; i < buf.size();) {
        size_t len = std::strlen(buf.data() + i);
        if (len) names.emplace_back(buf.data() + i, len);
        i += len + 1;
    }
    return names;
}

Status removexattr_fd(int fd, const char* name) {
    return check(::removexattr(proc_path(fd).c_str(), name), "removexattr");
}

Result<std::vector<DirEntry>> read_dir(int dirfd) {
    int fd = ::openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return errno_error("opendir");
    DIR* d = ::fdopendir(fd);
    if (!d) {
        ::close(fd);
        return errno_error("fdopendir");
    }
    std::vector<DirEntry> out;
    errno = 0;
    while (struct dirent* e = ::readdir(d)) {
        const char* n = e->d_name;
        if (n[0] == '.' && (n[1] == 0 || (n[1] == '.' && n[2] == 0))) continue;
        out.push_back({n, e->d_type, e->d_ino});
    }
    int saved = errno;
    ::closedir(d);
    if (saved) return Error{saved, "readdir"};
    return out;
}

}  // namespace sys
}  // namespace layerfs
