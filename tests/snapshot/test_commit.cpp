// `layerfs commit` through the real binary: a container of the committed image
// shows the committed container's tree (and so does umoci's unpack of an
// export), the layer tar has the OCI form, the config and history say what the
// options asked, the same change gives the same digest (reproducible, rootless
// or rootful), and a commit killed at any moment leaves the store as it was.
#include <fcntl.h>
#include <pwd.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "tests/snapshot/commit_helpers.hpp"

using namespace layerfs::test;
using namespace layerfs::test::commit;

namespace {

constexpr const char* kBase = "t/base:1";
constexpr const char* kRich = "t/rich:1";

// Commits and returns the printed image id ("sha256:...").
std::string commit_ok(const TestStore& s, const std::vector<std::string>& args) {
    auto r = s.lf(args);
    INFO(r.output);
    REQUIRE(r.status == 0);
    std::string id = printed_id(r.output);
    REQUIRE_FALSE(id.empty());
    return id;
}

void set_mtime(const std::string& path, time_t sec, long nsec) {
    struct timespec ts[2] = {{sec, nsec}, {sec, nsec}};
    INFO(path);
    REQUIRE(::utimensat(AT_FDCWD, path.c_str(), ts, AT_SYMLINK_NOFOLLOW) == 0);
}

// t/base:1 is busybox plus a committed layer of plain files, so that the change
// under test can modify and delete lower files that are not busybox applets
// (removing one applet name changes the link count the old container shows
// for the others).
void make_base(const TestStore& s) {
    Container c0(s, "busybox");
    std::string m = c0.mount();
    write_file(m + "/data/keep", "keep\n");
    write_file(m + "/data/gone", "gone\n");
    write_file(m + "/data/same", "same\n");
    write_file(m + "/data/touched", "touched\n");
    write_file(m + "/data/xattr-only", "x\n");
    write_file(m + "/data/sub/s1", "s1\n");
    write_file(m + "/data/sub/s3", "s3\n");
    commit_ok(s, {"commit", c0.id(), kBase});
}

const std::string kOddName = "data/sp ace \xff\xfe";
const std::string kLongName = "data/new/" + std::string(150, 'n');
const std::string kBinaryXattr("a\0b\xff", 4);

// What the rich change must put in the layer, derived from what it did.
struct Expected {
    std::set<std::string> members;    // tar member names
    std::set<std::string> absent;     // names that must not be members
    std::set<std::string> opaque;     // directories deleted and recreated ("etc/")
    std::set<std::string> copied_up;  // copied up but unchanged (must not be members)
};

// One of every kind of change, made through the mounted container at M (a
// container of t/base:1, upper dir UPPER).
Expected rich_change(const std::string& m, const std::string& upper) {
    Expected e;
    auto own = [](const std::string& p, uid_t u, gid_t g, mode_t mode) {
        REQUIRE(::lchown(p.c_str(), u, g) == 0);
        REQUIRE(::chmod(p.c_str(), mode) == 0);  // after chown: it clears set-id bits
    };

    // rm -rf /etc and a new /etc with a changed passwd: an opaque directory
    // whose lower group file is gone without a whiteout of its own.
    std::string passwd = read_file(m + "/etc/passwd");
    REQUIRE_OK(run({"rm", "-rf", m + "/etc"}));
    make_dir(m + "/etc", 0755);
    write_file(m + "/etc/passwd", passwd + "new:x:5:5::/:/bin/sh\n", 0644);
    e.members.insert({"etc/", "etc/.wh..wh..opq", "etc/passwd"});
    e.absent.insert({"etc/group", "etc/.wh.group"});
    e.opaque.insert("etc/");

    // The same in a lower directory, where one child comes back unchanged: the
    // marker hides the lower copy, so the layer must carry it.
    REQUIRE_OK(run({"rm", "-rf", m + "/data/sub"}));
    make_dir(m + "/data/sub", 0755);
    write_file(m + "/data/sub/s2", "s2\n");
    write_file(m + "/data/sub/s3", "s3\n");
    set_mtime(m + "/data/sub/s2", 1577934245, 123456789);  // sub-second
    e.members.insert({"data/", "data/sub/", "data/sub/.wh..wh..opq", "data/sub/s2", "data/sub/s3"});
    e.absent.insert({"data/sub/s1", "data/sub/.wh.s1"});
    e.opaque.insert("data/sub/");

    // A deleted lower file and a deleted lower directory.
    REQUIRE(::unlink((m + "/data/gone").c_str()) == 0);
    REQUIRE(::rmdir((m + "/var/tmp").c_str()) == 0);
    e.members.insert({"data/.wh.gone", "var/", "var/.wh.tmp"});

    // Changes of lower entries: data, mtime only, xattr only, dir mode only.
    write_file(m + "/data/keep", "kept, changed\n");
    set_mtime(m + "/data/touched", 1600000000, 5);
    set_xattr(m + "/data/xattr-only", "user.y", "yes");
    REQUIRE(::chmod((m + "/home").c_str(), 0700) == 0);
    e.members.insert({"data/keep", "data/touched", "data/xattr-only", "home/"});

    // Copied up but unchanged: a chmod to the mode it has.
    REQUIRE(::chmod((m + "/data/same").c_str(), 0644) == 0);
    REQUIRE(exists(upper + "/data/same"));  // else the case tests nothing
    e.copied_up.insert("data/same");

    // New things of every type.
    make_dir(m + "/data/new", 0750);
    make_dir(m + "/data/new/deep", 0755);
    write_file(m + "/data/new/deep/f", "deep\n", 0600);
    write_file(m + "/data/new/owned", "o\n", 0644);
    own(m + "/data/new/owned", 123, 456, 04750);
    write_file(m + "/data/h1", "linked\n");
    REQUIRE(::link((m + "/data/h1").c_str(), (m + "/data/new/h2").c_str()) == 0);
    set_xattr(m + "/data/h1", "user.x", "hello");
    set_xattr(m + "/data/new", "user.bin", kBinaryXattr);
    make_symlink("../etc/passwd", m + "/data/sym");
    make_symlink("/nowhere/at/all", m + "/data/dangling");
    REQUIRE(::mkfifo((m + "/data/fifo").c_str(), 0640) == 0);
    REQUIRE(::mknod((m + "/data/null").c_str(), S_IFCHR | 0666, makedev(1, 3)) == 0);
    REQUIRE(::mknod((m + "/data/loop").c_str(), S_IFBLK | 0660, makedev(7, 200)) == 0);
    write_file(m + "/" + kOddName, "odd\n");
    write_file(m + "/data/empty", "");
    // Sorts between the directory data/new and its children ('.' < '/').
    write_file(m + "/data/new.txt", "beside\n");
    write_file(m + "/" + kLongName, "long\n");
    e.members.insert({"data/new/", "data/new/deep/", "data/new/deep/f", "data/new/owned", "data/h1",
                      "data/new/h2", "data/sym", "data/dangling", "data/fifo", "data/null",
                      "data/loop", kOddName, "data/empty", "data/new.txt", kLongName});
    return e;
}

// A store with t/base:1 and a container of it that made the rich change.
struct RichSetup {
    TestStore s;
    std::optional<Container> c1;
    std::string m1;
    Expected expected;
    RichSetup() {
        make_base(s);
        c1.emplace(s, kBase);
        m1 = c1->mount();
        expected = rich_change(m1, c1->upper());
    }
};

std::string strip_slash(std::string n) {
    if (!n.empty() && n.back() == '/') n.pop_back();
    return n;
}

// The state of a store a failed or killed command must leave alone (tmp/,
// its scratch area, aside).
struct StoreState {
    std::multiset<std::string> images;
    std::vector<std::string> blobs, layers;
    std::string index;
};

std::string join(const std::vector<std::string>& v) {
    std::string out;
    for (const auto& x : v)
        out += x + " ";
    return out;
}

StoreState state_of(const TestStore& s) {
    return {listed_names(s), list_dir(s.root + "/blobs/sha256"), list_dir(s.root + "/layers"),
            read_file(s.root + "/index.json")};
}

#define CHECK_STATE(before, after)                                                            \
    do {                                                                                      \
        auto&& b_ = (before);                                                                 \
        auto&& a_ = (after);                                                                  \
        INFO("blobs before: " << join(b_.blobs) << "\nblobs after:  " << join(a_.blobs));     \
        INFO("layers before: " << join(b_.layers) << "\nlayers after:  " << join(a_.layers)); \
        CHECK(b_.images == a_.images);                                                        \
        CHECK(b_.blobs == a_.blobs);                                                          \
        CHECK(b_.layers == a_.layers);                                                        \
        CHECK(b_.index == a_.index);                                                          \
    } while (0)

}  // namespace

