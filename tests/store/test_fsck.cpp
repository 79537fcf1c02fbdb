// `layerfs fsck [--repair]` through the real binary: a store in use is clean;
// every kind of damage is found and named; --repair removes litter and orphans
// and unpacks damaged layers again, and never touches what it cannot restore.
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "snapshotter/digest.hpp"
#include "tests/store/store_helpers.hpp"

using namespace layerfs::test;

namespace {

struct Fsck {
    int status;
    std::string output;
};

Fsck fsck(const TestStore& s, bool repair = false) {
    auto r = s.lf(repair ? std::vector<std::string>{"fsck", "--repair"}
                         : std::vector<std::string>{"fsck"});
    return {r.status, r.output};
}

bool has(const std::string& text, const std::string& part) {
    return text.find(part) != std::string::npos;
}

std::string layer_of(const TestStore& s, const std::string& image, size_t i = 0) {
    return lower_dirs(s, image).at(i);  // .../layers/<hex>/diff
}

std::string short_hex(const std::string& diff_dir) {
    auto layer = diff_dir.substr(0, diff_dir.size() - 5);  // without /diff
    return layer.substr(layer.rfind('/') + 1, 12);
}

}  // namespace

TEST_CASE("fsck finds nothing wrong in a store in use", "[fsck]") {
    TestStore s;
    TempDir t;
    REQUIRE_OK(s.lf({"tag", "busybox", "bb:1"}));
    REQUIRE_OK(s.lf({"create", "--name", "c1", "busybox"}));
    write_file(t / "tree/etc/hostname", "box\n");
    make_symlink("hostname", t / "tree/etc/link");
    REQUIRE_OK(s.lf({"import", t / "tree", "dir:1"}));
    auto f = fsck(s);
    INFO(f.output);
    CHECK(f.status == 0);
    // Each image: a layer blob, its config and its manifest.
    CHECK(f.output == "checked 6 blobs, 2 layers, 2 images, 1 containers: no problems\n");
    CHECK(fsck(s, true).output == f.output);
}

TEST_CASE("fsck names damaged layer files and --repair unpacks the layer again", "[fsck]") {
    TestStore s;
    TempDir t;
    REQUIRE_OK(s.lf({"tag", "busybox", "bb:1"}));
    std::string diff = layer_of(s, "bb:1");
    std::string passwd = read_file(diff + "/etc/passwd");
    struct stat before = lstat_of(diff + "/bin/sh");

    write_file(diff + "/etc/passwd", "intruder::0:0::/:/bin/sh\n");
    REQUIRE(::unlink((diff + "/bin/ls").c_str()) == 0);
    write_file(diff + "/planted", "x");
    REQUIRE(::chmod((diff + "/etc").c_str(), 0777) == 0);
    REQUIRE(::lsetxattr((diff + "/etc/group").c_str(), "user.x", "1", 1, 0) == 0);

    auto f = fsck(s);
    INFO(f.output);
    CHECK(f.status == 1);
    std::string hex = short_hex(diff);
    CHECK(has(f.output, "layer sha256:" + hex + ": "));
    CHECK(has(f.output, "bin/ls: missing"));
    CHECK(has(f.output, "etc/passwd: size, content"));
    CHECK(has(f.output, "planted: not in the layer"));
    CHECK(has(f.output, "etc: mode"));
    CHECK(has(f.output, "1 damaged"));
    // Reading does not repair.
    CHECK(read_file(diff + "/planted") == "x");

    auto r = fsck(s, true);
    INFO(r.output);
    CHECK(r.status == 0);
    CHECK(has(r.output, "(repaired: unpacked again from blob sha256:"));
    CHECK(read_file(diff + "/etc/passwd") == passwd);
    CHECK_FALSE(exists(diff + "/planted"));
    CHECK(lstat_of(diff + "/bin/ls").st_ino != 0);
    CHECK((lstat_of(diff + "/etc").st_mode & 07777) == 0755);
    CHECK(lstat_of(diff + "/bin/sh").st_size == before.st_size);
    CHECK(fsck(s).output.find("no problems") != std::string::npos);
}

