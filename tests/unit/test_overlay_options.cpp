// Mount command line parsing: fs/overlay/options.cpp.
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "fs/overlay/options.hpp"

using layerfs::apply_option;
using layerfs::MountConfig;
using layerfs::parse_mount_args;
using layerfs::ParsedArgs;
using layerfs::split_lowerdirs;
using layerfs::split_option_list;
using Strings = std::vector<std::string>;

namespace {

bool contains(const std::string& haystack, const std::string& needle) {
    return haystack.find(needle) != std::string::npos;
}

// Applies one item to cfg and returns the error (empty on success).
std::string try_option(MountConfig& cfg, const std::string& item) {
    return apply_option(cfg, item);
}

}  // namespace

TEST_CASE("split_option_list splits on commas", "[options]") {
    CHECK(split_option_list("a,b,c") == Strings{"a", "b", "c"});
    CHECK(split_option_list("lowerdir=/l,upperdir=/u") == Strings{"lowerdir=/l", "upperdir=/u"});
    CHECK(split_option_list("single") == Strings{"single"});
    CHECK(split_option_list("").empty());
}

TEST_CASE("split_option_list skips empty items", "[options]") {
    CHECK(split_option_list("a,,b") == Strings{"a", "b"});
    CHECK(split_option_list(",a,") == Strings{"a"});
    CHECK(split_option_list(",,,").empty());
}

TEST_CASE("split_option_list honours backslash-comma escapes", "[options]") {
    CHECK(split_option_list(R"(lowerdir=/a\,b,ro)") == Strings{"lowerdir=/a,b", "ro"});
    CHECK(split_option_list(R"(a\,b\,c)") == Strings{"a,b,c"});
}

TEST_CASE("split_option_list keeps other backslash escapes for the option parser", "[options]") {
    // "\:" belongs to lowerdir's own syntax and must survive this level untouched.
    CHECK(split_option_list(R"(lowerdir=/a\:b:/c)") == Strings{R"(lowerdir=/a\:b:/c)"});
    // "\\" stays a pair, and the comma after it is a separator, not escaped.
    CHECK(split_option_list(R"(x=a\\,y)") == Strings{R"(x=a\\)", "y"});
    // A lone trailing backslash is kept as it is.
    CHECK(split_option_list(R"(x=a\)") == Strings{R"(x=a\)"});
}

TEST_CASE("split_option_list treats double-quoted commas as literal", "[options]") {
    CHECK(split_option_list(R"(context="a,b",ro)") == Strings{"context=a,b", "ro"});
    CHECK(split_option_list(R"(context="system_u:object_r:container_file_t:s0:c1,c2")") ==
          Strings{"context=system_u:object_r:container_file_t:s0:c1,c2"});
    // The quotes themselves are removed, also around a whole item.
    CHECK(split_option_list(R"("a,b",c)") == Strings{"a,b", "c"});
}

TEST_CASE("split_lowerdirs splits on colons, top layer first", "[options]") {
    CHECK(split_lowerdirs("/a:/b:/c") == Strings{"/a", "/b", "/c"});
    CHECK(split_lowerdirs("/only") == Strings{"/only"});
    CHECK(split_lowerdirs("").empty());
    CHECK(split_lowerdirs("/a::/b:") == Strings{"/a", "/b"});
}

TEST_CASE("split_lowerdirs honours colon and backslash escapes", "[options]") {
    CHECK(split_lowerdirs(R"(/a\:b:/c)") == Strings{"/a:b", "/c"});
    CHECK(split_lowerdirs(R"(/a\\:/b)") == Strings{R"(/a\)", "/b"});
    CHECK(split_lowerdirs(R"(/a\\\:b)") == Strings{R"(/a\:b)"});
}

