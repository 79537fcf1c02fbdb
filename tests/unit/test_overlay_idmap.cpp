// uid/gid mappings and the override_stat codec: fs/overlay/idmap.cpp.
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <catch2/catch.hpp>
#include <optional>
#include <string>

#include "fs/overlay/idmap.hpp"

using layerfs::format_override_stat;
using layerfs::IdMapping;
using layerfs::kOverflowId;
using layerfs::OverrideStat;
using layerfs::parse_override_stat;

TEST_CASE("IdMapping: the default mapping is the identity", "[idmap]") {
    IdMapping m;
    CHECK(m.empty());
    CHECK(m.to_container(0) == 0u);
    CHECK(m.to_container(123456) == 123456u);
    CHECK(m.to_host(0) == 0u);
    CHECK(m.to_host(4294967295u) == 4294967295u);
}

// fuse-overlayfs's reading (its man page's example): "0:1000:1:1:100000:65536"
// shows a file stored as 0 as 1000, and one stored as 1 as 100000.
TEST_CASE("IdMapping: fuse-overlayfs's direction, stored id first", "[idmap]") {
    auto m = IdMapping::parse("0:1000:1:1:100000:65536");
    REQUIRE(m);
    CHECK_FALSE(m->empty());

    SECTION("stored to shown") {
        CHECK(m->to_container(0) == 1000u);
        CHECK(m->to_container(1) == 100000u);
        CHECK(m->to_container(2) == 100001u);
        CHECK(m->to_container(65536) == 165535u);
    }
    SECTION("shown to stored") {
        CHECK(m->to_host(1000) == 0u);
        CHECK(m->to_host(100000) == 1u);
        CHECK(m->to_host(100001) == 2u);
        CHECK(m->to_host(165535) == 65536u);
    }
    SECTION("unmapped stored ids show as the overflow id") {
        CHECK(m->to_container(65537) == kOverflowId);
        CHECK(m->to_container(4294967295u) == kOverflowId);
    }
    SECTION("unmapped shown ids have no stored id") {
        CHECK(m->to_host(0) == std::nullopt);
        CHECK(m->to_host(999) == std::nullopt);
        CHECK(m->to_host(1001) == std::nullopt);
        CHECK(m->to_host(165536) == std::nullopt);
    }
    SECTION("every mapped id round-trips") {
        for (uint32_t h : {0u, 1u, 500u, 65535u, 65536u}) {
            INFO(h);
            CHECK(m->to_host(m->to_container(h)) == h);
        }
    }
}

// podman's --userns keep-id for uid 1001: ContainerID:HostID:Size triplets
// joined with a leading ':'.
TEST_CASE("IdMapping: podman's keep-id mapping with its leading colon", "[idmap]") {
    auto m = IdMapping::parse(":0:1:1001:1001:0:1:1002:1002:64534");
    REQUIRE(m);
    CHECK(m->to_container(0) == 1u);
    CHECK(m->to_container(1000) == 1001u);
    CHECK(m->to_container(1001) == 0u);
    CHECK(m->to_container(1002) == 1002u);
    CHECK(m->to_host(0) == 1001u);
    CHECK(m->to_host(1) == 0u);
    // strtok's rule: every empty field is skipped.
    auto same = IdMapping::parse("0:1:1001::1001:0:1:1002:1002:64534:");
    REQUIRE(same);
    CHECK(same->to_container(1001) == 0u);
}

TEST_CASE("IdMapping: a range may end at the top of the id space", "[idmap]") {
    auto m = IdMapping::parse("0:4294967295:1");
    REQUIRE(m);
    CHECK(m->to_container(0) == 4294967295u);
    CHECK(m->to_host(4294967295u) == 0u);
    auto m2 = IdMapping::parse("4294967040:0:256");
    REQUIRE(m2);
    CHECK(m2->to_container(4294967295u) == 255u);
    auto m3 = IdMapping::parse("0:1:4294967295");
    REQUIRE(m3);
    CHECK(m3->to_container(4294967294u) == 4294967295u);
    CHECK(m3->to_container(4294967295u) == kOverflowId);
    CHECK(m3->to_host(0) == std::nullopt);
}

