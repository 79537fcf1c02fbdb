// Copy-up: the first change to a lower file or directory moves it to the upper
// layer, built in the work dir and renamed into place so it appears whole or not at all.
#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <linux/fs.h>
#include <cstdio>
#include <mutex>

#include "fs/overlay/copy_data.hpp"
#include "fs/overlay/layer_probe.hpp"
#include "fs/overlay/overlay_fs_internal.hpp"
#include "fs/overlay/whiteout.hpp"
#include "fs/sys/sys.hpp"

namespace layerfs {

namespace {

bool keep_on_copy_up(std::string_view name) {
    // Opaque markers of a lower dir describe that layer, not the copy.
    return !whiteout::is_private_xattr(name, false);
}

// Renaming into a directory changes its times; copy-up must not show that.
struct KeepTimes {
    int fd;
    struct timespec times[2];
    explicit KeepTimes(int dirfd) : fd(dirfd) {
        auto st = sys::stat_fd(dirfd);
        times[0] = st ? st->st_atim : timespec{0, UTIME_OMIT};
        times[1] = st ? st->st_mtim : timespec{0, UTIME_OMIT};
    }
    ~KeepTimes() { (void)sys::utimens_fd(fd, times); }
};

}  // namespace

Result<int> OverlayFs::upper_dir_of(Node* dir) {
    if (read_only()) return err(EROFS, "write");
    LFS_CHECK(copy_up(dir));
    return dir->upper.load(std::memory_order_acquire);
}

Status OverlayFs::copy_up(Node* n, bool with_data) {
    if (n->has_upper()) return {};
    if (read_only()) return err(EROFS, "copy-up");
    auto [parent, name] = n->location();
    if (!parent) return err(EIO, "copy-up");
    LFS_CHECK(copy_up(parent.get()));
    std::lock_guard g(n->copy_mutex);
    if (n->has_upper()) return {};
    return n->is_dir() ? copy_up_dir(n) : copy_up_file(n, with_data);
}

// Metadata that every copy gets: xattrs, owner, mode, times.
static Status copy_metadata(int src, int dst, const struct stat& st, bool chown_ok) {
    // Owner and mode first: chown drops security.capability, which must survive.
    if (chown_ok) LFS_CHECK(sys::chown_fd(dst, st.st_uid, st.st_gid));
    if (!S_ISLNK(st.st_mode)) LFS_CHECK(sys::chmod_fd(dst, st.st_mode & 07777));
    LFS_CHECK(copy_xattrs(src, dst, keep_on_copy_up));
    struct timespec times[2] = {st.st_atim, st.st_mtim};
    auto r = sys::utimens_fd(dst, times);
    if (!r && !S_ISLNK(st.st_mode)) return r;
    return {};
}

// The final step: under the namespace lock, move the staged copy to where the
// node lives now (a rename may have moved it while its data was copied).
Status OverlayFs::publish(Node* n, const std::string& tmp, Fd staged) {
    std::unique_lock lk(ns_);
    auto [parent, name] = n->location();
    int pu = parent ? parent->upper.load() : -1;
    if (pu < 0) return err(EIO, "copy-up");
    auto ust = LFS_TRY(sys::stat_fd(staged.get()));
    if (n->unlinked) {
        (void)remove_upper_tree_at(work_, tmp.c_str());
    } else {
        KeepTimes keep(pu);
        // NOREPLACE: a copy-up never clobbers what the upper layer already holds.
        LFS_CHECK(sys::rename_at(work_, tmp.c_str(), pu, name.c_str(), RENAME_NOREPLACE));
    }
    n->set_upper(std::move(staged));
    table_.add_key(n, {ust.st_dev, ust.st_ino});
    return {};
}

Status OverlayFs::copy_up_dir(Node* n) {
    int src;
    {
        std::shared_lock lk(ns_);
        if (n->lower_dirs.empty()) return err(EIO, "copy-up");
        src = n->lower_dirs.front().fd.get();
    }
    auto st = LFS_TRY(sys::stat_fd(src));
    std::string tmp = temp_name();
    LFS_CHECK(sys::mkdir_at(work_, tmp.c_str(), 0700));
    auto staged = open_dir(work_, tmp.c_str());
    if (!staged) {
        (void)remove_upper_tree_at(work_, tmp.c_str());
        return staged.error();
    }
    auto r = copy_metadata(src, staged->get(), st, caps_.can_chown);
    if (r) r = publish(n, tmp, std::move(*staged));
    if (!r) (void)remove_upper_tree_at(work_, tmp.c_str());
    return r;
}

std::string OverlayFs::index_key(const struct stat& lower) const {
    char buf[48];
    std::snprintf(buf, sizeof buf, "%llx-%llx", (unsigned long long)lower.st_dev,
                  (unsigned long long)lower.st_ino);
    return buf;
}

void OverlayFs::adopt_index(Node* n) {
    std::lock_guard g(n->copy_mutex);
    if (n->has_upper() || !n->lower.valid()) return;
    auto st = sys::stat_fd(n->lower.get());
    if (!st) return;
    auto fd = sys::open_at(index_.get(), index_key(*st).c_str(), O_PATH | O_NOFOLLOW);
    if (!fd) return;
    auto ust = sys::stat_fd(fd->get());
    if (!ust) return;
    n->set_upper(std::move(*fd));
    table_.add_key(n, {ust->st_dev, ust->st_ino});
}

const char* OverlayFs::nlink_xattr() const {
    return caps_.kernel_whiteouts ? "trusted.overlay.layerfs.nlink" : "user.overlay.layerfs.nlink";
}

std::optional<nlink_t> OverlayFs::stored_nlink(int upper) const {
    auto v = sys::getxattr_fd(upper, nlink_xattr());
    if (!v) return std::nullopt;
    try {
        return nlink_t(std::stoul(*v));
    } catch (...) {
        return std::nullopt;
    }
}

void OverlayFs::adjust_nlink(int upper, int delta) {
    if (auto n = stored_nlink(upper)) {
        long v = std::max(0L, long(*n) + delta);
        (void)sys::setxattr_fd(upper, nlink_xattr(), std::to_string(v));
    }
}

Status OverlayFs::link_alias(Node* n, Node* parent, const std::string& name) {
    int pu = LFS_TRY(upper_dir_of(parent));
    std::unique_lock lk(ns_);
    auto c = LFS_TRY(resolve(parent, name));
    if (!c.exists || c.top == 0 || S_ISDIR(c.st.st_mode)) return {};  // gone or already up
    KeepTimes keep(pu);  // showing a name that was always there changes nothing
    if (::linkat(AT_FDCWD, sys::proc_path(n->upper.load()).c_str(), pu, name.c_str(),
                 AT_SYMLINK_FOLLOW) < 0 &&
        errno != EEXIST)
        return errno_error("linkat");
    return {};
}

Status OverlayFs::link_known_aliases(Node* n) {
    std::vector<std::pair<std::weak_ptr<Node>, std::string>> aliases;
    {
        std::lock_guard g(n->loc_mutex);
        aliases = n->aliases;
    }
    for (auto& [parent, name] : aliases)
        if (auto p = parent.lock()) LFS_CHECK(link_alias(n, p.get(), name));
    return {};
}

Status OverlayFs::copy_up_file(Node* n, bool with_data) {
    int src = n->lower.get();
    auto st = LFS_TRY(sys::stat_fd(src));
    std::string tmp = temp_name();
    auto cleanup = [&](Status s) {
        if (!s) (void)sys::unlink_at(work_, tmp.c_str(), 0);
        return s;
    };
    // A lower file with several names: all of them must keep sharing one copy.
    const bool hardlinked = st.st_nlink > 1 && index_.valid();
    const std::string key = hardlinked ? index_key(st) : std::string();
    if (hardlinked && ::linkat(index_.get(), key.c_str(), work_, tmp.c_str(), 0) == 0) {
        auto staged = sys::open_at(work_, tmp.c_str(), O_PATH | O_NOFOLLOW);
        if (!staged) return cleanup(staged.error());
        LFS_CHECK(cleanup(publish(n, tmp, std::move(*staged))));
        return link_known_aliases(n);
    }
    switch (st.st_mode & S_IFMT) {
        case S_IFREG: {
            auto out = LFS_TRY(sys::open_at(work_, tmp.c_str(), O_CREAT | O_EXCL | O_WRONLY, 0600));
            if (with_data && st.st_size > 0) {
                auto in = sys::reopen(src, O_RDONLY | O_NOATIME);
                if (!in && in.err() == EPERM) in = sys::reopen(src, O_RDONLY);
                if (!in) return cleanup(in.error());
                if (auto r = copy_file_data(in->get(), out.get(), st.st_size); !r)
                    return cleanup(r);
                if (!cfg_.no_sync && ::fsync(out.get()) < 0) return cleanup(errno_error("fsync"));
            }
            break;
        }
        case S_IFLNK: {
            auto target = LFS_TRY(sys::readlink_at(src, ""));
            LFS_CHECK(sys::symlink_at(target.c_str(), work_, tmp.c_str()));
            break;
        }
        default:
            if (auto r = sys::mknod_at(work_, tmp.c_str(), st.st_mode, st.st_rdev); !r) {
                // Unprivileged: a device becomes an empty file that carries its type.
                if (r.err() != EPERM || cfg_.xattr_permissions != 2) return r;
                auto f =
                    LFS_TRY(sys::open_at(work_, tmp.c_str(), O_CREAT | O_EXCL | O_WRONLY, 0600));
                OverrideStat o{st.st_uid, st.st_gid, st.st_mode, st.st_rdev, true};
                if (auto x =
                        sys::setxattr_fd(f.get(), whiteout::kOverrideStat, format_override_stat(o));
                    !x)
                    return cleanup(x);
            }
    }
    auto staged = sys::open_at(work_, tmp.c_str(), O_PATH | O_NOFOLLOW);
    if (!staged) return cleanup(staged.error());
    if (auto r = copy_metadata(src, staged->get(), st, caps_.can_chown); !r) return cleanup(r);
    if (hardlinked && S_ISREG(st.st_mode) &&
        sys::setxattr_fd(staged->get(), nlink_xattr(), std::to_string(st.st_nlink)))
        (void)::linkat(work_, tmp.c_str(), index_.get(), key.c_str(), 0);
    LFS_CHECK(cleanup(publish(n, tmp, std::move(*staged))));
    return hardlinked ? link_known_aliases(n) : Status{};
}

Status OverlayFs::copy_up_tree(Node* dir) {
    LFS_CHECK(copy_up(dir));
    auto listing = LFS_TRY(opendir(dir));
    for (size_t i = 2; i < listing.entries.size(); ++i) {
        auto& e = listing.entries[i];
        if (e.layer == 0 && e.type != DT_DIR) continue;  // already in the upper layer
        auto child = LFS_TRY(lookup(dir, e.name.c_str()));
        Status r = child.node->is_dir() ? copy_up_tree(child.node) : copy_up(child.node);
        forget(child.node, 1);
        LFS_CHECK(r);
    }
    return {};
}

}  // namespace layerfs