TEST_CASE("apply_option: generic kernel mount flags", "[options]") {
    MountConfig cfg;
    SECTION("ro and rw toggle read_only and are passed on") {
        REQUIRE(try_option(cfg, "ro").empty());
        CHECK(cfg.read_only);
        REQUIRE(try_option(cfg, "rw").empty());
        CHECK_FALSE(cfg.read_only);
        CHECK(cfg.kernel_opts == Strings{"ro", "rw"});
    }
    SECTION("nodev, allow_other, default_permissions are passed on in order") {
        REQUIRE(try_option(cfg, "nodev").empty());
        REQUIRE(try_option(cfg, "allow_other").empty());
        REQUIRE(try_option(cfg, "default_permissions").empty());
        CHECK(cfg.kernel_opts == Strings{"nodev", "allow_other", "default_permissions"});
        CHECK_FALSE(cfg.read_only);
    }
    SECTION("noatime is recorded and undone by atime variants") {
        REQUIRE(try_option(cfg, "noatime").empty());
        CHECK(cfg.noatime);
        REQUIRE(try_option(cfg, "relatime").empty());
        CHECK_FALSE(cfg.noatime);
        REQUIRE(try_option(cfg, "noatime").empty());
        REQUIRE(try_option(cfg, "strictatime").empty());
        CHECK_FALSE(cfg.noatime);
        REQUIRE(try_option(cfg, "noatime").empty());
        REQUIRE(try_option(cfg, "atime").empty());
        CHECK_FALSE(cfg.noatime);
    }
    SECTION("the flags mount.fuse3 adds are accepted") {
        for (const char* f : {"dev", "suid", "exec", "nosuid", "noexec", "async", "sync"})
            CHECK(try_option(cfg, f).empty());
    }
    SECTION("a kernel flag with a value is an error naming it") {
        auto e = try_option(cfg, "ro=1");
        CHECK(contains(e, "'ro'"));
        CHECK(contains(e, "takes no value"));
        CHECK_FALSE(cfg.read_only);
        CHECK(cfg.kernel_opts.empty());
    }
}

TEST_CASE("apply_option: layer directories", "[options]") {
    MountConfig cfg;
    REQUIRE(try_option(cfg, "lowerdir=/l1:/l2").empty());
    CHECK(cfg.lowerdirs == Strings{"/l1", "/l2"});
    REQUIRE(try_option(cfg, "upperdir=/u").empty());
    REQUIRE(try_option(cfg, "workdir=/w").empty());
    CHECK(cfg.upperdir == "/u");
    CHECK(cfg.workdir == "/w");

    SECTION("a later lowerdir replaces the earlier one") {
        REQUIRE(try_option(cfg, "lowerdir=/x").empty());
        CHECK(cfg.lowerdirs == Strings{"/x"});
    }
    SECTION("only the first '=' separates the value") {
        REQUIRE(try_option(cfg, "lowerdir=/a=b:/c").empty());
        CHECK(cfg.lowerdirs == Strings{"/a=b", "/c"});
        REQUIRE(try_option(cfg, "upperdir=/u=1").empty());
        CHECK(cfg.upperdir == "/u=1");
    }
    SECTION("escaped colons stay in the path") {
        REQUIRE(try_option(cfg, R"(lowerdir=/a\:b:/c)").empty());
        CHECK(cfg.lowerdirs == Strings{"/a:b", "/c"});
    }
    SECTION("missing or empty values are errors") {
        CHECK(contains(try_option(cfg, "lowerdir"), "needs a value"));
        CHECK(contains(try_option(cfg, "lowerdir="), "'lowerdir'"));
        CHECK(contains(try_option(cfg, "upperdir="), "'upperdir'"));
        CHECK(contains(try_option(cfg, "workdir"), "'workdir'"));
    }
    SECTION("a lowerdir of separators only is rejected") {
        auto e = try_option(cfg, "lowerdir=::");
        CHECK(contains(e, "'lowerdir'"));
        CHECK_FALSE(e.empty());
    }
}

TEST_CASE("apply_option: boolean flags", "[options]") {
    MountConfig cfg;
    REQUIRE(try_option(cfg, "squash_to_root").empty());
    CHECK(cfg.squash_to_root);
    REQUIRE(try_option(cfg, "volatile").empty());
    CHECK(cfg.no_sync);
    REQUIRE(try_option(cfg, "static_nlink").empty());
    CHECK(cfg.static_nlink);
    REQUIRE(try_option(cfg, "noxattrs").empty());
    CHECK(cfg.noxattrs);
    // None of them is a kernel option.
    CHECK(cfg.kernel_opts.empty());
}

