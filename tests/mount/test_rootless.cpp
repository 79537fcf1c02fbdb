// Run as an ordinary user (tests/run_rootless.sh): mounting through fusermount3,
// `.wh.` whiteouts and user.* opaque xattrs, ownership kept in override_stat.
#include <sys/sysmacros.h>
#include <sys/xattr.h>

#include "tests/mount/mount_helpers.hpp"

using namespace layerfs::test;

namespace {

std::string override_stat(const std::string& path) {
    char buf[128];
    ssize_t n = ::lgetxattr(path.c_str(), "user.containers.override_stat", buf, sizeof buf);
    return n < 0 ? std::string() : std::string(buf, size_t(n));
}

}  // namespace

TEST_CASE("an unprivileged user mounts, writes and deletes", "[rootless]") {
    REQUIRE(::geteuid() != 0);
    Stack s(2);
    write_file(s.lower(1) + "/etc/passwd", "root\n");
    write_file(s.lower(1) + "/dir/a", "a");
    write_file(s.lower(0) + "/dir/b", "b");
    whiteout_file(s.lower(0) + "/etc/gone");
    Mount m(Backend::Layerfs, s.lowers, s.upper, s.work, s.mnt);
    REQUIRE_MOUNTED(m);

    append(m / "etc/passwd", "user\n");
    CHECK(read_file(m / "etc/passwd") == "root\nuser\n");
    CHECK(read_file(s.lower(1) + "/etc/passwd") == "root\n");
    REQUIRE(::unlink((m / "dir/a").c_str()) == 0);
    CHECK_FALSE(exists(m / "dir/a"));
    // No mknod without privilege: the whiteout is an OCI ".wh." file.
    CHECK(exists(s.upper + "/dir/.wh.a"));
    CHECK_FALSE(exists(m / "dir/.wh.a"));
    REQUIRE(::unlink((m / "dir/b").c_str()) == 0);
    REQUIRE(::rmdir((m / "dir").c_str()) == 0);
    REQUIRE(::mkdir((m / "dir").c_str(), 0755) == 0);
    CHECK(logical_upper(s.upper)["/dir"].find("opaque") != std::string::npos);
    CHECK(read_file(m / "etc/passwd") == "root\nuser\n");
    REQUIRE(::rename((m / "etc").c_str(), (m / "etc2").c_str()) == 0);
    CHECK(read_file(m / "etc2/passwd") == "root\nuser\n");
    CHECK(logical_upper(s.upper)["/etc"] == "whiteout");
    m.unmount();

    // The same upper mounted again gives the same view.
    Mount again(Backend::Layerfs, s.lowers, s.upper, s.work, s.mnt);
    REQUIRE_MOUNTED(again);
    CHECK_FALSE(exists(again / "etc"));
    CHECK(read_file(again / "etc2/passwd") == "root\nuser\n");
    CHECK_FALSE(exists(again / "dir/a"));
}

TEST_CASE("xattr_permissions=2 shows and records owner, mode and device type", "[rootless]") {
    REQUIRE(::geteuid() != 0);
    Stack s(1);
    write_file(s.lower(0) + "/bin/su", "su", 0644);
    set_xattr(s.lower(0) + "/bin/su", "user.containers.override_stat", "0:0:04755");
    write_file(s.lower(0) + "/dev/null", "");
    set_xattr(s.lower(0) + "/dev/null", "user.containers.override_stat", "0:0:0666:char-1-3");
    Mount m(Backend::Layerfs, s.lowers, s.upper, s.work, s.mnt, "xattr_permissions=2");
    REQUIRE_MOUNTED(m);

    struct stat su = lstat_of(m / "bin/su");
    CHECK(su.st_uid == 0);
    CHECK(su.st_gid == 0);
    CHECK((su.st_mode & 07777) == 04755);
    struct stat null = lstat_of(m / "dev/null");
    CHECK(S_ISCHR(null.st_mode));
    CHECK(null.st_rdev == makedev(1, 3));
    char buf[64];
    CHECK(::getxattr((m / "bin/su").c_str(), "user.containers.override_stat", buf, sizeof buf) < 0);

    // What the caller may do is recorded, not applied to the backing file; what
    // it may not (give a file away) the kernel refuses, as on any file system.
    // Root callers' chown is covered by test_compat's rootless-daemon test.
    const std::string me = std::to_string(::geteuid()) + ":" + std::to_string(::getegid());
    write_file(m / "owned", "o");
    REQUIRE(::chmod((m / "owned").c_str(), 0700) == 0);
    CHECK((lstat_of(m / "owned").st_mode & 07777) == 0700);
    CHECK(override_stat(s.upper + "/owned") == me + ":0700");
    CHECK((lstat_of(s.upper + "/owned").st_mode & 0600) == 0600);  // still the daemon's to use
    CHECK(err_of(::chown((m / "owned").c_str(), 123, 456)) == EPERM);

    // The kernel refuses device mknod to unprivileged callers before asking us;
    // a new directory's owner is recorded like a file's.
    REQUIRE(::mkdir((m / "newdir").c_str(), 0750) == 0);
    CHECK(override_stat(s.upper + "/newdir") == me + ":0750");
    // fifos cannot carry user.* xattrs: they are made, with the daemon's owner.
    REQUIRE(::mkfifo((m / "fifo").c_str(), 0640) == 0);
    CHECK(S_ISFIFO(lstat_of(m / "fifo").st_mode));
    // ...and their mode changes in the inode instead.
    REQUIRE(::chmod((m / "fifo").c_str(), 0600) == 0);
    CHECK((lstat_of(m / "fifo").st_mode & 07777) == 0600);
    CHECK((lstat_of(s.upper + "/fifo").st_mode & 07777) == 0600);

    // A new name for a file leaves its owner and mode alone.
    REQUIRE(::link((m / "owned").c_str(), (m / "owned2").c_str()) == 0);
    CHECK(lstat_of(m / "owned2").st_uid == ::geteuid());
    CHECK((lstat_of(m / "owned2").st_mode & 07777) == 0700);
    CHECK(override_stat(s.upper + "/owned") == me + ":0700");

    CHECK(err_of(::chmod((m / "bin/su").c_str(), 0755)) == EPERM);  // root's, per override
}

