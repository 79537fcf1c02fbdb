// Limits: long names, deep paths, long symlink targets, directory link counts.
#include <limits.h>

#include "tests/mount/mount_helpers.hpp"

using namespace layerfs::test;

TEST_CASE("a 256-byte name is ENAMETOOLONG on every call, lookup included") {
    Stack s(1);
    write_file(s.lower(0) + "/f", "f");
    Mount m(Backend::Layerfs, s.lowers, s.upper, s.work, s.mnt);
    REQUIRE_MOUNTED(m);
    const std::string long_name(256, 'n');
    const std::string p = m / long_name;
    struct stat st;
    CHECK(err_of(::lstat(p.c_str(), &st)) == ENAMETOOLONG);
    CHECK(open_errno(p, O_CREAT | O_WRONLY) == ENAMETOOLONG);
    CHECK(err_of(::mkdir(p.c_str(), 0755)) == ENAMETOOLONG);
    CHECK(err_of(::symlink("x", p.c_str())) == ENAMETOOLONG);
    CHECK(err_of(::rename((m / "f").c_str(), p.c_str())) == ENAMETOOLONG);
    CHECK(err_of(::unlink(p.c_str())) == ENAMETOOLONG);
    CHECK(err_of(::link((m / "f").c_str(), p.c_str())) == ENAMETOOLONG);
    // 255 is fine.
    CHECK(open_errno(m / std::string(255, 'n'), O_CREAT | O_WRONLY) == 0);
}

TEST_CASE("paths close to PATH_MAX deep and PATH_MAX-1 symlink targets work") {
    Stack s(1);
    // Build the chain in the lower layer fd-relative: the full path is too long for one call.
    int fd = ::open(s.lower(0).c_str(), O_RDONLY | O_DIRECTORY);
    const std::string comp(200, 'd');
    int depth = 0;
    for (size_t len = s.mnt.size(); len + comp.size() + 1 < PATH_MAX - 64; len += comp.size() + 1) {
        REQUIRE(::mkdirat(fd, comp.c_str(), 0755) == 0);
        int next = ::openat(fd, comp.c_str(), O_RDONLY | O_DIRECTORY);
        ::close(fd);
        fd = next;
        ++depth;
    }
    int f = ::openat(fd, "leaf", O_CREAT | O_WRONLY, 0644);
    REQUIRE(::write(f, "deep", 4) == 4);
    ::close(f);
    ::close(fd);
    Mount m(Backend::Layerfs, s.lowers, s.upper, s.work, s.mnt);
    REQUIRE_MOUNTED(m);
    std::string deep = m.path();
    for (int i = 0; i < depth; ++i)
        deep += "/" + comp;
    REQUIRE(deep.size() + 5 < PATH_MAX);
    CHECK(read_file(deep + "/leaf") == "deep");
    append(deep + "/leaf", "er");  // copy-up of the whole chain of parents
    CHECK(read_file(deep + "/leaf") == "deeper");
    write_file(deep + "/new", "n");
    CHECK(read_file(deep + "/new") == "n");

    std::string target(PATH_MAX - 1, 't');
    for (size_t i = 100; i < target.size(); i += 100)
        target[i] = '/';
    REQUIRE(::symlink(target.c_str(), (m / "longlink").c_str()) == 0);
    std::string buf(PATH_MAX, '\0');
    CHECK(::readlink((m / "longlink").c_str(), buf.data(), buf.size()) == PATH_MAX - 1);
    CHECK(buf.substr(0, PATH_MAX - 1) == target);
}

TEST_CASE("directories report a sane st_nlink") {
    Stack s(2);
    make_dir(s.lower(0) + "/only-top/a");
    make_dir(s.lower(1) + "/merged/a");
    make_dir(s.lower(0) + "/merged/b");
    Mount m(Backend::Layerfs, s.lowers, s.upper, s.work, s.mnt);
    REQUIRE_MOUNTED(m);
    CHECK(lstat_of(m / "only-top").st_nlink == 3);  // one layer: the real count
    CHECK(lstat_of(m / "merged").st_nlink >= 1);    // merged: 1, as kernel overlayfs says
}

TEST_CASE("static_nlink reports 1 for every directory") {
    Stack s(1);
    make_dir(s.lower(0) + "/d/a");
    Mount m(Backend::Layerfs, s.lowers, s.upper, s.work, s.mnt, "static_nlink");
    REQUIRE_MOUNTED(m);
    CHECK(lstat_of(m / "d").st_nlink == 1);
}