TEST_CASE("apply_option: a flag given a value is an error naming it", "[options]") {
    MountConfig cfg;
    for (std::string f : {"squash_to_root", "volatile", "static_nlink"}) {
        INFO(f);
        auto e = try_option(cfg, f + "=1");
        CHECK(contains(e, "'" + f + "'"));
        CHECK(contains(e, "takes no value"));
    }
    CHECK_FALSE(cfg.squash_to_root);
    CHECK_FALSE(cfg.no_sync);
    CHECK_FALSE(cfg.static_nlink);
}

TEST_CASE("apply_option: squash_to_uid and squash_to_gid", "[options]") {
    MountConfig cfg;
    CHECK_FALSE(cfg.squash_uid);
    REQUIRE(try_option(cfg, "squash_to_uid=1000").empty());
    REQUIRE(try_option(cfg, "squash_to_gid=0").empty());
    CHECK(cfg.squash_uid == 1000u);
    CHECK(cfg.squash_gid == 0u);
    REQUIRE(try_option(cfg, "squash_to_uid=4294967295").empty());
    CHECK(cfg.squash_uid == 4294967295u);

    SECTION("malformed numbers") {
        for (std::string v : {"abc", "-1", "12x", "4294967296", " 5", "+5", "1.5"}) {
            INFO(v);
            auto e = try_option(cfg, "squash_to_uid=" + v);
            CHECK(contains(e, "'squash_to_uid'"));
            CHECK(contains(e, "'" + v + "'"));
        }
        CHECK(contains(try_option(cfg, "squash_to_gid=x"), "'squash_to_gid'"));
    }
    SECTION("missing values") {
        CHECK(contains(try_option(cfg, "squash_to_uid"), "needs a value"));
        CHECK(contains(try_option(cfg, "squash_to_gid="), "needs a value"));
    }
}

TEST_CASE("apply_option: uidmapping and gidmapping", "[options]") {
    MountConfig cfg;
    REQUIRE(try_option(cfg, "uidmapping=0:1000:1:1:100000:65536").empty());
    REQUIRE(try_option(cfg, "gidmapping=:0:2000:1").empty());
    CHECK(cfg.uid_map.to_container(0) == 1000u);
    CHECK(cfg.uid_map.to_container(1) == 100000u);
    CHECK(cfg.gid_map.to_container(0) == 2000u);
    CHECK(cfg.gid_map.to_container(1000) == layerfs::kOverflowId);

    CHECK(contains(try_option(cfg, "uidmapping=0:1000"), "'uidmapping'"));
    CHECK(contains(try_option(cfg, "gidmapping=a:b:c"), "'gidmapping'"));
    CHECK(contains(try_option(cfg, "uidmapping"), "needs a value"));
    CHECK(contains(try_option(cfg, "gidmapping="), "needs a value"));
    CHECK(contains(try_option(cfg, "uidmapping=0:0:10:5:100:1"), "overlap"));
    // A failed option leaves the earlier mapping in place.
    CHECK(cfg.uid_map.to_container(0) == 1000u);
}

TEST_CASE("apply_option: xattr_permissions", "[options]") {
    MountConfig cfg;
    CHECK(cfg.xattr_permissions == 0);
    REQUIRE(try_option(cfg, "xattr_permissions=1").empty());
    CHECK(cfg.xattr_permissions == 1);
    REQUIRE(try_option(cfg, "xattr_permissions=2").empty());
    CHECK(cfg.xattr_permissions == 2);
    REQUIRE(try_option(cfg, "xattr_permissions=0").empty());
    CHECK(cfg.xattr_permissions == 0);

    for (std::string v : {"3", "-1", "01", "yes"}) {
        INFO(v);
        CHECK(contains(try_option(cfg, "xattr_permissions=" + v), "'xattr_permissions'"));
    }
    CHECK(contains(try_option(cfg, "xattr_permissions"), "needs a value"));
    CHECK(cfg.xattr_permissions == 0);
}

