// Copy-up: the first change to a lower file moves it up whole, metadata included.
#include <sys/file.h>
#include <sys/xattr.h>

#include <cstring>
#include <set>

#include "tests/mount/mount_helpers.hpp"

using namespace layerfs::test;

namespace {

void set_times(const std::string& path, time_t sec) {
    struct timespec t[2] = {{sec, 0}, {sec, 0}};
    REQUIRE(::utimensat(AT_FDCWD, path.c_str(), t, AT_SYMLINK_NOFOLLOW) == 0);
}

}  // namespace

TEST_CASE("copy-up keeps data, mode, owner, times and xattrs, and copies parents first") {
    Stack s(1);
    const std::string low = s.lower(0);
    write_file(low + "/etc/app/conf", "key=value\n", 0640);
    REQUIRE(::lchown((low + "/etc/app/conf").c_str(), 1234, 5678) == 0);
    set_xattr(low + "/etc/app/conf", "user.note", "kept");
    REQUIRE(::chmod((low + "/etc/app").c_str(), 0750) == 0);
    REQUIRE(::lchown((low + "/etc/app").c_str(), 42, 43) == 0);
    set_xattr(low + "/etc/app", "user.dir", "d");
    set_times(low + "/etc/app/conf", 1000000);
    set_times(low + "/etc/app", 2000000);
    set_times(low + "/etc", 3000000);

    Mount m(Backend::Layerfs, s.lowers, s.upper, s.work, s.mnt);
    REQUIRE_MOUNTED(m);
    // chmod changes no data and no mtime: everything else must arrive intact.
    REQUIRE(::chmod((m / "etc/app/conf").c_str(), 0600) == 0);

    struct stat up = lstat_of(s.upper + "/etc/app/conf");
    CHECK((up.st_mode & 07777) == 0600);
    CHECK(up.st_uid == 1234);
    CHECK(up.st_gid == 5678);
    CHECK(up.st_mtime == 1000000);
    CHECK(read_file(s.upper + "/etc/app/conf") == "key=value\n");
    char v[16];
    ssize_t n = ::lgetxattr((s.upper + "/etc/app/conf").c_str(), "user.note", v, sizeof v);
    CHECK(std::string(v, size_t(std::max<ssize_t>(n, 0))) == "kept");

    struct stat dir = lstat_of(s.upper + "/etc/app");
    CHECK((dir.st_mode & 07777) == 0750);
    CHECK(dir.st_uid == 42);
    CHECK(dir.st_gid == 43);
    CHECK(dir.st_mtime == 2000000);  // copying the child up did not touch it
    CHECK(lstat_of(s.upper + "/etc").st_mtime == 3000000);
    n = ::lgetxattr((s.upper + "/etc/app").c_str(), "user.dir", v, sizeof v);
    CHECK(n == 1);

    // The lower layer is never written.
    CHECK((lstat_of(low + "/etc/app/conf").st_mode & 07777) == 0640);
    // And the mount shows the change.
    CHECK((lstat_of(m / "etc/app/conf").st_mode & 07777) == 0600);
}

