#include "cli/host_mount.hpp"

#include <spawn.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "snapshotter/failure.hpp"

extern char** environ;

namespace layerfs::cli {

using store::fail;

bool is_mounted(const std::string& merged) {
    struct stat m, parent;
    if (::stat((merged + "/..").c_str(), &parent) < 0) return false;
    if (::stat(merged.c_str(), &m) < 0) return errno == ENOTCONN;
    return m.st_dev != parent.st_dev;
}

void unmount(const std::string& path) {
    if (::geteuid() == 0) {
        if (::umount2(path.c_str(), UMOUNT_NOFOLLOW) < 0)
            fail("unmounting " + path + ": " + std::strerror(errno));
        return;
    }
    // An ordinary user unmounts through the set-uid helper, as podman does.
    const char* argv[] = {"fusermount3", "-u", "-q", path.c_str(), nullptr};
    pid_t pid;
    if (int e = ::posix_spawnp(&pid, "fusermount3", nullptr, nullptr,
                               const_cast<char* const*>(argv), environ))
        fail(std::string("running fusermount3: ") + std::strerror(e));
    int status = 0;
    ::waitpid(pid, &status, 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) fail("fusermount3 -u " + path + " failed");
}

}  // namespace layerfs::cli
