#include "bench/files.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <stdexcept>
#include <system_error>

#include "fs/sys/fd.hpp"
#include "fs/sys/sys.hpp"

namespace layerfs::bench {

[[noreturn]] void fail_errno(const std::string& what) {
    throw std::runtime_error(what + ": " + std::strerror(errno));
}

void write_all(int fd, const char* p, size_t n, const std::string& path) {
    if (auto s = sys::write_all(fd, p, n); !s) {
        errno = s.err();
        fail_errno("write " + path);
    }
}

void write_file(const std::string& path, const std::string& data, mode_t mode, int64_t mtime,
                uid_t uid, gid_t gid) {
    Fd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
    if (!fd) fail_errno("create " + path);
    write_all(fd.get(), data.data(), data.size(), path);
    // chown before chmod: chown clears set-id bits.
    if ((uid != 0 || gid != 0) && fchown(fd.get(), uid, gid) != 0) fail_errno("fchown " + path);
    if (fchmod(fd.get(), mode) != 0) fail_errno("fchmod " + path);
    const struct timespec ts[2] = {{time_t(mtime), 0}, {time_t(mtime), 0}};
    if (futimens(fd.get(), ts) != 0) fail_errno("futimens " + path);
    if (::close(fd.release()) != 0) fail_errno("close " + path);
}

void write_text_atomically(const std::string& path, const std::string& text) {
    const std::string tmp = path + ".tmp";
    ::unlink(tmp.c_str());
    write_file(tmp, text, 0644, time(nullptr));
    Fd fd(::open(tmp.c_str(), O_RDONLY | O_CLOEXEC));
    if (fd) (void)sys::fsync_fd(fd.get());
    if (::rename(tmp.c_str(), path.c_str()) != 0) fail_errno("rename " + tmp);
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