TEST_CASE("IdMapping: malformed, overflowing and overlapping mappings are rejected", "[idmap]") {
    struct Case {
        const char* text;
        const char* why;
    } cases[] = {
        {"", "triplets"},                          // nothing
        {":::", "triplets"},                       // only separators
        {"0", "triplets"},                         // one field
        {"0:1000", "triplets"},                    // two fields
        {"0:1000:1:1", "triplets"},                // four fields
        {"0:1000:1:1:100000", "triplets"},         // incomplete second triplet
        {"a:1000:1", "numbers"},                   // non-numbers
        {"0:b:1", "numbers"},                      //
        {"0:1000:c", "numbers"},                   //
        {"0:1000:1x", "numbers"},                  // trailing garbage
        {"-1:1000:1", "numbers"},                  // negative
        {"0: 1000:1", "numbers"},                  // whitespace
        {"0:1000:0", "count above 0"},             // zero size
        {"0:1000:4294967296", "numbers"},          // size overflows uint32
        {"4294967296:0:1", "numbers"},             // id overflows uint32
        {"4294967295:0:2", "below 2^32"},          // stored range past the id space
        {"0:4294967295:2", "below 2^32"},          // shown range past the id space
        {"0,1000,1", "triplets"},                  // wrong separator
        {"0:1000:10:5:2000:1", "overlap"},         // stored ranges overlap
        {"0:1000:10:100:1009:1", "overlap"},       // shown ranges overlap
        {"0:0:65536:65535:70000:1", "triplet 2"},  // the error names the triplet
    };
    for (auto& c : cases) {
        INFO('"' << c.text << '"');
        std::string why;
        CHECK_FALSE(IdMapping::parse(c.text, &why));
        CHECK(why.find(c.why) != std::string::npos);
    }
}

TEST_CASE("override_stat: uid:gid:mode without a type", "[idmap]") {
    auto o = parse_override_stat("1000:1001:0755");
    REQUIRE(o);
    CHECK(o->uid == 1000u);
    CHECK(o->gid == 1001u);
    CHECK(o->mode == 0755u);
    CHECK_FALSE(o->has_type);
    CHECK(o->rdev == 0u);

    SECTION("the mode is octal with or without a leading zero") {
        auto o2 = parse_override_stat("0:0:644");
        REQUIRE(o2);
        CHECK(o2->mode == 0644u);
    }
    SECTION("set-id and sticky bits are kept") {
        auto o3 = parse_override_stat("0:0:07777");
        REQUIRE(o3);
        CHECK(o3->mode == 07777u);
        auto o4 = parse_override_stat("0:0:4755");
        REQUIRE(o4);
        CHECK(o4->mode == 04755u);
    }
    SECTION("the largest ids are accepted") {
        auto o5 = parse_override_stat("4294967295:4294967295:0");
        REQUIRE(o5);
        CHECK(o5->uid == 4294967295u);
        CHECK(o5->gid == 4294967295u);
        CHECK(o5->mode == 0u);
    }
}

TEST_CASE("override_stat: file types", "[idmap]") {
    struct Case {
        const char* text;
        mode_t type;
    };
    for (auto c : {Case{"0:0:0644:file", S_IFREG}, Case{"0:0:0755:dir", S_IFDIR},
                   Case{"0:0:0777:symlink", S_IFLNK}, Case{"0:0:0600:pipe", S_IFIFO},
                   Case{"0:0:0600:socket", S_IFSOCK}}) {
        INFO(c.text);
        auto o = parse_override_stat(c.text);
        REQUIRE(o);
        CHECK(o->has_type);
        CHECK((o->mode & S_IFMT) == c.type);
        CHECK(o->rdev == 0u);
    }
    auto d = parse_override_stat("0:0:0755:dir");
    REQUIRE(d);
    CHECK(d->mode == (S_IFDIR | 0755));
}

TEST_CASE("override_stat: device types carry major and minor", "[idmap]") {
    auto b = parse_override_stat("0:6:0660:block-8-1");
    REQUIRE(b);
    CHECK(b->has_type);
    CHECK(b->gid == 6u);
    CHECK(b->mode == (S_IFBLK | 0660));
    CHECK(major(b->rdev) == 8u);
    CHECK(minor(b->rdev) == 1u);

    auto c = parse_override_stat("0:5:0620:char-136-4000");
    REQUIRE(c);
    CHECK(c->mode == (S_IFCHR | 0620));
    CHECK(major(c->rdev) == 136u);
    CHECK(minor(c->rdev) == 4000u);

    auto z = parse_override_stat("0:0:0:char-0-0");
    REQUIRE(z);
    CHECK(S_ISCHR(z->mode));
    CHECK(z->rdev == makedev(0, 0));
}

