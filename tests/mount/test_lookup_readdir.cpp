// Lookup and readdir across layers: every whiteout and opaque dialect.
#include <dirent.h>
#include <sys/xattr.h>

#include <set>

#include "tests/mount/mount_helpers.hpp"

using namespace layerfs::test;

namespace {

std::set<std::string> names_in(const std::string& dir) {
    std::set<std::string> out;
    DIR* d = ::opendir(dir.c_str());
    REQUIRE(d);
    while (auto* e = ::readdir(d))
        out.insert(e->d_name);
    ::closedir(d);
    return out;
}

void build_dialects(const Stack& s) {
    const std::string bottom = s.lower(1), top = s.lower(0);
    for (auto n : {"a", "b", "c"})
        write_file(bottom + "/" + n, std::string("bottom ") + n);
    for (auto d : {"d", "e", "f", "g", "h"})
        write_file(bottom + "/" + d + "/x", "old");
    whiteout_device(top + "/a");
    whiteout_file(top + "/b");
    write_file(top + "/d/new", "n");
    set_xattr(top + "/d", "trusted.overlay.opaque", "y");
    make_dir(top + "/e");
    set_xattr(top + "/e", "user.overlay.opaque", "y");
    make_dir(top + "/f");
    set_xattr(top + "/f", "user.fuseoverlayfs.opaque", "y");
    write_file(top + "/g/.wh..wh..opq", "");
    write_file(top + "/h/y", "y");
}

// The kernel reads neither ".wh." files nor the user.* / opq-file opaque forms.
void build_kernel_dialects(const Stack& s) {
    build_dialects(s);
    ::unlink((s.lower(0) + "/.wh.b").c_str());
    ::unlink((s.lower(0) + "/g/.wh..wh..opq").c_str());
    ::removexattr((s.lower(0) + "/e").c_str(), "user.overlay.opaque");
    ::removexattr((s.lower(0) + "/f").c_str(), "user.fuseoverlayfs.opaque");
}

}  // namespace

TEST_CASE("every whiteout and opaque dialect hides what is below, and is itself invisible") {
    Stack s(2);
    build_dialects(s);
    Mount m(Backend::Layerfs, s.lowers, "", "", s.mnt);
    REQUIRE_MOUNTED(m);

    CHECK(names_in(s.mnt) == std::set<std::string>{".", "..", "c", "d", "e", "f", "g", "h"});
    CHECK_FALSE(exists(m / "a"));
    CHECK_FALSE(exists(m / "b"));
    CHECK(read_file(m / "c") == "bottom c");
    CHECK(names_in(m / "d") == std::set<std::string>{".", "..", "new"});
    CHECK(names_in(m / "e") == std::set<std::string>{".", ".."});
    CHECK(names_in(m / "f") == std::set<std::string>{".", ".."});
    CHECK(names_in(m / "g") == std::set<std::string>{".", ".."});
    CHECK(names_in(m / "h") == std::set<std::string>{".", "..", "x", "y"});
    CHECK_FALSE(exists(m / ".wh.b"));
    CHECK_FALSE(exists(m / "g/.wh..wh..opq"));
    CHECK_FALSE(exists(m / "d/x"));

    char list[1024];
    for (auto d : {"d", "e", "f"}) {
        ssize_t n = ::llistxattr((m / d).c_str(), list, sizeof list);
        REQUIRE(n >= 0);
        CHECK(std::string(list, size_t(n)).find("overlay") == std::string::npos);
        CHECK(::lgetxattr((m / d).c_str(), "trusted.overlay.opaque", list, sizeof list) < 0);
    }
}

TEST_CASE("the kernel-readable dialects give the same tree as kernel overlayfs") {
    Stack s(2);
    build_kernel_dialects(s);
    TempDir ref_mnt;
    Mount ref(Backend::Kernel, s.lowers, "", "", ref_mnt.path());
    REQUIRE_MOUNTED(ref);
    Mount m(Backend::Layerfs, s.lowers, "", "", s.mnt);
    REQUIRE_MOUNTED(m);
    CHECK(tree_diff(snapshot(ref.path()), snapshot(m.path())) == "");
}

