#include "fs/overlay/copy_data.hpp"

#include <fcntl.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <vector>

#include "fs/sys/sys.hpp"

namespace layerfs {

static Status copy_range(int src, int dst, off_t from, off_t to) {
    while (from < to) {
        loff_t in = from, out = from;
        ssize_t n = ::copy_file_range(src, &in, dst, &out, size_t(to - from), 0);
        if (n < 0 &&
            (errno == EXDEV || errno == ENOSYS || errno == EOPNOTSUPP || errno == EINVAL)) {
            // Old kernels or odd file systems: plain read/write.
            std::vector<char> buf(1 << 20);
            size_t want = std::min<size_t>(buf.size(), size_t(to - from));
            n = ::pread(src, buf.data(), want, from);
            // A full disk first shows as a short write: the next one says why.
            if (n > 0) LFS_CHECK(sys::pwrite_all(dst, buf.data(), size_t(n), from));
        }
        if (n < 0) return errno_error("copy_file_range");
        if (n == 0) break;  // the source shrank under us
        from += n;
    }
    return {};
}

Status copy_file_data(int src, int dst, off_t size) {
    if (size > 0 && ::ioctl(dst, FICLONE, src) == 0) return {};
    off_t pos = 0;
    while (pos < size) {
        off_t data = ::lseek(src, pos, SEEK_DATA);
        if (data < 0) {
            if (errno == ENXIO) break;  // only a hole remains
            data = pos;                 // SEEK_DATA unsupported: copy everything
        }
        off_t hole = ::lseek(src, data, SEEK_HOLE);
        if (hole < 0 || hole > size) hole = size;
        LFS_CHECK(copy_range(src, dst, data, hole));
        pos = hole;
    }
    if (::ftruncate(dst, size) < 0) return errno_error("ftruncate");
    return {};
}

Status copy_xattrs(int src, int dst, const std::function<bool(std::string_view)>& keep) {
    auto names = sys::listxattr_fd(src);
    if (!names) return names.err() == ENOTSUP ? Status{} : Status{names.error()};
    for (auto& n : *names) {
        if (!keep(n)) continue;
        auto v = sys::getxattr_fd(src, n.c_str());
        if (!v) {
            if (v.err() == ENODATA) continue;
            return v.error();
        }
        auto r = sys::setxattr_fd(dst, n.c_str(), *v);
        // Unprivileged: trusted.* and security.* may be refused; the data is what matters.
        if (!r && r.err() != EPERM && r.err() != ENOTSUP) return r.error();
    }
    return {};
}

}  // namespace layerfs