TEST_CASE("override_stat: malformed strings are rejected", "[idmap]") {
    for (const char* s : {
             "",                      // nothing
             "0:0",                   // too few fields
             "0:0:0755:file:extra",   // too many fields
             "0:0:",                  // empty mode
             ":0:0755",               // empty uid
             "0::0755",               // empty gid
             "x:0:0755",              // non-numeric uid
             "0:-1:0755",             // negative gid
             "4294967296:0:0755",     // uid overflow
             "0:0:0758",              // not octal
             "0:0:010000",            // beyond permission and set-id bits
             "0:0:0755 ",             // trailing garbage
             "0:0:0755:",             // empty type
             "0:0:0755:fifo",         // unknown type
             "0:0:0755:File",         // types are lower case
             "0:0:0755:block",        // device without numbers
             "0:0:0755:block-8",      // device without minor
             "0:0:0755:block-8-1-2",  // too many numbers
             "0:0:0755:char-a-1",     // non-numeric major
             "0:0:0755:char-1-",      // empty minor
             "0:0:0755:disk-8-1",     // unknown device type
         }) {
        INFO('"' << s << '"');
        CHECK_FALSE(parse_override_stat(s));
    }
}

TEST_CASE("override_stat: formatting", "[idmap]") {
    OverrideStat o;
    o.uid = 1000;
    o.gid = 100;
    o.mode = 0755;
    CHECK(format_override_stat(o) == "1000:100:0755");

    o.mode = 04711;
    CHECK(format_override_stat(o) == "1000:100:04711");

    o.mode = 0;
    CHECK(format_override_stat(o) == "1000:100:00");

    SECTION("without has_type the type bits are left out") {
        o.mode = S_IFREG | 0644;
        CHECK(format_override_stat(o) == "1000:100:0644");
    }
    SECTION("with has_type the type is appended") {
        o.has_type = true;
        o.mode = S_IFREG | 0644;
        CHECK(format_override_stat(o) == "1000:100:0644:file");
        o.mode = S_IFDIR | 0700;
        CHECK(format_override_stat(o) == "1000:100:0700:dir");
        o.mode = S_IFLNK | 0777;
        CHECK(format_override_stat(o) == "1000:100:0777:symlink");
        o.mode = S_IFIFO | 0600;
        CHECK(format_override_stat(o) == "1000:100:0600:pipe");
        o.mode = S_IFSOCK | 0600;
        CHECK(format_override_stat(o) == "1000:100:0600:socket");
        o.mode = S_IFBLK | 0660;
        o.rdev = makedev(8, 17);
        CHECK(format_override_stat(o) == "1000:100:0660:block-8-17");
        o.mode = S_IFCHR | 0666;
        o.rdev = makedev(1, 3);
        CHECK(format_override_stat(o) == "1000:100:0666:char-1-3");
    }
}

TEST_CASE("override_stat: parse and format round-trip", "[idmap]") {
    for (const char* s : {"0:0:0755", "1000:1000:0644", "0:0:04755", "65534:65534:00",
                          "0:0:01777:dir", "0:0:0644:file", "0:0:0777:symlink", "0:0:0600:pipe",
                          "0:0:0600:socket", "0:6:0660:block-8-1", "0:5:0620:char-136-4000",
                          "0:0:00:char-0-0", "4294967295:1:07777:block-4095-1048575"}) {
        INFO(s);
        auto o = parse_override_stat(s);
        REQUIRE(o);
        CHECK(format_override_stat(*o) == s);
        auto again = parse_override_stat(format_override_stat(*o));
        REQUIRE(again);
        CHECK(again->uid == o->uid);
        CHECK(again->gid == o->gid);
        CHECK(again->mode == o->mode);
        CHECK(again->rdev == o->rdev);
        CHECK(again->has_type == o->has_type);
    }
}
