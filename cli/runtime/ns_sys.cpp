#include "cli/runtime/ns_sys.hpp"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <termios.h>
#include <unistd.h>

#include "fs/sys/sys.hpp"

namespace layerfs::runtime::nsys {

Status unshare_ns(int flags) {
    if (::unshare(flags) < 0) return errno_error("unshare");
    return {};
}

Result<Fd> pidfd_open(pid_t pid) {
    int fd = int(::syscall(SYS_pidfd_open, pid, 0));
    if (fd < 0) return errno_error("pidfd_open");
    return Fd(fd);
}

Status setns_pidfd(int pidfd, int flags) {
    if (::setns(pidfd, flags) < 0) return errno_error("setns");
    return {};
}

Status mount_at(const char* source, const char* target, const char* type, unsigned long flags,
                const char* data) {
    if (::mount(source, target, type, flags, data) < 0) return errno_error("mount");
    return {};
}

Status mount_on_fd(const char* source, int target_fd, const char* type, unsigned long flags,
                   const char* data) {
    return mount_at(source, sys::proc_path(target_fd).c_str(), type, flags, data);
}

Status bind_on_fd(const char* source, int target_fd, bool recursive, bool read_only) {
    // A detached copy, made read-only before it is attached, then attached to
    // the inode behind the fd: no path is resolved twice, and flags the kernel
    // locks on the source (nosuid, nodev in a user namespace) are kept.
    unsigned flags = OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | (recursive ? AT_RECURSIVE : 0);
    int tree = ::open_tree(AT_FDCWD, source, flags);
    if (tree < 0) return errno_error("open_tree");
    Fd owned(tree);
    if (read_only) {
        mount_attr attr{};
        attr.attr_set = MOUNT_ATTR_RDONLY;
        if (::mount_setattr(tree, "", AT_EMPTY_PATH | (recursive ? AT_RECURSIVE : 0), &attr,
                            sizeof attr) < 0)
            return errno_error("mount_setattr");
    }
    if (::move_mount(tree, "", target_fd, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) <
        0)
        return errno_error("move_mount");
    return {};
}

Status umount_at(const char* target, int flags) {
    if (::umount2(target, flags) < 0) return errno_error("umount2");
    return {};
}

Status pivot_here() {
    if (::syscall(SYS_pivot_root, ".", ".") < 0) return errno_error("pivot_root");
    // The old root is now stacked under the new one at "/": detach it.
    if (::umount2(".", MNT_DETACH) < 0) return errno_error("umount2");
    if (::chdir("/") < 0) return errno_error("chdir");
    return {};
}

Status set_hostname(std::string_view name) {
    if (::sethostname(name.data(), name.size()) < 0) return errno_error("sethostname");
    return {};
}

Status write_text(const char* path, std::string_view text) {
    Fd fd = LFS_TRY(sys::open_at(AT_FDCWD, path, O_WRONLY));
    return sys::write_all(fd.get(), text.data(), text.size());
}

std::string read_text(const char* path) {
    auto fd = sys::open_at(AT_FDCWD, path, O_RDONLY);
    if (!fd) return "";
    std::string out, buf(1 << 16, '\0');
    while (auto n = sys::read_some(fd->get(), buf.data(), buf.size())) {
        if (*n == 0) break;
        out.append(buf.data(), *n);
    }
    return out;
}

Result<Fd> open_in_root(int root, const std::string& path, int flags, mode_t mode) {
    open_how how{};
    how.flags = uint64_t(flags | O_CLOEXEC);
    how.mode = (flags & O_CREAT) ? mode : 0;
    how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
    int fd = int(::syscall(SYS_openat2, root, path.c_str(), &how, sizeof how));
    if (fd < 0) return errno_error("openat2");
    return Fd(fd);
}

Result<Fd> make_dirs_in_root(int root, const std::string& path, mode_t mode) {
    Fd dir = LFS_TRY(open_in_root(root, "/", O_PATH | O_DIRECTORY));
    size_t pos = 0;
    while (pos < path.size()) {
        size_t slash = path.find('/', pos);
        std::string name = path.substr(pos, slash == std::string::npos ? slash : slash - pos);
        pos = slash == std::string::npos ? path.size() : slash + 1;
        if (name.empty() || name == ".") continue;
        // Resolved from the root each step: ".." and symlinks stay inside it.
        std::string so_far = path.substr(0, pos);
        auto next = open_in_root(root, so_far, O_PATH | O_DIRECTORY);
        if (!next && next.err() == ENOENT) {
            if (::mkdirat(dir.get(), name.c_str(), mode) < 0 && errno != EEXIST)
                return errno_error("mkdir");
            next = open_in_root(root, so_far, O_PATH | O_DIRECTORY);
        }
        dir = LFS_TRY(std::move(next));
    }
    return dir;
}

Result<std::pair<Fd, Fd>> open_pty() {
    Fd master = LFS_TRY(sys::open_at(AT_FDCWD, "/dev/pts/ptmx", O_RDWR | O_NOCTTY));
    int unlock = 0;
    if (::ioctl(master.get(), TIOCSPTLCK, &unlock) < 0) return errno_error("TIOCSPTLCK");
    // The peer straight from the master: no path, so no other devpts can answer.
    int slave = ::ioctl(master.get(), TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (slave < 0) return errno_error("TIOCGPTPEER");
    return std::pair<Fd, Fd>{std::move(master), Fd(slave)};
}

}  // namespace layerfs::runtime::nsys
