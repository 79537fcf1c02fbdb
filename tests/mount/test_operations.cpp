// The file system calls a container makes, on a real mount.
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>

#include "tests/mount/mount_helpers.hpp"

using namespace layerfs::test;

namespace {

int rename2(const std::string& a, const std::string& b, unsigned flags) {
    return int(::syscall(SYS_renameat2, AT_FDCWD, a.c_str(), AT_FDCWD, b.c_str(), flags));
}

struct Mounted {
    Stack s{2};
    std::unique_ptr<Mount> m;
    explicit Mounted(std::string opts = "") {
        write_file(s.lower(1) + "/file", "bottom");
        write_file(s.lower(1) + "/dir/child", "c");
        write_file(s.lower(1) + "/dir/sub/deep", "d");
        write_file(s.lower(0) + "/dir/top", "t");
        write_file(s.lower(0) + "/other", "o");
        m = std::make_unique<Mount>(Backend::Layerfs, s.lowers, s.upper, s.work, s.mnt, opts);
    }
    std::string operator/(std::string_view rel) const { return *m / rel; }
};

}  // namespace

TEST_CASE("create and open: O_EXCL, O_APPEND, O_TMPFILE") {
    Mounted t;
    REQUIRE_MOUNTED(*t.m);
    CHECK(open_errno(t / "new", O_CREAT | O_EXCL | O_WRONLY) == 0);
    CHECK(open_errno(t / "new", O_CREAT | O_EXCL | O_WRONLY) == EEXIST);
    CHECK(open_errno(t / "file", O_CREAT | O_EXCL | O_WRONLY) == EEXIST);
    append(t / "file", "+a");
    append(t / "file", "+b");
    CHECK(read_file(t / "file") == "bottom+a+b");

    // O_TMPFILE: unnamed, nlink 0, and linkat() can name it later.
    int fd = ::open((t / "dir").c_str(), O_TMPFILE | O_RDWR, 0600);
    REQUIRE(fd >= 0);
    CHECK(::write(fd, "tmp", 3) == 3);
    struct stat st;
    REQUIRE(::fstat(fd, &st) == 0);
    CHECK(st.st_nlink == 0);
    CHECK(S_ISREG(st.st_mode));
    const std::string proc = "/proc/self/fd/" + std::to_string(fd);
    REQUIRE(::linkat(AT_FDCWD, proc.c_str(), AT_FDCWD, (t / "dir/named").c_str(),
                     AT_SYMLINK_FOLLOW) == 0);
    ::close(fd);
    CHECK(read_file(t / "dir/named") == "tmp");
    CHECK(lstat_of(t / "dir/named").st_nlink == 1);
    CHECK(read_file(t.s.upper + "/dir/named") == "tmp");
    CHECK((lstat_of(t / "new").st_mode & 0777) == (0644 & ~0022));
}

TEST_CASE("mknod, fifo, socket, symlink, readlink, link") {
    Mounted t;
    REQUIRE_MOUNTED(*t.m);
    REQUIRE(::mkfifo((t / "fifo").c_str(), 0600) == 0);
    CHECK(S_ISFIFO(lstat_of(t / "fifo").st_mode));
    REQUIRE(::mknod((t / "sock").c_str(), S_IFSOCK | 0600, 0) == 0);
    CHECK(S_ISSOCK(lstat_of(t / "sock").st_mode));
    REQUIRE(::mknod((t / "null").c_str(), S_IFCHR | 0666, makedev(1, 3)) == 0);
    CHECK(lstat_of(t / "null").st_rdev == makedev(1, 3));
    REQUIRE(::symlink("dir/top", (t / "lnk").c_str()) == 0);
    char buf[64];
    ssize_t n = ::readlink((t / "lnk").c_str(), buf, sizeof buf);
    CHECK(std::string(buf, size_t(n)) == "dir/top");
    CHECK(read_file(t / "lnk") == "t");
    REQUIRE(::link((t / "other").c_str(), (t / "dir/other-link").c_str()) == 0);
    CHECK(lstat_of(t / "other").st_nlink == 2);
    CHECK(err_of(::link((t / "dir").c_str(), (t / "dirlink").c_str())) == EPERM);
    CHECK(err_of(::symlink("x", (t / "other").c_str())) == EEXIST);
}