TEST_CASE("a container of the committed image shows the tree the committed container showed",
          "[commit]") {
    REQUIRE(::geteuid() == 0);
    RichSetup r;
    auto before = full_tree(r.m1);
    std::string id = commit_ok(r.s, {"commit", "-m", "rich", r.c1->id(), kRich});
    CHECK(id == inspect(r.s, kRich).value("Id", ""));
    CHECK(diff_ids_of(r.s, kRich).size() == diff_ids_of(r.s, kBase).size() + 1);

    // The committed container goes on as it was.
    CHECK_SAME_TREE(before, full_tree(r.m1));

    Container c2(r.s, kRich);
    std::string m2 = c2.mount();
    CHECK_SAME_TREE(before, full_tree(m2));
    // The sub-second mtime came through (full_tree compares them all; this one
    // says so in as many words).
    struct stat st = lstat_of(m2 + "/data/sub/s2");
    CHECK(st.st_mtim.tv_sec == 1577934245);
    CHECK(st.st_mtim.tv_nsec == 123456789);

    auto d = r.s.lf({"diff", c2.id()});
    INFO(d.output);
    CHECK(d.status == 0);
    CHECK(d.output.empty());
}

TEST_CASE("umoci unpacks an export of the committed image to the committed tree", "[commit]") {
    REQUIRE(::geteuid() == 0);
    RichSetup r;
    auto before = full_tree(r.m1);
    commit_ok(r.s, {"commit", r.c1->id(), kRich});
    TempDir t;
    REQUIRE_OK(r.s.lf({"export", kRich, t / "layout"}));
    auto u = run({"umoci", "unpack", "--image", t / "layout:1", t / "bundle"});
    INFO(u.output);
    REQUIRE(u.status == 0);
    CHECK_SAME_TREE(before, full_tree(t / "bundle/rootfs"));
}

