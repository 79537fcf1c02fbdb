// The store run as an ordinary user (tests/run_rootless.sh): files it may not
// own are kept as its own, their owner and mode recorded in
// user.containers.override_stat, which a mount with xattr_permissions=2 shows.
#include <archive.h>
#include <archive_entry.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>

#include "tests/store/store_helpers.hpp"
#include "tests/support/tree.hpp"

using namespace layerfs::test;
using json = nlohmann::json;

namespace {

// Owned by root and by uid 1000, with modes an ordinary user cannot give its
// own files on disk.
const std::vector<TarMember>& rootfs() {
    static const std::vector<TarMember> members = {
        {"etc/", S_IFDIR | 0755},
        {"etc/shadow", S_IFREG | 0600, 0, 42, "root:*:1::::::\n"},
        {"etc/hostname", S_IFREG | 0644, 0, 0, "box\n"},
        {"bin/", S_IFDIR | 0755},
        {"bin/su", S_IFREG | 04755, 0, 0, "#!/bin/sh\necho su\n"},
        {"bin/su-too", S_IFREG | 04755, 0, 0, "", "bin/su"},
        {"bin/sh", S_IFLNK | 0777, 0, 0, "su"},
        {"bin/tool", S_IFREG | 0755, 1000, 1000, "tool"},
        {"home/", S_IFDIR | 0755},
        {"home/user/", S_IFDIR | 0755, 1000, 1000},
        {"home/private/", S_IFDIR | 0700, 1000, 1000},  // not searchable by us: kept empty
        {"home/user/secret", S_IFREG | 0600, 1000, 1000, "mine"},
        {"home/user/sgid", S_IFREG | 02750, 1000, 100, "sgid"},
        {"locked/", S_IFDIR | 0555, 0, 0},
        {"locked/ro", S_IFREG | 0400, 0, 0, "read only"},
        {"dev/", S_IFDIR | 0755},
        {"dev/null", S_IFCHR | 0666, 0, 0, "", "", makedev(1, 3)},
        {"attr", S_IFREG | 0644, 0, 0, "a", "", 0, {{"user.foo", "bar"}}},
    };
    return members;
}

// What stat through a xattr_permissions=2 mount must show for each member.
void check_owners(const std::string& mnt, const std::vector<TarMember>& members) {
    for (const auto& m : members) {
        CAPTURE(m.path);
        std::string p = mnt + "/" + m.path;
        if (p.back() == '/') p.pop_back();
        struct stat st = lstat_of(p);
        CHECK((st.st_mode & S_IFMT) == (m.mode & S_IFMT));
        if (S_ISLNK(m.mode)) continue;  // symlinks cannot carry user.* xattrs
        CHECK(st.st_uid == m.uid);
        CHECK(st.st_gid == m.gid);
        CHECK((st.st_mode & 07777) == (m.mode & 07777));
        if (S_ISCHR(m.mode)) CHECK(st.st_rdev == m.rdev);
    }
}

class ScopedEnv {
  public:
    ScopedEnv(const char* name, const std::optional<std::string>& value) : name_(name) {
        if (const char* old = std::getenv(name)) old_ = old;
        if (value)
            ::setenv(name, value->c_str(), 1);
        else
            ::unsetenv(name);
    }
    ~ScopedEnv() {
        if (old_)
            ::setenv(name_, old_->c_str(), 1);
        else
            ::unsetenv(name_);
    }

  private:
    const char* name_;
    std::optional<std::string> old_;
};

}  // namespace

