// layerfs diff on hand-written uppers of every dialect, its output formats and
// errors, the O(change) walk, store containers and rootless containers.
#include <fcntl.h>

#include "snapshotter/layer_tar.hpp"
#include "tests/snapshot/diff_helpers.hpp"

// ---- uppers written by hand: every whiteout dialect, whiteouts of nothing ----

TEST_CASE("every whiteout and opaque dialect gives the same diff, whiteouts of nothing give none") {
    enum class Dialect { KernelTrusted, OciFiles, UserXattr, FuseXattr };
    for (Dialect d :
         {Dialect::KernelTrusted, Dialect::OciFiles, Dialect::UserXattr, Dialect::FuseXattr}) {
        INFO("dialect " << int(d));
        Lowers lowers;
        TempDir t;
        std::string up = t / "upper";
        make_dir(up);
        auto whiteout = [&](const std::string& path) {
            if (d == Dialect::KernelTrusted)
                whiteout_device(path);
            else
                whiteout_file(path);
        };
        auto opaque = [&](const std::string& dir) {
            switch (d) {
                case Dialect::KernelTrusted:
                    set_xattr(dir, "trusted.overlay.opaque", "y");
                    break;
                case Dialect::OciFiles:
                    write_file(dir + "/.wh..wh..opq", "");
                    break;
                case Dialect::UserXattr:
                    set_xattr(dir, "user.overlay.opaque", "y");
                    break;
                case Dialect::FuseXattr:
                    set_xattr(dir, "user.fuseoverlayfs.opaque", "y");
                    break;
            }
        };
        upper_dir_like(up + "/d", lowers.top + "/d");
        whiteout(up + "/d/f");
        upper_dir_like(up + "/etc", lowers.top + "/etc");
        opaque(up + "/etc");
        write_file(up + "/etc/new", "new\n");
        // Whiteouts of names the merged tree never showed: nothing to report.
        whiteout(up + "/ghost");  // in no layer
        upper_dir_like(up + "/o", lowers.top + "/o");
        whiteout(up + "/o/b");  // below the top lower's opaque /o
        upper_dir_like(up + "/bin", lowers.bottom + "/bin");
        whiteout(up + "/bin/ghost");
        touch_all({up + "/d", up + "/o", up + "/bin"});

        // /etc/group was hidden by the top lower's whiteout: not D.
        Lines want = {"C /d",       "D /d/f",        "C /etc",       "D /etc/hostname",
                      "A /etc/new", "D /etc/passwd", "D /etc/shadow"};
        auto r = diff_dirs(lowers.dirs(), up);
        INFO(r.output);
        REQUIRE(r.status == 0);
        CHECK(lines_of(r.output) == by_path(want));
        auto docker = diff_dirs(lowers.dirs(), up, {"--docker"});
        INFO(docker.output);
        REQUIRE(docker.status == 0);
        CHECK(lines_of(docker.output) == by_path(want + Lines{"C /o", "C /bin"}));
    }
}

// With redirect_dir a renamed lower dir's content stays in the lowers under the
// old name: walking the upper alone would list too little, so such an upper
// must be refused, by name.
TEST_CASE("kernel uppers written with redirect_dir are refused, not misread") {
    struct Case {
        std::string opts, script, entry, xattr;
    };
    for (const auto& c : {
             Case{"redirect_dir=on", R"(mv "$1/d" "$1/d2")", "/d2", "trusted.overlay.redirect"},
         }) {
        INFO(c.opts);
        Lowers lowers;
        TempDir t;
        std::string upper = t / "upper", work = t / "work", mnt = t / "mnt";
        for (const auto& d : {upper, work, mnt})
            make_dir(d);
        {
            Mount m(Backend::Kernel, lowers.dirs(), upper, work, mnt, c.opts);
            INFO(m.result().output);
            REQUIRE(m.ok());
            REQUIRE_OK(sh(c.script, mnt));
        }
        // The premise: the kernel did write the xattr this is about.
        REQUIRE(::lgetxattr((upper + c.entry).c_str(), c.xattr.c_str(), nullptr, 0) >= 0);
        auto r = diff_dirs(lowers.dirs(), upper);
        INFO(r.output);
        CHECK(r.status == 1);
        CHECK(r.output.rfind("layerfs: ", 0) == 0);
        CHECK(r.output.find(c.entry) != std::string::npos);
        CHECK(r.output.find(c.xattr) != std::string::npos);
    }
}

