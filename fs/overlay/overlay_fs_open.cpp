// Mount-time setup: open and check the layers, probe what the upper allows.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>

#include "fs/overlay/layer_probe.hpp"
#include "fs/overlay/overlay_fs_internal.hpp"
#include "fs/overlay/whiteout.hpp"
#include "fs/sys/sys.hpp"

namespace layerfs {

namespace {

constexpr const char* kWorkSubdir = "work";
constexpr const char* kIndexSubdir = "layerfs-index";
constexpr const char* kDirtyMarker = "layerfs-volatile";
constexpr const char* kTempPrefix = "lfs-";

// a == b or a lies under b.
bool inside(const std::string& a, const std::string& b) {
    return a == b || (a.size() > b.size() && a.compare(0, b.size(), b) == 0 &&
                      (b == "/" || a[b.size()] == '/'));
}

Status remove_tree(int dirfd, const char* name) {
    auto st = sys::stat_at(dirfd, name);
    if (!st) return st.err() == ENOENT ? Status{} : Status{st.error()};
    if (!S_ISDIR(st->st_mode)) return sys::unlink_at(dirfd, name, 0);
    auto d = LFS_TRY(open_dir(dirfd, name));
    auto entries = LFS_TRY(sys::read_dir(d.get()));
    for (auto& e : entries)
        LFS_CHECK(remove_tree(d.get(), e.name.c_str()));
    return sys::unlink_at(dirfd, name, AT_REMOVEDIR);
}

}  // namespace

Status remove_upper_tree_at(int dirfd, const char* name) {
    return remove_tree(dirfd, name);
}

std::unique_ptr<OverlayFs> OverlayFs::open(const MountConfig& cfg, std::string& err) {
    std::unique_ptr<OverlayFs> fs(new OverlayFs);
    fs->cfg_ = cfg;
    fs->self_uid_ = ::geteuid();
    fs->self_gid_ = ::getegid();
    auto fail = [&](const std::string& what, const std::string& path, const Error& e) {
        err = what + " '" + path + "': " + std::strerror(e.code);
        return nullptr;
    };

    // The layer paths are resolved as any path a user gives: podman passes its
    // overlay/l/ short links, which are symlinks. Inside a layer nothing is
    // ever followed (open_dir and every *at() call below use O_NOFOLLOW).
    auto open_layer = [&](const char* what, const std::string& path,
                          std::string& real) -> std::optional<Fd> {
        auto r = sys::real_path(path);
        auto d = r ? open_dir(AT_FDCWD, r->c_str()) : Result<Fd>(r.error());
        if (!d) {
            fail(what, path, d.error());
            return std::nullopt;
        }
        real = std::move(*r);
        return std::move(*d);
    };
    std::vector<std::string> reals(cfg.lowerdirs.size());
    for (size_t i = 0; i < cfg.lowerdirs.size(); ++i) {
        const std::string& l = cfg.lowerdirs[i];
        auto d = open_layer("lowerdir", l, reals[i]);
        if (!d) return nullptr;
        auto st = LFS_TRY_OR(sys::stat_fd(d->get()), return fail("lowerdir", l, e));
        fs->devs_.push_back(st.st_dev);
        fs->lowers_.push_back(std::move(*d));
    }
    fs->devs_.insert(fs->devs_.begin(), dev_t(0));  // layer 0: the upper, when there is one

    if (!cfg.upperdir.empty()) {
        std::string ru, rw;
        auto up = open_layer("upperdir", cfg.upperdir, ru);
        if (!up) return nullptr;
        auto wk = open_layer("workdir", cfg.workdir, rw);
        if (!wk) return nullptr;
        auto ust = LFS_TRY_OR(sys::stat_fd(up->get()), return fail("upperdir", cfg.upperdir, e));
        auto wst = LFS_TRY_OR(sys::stat_fd(wk->get()), return fail("workdir", cfg.workdir, e));
        if (ust.st_dev != wst.st_dev) {
            err = "workdir '" + cfg.workdir + "' is not on the same file system as upperdir '" +
                  cfg.upperdir + "'";
            return nullptr;
        }
        if (inside(ru, rw) || inside(rw, ru)) {
            err = "upperdir '" + cfg.upperdir + "' and workdir '" + cfg.workdir +
                  "' must not contain each other";
            return nullptr;
        }
        for (size_t i = 0; i < reals.size(); ++i) {
            if (inside(ru, reals[i]) || inside(reals[i], ru)) {
                err = "upperdir '" + cfg.upperdir + "' and lowerdir '" + cfg.lowerdirs[i] +
                      "' must not contain each other";
                return nullptr;
            }
        }
        fs->devs_[0] = ust.st_dev;
        if (::mkdirat(wk->get(), kWorkSubdir, 0700) < 0 && errno != EEXIST)
            return fail("workdir", cfg.workdir, errno_error("mkdir"));
        auto work = open_dir(wk->get(), kWorkSubdir);
        if (!work) return fail("workdir", cfg.workdir, work.error());
        // Temps of a daemon that died mid copy-up: never visible, safe to drop.
        if (auto entries = sys::read_dir(work->get())) {
            for (auto& e : *entries)
                if (e.name.rfind(kTempPrefix, 0) == 0)
                    (void)remove_tree(work->get(), e.name.c_str());
        }
        if (::mkdirat(wk->get(), kIndexSubdir, 0700) == 0 || errno == EEXIST) {
            if (auto idx = open_dir(wk->get(), kIndexSubdir)) fs->index_ = std::move(*idx);
        }
        struct stat mst;
        fs->was_dirty_ = ::fstatat(wk->get(), kDirtyMarker, &mst, 0) == 0;
        if (cfg.no_sync && !cfg.read_only) {
            int m = ::openat(wk->get(), kDirtyMarker, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
            if (m >= 0) {
                ::fsync(m);
                ::close(m);
                ::fsync(wk->get());
            }
        }
        fs->upper_root_ = up->get();
        fs->work_ = work->get();
        fs->upper_owner_ = std::move(*up);
        fs->work_owner_ = std::move(*work);
        fs->workdir_fd_ = std::move(*wk);

        // Probe once what the daemon may write: kernel whiteouts need mknod 0/0
        // and trusted.* xattrs; chown needs CAP_CHOWN. Owners kept in
        // override_stat (xattr_permissions=2) are never chowned, as in
        // fuse-overlayfs: a daemon in a user namespace with a subuid range could,
        // and its files would then be ones the store's owner cannot remove.
        std::string probe = fs->temp_name();
        if (::mknodat(fs->work_, probe.c_str(), S_IFCHR | 0600, 0) == 0) {
            int pfd = ::openat(fs->work_, probe.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC);
            fs->caps_.kernel_whiteouts =
                pfd >= 0 && sys::setxattr_fd(pfd, "trusted.overlay.layerfs-probe", "y").ok();
            fs->caps_.can_chown =
                pfd >= 0 && cfg.xattr_permissions != 2 && sys::chown_fd(pfd, 1, 1).ok();
            if (pfd >= 0) ::close(pfd);
            ::unlinkat(fs->work_, probe.c_str(), 0);
        }
    }

    // Without an upper layer devs_[0] is a placeholder, not a second device: a
    // read-only stack on one file system shows the real inode numbers.
    const auto first_dev = fs->devs_.begin() + (fs->upper_root_ >= 0 ? 0 : 1);
    fs->inos_ = std::make_unique<InodeNumbers>(std::vector<dev_t>(first_dev, fs->devs_.end()));
    auto root = std::make_shared<Node>();
    root->type = S_IFDIR;
    for (size_t i = 0; i < fs->lowers_.size(); ++i) {
        auto d = sys::open_at(fs->lowers_[i].get(), ".", O_RDONLY | O_DIRECTORY);
        if (!d) return fail("lowerdir", cfg.lowerdirs[i], d.error());
        bool opaque = is_opaque_dir(d->get());
        root->lower_dirs.push_back({int(i) + 1, std::move(*d)});
        if (opaque) break;
    }
    if (fs->upper_root_ >= 0) {
        auto d = sys::open_at(fs->upper_root_, ".", O_RDONLY | O_DIRECTORY);
        if (!d) return fail("upperdir", cfg.upperdir, d.error());
        if (is_opaque_dir(d->get())) root->lower_dirs.clear();
        root->set_upper(std::move(*d));
    }
    root->merged = root->lower_dirs.size() + (root->has_upper() ? 1 : 0) > 1;
    int top = root->top_fd();
    auto rst = LFS_TRY_OR(sys::stat_fd(top), return fail("layer", cfg.lowerdirs[0], e));
    root->st_ino = fs->inos_->map(rst.st_dev, rst.st_ino);
    fs->root_ = std::move(root);
    return fs;
}

OverlayFs::~OverlayFs() = default;

void OverlayFs::mark_clean() {
    if (!workdir_fd_.valid() || !cfg_.no_sync) return;
    ::syncfs(workdir_fd_.get());
    ::unlinkat(workdir_fd_.get(), kDirtyMarker, 0);
}

std::string OverlayFs::temp_name() {
    return std::string(kTempPrefix) + std::to_string(::getpid()) + "-" +
           std::to_string(tmp_counter_.fetch_add(1));
}

}  // namespace layerfs