TEST_CASE("apply_option: fsync and volatile", "[options]") {
    MountConfig cfg;
    CHECK_FALSE(cfg.no_sync);
    REQUIRE(try_option(cfg, "fsync=0").empty());
    CHECK(cfg.no_sync);
    REQUIRE(try_option(cfg, "fsync=1").empty());
    CHECK_FALSE(cfg.no_sync);
    CHECK(contains(try_option(cfg, "fsync=2"), "'fsync'"));
    CHECK(contains(try_option(cfg, "fsync"), "needs a value"));
    CHECK_FALSE(cfg.no_sync);
}

TEST_CASE("apply_option: noxattrs as flag or 0/1", "[options]") {
    MountConfig cfg;
    REQUIRE(try_option(cfg, "noxattrs=1").empty());
    CHECK(cfg.noxattrs);
    REQUIRE(try_option(cfg, "noxattrs=0").empty());
    CHECK_FALSE(cfg.noxattrs);
    CHECK(contains(try_option(cfg, "noxattrs=2"), "'noxattrs'"));
    CHECK_FALSE(try_option(cfg, "noxattrs=").empty());
}

TEST_CASE("apply_option: timeout", "[options]") {
    MountConfig cfg;
    CHECK(cfg.timeout == 86400.0);
    REQUIRE(try_option(cfg, "timeout=5").empty());
    CHECK(cfg.timeout == 5.0);
    REQUIRE(try_option(cfg, "timeout=0.25").empty());
    CHECK(cfg.timeout == 0.25);
    REQUIRE(try_option(cfg, "timeout=0").empty());
    CHECK(cfg.timeout == 0.0);

    for (std::string v : {"-1", "abc", "5s", "inf", "nan", "1e400"}) {
        INFO(v);
        auto e = try_option(cfg, "timeout=" + v);
        CHECK(contains(e, "'timeout'"));
        CHECK(contains(e, "'" + v + "'"));
    }
    CHECK(contains(try_option(cfg, "timeout"), "needs a value"));
    CHECK(cfg.timeout == 0.0);
}

TEST_CASE("apply_option: threaded and passthrough", "[options]") {
    for (const char* name : {"threaded", "passthrough"}) {
        MountConfig cfg;
        bool& value = std::string(name) == "threaded" ? cfg.threaded : cfg.passthrough;
        const std::string n = name;
        CHECK(value);
        REQUIRE(try_option(cfg, n + "=0").empty());
        CHECK_FALSE(value);
        REQUIRE(try_option(cfg, n + "=1").empty());
        CHECK(value);
        CHECK(contains(try_option(cfg, n + "=true"), "'" + n + "'"));
        CHECK(contains(try_option(cfg, n), "needs a value"));
    }
}

TEST_CASE("apply_option: redirect_dir and context are accepted", "[options]") {
    MountConfig cfg;
    for (std::string v : {"on", "off", "follow", "nofollow"}) {
        INFO(v);
        REQUIRE(try_option(cfg, "redirect_dir=" + v).empty());
        CHECK(cfg.redirect_dir == v);
    }
    CHECK(contains(try_option(cfg, "redirect_dir=maybe"), "'redirect_dir'"));
    CHECK(contains(try_option(cfg, "redirect_dir"), "needs a value"));

    REQUIRE(try_option(cfg, "context=system_u:object_r:container_file_t:s0").empty());
    CHECK(cfg.context == "system_u:object_r:container_file_t:s0");
    CHECK(contains(try_option(cfg, "context="), "needs a value"));
}

TEST_CASE("apply_option: unknown options are named in the error", "[options]") {
    MountConfig cfg;
    auto e = try_option(cfg, "frobnicate");
    CHECK(contains(e, "unknown option"));
    CHECK(contains(e, "'frobnicate'"));
    // The name is reported without its value.
    auto e2 = try_option(cfg, "frobnicate=7");
    CHECK(contains(e2, "'frobnicate'"));
    CHECK_FALSE(contains(e2, "7"));
    // Option names are case sensitive.
    CHECK(contains(try_option(cfg, "RO"), "unknown option"));
}

TEST_CASE("parse_mount_args: a minimal read-only mount", "[options]") {
    ParsedArgs p;
    REQUIRE(parse_mount_args({"-o", "lowerdir=/l", "/mnt"}, p).empty());
    CHECK(p.config.lowerdirs == Strings{"/l"});
    CHECK(p.config.mountpoint == "/mnt");
    CHECK(p.config.upperdir.empty());
    CHECK(p.config.workdir.empty());
    CHECK_FALSE(p.config.foreground);
    CHECK_FALSE(p.config.debug);
    CHECK_FALSE(p.help);
    CHECK_FALSE(p.version);
}