// With metacopy a file's data stays in the lowers, at the redirect path when it
// was renamed: the diff must classify such files by that data, and a layer of
// the changes must carry it whole.
TEST_CASE("metadata-only copies of kernel overlayfs and layerfs: diffed, and carried whole") {
    REQUIRE(::geteuid() == 0);
    const std::string script = R"(chmod 600 "$1/etc/passwd"; touch -h -m "$1/var/blob"
        mv "$1/d/f" "$1/d/f2"; chmod 600 "$1/d/g"; chmod 644 "$1/d/g")";
    for (Backend b : {Backend::Kernel, Backend::Layerfs}) {
        INFO(backend_name(b));
        Lowers lowers;
        TempDir t;
        std::string upper = t / "upper", work = t / "work", mnt = t / "mnt", out = t / "out";
        for (const auto& d : {upper, work, mnt, out})
            make_dir(d);
        {
            Mount m(b, lowers.dirs(), upper, work, mnt, "metacopy=on");
            INFO(m.result().output);
            REQUIRE(m.ok());
            REQUIRE_OK(sh(script, mnt));
        }
        // The premise: metadata-only copies, one renamed, one back as it was.
        for (auto f : {"/etc/passwd", "/var/blob", "/d/f2", "/d/g"}) {
            INFO(f);
            REQUIRE(::lgetxattr((upper + f).c_str(), "trusted.overlay.metacopy", nullptr, 0) >= 0);
        }
        auto r = diff_dirs(lowers.dirs(), upper);
        INFO(r.output);
        REQUIRE(r.status == 0);
        CHECK(lines_of(trimmed(r.output)) == by_path({"C /etc", "C /etc/passwd", "C /var",
                                                      "C /var/blob", "C /d", "D /d/f", "A /d/f2"}));

        std::vector<layerfs::Fd> fds;
        std::vector<int> lower_fds;
        for (const auto& d : lowers.dirs()) {
            fds.push_back(layerfs::Fd(::open(d.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC)));
            lower_fds.push_back(fds.back().get());
        }
        layerfs::Fd up(::open(upper.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
        auto items = layerfs::store::collect_changes(up.get(), lower_fds);
        {
            layerfs::Fd tar(
                ::open((t / "layer.tar").c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0600));
            layerfs::store::TarWriter w(tar.get());
            layerfs::store::write_layer_tar(up.get(), lower_fds, items, w, {});
            w.finish();
        }
        REQUIRE_OK(run({"tar", "-C", out, "-xf", t / "layer.tar"}));
        CHECK(read_file(out + "/etc/passwd") == "root:x:0:0\n");
        CHECK((lstat_of(out + "/etc/passwd").st_mode & 07777) == 0600);
        CHECK(read_file(out + "/var/blob") == blob());
        CHECK(read_file(out + "/d/f2") == "f\n");
        CHECK_FALSE(exists(out + "/d/g"));  // unchanged after all: not in the layer
    }
}

TEST_CASE("diff --format json is docker's API form, --docker applies to it") {
    Lowers lowers;
    TempDir t;
    std::string up = t / "upper";
    upper_dir_like(up + "/etc", lowers.top + "/etc");
    write_file(up + "/etc/passwd", "root:x:0:0\nnew:x:1:1\n");
    write_file(up + "/etc/new", "n");
    whiteout_device(up + "/etc/hostname");
    upper_dir_like(up + "/d", lowers.top + "/d");
    touch_all({up + "/d"});

    auto r = diff_dirs(lowers.dirs(), up, {"--format", "json"});
    INFO(r.output);
    REQUIRE(r.status == 0);
    auto j = json::parse(r.output, nullptr, false);
    REQUIRE(j.is_array());
    json want = json::array({
        {{"Path", "/etc"}, {"Kind", 0}},
        {{"Path", "/etc/hostname"}, {"Kind", 2}},
        {{"Path", "/etc/new"}, {"Kind", 1}},
        {{"Path", "/etc/passwd"}, {"Kind", 0}},
    });
    CHECK(j == want);

    auto d = diff_dirs(lowers.dirs(), up, {"--docker", "--format", "json"});
    INFO(d.output);
    REQUIRE(d.status == 0);
    CHECK(json_lines(d.output) ==
          by_path({"C /d", "C /etc", "D /etc/hostname", "A /etc/new", "C /etc/passwd"}));

    make_dir(t / "empty-upper");
    auto none = diff_dirs(lowers.dirs(), t / "empty-upper", {"--format", "json"});
    INFO(none.output);
    REQUIRE(none.status == 0);
    CHECK(json::parse(none.output, nullptr, false) == json::array());
}

// File names are bytes; json strings are UTF-8. The text form prints the bytes;
// the json form must still describe the change (docker's Go encoder writes
// U+FFFD for a byte that is not UTF-8) rather than fail.
TEST_CASE("diff --format json of a name that is not UTF-8") {
    Lowers lowers;
    TempDir t;
    std::string up = t / "upper";
    write_file(up + "/bad\xff"
                    "name",
               "x");

    auto text = diff_dirs(lowers.dirs(), up);
    INFO(text.output);
    REQUIRE(text.status == 0);
    CHECK(lines_of(text.output) == Lines{"A /bad\xff"
                                         "name"});

    auto r = diff_dirs(lowers.dirs(), up, {"--format", "json"});
    INFO(r.output);
    CHECK(r.status == 0);
    auto j = json::parse(r.output, nullptr, false);
    REQUIRE(j.is_array());
    REQUIRE(j.size() == 1);
    CHECK(j[0].value("Kind", -1) == 1);
    CHECK(j[0].value("Path", "").rfind("/bad", 0) == 0);
}

TEST_CASE("diff errors: exit status and a layerfs: message") {
    Lowers lowers;
    TempDir t;
    make_dir(t / "upper");
    TestStore s;
    create_container(s, "busybox", "c");
    auto lf = [](std::vector<std::string> args) {
        args.insert(args.begin(), layerfs_bin());
        return run(args);
    };
    struct Case {
        std::string what;
        RunResult r;
    };
    std::vector<Case> cases = {
        {"missing --upper dir", lf({"diff", "--lower", lowers.top, "--upper", t / "nope"})},
        {"--upper is a file",
         lf({"diff", "--lower", lowers.top, "--upper", lowers.top + "/etc/hostname"})},
        {"--lower without --upper", lf({"diff", "--lower", lowers.top})},
        {"--upper without --lower", lf({"diff", "--upper", t / "upper"})},
        {"both a CONTAINER and --upper",
         s.lf({"diff", "c", "--lower", lowers.top, "--upper", t / "upper"})},
        {"a nonexistent lower",
         lf({"diff", "--lower", lowers.top + ":" + (t / "nope"), "--upper", t / "upper"})},
        {"neither", s.lf({"diff"})},
        {"an unknown container", s.lf({"diff", "nope"})},
    };
    for (const auto& c : cases) {
        INFO(c.what << ": " << c.r.output);
        CHECK((c.r.status == 1 || c.r.status == 2));
        CHECK(c.r.output.rfind("layerfs: ", 0) == 0);
    }
    // Messages name what is wrong.
    CHECK(cases[0].r.output.find(t / "nope") != std::string::npos);
    CHECK(cases[5].r.output.find(t / "nope") != std::string::npos);
    CHECK(cases[7].r.output.find("nope") != std::string::npos);
}

// ---- the walk is O(change): lower dirs the upper leaves alone are not opened --

TEST_CASE("diff opens no lower directory the upper does not name, and lists none") {
    Lowers lowers;
    TempDir t;
    std::string up = t / "upper";
    upper_dir_like(up + "/etc", lowers.top + "/etc");
    write_file(up + "/etc/passwd", "changed\n");
    upper_dir_like(up + "/bin", lowers.bottom + "/bin");
    write_file(up + "/bin/new", "new\n");
    whiteout_device(up + "/d");  // deleting /d needs no look inside it

    {
        DirWatch watch(lowers.dirs());
        auto r = diff_dirs(lowers.dirs(), up);
        INFO(r.output);
        REQUIRE(r.status == 0);
        CHECK(lines_of(r.output) ==
              by_path({"C /bin", "A /bin/new", "D /d", "C /etc", "C /etc/passwd"}));
        auto seen = watch.drain();
        // A looked-up directory is opened to read its opaque flag: allowed for
        // the names the upper has (/d's whiteout among them), no other.
        const std::set<std::string> upper_dirs = {"/", "/bin", "/d", "/etc"};
        for (const auto& dir : seen.opened) {
            INFO(dir);
            CHECK(upper_dirs.count(dir) == 1);
        }
        CHECK(seen.listed.empty());
    }
    // The control: an opaque /big must be listed to say what it hid, and the
    // watch sees it, so the silence above is no blind spot.
    upper_dir_like(up + "/big", lowers.bottom + "/big");
    set_xattr(up + "/big", "trusted.overlay.opaque", "y");
    {
        DirWatch watch(lowers.dirs());
        auto r = diff_dirs(lowers.dirs(), up);
        INFO(r.output);
        REQUIRE(r.status == 0);
        CHECK(lines_of(r.output) == by_path({"C /big", "D /big/a", "D /big/x", "C /bin",
                                             "A /bin/new", "D /d", "C /etc", "C /etc/passwd"}));
        auto seen = watch.drain();
        CHECK(seen.listed == std::set<std::string>{"/big"});
        CHECK(seen.opened.count("/big/a") == 0);
    }
}

// ---- store containers ----------------------------------------------------

TEST_CASE("layerfs diff CONTAINER: mounted, unmounted, by id and by id prefix") {
    TestStore s;
    std::string id = create_container(s, "busybox", "c");
    CHECK(container_diff(s, "c").empty());  // nothing done yet
    const Lines want = by_path({
        "C /etc",
        "C /etc/passwd",
        "D /etc/group",
        "D /home",
        "C /root",
        "C /tmp",
        "A /tmp/new",
        "A /tmp/new/dir",
        "A /tmp/new/dir/f",
        "A /tmp/pw",
    });
    {
        ContainerMount m(s, "c");
        CHECK(m.merged == s.root + "/containers/" + id + "/merged");
        // Reading copies nothing up.
        REQUIRE_OK(sh(R"(cat "$1/etc/passwd" "$1/etc/group" >/dev/null; ls -R "$1" >/dev/null)",
                      m.merged));
        CHECK(container_diff(s, "c").empty());
        REQUIRE_OK(sh(R"(echo 'guest:x:1000:1000::/tmp:/bin/sh' >> "$1/etc/passwd"
                         rm "$1/etc/group"
                         mkdir -p "$1/tmp/new/dir"; echo y > "$1/tmp/new/dir/f"
                         ln -s /etc/passwd "$1/tmp/pw"
                         rm -rf "$1/home"
                         chmod 750 "$1/root")",
                      m.merged));
        CHECK(container_diff(s, "c") == want);
        m.unmount();
        REQUIRE_FALSE(is_mounted(m.merged));
    }
    CHECK(container_diff(s, "c") == want);
    CHECK(container_diff(s, id) == want);
    CHECK(container_diff(s, id.substr(0, 12)) == want);
    CHECK(json_lines(s.lf({"diff", "--format", "json", "c"}).output) == want);

    // Another container of the same image has its own, empty, upper.
    create_container(s, "busybox", "other");
    CHECK(container_diff(s, "other").empty());
}

