// Round trips between the layerfs store and other OCI tools: umoci, skopeo and
// podman. A tree is the same when names, types, modes, owners, contents,
// xattrs and hard links agree (tree.hpp's snapshot plus xattrs and link groups).
#include <archive.h>
#include <archive_entry.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "tests/store/store_helpers.hpp"
#include "tests/support/tree.hpp"

using namespace layerfs::test;
using json = nlohmann::json;

namespace {

// ---- trees ------------------------------------------------------------------

// snapshot() plus the root itself, every entry's xattrs, the mtime of all but
// directories (whole seconds only unless `ns`: tars made without pax headers keep
// no more), and for names of a file with several links the first name (in
// sorted order) of its inode.
std::map<std::string, std::string> full_snapshot(const std::string& root, bool ns = true) {
    auto snap = snapshot(root);
    std::map<std::pair<dev_t, ino_t>, std::string> first;
    for (auto& [rel, desc] : snap) {
        std::string p = root + rel;
        struct stat st;
        if (::lstat(p.c_str(), &st) < 0) continue;
        desc += xattrs_of(p);
        if (!S_ISDIR(st.st_mode))
            desc += " mtime=" + std::to_string(st.st_mtim.tv_sec) +
                    (ns ? "." + std::to_string(st.st_mtim.tv_nsec) : "");
        if (!S_ISDIR(st.st_mode) && st.st_nlink > 1) {
            auto it = first.try_emplace({st.st_dev, st.st_ino}, rel).first;
            desc += " links-with=" + it->second;
        }
    }
    struct stat st = lstat_of(root);
    char buf[96];
    std::snprintf(buf, sizeof buf, "mode=%o uid=%u gid=%u", unsigned(st.st_mode),
                  unsigned(st.st_uid), unsigned(st.st_gid));
    snap["/"] = buf + xattrs_of(root);
    return snap;
}

// ---- tars -------------------------------------------------------------------

std::string pattern(size_t n, unsigned seed) {
    std::string s(n, '\0');
    uint32_t x = seed * 2654435761u + 1;
    for (auto& c : s) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        c = char('a' + x % 26);
    }
    return s;
}

// A root-owned tree with one of everything: owners, set-id bits, hard links
// (also across directories), symlinks, a fifo, a device, xattrs, empty things,
// long names.
void build_variety(const std::string& d) {
    auto own = [](const std::string& p, uid_t u, gid_t g, mode_t mode = 0) {
        REQUIRE(::lchown(p.c_str(), u, g) == 0);
        if (mode) REQUIRE(::chmod(p.c_str(), mode) == 0);  // after chown: it clears set-id
    };
    make_dir(d, 0755);
    write_file(d + "/etc/passwd", "root:x:0:0::/root:/bin/sh\nuser:x:1000:1000::/home/user:\n");
    write_file(d + "/etc/shadow", "root:*:1::::::\n", 0640);
    own(d + "/etc/shadow", 0, 42, 0640);
    make_dir(d + "/home/user", 0700);
    own(d + "/home/user", 1000, 1000, 0700);
    write_file(d + "/home/user/notes", "mine", 0600);
    own(d + "/home/user/notes", 1000, 1000, 0600);
    write_file(d + "/bin/suid", "#!/bin/sh\necho suid\n", 0755);
    own(d + "/bin/suid", 0, 0, 04755);
    write_file(d + "/bin/sgid", "#!/bin/sh\necho sgid\n", 0755);
    own(d + "/bin/sgid", 0, 1000, 02755);
    write_file(d + "/bin/user-suid", "#!/bin/sh\necho u\n", 0750);
    own(d + "/bin/user-suid", 1000, 1000, 04750);
    write_file(d + "/data/a", pattern(5000, 1), 0644);
    REQUIRE(::link((d + "/data/a").c_str(), (d + "/data/b").c_str()) == 0);
    REQUIRE(::link((d + "/data/a").c_str(), (d + "/etc/a-too").c_str()) == 0);
    write_file(d + "/data/big", pattern(3 << 20, 2), 0644);
    write_file(d + "/data/emptyfile", "", 0644);
    make_symlink("../data/a", d + "/bin/link");
    make_symlink("/nonexistent/target", d + "/dangling");
    own(d + "/dangling", 1000, 1000);
    make_dir(d + "/run", 0755);
    REQUIRE(::mkfifo((d + "/run/fifo").c_str(), 0640) == 0);
    own(d + "/run/fifo", 1000, 1000, 0640);
    make_dir(d + "/dev", 0755);
    REQUIRE(::mknod((d + "/dev/null").c_str(), S_IFCHR | 0666, makedev(1, 3)) == 0);
    own(d + "/dev/null", 0, 0, 0666);
    write_file(d + "/xattr/file", "x", 0644);
    set_xattr(d + "/xattr/file", "user.foo", "bar");
    set_xattr(d + "/xattr", "user.dir", "1");
    // cap_net_raw+ep, as `setcap` writes it (vfs_cap_data, revision 2).
    const unsigned char cap[20] = {0x01, 0, 0, 0x02, 0, 0x20, 0, 0, 0, 0,
                                   0,    0, 0, 0,    0, 0,    0, 0, 0, 0};
    write_file(d + "/bin/ping", "ping", 0755);
    set_xattr(d + "/bin/ping", "security.capability",
              std::string_view((const char*)cap, sizeof cap));
    write_file(d + "/xattr/trusted", "t", 0644);
    set_xattr(d + "/xattr/trusted", "trusted.mine", "secret");
    make_dir(d + "/empty", 0755);
    make_dir(d + "/tmp", 01777);
    write_file(d + "/noperm", "secret", 0000);
    write_file(d + "/long/" + std::string(150, 'n') + "/" + std::string(120, 'f'), "long", 0644);
}