TEST_CASE("parse_mount_args: repeated and joined -o", "[options]") {
    ParsedArgs p;
    REQUIRE(parse_mount_args({"-o", "lowerdir=/l1:/l2", "-oupperdir=/u,workdir=/w", "-o",
                              "squash_to_uid=7", "/mnt"},
                             p)
                .empty());
    CHECK(p.config.lowerdirs == Strings{"/l1", "/l2"});
    CHECK(p.config.upperdir == "/u");
    CHECK(p.config.workdir == "/w");
    CHECK(p.config.squash_uid == 7u);
    CHECK(p.config.mountpoint == "/mnt");
}

TEST_CASE("parse_mount_args: options may follow the mount point", "[options]") {
    ParsedArgs p;
    REQUIRE(parse_mount_args({"/mnt", "-o", "lowerdir=/l"}, p).empty());
    CHECK(p.config.mountpoint == "/mnt");
    CHECK(p.config.lowerdirs == Strings{"/l"});
}

TEST_CASE("parse_mount_args: quoting and escapes reach the options", "[options]") {
    ParsedArgs p;
    REQUIRE(parse_mount_args({"-o", R"(lowerdir=/a\,b:/c\:d,context="x,y")", "/mnt"}, p).empty());
    CHECK(p.config.lowerdirs == Strings{"/a,b", "/c:d"});
    CHECK(p.config.context == "x,y");
}

TEST_CASE("parse_mount_args: -f and -d", "[options]") {
    SECTION("-f runs in the foreground without debug") {
        ParsedArgs p;
        REQUIRE(parse_mount_args({"-f", "-o", "lowerdir=/l", "/mnt"}, p).empty());
        CHECK(p.config.foreground);
        CHECK_FALSE(p.config.debug);
    }
    SECTION("-d implies foreground") {
        ParsedArgs p;
        REQUIRE(parse_mount_args({"-d", "-o", "lowerdir=/l", "/mnt"}, p).empty());
        CHECK(p.config.debug);
        CHECK(p.config.foreground);
    }
    SECTION("--debug is -d") {
        ParsedArgs p;
        REQUIRE(parse_mount_args({"--debug", "-o", "lowerdir=/l", "/mnt"}, p).empty());
        CHECK(p.config.debug);
        CHECK(p.config.foreground);
    }
}

TEST_CASE("parse_mount_args: mount.fuse3 style with a source", "[options]") {
    ParsedArgs p;
    REQUIRE(parse_mount_args({"overlay", "/mnt", "-o", "rw,dev,suid,lowerdir=/l"}, p).empty());
    CHECK(p.config.mountpoint == "/mnt");
    CHECK_FALSE(p.config.read_only);
    CHECK(p.config.kernel_opts == Strings{"rw", "dev", "suid"});
    CHECK(p.config.lowerdirs == Strings{"/l"});
}

TEST_CASE("parse_mount_args: errors", "[options]") {
    ParsedArgs p;
    SECTION("too many bare arguments") {
        auto e = parse_mount_args({"-o", "lowerdir=/l", "src", "extra", "/mnt"}, p);
        CHECK(contains(e, "too many arguments"));
    }
    SECTION("no mount point") {
        CHECK(contains(parse_mount_args({"-o", "lowerdir=/l"}, p), "mount point"));
    }
    SECTION("missing lowerdir") {
        auto e = parse_mount_args({"-o", "upperdir=/u,workdir=/w", "/mnt"}, p);
        CHECK(contains(e, "'lowerdir'"));
    }
    SECTION("upperdir without workdir") {
        auto e = parse_mount_args({"-o", "lowerdir=/l,upperdir=/u", "/mnt"}, p);
        CHECK(contains(e, "'upperdir' needs 'workdir'"));
    }
    SECTION("workdir without upperdir") {
        auto e = parse_mount_args({"-o", "lowerdir=/l,workdir=/w", "/mnt"}, p);
        CHECK(contains(e, "'workdir' needs 'upperdir'"));
    }
    SECTION("-o without its argument") {
        CHECK(contains(parse_mount_args({"/mnt", "-o"}, p), "'-o'"));
    }
    SECTION("an unknown dash argument") {
        CHECK(contains(parse_mount_args({"-x", "-o", "lowerdir=/l", "/mnt"}, p), "'-x'"));
        ParsedArgs p2;
        CHECK(contains(parse_mount_args({"--frob", "-o", "lowerdir=/l", "/mnt"}, p2), "'--frob'"));
    }
    SECTION("an option error is passed through") {
        auto e = parse_mount_args({"-o", "lowerdir=/l,bogus", "/mnt"}, p);
        CHECK(contains(e, "unknown option 'bogus'"));
        ParsedArgs p2;
        auto e2 = parse_mount_args({"-obogus2", "-o", "lowerdir=/l", "/mnt"}, p2);
        CHECK(contains(e2, "unknown option 'bogus2'"));
    }
}