// A two-layer image: the second layer deletes etc/shadow (a .wh. member) and
// makes opt/app opaque, so the container's lowers carry the store's own whiteout
// and opaque forms. Everything is owned by UID:GID.
void import_layered(const TestStore& s, const TempDir& t, uid_t uid, gid_t gid,
                    const std::string& name) {
    TarBuilder base, top;
    base.dir("etc").owner(uid, gid).file("etc/passwd", "root\n").owner(uid, gid);
    base.file("etc/shadow", "x\n").owner(uid, gid).dir("opt").owner(uid, gid);
    base.dir("opt/app").owner(uid, gid).file("opt/app/a", "a\n").owner(uid, gid);
    base.file("opt/app/b", "b\n").owner(uid, gid);
    top.dir("etc").owner(uid, gid).file("etc/.wh.shadow", "").owner(uid, gid);
    top.dir("opt").owner(uid, gid).dir("opt/app").owner(uid, gid);
    top.file("opt/app/.wh..wh..opq", "").owner(uid, gid);
    top.file("opt/app/c", "c\n").owner(uid, gid);
    OciLayoutBuilder layout;
    layout.layer(base.bytes()).layer(top.bytes());
    layout.write(t / "layout");
    REQUIRE_OK(s.lf({"import", t / "layout:v1", name}));
}

