#pragma once
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cerrno>
#include <string>

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

}  // namespace layerfs::test

#define REQUIRE_MOUNTED(m)         \
    do {                           \
        INFO((m).result().output); \
        REQUIRE((m).ok());         \
    } while (0)
