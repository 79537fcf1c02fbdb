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
    // The committed container removed /etc, init files and all; the image has
    // none, so the new container's init layer brings them back.
    CHECK_SAME_TREE(before, without_init_files(full_tree(m2)));
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