// Changes to a container of import_layered's image, and the diff they give:
// etc/shadow and opt/app/a were hidden by the top layer, so they come back as A.
const char* const kLayeredChanges = R"(echo new > "$1/etc/shadow"
    echo a > "$1/opt/app/a"
    rm "$1/opt/app/c")";
Lines layered_want() {
    return by_path(
        {"C /etc", "A /etc/shadow", "C /opt", "C /opt/app", "A /opt/app/a", "D /opt/app/c"});
}

TEST_CASE("layerfs diff CONTAINER reads the whiteouts and opaque dirs of the image's layers") {
    TestStore s;
    TempDir t;
    import_layered(s, t, 0, 0, "layered:v1");
    create_container(s, "layered:v1", "c");
    {
        ContainerMount m(s, "c");
        CHECK_FALSE(exists(m.merged + "/etc/shadow"));
        CHECK(list_dir(m.merged + "/opt/app") == Lines{"c"});
        REQUIRE_OK(sh(kLayeredChanges, m.merged));
    }
    CHECK(container_diff(s, "c") == layered_want());
}

// A container's work dir records that all names of a copied-up lower hard link
// share the copy: the merged tree shows the change under every name, so the
// diff (and a commit built from it) must list every name, looked up or not.
TEST_CASE("layerfs diff CONTAINER lists every name of a modified lower hard link") {
    TestStore s;
    TempDir t;
    write_tar(t / "img.tar", {
                                 {"bin/", S_IFDIR | 0755},
                                 {"bin/tool", S_IFREG | 0755, 0, 0, "tool\n"},
                                 {"bin/tool2", S_IFREG | 0755, 0, 0, "", "bin/tool"},
                                 {"bin/other", S_IFREG | 0755, 0, 0, "other\n"},
                             });
    REQUIRE_OK(s.lf({"import", t / "img.tar", "linked:v1"}));
    create_container(s, "linked:v1", "c");
    {
        ContainerMount m(s, "c");
        REQUIRE_OK(sh(R"(echo more >> "$1/bin/tool")", m.merged));
    }
    Lines got = container_diff(s, "c");
    {
        ContainerMount m(s, "c");
        CHECK(read_file(m.merged + "/bin/tool2") == "tool\nmore\n");
    }
    CHECK(got == by_path({"C /bin", "C /bin/tool", "C /bin/tool2"}));
    // Once the other name was looked up the upper holds it: same answer.
    CHECK(container_diff(s, "c") == by_path({"C /bin", "C /bin/tool", "C /bin/tool2"}));
}

