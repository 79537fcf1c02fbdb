// The mount command line: options, errors, daemon lifecycle.
#include <signal.h>
#include <sys/wait.h>
#include <sys/xattr.h>

#include <chrono>
#include <thread>

#include "tests/mount/mount_helpers.hpp"

using namespace layerfs::test;

namespace {

std::string opts(const Stack& s, const std::string& extra = "") {
    std::string o = "lowerdir=" + s.lower(0) + ",upperdir=" + s.upper + ",workdir=" + s.work;
    return extra.empty() ? o : o + "," + extra;
}

bool wait_unmounted(const std::string& mnt) {
    for (int i = 0; i < 100; ++i) {
        if (!is_mounted(mnt)) return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return false;
}

struct Unmount {
    std::string mnt;
    ~Unmount() {
        if (is_mounted(mnt)) run({"umount", "-l", mnt});
    }
};

}  // namespace

TEST_CASE("bad options: a clear error naming the option, exit 2, nothing mounted") {
    Stack s(1);
    Unmount guard{s.mnt};
    struct Case {
        std::string extra, message;
    } cases[] = {
        {"bogus", "unknown option 'bogus'"},
        {"squash_to_uid=abc", "squash_to_uid"},
        {"xattr_permissions=3", "xattr_permissions"},
        {"uidmapping=0:1000", "uidmapping"},
        {"uidmapping=0:0:10:5:100:1", "not to overlap"},
        {"gidmapping=0:4294967295:2", "below 2^32"},
        {"timeout=-1", "timeout"},
        {"ro=1", "'ro' takes no value"},
        {"fsync=maybe", "fsync"},
        {"redirect_dir=sideways", "redirect_dir"},
    };
    for (auto& c : cases) {
        auto r = run({layerfs_bin(), "mount", "-o", opts(s, c.extra), s.mnt});
        INFO(c.extra << ": " << r.output);
        CHECK(r.status == 2);
        CHECK(r.output.find(c.message) != std::string::npos);
        CHECK_FALSE(is_mounted(s.mnt));
    }
    auto r =
        run({layerfs_bin(), "mount", "-o", "upperdir=" + s.upper + ",workdir=" + s.work, s.mnt});
    CHECK(r.status == 2);
    CHECK(r.output.find("lowerdir") != std::string::npos);
    r = run(
        {layerfs_bin(), "mount", "-o", "lowerdir=" + s.lower(0) + ",upperdir=" + s.upper, s.mnt});
    CHECK(r.status == 2);
    CHECK(r.output.find("workdir") != std::string::npos);
    r = run({layerfs_bin(), "mount", "-o", opts(s)});
    CHECK(r.status == 2);
    CHECK(r.output.find("mount point") != std::string::npos);
}

TEST_CASE("bad layer paths: an error naming the path, exit 2, nothing mounted") {
    Stack s(1);
    Unmount guard{s.mnt};
    auto r = run({layerfs_bin(), "mount", "-o", "lowerdir=" + s.tmp / "missing", s.mnt});
    CHECK(r.status == 2);
    CHECK(r.output.find("missing") != std::string::npos);
    CHECK(r.output.find("No such file") != std::string::npos);

    const std::string nested = s.lower(0) + "/upper";
    make_dir(nested);
    r = run({layerfs_bin(), "mount", "-o",
             "lowerdir=" + s.lower(0) + ",upperdir=" + nested + ",workdir=" + s.work, s.mnt});
    CHECK(r.status == 2);
    CHECK(r.output.find("must not contain") != std::string::npos);

    TempDir other;
    REQUIRE(run({"mount", "-t", "tmpfs", "tmpfs", other.path()}).status == 0);
    r = run({layerfs_bin(), "mount", "-o",
             "lowerdir=" + s.lower(0) + ",upperdir=" + s.upper + ",workdir=" + other.path(),
             s.mnt});
    run({"umount", other.path()});
    CHECK(r.status == 2);
    CHECK(r.output.find("same file system") != std::string::npos);
    CHECK_FALSE(is_mounted(s.mnt));
}

TEST_CASE(
    "the fuse-overlayfs command line: layerfs-mount SOURCE MNT -o ..., repeated -o, escapes") {
    Stack s(1);
    const std::string odd = s.tmp / "a:b,c";
    write_file(odd + "/f", "odd");
    const std::string helper = layerfs_bin() + "-mount";
    auto r =
        run({helper, "overlay", s.mnt, "-o", "rw,dev,suid", "-o",
             "lowerdir=" + s.tmp / "a\\:b\\,c" + ",,upperdir=" + s.upper, "-o",
             "workdir=" + s.work + ",context=\"system_u:object_r:container_file_t:s0:c1,c2\""});
    Unmount guard{s.mnt};
    INFO(r.output);
    REQUIRE(r.status == 0);
    REQUIRE(is_mounted(s.mnt));  // live as soon as the command returns
    CHECK(read_file(s.mnt + "/f") == "odd");
    run({"umount", s.mnt});
}

TEST_CASE("SIGTERM unmounts cleanly and -f stays in the foreground") {
    Stack s(1);
    Unmount guard{s.mnt};
    pid_t pid = ::fork();
    if (pid == 0) {
        std::string bin = layerfs_bin();
        ::execl(bin.c_str(), bin.c_str(), "mount", "-f", "-o", opts(s).c_str(), s.mnt.c_str(),
                nullptr);
        ::_exit(127);
    }
    bool up = false;
    for (int i = 0; i < 100 && !up; ++i) {
        up = is_mounted(s.mnt);
        if (!up) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    REQUIRE(up);
    int st = 0;
    CHECK(::waitpid(pid, &st, WNOHANG) == 0);  // still running: foreground
    ::kill(pid, SIGTERM);
    ::waitpid(pid, &st, 0);
    CHECK(WIFEXITED(st));
    CHECK(WEXITSTATUS(st) == 0);
    CHECK(wait_unmounted(s.mnt));
}

TEST_CASE("a foreground daemon exits 0 when unmounted with fusermount3 -u") {
    Stack s(1);
    Unmount guard{s.mnt};
    pid_t pid = ::fork();
    if (pid == 0) {
        std::string bin = layerfs_bin();
        ::execl(bin.c_str(), bin.c_str(), "mount", "-f", "-o", opts(s).c_str(), s.mnt.c_str(),
                nullptr);
        ::_exit(127);
    }
    bool up = false;
    for (int i = 0; i < 100 && !up; ++i) {
        up = is_mounted(s.mnt);
        if (!up) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    REQUIRE(up);
    CHECK(run({"fusermount3", "-u", s.mnt}).status == 0);
    int st = 0;
    ::waitpid(pid, &st, 0);
    CHECK(WIFEXITED(st));
    CHECK(WEXITSTATUS(st) == 0);
}

TEST_CASE("volatile leaves a marker and a later mount after a crash warns") {
    Stack s(1);
    Unmount guard{s.mnt};
    {
        Mount m(Backend::Layerfs, s.lowers, s.upper, s.work, s.mnt, "volatile");
        REQUIRE_MOUNTED(m);
        write_file(m / "f", "v");
        CHECK(exists(s.work + "/layerfs-volatile"));
    }
    CHECK(wait_unmounted(s.mnt));
    // A clean unmount removes the marker.
    bool gone = false;
    for (int i = 0; i < 100 && !gone; ++i) {
        gone = !exists(s.work + "/layerfs-volatile");
        if (!gone) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    CHECK(gone);
    // A crashed one leaves it, and the next mount says so.
    write_file(s.work + "/layerfs-volatile", "");
    auto r = run({layerfs_bin(), "mount", "-o", opts(s, "fsync=0"), s.mnt});
    CHECK(r.status == 0);
    CHECK(r.output.find("did not end cleanly") != std::string::npos);
    run({"umount", s.mnt});
}

TEST_CASE("mount options reach the kernel: ro, nodev, nosuid, noatime") {
    Stack s(1);
    write_file(s.lower(0) + "/f", "f");
    Mount m(Backend::Layerfs, s.lowers, s.upper, s.work, s.mnt, "ro,nodev,nosuid,noatime");
    REQUIRE_MOUNTED(m);
    auto mounts = read_file("/proc/self/mounts");
    auto line = mounts.substr(mounts.find(s.mnt));
    line = line.substr(0, line.find('\n'));
    INFO(line);
    CHECK(line.find("ro,") != std::string::npos);
    CHECK(line.find("nosuid") != std::string::npos);
    CHECK(line.find("nodev") != std::string::npos);
    CHECK(line.find("noatime") != std::string::npos);
    CHECK(open_errno(m / "f", O_WRONLY) == EROFS);
}

TEST_CASE("squash_to_root, squash_to_uid/gid and uidmapping change what stat shows") {
    Stack s(1);
    write_file(s.lower(0) + "/f", "f");
    REQUIRE(::lchown((s.lower(0) + "/f").c_str(), 1000, 1000) == 0);
    {
        Mount m(Backend::Layerfs, s.lowers, s.upper, s.work, s.mnt, "squash_to_root");
        REQUIRE_MOUNTED(m);
        CHECK(lstat_of(m / "f").st_uid == 0);
    }
    {
        Mount m(Backend::Layerfs, s.lowers, s.upper, s.work, s.mnt,
                "squash_to_uid=7,squash_to_gid=8");
        REQUIRE_MOUNTED(m);
        CHECK(lstat_of(m / "f").st_uid == 7);
        CHECK(lstat_of(m / "f").st_gid == 8);
    }
    {
        // fuse-overlayfs's direction (test_drop_in.cpp compares the two): a
        // file stored as 1000 shows as 0.
        Mount m(Backend::Layerfs, s.lowers, s.upper, s.work, s.mnt,
                "uidmapping=1000:0:1:100000:1:65536,gidmapping=1000:0:1:100000:1:65536");
        REQUIRE_MOUNTED(m);
        CHECK(lstat_of(m / "f").st_uid == 0);
        write_file(m / "new", "n");
        REQUIRE(::chown((m / "new").c_str(), 5, 5) == 0);
        CHECK(lstat_of(s.upper + "/new").st_uid == 100004);
        CHECK(lstat_of(m / "new").st_uid == 5);
    }
}

TEST_CASE("noxattrs turns xattrs off") {
    Stack s(1);
    write_file(s.lower(0) + "/f", "f");
    set_xattr(s.lower(0) + "/f", "user.k", "v");
    Mount m(Backend::Layerfs, s.lowers, s.upper, s.work, s.mnt, "noxattrs");
    REQUIRE_MOUNTED(m);
    char buf[16];
    CHECK(::getxattr((m / "f").c_str(), "user.k", buf, sizeof buf) < 0);
}

TEST_CASE("threaded=0, timeout=0 and the accepted compatibility options mount and work") {
    for (std::string extra : {"threaded=0", "timeout=0", "timeout=0.5,threaded=1",
                              "redirect_dir=on,context=\"system_u:object_r:c:s0:c1,c2\""}) {
        INFO(extra);
        Stack s(1);
        write_file(s.lower(0) + "/f", "f");
        Mount m(Backend::Layerfs, s.lowers, s.upper, s.work, s.mnt, extra);
        REQUIRE_MOUNTED(m);
        append(m / "f", "+");
        CHECK(read_file(m / "f") == "f+");
        REQUIRE(::unlink((m / "f").c_str()) == 0);
        CHECK_FALSE(exists(m / "f"));
    }
}

TEST_CASE("xattr_permissions=1 shows owner and mode from override_stat") {
    Stack s(1);
    write_file(s.lower(0) + "/f", "f", 0644);
    set_xattr(s.lower(0) + "/f", "user.containers.override_stat", "5:6:0700");
    Mount m(Backend::Layerfs, s.lowers, s.upper, s.work, s.mnt, "xattr_permissions=1");
    REQUIRE_MOUNTED(m);
    struct stat st = lstat_of(m / "f");
    CHECK(st.st_uid == 5);
    CHECK(st.st_gid == 6);
    CHECK((st.st_mode & 07777) == 0700);
}
