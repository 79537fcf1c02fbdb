// Compatibility: upper dirs shared with kernel overlayfs, mount(8) and mount.fuse3,
// permissions for other users, and what a crashed daemon leaves in the work dir.
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cstdlib>

#include "tests/mount/mount_helpers.hpp"

using namespace layerfs::test;

namespace {

void base_layers(const Stack& s) {
    write_file(s.lower(1) + "/etc/passwd", "root\n");
    write_file(s.lower(1) + "/etc/group", "root\n");
    write_file(s.lower(1) + "/usr/lib/a", "a");
    write_file(s.lower(1) + "/usr/lib/b", "b");
    write_file(s.lower(0) + "/usr/lib/c", "c");
    write_file(s.lower(1) + "/srv/www/index.html", "<p>");
}

// Changes every kind of upper entry: copy-up, new file, whiteout, opaque dir.
void change(const std::string& m) {
    append(m + "/etc/passwd", "app\n");
    write_file(m + "/etc/new", "n");
    REQUIRE(::unlink((m + "/etc/group").c_str()) == 0);
    REQUIRE(::unlink((m + "/usr/lib/a").c_str()) == 0);
    REQUIRE(::unlink((m + "/srv/www/index.html").c_str()) == 0);
    REQUIRE(::rmdir((m + "/srv/www").c_str()) == 0);
    REQUIRE(::mkdir((m + "/srv/www").c_str(), 0755) == 0);
    write_file(m + "/srv/www/other.html", "o");
    REQUIRE(::symlink("passwd", (m + "/etc/pw").c_str()) == 0);
}

// Exit status of a shell command run as the ordinary test user.
int as_user(const std::string& cmd) {
    return run({"runuser", "-u", "layerfs-test", "--", "sh", "-c", cmd}).status;
}

}  // namespace

// One back end writes an upper dir, another mounts it: both must show one tree.
static void round_trip(Backend writer, Backend reader) {
    INFO(backend_name(writer) << " -> " << backend_name(reader));
    Stack s(2);
    base_layers(s);
    std::map<std::string, std::string> seen;
    {
        Mount w(writer, s.lowers, s.upper, s.work, s.mnt);
        REQUIRE_MOUNTED(w);
        change(w.path());
        seen = snapshot(w.path());
    }
    TempDir work;  // each back end keeps its own work dir
    Mount r(reader, s.lowers, s.upper, work.path(), s.mnt);
    REQUIRE_MOUNTED(r);
    CHECK(tree_diff(seen, snapshot(r.path())) == "");
}

TEST_CASE("an upper dir written by layerfs mounts on kernel overlayfs with the same view") {
    round_trip(Backend::Layerfs, Backend::Kernel);
}

TEST_CASE("upper dirs written by kernel overlayfs and fuse-overlayfs mount on layerfs") {
    round_trip(Backend::Kernel, Backend::Layerfs);
    round_trip(Backend::FuseOverlayfs, Backend::Layerfs);
}

TEST_CASE("mount.fuse3 and mount -t fuse.layerfs-mount start the daemon") {
    Stack s(1);
    write_file(s.lower(0) + "/f", "via helper");
    const std::string opts =
        "lowerdir=" + s.lower(0) + ",upperdir=" + s.upper + ",workdir=" + s.work;
    std::string bindir = layerfs_bin().substr(0, layerfs_bin().rfind('/'));
    auto r = run({"env", "PATH=" + bindir + ":" + std::getenv("PATH"), "mount.fuse3", "overlay",
                  s.mnt, "-t", "fuse.layerfs-mount", "-o", opts});
    INFO(r.output);
    CHECK(r.status == 0);
    CHECK(is_mounted(s.mnt));
    CHECK(read_file(s.mnt + "/f") == "via helper");
    run({"umount", s.mnt});
    // mount(8) runs helpers with a fixed PATH: this part needs `scripts/setup.sh`'s install.
    if (::access("/usr/local/bin/layerfs-mount", X_OK) == 0) {
        r = run({"mount", "-t", "fuse.layerfs-mount", "overlay", s.mnt, "-o", opts});
        INFO(r.output);
        CHECK(r.status == 0);
        CHECK(read_file(s.mnt + "/f") == "via helper");
        run({"umount", s.mnt});
    } else {
        WARN("layerfs-mount is not installed in /usr/local/bin: mount(8) not tried");
    }
}