TEST_CASE("the committed layer is an OCI tar of the changes and nothing else", "[commit]") {
    REQUIRE(::geteuid() == 0);
    RichSetup r;
    commit_ok(r.s, {"commit", r.c1->id(), kRich});
    const Expected& e = r.expected;

    // Stored uncompressed under its diff_id, as the manifest says.
    std::string diff_id = diff_ids_of(r.s, kRich).back();
    std::string blob = top_layer_blob(r.s, kRich);
    std::string bytes = read_bytes(blob);
    CHECK("sha256:" + sha256_of(bytes) == diff_id);
    auto layers = manifest_of(r.s, kRich)["layers"];
    REQUIRE_FALSE(layers.empty());
    CHECK(layers.back().value("digest", "") == diff_id);
    CHECK(layers.back().value("mediaType", "") == "application/vnd.oci.image.layer.v1.tar");
    CHECK(layers.back().value("size", int64_t(-1)) == int64_t(bytes.size()));

    auto tar = read_tar(blob);
    std::set<std::string> names;
    for (const auto& t : tar)
        names.insert(t.name);

    // Exactly the changes: no copied-up-but-unchanged entry, nothing hidden by
    // an opaque marker, no root entry.
    for (const auto& n : e.members) {
        INFO("missing member " << n);
        CHECK(names.count(n) == 1);
    }
    for (const auto& n : names) {
        INFO("unexpected member " << n);
        CHECK(e.members.count(n) == 1);
    }
    for (const auto& n : e.absent) {
        INFO(n);
        CHECK(names.count(n) == 0);
        CHECK(names.count(n + "/") == 0);
    }
    for (const auto& n : e.copied_up) {
        INFO(n);
        CHECK(names.count(n) == 0);
    }
    CHECK(names.size() == tar.size());  // no name twice

    // Sorted by path (byte order), parents before children and present.
    for (size_t i = 1; i < tar.size(); ++i) {
        INFO(tar[i - 1].name << " then " << tar[i].name);
        CHECK(strip_slash(tar[i - 1].name) < strip_slash(tar[i].name));
    }
    for (const auto& n : names) {
        for (size_t slash = n.find('/'); slash != std::string::npos && slash + 1 < n.size();
             slash = n.find('/', slash + 1)) {
            INFO("parent of " << n);
            CHECK(names.count(n.substr(0, slash + 1)) == 1);
        }
    }

    // No libarchive-private or overlay-private xattr records anywhere.
    CHECK(bytes.find("LIBARCHIVE.xattr") == std::string::npos);
    for (const auto& t : tar) {
        INFO(t.name);
        CHECK(S_ISDIR(t.mode) == (t.name.back() == '/'));
        for (const auto& [k, v] : t.pax) {
            INFO(k);
            CHECK(k.rfind("LIBARCHIVE.", 0) != 0);
        }
        for (const auto& [k, v] : t.xattrs) {
            INFO(k);
            CHECK(k.rfind("trusted.overlay.", 0) != 0);
            CHECK(k.rfind("user.overlay.", 0) != 0);
            CHECK(k.rfind("user.fuseoverlayfs.", 0) != 0);
            CHECK(k != "user.containers.override_stat");
            // Every xattr in the layer is a SCHILY record, byte for byte.
            auto rec = t.pax.find("SCHILY.xattr." + k);
            REQUIRE(rec != t.pax.end());
            CHECK(rec->second == v);
        }
    }

    // Whiteouts and opaque markers: empty regular files.
    for (const auto& t : tar) {
        auto slash = t.name.rfind('/', t.name.size() - 2);
        std::string base = t.name.substr(slash == std::string::npos ? 0 : slash + 1);
        if (base.rfind(".wh.", 0) != 0) continue;
        INFO(t.name);
        CHECK(S_ISREG(t.mode));
        CHECK(t.size == 0);
        CHECK(t.hardlink.empty());
    }
    for (const auto& d : e.opaque) {
        INFO(d);
        CHECK(names.count(d + ".wh..wh..opq") == 1);
    }

    // Every entry says what the container shows at its path.
    for (const auto& t : tar) {
        std::string rel = strip_slash(t.name);
        if (rel.find("/.wh.") != std::string::npos || rel.rfind(".wh.", 0) == 0) continue;
        INFO(t.name);
        struct stat st = lstat_of(r.m1 + "/" + rel);
        // libarchive reports a hard link entry's mode without a file type.
        if (t.hardlink.empty())
            CHECK(t.mode == st.st_mode);
        else
            CHECK((t.mode & 07777) == (st.st_mode & 07777));
        CHECK(t.uid == st.st_uid);
        CHECK(t.gid == st.st_gid);
        CHECK(t.mtime == st.st_mtim.tv_sec);
        CHECK(t.mtime_nsec == st.st_mtim.tv_nsec);
        if (S_ISREG(st.st_mode) && t.hardlink.empty()) {
            CHECK(t.size == st.st_size);
            if (st.st_size <= (1 << 20)) CHECK(t.data == read_file(r.m1 + "/" + rel));
        }
        if (S_ISLNK(st.st_mode)) {
            char target[PATH_MAX];
            ssize_t n = ::readlink((r.m1 + "/" + rel).c_str(), target, sizeof target);
            REQUIRE(n > 0);
            CHECK(t.symlink == std::string(target, size_t(n)));
        }
        if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)) {
            CHECK(t.rdev_major == major(st.st_rdev));
            CHECK(t.rdev_minor == minor(st.st_rdev));
        }
        std::string tar_xattrs;
        for (const auto& x : t.xattrs)
            tar_xattrs += " xattr:" + x.first + "=" + x.second;
        CHECK(xattrs_of(r.m1 + "/" + rel) == tar_xattrs);
    }

    // The particular things the change made, as the tar must spell them.
    const TarEntry* h2 = find_entry(tar, "data/new/h2");
    REQUIRE(h2);
    CHECK(h2->hardlink == "data/h1");  // the first name in the tar's order
    CHECK(h2->size == 0);
    const TarEntry* h1 = find_entry(tar, "data/h1");
    REQUIRE(h1);
    CHECK(h1->hardlink.empty());
    CHECK(h1->data == "linked\n");
    CHECK(h1->pax.count("SCHILY.xattr.user.x") == 1);
    if (h1->pax.count("SCHILY.xattr.user.x")) CHECK(h1->pax.at("SCHILY.xattr.user.x") == "hello");
    const TarEntry* dnew = find_entry(tar, "data/new/");
    REQUIRE(dnew);
    CHECK(dnew->pax.count("SCHILY.xattr.user.bin") == 1);
    if (dnew->pax.count("SCHILY.xattr.user.bin"))
        CHECK(dnew->pax.at("SCHILY.xattr.user.bin") == kBinaryXattr);
    const TarEntry* owned = find_entry(tar, "data/new/owned");
    REQUIRE(owned);
    CHECK(owned->uid == 123);
    CHECK(owned->gid == 456);
    CHECK((owned->mode & 07777) == 04750);
    const TarEntry* s2 = find_entry(tar, "data/sub/s2");
    REQUIRE(s2);
    CHECK(s2->pax.count("mtime") == 1);
    CHECK(s2->mtime_nsec == 123456789);
    const TarEntry* odd = find_entry(tar, kOddName);
    REQUIRE(odd);
    CHECK(odd->data == "odd\n");
    const TarEntry* lng = find_entry(tar, kLongName);
    REQUIRE(lng);
    CHECK(lng->pax.count("path") == 1);
    const TarEntry* fifo = find_entry(tar, "data/fifo");
    REQUIRE(fifo);
    CHECK(S_ISFIFO(fifo->mode));
    const TarEntry* passwd = find_entry(tar, "etc/passwd");
    REQUIRE(passwd);
    CHECK(passwd->data.find("new:x:5:5::/:/bin/sh\n") != std::string::npos);
}