// ---- the store --------------------------------------------------------------

// The manifest the store holds for an image, from its own OCI layout.
json stored_manifest(const TestStore& s, const std::string& image) {
    std::string digest = inspect(s, image)["Manifest"].value("digest", "");
    REQUIRE(digest.rfind("sha256:", 0) == 0);
    return json::parse(read_file(s.root + "/blobs/sha256/" + digest.substr(7)));
}

std::vector<std::string> layer_digests(const json& manifest) {
    std::vector<std::string> out;
    for (const auto& l : manifest["layers"])
        out.push_back(l.value("digest", ""));
    return out;
}

std::string mkdir_in(const TempDir& t, const std::string& name) {
    make_dir(t / name);
    return t / name;
}

// An image's layers mounted read-only by layerfs, unmounted when it goes.
class ImageMount {
  public:
    ImageMount(const TestStore& s, const std::string& image, const std::string& opts = "")
        : mnt_(mkdir_in(tmp_, "mnt")),
          mount_(Backend::Layerfs, lower_dirs(s, image), "", "", mnt_, opts) {}
    bool ok() const { return mount_.ok(); }
    const RunResult& result() const { return mount_.result(); }
    const std::string& path() const { return mnt_; }

  private:
    TempDir tmp_;
    std::string mnt_;
    Mount mount_;
};

#define REQUIRE_MOUNTED(m)         \
    do {                           \
        INFO((m).result().output); \
        REQUIRE((m).ok());         \
    } while (0)

std::map<std::string, std::string> mounted_tree(const TestStore& s, const std::string& image,
                                                bool ns = true) {
    ImageMount m(s, image);
    REQUIRE_MOUNTED(m);
    return full_snapshot(m.path(), ns);
}

// `umoci unpack` of LAYOUT:TAG, as a tree.
std::map<std::string, std::string> umoci_tree(const std::string& layout, const std::string& tag) {
    TempDir t;
    auto r = run({"umoci", "unpack", "--image", layout + ":" + tag, t / "bundle"});
    INFO(r.output);
    REQUIRE(r.status == 0);
    return full_snapshot(t / "bundle/rootfs");
}