TEST_CASE("unlink and rmdir write whiteouts only where a lower name must disappear") {
    Mounted t;
    REQUIRE_MOUNTED(*t.m);
    write_file(t / "fresh", "f");
    REQUIRE(::unlink((t / "fresh").c_str()) == 0);
    CHECK_FALSE(exists(t.s.upper + "/fresh"));  // no lower below: no whiteout needed
    REQUIRE(::unlink((t / "file").c_str()) == 0);
    CHECK_FALSE(exists(t / "file"));
    CHECK(logical_upper(t.s.upper)["/file"] == "whiteout");
    CHECK(err_of(::unlink((t / "file").c_str())) == ENOENT);
    CHECK(err_of(::unlink((t / "dir").c_str())) == EISDIR);
    CHECK(err_of(::rmdir((t / "dir").c_str())) == ENOTEMPTY);
    CHECK(err_of(::rmdir((t / "other").c_str())) == ENOTDIR);
    for (auto n : {"dir/child", "dir/top", "dir/sub/deep"})
        REQUIRE(::unlink((t / n).c_str()) == 0);
    REQUIRE(::rmdir((t / "dir/sub").c_str()) == 0);
    REQUIRE(::rmdir((t / "dir").c_str()) == 0);
    CHECK_FALSE(exists(t / "dir"));
    CHECK(logical_upper(t.s.upper)["/dir"] == "whiteout");

    // Recreating a deleted lower directory gives an empty, opaque one.
    REQUIRE(::mkdir((t / "dir").c_str(), 0755) == 0);
    CHECK_FALSE(exists(t / "dir/child"));
    CHECK(logical_upper(t.s.upper)["/dir"].find("opaque") != std::string::npos);
    // And a file over a whiteout simply replaces it.
    write_file(t / "file", "again");
    CHECK(read_file(t / "file") == "again");
}

TEST_CASE("rename: files, lower directories, NOREPLACE, EXCHANGE, over whiteouts") {
    Mounted t;
    REQUIRE_MOUNTED(*t.m);
    REQUIRE(::rename((t / "file").c_str(), (t / "moved").c_str()) == 0);
    CHECK(read_file(t / "moved") == "bottom");
    CHECK_FALSE(exists(t / "file"));

    // A directory that lives in two lower layers moves whole: no EXDEV.
    REQUIRE(::rename((t / "dir").c_str(), (t / "dir2").c_str()) == 0);
    CHECK_FALSE(exists(t / "dir"));
    CHECK(read_file(t / "dir2/child") == "c");
    CHECK(read_file(t / "dir2/top") == "t");
    CHECK(read_file(t / "dir2/sub/deep") == "d");

    write_file(t / "x", "x");
    write_file(t / "y", "y");
    CHECK(err_of(rename2(t / "x", t / "y", RENAME_NOREPLACE)) == EEXIST);
    REQUIRE(rename2(t / "x", t / "y", RENAME_EXCHANGE) == 0);
    CHECK(read_file(t / "x") == "y");
    CHECK(read_file(t / "y") == "x");
    REQUIRE(rename2(t / "other", t / "x", RENAME_EXCHANGE) == 0);
    CHECK(read_file(t / "x") == "o");
    CHECK(read_file(t / "other") == "y");

    // Onto a name that was deleted (a whiteout in the upper layer).
    REQUIRE(::rename((t / "y").c_str(), (t / "file").c_str()) == 0);
    CHECK(read_file(t / "file") == "x");
    // A directory onto a deleted lower directory's name hides the old contents.
    REQUIRE(::mkdir((t / "newdir").c_str(), 0755) == 0);
    REQUIRE(::rename((t / "newdir").c_str(), (t / "dir").c_str()) == 0);
    CHECK_FALSE(exists(t / "dir/child"));
    CHECK(err_of(::rename((t / "dir2").c_str(), (t / "moved").c_str())) == ENOTDIR);
    CHECK(err_of(::rename((t / "moved").c_str(), (t / "dir2").c_str())) == EISDIR);
    write_file(t / "dir/full", "f");
    CHECK(err_of(::rename((t / "dir2").c_str(), (t / "dir").c_str())) == ENOTEMPTY);
}