TEST_CASE("copy-up on append, truncate, utimes, xattr set and link, the lower intact") {
    Stack s(1);
    for (auto n : {"append", "trunc", "times", "xattr", "link"})
        write_file(s.lower(0) + "/" + n, "lower");
    Mount m(Backend::Layerfs, s.lowers, s.upper, s.work, s.mnt);
    REQUIRE_MOUNTED(m);
    append(m / "append", "+more");
    CHECK(read_file(m / "append") == "lower+more");
    REQUIRE(::truncate((m / "trunc").c_str(), 2) == 0);
    CHECK(read_file(m / "trunc") == "lo");
    set_times(m / "times", 12345);
    CHECK(lstat_of(m / "times").st_mtime == 12345);
    REQUIRE(::setxattr((m / "xattr").c_str(), "user.k", "v", 1, 0) == 0);
    REQUIRE(::link((m / "link").c_str(), (m / "link2").c_str()) == 0);
    CHECK(lstat_of(m / "link").st_nlink == 2);
    CHECK(lstat_of(m / "link").st_ino == lstat_of(m / "link2").st_ino);
    for (auto n : {"append", "trunc", "times", "xattr", "link"}) {
        CHECK(exists(s.upper + "/" + n));
        CHECK(read_file(s.lower(0) + "/" + n) == "lower");
    }
    // Reading copies nothing up.
    write_file(s.lower(0) + "/readonly", "r");
    m.unmount();
    Mount m2(Backend::Layerfs, s.lowers, s.upper, s.work, s.mnt);
    REQUIRE_MOUNTED(m2);
    CHECK(read_file(m2 / "readonly") == "r");
    CHECK(open_errno(m2 / "readonly", O_RDONLY) == 0);
    CHECK_FALSE(exists(s.upper + "/readonly"));
}

TEST_CASE("holes stay holes and O_TRUNC copies no data") {
    Stack s(1);
    const std::string sparse = s.lower(0) + "/sparse";
    int fd = ::open(sparse.c_str(), O_CREAT | O_WRONLY, 0644);
    REQUIRE(fd >= 0);
    REQUIRE(::pwrite(fd, "end", 3, 64 << 20) == 3);
    ::close(fd);
    write_file(s.lower(0) + "/big", std::string(1 << 20, 'x'));
    Mount m(Backend::Layerfs, s.lowers, s.upper, s.work, s.mnt);
    REQUIRE_MOUNTED(m);

    REQUIRE(::chmod((m / "sparse").c_str(), 0600) == 0);
    struct stat up = lstat_of(s.upper + "/sparse");
    CHECK(up.st_size == (64 << 20) + 3);
    CHECK(up.st_blocks * 512 < (1 << 20));  // not 64 MiB of zeros

    fd = ::open((m / "big").c_str(), O_WRONLY | O_TRUNC);
    REQUIRE(fd >= 0);
    REQUIRE(::write(fd, "new", 3) == 3);
    ::close(fd);
    CHECK(read_file(m / "big") == "new");
    CHECK(read_file(s.lower(0) + "/big").size() == (1 << 20));
}

TEST_CASE("an open lower file that is unlinked still reads, and shows st_nlink 0") {
    Stack s(1);
    write_file(s.lower(0) + "/f", "data");
    Mount m(Backend::Layerfs, s.lowers, s.upper, s.work, s.mnt);
    REQUIRE_MOUNTED(m);
    int fd = ::open((m / "f").c_str(), O_RDWR);
    REQUIRE(fd >= 0);
    REQUIRE(::unlink((m / "f").c_str()) == 0);
    struct stat st;
    REQUIRE(::fstat(fd, &st) == 0);
    CHECK(st.st_nlink == 0);
    char buf[8] = {};
    CHECK(::pread(fd, buf, sizeof buf, 0) == 4);
    CHECK(std::string(buf) == "data");
    ::close(fd);

    write_file(m / "up", "u");
    fd = ::open((m / "up").c_str(), O_RDONLY);
    REQUIRE(::unlink((m / "up").c_str()) == 0);
    REQUIRE(::fstat(fd, &st) == 0);
    CHECK(st.st_nlink == 0);
    ::close(fd);
}