TEST_CASE("commit writes the message and author and -c changes into history and config",
          "[commit]") {
    REQUIRE(::geteuid() == 0);
    TestStore s;
    Container c(s, "busybox");
    std::string m = c.mount();
    write_file(m + "/tmp/f", "f\n");
    json parent = config_of(s, "busybox");
    auto parent_layers = diff_ids_of(s, "busybox");

    auto r = s.lf({"-v",   "commit",
                   "-m",   "the message",
                   "-a",   "Tester <t@example.com>",
                   "-c",   "CMD [\"/bin/echo\", \"hi\"]",
                   "-c",   "ENTRYPOINT /bin/sh -x",
                   "-c",   "ENV PATH=/custom/bin",
                   "-c",   "ENV NEWVAR=abc",
                   "-c",   "LABEL com.example.k=v1",
                   "-c",   "EXPOSE 8080/tcp",
                   "-c",   "WORKDIR /app",
                   "-c",   "WORKDIR sub",
                   "-c",   "USER 1000:1000",
                   "-c",   "VOLUME /vol",
                   "-c",   "STOPSIGNAL SIGTERM",
                   c.id(), "t/hist:1"});
    INFO(r.output);
    REQUIRE(r.status == 0);
    std::string id = printed_id(r.output);
    json img = inspect(s, "t/hist:1");
    CHECK(id == img.value("Id", ""));

    // -v names the new layer and its chain, as computed from the image's layers.
    auto layers = diff_ids_of(s, "t/hist:1");
    REQUIRE(layers.size() == parent_layers.size() + 1);
    CHECK(std::vector<std::string>(layers.begin(), layers.end() - 1) == parent_layers);
    CHECK(value_after(r.output, "diff_id ") == layers.back());
    CHECK(value_after(r.output, "chain id ") == chain_id(layers));
    CHECK(chain_id(layers) != layers.back());  // two layers: a real chain

    CHECK(img.value("Author", "") == "Tester <t@example.com>");
    json cfg = config_of(s, "t/hist:1");
    const json& cc = cfg["config"];
    CHECK(cc["Cmd"] == json({"/bin/echo", "hi"}));
    CHECK(cc["Entrypoint"] == json({"/bin/sh", "-c", "/bin/sh -x"}));
    std::vector<std::string> env = cc.value("Env", std::vector<std::string>{});
    CHECK(std::count(env.begin(), env.end(), "PATH=/custom/bin") == 1);
    CHECK(std::count_if(env.begin(), env.end(), [](auto& v) { return v.rfind("PATH=", 0) == 0; }) ==
          1);
    CHECK(std::count(env.begin(), env.end(), "NEWVAR=abc") == 1);
    CHECK(cc["Labels"] == json({{"com.example.k", "v1"}}));
    CHECK(cc["ExposedPorts"] == json({{"8080/tcp", json::object()}}));
    CHECK(cc.value("WorkingDir", "") == "/app/sub");
    CHECK(cc.value("User", "") == "1000:1000");
    CHECK(cc["Volumes"] == json({{"/vol", json::object()}}));
    CHECK(cc.value("StopSignal", "") == "SIGTERM");
    // inspect shows the same config.
    CHECK(img["Config"] == cc);

    // The rest of the parent's config is kept; rootfs and history grow by one.
    CHECK(cfg.value("architecture", "") == parent.value("architecture", "?"));
    CHECK(cfg.value("os", "") == parent.value("os", "?"));
    CHECK(cfg["rootfs"]["diff_ids"] == json(layers));
    REQUIRE(cfg["history"].size() == parent["history"].size() + 1);
    const json& h = cfg["history"].back();
    CHECK(h.value("created_by", "") == "layerfs commit");
    CHECK(h.value("comment", "") == "the message");
    CHECK(h.value("author", "") == "Tester <t@example.com>");
    CHECK(h.value("created", "") == cfg.value("created", "?"));
    CHECK_FALSE(h.value("empty_layer", false));

    // `layerfs history` shows it first.
    auto hist = s.lf({"history", "t/hist:1"});
    INFO(hist.output);
    REQUIRE(hist.status == 0);
    std::istringstream in(hist.output);
    std::string header, first;
    std::getline(in, header);
    std::getline(in, first);
    CHECK(first.rfind(id.substr(7, 12), 0) == 0);
    CHECK(first.find("layerfs commit") != std::string::npos);
    CHECK(trimmed(first).size() >= 11);
    CHECK(trimmed(first).substr(trimmed(first).size() - 11) == "the message");

    // A commit of a container of the new image inherits its config.
    c.unmount();
    Container c2(s, "t/hist:1");
    json cfg2 = config_of(s, commit_ok(s, {"commit", c2.id()}).substr(7));
    CHECK(cfg2["config"] == cc);
    CHECK(cfg2["history"].size() == cfg["history"].size() + 1);

    // An unknown instruction: exit 1, a message, and the store as it was.
    auto before = state_of(s);
    auto bad = s.lf({"commit", "-c", "FROBNICATE x", c.id(), "t/bad:1"});
    INFO(bad.output);
    CHECK(bad.status == 1);
    CHECK(bad.output.find("layerfs: -c 'FROBNICATE x': unknown instruction") != std::string::npos);
    CHECK_STATE(before, state_of(s));
    auto bad2 = s.lf({"commit", "-c", "ENV", c.id(), "t/bad:1"});
    INFO(bad2.output);
    CHECK(bad2.status == 1);
    CHECK(bad2.output.find("layerfs: ") != std::string::npos);
    CHECK_STATE(before, state_of(s));
}