// ---- rootless ------------------------------------------------------------

// Owners live in user.containers.override_stat and whiteouts are .wh. files;
// the diff shows owners and modes as the container sees them.
TEST_CASE("an ordinary user's container diff", "[rootless]") {
    REQUIRE(::geteuid() != 0);
    const unsigned me = ::geteuid(), my_group = ::getegid();
    TestStore s;
    TempDir t;
    write_tar(t / "img.tar", {
                                 {"etc/", S_IFDIR | 0755},
                                 {"etc/passwd", S_IFREG | 0644, 0, 0, "root:x:0:0\n"},
                                 {"home/", S_IFDIR | 0755, me, my_group},
                                 {"home/f", S_IFREG | 0644, me, my_group, "f\n"},
                                 {"home/g", S_IFREG | 0644, me, my_group, "g\n"},
                                 {"home/h", S_IFREG | 0644, me, my_group, "h\n"},
                                 {"home/same", S_IFREG | 0644, me, my_group, "same\n"},
                                 {"home/gone/", S_IFDIR | 0755, me, my_group},
                                 {"home/gone/x", S_IFREG | 0644, me, my_group, "x\n"},
                                 {"home/sub/", S_IFDIR | 0755, me, my_group},
                                 {"home/sub/x", S_IFREG | 0644, me, my_group, "x\n"},
                                 {"home/sub/y", S_IFREG | 0644, me, my_group, "y\n"},
                             });
    REQUIRE_OK(s.lf({"import", t / "img.tar", "mine:v1"}));
    std::string id = create_container(s, "mine:v1", "c");
    const Lines want = by_path({
        "C /home",
        "C /home/f",
        "D /home/g",
        "C /home/h",
        "A /home/new",
        "D /home/gone",
        "C /home/sub",
        "D /home/sub/x",
        "C /home/sub/y",
    });
    {
        ContainerMount m(s, "c");
        // The mount shows the tar's owners: root's /etc is not ours to change.
        CHECK(lstat_of(m.merged + "/etc/passwd").st_uid == 0);
        CHECK(lstat_of(m.merged + "/home/f").st_uid == me);
        REQUIRE_OK(sh(R"(echo more >> "$1/home/f"
                         rm "$1/home/g"
                         chmod 600 "$1/home/h"
                         chmod 644 "$1/home/same"
                         echo n > "$1/home/new"
                         rm -rf "$1/home/gone"
                         rm -rf "$1/home/sub"; mkdir "$1/home/sub"; echo y > "$1/home/sub/y")",
                      m.merged));
        CHECK((lstat_of(m.merged + "/home/h").st_mode & 07777) == 0600);
        CHECK(container_diff(s, "c") == want);
    }
    std::string upper = s.root + "/containers/" + id + "/upper";
    // The unprivileged dialect, and the copy of "same" really is in the upper.
    CHECK(exists(upper + "/home/.wh.g"));
    CHECK(exists(upper + "/home/same"));
    CHECK(container_diff(s, "c") == want);
    CHECK(container_diff(s, "c", {"--docker"}) == by_path(want + Lines{"C /home/same"}));
}

