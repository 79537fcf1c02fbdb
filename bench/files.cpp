#include "bench/files.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <stdexcept>
#include <system_error>

namespace layerfs::bench {

[[noreturn]] void fail_errno(const std::string& what) {
    throw std::runtime_error(what + ": " + std::strerror(errno));
}

void write_all(int fd, const char* p, size_t n, const std::string& path) {
    while (n > 0) {
        const ssize_t w = ::write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR) continue;
            fail_errno("write " + path);
        }
        p += w;
        n -= size_t(w);
    }
}

void write_file(const std::string& path, const std::string& data, mode_t mode, int64_t mtime,
                uid_t uid, gid_t gid) {
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) fail_errno("create " + path);
    try {
        write_all(fd, data.data(), data.size(), path);
        // chown before chmod: chown clears set-id bits.
        if ((uid != 0 || gid != 0) && fchown(fd, uid, gid) != 0) fail_errno("fchown " + path);
        if (fchmod(fd, mode) != 0) fail_errno("fchmod " + path);
        const struct timespec ts[2] = {{time_t(mtime), 0}, {time_t(mtime), 0}};
        if (futimens(fd, ts) != 0) fail_errno("futimens " + path);
    } catch (...) {
        ::close(fd);
        throw;
    }
    if (::close(fd) != 0) fail_errno("close " + path);
}

void make_dir(const std::string& path, mode_t mode) {
    if (::mkdir(path.c_str(), mode) != 0 && errno != EEXIST) fail_errno("mkdir " + path);
}

void make_dirs(const std::string& path) {
    std::error_code ec;
    std::filesystem::create_directories(path, ec);
    if (ec) throw std::runtime_error("mkdir -p " + path + ": " + ec.message());
}

}  // namespace layerfs::bench