// The name a `podman load` printed, removed again with the object.
struct PodmanImages {
    std::vector<std::string> names;
    ~PodmanImages() {
        for (const auto& n : names)
            run({"podman", "rmi", "-f", n});
    }
    std::string load(const std::string& archive) {
        auto r = run({"podman", "load", "-i", archive});
        INFO(r.output);
        REQUIRE(r.status == 0);
        auto pos = r.output.find("Loaded image");
        REQUIRE(pos != std::string::npos);
        pos = r.output.find(": ", pos);
        REQUIRE(pos != std::string::npos);
        std::string name = r.output.substr(pos + 2);
        name = name.substr(0, name.find_first_of("\n,"));
        names.push_back(name);
        return name;
    }
};

std::string unique_name(const std::string& what) {
    return "layerfs-rt-" + std::to_string(::getpid()) + "/" + what;
}

}  // namespace

TEST_CASE("a directory import mounts as the directory it came from", "[roundtrip]") {
    REQUIRE(::geteuid() == 0);
    TestStore s;
    TempDir t;
    build_variety(t / "src");
    REQUIRE_OK(s.lf({"import", t / "src", "rt/variety:v1"}));
    auto source = full_snapshot(t / "src", false);
    CHECK_SAME_TREE(source, mounted_tree(s, "rt/variety:v1", false));

    // The same tree through GNU tar, an independent writer, as a rootfs tar.
    auto tar =
        run({"tar", "--xattrs", "--xattrs-include=*", "-C", t / "src", "-cf", t / "gnu.tar", "."});
    INFO(tar.output);
    REQUIRE(tar.status == 0);
    REQUIRE_OK(s.lf({"import", t / "gnu.tar", "rt/gnu:v1"}));
    CHECK_SAME_TREE(source, mounted_tree(s, "rt/gnu:v1", false));
}

TEST_CASE("a directory import keeps names that are not ASCII", "[roundtrip]") {
    REQUIRE(::geteuid() == 0);
    TestStore s;
    TempDir t;
    write_file(t / "src/unicode/h\xc3\xa9llo w\xc3\xb6rld", "utf8", 0644);
    write_file(t / "src/latin1/caf\xe9", "not utf8", 0644);
    auto source = full_snapshot(t / "src", false);
    REQUIRE_OK(s.lf({"import", t / "src", "rt/names:v1"}));
    CHECK_SAME_TREE(source, mounted_tree(s, "rt/names:v1", false));
    REQUIRE_OK(s.lf({"export", "rt/names:v1", t / "layout"}));
    CHECK_SAME_TREE(mounted_tree(s, "rt/names:v1"), umoci_tree(t / "layout", "v1"));
}

TEST_CASE("export then umoci unpack gives the tree a layerfs mount shows", "[roundtrip]") {
    REQUIRE(::geteuid() == 0);
    TestStore s;
    TempDir t;
    build_variety(t / "src");
    REQUIRE_OK(s.lf({"import", t / "src", "rt/variety:v1"}));
    int n = 0;
    for (std::string image : {"rt/variety:v1", "busybox:latest"}) {
        CAPTURE(image);
        std::string dir = t / ("export" + std::to_string(n++));
        REQUIRE_OK(s.lf({"export", image, dir}));
        auto index = json::parse(read_file(dir + "/index.json"));
        REQUIRE(index["manifests"].size() == 1);
        CHECK(index["manifests"][0]["annotations"].value("org.opencontainers.image.ref.name", "") ==
              image.substr(image.find(':') + 1));
        auto mounted = mounted_tree(s, image);
        auto unpacked = umoci_tree(dir, image.substr(image.find(':') + 1));
        CHECK(mounted.size() > 10);
        CHECK_SAME_TREE(unpacked, mounted);
    }
}

// Builds rt/base:v1 from the variety tree, exports it to t/layout and runs
// `umoci insert` steps on layout:v1.
std::string umoci_layout(const TestStore& s, const TempDir& t,
                         std::vector<std::vector<std::string>> steps) {
    build_variety(t / "src");
    REQUIRE_OK(s.lf({"import", t / "src", "rt/base:v1"}));
    std::string d = t / "layout";
    REQUIRE_OK(s.lf({"export", "rt/base:v1", d}));
    for (auto& step : steps) {
        step.insert(step.begin(), {"umoci", "insert", "--image", d + ":v1"});
        CAPTURE(step);
        REQUIRE_OK(run(step));
    }
    return d;
}

