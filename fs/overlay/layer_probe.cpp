#include "fs/overlay/layer_probe.hpp"

#include <fcntl.h>
#include <sys/xattr.h>

#include <cstring>

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

}  // namespace layerfs