TEST_CASE(
    "the same change committed with --reproducible or SOURCE_DATE_EPOCH gives the same digest",
    "[commit]") {
    REQUIRE(::geteuid() == 0);
    EnvVar no_epoch("SOURCE_DATE_EPOCH", std::nullopt);
    TestStore s;
    // The same change in two containers, made at different moments; one file's
    // mtime differs on purpose so that a plain commit of each surely differs.
    auto change = [](const std::string& m, time_t a_mtime) {
        write_file(m + "/tmp/a", "a\n", 0644);
        write_file(m + "/tmp/dir/b", "b\n", 0600);
        make_symlink("../a", m + "/tmp/dir/l");
        write_file(m + "/tmp/old", "old\n", 0644);
        set_mtime(m + "/tmp/a", a_mtime, 0);
        set_mtime(m + "/tmp/old", 1600000000, 250000000);  // older than any epoch below
    };
    Container a(s, "busybox"), b(s, "busybox");
    change(a.mount(), 1750000000);
    change(b.mount(), 1750000001);

    SECTION("--reproducible clamps every time to 0") {
        std::string ida = commit_ok(s, {"commit", "--reproducible", a.id(), "t/a:1"});
        std::string ida2 = commit_ok(s, {"commit", "--reproducible", a.id(), "t/a:2"});
        std::string idb = commit_ok(s, {"commit", "--reproducible", b.id(), "t/b:1"});
        CHECK(ida == ida2);
        CHECK(ida == idb);
        CHECK(diff_ids_of(s, "t/a:1") == diff_ids_of(s, "t/b:1"));
        for (const auto& t : read_tar(top_layer_blob(s, "t/b:1"))) {
            INFO(t.name);
            CHECK(t.mtime == 0);
            CHECK(t.mtime_nsec == 0);
        }
        json cfg = config_of(s, "t/b:1");
        CHECK(cfg.value("created", "") == "1970-01-01T00:00:00Z");
        CHECK(cfg["history"].back().value("created", "") == "1970-01-01T00:00:00Z");

        // Without it, the two differ (and so do their layers).
        std::string pa = commit_ok(s, {"commit", a.id(), "t/a:plain"});
        std::string pb = commit_ok(s, {"commit", b.id(), "t/b:plain"});
        CHECK(pa != pb);
        CHECK(diff_ids_of(s, "t/a:plain").back() != diff_ids_of(s, "t/b:plain").back());
        CHECK(pa != ida);
    }

    SECTION("SOURCE_DATE_EPOCH clamps times to it, alone or with --reproducible") {
        EnvVar epoch("SOURCE_DATE_EPOCH", "1700000000");
        std::string ida = commit_ok(s, {"commit", a.id(), "t/a:1"});
        std::string idb = commit_ok(s, {"commit", "--reproducible", b.id(), "t/b:1"});
        CHECK(ida == idb);
        CHECK(diff_ids_of(s, "t/a:1") == diff_ids_of(s, "t/b:1"));
        auto tar = read_tar(top_layer_blob(s, "t/a:1"));
        for (const auto& t : tar) {
            INFO(t.name);
            CHECK(t.mtime <= 1700000000);
        }
        // Clamped, not set: an older time stays, to the nanosecond.
        const TarEntry* old = find_entry(tar, "tmp/old");
        REQUIRE(old);
        CHECK(old->mtime == 1600000000);
        CHECK(old->mtime_nsec == 250000000);
        const TarEntry* fa = find_entry(tar, "tmp/a");
        REQUIRE(fa);
        CHECK(fa->mtime == 1700000000);
        CHECK(fa->mtime_nsec == 0);
        json cfg = config_of(s, "t/a:1");
        CHECK(cfg.value("created", "") == "2023-11-14T22:13:20Z");
        CHECK(cfg["history"].back().value("created", "") == "2023-11-14T22:13:20Z");
    }

    SECTION("a SOURCE_DATE_EPOCH that is not a number is refused") {
        EnvVar epoch("SOURCE_DATE_EPOCH", "soon");
        auto before = state_of(s);
        auto r = s.lf({"commit", a.id(), "t/a:1"});
        INFO(r.output);
        CHECK(r.status == 1);
        CHECK(r.output.find("SOURCE_DATE_EPOCH") != std::string::npos);
        CHECK_STATE(before, state_of(s));
    }
}

