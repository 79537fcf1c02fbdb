// The overlay on-disk codec: fs/overlay/whiteout.cpp.
#include <limits.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <catch2/catch.hpp>
#include <string>

#include "fs/overlay/whiteout.hpp"

namespace wh = layerfs::whiteout;
using wh::NameKind;

TEST_CASE("classify_name: ordinary names", "[whiteout]") {
    for (const char* n : {"a", "file.txt", ".hidden", ".wh", ".w.h.x", "x.wh.y", "wh.x", ".WH.x"}) {
        INFO(n);
        auto c = wh::classify_name(n);
        CHECK(c.kind == NameKind::Normal);
        CHECK(c.target == n);
    }
}

TEST_CASE("classify_name: whiteouts name the hidden entry", "[whiteout]") {
    auto c = wh::classify_name(".wh.foo");
    CHECK(c.kind == NameKind::Whiteout);
    CHECK(c.target == "foo");

    auto d = wh::classify_name(".wh..bashrc");
    CHECK(d.kind == NameKind::Whiteout);
    CHECK(d.target == ".bashrc");

    // A whiteout of a name that itself looks like a whiteout.
    auto e = wh::classify_name(".wh..wh.x");
    CHECK(e.kind == NameKind::Whiteout);
    CHECK(e.target == ".wh.x");
}

TEST_CASE("classify_name: the opaque marker", "[whiteout]") {
    CHECK(wh::classify_name(".wh..wh..opq").kind == NameKind::OpaqueMarker);
    // Near misses are plain whiteouts, not markers.
    CHECK(wh::classify_name(".wh..wh..opq2").kind == NameKind::Whiteout);
    CHECK(wh::classify_name(".wh..wh.opq").kind == NameKind::Whiteout);
}

TEST_CASE("classify_name: the bare prefix hides nothing", "[whiteout]") {
    // ".wh." has no target: it must not be taken for a whiteout of "".
    CHECK(wh::classify_name(".wh.").kind == NameKind::Normal);
}

TEST_CASE("whiteout_name prefixes .wh.", "[whiteout]") {
    CHECK(wh::whiteout_name("foo") == ".wh.foo");
    CHECK(wh::whiteout_name(".x") == ".wh..x");
    const std::string w = wh::whiteout_name("round");  // target views into w
    auto c = wh::classify_name(w);
    CHECK(c.kind == NameKind::Whiteout);
    CHECK(c.target == "round");
}

TEST_CASE("whiteout_name is empty when the result exceeds NAME_MAX", "[whiteout]") {
    REQUIRE(NAME_MAX == 255);
    std::string fits(NAME_MAX - wh::kPrefix.size(), 'a');  // 251 bytes
    auto w = wh::whiteout_name(fits);
    CHECK(w.size() == NAME_MAX);
    CHECK(w == ".wh." + fits);

    CHECK(wh::whiteout_name(fits + "b").empty());             // 256 bytes
    CHECK(wh::whiteout_name(std::string(255, 'x')).empty());  // the longest real name
}

TEST_CASE("is_reserved_name: names starting with .wh.", "[whiteout]") {
    CHECK(wh::is_reserved_name(".wh.foo"));
    CHECK(wh::is_reserved_name(".wh..wh..opq"));
    CHECK(wh::is_reserved_name(".wh."));
    CHECK_FALSE(wh::is_reserved_name(".wh"));
    CHECK_FALSE(wh::is_reserved_name("foo.wh.bar"));
    CHECK_FALSE(wh::is_reserved_name(".whx"));
    CHECK_FALSE(wh::is_reserved_name(""));
    CHECK_FALSE(wh::is_reserved_name("a"));
}

TEST_CASE("is_whiteout_device: only a 0/0 character device", "[whiteout]") {
    CHECK(wh::is_whiteout_device(S_IFCHR | 0, makedev(0, 0)));
    CHECK(wh::is_whiteout_device(S_IFCHR | 0644, makedev(0, 0)));
    CHECK_FALSE(wh::is_whiteout_device(S_IFCHR, makedev(0, 1)));
    CHECK_FALSE(wh::is_whiteout_device(S_IFCHR, makedev(1, 0)));
    CHECK_FALSE(wh::is_whiteout_device(S_IFCHR, makedev(1, 3)));  // /dev/null
    CHECK_FALSE(wh::is_whiteout_device(S_IFBLK, makedev(0, 0)));
    CHECK_FALSE(wh::is_whiteout_device(S_IFREG, 0));
    CHECK_FALSE(wh::is_whiteout_device(S_IFDIR, 0));
    CHECK_FALSE(wh::is_whiteout_device(S_IFIFO, 0));
}

TEST_CASE("is_opaque_value: only y", "[whiteout]") {
    CHECK(wh::is_opaque_value("y"));
    CHECK_FALSE(wh::is_opaque_value("n"));
    CHECK_FALSE(wh::is_opaque_value(""));
    CHECK_FALSE(wh::is_opaque_value("Y"));
}

TEST_CASE("is_private_xattr: overlay metadata namespaces", "[whiteout]") {
    for (bool os : {false, true}) {
        INFO("override_stat private: " << os);
        for (const char* x : wh::kOpaqueXattrs)
            CHECK(wh::is_private_xattr(x, os));
        CHECK(wh::is_private_xattr("trusted.overlay.redirect", os));
        CHECK(wh::is_private_xattr("trusted.overlay.origin", os));
        CHECK(wh::is_private_xattr("user.overlay.metacopy", os));
        CHECK(wh::is_private_xattr("user.fuseoverlayfs.origin", os));

        CHECK_FALSE(wh::is_private_xattr("user.mime_type", os));
        CHECK_FALSE(wh::is_private_xattr("security.selinux", os));
        CHECK_FALSE(wh::is_private_xattr("security.capability", os));
        CHECK_FALSE(wh::is_private_xattr("system.posix_acl_access", os));
        CHECK_FALSE(wh::is_private_xattr("trusted.overlayfoo", os));
        CHECK_FALSE(wh::is_private_xattr("trusted.overlay", os));
        CHECK_FALSE(wh::is_private_xattr("user.overlayfoo.x", os));
        CHECK_FALSE(wh::is_private_xattr("user.containers.other", os));
        CHECK_FALSE(wh::is_private_xattr("", os));
    }
}

TEST_CASE("is_private_xattr: override_stat only when interpreted", "[whiteout]") {
    CHECK(wh::is_private_xattr(wh::kOverrideStat, true));
    CHECK_FALSE(wh::is_private_xattr(wh::kOverrideStat, false));
    CHECK_FALSE(wh::is_private_xattr("user.containers.override_stat2", true));
}
