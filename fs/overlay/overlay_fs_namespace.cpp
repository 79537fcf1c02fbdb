// Changes to names: create, mkdir, mknod, symlink, link, unlink, rmdir, rename.
// Each one copies up what it touches, then changes the upper layer under the
// namespace lock, writing whiteouts where a lower name must disappear.
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/fs.h>

#include <mutex>

#include "fs/overlay/layer_probe.hpp"
#include "fs/overlay/overlay_fs_internal.hpp"
#include "fs/overlay/whiteout.hpp"
#include "fs/sys/sys.hpp"

#ifndef RENAME_WHITEOUT
#define RENAME_WHITEOUT (1 << 2)
#endif

namespace layerfs {

namespace {

Status check_new_name(const char* name) {
    std::string_view n(name);
    if (n.size() > NAME_MAX) return err(ENAMETOOLONG, "create");
    // The overlay owns ".wh." names; letting users create them would hide files.
    if (whiteout::is_reserved_name(n)) return err(EINVAL, "create");
    return {};
}

// Removes the whiteouts in an upper directory tree that has stopped merging
// with lower layers (a directory moved whole): they hide nothing any more, and
// kernel overlayfs lists a directory that does not merge as it is on disk, so
// it would show them as entries that cannot be looked up. Times stay as they were.
Status drop_whiteouts(int dirfd) {
    auto st = LFS_TRY(sys::stat_fd(dirfd));
    bool changed = false;
    for (auto& e : LFS_TRY(sys::read_dir(dirfd))) {
        if (e.type == DT_DIR) {
            auto sub =
                LFS_TRY(sys::open_at(dirfd, e.name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW));
            LFS_CHECK(drop_whiteouts(sub.get()));
            continue;
        }
        bool whiteout = whiteout::classify_name(e.name).kind == whiteout::NameKind::Whiteout;
        if (!whiteout && (e.type == DT_CHR || e.type == DT_UNKNOWN)) {
            auto est = sys::stat_at(dirfd, e.name.c_str());
            whiteout = est && whiteout::is_whiteout_device(est->st_mode, est->st_rdev);
        }
        if (!whiteout) continue;
        LFS_CHECK(sys::unlink_at(dirfd, e.name.c_str(), 0));
        changed = true;
    }
    if (changed) {
        struct timespec times[2] = {st.st_atim, st.st_mtim};
        (void)sys::utimens_fd(dirfd, times);
    }
    return {};
}

}  // namespace

Status OverlayFs::make_whiteout(int dirfd, const std::string& name) {
    auto wh = whiteout::whiteout_name(name);
    if (caps_.kernel_whiteouts || wh.empty()) {
        // A 0/0 device, built aside and renamed over whatever the upper has
        // there: atomic. It is the only whiteout a name of NAME_MAX bytes can
        // have (".wh." + name is too long), and Linux 5.8+ lets an ordinary
        // user make one.
        std::string tmp = temp_name();
        if (auto r = sys::mknod_at(work_, tmp.c_str(), S_IFCHR | 0000, 0); !r)
            return wh.empty() && r.err() == EPERM ? err(ENAMETOOLONG, "whiteout") : r;
        auto r = sys::rename_at(work_, tmp.c_str(), dirfd, name.c_str());
        if (!r) (void)sys::unlink_at(work_, tmp.c_str(), 0);
        return r;
    }
    auto r = sys::unlink_at(dirfd, name.c_str(), 0);
    if (!r && r.err() != ENOENT) return r;
    auto f = sys::open_at(dirfd, wh.c_str(), O_CREAT | O_WRONLY, 0600);
    return f ? Status{} : Status{f.error()};
}

Status OverlayFs::set_opaque(int dirfd) {
    if (caps_.kernel_whiteouts) return sys::setxattr_fd(dirfd, "trusted.overlay.opaque", "y");
    if (sys::setxattr_fd(dirfd, "user.overlay.opaque", "y")) return {};
    auto f =
        sys::open_at(dirfd, std::string(whiteout::kOpaqueMarker).c_str(), O_CREAT | O_WRONLY, 0600);
    return f ? Status{} : Status{f.error()};
}

// Where owners and modes live in override_stat (a rootless daemon), the
// container's mode is the xattr's, and the disk keeps one that lets the
// store's owner read and write it (diff, commit and rm walk the upper dir as
// that user), as the store's unpacker makes layer files: `mkdir(d, 0)`, as
// useradd does, must not leave a directory its owner cannot open.
mode_t OverlayFs::disk_mode(mode_t mode) const {
    if (cfg_.xattr_permissions != 2 || caps_.can_chown) return mode & 07777;
    return (mode & 0777) | (S_ISDIR(mode) ? 0700 : 0600);
}

Status OverlayFs::apply_owner(int fd, mode_t mode, const Caller& c, dev_t rdev, int parent_fd) {
    uid_t uid = cfg_.uid_map.to_host(c.uid).value_or(kOverflowId);
    gid_t gid = cfg_.gid_map.to_host(c.gid).value_or(kOverflowId);
    // BSD group semantics in a set-group-ID directory, as every local file system has.
    if (auto pst = sys::stat_fd(parent_fd); pst && (pst->st_mode & S_ISGID)) {
        gid = pst->st_gid;
        if (S_ISDIR(mode)) {
            mode |= S_ISGID;
            if (!cfg_.xattr_permissions || caps_.can_chown) (void)sys::chmod_fd(fd, mode & 07777);
        }
    }
    if (caps_.can_chown) {
        if (uid != self_uid_ || gid != self_gid_) LFS_CHECK(sys::chown_fd(fd, uid, gid));
    } else if (cfg_.xattr_permissions == 2) {
        OverrideStat o{uid, gid, mode, rdev, S_ISCHR(mode) || S_ISBLK(mode)};
        auto r = sys::setxattr_fd(fd, whiteout::kOverrideStat, format_override_stat(o));
        // user.* xattrs exist only on files and directories: a symlink, fifo or
        // socket keeps the daemon's owner.
        if (!r && (S_ISREG(mode) || S_ISDIR(mode))) return r;
    }
    return {};
}

// Creates name in parent through make(dirfd, name) -> fd of the new object,
// replacing an upper whiteout if there is one, and enters the new node.
template <class Make>
Result<Entry> OverlayFs::create_object(Node* parent, const char* name, mode_t mode, const Caller* c,
                                       Make&& make, Fd* io_fd, dev_t rdev) {
    LFS_CHECK(check_new_name(name));
    int pu = LFS_TRY(upper_dir_of(parent));
    std::unique_lock lk(ns_);
    auto t = LFS_TRY(resolve(parent, name));
    if (t.exists) return err(EEXIST, "create");
    const bool dir = S_ISDIR(mode);
    // A directory made where a lower one was deleted must not show its old contents.
    const bool opaque = dir && t.upper_whiteout;
    Result<Fd> made = Error{};
    std::string tmp;
    if (t.upper_whiteout_dev) {
        tmp = temp_name();
        made = make(work_, tmp.c_str());
    } else {
        made = make(pu, name);
    }
    LFS_CHECK(made);
    const char* where_dir_name = tmp.empty() ? name : tmp.c_str();
    int where = tmp.empty() ? pu : work_;
    auto undo = [&](Status s) {
        if (!s) (void)remove_upper_tree_at(where, where_dir_name);
        return s;
    };
    Fd meta = S_ISREG(mode) && io_fd
                  ? LFS_TRY(sys::open_at(where, where_dir_name, O_PATH | O_NOFOLLOW))
                  : std::move(*made);
    if (S_ISREG(mode) && io_fd) *io_fd = std::move(*made);
    if (c) LFS_CHECK(undo(apply_owner(meta.get(), mode, *c, rdev, pu)));
    if (opaque) LFS_CHECK(undo(set_opaque(meta.get())));
    if (!tmp.empty()) {
        // Swap in over the 0/0 whiteout; a directory cannot replace it, so exchange.
        LFS_CHECK(undo(sys::rename_at(work_, tmp.c_str(), pu, name, dir ? RENAME_EXCHANGE : 0)));
        if (dir) (void)sys::unlink_at(work_, tmp.c_str(), 0);
    } else if (t.upper_whiteout) {
        (void)sys::unlink_at(pu, whiteout::whiteout_name(name).c_str(), 0);
    }
    Child nc;
    nc.exists = true;
    nc.top = 0;
    nc.st = LFS_TRY(sys::stat_fd(meta.get()));
    nc.fd = std::move(meta);
    return enter(parent, name, std::move(nc));
}

Result<Entry> OverlayFs::mknod(Node* parent, const char* name, mode_t mode, dev_t rdev,
                               const Caller& c) {
    // A 0/0 device is how the upper layer spells a whiteout: users may not make one.
    if (whiteout::is_whiteout_device(mode, rdev)) return err(EPERM, "mknod");
    return create_object(
        parent, name, mode, &c,
        [&](int dir, const char* n) -> Result<Fd> {
            auto made = sys::mknod_at(dir, n, mode, rdev);
            if (!made && made.err() == EPERM && cfg_.xattr_permissions == 2 &&
                (S_ISCHR(mode) || S_ISBLK(mode))) {
                // An empty file; apply_owner records the device in override_stat.
                LFS_TRY(sys::open_at(dir, n, O_CREAT | O_EXCL | O_WRONLY, 0600));
            } else {
                LFS_CHECK(made);
            }
            return sys::open_at(dir, n, O_PATH | O_NOFOLLOW);
        },
        nullptr, rdev);
}

Result<Entry> OverlayFs::mkdir(Node* parent, const char* name, mode_t mode, const Caller& c) {
    return create_object(
        parent, name, S_IFDIR | (mode & 07777), &c,
        [&](int dir, const char* n) -> Result<Fd> {
            LFS_CHECK(sys::mkdir_at(dir, n, disk_mode(S_IFDIR | mode)));
            return open_dir(dir, n);
        },
        nullptr, 0);
}

Result<Entry> OverlayFs::symlink(const char* target, Node* parent, const char* name,
                                 const Caller& c) {
    if (std::string_view(target).size() >= PATH_MAX) return err(ENAMETOOLONG, "symlink");
    return create_object(
        parent, name, S_IFLNK | 0777, &c,
        [&](int dir, const char* n) -> Result<Fd> {
            LFS_CHECK(sys::symlink_at(target, dir, n));
            return sys::open_at(dir, n, O_PATH | O_NOFOLLOW);
        },
        nullptr, 0);
}

Result<std::pair<Entry, Fd>> OverlayFs::create(Node* parent, const char* name, mode_t mode,
                                               int flags, const Caller& c) {
    Fd io;
    int oflags = (flags & ~(O_CREAT | O_EXCL | O_NOCTTY | O_TRUNC)) | O_CREAT | O_EXCL;
    if ((oflags & O_ACCMODE) == O_RDONLY) oflags = (oflags & ~O_ACCMODE) | O_RDWR;
    auto e = LFS_TRY(create_object(
        parent, name, S_IFREG | (mode & 07777), &c,
        [&](int dir, const char* n) {
            return sys::open_at(dir, n, oflags, disk_mode(S_IFREG | mode));
        },
        &io, 0));
    return std::pair<Entry, Fd>{e, std::move(io)};
}

Result<std::pair<Entry, Fd>> OverlayFs::tmpfile(Node* parent, mode_t mode, int flags,
                                                const Caller& c) {
    int pu = LFS_TRY(upper_dir_of(parent));
    int oflags = (flags & ~(O_CREAT | O_EXCL | O_NOCTTY | O_TRUNC | O_ACCMODE)) | O_TMPFILE;
    oflags |= (flags & O_ACCMODE) == O_RDONLY ? O_RDWR : (flags & O_ACCMODE);
    auto io = LFS_TRY(sys::open_at(pu, ".", oflags, disk_mode(S_IFREG | mode)));
    auto meta = LFS_TRY(sys::reopen(io.get(), O_PATH));
    LFS_CHECK(apply_owner(meta.get(), S_IFREG | (mode & 07777), c, 0, pu));
    Child nc;
    nc.exists = true;
    nc.top = 0;
    nc.st = LFS_TRY(sys::stat_fd(meta.get()));
    nc.fd = std::move(meta);
    auto e = LFS_TRY(enter(parent, "", std::move(nc)));
    e.node->unlinked = true;  // until link() gives it a name
    e.attr.st_nlink = 0;
    return std::pair<Entry, Fd>{e, std::move(io)};
}

Result<Entry> OverlayFs::link(Node* n, Node* parent, const char* name) {
    if (n->is_dir()) return err(EPERM, "link");
    LFS_CHECK(copy_up(n, CopyUp::Metadata));
    auto e = create_object(
        parent, name, n->type, nullptr,  // a new name, not a new file: owner stays
        [&](int dir, const char* nm) -> Result<Fd> {
            // Through /proc so it needs no CAP_DAC_READ_SEARCH (AT_EMPTY_PATH would).
            if (::linkat(AT_FDCWD, sys::proc_path(n->upper.load()).c_str(), dir, nm,
                         AT_SYMLINK_FOLLOW) < 0)
                return errno_error("linkat");
            return sys::open_at(dir, nm, O_PATH | O_NOFOLLOW);
        },
        nullptr, 0);
    if (!e) return e;
    {
        std::unique_lock lk(ns_);
        adjust_nlink(n->upper.load(), +1);
        if (n->unlinked.exchange(false)) n->move_to(parent->shared_from_this(), name);
    }
    auto st = getattr(n);  // the reply carries the count, so count first
    if (!st) {
        forget(e->node, 1);
        return st.error();
    }
    e->attr = *st;
    return e;
}

void OverlayFs::detach(Node* parent, const std::string& name, const Child& c) {
    auto node = table_.find({c.st.st_dev, c.st.st_ino});
    if (!node) return;
    if (node->is_dir() || c.st.st_nlink <= 1 || c.top != 0) {
        node->unlinked = true;
        table_.drop_keys(node.get());
        return;
    }
    // A hard link lost this name: later copy-ups must go to one it still has.
    std::lock_guard g(node->loc_mutex);
    if (node->parent.get() != parent || node->name != name) return;
    while (!node->aliases.empty()) {
        auto [p, n] = node->aliases.back();
        node->aliases.pop_back();
        if (auto alive = p.lock()) {
            node->parent = std::move(alive);
            node->name = n;
            return;
        }
    }
}

// After a directory moved (copied up whole and made opaque where needed), nothing
// below it merges with lower layers any more.
void OverlayFs::settle_subtree(Node* dir) {
    for (auto& n : table_.all()) {
        if (!n->is_dir() || n->lower_dirs.empty()) continue;
        for (auto p = n->location().first; p; p = p->location().first) {
            if (p.get() != dir) continue;
            n->drop_lower_dirs();
            break;
        }
    }
}

// A lower file with several names is copied up before one of its names goes,
// so that its link count has an upper copy to be kept on.
bool OverlayFs::needs_link_count(const Child& c) const {
    return c.exists && c.top != 0 && S_ISREG(c.st.st_mode) && c.st.st_nlink > 1 && index_.valid();
}

Status OverlayFs::copy_up_name(Node* parent, const char* name) {
    auto e = LFS_TRY(lookup(parent, name));
    Status r = copy_up(e.node);
    forget(e.node, 1);
    return r;
}

Status OverlayFs::unlink(Node* parent, const char* name) {
    if (std::string_view(name).size() > NAME_MAX) return err(ENAMETOOLONG, "unlink");
    int pu = LFS_TRY(upper_dir_of(parent));
    std::unique_lock lk(ns_);
    auto c = LFS_TRY(resolve(parent, name));
    if (needs_link_count(c)) {
        lk.unlock();
        LFS_CHECK(copy_up_name(parent, name));
        lk.lock();
        c = LFS_TRY(resolve(parent, name));
    }
    if (!c.exists) return err(ENOENT, "unlink");
    if (S_ISDIR(c.st.st_mode)) return err(EISDIR, "unlink");
    if (c.lower_exists) {
        LFS_CHECK(make_whiteout(pu, name));
    } else {
        LFS_CHECK(sys::unlink_at(pu, name, 0));
    }
    if (c.top == 0 && c.st.st_nlink > 1) adjust_nlink(c.fd.get(), -1);
    detach(parent, name, c);
    return {};
}

Status OverlayFs::rmdir(Node* parent, const char* name) {
    if (std::string_view(name).size() > NAME_MAX) return err(ENAMETOOLONG, "rmdir");
    int pu = LFS_TRY(upper_dir_of(parent));
    std::unique_lock lk(ns_);
    auto c = LFS_TRY(resolve(parent, name));
    if (!c.exists) return err(ENOENT, "rmdir");
    if (!S_ISDIR(c.st.st_mode)) return err(ENOTDIR, "rmdir");
    if (!LFS_TRY(dir_is_empty(c))) return err(ENOTEMPTY, "rmdir");
    if (c.top == 0) {
        // The upper dir may still hold whiteouts: move it aside whole, then delete.
        std::string tmp = temp_name();
        // Moving a directory to another parent needs write permission on it (its
        // ".." changes), and emptying it too: a daemon without CAP_DAC_OVERRIDE
        // (an ordinary user's, through fusermount3) gives its own read-only
        // directory that first, as the owner of a 0555 directory may.
        auto move_aside = [&](auto&& move) -> Status {
            Status r = move();
            if (r || r.err() != EACCES || c.st.st_uid != self_uid_) return r;
            LFS_CHECK(sys::chmod_fd(c.fd.get(), (c.st.st_mode & 07777) | S_IRWXU));
            r = move();
            if (!r) (void)sys::chmod_fd(c.fd.get(), c.st.st_mode & 07777);
            return r;
        };
        if (c.lower_exists && caps_.kernel_whiteouts) {
            LFS_CHECK(sys::mknod_at(work_, tmp.c_str(), S_IFCHR | 0000, 0));
            if (auto r = move_aside(
                    [&] { return sys::rename_at(work_, tmp.c_str(), pu, name, RENAME_EXCHANGE); });
                !r) {
                (void)sys::unlink_at(work_, tmp.c_str(), 0);
                return r;
            }
        } else {
            LFS_CHECK(move_aside([&] { return sys::rename_at(pu, name, work_, tmp.c_str()); }));
            if (c.lower_exists) LFS_CHECK(make_whiteout(pu, name));
        }
        (void)remove_upper_tree_at(work_, tmp.c_str());
    } else {
        LFS_CHECK(make_whiteout(pu, name));
    }
    detach(parent, name, c);
    return {};
}

Status OverlayFs::prepare_rename_source(Node* p, const char* name) {
    auto e = LFS_TRY(lookup(p, name));
    Status r = e.node->is_dir() ? copy_up_tree(e.node) : copy_up(e.node, CopyUp::Metadata);
    forget(e.node, 1);
    return r;
}

Status OverlayFs::rename(Node* p1, const char* n1, Node* p2, const char* n2, unsigned flags) {
    if (flags & ~(RENAME_NOREPLACE | RENAME_EXCHANGE)) return err(EINVAL, "rename");
    if (std::string_view(n1).size() > NAME_MAX) return err(ENAMETOOLONG, "rename");
    LFS_CHECK(check_new_name(n2));
    const bool exchange = flags & RENAME_EXCHANGE;
    int pu1 = LFS_TRY(upper_dir_of(p1));
    int pu2 = LFS_TRY(upper_dir_of(p2));
    // A lower directory moves as a full copy (no redirect xattrs): renaming one
    // always works, and the result is plain overlay format any tool can read.
    LFS_CHECK(prepare_rename_source(p1, n1));
    if (exchange) {
        LFS_CHECK(prepare_rename_source(p2, n2));
    } else {
        std::shared_lock lk(ns_);
        auto t = LFS_TRY(resolve(p2, n2));
        lk.unlock();
        if (needs_link_count(t)) LFS_CHECK(copy_up_name(p2, n2));
    }

    std::unique_lock lk(ns_);
    auto s = LFS_TRY(resolve(p1, n1));
    auto t = LFS_TRY(resolve(p2, n2));
    if (!s.exists) return err(ENOENT, "rename");
    if (s.top != 0 || (exchange && t.exists && t.top != 0)) return err(EAGAIN, "rename");
    const bool sdir = S_ISDIR(s.st.st_mode);
    auto s_node = table_.find({s.st.st_dev, s.st.st_ino});

    if (exchange) {
        if (!t.exists) return err(ENOENT, "rename");
        const bool tdir = S_ISDIR(t.st.st_mode);
        LFS_CHECK(sys::rename_at(pu1, n1, pu2, n2, RENAME_EXCHANGE));
        if (sdir && s.lower_exists) LFS_CHECK(drop_whiteouts(s.fd.get()));
        if (tdir && t.lower_exists) LFS_CHECK(drop_whiteouts(t.fd.get()));
        // Each moved directory is complete in the upper layer now; hide whatever
        // the lower layers have at its new place.
        if (sdir && (t.lower_exists || t.upper_whiteout)) LFS_CHECK(set_opaque(s.fd.get()));
        if (tdir && (s.lower_exists || s.upper_whiteout)) LFS_CHECK(set_opaque(t.fd.get()));
        auto t_node = table_.find({t.st.st_dev, t.st.st_ino});
        for (auto& [node, p, n] : {std::tuple{s_node, p2, n2}, std::tuple{t_node, p1, n1}}) {
            if (!node) continue;
            node->move_to(p->shared_from_this(), n);
            if (!node->is_dir()) continue;
            node->drop_lower_dirs();
            settle_subtree(node.get());
        }
        return {};
    }

    if (t.exists) {
        if (flags & RENAME_NOREPLACE) return err(EEXIST, "rename");
        const bool tdir = S_ISDIR(t.st.st_mode);
        if (sdir && !tdir) return err(ENOTDIR, "rename");
        if (!sdir && tdir) return err(EISDIR, "rename");
        if (s.st.st_dev == t.st.st_dev && s.st.st_ino == t.st.st_ino) return {};
        if (tdir) {
            if (!LFS_TRY(dir_is_empty(t))) return err(ENOTEMPTY, "rename");
            if (t.top == 0) {
                // Only whiteouts remain in it; clear them so the rename may replace it.
                auto entries = LFS_TRY(sys::read_dir(t.fd.get()));
                for (auto& e : entries)
                    LFS_CHECK(remove_upper_tree_at(t.fd.get(), e.name.c_str()));
            }
        }
    }
    if (sdir && t.upper_whiteout_dev) LFS_CHECK(sys::unlink_at(pu2, n2, 0));

    if (s.lower_exists && caps_.kernel_whiteouts) {
        LFS_CHECK(sys::rename_at(pu1, n1, pu2, n2, RENAME_WHITEOUT));
    } else {
        LFS_CHECK(sys::rename_at(pu1, n1, pu2, n2));
        if (s.lower_exists) LFS_CHECK(make_whiteout(pu1, n1));
    }
    if (t.upper_whiteout && !t.upper_whiteout_dev)
        (void)sys::unlink_at(pu2, whiteout::whiteout_name(n2).c_str(), 0);
    if (sdir && s.lower_exists) LFS_CHECK(drop_whiteouts(s.fd.get()));
    if (sdir && (t.lower_exists || t.upper_whiteout)) LFS_CHECK(set_opaque(s.fd.get()));
    if (t.exists) {
        if (t.top == 0 && S_ISREG(t.st.st_mode) && t.st.st_nlink > 1) adjust_nlink(t.fd.get(), -1);
        detach(p2, n2, t);
    }
    if (s_node) {
        s_node->move_to(p2->shared_from_this(), n2);
        if (sdir) {
            s_node->drop_lower_dirs();
            settle_subtree(s_node.get());
        }
    }
    return {};
}

}  // namespace layerfs
