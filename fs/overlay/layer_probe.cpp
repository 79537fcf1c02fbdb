#include "fs/overlay/layer_probe.hpp"

#include <fcntl.h>
#include <sys/xattr.h>

#include <algorithm>
#include <cstring>
#include <optional>

#include "fs/overlay/whiteout.hpp"
#include "fs/sys/sys.hpp"

namespace layerfs {

Result<Fd> open_dir(int dirfd, const char* name) {
    return sys::open_at(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
}

bool is_opaque_dir(int dirfd) {
    // One listxattr instead of one getxattr per dialect: most directories have none.
    char names[1024];
    ssize_t n = ::flistxattr(dirfd, names, sizeof names);
    if (n > 0) {
        for (ssize_t i = 0; i < n; i += ssize_t(std::strlen(names + i)) + 1) {
            for (const char* x : whiteout::kOpaqueXattrs) {
                if (std::strcmp(names + i, x) != 0) continue;
                char v[4];
                ssize_t len = ::fgetxattr(dirfd, x, v, sizeof v);
                if (len > 0 && whiteout::is_opaque_value(std::string_view(v, size_t(len))))
                    return true;
            }
        }
    }
    struct stat st;
    return ::fstatat(dirfd, std::string(whiteout::kOpaqueMarker).c_str(), &st,
                     AT_SYMLINK_NOFOLLOW) == 0;
}

Result<Found> probe_name(int dirfd, const std::string& name, bool check_opaque, bool want_fd) {
    Found f;
    if (::fstatat(dirfd, name.c_str(), &f.st, AT_SYMLINK_NOFOLLOW) < 0) {
        if (errno != ENOENT) return errno_error("fstatat");
        auto wh = whiteout::whiteout_name(name);
        struct stat st;
        if (!wh.empty() && ::fstatat(dirfd, wh.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0) {
            f.probe = Probe::Whiteout;
        } else if (!wh.empty() && errno != ENOENT) {
            return errno_error("fstatat");
        }
        return f;
    }
    if (whiteout::is_whiteout_device(f.st.st_mode, f.st.st_rdev)) {
        f.probe = Probe::Whiteout;
        return f;
    }
    if (S_ISDIR(f.st.st_mode) && (want_fd || check_opaque)) {
        f.fd = LFS_TRY(open_dir(dirfd, name.c_str()));
        f.probe = check_opaque && is_opaque_dir(f.fd.get()) ? Probe::OpaqueDir : Probe::Dir;
    } else if (S_ISDIR(f.st.st_mode)) {
        f.probe = Probe::Dir;
    } else {
        if (want_fd) f.fd = LFS_TRY(sys::open_at(dirfd, name.c_str(), O_PATH | O_NOFOLLOW));
        f.probe = Probe::NonDir;
    }
    return f;
}

Result<Metacopy> read_metacopy(int fd) {
    Metacopy m;
    // Most files asked about have no xattrs at all: one listxattr answers.
    if (auto none = sys::has_no_xattrs(fd); none && *none) return m;
    // A name this file system or caller cannot have means: not there.
    auto read = [&](const char* x) -> Result<std::optional<std::string>> {
        auto v = sys::getxattr_fd(fd, x);
        if (v) return std::optional<std::string>(std::move(*v));
        if (v.err() != ENODATA && v.err() != ENOTSUP && v.err() != EPERM) return v.error();
        return std::optional<std::string>();
    };
    for (const char* x : whiteout::kMetacopyXattrs)
        // The kernel's value may carry a verity digest; its presence is what counts.
        if (LFS_TRY(read(x))) m.is = true;
    if (!m.is) return m;
    for (const char* x : whiteout::kRedirectXattrs)
        if (auto v = LFS_TRY(read(x)); v && m.redirect.empty()) m.redirect = std::move(*v);
    return m;
}

Result<Found> find_lower_file(std::vector<std::pair<int, int>> dirs, std::string_view path,
                              int& layer) {
    std::vector<Fd> held;  // the directories of the current step
    size_t b = 0;
    while (b < path.size() && path[b] == '/')
        ++b;
    for (;;) {
        size_t e = std::min(path.find('/', b), path.size());
        std::string name(path.substr(b, e - b));
        const bool last = e >= path.size();
        if (name.empty() || name == "." || name == "..") return Error{ENOENT, "metacopy data"};
        Resolver r;
        std::vector<Found> found;
        for (size_t i = 0; i < dirs.size(); ++i) {
            found.push_back(LFS_TRY(probe_name(dirs[i].second, name, true)));
            if (!r.feed(int(i), found.back().probe)) break;
        }
        const Resolution& res = r.result();
        if (!res.found()) return Error{ENOENT, "metacopy data"};
        Found& top = found[size_t(res.top)];
        if (last) {
            if (S_ISDIR(top.st.st_mode)) return Error{EISDIR, "metacopy data"};
            layer = dirs[size_t(res.top)].first;
            return std::move(top);
        }
        if (!S_ISDIR(top.st.st_mode)) return Error{ENOTDIR, "metacopy data"};
        std::vector<Fd> next;
        std::vector<std::pair<int, int>> next_dirs;
        for (int l : res.dir_layers) {
            next_dirs.emplace_back(dirs[size_t(l)].first, found[size_t(l)].fd.get());
            next.push_back(std::move(found[size_t(l)].fd));
        }
        dirs = std::move(next_dirs);
        held = std::move(next);
        b = e + 1;
    }
}

Result<Found> follow_metacopy(Metacopy m, std::string path, int layer, const LayerDirs& here,
                              const LayerDirs& root) {
    for (;;) {
        if (!m.redirect.empty() && m.redirect[0] == '/') {
            path = std::move(m.redirect);
        } else if (!m.redirect.empty()) {
            // A name in the directory the current file is in.
            path = path[0] == '/' ? path.substr(0, path.rfind('/') + 1) + m.redirect : m.redirect;
        }
        LayerDirs below;
        for (auto& [l, fd] : path[0] == '/' ? root : here)
            if (l > layer) below.emplace_back(l, fd);
        auto f = find_lower_file(std::move(below), path, layer);
        if (!f || !S_ISREG(f->st.st_mode)) return Error{EIO, "metacopy data"};
        m = LFS_TRY(read_metacopy(f->fd.get()));
        if (!m.is) return f;
    }
}

}  // namespace layerfs
