// Attributes, xattrs, opening files and the rest of the per-node operations.
#include <fcntl.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <algorithm>

#include "fs/overlay/overlay_fs_internal.hpp"
#include "fs/overlay/whiteout.hpp"
#include "fs/sys/sys.hpp"

namespace layerfs {

Result<struct stat> OverlayFs::setattr(Node* n, const SetAttr& a, int fh, const Caller& c) {
    if (read_only()) return err(EROFS, "setattr");
    (void)c;
    const bool truncate_all = a.size && *a.size == 0 && !a.mode && !a.uid && !a.gid;
    LFS_CHECK(copy_up(n, !a.size                             ? CopyUp::Metadata
                         : truncate_all && can_write_copy(n) ? CopyUp::Empty
                                                             : CopyUp::Full));
    int fd = n->upper.load();
    const bool record = cfg_.xattr_permissions == 2 && !caps_.can_chown;
    if ((a.mode || a.uid || a.gid) && record) {
        // Without chown, the owner and mode the container sees live in override_stat.
        auto st = LFS_TRY(getattr(n));
        OverrideStat o{cfg_.uid_map.to_host(st.st_uid).value_or(kOverflowId),
                       cfg_.gid_map.to_host(st.st_gid).value_or(kOverflowId), st.st_mode,
                       st.st_rdev, false};
        if (auto v = sys::getxattr_fd(fd, whiteout::kOverrideStat))
            if (auto old = parse_override_stat(*v)) o.has_type = old->has_type;
        if (a.uid) o.uid = cfg_.uid_map.to_host(*a.uid).value_or(kOverflowId);
        if (a.gid) o.gid = cfg_.gid_map.to_host(*a.gid).value_or(kOverflowId);
        if (a.mode) o.mode = (o.mode & S_IFMT) | (*a.mode & 07777);
        auto r = sys::setxattr_fd(fd, whiteout::kOverrideStat, format_override_stat(o));
        if (!r && (S_ISREG(n->type) || S_ISDIR(n->type))) return r.error();
        // user.* xattrs exist only on files and directories: a fifo or socket
        // keeps its mode in its inode (and the daemon's owner); a symlink's
        // mode means nothing.
        if (!r && a.mode && !S_ISLNK(n->type)) LFS_CHECK(sys::chmod_fd(fd, *a.mode & 07777));
    } else {
        if (a.uid || a.gid) {
            uid_t uid = a.uid ? cfg_.uid_map.to_host(*a.uid).value_or(kOverflowId) : uid_t(-1);
            gid_t gid = a.gid ? cfg_.gid_map.to_host(*a.gid).value_or(kOverflowId) : gid_t(-1);
            LFS_CHECK(sys::chown_fd(fd, uid, gid));
        }
        if (a.mode) {
            if (S_ISLNK(n->type)) return err(EOPNOTSUPP, "chmod");
            LFS_CHECK(sys::chmod_fd(fd, *a.mode & 07777));
        }
    }
    if (a.size) {
        if (fh >= 0) {
            if (::ftruncate(fh, *a.size) < 0) return errno_error("ftruncate");
        } else {
            LFS_CHECK(sys::truncate_fd(fd, *a.size));
        }
    }
    if (a.atime || a.mtime) {
        struct timespec t[2] = {a.atime.value_or(timespec{0, UTIME_OMIT}),
                                a.mtime.value_or(timespec{0, UTIME_OMIT})};
        if (fh >= 0 && !S_ISLNK(n->type)) {
            if (::futimens(fh, t) < 0) return errno_error("futimens");
        } else {
            LFS_CHECK(sys::utimens_fd(fd, t));
        }
    }
    return getattr(n);
}

Result<OpenedFile> OverlayFs::open_file(Node* n, int flags, bool may_defer) {
    const bool write = (flags & O_ACCMODE) != O_RDONLY || (flags & O_TRUNC);
    if (write) {
        if (read_only()) return err(EROFS, "open");
        if (may_defer && cfg_.metacopy && !(flags & O_TRUNC) && S_ISREG(n->type) &&
            !n->has_upper_data()) {
            LFS_CHECK(copy_up(n, CopyUp::Metadata));
            if (n->metacopy.load(std::memory_order_acquire)) {
                int rd = cfg_.noatime ? O_RDONLY | O_NOATIME : O_RDONLY;
                const int data = LFS_TRY(lower_data_fd(n));
                auto r = sys::reopen(data, rd);
                if (!r && r.err() == EPERM) r = sys::reopen(data, O_RDONLY);
                return OpenedFile{LFS_TRY(std::move(r)), false, true};
            }
        }
        LFS_CHECK(
            copy_up(n, (flags & O_TRUNC) && can_write_copy(n) ? CopyUp::Empty : CopyUp::Full));
    }
    // Read once: a concurrent copy-up must not make fd and `upper` disagree.
    const int fd = LFS_TRY(data_fd(n));
    const bool upper = fd >= 0 && fd == n->upper.load(std::memory_order_acquire);
    if (fd < 0) return err(ESTALE, "open");
    flags &= ~(O_CREAT | O_EXCL | O_NOCTTY);
    if (cfg_.noatime && !write) {
        auto r = sys::reopen(fd, flags | O_NOATIME);
        if (r) return OpenedFile{std::move(*r), upper};
        if (r.err() != EPERM) return r.error();
    }
    return OpenedFile{LFS_TRY(sys::reopen(fd, flags)), upper};
}

// Skipping the data of a copy that is about to be truncated is safe only if the
// truncation cannot then fail: a rootless daemon's copy keeps the lower mode, and
// without write permission on it the file would be left empty.
bool OverlayFs::can_write_copy(Node* n) {
    if (n->has_upper() || caps_.can_chown) return true;
    auto st = sys::stat_fd(n->top_fd());
    return st && (st->st_mode & S_IWUSR);
}

Status OverlayFs::fsync(int fd, bool datasync) {
    if (cfg_.no_sync) return {};
    if ((datasync ? ::fdatasync(fd) : ::fsync(fd)) < 0) return errno_error("fsync");
    return {};
}

Result<std::string> OverlayFs::getxattr(Node* n, const char* name) {
    if (cfg_.noxattrs) return err(ENOTSUP, "getxattr");
    if (whiteout::is_private_xattr(name, cfg_.xattr_permissions != 0))
        return err(ENODATA, "getxattr");
    return sys::getxattr_fd(n->top_fd(), name);
}

Result<std::vector<std::string>> OverlayFs::listxattr(Node* n) {
    if (cfg_.noxattrs) return std::vector<std::string>{};
    auto names = LFS_TRY(sys::listxattr_fd(n->top_fd()));
    const bool hide_override = cfg_.xattr_permissions != 0;
    names.erase(std::remove_if(names.begin(), names.end(),
                               [&](const std::string& x) {
                                   return whiteout::is_private_xattr(x, hide_override);
                               }),
                names.end());
    return names;
}

Status OverlayFs::setxattr(Node* n, const char* name, std::string_view value, int flags) {
    if (cfg_.noxattrs) return err(ENOTSUP, "setxattr");
    if (read_only()) return err(EROFS, "setxattr");
    if (whiteout::is_private_xattr(name, cfg_.xattr_permissions != 0))
        return err(EPERM, "setxattr");
    LFS_CHECK(copy_up(n, CopyUp::Metadata));
    return sys::setxattr_fd(n->upper.load(), name, value, flags);
}

Status OverlayFs::removexattr(Node* n, const char* name) {
    if (cfg_.noxattrs) return err(ENOTSUP, "removexattr");
    if (read_only()) return err(EROFS, "removexattr");
    if (whiteout::is_private_xattr(name, cfg_.xattr_permissions != 0))
        return err(ENODATA, "removexattr");
    // Nothing to copy up for a name that is not there.
    if (!n->has_upper()) LFS_CHECK(sys::getxattr_fd(n->top_fd(), name));
    LFS_CHECK(copy_up(n, CopyUp::Metadata));
    return sys::removexattr_fd(n->upper.load(), name);
}

Result<struct statvfs> OverlayFs::statfs(Node* n) {
    (void)n;
    int fd = upper_root_ >= 0 ? upper_root_ : root_->top_fd();
    struct statvfs st;
    if (::fstatvfs(fd, &st) < 0) return errno_error("statfs");
    st.f_namemax = NAME_MAX;
    return st;
}

Status OverlayFs::access(Node* n, int mask, const Caller& c) {
    auto st = LFS_TRY(getattr(n));
    if ((mask & W_OK) && read_only() && !S_ISCHR(st.st_mode) && !S_ISBLK(st.st_mode) &&
        !S_ISFIFO(st.st_mode) && !S_ISSOCK(st.st_mode))
        return err(EROFS, "access");
    if (mask == F_OK) return {};
    if (c.uid == 0) {
        // Root may do anything but execute a file nobody may execute.
        if ((mask & X_OK) && !S_ISDIR(st.st_mode) && !(st.st_mode & 0111))
            return err(EACCES, "access");
        return {};
    }
    mode_t bits;
    if (c.uid == st.st_uid) {
        bits = (st.st_mode >> 6) & 7;
    } else if (c.gid == st.st_gid ||
               std::find(c.groups.begin(), c.groups.end(), st.st_gid) != c.groups.end()) {
        bits = (st.st_mode >> 3) & 7;
    } else {
        bits = st.st_mode & 7;
    }
    if ((mask & bits) != (mask & 7)) return err(EACCES, "access");
    return {};
}

}  // namespace layerfs