TEST_CASE("parse_mount_args: help and version need nothing else", "[options]") {
    for (std::string flag : {"-h", "--help"}) {
        INFO(flag);
        ParsedArgs p;
        CHECK(parse_mount_args({flag}, p).empty());
        CHECK(p.help);
        CHECK_FALSE(p.version);
    }
    for (std::string flag : {"-V", "--version"}) {
        INFO(flag);
        ParsedArgs p;
        CHECK(parse_mount_args({flag}, p).empty());
        CHECK(p.version);
        CHECK_FALSE(p.help);
    }
    SECTION("help with an incomplete configuration is still not an error") {
        ParsedArgs p;
        CHECK(parse_mount_args({"-o", "upperdir=/u", "--help"}, p).empty());
        CHECK(p.help);
    }
}

TEST_CASE("apply_option: xino is accepted as fuse-overlayfs takes it", "[options]") {
    MountConfig cfg;
    for (const char* v : {"xino=on", "xino=off", "xino=auto"})
        CHECK(try_option(cfg, v).empty());
    CHECK(contains(try_option(cfg, "xino=maybe"), "'xino'"));
    CHECK(contains(try_option(cfg, "xino"), "needs a value"));
}

TEST_CASE("fuse_mount_options: fuse-overlayfs's defaults where the caller said nothing",
          "[options]") {
    using layerfs::fuse_mount_options;
    MountConfig cfg;
    const std::string base = "fsname=layerfs,subtype=layerfs,default_permissions";
    SECTION("root: allow_other and suid, nodev left to libfuse's default") {
        CHECK(fuse_mount_options(cfg, false, true, false) == base + ",allow_other,suid");
    }
    SECTION("an ordinary user: allow_other only when fuse.conf allows it, never suid") {
        CHECK(fuse_mount_options(cfg, false, false, false) == base);
        CHECK(fuse_mount_options(cfg, false, false, true) == base + ",allow_other");
    }
    SECTION("what the caller gave wins") {
        cfg.kernel_opts = {"nosuid", "allow_root", "dev", "default_permissions"};
        CHECK(fuse_mount_options(cfg, false, true, true) == base + ",nosuid,allow_root,dev");
        cfg.kernel_opts = {"suid", "allow_other"};
        CHECK(fuse_mount_options(cfg, false, true, false) == base + ",suid,allow_other");
    }
    SECTION("a mount without an upper layer is read-only") {
        CHECK(fuse_mount_options(cfg, true, false, false) == base + ",ro");
        cfg.kernel_opts = {"ro"};
        CHECK(fuse_mount_options(cfg, true, false, false) == base + ",ro");
    }
}

TEST_CASE("fuse_conf_allows_other reads /etc/fuse.conf's user_allow_other", "[options]") {
    using layerfs::fuse_conf_allows_other;
    CHECK_FALSE(fuse_conf_allows_other(""));
    CHECK_FALSE(fuse_conf_allows_other("# user_allow_other\nmount_max = 1000\n"));
    CHECK_FALSE(fuse_conf_allows_other("user_allow_others\n"));
    CHECK(fuse_conf_allows_other("user_allow_other"));
    CHECK(fuse_conf_allows_other("# comment\n  user_allow_other \t# yes\r\n"));
}