TEST_CASE("allow_other with default_permissions: other users get exactly their rights") {
    if (run({"id", "layerfs-test"}).status != 0) {
        WARN("no user layerfs-test (scripts/test.sh creates it): skipped");
        return;
    }
    Stack s(1);
    ::chmod(s.tmp.path().c_str(), 0755);
    write_file(s.lower(0) + "/public", "p", 0644);
    write_file(s.lower(0) + "/secret", "s", 0600);
    Mount m(Backend::Layerfs, s.lowers, s.upper, s.work, s.mnt, "allow_other,default_permissions");
    REQUIRE_MOUNTED(m);
    CHECK(as_user("cat " + m / "public") == 0);
    CHECK(as_user("cat " + m / "secret") != 0);
    CHECK(as_user("echo x >> " + m / "public") != 0);
    CHECK(as_user("touch " + m / "new") != 0);
    CHECK(read_file(m / "public") == "p");
}

TEST_CASE("temps a killed daemon left in the work dir are removed at the next mount") {
    Stack s(1);
    write_file(s.lower(0) + "/f", "f");
    write_file(s.work + "/work/lfs-999-1", "half a copy-up");
    Mount m(Backend::Layerfs, s.lowers, s.upper, s.work, s.mnt);
    REQUIRE_MOUNTED(m);
    CHECK_FALSE(exists(s.work + "/work/lfs-999-1"));
    CHECK(read_file(m / "f") == "f");
}

TEST_CASE("a rootless daemon keeps the devices root makes in override_stat") {
    if (run({"id", "layerfs-test"}).status != 0 ||
        read_file("/etc/fuse.conf").find("\nuser_allow_other") == std::string::npos) {
        WARN("needs user layerfs-test and user_allow_other (scripts/test.sh sets both): skipped");
        return;
    }
    Stack s(1);
    write_file(s.lower(0) + "/f", "f");
    REQUIRE(run({"chown", "-R", "layerfs-test", s.tmp.path()}).status == 0);
    const std::string opts = "lowerdir=" + s.lower(0) + ",upperdir=" + s.upper +
                             ",workdir=" + s.work + ",allow_other,xattr_permissions=2";
    auto r =
        run({"runuser", "-u", "layerfs-test", "--", layerfs_bin(), "mount", "-o", opts, s.mnt});
    struct Unmount {
        std::string mnt;
        ~Unmount() { run({"umount", "-l", mnt}); }
    } guard{s.mnt};
    INFO(r.output);
    REQUIRE(r.status == 0);
    REQUIRE(::mknod((s.mnt + "/null").c_str(), S_IFCHR | 0666, makedev(1, 3)) == 0);
    struct stat st = lstat_of(s.mnt + "/null");
    CHECK(S_ISCHR(st.st_mode));
    CHECK(st.st_rdev == makedev(1, 3));
    CHECK(st.st_uid == 0);
    CHECK(S_ISREG(lstat_of(s.upper + "/null").st_mode));
    REQUIRE(::chown((s.mnt + "/f").c_str(), 42, 43) == 0);
    CHECK(lstat_of(s.mnt + "/f").st_uid == 42);
    CHECK(lstat_of(s.upper + "/f").st_uid != 42);  // the real owner stays the daemon's user
}

TEST_CASE("allow_other alone still checks permissions for other users") {
    if (run({"id", "layerfs-test"}).status != 0) {
        WARN("no user layerfs-test (scripts/test.sh creates it): skipped");
        return;
    }
    Stack s(1);
    ::chmod(s.tmp.path().c_str(), 0755);
    write_file(s.lower(0) + "/secret", "s", 0600);
    Mount m(Backend::Layerfs, s.lowers, s.upper, s.work, s.mnt, "allow_other");
    REQUIRE_MOUNTED(m);
    CHECK(as_user("cat " + m / "secret") != 0);
    CHECK(as_user("echo x > " + m / "secret") != 0);
    CHECK(read_file(m / "secret") == "s");
}