TEST_CASE("umoci layers with whiteouts and opaque directories mount as umoci unpacks them",
          "[roundtrip]") {
    REQUIRE(::geteuid() == 0);
    TestStore s;
    TempDir t;
    write_file(t / "add/newdir/file", "new", 0644);
    write_file(t / "add/newdir/sub/deep", "deep", 0600);
    write_file(t / "opq/only", "only this", 0644);
    make_dir(t / "opq/subdir", 0750);
    write_file(t / "file-for-dir", "was a directory", 0644);
    write_file(t / "again", "back again", 0755);
    make_dir(t / "dir-for-file", 0755);
    write_file(t / "dir-for-file/inside", "was a file", 0644);
    // Every change is in a directory that is 0755 root:root without xattrs in the
    // base, so that whether a layer names its parents or not does not matter.
    std::vector<std::vector<std::string>> steps = {
        {t / "add/newdir", "/etc/newdir"}, {"--whiteout", "/etc/passwd"},
        {"--whiteout", "/home/user"},  // a directory with content
        {"--opaque", t / "opq", "/long"},  {t / "file-for-dir", "/empty"},
        {t / "dir-for-file", "/noperm"},   {"--whiteout", "/bin/suid"},
        {t / "again", "/bin/suid"},        {"--whiteout", "/data/big"},
    };
    std::string d = umoci_layout(s, t, steps);
    REQUIRE_OK(s.lf({"import", d + ":v1", "rt/umoci:v1"}));
    CHECK(inspect(s, "rt/umoci:v1")["RootFS"]["Layers"].size() == steps.size() + 1);
    // umoci's manifest is kept byte for byte: its digest is the one umoci's index names.
    auto index = json::parse(read_file(d + "/index.json"));
    CHECK(inspect(s, "rt/umoci:v1")["Manifest"]["digest"] == index["manifests"][0]["digest"]);

    ImageMount m(s, "rt/umoci:v1");
    REQUIRE_MOUNTED(m);
    CHECK(read_file(m.path() + "/etc/newdir/sub/deep") == "deep");
    CHECK_FALSE(exists(m.path() + "/etc/passwd"));
    CHECK_FALSE(exists(m.path() + "/home/user"));
    CHECK(list_dir(m.path() + "/long") == std::vector<std::string>{"only", "subdir"});
    CHECK(read_file(m.path() + "/empty") == "was a directory");
    CHECK(read_file(m.path() + "/noperm/inside") == "was a file");
    CHECK(read_file(m.path() + "/bin/suid") == "back again");
    CHECK_FALSE(exists(m.path() + "/data/big"));
    auto unpacked = umoci_tree(d, "v1");
    CHECK_SAME_TREE(unpacked, full_snapshot(m.path()));

    // And out again: layerfs's export of umoci's image unpacks the same.
    REQUIRE_OK(s.lf({"export", "rt/umoci:v1", t / "reexport"}));
    CHECK_SAME_TREE(unpacked, umoci_tree(t / "reexport", "v1"));
}

TEST_CASE("a directory a layer names only as a parent is made as docker and podman make it",
          "[roundtrip]") {
    REQUIRE(::geteuid() == 0);
    TestStore s;
    TempDir t;
    write_file(t / "newfile", "new", 0644);
    // umoci writes these layers without entries for /home/user or /xattr. docker
    // and containers/storage (podman) make such a parent 0755 root:root in the
    // layer, hiding the lower directory's metadata; layerfs does the same, since a
    // stored layer may sit on any parent. (umoci unpack and containerd copy the
    // lower directory instead.)
    std::string d = umoci_layout(s, t,
                                 {
                                     {"--whiteout", "/home/user/notes"},  // 0700 1000:1000
                                     {"--whiteout", "/xattr/file"},       // user.dir=1
                                     {t / "newfile", "/run/newfile"},
                                 });
    REQUIRE_OK(s.lf({"import", d + ":v1", "rt/umoci:v1"}));
    ImageMount m(s, "rt/umoci:v1");
    REQUIRE_MOUNTED(m);
    CHECK_FALSE(exists(m.path() + "/home/user/notes"));
    CHECK_FALSE(exists(m.path() + "/xattr/file"));
    CHECK(read_file(m.path() + "/run/newfile") == "new");
    struct stat user = lstat_of(m.path() + "/home/user");
    CHECK(user.st_uid == 0);
    CHECK((user.st_mode & 07777) == 0755);
    CHECK(xattrs_of(m.path() + "/xattr").empty());
}