TEST_CASE("fsck --repair restores a missing layer and its file index from the blob", "[fsck]") {
    TestStore s;
    REQUIRE_OK(s.lf({"tag", "busybox", "bb:1"}));
    std::string diff = layer_of(s, "bb:1");
    std::string layer = diff.substr(0, diff.size() - 5);

    SECTION("the file index is gone") {
        REQUIRE(::unlink((layer + "/files.json").c_str()) == 0);
        auto f = fsck(s);
        CHECK(f.status == 1);
        CHECK(has(f.output, "its file index"));
    }
    SECTION("the file index is not one") {
        write_file(layer + "/files.json", "{\"version\": 1, \"files\": [[1]]}");
        auto f = fsck(s);
        CHECK(f.status == 1);
        CHECK(has(f.output, "not a layer file index"));
    }
    SECTION("the whole layer is gone") {
        REQUIRE_OK(run({"rm", "-rf", layer}));
        auto f = fsck(s);
        INFO(f.output);
        CHECK(f.status == 1);
        CHECK(has(f.output, "layer sha256:" + short_hex(diff) + " is missing"));
    }
    auto r = fsck(s, true);
    INFO(r.output);
    CHECK(r.status == 0);
    CHECK(has(r.output, "repaired: unpacked again"));
    CHECK(exists(diff + "/bin/busybox"));
    CHECK(has(fsck(s).output, "no problems"));
}

TEST_CASE("fsck reports a corrupt blob it cannot restore and leaves it", "[fsck]") {
    TestStore s;
    REQUIRE_OK(s.lf({"tag", "busybox", "bb:1"}));
    std::string diff = layer_of(s, "bb:1");
    std::string hex = diff.substr(0, diff.size() - 5);
    hex = hex.substr(hex.rfind('/') + 1);  // busybox's layer blob is its uncompressed tar
    std::string blob = s.root + "/blobs/sha256/" + hex;
    std::string bytes = read_file(blob);
    bytes[bytes.size() / 2] ^= 1;
    REQUIRE(::chmod(blob.c_str(), 0644) == 0);
    write_file(blob, bytes);

    auto f = fsck(s);
    INFO(f.output);
    CHECK(f.status == 1);
    CHECK(has(f.output, "blob sha256:" + hex.substr(0, 12) +
                            " is corrupt: its content has digest sha256:" +
                            layerfs::store::sha256_hex(bytes).substr(0, 12)));
    auto r = fsck(s, true);
    CHECK(r.status == 1);  // nothing to restore it from
    CHECK(read_file(blob) == bytes);
    // The layer is intact, so the image still runs from it.
    CHECK(exists(diff + "/bin/busybox"));

    // With the layer damaged too, the repair says why it cannot unpack it again.
    REQUIRE(::unlink((diff + "/bin/busybox").c_str()) == 0);
    r = fsck(s, true);
    INFO(r.output);
    CHECK(r.status == 1);
    CHECK(has(r.output, "(repair failed: "));
}

TEST_CASE("fsck --repair drops an image whose manifest is gone, and keeps the others", "[fsck]") {
    TestStore s;
    TempDir t;
    REQUIRE_OK(s.lf({"tag", "busybox", "bb:1"}));
    write_file(t / "tree/file", "mine\n");
    REQUIRE_OK(s.lf({"import", t / "tree", "mine:1"}));
    std::string manifest;
    auto index = nlohmann::json::parse(read_file(s.root + "/index.json"));
    for (const auto& m : index["manifests"])
        if (m["annotations"].value("org.opencontainers.image.ref.name", "") == "mine:1")
            manifest = m["digest"].get<std::string>().substr(7);
    REQUIRE(manifest.size() == 64);
    REQUIRE(::unlink((s.root + "/blobs/sha256/" + manifest).c_str()) == 0);
    // Every image command fails now: fsck is how to get out.
    CHECK(s.lf({"images"}).status == 1);

    auto f = fsck(s);
    INFO(f.output);
    CHECK(f.status == 1);
    CHECK(has(f.output, "image mine:1 (manifest sha256:" + manifest.substr(0, 12) + "): "));
    CHECK(has(f.output, "is missing from the store"));
    auto r = fsck(s, true);
    INFO(r.output);
    CHECK(r.status == 0);
    CHECK(has(r.output, "removed from the index"));
    CHECK(has(r.output, "is an orphan"));  // its layer and config, now named by nothing
    CHECK(listed_names(s) == std::multiset<std::string>{"busybox:latest", "bb:1"});
    CHECK(has(fsck(s).output, "no problems"));
}

