// A store on a full file system: import and commit fail with the reason, and
// leave the store as it was (same images, nothing staged, no space held).
#include <sys/mount.h>
#include <sys/statvfs.h>

#include <catch2/catch.hpp>
#include <random>

#include "tests/store/store_helpers.hpp"

using namespace layerfs::test;

namespace {

// A small tmpfs, unmounted whatever the test does.
struct SmallFs {
    TempDir dir;
    std::string path = dir / "fs";
    explicit SmallFs(const std::string& size) {
        make_dir(path);
        REQUIRE(::mount("tmpfs", path.c_str(), "tmpfs", 0, ("size=" + size).c_str()) == 0);
    }
    ~SmallFs() { ::umount2(path.c_str(), MNT_DETACH); }
    uint64_t used() const {
        struct statvfs v {};
        REQUIRE(::statvfs(path.c_str(), &v) == 0);
        return uint64_t(v.f_blocks - v.f_bfree) * v.f_frsize;
    }
};

std::string random_bytes(size_t n, unsigned seed) {
    std::mt19937 rng(seed);
    std::string s(n, '\0');
    for (auto& c : s)
        c = char(rng());
    return s;
}

// The store as a user sees it, and that fsck finds nothing at all.
void check_unchanged(const TestStore& s, const std::multiset<std::string>& names, uint64_t used,
                     const SmallFs& fs) {
    CHECK(listed_names(s) == names);
    CHECK(list_dir(s.root + "/tmp").empty());
    auto f = s.lf({"fsck"});
    INFO(f.output);
    CHECK(f.output.ends_with(": no problems\n"));
    // Nothing staged is left holding space (directories may have grown a block).
    CHECK(fs.used() <= used + 64 * 1024);
}

}  // namespace

TEST_CASE("an import that fills the disk fails with the reason and changes nothing", "[enospc]") {
    SmallFs fs("24m");
    TestStore s;
    s.root = fs.path + "/store";
    REQUIRE_OK(s.lf({"tag", "busybox", "bb:1"}));
    std::multiset<std::string> names = {"busybox:latest", "bb:1"};
    uint64_t used = fs.used();

    TempDir t;
    // 12 MB of files: the blob and the unpacked layer need twice that.
    for (int i = 0; i < 12; i++)
        write_file(t / ("big/f" + std::to_string(i)), random_bytes(1 << 20, unsigned(i)));
    REQUIRE_OK(run({"tar", "-C", t / "big", "-cf", t / "big.tar", "."}));
    for (const std::string& source : {t / "big.tar", t / "big"}) {
        CAPTURE(source);
        auto r = s.lf({"import", source, "big:1"});
        INFO(r.output);
        CHECK(r.status == 1);
        CHECK(r.output.find("layerfs: ") == 0);
        CHECK(r.output.find("No space left on device") != std::string::npos);
        check_unchanged(s, names, used, fs);
    }
    // What fits still goes in.
    write_file(t / "small/f", "small\n");
    REQUIRE_OK(s.lf({"import", t / "small", "small:1"}));
}

TEST_CASE("a commit that fills the disk fails with the reason and keeps the container",
          "[enospc]") {
    SmallFs fs("24m");
    TestStore s;
    s.root = fs.path + "/store";
    REQUIRE_OK(s.lf({"create", "--name", "c1", "busybox"}));
    std::string upper = s.root + "/containers/" + list_dir(s.root + "/containers").at(0) + "/upper";
    // The layer tar and its unpacked copy need 16 MB more than the free space allows.
    std::string data = random_bytes(8 << 20, 7);
    write_file(upper + "/data/blob", data);
    std::multiset<std::string> names = {"busybox:latest"};
    uint64_t used = fs.used();

    auto r = s.lf({"commit", "c1", "snap:1"});
    INFO(r.output);
    CHECK(r.status == 1);
    CHECK(r.output.find("layerfs: ") == 0);
    CHECK(r.output.find("No space left on device") != std::string::npos);
    check_unchanged(s, names, used, fs);
    CHECK(read_file(upper + "/data/blob") == data);
    auto d = s.lf({"diff", "c1"});
    CHECK(d.output == "A /data\nA /data/blob\n");

    // With room made, the same commit succeeds.
    REQUIRE(::truncate((upper + "/data/blob").c_str(), 1 << 20) == 0);
    REQUIRE_OK(s.lf({"commit", "c1", "snap:1"}));
    CHECK(lstat_of(lower_dirs(s, "snap:1")[0] + "/data/blob").st_size == 1 << 20);
}