TEST_CASE("skopeo and podman read what layerfs exports", "[roundtrip]") {
    REQUIRE(::geteuid() == 0);
    TestStore s;
    TempDir t;
    build_variety(t / "src");
    std::string name = unique_name("variety:latest");
    REQUIRE_OK(s.lf({"import", t / "src", name}));
    std::string id = id_of(s, name);
    json manifest = stored_manifest(s, name);

    SECTION("skopeo inspect of the oci-archive names the same layers") {
        REQUIRE_OK(s.lf({"export", name, t / "x.tar"}));
        auto r = run({"skopeo", "inspect", "oci-archive:" + t / "x.tar" + ":latest"});
        INFO(r.output);
        REQUIRE(r.status == 0);
        json j = json::parse(r.output, nullptr, false);
        REQUIRE(j.is_object());
        CHECK(j["Layers"].get<std::vector<std::string>>() == layer_digests(manifest));
        auto c = run({"skopeo", "inspect", "--config", "oci-archive:" + t / "x.tar" + ":latest"});
        INFO(c.output);
        REQUIRE(c.status == 0);
        json config = json::parse(c.output, nullptr, false);
        REQUIRE(config.is_object());
        CHECK(config["rootfs"]["diff_ids"] == inspect(s, name)["RootFS"]["Layers"]);
        auto raw = run({"skopeo", "inspect", "--raw", "oci-archive:" + t / "x.tar" + ":latest"});
        REQUIRE(raw.status == 0);
        CHECK(json::parse(raw.output, nullptr, false) == manifest);
    }

    SECTION("skopeo copy of the export imports as the same image") {
        REQUIRE_OK(s.lf({"export", name, t / "dir"}));
        auto r = run(
            {"skopeo", "copy", "oci:" + t / "dir" + ":latest", "oci:" + t / "dir2" + ":latest"});
        INFO(r.output);
        REQUIRE(r.status == 0);
        REQUIRE_OK(s.lf({"import", t / "dir2" + ":latest", "n:t"}));
        CHECK(id_of(s, "n:t") == id);
        TestStore fresh;
        REQUIRE_OK(fresh.lf({"import", t / "dir2" + ":latest", "n:t"}));
        CHECK(id_of(fresh, "n:t") == id);
        CHECK_SAME_TREE(mounted_tree(s, name), mounted_tree(fresh, "n:t"));
    }

    SECTION("skopeo's docker archives and recompressed layouts import as the same image") {
        REQUIRE_OK(s.lf({"export", name, t / "dir"}));
        auto tree = mounted_tree(s, name);
        std::string gz = "application/vnd.oci.image.layer.v1.tar+gzip";
        std::string zst = "application/vnd.oci.image.layer.v1.tar+zstd";
        struct Copy {
            std::string dest, format, media_type;
        };
        std::vector<Copy> copies = {
            {"docker-archive:" + t / "d.tar" + ":" + name, "", ""},
            {"oci:" + t / "gzip" + ":latest", "gzip", gz},
            {"oci:" + t / "zstd" + ":latest", "zstd", zst},
        };
        for (const auto& c : copies) {
            CAPTURE(c.dest);
            std::vector<std::string> argv = {"skopeo", "copy"};
            if (!c.format.empty())
                argv.insert(argv.end(), {"--dest-compress", "--dest-compress-format", c.format});
            argv.push_back("oci:" + t / "dir" + ":latest");
            argv.push_back(c.dest);
            REQUIRE_OK(run(argv));
            std::string source = c.dest.substr(c.dest.find(':') + 1);
            if (c.dest.starts_with("docker-archive:")) source = t / "d.tar";
            if (!c.media_type.empty()) {
                auto raw = run({"skopeo", "inspect", "--raw", c.dest});
                REQUIRE(raw.status == 0);
                CHECK(json::parse(raw.output)["layers"][0].value("mediaType", "") == c.media_type);
            }
            TestStore fresh;
            REQUIRE_OK(fresh.lf({"import", source, "copy:v1"}));
            CHECK(id_of(fresh, "copy:v1") == id);
            CHECK_SAME_TREE(tree, mounted_tree(fresh, "copy:v1"));
        }
    }

    SECTION("podman loads the oci-archive as the same image") {
        REQUIRE_OK(s.lf({"export", name, t / "x.tar"}));
        PodmanImages podman;
        std::string loaded = podman.load(t / "x.tar");
        auto r = run({"podman", "image", "inspect", "--format", "{{.Id}}", loaded});
        INFO(r.output);
        REQUIRE(r.status == 0);
        CHECK(r.output.substr(0, 64) == id);
        CHECK(loaded.find("variety") != std::string::npos);
    }
}

