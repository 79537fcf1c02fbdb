// Merged directory listings: fs/overlay/dirmerge.cpp.
#include <dirent.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "fs/overlay/dirmerge.hpp"

using layerfs::merge_listings;
using layerfs::MergedEntry;
using layerfs::RawEntry;
using Listing = std::vector<RawEntry>;
using Strings = std::vector<std::string>;

namespace {

RawEntry file(std::string name, ino_t ino = 1) {
    return RawEntry{std::move(name), DT_REG, ino, false};
}
RawEntry dir(std::string name, ino_t ino = 1) {
    return RawEntry{std::move(name), DT_DIR, ino, false};
}
RawEntry whiteout_dev(std::string name) {
    return RawEntry{std::move(name), DT_CHR, 99, true};
}

Strings names(const std::vector<MergedEntry>& v) {
    Strings out;
    for (auto& e : v)
        out.push_back(e.name);
    return out;
}

const MergedEntry* find(const std::vector<MergedEntry>& v, const std::string& name) {
    for (auto& e : v)
        if (e.name == name) return &e;
    return nullptr;
}

}  // namespace

TEST_CASE("merge_listings: no layers, empty layers", "[dirmerge]") {
    CHECK(merge_listings({}).empty());
    CHECK(merge_listings({Listing{}}).empty());
    CHECK(merge_listings({Listing{}, Listing{}, Listing{}}).empty());
}

TEST_CASE("merge_listings: a single layer is sorted and passed through", "[dirmerge]") {
    auto m = merge_listings({{file("b", 2), dir("a", 1), file("c", 3)}});
    REQUIRE(names(m) == Strings{"a", "b", "c"});
    CHECK(m[0].type == DT_DIR);
    CHECK(m[0].ino == 1u);
    CHECK(m[1].type == DT_REG);
    CHECK(m[1].ino == 2u);
    for (auto& e : m)
        CHECK(e.layer == 0);
}

TEST_CASE("merge_listings: names are unique, from the highest layer", "[dirmerge]") {
    auto m = merge_listings({{file("x", 10), file("top", 11)},
                             {dir("x", 20), file("mid", 21)},
                             {file("x", 30), file("mid", 31), file("bottom", 32)}});
    REQUIRE(names(m) == Strings{"bottom", "mid", "top", "x"});
    auto x = find(m, "x");
    CHECK(x->layer == 0);
    CHECK(x->ino == 10u);
    CHECK(x->type == DT_REG);
    auto mid = find(m, "mid");
    CHECK(mid->layer == 1);
    CHECK(mid->ino == 21u);
    auto bottom = find(m, "bottom");
    CHECK(bottom->layer == 2);
    CHECK(bottom->ino == 32u);
    CHECK(find(m, "top")->layer == 0);
}

TEST_CASE("merge_listings: output is sorted by name", "[dirmerge]") {
    auto m = merge_listings({{file("zeta"), file("Alpha")}, {file("beta"), file(".dot")}, {}});
    auto n = names(m);
    CHECK(std::is_sorted(n.begin(), n.end()));
    CHECK(n == Strings{".dot", "Alpha", "beta", "zeta"});
}

TEST_CASE("merge_listings: .wh.X hides X in lower layers", "[dirmerge]") {
    auto m = merge_listings({{file(".wh.gone"), file("kept")}, {file("gone"), file("other")}});
    CHECK(names(m) == Strings{"kept", "other"});
}

TEST_CASE("merge_listings: a whiteout hides X in every lower layer", "[dirmerge]") {
    auto m = merge_listings({{file(".wh.x")}, {dir("x")}, {file("x")}});
    CHECK(m.empty());
}

TEST_CASE("merge_listings: a whiteout does not hide X in a higher layer", "[dirmerge]") {
    auto m = merge_listings({{file("x", 5)}, {file(".wh.x")}, {file("x", 7)}});
    REQUIRE(names(m) == Strings{"x"});
    CHECK(m[0].layer == 0);
    CHECK(m[0].ino == 5u);
}

TEST_CASE("merge_listings: X next to .wh.X in the same layer stays visible", "[dirmerge]") {
    SECTION("X listed before its whiteout") {
        auto m = merge_listings({{dir("x", 5), file(".wh.x")}, {file("x", 7)}});
        REQUIRE(names(m) == Strings{"x"});
        CHECK(m[0].layer == 0);
        CHECK(m[0].ino == 5u);
    }
    SECTION("X listed after its whiteout") {
        auto m = merge_listings({{file(".wh.x"), dir("x", 5)}, {file("x", 7)}});
        REQUIRE(names(m) == Strings{"x"});
        CHECK(m[0].layer == 0);
        CHECK(m[0].ino == 5u);
    }
    SECTION("in a middle layer") {
        auto m = merge_listings({{file("a")}, {file(".wh.x"), dir("x", 5)}, {file("x", 7)}});
        REQUIRE(names(m) == Strings{"a", "x"});
        CHECK(find(m, "x")->layer == 1);
        CHECK(find(m, "x")->ino == 5u);
    }
}

TEST_CASE("merge_listings: a whiteout device hides X in lower layers", "[dirmerge]") {
    auto m = merge_listings({{whiteout_dev("gone"), file("a")}, {file("gone"), file("b")}});
    CHECK(names(m) == Strings{"a", "b"});
}

TEST_CASE("merge_listings: a whiteout device is never shown", "[dirmerge]") {
    CHECK(merge_listings({{whiteout_dev("w")}, {}}).empty());
    CHECK(merge_listings({{}, {whiteout_dev("w")}}).empty());
    // An ordinary character device is an ordinary entry.
    auto m = merge_listings({{RawEntry{"null", DT_CHR, 4, false}}, {}});
    REQUIRE(names(m) == Strings{"null"});
    CHECK(m[0].type == DT_CHR);
}

TEST_CASE("merge_listings: whiteout entries themselves are never shown", "[dirmerge]") {
    auto m = merge_listings({{file(".wh.a")}, {file(".wh.b"), file("c")}, {}});
    CHECK(names(m) == Strings{"c"});
}

TEST_CASE("merge_listings: the opaque marker is never shown", "[dirmerge]") {
    auto m = merge_listings({{file(".wh..wh..opq"), file("a")}, {file(".wh..wh..opq")}});
    CHECK(names(m) == Strings{"a"});
}

TEST_CASE("merge_listings: the single-layer fast path behaves like the general one", "[dirmerge]") {
    Listing layer = {file("b", 2),         file(".wh.gone"), whiteout_dev("dev_gone"),
                     file(".wh..wh..opq"), dir("a", 1),      RawEntry{"null", DT_CHR, 4, false},
                     file(".hidden", 3)};
    auto one = merge_listings({layer});
    auto two = merge_listings({layer, Listing{}});
    REQUIRE(names(one) == Strings{".hidden", "a", "b", "null"});
    REQUIRE(names(two) == names(one));
    for (size_t i = 0; i < one.size(); ++i) {
        INFO(one[i].name);
        CHECK(one[i].type == two[i].type);
        CHECK(one[i].ino == two[i].ino);
        CHECK(one[i].layer == 0);
        CHECK(two[i].layer == 0);
    }
}

TEST_CASE("merge_listings: layer indexes follow the given order", "[dirmerge]") {
    auto m = merge_listings({{}, {}, {file("deep")}, {file("deeper")}});
    REQUIRE(names(m) == Strings{"deep", "deeper"});
    CHECK(m[0].layer == 2);
    CHECK(m[1].layer == 3);
}
