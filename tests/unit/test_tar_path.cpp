// Tar member names onto a layer directory: snapshotter/tar_path.cpp.
#include <limits.h>

#include <catch2/catch.hpp>
#include <string>
#include <string_view>

#include "snapshotter/tar_path.hpp"

using layerfs::store::classify_member;
using layerfs::store::clean_tar_path;
using layerfs::store::CleanPath;
using layerfs::store::Member;
using layerfs::store::MemberKind;
using layerfs::store::split_parent;

namespace {

// A relative path of exactly `len` characters, made of components of at most
// 200 characters (so none exceeds NAME_MAX).
std::string path_of_length(size_t len) {
    std::string p(len, 'a');
    for (size_t i = 200; i + 1 < len; i += 201)
        p[i] = '/';
    return p;
}

void check_accepted(std::string_view raw, const std::string& want) {
    INFO("raw: '" << std::string(raw) << "'");
    CleanPath c = clean_tar_path(raw);
    CHECK(c.error.empty());
    CHECK(c.path == want);
}

void check_refused(std::string_view raw) {
    INFO("raw: '" << std::string(raw) << "'");
    CleanPath c = clean_tar_path(raw);
    CHECK_FALSE(c.error.empty());
    CHECK(c.path.empty());
}

Member classify(std::string_view raw) {
    CleanPath c = clean_tar_path(raw);
    REQUIRE(c.error.empty());
    return classify_member(c.path);
}

}  // namespace

TEST_CASE("clean_tar_path keeps clean relative names", "[tar_path]") {
    check_accepted("a", "a");
    check_accepted("a/b/c", "a/b/c");
    check_accepted(".hidden", ".hidden");
    check_accepted("a/.b/..c/c..", "a/.b/..c/c..");
    check_accepted("with space/x", "with space/x");
}

TEST_CASE("clean_tar_path strips ./ prefixes", "[tar_path]") {
    check_accepted("./a", "a");
    check_accepted("./a/b", "a/b");
    check_accepted("././a", "a");
    check_accepted(".//a", "a");
}

TEST_CASE("clean_tar_path collapses repeated slashes", "[tar_path]") {
    check_accepted("a//b", "a/b");
    check_accepted("a///b////c", "a/b/c");
    check_accepted("./a//b/", "a/b");
}

TEST_CASE("clean_tar_path drops trailing slashes of directories", "[tar_path]") {
    check_accepted("a/", "a");
    check_accepted("a/b/", "a/b");
    check_accepted("a/b//", "a/b");
}

TEST_CASE("clean_tar_path drops . components anywhere", "[tar_path]") {
    check_accepted("a/./b", "a/b");
    check_accepted("a/b/.", "a/b");
    check_accepted("a/././b/./", "a/b");
}

TEST_CASE("clean_tar_path maps the layer root to the empty path", "[tar_path]") {
    check_accepted(".", "");
    check_accepted("./", "");
    check_accepted("./.", "");
    check_accepted(".//./", "");
}

TEST_CASE("clean_tar_path refuses the empty name", "[tar_path]") {
    check_refused("");
}

TEST_CASE("clean_tar_path refuses absolute names", "[tar_path]") {
    check_refused("/");
    check_refused("/a");
    check_refused("/a/b");
    check_refused("//a");
    check_refused("/./a");
}

TEST_CASE("clean_tar_path refuses .. components anywhere", "[tar_path]") {
    check_refused("..");
    check_refused("../a");
    check_refused("./../a");
    check_refused("a/..");
    check_refused("a/../b");
    check_refused("a/b/../../c");
    check_refused("a/../");
    check_refused("a//..//b");
    // Even when it would not escape the layer.
    check_refused("a/b/../c");
}

TEST_CASE("clean_tar_path accepts names that merely contain dots", "[tar_path]") {
    check_accepted("...", "...");
    check_accepted("a/.../b", "a/.../b");
    check_accepted("..a", "..a");
    check_accepted("a..", "a..");
}

TEST_CASE("clean_tar_path enforces NAME_MAX per component", "[tar_path]") {
    REQUIRE(NAME_MAX == 255);
    const std::string max(NAME_MAX, 'n');
    const std::string over(NAME_MAX + 1, 'n');
    check_accepted(max, max);
    check_accepted("d/" + max + "/e", "d/" + max + "/e");
    check_accepted("./" + max + "/", max);
    check_refused(over);
    check_refused("d/" + over);
    check_refused(over + "/e");
    check_refused("d/" + over + "/e");
}

TEST_CASE("clean_tar_path enforces PATH_MAX on the cleaned path", "[tar_path]") {
    REQUIRE(PATH_MAX == 4096);
    // PATH_MAX counts the terminating NUL.
    const std::string longest = path_of_length(PATH_MAX - 1);
    REQUIRE(longest.size() == PATH_MAX - 1);
    check_accepted(longest, longest);
    check_refused(path_of_length(PATH_MAX));
    check_refused(path_of_length(PATH_MAX + 500));

    // The limit applies to the cleaned name, not the raw one.
    std::string padded;
    for (int i = 0; i < 3000; i++)
        padded += "./";
    padded += "a//b/";
    REQUIRE(padded.size() > PATH_MAX);
    check_accepted(padded, "a/b");
    check_accepted("./" + longest + "/", longest);
}