TEST_CASE("readdir merges layers: each name once, upper first, offsets stable") {
    Stack s(2);
    for (int i = 0; i < 300; ++i)
        write_file(s.lower(1) + "/big/f" + std::to_string(i), "b");
    for (int i = 0; i < 300; i += 2)
        write_file(s.lower(0) + "/big/f" + std::to_string(i), "t");
    Mount m(Backend::Layerfs, s.lowers, s.upper, s.work, s.mnt);
    REQUIRE_MOUNTED(m);
    auto names = names_in(m / "big");
    CHECK(names.size() == 302);
    CHECK(read_file(m / "big/f10") == "t");
    CHECK(read_file(m / "big/f11") == "b");

    // Deleting entries while a listing is being read neither repeats nor skips survivors.
    DIR* d = ::opendir((m / "big").c_str());
    REQUIRE(d);
    std::multiset<std::string> seen;
    int count = 0;
    while (auto* e = ::readdir(d)) {
        seen.insert(e->d_name);
        if (++count == 100)
            for (int i = 250; i < 300; ++i)
                ::unlink((m / ("big/f" + std::to_string(i))).c_str());
    }
    ::closedir(d);
    for (auto& n : seen)
        CHECK(seen.count(n) == 1);
    CHECK(seen.size() >= 252);
    CHECK(names_in(m / "big").size() == 252);

    // "." and ".." carry the right inode numbers.
    struct stat dot = lstat_of(m / "big");
    d = ::opendir((m / "big").c_str());
    while (auto* e = ::readdir(d))
        if (std::string(e->d_name) == ".") CHECK(e->d_ino == dot.st_ino);
    ::closedir(d);
}

TEST_CASE("a directory of 20k entries lists completely") {
    Stack s(1);
    TempDir big;
    for (int i = 0; i < 20000; ++i)
        write_file(s.lower(0) + "/d/entry-" + std::to_string(i), "");
    Mount m(Backend::Layerfs, s.lowers, s.upper, s.work, s.mnt);
    REQUIRE_MOUNTED(m);
    CHECK(names_in(m / "d").size() == 20002);
}

// A listed directory answers lookups from its index of lower names; changes
// made through the mount since must still show once the kernel forgets them.
TEST_CASE("lookups in a listed directory follow what changed through the mount") {
    Stack s(2);
    build_kernel_dialects(s);
    write_file(s.lower(1) + "/lnk/target", "t");
    make_symlink("target", s.lower(0) + "/lnk/sym");
    std::map<std::string, std::string> trees[2];
    int i = 0;
    for (Backend b : {Backend::Kernel, Backend::Layerfs}) {
        INFO(backend_name(b));
        Stack u(0, backend_name(b));
        Mount m(b, s.lowers, u.upper, u.work, u.mnt);
        REQUIRE_MOUNTED(m);
        snapshot(m.path());  // every directory listed, every name looked up
        REQUIRE(::unlink((m / "c").c_str()) == 0);
        write_file(m / "a", "new a");
        REQUIRE(::mkdir((m / "c").c_str(), 0700) == 0);
        REQUIRE(::rename((m / "h/x").c_str(), (m / "h/moved").c_str()) == 0);
        REQUIRE(::unlink((m / "e/x").c_str()) == 0);
        REQUIRE(::rmdir((m / "e").c_str()) == 0);
        write_file(m / "e", "e is a file now");
        REQUIRE(::unlink((m / "lnk/sym").c_str()) == 0);
        write_file("/proc/sys/vm/drop_caches", "2");
        CHECK_FALSE(exists(m / "h/x"));
        trees[i++] = snapshot(m.path());
    }
    CHECK_SAME_TREE(trees[0], trees[1]);
}