TEST_CASE("an ordinary user's store keeps the tar's owners and modes for the mount", "[rootless]") {
    REQUIRE(::geteuid() != 0);
    TestStore s;
    TempDir t;
    write_tar(t / "rootfs.tar", rootfs());
    REQUIRE_OK(s.lf({"import", t / "rootfs.tar", "rootless/img:v1"}));

    SECTION("stat through a xattr_permissions=2 mount shows them") {
        std::vector<std::string> lowers = lower_dirs(s, "rootless/img:v1");
        REQUIRE(lowers.size() == 1);
        // On disk everything is the user's, and stays readable and removable by it.
        struct stat su = lstat_of(lowers[0] + "/bin/su");
        CHECK(su.st_uid == ::geteuid());
        CHECK((su.st_mode & 06000) == 0);
        make_dir(t / "mnt");
        Mount m(Backend::Layerfs, lowers, "", "", t / "mnt", "xattr_permissions=2");
        INFO(m.result().output);
        REQUIRE(m.ok());
        check_owners(t / "mnt", rootfs());
        CHECK(read_file(t / "mnt/etc/hostname") == "box\n");
        CHECK(lstat_of(t / "mnt/bin/su").st_ino == lstat_of(t / "mnt/bin/su-too").st_ino);
        char v[16];
        ssize_t n = ::lgetxattr((t / "mnt/attr").c_str(), "user.foo", v, sizeof v);
        CHECK(std::string(v, n > 0 ? size_t(n) : 0) == "bar");
        CHECK(::lgetxattr((t / "mnt/bin/su").c_str(), "user.containers.override_stat", v,
                          sizeof v) < 0);
    }

    SECTION("without xattr_permissions the files are the user's") {
        make_dir(t / "mnt");
        Mount m(Backend::Layerfs, lower_dirs(s, "rootless/img:v1"), "", "", t / "mnt");
        INFO(m.result().output);
        REQUIRE(m.ok());
        CHECK(lstat_of(t / "mnt/bin/su").st_uid == ::geteuid());
        CHECK(read_file(t / "mnt/home/user/secret") == "mine");
    }

    SECTION("tag, export, rmi and prune work") {
        REQUIRE_OK(s.lf({"tag", "rootless/img:v1", "rootless/other:v2"}));
        auto images = s.lf({"images"});
        CHECK(images.output.find("rootless/other") != std::string::npos);
        std::string id = inspect(s, "rootless/img:v1").value("Id", "");

        REQUIRE_OK(s.lf({"export", "rootless/other:v2", t / "layout"}));
        REQUIRE_OK(s.lf({"export", "rootless/img:v1", t / "img.tar"}));
        TestStore other;
        REQUIRE_OK(other.lf({"import", t / "img.tar"}));
        CHECK(inspect(other, "rootless/img:v1").value("Id", "") == id);
        REQUIRE_OK(other.lf({"import", t / "layout:v2", "again:1"}));
        CHECK(inspect(other, "again:1").value("Id", "") == id);
        {
            make_dir(t / "mnt2");
            Mount m(Backend::Layerfs, lower_dirs(other, "again:1"), "", "", t / "mnt2",
                    "xattr_permissions=2");
            INFO(m.result().output);
            REQUIRE(m.ok());
            check_owners(t / "mnt2", rootfs());
        }

        auto untag = s.lf({"rmi", "rootless/other:v2"});
        INFO(untag.output);
        CHECK(untag.status == 0);
        CHECK(untag.output.find("Untagged: rootless/other:v2") != std::string::npos);
        auto gone = s.lf({"rmi", "rootless/img:v1"});
        INFO(gone.output);
        CHECK(gone.status == 0);
        CHECK(gone.output.find("Deleted: " + id) != std::string::npos);
        // The layer held read-only directories and files: removed all the same.
        CHECK(list_dir(s.root + "/layers").empty());
        CHECK(list_dir(s.root + "/blobs/sha256").empty());

        // prune: an image whose last name moved on is untagged, and goes.
        REQUIRE_OK(other.lf({"rmi", "rootless/img:v1"}));  // it is still again:1
        REQUIRE_OK(other.lf({"tag", "busybox", "again:1"}));
        CHECK(other.lf({"inspect", id.substr(7, 12)}).status == 0);
        auto pruned = other.lf({"prune"});
        INFO(pruned.output);
        CHECK(pruned.status == 0);
        CHECK(pruned.output.find("Deleted image: " + id) != std::string::npos);
        CHECK(other.lf({"inspect", id.substr(7, 12)}).status == 1);
        CHECK(list_dir(other.root + "/layers").size() == 1);  // busybox's
    }
}

