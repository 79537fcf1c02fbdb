// Inode numbers unique across layer file systems: fs/overlay/inode_number.cpp.
#include <sys/sysmacros.h>

#include <catch2/catch.hpp>
#include <cstdint>
#include <set>
#include <vector>

#include "fs/overlay/inode_number.hpp"

using layerfs::InodeNumbers;

namespace {
const dev_t kDevA = makedev(8, 1);
const dev_t kDevB = makedev(8, 2);
const dev_t kDevC = makedev(0, 45);
const dev_t kDevD = makedev(253, 0);
const dev_t kStranger = makedev(9, 9);
}  // namespace

TEST_CASE("InodeNumbers: one device passes numbers through", "[inode_number]") {
    SECTION("all layers on one device") {
        InodeNumbers n({kDevA, kDevA, kDevA});
        for (uint64_t ino :
             {uint64_t{1}, uint64_t{2}, uint64_t{123456789}, uint64_t{1} << 62, ~uint64_t{0}}) {
            INFO(ino);
            CHECK(n.map(kDevA, ino) == ino);
        }
    }
    SECTION("a single layer") {
        InodeNumbers n({kDevB});
        CHECK(n.map(kDevB, 42) == 42u);
    }
    SECTION("no layers") {
        InodeNumbers n({});
        CHECK(n.map(kDevA, 7) == 7u);
    }
}

TEST_CASE("InodeNumbers: equal numbers on different devices differ", "[inode_number]") {
    InodeNumbers n({kDevA, kDevB});
    for (uint64_t ino : {uint64_t{1}, uint64_t{2}, uint64_t{4096}, uint64_t{1} << 40}) {
        INFO(ino);
        CHECK(n.map(kDevA, ino) != n.map(kDevB, ino));
    }
}

TEST_CASE("InodeNumbers: the mapping is injective across several devices", "[inode_number]") {
    const std::vector<dev_t> all{kDevA, kDevB, kDevC, kDevD};
    for (size_t ndev : {2u, 3u, 4u}) {
        std::vector<dev_t> devs(all.begin(), all.begin() + static_cast<long>(ndev));
        INFO("devices: " << ndev);
        InodeNumbers n(devs);
        std::set<uint64_t> seen;
        size_t total = 0;
        for (dev_t d : devs) {
            for (uint64_t ino : {uint64_t{1}, uint64_t{2}, uint64_t{3}, uint64_t{100},
                                 uint64_t{1} << 32, (uint64_t{1} << 48) + 5}) {
                seen.insert(n.map(d, ino));
                ++total;
            }
        }
        CHECK(seen.size() == total);
    }
}

TEST_CASE("InodeNumbers: different numbers on one device stay different", "[inode_number]") {
    InodeNumbers n({kDevA, kDevB, kDevC});
    std::set<uint64_t> seen;
    for (uint64_t ino = 1; ino <= 1000; ++ino)
        seen.insert(n.map(kDevB, ino));
    CHECK(seen.size() == 1000u);
}

TEST_CASE("InodeNumbers: numbers are stable", "[inode_number]") {
    std::vector<dev_t> devs{kDevA, kDevB, kDevC};
    InodeNumbers n(devs);
    InodeNumbers again(devs);
    for (dev_t d : devs) {
        for (uint64_t ino : {uint64_t{1}, uint64_t{77}, uint64_t{1} << 61, ~uint64_t{0}}) {
            INFO(ino);
            CHECK(n.map(d, ino) == n.map(d, ino));
            CHECK(n.map(d, ino) == again.map(d, ino));
        }
    }
}

TEST_CASE("InodeNumbers: repeated devices count once", "[inode_number]") {
    InodeNumbers dup({kDevA, kDevB, kDevA, kDevB});
    InodeNumbers plain({kDevA, kDevB});
    for (uint64_t ino : {uint64_t{1}, uint64_t{99}}) {
        CHECK(dup.map(kDevA, ino) == plain.map(kDevA, ino));
        CHECK(dup.map(kDevB, ino) == plain.map(kDevB, ino));
    }
}

TEST_CASE("InodeNumbers: an unknown device never collides with a known one", "[inode_number]") {
    InodeNumbers n({kDevA, kDevB});
    for (uint64_t ino : {uint64_t{1}, uint64_t{5}, uint64_t{1000}}) {
        INFO(ino);
        uint64_t s = n.map(kStranger, ino);
        CHECK(s == n.map(kStranger, ino));
        CHECK(s != n.map(kDevA, ino));
        CHECK(s != n.map(kDevB, ino));
    }
}

TEST_CASE("InodeNumbers: huge backing numbers keep their device apart", "[inode_number]") {
    InodeNumbers n({kDevA, kDevB});
    const uint64_t huge = ~uint64_t{0};
    const uint64_t high = uint64_t{3} << 62;
    CHECK(n.map(kDevA, huge) != n.map(kDevB, huge));
    CHECK(n.map(kDevA, high) != n.map(kDevB, high));
    CHECK(n.map(kDevA, huge) != n.map(kDevA, high));
    // Numbers that fit are never folded, so they keep their low bits.
    CHECK((n.map(kDevA, 12345) & 0xFFFFFFFFu) == 12345u);
}