TEST_CASE("an ordinary user's container diff over the store's whiteouts and opaque dirs",
          "[rootless]") {
    REQUIRE(::geteuid() != 0);
    TestStore s;
    TempDir t;
    import_layered(s, t, ::geteuid(), ::getegid(), "layered:v1");
    create_container(s, "layered:v1", "c");
    {
        ContainerMount m(s, "c");
        CHECK_FALSE(exists(m.merged + "/etc/shadow"));
        CHECK(list_dir(m.merged + "/opt/app") == Lines{"c"});
        REQUIRE_OK(sh(kLayeredChanges, m.merged));
    }
    CHECK(container_diff(s, "c") == layered_want());
}

// An ordinary user cannot enter a mode-000 lower dir: a diff that works while
// one sits in the lowers untouched by the upper never walked into it.
TEST_CASE("an ordinary user's diff never enters a lower dir the upper leaves alone", "[rootless]") {
    REQUIRE(::geteuid() != 0);
    TempDir t;
    std::string lower = t / "l0", up = t / "upper";
    write_file(lower + "/etc/passwd", "root\n");
    write_file(lower + "/locked/secret", "s\n");
    make_dir(lower + "/locked/inner");
    touch_all({lower});
    write_file(up + "/etc/passwd", "changed\n");
    REQUIRE(::chmod((lower + "/locked").c_str(), 0) == 0);
    struct Restore {
        std::string dir;
        ~Restore() { ::chmod(dir.c_str(), 0755); }  // so the temp dir can go
    } restore{lower + "/locked"};

    auto r = diff_dirs({lower}, up);
    INFO(r.output);
    REQUIRE(r.status == 0);
    CHECK(lines_of(r.output) == by_path({"C /etc", "C /etc/passwd"}));

    // The control: an opaque /locked must be listed, which the user cannot do.
    make_dir(up + "/locked");
    set_xattr(up + "/locked", "user.overlay.opaque", "y");
    r = diff_dirs({lower}, up);
    INFO(r.output);
    CHECK(r.status == 1);
    CHECK(r.output.rfind("layerfs: ", 0) == 0);
    CHECK(r.output.find("/locked") != std::string::npos);
}