TEST_CASE("a rootless and a rootful commit of the same change give the same image", "[commit]") {
    REQUIRE(::geteuid() == 0);
    const std::string user = "layerfs-test";  // the user tests/run_rootless.sh uses
    if (!::getpwnam(user.c_str()))
        REQUIRE_OK(run({"useradd", "--create-home", "--shell", "/bin/bash", user}));
    struct passwd* pw = ::getpwnam(user.c_str());
    REQUIRE(pw);
    const uid_t uid = pw->pw_uid;
    const gid_t gid = pw->pw_gid;
    REQUIRE(::chmod("/dev/fuse", 0666) == 0);  // Debian's default, which rootless needs

    // The user must reach its binary and its store: both under a 0755 dir.
    TempDir t;
    MountsBelow unmount_all{t.path()};
    REQUIRE(::chmod(t.path().c_str(), 0755) == 0);
    make_dir(t / "bin", 0755);
    REQUIRE_OK(run({"cp", layerfs_bin(), t / "bin/layerfs"}));
    REQUIRE(::chmod((t / "bin/layerfs").c_str(), 0755) == 0);
    make_dir(t / "user", 0755);
    REQUIRE(::chown((t / "user").c_str(), uid, gid) == 0);
    make_dir(t / "root", 0755);

    // The change, only under /tmp (1777 in busybox, so the user may write it).
    // The fifo gets its mode from the umask: a rootless chmod of a fifo fails
    // (EPERM, the daemon cannot record it in a user.* xattr), a mount bug that
    // is not what this case is about.
    const std::string script = R"(set -e
L="$1 --root $2"
c=$($L create busybox)
m=$($L mount $c)
trap '$L umount $c' EXIT
mkdir "$m/tmp/dir"
printf 'a\n' > "$m/tmp/a"
printf 'b\n' > "$m/tmp/dir/b"
printf 's\n' > "$m/tmp/secret"
ln -s ../a "$m/tmp/dir/link"
ln "$m/tmp/dir/b" "$m/tmp/b-too"
(umask 022 && mkfifo "$m/tmp/fifo")
chmod 0600 "$m/tmp/secret"
chmod 0644 "$m/tmp/a" "$m/tmp/dir/b"
chmod 0755 "$m/tmp/dir"
$L -v commit --reproducible $c
)";
    auto rootless = run({"runuser", "-u", user, "--", "sh", "-c", script, "sh", t / "bin/layerfs",
                         t / "user/store"});
    INFO("rootless: " << rootless.output);
    REQUIRE(rootless.status == 0);
    auto rootful = run({"sh", "-c", script, "sh", layerfs_bin(), t / "root/store"});
    INFO("rootful: " << rootful.output);
    REQUIRE(rootful.status == 0);

    std::string rootless_id = printed_id(rootless.output);
    REQUIRE_FALSE(rootless_id.empty());
    CHECK(rootless_id == printed_id(rootful.output));
    CHECK(value_after(rootless.output, "diff_id ") == value_after(rootful.output, "diff_id "));

    // It was a rootless commit: the user's upper files are the user's own.
    auto containers = list_dir(t / "user/store/containers");
    REQUIRE(containers.size() == 1);
    struct stat st = lstat_of(t / "user/store/containers/" + containers[0] + "/upper/tmp/a");
    CHECK(st.st_uid == uid);
    // And its layer says root, as the rootful one does.
    std::string diff_id = value_after(rootless.output, "diff_id ");
    REQUIRE(diff_id.size() == 71);
    for (const auto& e : read_tar(t / "user/store/blobs/sha256/" + diff_id.substr(7))) {
        INFO(e.name);
        CHECK(e.uid == 0);
        CHECK(e.gid == 0);
    }
}