TEST_CASE("a read-only rootless mount of several layers", "[rootless]") {
    REQUIRE(::geteuid() != 0);
    Stack s(3);
    write_file(s.lower(2) + "/f", "bottom");
    write_file(s.lower(1) + "/f", "middle");
    whiteout_file(s.lower(0) + "/f");
    write_file(s.lower(0) + "/g", "top");
    Mount m(Backend::Layerfs, s.lowers, "", "", s.mnt);
    REQUIRE_MOUNTED(m);
    CHECK_FALSE(exists(m / "f"));
    CHECK(read_file(m / "g") == "top");
    CHECK(open_errno(m / "g", O_WRONLY) == EROFS);
}

// Moving a directory to another parent needs write permission on it, which a
// daemon mounted through fusermount3 does not have over a 0555 directory. ext4
// and kernel overlayfs let its owner remove it when it is empty.
TEST_CASE("an ordinary user removes empty read-only directories, as on ext4", "[rootless]") {
    REQUIRE(::geteuid() != 0);
    Stack s(1);
    make_dir(s.lower(0) + "/mod/empty", 0555);
    write_file(s.lower(0) + "/mod/full/f", "f", 0444);
    make_dir(s.lower(0) + "/mod/sub", 0755);
    Mount m(Backend::Layerfs, s.lowers, s.upper, s.work, s.mnt);
    REQUIRE_MOUNTED(m);
    // A lower directory, a directory emptied through the mount (its upper copy
    // holds a whiteout) then made read-only, and one made through the mount.
    CHECK(err_of(::rmdir((m / "mod/empty").c_str())) == 0);
    REQUIRE(::unlink((m / "mod/full/f").c_str()) == 0);
    REQUIRE(::chmod((m / "mod/full").c_str(), 0555) == 0);
    CHECK(err_of(::rmdir((m / "mod/full").c_str())) == 0);
    REQUIRE(::mkdir((m / "mod/made").c_str(), 0555) == 0);
    CHECK(err_of(::rmdir((m / "mod/made").c_str())) == 0);
    REQUIRE(::chmod((m / "mod/sub").c_str(), 0555) == 0);
    CHECK(run({"rm", "-rf", m / "mod"}).status == 0);
    CHECK_FALSE(exists(m / "mod"));
    // Nothing left behind in the work dir.
    CHECK(list_dir(s.work + "/work").empty());
    // The same on ext4 (the temp dir's file system), the reference.
    make_dir(s.tmp / "plain/empty", 0555);
    CHECK(err_of(::rmdir((s.tmp / "plain/empty").c_str())) == 0);
}

// ".wh." + a NAME_MAX-long name is too long for a whiteout file: the daemon
// makes a 0/0 device instead, which Linux lets an ordinary user make, as
// rootless kernel overlayfs does.
TEST_CASE("an ordinary user deletes and renames lower files with 255-byte names", "[rootless]") {
    REQUIRE(::geteuid() != 0);
    Stack s(1);
    const std::string longest(255, 'n'), other(255, 'o');
    write_file(s.lower(0) + "/d/" + longest, "x");
    write_file(s.lower(0) + "/d/" + other, "y");
    make_dir(s.lower(0) + "/" + longest + "/sub");
    {
        Mount m(Backend::Layerfs, s.lowers, s.upper, s.work, s.mnt);
        REQUIRE_MOUNTED(m);
        CHECK(err_of(::unlink((m / "d/" + longest).c_str())) == 0);
        CHECK_FALSE(exists(m / "d/" + longest));
        CHECK(err_of(::rename((m / "d/" + other).c_str(), (m / "d/moved").c_str())) == 0);
        CHECK(read_file(m / "d/moved") == "y");
        CHECK(run({"rm", "-rf", m / longest}).status == 0);
        CHECK(list_dir(m / "d") == std::vector<std::string>{"moved"});
        CHECK(list_dir(s.work + "/work").empty());
    }
    Mount again(Backend::Layerfs, s.lowers, s.upper, s.work, s.mnt);
    REQUIRE_MOUNTED(again);
    CHECK(list_dir(again / "d") == std::vector<std::string>{"moved"});
    CHECK_FALSE(exists(again / longest));
}