TEST_CASE("fsck lists litter and orphans without failing; --repair removes them", "[fsck]") {
    TestStore s;
    REQUIRE_OK(s.lf({"tag", "busybox", "bb:1"}));
    std::string orphan = "an orphan blob\n";
    std::string orphan_hex = layerfs::store::sha256_hex(orphan);
    write_file(s.root + "/blobs/sha256/" + orphan_hex, orphan);
    write_file(s.root + "/blobs/sha256/not-a-digest", "?");
    std::string layer_hex(64, 'e');
    write_file(s.root + "/layers/" + layer_hex + "/diff/f", "x");
    write_file(s.root + "/tmp/txn-1-deadbeef/blob-x", "half");
    write_file(s.root + "/.index.json.tmp-99999", "{");
    std::string index = read_file(s.root + "/index.json");

    auto f = fsck(s);
    INFO(f.output);
    CHECK(f.status == 0);
    CHECK(has(f.output, "blob sha256:" + orphan_hex.substr(0, 12) + " is an orphan"));
    CHECK(has(f.output, "blobs/sha256/not-a-digest is not a blob"));
    CHECK(has(f.output, "layer sha256:eeeeeeeeeeee is an orphan"));
    CHECK(has(f.output, "tmp/txn-1-deadbeef was left by an interrupted command"));
    CHECK(has(f.output, ".index.json.tmp-99999 was left by an interrupted command"));
    CHECK(has(f.output, "0 damaged, 5 left over or orphaned"));
    CHECK(exists(s.root + "/tmp/txn-1-deadbeef"));

    auto r = fsck(s, true);
    INFO(r.output);
    CHECK(r.status == 0);
    CHECK(has(r.output, ": 5 repaired"));
    CHECK_FALSE(exists(s.root + "/blobs/sha256/" + orphan_hex));
    CHECK_FALSE(exists(s.root + "/layers/" + layer_hex));
    CHECK(list_dir(s.root + "/tmp").empty());
    CHECK_FALSE(exists(s.root + "/.index.json.tmp-99999"));
    CHECK(read_file(s.root + "/index.json") == index);
    CHECK(has(fsck(s).output, "no problems"));
}

TEST_CASE("fsck checks containers and never removes a directory that may hold files", "[fsck]") {
    TestStore s;
    REQUIRE_OK(s.lf({"tag", "busybox", "bb:1"}));
    REQUIRE_OK(s.lf({"create", "--name", "c1", "bb:1"}));
    std::string diff = layer_of(s, "bb:1");
    std::string stray = s.root + "/containers/" + std::string(64, 'a');
    write_file(stray + "/upper/precious", "keep me\n");
    // The image goes, the container keeps its layer.
    REQUIRE_OK(s.lf({"rmi", "-f", "bb:1"}));
    REQUIRE_OK(s.lf({"rmi", "-f", "busybox"}));
    CHECK(exists(diff));

    auto f = fsck(s);
    INFO(f.output);
    CHECK(f.status == 1);
    CHECK(has(f.output, "containers/" + std::string(64, 'a') + " is not a container"));
    auto r = fsck(s, true);
    CHECK(r.status == 1);
    CHECK(read_file(stray + "/upper/precious") == "keep me\n");
    CHECK(exists(diff + "/bin/busybox"));  // the container's layer is no orphan

    // Its layer gone with no image left to restore it from: named, not repaired.
    REQUIRE_OK(run({"rm", "-rf", stray}));
    REQUIRE_OK(run({"rm", "-rf", diff.substr(0, diff.size() - 5)}));
    r = fsck(s, true);
    INFO(r.output);
    CHECK(r.status == 1);
    CHECK(has(r.output, " is missing (repair failed: no blob in the store holds this layer)"));
}

TEST_CASE("fsck refuses bad usage", "[fsck]") {
    TestStore s;
    CHECK(s.lf({"fsck", "--repair=maybe"}).status == 2);
    CHECK(s.lf({"fsck", "extra"}).status == 2);
}