TEST_CASE("a commit killed with SIGKILL leaves the store as it was", "[commit]") {
    REQUIRE(::geteuid() == 0);
    EnvVar no_epoch("SOURCE_DATE_EPOCH", std::nullopt);
    TestStore s;
    // A large change, so that the kills land while the tar is written, hashed
    // and unpacked (the moves into place at the very end are the next test
    // case's).
    Container c(s, "busybox");
    std::string m = c.mount();
    REQUIRE_OK(
        run({"dd", "if=/dev/urandom", "of=" + m + "/big", "bs=1M", "count=200", "status=none"}));
    write_file(m + "/tmp/small", "small\n");
    auto sum = run({"sha256sum", m + "/big"});
    REQUIRE(sum.status == 0);
    const std::string big_sum = sum.output.substr(0, 64);
    c.unmount();

    auto before = state_of(s);
    for (int ms : {20, 65, 110, 155, 200}) {
        INFO("killed after " << ms << " ms");
        pid_t pid = spawn_quiet({layerfs_bin(), "--root", s.root, "commit", c.id(), "t/killed:1"});
        std::this_thread::sleep_for(std::chrono::milliseconds(ms));
        ::kill(pid, SIGKILL);
        int st = wait_status(pid);
        // A commit that finished before the signal may: then its image is there.
        if (st == 0) {
            before = state_of(s);
            continue;
        }
        CHECK(st == 128 + SIGKILL);
        CHECK_STATE(before, state_of(s));
    }

    // A later commit works, and clears what the killed ones left in tmp/.
    commit_ok(s, {"commit", c.id(), "t/done:1"});
    CHECK(list_dir(s.root + "/tmp").empty());

    // The container is as it was, and the image holds its files.
    std::string m2 = c.mount();
    CHECK(run({"sha256sum", m2 + "/big"}).output.substr(0, 64) == big_sum);
    CHECK(read_file(m2 + "/tmp/small") == "small\n");
    c.unmount();
    Container from_image(s, "t/done:1");
    std::string m3 = from_image.mount();
    CHECK(run({"sha256sum", m3 + "/big"}).output.substr(0, 64) == big_sum);
    CHECK(read_file(m3 + "/tmp/small") == "small\n");
}

TEST_CASE("a commit killed as its files move into the store leaves it as it was or committed",
          "[commit]") {
    REQUIRE(::geteuid() == 0);
    // The random delays above rarely land in the last moments of a commit, when
    // the staged blobs and layer move into blobs/ and layers/ and the index
    // names the image. Here the kill follows the first of those moves as soon
    // as inotify reports it. Either outcome is atomic: the store as it was, or
    // the whole image there. Files that moved in before the index named them
    // are collected by the next command that takes the store's exclusive lock.
    TestStore s;
    Container c(s, "busybox");
    std::string m = c.mount();
    write_file(m + "/tmp/a", std::string(1 << 20, 'a'));
    write_file(m + "/tmp/b", "b\n");
    c.unmount();
    REQUIRE_OK(s.lf({"images"}));  // the store exists, busybox is built

    for (int round = 0; round < 5; ++round) {
        INFO("round " << round);
        std::string ref = "t/killed:" + std::to_string(round);
        auto before = state_of(s);
        Inotify watch({s.root + "/blobs/sha256", s.root + "/layers"});
        pid_t pid = spawn_quiet({layerfs_bin(), "--root", s.root, "commit", c.id(), ref});
        bool moved = watch.wait_for_event(pid);
        ::kill(pid, SIGKILL);
        int st = wait_status(pid);
        INFO("exit status " << st << (moved ? ", killed after a move" : ", no move seen"));
        auto after = state_of(s);
        if (after.images == before.images) {
            // Tagging takes the exclusive lock and adds no blob or layer.
            REQUIRE_OK(s.lf({"tag", "busybox", "t/probe:" + std::to_string(round)}));
            auto later = state_of(s);
            CHECK(later.blobs == before.blobs);
            CHECK(later.layers == before.layers);
            continue;
        }
        // Committed: everything new belongs to the new image.
        REQUIRE(after.images.count(ref) == 1);
        std::string manifest = inspect(s, ref)["Manifest"].value("digest", "");
        REQUIRE(manifest.size() == 71);
        std::set<std::string> owned = {id_of(s, ref), diff_ids_of(s, ref).back().substr(7),
                                       manifest.substr(7)};
        for (const auto& b : after.blobs) {
            INFO("blob " << b);
            CHECK((std::count(before.blobs.begin(), before.blobs.end(), b) == 1 ||
                   owned.count(b) == 1));
        }
        for (const auto& l : after.layers) {
            INFO("layer " << l);
            CHECK((std::count(before.layers.begin(), before.layers.end(), l) == 1 ||
                   l == diff_ids_of(s, ref).back().substr(7)));
        }
    }
}