TEST_CASE("an ordinary user's store applies whiteouts and opaque directories", "[rootless]") {
    REQUIRE(::geteuid() != 0);
    TestStore s;
    TempDir t;
    write_tar(t / "rootfs.tar", rootfs());
    REQUIRE_OK(s.lf({"import", t / "rootfs.tar", "base:v1"}));
    std::string d = t / "layout";
    REQUIRE_OK(s.lf({"export", "base:v1", d}));
    write_file(t / "opq/only", "only", 0644);
    write_file(t / "new", "new", 0640);
    for (std::vector<std::string> step : {
             std::vector<std::string>{"--whiteout", "/etc/shadow"},
             {"--whiteout", "/locked"},
             {"--opaque", t / "opq", "/home"},
             {t / "new", "/etc/new"},
         }) {
        step.insert(step.begin(), {"umoci", "insert", "--image", d + ":v1"});
        CAPTURE(step);
        REQUIRE_OK(run(step));
    }
    REQUIRE_OK(s.lf({"import", d + ":v1", "layered:v1"}));
    auto lowers = lower_dirs(s, "layered:v1");
    REQUIRE(lowers.size() == 5);
    make_dir(t / "mnt");
    Mount m(Backend::Layerfs, lowers, "", "", t / "mnt", "xattr_permissions=2");
    INFO(m.result().output);
    REQUIRE(m.ok());
    CHECK(list_dir(t / "mnt/etc") == std::vector<std::string>{"hostname", "new"});
    CHECK_FALSE(exists(t / "mnt/locked"));
    CHECK(list_dir(t / "mnt/home") == std::vector<std::string>{"only"});
    CHECK(read_file(t / "mnt/home/only") == "only");
    CHECK(read_file(t / "mnt/etc/new") == "new");
    CHECK((lstat_of(t / "mnt/etc/new").st_mode & 07777) == 0640);
    CHECK(lstat_of(t / "mnt/etc/new").st_uid == ::geteuid());  // umoci records the inserter
    CHECK((lstat_of(t / "mnt/bin/su").st_mode & 07777) == 04755);
    CHECK(lstat_of(t / "mnt/bin/su").st_uid == 0);
}

TEST_CASE("an ordinary user's store records a fifo it may not give away", "[rootless]") {
    REQUIRE(::geteuid() != 0);
    TestStore s;
    TempDir t;
    std::vector<TarMember> members = {
        {"run/", S_IFDIR | 0755},
        {"run/mine", S_IFIFO | 0600, ::geteuid(), ::getegid()},
        {"run/roots", S_IFIFO | 0620, 0, 5},
    };
    write_tar(t / "fifo.tar", members);
    REQUIRE_OK(s.lf({"import", t / "fifo.tar", "fifo:v1"}));
    make_dir(t / "mnt");
    Mount m(Backend::Layerfs, lower_dirs(s, "fifo:v1"), "", "", t / "mnt", "xattr_permissions=2");
    INFO(m.result().output);
    REQUIRE(m.ok());
    CHECK(S_ISFIFO(lstat_of(t / "mnt/run/mine").st_mode));
    CHECK(S_ISFIFO(lstat_of(t / "mnt/run/roots").st_mode));
}

TEST_CASE("an ordinary user's busybox and default store root", "[rootless]") {
    REQUIRE(::geteuid() != 0);
    TempDir t;
    // No --root: $XDG_DATA_HOME/layerfs, kept inside the test's temp dir.
    ScopedEnv no_root("LAYERFS_ROOT", std::nullopt);
    ScopedEnv xdg("XDG_DATA_HOME", t / "xdg");
    auto lf = [](std::vector<std::string> args) {
        args.insert(args.begin(), layerfs_bin());
        return run(args);
    };
    write_tar(t / "rootfs.tar", rootfs());
    REQUIRE_OK(lf({"import", t / "rootfs.tar", "rootless/img:v1"}));
    REQUIRE_OK(lf({"tag", "busybox", "bb:1"}));
    CHECK(exists(t / "xdg/layerfs/index.json"));
    auto images = lf({"images"});
    INFO(images.output);
    CHECK(images.output.find("rootless/img") != std::string::npos);
    CHECK(images.output.find("busybox") != std::string::npos);

    auto r = lf({"inspect", "busybox"});
    REQUIRE(r.status == 0);
    std::string lower =
        json::parse(r.output)[0]["GraphDriver"]["Data"].value("LowerDir", std::string());
    CHECK(lower.rfind(t / "xdg/layerfs/layers/", 0) == 0);
    make_dir(t / "mnt");
    {
        Mount m(Backend::Layerfs, {lower}, "", "", t / "mnt", "xattr_permissions=2");
        INFO(m.result().output);
        REQUIRE(m.ok());
        struct stat bb = lstat_of(t / "mnt/bin/busybox");
        CHECK(bb.st_uid == 0);
        CHECK((bb.st_mode & 07777) == 0755);
        CHECK(lstat_of(t / "mnt/bin/ls").st_ino == bb.st_ino);
        CHECK((lstat_of(t / "mnt/tmp").st_mode & 07777) == 01777);
        CHECK((lstat_of(t / "mnt/root").st_mode & 07777) == 0700);
    }
    REQUIRE_OK(lf({"rmi", "rootless/img:v1"}));
    REQUIRE_OK(lf({"rmi", "busybox", "bb:1"}));
    REQUIRE_OK(lf({"prune"}));
    CHECK(list_dir(t / "xdg/layerfs/layers").empty());
}