TEST_CASE("classify_member: plain entries", "[tar_path]") {
    for (const char* p :
         {"a", "a/b", ".hidden", "a/.wh", "x.wh.y", "a/x.wh.y", ".WH.x", "a/.whx", ".w.h.x"}) {
        INFO(p);
        Member m = classify_member(p);
        CHECK(m.kind == MemberKind::Plain);
        CHECK(m.path == p);
        CHECK(m.error.empty());
    }
}

TEST_CASE("classify_member: the layer root is plain", "[tar_path]") {
    Member m = classify_member("");
    CHECK(m.kind == MemberKind::Plain);
    CHECK(m.path.empty());
    CHECK(m.error.empty());
}

TEST_CASE("classify_member: whiteouts at the root", "[tar_path]") {
    Member m = classify_member(".wh.foo");
    CHECK(m.kind == MemberKind::Whiteout);
    CHECK(m.path == "foo");
    CHECK(m.error.empty());

    Member dot = classify_member(".wh..bashrc");
    CHECK(dot.kind == MemberKind::Whiteout);
    CHECK(dot.path == ".bashrc");
    CHECK(dot.error.empty());

    Member dots = classify_member(".wh....");
    CHECK(dots.kind == MemberKind::Whiteout);
    CHECK(dots.path == "...");
}

TEST_CASE("classify_member: whiteouts in subdirectories", "[tar_path]") {
    Member m = classify_member("a/.wh.b");
    CHECK(m.kind == MemberKind::Whiteout);
    CHECK(m.path == "a/b");
    CHECK(m.error.empty());

    Member deep = classify_member("usr/share/doc/.wh.pkg");
    CHECK(deep.kind == MemberKind::Whiteout);
    CHECK(deep.path == "usr/share/doc/pkg");

    Member hidden = classify_member("etc/.wh..profile");
    CHECK(hidden.kind == MemberKind::Whiteout);
    CHECK(hidden.path == "etc/.profile");
}

TEST_CASE("classify_member: opaque markers", "[tar_path]") {
    Member root = classify_member(".wh..wh..opq");
    CHECK(root.kind == MemberKind::Opaque);
    CHECK(root.path.empty());
    CHECK(root.error.empty());

    Member sub = classify_member("a/.wh..wh..opq");
    CHECK(sub.kind == MemberKind::Opaque);
    CHECK(sub.path == "a");
    CHECK(sub.error.empty());

    Member deep = classify_member("a/b/c/.wh..wh..opq");
    CHECK(deep.kind == MemberKind::Opaque);
    CHECK(deep.path == "a/b/c");
}

TEST_CASE("classify_member: aufs bookkeeping is skipped", "[tar_path]") {
    for (const char* p : {".wh..wh.plnk", ".wh..wh.aufs", ".wh..wh.orph", "a/.wh..wh.plnk",
                          ".wh..wh..opq2", ".wh..wh.opq"}) {
        INFO(p);
        Member m = classify_member(p);
        CHECK(m.kind == MemberKind::AufsMeta);
        CHECK(m.path == p);
        CHECK(m.error.empty());
    }
}

TEST_CASE("classify_member: a whiteout of nothing, . or .. is refused", "[tar_path]") {
    for (const char* p : {".wh.", ".wh..", ".wh...", "a/.wh.", "a/.wh..", "a/b/.wh..."}) {
        INFO(p);
        Member m = classify_member(p);
        CHECK_FALSE(m.error.empty());
        CHECK(m.path.empty());
    }
}

TEST_CASE("classify_member after clean_tar_path", "[tar_path]") {
    Member w = classify("./a//.wh.b");
    CHECK(w.kind == MemberKind::Whiteout);
    CHECK(w.path == "a/b");

    Member o = classify("./a/./.wh..wh..opq");
    CHECK(o.kind == MemberKind::Opaque);
    CHECK(o.path == "a");

    Member r = classify("./.wh..wh..opq");
    CHECK(r.kind == MemberKind::Opaque);
    CHECK(r.path.empty());

    Member p = classify("./a/b/");
    CHECK(p.kind == MemberKind::Plain);
    CHECK(p.path == "a/b");
}

TEST_CASE("split_parent splits at the last slash", "[tar_path]") {
    using Pair = std::pair<std::string_view, std::string_view>;
    CHECK(split_parent("a/b/c") == Pair{"a/b", "c"});
    CHECK(split_parent("a/b") == Pair{"a", "b"});
    CHECK(split_parent("c") == Pair{"", "c"});
    CHECK(split_parent("") == Pair{"", ""});
    CHECK(split_parent(".wh.x") == Pair{"", ".wh.x"});
    CHECK(split_parent("dir/.wh..wh..opq") == Pair{"dir", ".wh..wh..opq"});
}

TEST_CASE("split_parent returns views into its argument", "[tar_path]") {
    const std::string path = "usr/lib/libc.so";
    auto [parent, base] = split_parent(path);
    CHECK(parent.data() == path.data());
    CHECK(base.data() == path.data() + 8);
    CHECK(parent == "usr/lib");
    CHECK(base == "libc.so");
}