TEST_CASE("a commit of a container without changes adds an empty layer", "[commit]") {
    REQUIRE(::geteuid() == 0);
    TestStore s;
    Container c(s, "busybox");
    std::string m = c.mount();
    auto tree = full_tree(m);
    c.unmount();
    auto images_before = listed_names(s);
    std::string id = commit_ok(s, {"commit", c.id()});

    // An image without a name, found by its id.
    auto images = listed_names(s);
    CHECK(images.size() == images_before.size() + 1);
    CHECK(images.count("<none>:<none>") == 1);
    auto layers = diff_ids_of(s, id.substr(7));
    CHECK(layers.size() == diff_ids_of(s, "busybox").size() + 1);
    // An empty tar: just the end-of-archive marker.
    CHECK(layers.back() == "sha256:" + sha256_of(std::string(1024, '\0')));
    CHECK(read_bytes(top_layer_blob(s, id.substr(7))) == std::string(1024, '\0'));

    Container c2(s, id.substr(7));
    CHECK_SAME_TREE(tree, full_tree(c2.mount()));
}

TEST_CASE("commit refuses a missing container and an invalid name and changes nothing",
          "[commit]") {
    REQUIRE(::geteuid() == 0);
    TestStore s;
    Container c(s, "busybox");
    write_file(c.mount() + "/tmp/x", "x\n");
    auto before = state_of(s);

    auto r = s.lf({"commit", "no-such-container", "t/x:1"});
    INFO(r.output);
    CHECK(r.status == 1);
    CHECK(r.output.find("layerfs: ") != std::string::npos);
    CHECK(r.output.find("not found") != std::string::npos);
    CHECK_STATE(before, state_of(s));

    for (const char* name : {"Upper/case:1", "has space:1", "t/x:bad tag", "t/x:", "t//x:1"}) {
        auto bad = s.lf({"commit", c.id(), name});
        INFO(name << ": " << bad.output);
        CHECK(bad.status == 1);
        CHECK(bad.output.find("invalid image name") != std::string::npos);
        CHECK_STATE(before, state_of(s));
    }
}

TEST_CASE("a commit of a container that is being written to gives a valid image", "[commit]") {
    REQUIRE(::geteuid() == 0);
    TestStore s;
    TempDir t;
    Container c(s, "busybox");
    std::string m = c.mount();
    // The writer runs until told to stop, so it is writing for the whole
    // commit. Each file is created once and written once: a commit may find it
    // empty or whole, never anything else.
    Background writer({"sh", "-c",
                       "i=0; while [ ! -e \"$2\" ]; do printf '%s\\n' $i > \"$1/tmp/f$i\"; "
                       "i=$((i+1)); done",
                       "sh", m, t / "stop"});
    // Started writing (a bound, not a timing: it only keeps a broken writer from hanging).
    for (int i = 0; i < 3000 && !exists(m + "/tmp/f100"); ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    REQUIRE(exists(m + "/tmp/f100"));
    commit_ok(s, {"commit", c.id(), "t/during:1"});
    write_file(t / "stop", "");
    CHECK(writer.wait() == 0);
    const size_t written = list_dir(m + "/tmp").size();

    auto check_image = [&](const std::string& ref, bool complete) {
        INFO(ref);
        std::string blob = top_layer_blob(s, ref);
        CHECK("sha256:" + sha256_of(read_bytes(blob)) == diff_ids_of(s, ref).back());
        read_tar(blob);  // a well-formed tar
        Container c2(s, ref);
        std::string m2 = c2.mount();
        auto names = list_dir(m2 + "/tmp");
        CHECK(names.size() >= 100);
        if (complete) CHECK(names.size() == written);
        for (const auto& f : names) {
            INFO(f);
            REQUIRE(f.rfind("f", 0) == 0);
            std::string want = f.substr(1) + "\n";
            std::string got = read_file(m2 + "/tmp/" + f);
            if (complete)
                CHECK(got == want);
            else
                CHECK((got == want || got.empty()));
        }
        TempDir u;
        REQUIRE_OK(s.lf({"export", ref, u / "layout"}));
        auto r = run({"umoci", "unpack", "--image", u / ("layout:" + ref.substr(ref.find(':') + 1)),
                      u / "bundle"});
        INFO(r.output);
        CHECK(r.status == 0);
    };
    check_image("t/during:1", false);

    // Once the writer is done, a commit has all of it.
    commit_ok(s, {"commit", c.id(), "t/after:1"});
    check_image("t/after:1", true);
}

TEST_CASE("a commit of a container whose image was removed says so and changes nothing",
          "[commit]") {
    REQUIRE(::geteuid() == 0);
    TestStore s;
    Container c(s, "busybox");
    write_file(c.mount() + "/tmp/x", "x\n");
    c.unmount();
    REQUIRE_OK(s.lf({"rmi", "-f", "busybox"}));
    auto before = state_of(s);
    auto r = s.lf({"commit", c.id(), "t/orphan:1"});
    INFO(r.output);
    CHECK(r.status == 1);
    CHECK(r.output.find("layerfs: ") != std::string::npos);
    CHECK(r.output.find("removed") != std::string::npos);
    CHECK_STATE(before, state_of(s));
}
