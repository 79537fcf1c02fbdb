#pragma once
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "tests/support/fixture.hpp"
#include "tests/support/tree.hpp"

namespace layerfs::test {

// errno of a failed call, 0 when it succeeded.
inline int err_of(int rc) {
    return rc < 0 ? errno : 0;
}

inline int open_errno(const std::string& path, int flags, mode_t mode = 0644) {
    int fd = ::open(path.c_str(), flags | O_CLOEXEC, mode);
    if (fd < 0) return errno;
    ::close(fd);
    return 0;
}

inline void append(const std::string& path, std::string_view data) {
    int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC);
    REQUIRE(fd >= 0);
    REQUIRE(::write(fd, data.data(), data.size()) == ssize_t(data.size()));
    ::close(fd);
}

// The daemon serving mnt: the `layerfs mount ... MNT` process (the command that
// started it has exited by the time the mount is live); 0 when there is none.
inline pid_t daemon_of(const std::string& mnt) {
    pid_t found = 0;
    DIR* d = ::opendir("/proc");
    REQUIRE(d);
    while (dirent* e = ::readdir(d)) {
        pid_t pid = pid_t(std::atoi(e->d_name));
        if (pid <= 0) continue;
        std::ifstream in("/proc/" + std::string(e->d_name) + "/cmdline");  // empty if gone
        std::vector<std::string> argv;
        for (std::string a; std::getline(in, a, '\0');)
            argv.push_back(a);
        if (argv.size() > 2 && argv[1] == "mount" && argv.back() == mnt &&
            argv[0].find("layerfs") != std::string::npos)
            found = pid;
    }
    ::closedir(d);
    return found;
}

}  // namespace layerfs::test

#define REQUIRE_MOUNTED(m)         \
    do {                           \
        INFO((m).result().output); \
        REQUIRE((m).ok());         \
    } while (0)