TEST_CASE("setattr: chmod, chown, truncate, utimes") {
    Mounted t;
    REQUIRE_MOUNTED(*t.m);
    REQUIRE(::chmod((t / "file").c_str(), 04751) == 0);
    CHECK((lstat_of(t / "file").st_mode & 07777) == 04751);
    REQUIRE(::lchown((t / "file").c_str(), 100, 200) == 0);
    CHECK(lstat_of(t / "file").st_uid == 100);
    CHECK(lstat_of(t / "file").st_gid == 200);
    REQUIRE(::truncate((t / "file").c_str(), 10) == 0);
    CHECK(lstat_of(t / "file").st_size == 10);
    struct timespec ts[2] = {{111, 5}, {222, 7}};
    REQUIRE(::utimensat(AT_FDCWD, (t / "file").c_str(), ts, 0) == 0);
    CHECK(lstat_of(t / "file").st_mtim.tv_sec == 222);
    CHECK(lstat_of(t / "file").st_atim.tv_sec == 111);
    REQUIRE(::symlink("target", (t / "sl").c_str()) == 0);
    REQUIRE(::lchown((t / "sl").c_str(), 7, 8) == 0);
    CHECK(lstat_of(t / "sl").st_uid == 7);
}

TEST_CASE("xattrs: user xattrs work, overlay-private ones are hidden and refused") {
    Mounted t;
    REQUIRE_MOUNTED(*t.m);
    REQUIRE(::setxattr((t / "file").c_str(), "user.a", "1", 1, 0) == 0);
    char buf[256];
    CHECK(::getxattr((t / "file").c_str(), "user.a", buf, sizeof buf) == 1);
    CHECK(::getxattr((t / "file").c_str(), "user.a", nullptr, 0) == 1);
    CHECK(err_of(int(::getxattr((t / "file").c_str(), "user.a", buf, 0 + 0))) == 0);
    ssize_t n = ::listxattr((t / "file").c_str(), buf, sizeof buf);
    CHECK(std::string(buf, size_t(n)) == std::string("user.a\0", 7));
    REQUIRE(::removexattr((t / "file").c_str(), "user.a") == 0);
    CHECK(err_of(int(::getxattr((t / "file").c_str(), "user.a", buf, sizeof buf))) == ENODATA);
    CHECK(err_of(::setxattr((t / "file").c_str(), "trusted.overlay.opaque", "y", 1, 0)) == EPERM);
    CHECK(err_of(::removexattr((t / "other").c_str(), "user.none")) == ENODATA);
    CHECK_FALSE(exists(t.s.upper + "/other"));  // nothing to remove, nothing copied up
    // The upper dir keeps its opaque marker private too.
    REQUIRE(::unlink((t / "dir/top").c_str()) == 0);
    n = ::listxattr((t / "dir").c_str(), buf, sizeof buf);
    CHECK(std::string(buf, size_t(std::max<ssize_t>(n, 0))).find("overlay") == std::string::npos);
}

TEST_CASE(
    "statfs, fsync, fsyncdir, fallocate, copy_file_range, SEEK_DATA/SEEK_HOLE, access, ioctl") {
    Mounted t;
    REQUIRE_MOUNTED(*t.m);
    struct statvfs sv;
    REQUIRE(::statvfs(t.m->path().c_str(), &sv) == 0);
    CHECK(sv.f_namemax == 255);
    CHECK(sv.f_blocks > 0);

    int fd = ::open((t / "data").c_str(), O_CREAT | O_RDWR, 0644);
    REQUIRE(fd >= 0);
    CHECK(::fsync(fd) == 0);
    CHECK(::fdatasync(fd) == 0);
    REQUIRE(::fallocate(fd, 0, 0, 1 << 20) == 0);
    CHECK(lstat_of(t / "data").st_size == (1 << 20));
    REQUIRE(::pwrite(fd, "x", 1, 8 << 20) == 1);
    REQUIRE(::pwrite(fd, "y", 1, 0) == 1);
    // Preallocated space may count as a hole; written bytes never do.
    CHECK(::lseek(fd, 2 << 20, SEEK_DATA) == ((8 << 20) & ~off_t(4095)));
    CHECK(::lseek(fd, 0, SEEK_HOLE) >= 1);
    CHECK(::lseek(fd, 0, SEEK_HOLE) <= (8 << 20));
    int out = ::open((t / "copy").c_str(), O_CREAT | O_RDWR, 0644);
    REQUIRE(out >= 0);
    loff_t in_off = 8 << 20, out_off = 0;
    CHECK(::copy_file_range(fd, &in_off, out, &out_off, 1, 0) == 1);
    CHECK(read_file(t / "copy") == "x");
    int dfd = ::open((t / "dir").c_str(), O_RDONLY | O_DIRECTORY);
    CHECK(::fsync(dfd) == 0);
    int flags = 0;
    CHECK(err_of(::ioctl(fd, FS_IOC_GETFLAGS, &flags)) == ENOTTY);
    ::close(dfd);
    ::close(out);
    ::close(fd);

    CHECK(::access((t / "file").c_str(), R_OK | W_OK) == 0);
    CHECK(err_of(::access((t / "file").c_str(), X_OK)) == EACCES);
    CHECK(err_of(::access((t / "nope").c_str(), F_OK)) == ENOENT);
}