TEST_CASE("rootfs tarballs, docker archives and oci-archives import", "[roundtrip]") {
    REQUIRE(::geteuid() == 0);
    TestStore s;
    TempDir t;

    SECTION("a rootfs tar, plain, gzip or zstd") {
        write_tar(t / "rootfs.tar",
                  {
                      {"etc/", S_IFDIR | 0755},
                      {"etc/hostname", S_IFREG | 0644, 0, 0, "box\n"},
                      {"etc/shadow", S_IFREG | 0600, 0, 42, "root:*:1::::::\n"},
                      {"home/user/", S_IFDIR | 0750, 1000, 1000},
                      {"home/user/.profile", S_IFREG | 0640, 1000, 1000, pattern(100, 3)},
                      {"bin/su", S_IFREG | 04755, 0, 0, "su"},
                      {"bin/su-too", S_IFREG | 04755, 0, 0, "", "bin/su"},
                      {"bin/sh", S_IFLNK | 0777, 0, 0, "su"},
                      {"dev/null", S_IFCHR | 0666, 0, 0, "", "", makedev(1, 3)},
                      {"run/fifo", S_IFIFO | 0600, 1000, 1000},
                      {"attr", S_IFREG | 0644, 0, 0, "a", "", 0, {{"user.foo", "bar"}}},
                      {"big", S_IFREG | 0644, 0, 0, pattern(2 << 20, 4)},
                  });
        REQUIRE_OK(run({"gzip", "-k", t / "rootfs.tar"}));
        REQUIRE_OK(run({"zstd", "-q", "-k", t / "rootfs.tar"}));
        std::vector<std::string> layers;
        std::map<std::string, std::string> first;
        for (std::string suffix : {"", ".gz", ".zst"}) {
            CAPTURE(suffix);
            std::string name =
                "rootfs:" + (suffix.empty() ? std::string("plain") : suffix.substr(1));
            REQUIRE_OK(s.lf({"import", t / ("rootfs.tar" + suffix), name}));
            json j = inspect(s, name);
            REQUIRE(j["RootFS"]["Layers"].size() == 1);
            layers.push_back(j["RootFS"]["Layers"][0]);
            ImageMount m(s, name);
            REQUIRE_MOUNTED(m);
            std::string p = m.path();
            CHECK(read_file(p + "/etc/hostname") == "box\n");
            CHECK(lstat_of(p + "/etc/shadow").st_gid == 42);
            CHECK((lstat_of(p + "/etc/shadow").st_mode & 07777) == 0600);
            CHECK(lstat_of(p + "/home/user").st_uid == 1000);
            CHECK((lstat_of(p + "/home/user").st_mode & 07777) == 0750);
            CHECK(read_file(p + "/home/user/.profile") == pattern(100, 3));
            CHECK((lstat_of(p + "/bin/su").st_mode & 07777) == 04755);
            CHECK(lstat_of(p + "/bin/su").st_ino == lstat_of(p + "/bin/su-too").st_ino);
            CHECK(lstat_of(p + "/bin/su").st_nlink == 2);
            CHECK(S_ISLNK(lstat_of(p + "/bin/sh").st_mode));
            CHECK(S_ISCHR(lstat_of(p + "/dev/null").st_mode));
            CHECK(lstat_of(p + "/dev/null").st_rdev == makedev(1, 3));
            CHECK(S_ISFIFO(lstat_of(p + "/run/fifo").st_mode));
            CHECK(xattrs_of(p + "/attr") == " xattr:user.foo=bar");
            CHECK(read_file(p + "/big") == pattern(2 << 20, 4));
            auto tree = full_snapshot(p);
            if (first.empty())
                first = tree;
            else
                CHECK_SAME_TREE(first, tree);
        }
        // The diff_id is the uncompressed tar's digest, however it came.
        CHECK(layers[0] == layers[1]);
        CHECK(layers[0] == layers[2]);
    }

    SECTION("podman's docker and oci archives keep their name and their image id") {
        build_variety(t / "src");
        std::string name = unique_name("saved:v1");
        REQUIRE_OK(s.lf({"import", t / "src", name}));
        std::string id = id_of(s, name);
        auto tree = mounted_tree(s, name);
        REQUIRE_OK(s.lf({"export", name, t / "x.tar"}));
        PodmanImages podman;
        std::string loaded = podman.load(t / "x.tar");
        for (std::string format : {"docker-archive", "oci-archive"}) {
            CAPTURE(format);
            std::string archive = t / (format + ".tar");
            auto saved = run({"podman", "save", "--format", format, "-o", archive, loaded});
            INFO(saved.output);
            REQUIRE(saved.status == 0);

            TestStore fresh;
            auto r = fresh.lf({"import", archive});
            INFO(r.output);
            REQUIRE(r.status == 0);
            CHECK(r.output.find(id) != std::string::npos);
            auto images = fresh.lf({"images"});
            INFO(images.output);
            CHECK(images.output.find(loaded.substr(0, loaded.rfind(':'))) != std::string::npos);
            json j = inspect(fresh, loaded);
            CHECK(j["RepoTags"] == json::array({loaded}));
            CHECK(j.value("Id", "") == "sha256:" + id);
            CHECK_SAME_TREE(tree, mounted_tree(fresh, loaded));

            // A name given on the command line wins over the archive's.
            REQUIRE_OK(fresh.lf({"import", archive, "renamed:v2"}));
            CHECK(id_of(fresh, "renamed:v2") == id);
        }

        // Several images, one of them with two names, in one docker archive.
        std::string second = loaded.substr(0, loaded.rfind(':')) + ":second";
        REQUIRE_OK(run({"podman", "tag", loaded, second}));
        podman.names.push_back(second);
        REQUIRE_OK(s.lf({"export", "busybox", t / "bb.tar"}));
        std::string bb = podman.load(t / "bb.tar");
        REQUIRE_OK(run({"podman", "save", "-m", "--format", "docker-archive", "-o", t / "multi.tar",
                        loaded, second, bb}));
        TestStore fresh;
        REQUIRE_OK(fresh.lf({"import", t / "multi.tar"}));
        CHECK(listed_names(fresh) == std::multiset<std::string>{loaded, second, bb});
        CHECK(id_of(fresh, loaded) == id);
        CHECK(id_of(fresh, second) == id);
        CHECK(id_of(fresh, bb) == id_of(s, "busybox"));
        CHECK(fresh.lf({"import", t / "multi.tar", "one:name"}).status == 1);
    }

    SECTION("an oci-archive imports as the same image, named after its annotation") {
        REQUIRE_OK(s.lf({"export", "busybox", t / "bb.tar"}));
        std::string id = id_of(s, "busybox");
        TestStore fresh;
        REQUIRE_OK(fresh.lf({"import", t / "bb.tar"}));
        CHECK(id_of(fresh, "busybox:latest") == id);
        REQUIRE_OK(fresh.lf({"import", t / "bb.tar:latest", "other/bb:1"}));
        CHECK(id_of(fresh, "other/bb:1") == id);
        CHECK_SAME_TREE(mounted_tree(s, "busybox"), mounted_tree(fresh, "other/bb:1"));
    }
}