TEST_CASE("st_ino is unique across layers and survives copy-up") {
    Stack s(2);
    for (int i = 0; i < 50; ++i) {
        write_file(s.lower(0) + "/top" + std::to_string(i), "t");
        write_file(s.lower(1) + "/bottom" + std::to_string(i), "b");
    }
    Mount m(Backend::Layerfs, s.lowers, s.upper, s.work, s.mnt);
    REQUIRE_MOUNTED(m);
    std::set<ino_t> inos;
    for (int i = 0; i < 50; ++i) {
        inos.insert(lstat_of(m / ("top" + std::to_string(i))).st_ino);
        inos.insert(lstat_of(m / ("bottom" + std::to_string(i))).st_ino);
    }
    CHECK(inos.size() == 100);
    ino_t before = lstat_of(m / "bottom7").st_ino;
    append(m / "bottom7", "x");
    CHECK(lstat_of(m / "bottom7").st_ino == before);
    m.unmount();
    Mount again(Backend::Layerfs, s.lowers, s.upper, s.work, s.mnt);
    REQUIRE_MOUNTED(again);
    CHECK(lstat_of(again / "bottom7").st_ino == before);
}

TEST_CASE("hard links in a lower layer: nlink right at once, linked after copy-up") {
    Stack s(1);
    write_file(s.lower(0) + "/a", "shared");
    REQUIRE(::link((s.lower(0) + "/a").c_str(), (s.lower(0) + "/b").c_str()) == 0);
    Mount m(Backend::Layerfs, s.lowers, s.upper, s.work, s.mnt);
    REQUIRE_MOUNTED(m);
    CHECK(lstat_of(m / "a").st_nlink == 2);
    CHECK(lstat_of(m / "a").st_ino == lstat_of(m / "b").st_ino);
    append(m / "a", "+");
    CHECK(read_file(m / "b") == "shared+");
    CHECK(lstat_of(m / "b").st_nlink == 2);
    REQUIRE(::link((m / "b").c_str(), (m / "c").c_str()) == 0);
    CHECK(lstat_of(m / "a").st_nlink == 3);
    REQUIRE(::unlink((m / "a").c_str()) == 0);
    CHECK(lstat_of(m / "b").st_nlink == 2);
    m.unmount();

    // The link survives a remount, and so does its count.
    Mount again(Backend::Layerfs, s.lowers, s.upper, s.work, s.mnt);
    REQUIRE_MOUNTED(again);
    CHECK(read_file(again / "b") == "shared+");
    CHECK(read_file(again / "c") == "shared+");
    CHECK(lstat_of(again / "b").st_nlink == 2);
    CHECK(lstat_of(again / "b").st_ino == lstat_of(again / "c").st_ino);
    append(again / "c", "!");
    CHECK(read_file(again / "b") == "shared+!");
}

TEST_CASE("a lower hard link copied up through one name shows through the other after remount") {
    Stack s(1);
    write_file(s.lower(0) + "/x", "v1");
    REQUIRE(::link((s.lower(0) + "/x").c_str(), (s.lower(0) + "/y").c_str()) == 0);
    {
        Mount m(Backend::Layerfs, s.lowers, s.upper, s.work, s.mnt);
        REQUIRE_MOUNTED(m);
        write_file(m / "x", "v2");  // y is never looked up in this mount
    }
    Mount m(Backend::Layerfs, s.lowers, s.upper, s.work, s.mnt);
    REQUIRE_MOUNTED(m);
    CHECK(read_file(m / "y") == "v2");
    CHECK(lstat_of(m / "y").st_nlink == 2);
    REQUIRE(::unlink((m / "x").c_str()) == 0);
    CHECK(lstat_of(m / "y").st_nlink == 1);
}

TEST_CASE("flock and POSIX locks work on copied-up and lower files") {
    Stack s(1);
    write_file(s.lower(0) + "/lock", "l");
    Mount m(Backend::Layerfs, s.lowers, s.upper, s.work, s.mnt);
    REQUIRE_MOUNTED(m);
    int a = ::open((m / "lock").c_str(), O_RDWR);
    int b = ::open((m / "lock").c_str(), O_RDWR);
    REQUIRE(a >= 0);
    REQUIRE(b >= 0);
    CHECK(::flock(a, LOCK_EX | LOCK_NB) == 0);
    CHECK(err_of(::flock(b, LOCK_EX | LOCK_NB)) == EWOULDBLOCK);
    CHECK(::flock(a, LOCK_UN) == 0);
    struct flock fl {};
    fl.l_type = F_WRLCK;
    fl.l_whence = SEEK_SET;
    fl.l_len = 1;
    CHECK(::fcntl(a, F_SETLK, &fl) == 0);
    ::close(a);
    ::close(b);
}