TEST_CASE("without an upper dir the mount is read-only") {
    Stack s(1);
    write_file(s.lower(0) + "/f", "f");
    Mount m(Backend::Layerfs, s.lowers, "", "", s.mnt);
    REQUIRE_MOUNTED(m);
    CHECK(read_file(m / "f") == "f");
    CHECK(open_errno(m / "f", O_WRONLY) == EROFS);
    CHECK(open_errno(m / "g", O_CREAT | O_WRONLY) == EROFS);
    CHECK(err_of(::mkdir((m / "d").c_str(), 0755)) == EROFS);
    CHECK(err_of(::unlink((m / "f").c_str())) == EROFS);
    CHECK(err_of(::chmod((m / "f").c_str(), 0600)) == EROFS);
}

TEST_CASE("mknod of a 0/0 character device is refused: that is a whiteout") {
    Mounted t;
    REQUIRE_MOUNTED(*t.m);
    CHECK(err_of(::mknod((t / "other").c_str(), S_IFCHR | 0600, makedev(0, 0))) == EEXIST);
    CHECK(err_of(::mknod((t / "wh").c_str(), S_IFCHR | 0600, makedev(0, 0))) == EPERM);
    CHECK_FALSE(exists(t.s.upper + "/wh"));
}

TEST_CASE("new entries in a set-group-ID directory take its group") {
    Mounted t;
    REQUIRE_MOUNTED(*t.m);
    REQUIRE(::mkdir((t / "sg").c_str(), 0777) == 0);
    REQUIRE(::chown((t / "sg").c_str(), 0, 4242) == 0);
    REQUIRE(::chmod((t / "sg").c_str(), 02777) == 0);
    write_file(t / "sg/f", "f");
    REQUIRE(::mkdir((t / "sg/d").c_str(), 0755) == 0);
    CHECK(lstat_of(t / "sg/f").st_gid == 4242);
    CHECK(lstat_of(t / "sg/d").st_gid == 4242);
    CHECK((lstat_of(t / "sg/d").st_mode & S_ISGID) != 0);
}

TEST_CASE(
    "after a directory moves, deleting inside it writes no whiteout for paths that never were") {
    Mounted t;
    REQUIRE_MOUNTED(*t.m);
    lstat_of(t / "dir/sub/deep");  // the kernel knows the subtree before the move
    REQUIRE(::rename((t / "dir").c_str(), (t / "moved").c_str()) == 0);
    REQUIRE(::unlink((t / "moved/sub/deep").c_str()) == 0);
    CHECK_FALSE(exists(t / "moved/sub/deep"));
    auto up = logical_upper(t.s.upper);
    CHECK(up.count("/moved/sub/deep") == 0);
    CHECK(up["/dir"] == "whiteout");
}

TEST_CASE("an upper directory over a lower file: rmdir leaves a whiteout") {
    Stack s(1);
    write_file(s.lower(0) + "/x", "file below");
    make_dir(s.upper + "/x");  // as another tool may have written it
    {
        Mount m(Backend::Layerfs, s.lowers, s.upper, s.work, s.mnt);
        REQUIRE_MOUNTED(m);
        CHECK(S_ISDIR(lstat_of(m / "x").st_mode));
        REQUIRE(::rmdir((m / "x").c_str()) == 0);
        CHECK_FALSE(exists(m / "x"));
    }
    Mount m(Backend::Layerfs, s.lowers, s.upper, s.work, s.mnt);
    REQUIRE_MOUNTED(m);
    CHECK_FALSE(exists(m / "x"));
}
