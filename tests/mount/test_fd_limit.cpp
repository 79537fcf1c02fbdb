// A daemon whose fd limit is far below the number of files the kernel has
// seen: it asks the kernel to drop cached entries instead of failing with
// EMFILE (every node the kernel holds keeps an fd per layer open).
#include <sys/stat.h>

#include <cstring>

#include "tests/mount/mount_helpers.hpp"

using namespace layerfs::test;

namespace {

// Unmounts in the destructor, whatever the test did. Unconditionally: a daemon
// out of fds fails the stat that is_mounted() needs.
struct Unmounter {
    std::string path;
    ~Unmounter() { run({"umount", "-l", path}); }
};

std::string name_of(int d, int f) {
    return "d" + std::to_string(d) + "/f" + std::to_string(f);
}

}  // namespace

TEST_CASE("a daemon limited to 512 fds serves thousands of files", "[mount][fdlimit]") {
    Stack s(1, "fdlimit");
    for (int d = 0; d < 6; ++d)
        for (int f = 0; f < 100; ++f)
            write_file(s.lower(0) + "/lower" + name_of(d, f), "lower " + name_of(d, f));
    // Without CAP_SYS_RESOURCE the daemon cannot raise its hard limit, as for
    // an ordinary user.
    RunResult r =
        run({"prlimit", "--nofile=512:512", "setpriv", "--bounding-set=-sys_resource",
             layerfs_bin(), "mount", "-o",
             "lowerdir=" + s.lower(0) + ",upperdir=" + s.upper + ",workdir=" + s.work, s.mnt});
    Unmounter guard{s.mnt};
    INFO(r.output);
    REQUIRE(r.status == 0);
    REQUIRE(is_mounted(s.mnt));

    // Every lower file looked up (the kernel now holds 600 nodes), then 1500
    // new files written, each closed at once, as an untar does.
    for (int d = 0; d < 6; ++d)
        for (int f = 0; f < 100; ++f) {
            INFO(name_of(d, f));
            CHECK(read_file(s.mnt + "/lower" + name_of(d, f)) == "lower " + name_of(d, f));
        }
    int failed = 0;
    for (int d = 0; d < 15; ++d) {
        REQUIRE(::mkdir((s.mnt + "/d" + std::to_string(d)).c_str(), 0755) == 0);
        for (int f = 0; f < 100; ++f) {
            std::string p = s.mnt + "/" + name_of(d, f);
            int fd = ::open(p.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
            if (fd < 0 || ::write(fd, p.data(), p.size()) != ssize_t(p.size()) ||
                ::close(fd) != 0) {
                INFO(p << ": " << strerror(errno));
                CHECK(fd >= 0);
                ++failed;
                if (failed > 3) FAIL("giving up");
            }
        }
    }
    for (int d = 0; d < 15; ++d) {
        CHECK(list_dir(s.mnt + "/d" + std::to_string(d)).size() == 100);
        for (int f = 0; f < 100; f += 7)
            CHECK(read_file(s.mnt + "/" + name_of(d, f)) == s.mnt + "/" + name_of(d, f));
    }
    // The files are in the upper dir, whole, once unmounted.
    REQUIRE(run({"umount", s.mnt}).status == 0);
    CHECK(list_dir(s.upper + "/d14").size() == 100);
    CHECK(read_file(s.upper + "/" + name_of(3, 42)) == s.mnt + "/" + name_of(3, 42));
}