TEST_CASE("a hard link pinned by one name, its other directory forgotten, copies up in place") {
    Stack s(1);
    write_file(s.lower(0) + "/A/f", "v1");
    write_file(s.lower(0) + "/A/h", "h");
    make_dir(s.lower(0) + "/B");
    REQUIRE(::link((s.lower(0) + "/A/f").c_str(), (s.lower(0) + "/B/g").c_str()) == 0);
    Mount m(Backend::Layerfs, s.lowers, s.upper, s.work, s.mnt);
    REQUIRE_MOUNTED(m);
    lstat_of(m / "A/f");
    lstat_of(m / "B/g");
    int fd = ::open((m / "B/g").c_str(), O_RDONLY);
    REQUIRE(fd >= 0);
    write_file("/proc/sys/vm/drop_caches", "2");  // the kernel forgets A, not B/g
    REQUIRE(::unlink((m / "A/h").c_str()) == 0);
    append(m / "B/g", "+");
    CHECK(read_file(m / "A/f") == "v1+");
    write_file(m / "A/new", "n");
    CHECK(read_file(m / "A/new") == "n");
    ::close(fd);
}

TEST_CASE("copy-up keeps file capabilities") {
    Stack s(1);
    write_file(s.lower(0) + "/ping", "elf", 0755);
    // struct vfs_cap_data, revision 2, effective, permitted = CAP_NET_RAW.
    const unsigned char cap[20] = {0x01, 0, 0, 0x02, 0, 0x20, 0, 0, 0, 0,
                                   0,    0, 0, 0,    0, 0,    0, 0, 0, 0};
    set_xattr(s.lower(0) + "/ping", "security.capability",
              std::string_view(reinterpret_cast<const char*>(cap), sizeof cap));
    Mount m(Backend::Layerfs, s.lowers, s.upper, s.work, s.mnt);
    REQUIRE_MOUNTED(m);
    REQUIRE(::utimensat(AT_FDCWD, (m / "ping").c_str(), nullptr, 0) == 0);  // copy-up
    REQUIRE(exists(s.upper + "/ping"));
    char buf[64];
    CHECK(::getxattr((m / "ping").c_str(), "security.capability", buf, sizeof buf) == 20);
    CHECK(std::memcmp(buf, cap, sizeof cap) == 0);
}

// Kernel overlayfs moves such a file to the upper copy, and so does the daemon.
// With passthrough the kernel reads the lower file itself and cannot be moved:
// the file keeps reading it (as on fuse-overlayfs), later opens get the copy.
TEST_CASE("a file opened before another opener copies it up") {
    const std::string expected = passthrough_expected() ? "old" : "new";
    for (Backend b : {Backend::Kernel, Backend::Layerfs}) {
        INFO(backend_name(b));
        Stack s(1);
        write_file(s.lower(0) + "/f", "old");
        Mount m(b, s.lowers, s.upper, s.work, s.mnt);
        REQUIRE_MOUNTED(m);
        const ino_t ino = lstat_of(m / "f").st_ino;
        int fd = ::open((m / "f").c_str(), O_RDONLY);
        REQUIRE(fd >= 0);
        write_file(m / "f", "new");
        write_file("/proc/sys/vm/drop_caches", "3");
        char buf[8] = {};
        CHECK(::pread(fd, buf, sizeof buf, 0) == 3);
        CHECK(std::string(buf) == (b == Backend::Kernel ? "new" : expected));
        CHECK(read_file(m / "f") == "new");
        CHECK(lstat_of(m / "f").st_ino == ino);
        ::close(fd);
    }
}
