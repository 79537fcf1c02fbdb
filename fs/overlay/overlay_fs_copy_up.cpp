// Copy-up: the first change to a lower file or directory moves it to the upper
// layer, built in the work dir and renamed into place so it appears whole or not at all.
#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <linux/fs.h>
#include <algorithm>
#include <cstdio>
#include <mutex>
#include <optional>

#include "fs/overlay/copy_data.hpp"
#include "fs/overlay/layer_probe.hpp"
#include "fs/overlay/overlay_fs_internal.hpp"
#include "fs/overlay/whiteout.hpp"
#include "fs/sys/sys.hpp"

namespace layerfs {

namespace {

// A lower file opened to read its data; O_NOATIME needs ownership or CAP_FOWNER.
Result<Fd> open_source(int src) {
    auto in = sys::reopen(src, O_RDONLY | O_NOATIME);
    if (!in && in.err() == EPERM) in = sys::reopen(src, O_RDONLY);
    return in;
}

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

Status OverlayFs::copy_up(Node* n, CopyUp how) {
    if (!n->has_upper()) {
        if (read_only()) return err(EROFS, "copy-up");
        auto [parent, name] = n->location();
        if (!parent) return err(EIO, "copy-up");
        LFS_CHECK(copy_up(parent.get()));
        std::lock_guard g(n->copy_mutex);
        if (!n->has_upper()) LFS_CHECK(n->is_dir() ? copy_up_dir(n) : copy_up_file(n, how));
    }
    if (how != CopyUp::Metadata && n->metacopy.load(std::memory_order_acquire))
        return copy_up_data(n);
    return {};
}

std::string OverlayFs::path_of(Node* n) {
    std::vector<std::string> names;
    std::shared_ptr<Node> cur = n->shared_from_this();
    while (cur != root_) {
        auto [parent, name] = cur->location();
        if (!parent || name.empty() || cur->unlinked) return {};
        names.push_back(std::move(name));
        cur = std::move(parent);
    }
    std::string out;
    for (auto it = names.rbegin(); it != names.rend(); ++it)
        out += (out.empty() ? "" : "/") + *it;
    return out;
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
    // Now shown from two layers: the upper dir's own link count would miss
    // the lower subdirectories, so it reports 1, as kernel overlayfs does.
    if (r) {
        const bool was_merged = n->merged.exchange(true);
        r = publish(n, tmp, std::move(*staged));
        if (!r) n->merged = was_merged;
    }
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

Status OverlayFs::copy_up_file(Node* n, CopyUp how) {
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
    // Hard links keep to full copies: their index shares one copy between names.
    std::string lower_path;
    if (how == CopyUp::Metadata && cfg_.metacopy && S_ISREG(st.st_mode) && st.st_size > 0 &&
        !hardlinked)
        lower_path = path_of(n);  // not yet copied up: where it is in the lowers too
    const bool meta_only = !lower_path.empty();
    if (hardlinked && ::linkat(index_.get(), key.c_str(), work_, tmp.c_str(), 0) == 0) {
        auto staged = sys::open_at(work_, tmp.c_str(), O_PATH | O_NOFOLLOW);
        if (!staged) return cleanup(staged.error());
        LFS_CHECK(cleanup(publish(n, tmp, std::move(*staged))));
        return link_known_aliases(n);
    }
    switch (st.st_mode & S_IFMT) {
        case S_IFREG: {
            auto out = LFS_TRY(sys::open_at(work_, tmp.c_str(), O_CREAT | O_EXCL | O_WRONLY, 0600));
            if (meta_only) {
                // The size shows as the lower file's; the blocks stay holes. The
                // redirect finds the data again after a rename and a remount.
                const int k = caps_.kernel_whiteouts ? 0 : 1;
                Status r = sys::truncate_fd(out.get(), st.st_size);
                if (r) r = sys::setxattr_fd(out.get(), whiteout::kMetacopyXattrs[k], "");
                if (r)
                    r = sys::setxattr_fd(out.get(), whiteout::kRedirectXattrs[k], "/" + lower_path);
                if (!r) return cleanup(r);
            } else if (how != CopyUp::Empty && st.st_size > 0) {
                auto data = lower_data_fd(n);
                auto in = data ? open_source(*data) : Result<Fd>(data.error());
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
    n->metacopy.store(meta_only, std::memory_order_release);  // before `upper` shows
    if (auto r = publish(n, tmp, std::move(*staged)); !r) {
        n->metacopy.store(false);
        return cleanup(r);
    }
    return hardlinked ? link_known_aliases(n) : Status{};
}

namespace {

// What writing a file's data changes in its metadata: set-id bits (without
// CAP_FSETID), file capabilities, times.
struct WriteTouched {
    struct timespec times[2];
    mode_t mode;
    std::optional<std::string> caps;
};

WriteTouched touched_by_write(int fd, const struct stat& st) {
    WriteTouched w{{st.st_atim, st.st_mtim}, mode_t(st.st_mode & 07777), std::nullopt};
    if (auto c = sys::getxattr_fd(fd, "security.capability")) w.caps = std::move(*c);
    return w;
}

std::string format_touched(const WriteTouched& w) {
    char buf[128];
    std::snprintf(buf, sizeof buf, "%lld %ld %lld %ld %o\n", (long long)w.times[0].tv_sec,
                  w.times[0].tv_nsec, (long long)w.times[1].tv_sec, w.times[1].tv_nsec,
                  unsigned(w.mode));
    return buf + w.caps.value_or("");
}

std::optional<WriteTouched> parse_touched(const std::string& v) {
    WriteTouched w{};
    long long as, ms;
    unsigned mode;
    auto nl = v.find('\n');
    if (nl == std::string::npos ||
        std::sscanf(v.c_str(), "%lld %ld %lld %ld %o", &as, &w.times[0].tv_nsec, &ms,
                    &w.times[1].tv_nsec, &mode) != 5)
        return std::nullopt;
    w.times[0].tv_sec = as;
    w.times[1].tv_sec = ms;
    w.mode = mode & 07777;
    if (nl + 1 < v.size()) w.caps = v.substr(nl + 1);
    return w;
}

Status put_back(int fd, const WriteTouched& w) {
    Status r;
    if (auto now = sys::stat_fd(fd); now && mode_t(now->st_mode & 07777) != w.mode)
        r = sys::chmod_fd(fd, w.mode);
    if (w.caps && !sys::getxattr_fd(fd, "security.capability"))
        (void)sys::setxattr_fd(fd, "security.capability", *w.caps);
    (void)sys::utimens_fd(fd, w.times);
    return r;
}

}  // namespace

const char* OverlayFs::data_copy_xattr() const {
    return caps_.kernel_whiteouts ? "trusted.overlay.layerfs.data_copy"
                                  : "user.overlay.layerfs.data_copy";
}

bool OverlayFs::finish_killed_data_copy(int upper) {
    auto v = sys::getxattr_fd(upper, data_copy_xattr());
    if (!v) return false;
    if (auto w = parse_touched(*v); !w || !put_back(upper, *w)) return false;
    return sys::removexattr_fd(upper, data_copy_xattr()).ok();
}

// The data of a metadata-only copy, written into that copy in place. Until the
// metacopy xattr goes (after an fsync) readers and a remount still take the
// lower file, so a crash leaves the old data showing, never a partial copy.
Status OverlayFs::copy_up_data(Node* n) {
    std::lock_guard g(n->copy_mutex);
    if (!n->metacopy.load(std::memory_order_acquire)) return {};
    const int up = n->upper.load(std::memory_order_acquire);
    const int data = LFS_TRY(lower_data_fd(n));
    auto lst = LFS_TRY(sys::stat_fd(data));
    auto ust = LFS_TRY(sys::stat_fd(up));
    // The writes change what the copy shows while it still shows the old data;
    // it is put back after them, and kept beside the file until then, so that
    // the first lookup after a killed daemon puts it back too (best effort:
    // the data stays whole without it).
    const WriteTouched before = touched_by_write(up, ust);
    auto save = [&] { return sys::setxattr_fd(up, data_copy_xattr(), format_touched(before)); };
    const bool saved = save().ok();
    auto out = sys::reopen(up, O_WRONLY);
    if (!out && out.err() == EACCES && ust.st_uid == self_uid_) {
        // A rootless daemon owns the copy but need not have write permission on
        // it (nor, then, on its user.* xattrs).
        LFS_CHECK(sys::chmod_fd(up, (ust.st_mode & 07777) | S_IWUSR));
        if (!saved) (void)save();
        out = sys::reopen(up, O_WRONLY);
    }
    Status r = out ? Status{} : Status{out.error()};
    if (r) {
        auto in = open_source(data);
        r = in ? copy_file_data(in->get(), out->get(), lst.st_size) : Status{in.error()};
    }
    if (r && !cfg_.no_sync && ::fsync(out->get()) < 0) r = errno_error("fsync");
    // A copy that failed (a full disk) gives its blocks back: the file is still
    // the lower one's metadata and must hold nothing more.
    if (!r && out &&
        ::fallocate(out->get(), FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0,
                    std::max(lst.st_size, ust.st_size)) < 0) {
        (void)sys::truncate_fd(out->get(), 0);
        (void)sys::truncate_fd(out->get(), ust.st_size);
    }
    if (auto m = put_back(up, before); !m && r) r = m;
    (void)sys::removexattr_fd(up, data_copy_xattr());
    LFS_CHECK(r);
    for (auto names : {whiteout::kMetacopyXattrs, whiteout::kRedirectXattrs})
        for (const char* x : names)
            if (auto x_r = sys::removexattr_fd(up, x);
                !x_r && x_r.err() != ENODATA && x_r.err() != ENOTSUP && x_r.err() != EPERM)
                return x_r;
    n->metacopy.store(false, std::memory_order_release);
    return {};
}

Status OverlayFs::copy_up_tree(Node* dir) {
    LFS_CHECK(copy_up(dir));
    auto listing = LFS_TRY(opendir(dir));
    for (size_t i = 2; i < listing.entries.size(); ++i) {
        auto& e = listing.entries[i];
        if (e.layer == 0 && e.type != DT_DIR) continue;  // already in the upper layer
        auto child = LFS_TRY(lookup(dir, e.name.c_str()));
        Status r =
            child.node->is_dir() ? copy_up_tree(child.node) : copy_up(child.node, CopyUp::Metadata);
        forget(child.node, 1);
        LFS_CHECK(r);
    }
    return {};
}

}  // namespace layerfs
