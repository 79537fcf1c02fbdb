// Hostile tars given to `layerfs import`: members that try to escape the layer
// and tars that are not tars, each refused with exit status 1 and a message
// naming the problem, the store left exactly as it was and nothing written
// outside it. Positive controls show the same inputs, made well, import fine.
#include "tests/store/hostile_helpers.hpp"

using namespace layerfs::test;
using namespace layerfs::test::hostile;

// ---- the builders themselves ----------------------------------------------

TEST_CASE("the test tar builder writes hostile names and link targets verbatim", "[hostile]") {
    TempDir t;
    TarBuilder b;
    b.file("../x", "x").file("/etc/x", "y").file("a/../../b", "z");
    b.symlink("lnk", "/tmp/somewhere").hardlink("h", "/etc/passwd");
    b.char_device("dev/null", 1, 3).fifo("p");
    b.write(t / "t.tar");
    auto r = run({"tar", "-P", "--numeric-owner", "-tvf", t / "t.tar"});
    INFO(r.output);
    REQUIRE(r.status == 0);
    for (const char* s : {" ../x\n", " /etc/x\n", " a/../../b\n", " lnk -> /tmp/somewhere\n",
                          " h link to /etc/passwd\n", "crw-r--r--", " dev/null\n", " p\n"})
        CHECK(r.output.find(s) != std::string::npos);
    auto offs = rawtar::header_offsets(b.bytes());
    CHECK(offs.size() >= 7);
}

TEST_CASE("the raw tar helpers make valid tars when they claim the truth", "[hostile]") {
    // So the malformed cases below fail for their damage, not for the helpers.
    Hostile h;
    std::string plain =
        rawtar::header("f", '0', 5) + rawtar::padded("hello") + rawtar::end_marker();
    std::string pax_size = rawtar::pax_size_claim(5);
    std::string pax_header = rawtar::huge_pax_header(10);  // "10 path=f\n" is 10 bytes
    for (const std::string& tar : {plain, pax_size, pax_header}) {
        std::string path = h.input_path(".tar");
        write_bytes(path, tar);
        auto t = run({"tar", "-tvf", path});
        INFO(t.output);
        CHECK(t.status == 0);
        auto r = h.s.lf({"import", path, "raw/ok:" + std::to_string(h.inputs)});
        INFO(r.output);
        CHECK(r.status == 0);
        std::string layer = lowerdir_option(h.s, "raw/ok:" + std::to_string(h.inputs));
        CHECK(list_dir(layer).size() == 1);
    }
    CHECK(rawtar::header_offsets(plain) == std::vector<size_t>{0});
    CHECK(rawtar::header_offsets(pax_size) == std::vector<size_t>{0, 1024});
    CHECK(rawtar::truncated_in_header(pax_size, 1).size() == 1124);
    std::string damaged = h.input_path(".tar");
    write_bytes(damaged, rawtar::corrupt_checksum(plain, 0));
    CHECK(run({"tar", "-tvf", damaged}).status != 0);
}

// ---- positive controls ----------------------------------------------------

TEST_CASE("a well-formed tar with an absolute symlink never written through imports fine",
          "[hostile]") {
    Hostile h;
    TarBuilder b;
    b.dir("etc").file("etc/hostname", "box\n");
    b.symlink("etc/alt", "/etc/passwd");
    b.symlink("up", "../../..");
    b.hardlink("etc/hostname2", "etc/hostname");
    b.file("etc/attr", "a").xattr("user.note", "kept");
    // A symlink to a file outside, with a hard link to the symlink and a time
    // of its own: neither may reach the file it points to.
    TempDir outside;
    write_file(outside / "target", "outside\n", 0600);
    struct stat target = lstat_of(outside / "target");
    b.symlink("out", outside / "target").mtime(1000000000);
    b.hardlink("out2", "out");
    std::string tar = b.bytes();
    std::string path = h.input_path(".tar");
    write_bytes(path, tar);
    struct stat passwd = lstat_of("/etc/passwd");

    auto r = h.s.lf({"import", path, "good/rootfs:1"});
    INFO(r.output);
    REQUIRE(r.status == 0);
    CHECK(r.output.find("sha256:") != std::string::npos);
    std::string layer = lowerdir_option(h.s, "good/rootfs:1");
    CHECK(layer.find(':') == std::string::npos);
    struct stat alt = lstat_of(layer + "/etc/alt");
    CHECK(S_ISLNK(alt.st_mode));
    CHECK(std::filesystem::read_symlink(layer + "/etc/alt") == "/etc/passwd");
    CHECK(std::filesystem::read_symlink(layer + "/up") == "../../..");
    CHECK(read_file(layer + "/etc/hostname") == "box\n");
    CHECK(lstat_of(layer + "/etc/hostname").st_nlink == 2);
    CHECK(lstat_of(layer + "/etc/hostname").st_ino == lstat_of(layer + "/etc/hostname2").st_ino);
    CHECK(xattr_of(layer + "/etc/attr", "user.note") == "kept");
    struct stat out = lstat_of(layer + "/out");
    CHECK(S_ISLNK(out.st_mode));
    CHECK(out.st_mtime == 1000000000);
    CHECK(std::filesystem::read_symlink(layer + "/out2") == outside / "target");
    CHECK(lstat_of(layer + "/out2").st_ino == out.st_ino);
    struct stat target_after = lstat_of(outside / "target");
    CHECK(target_after.st_nlink == 1);
    CHECK(target_after.st_mtime == target.st_mtime);
    CHECK((target_after.st_mode & 07777) == 0600);
    CHECK(target_after.st_uid == target.st_uid);
    CHECK(read_file(outside / "target") == "outside\n");
    // The layer's diff_id is the sha256 of the tar as given.
    CHECK(layer.find("/layers/" + sha256_of(tar) + "/") != std::string::npos);
    struct stat after = lstat_of("/etc/passwd");
    CHECK(after.st_nlink == passwd.st_nlink);
    CHECK(after.st_size == passwd.st_size);
}

TEST_CASE("a valid OCI layout imports fine, as a directory and as an oci-archive", "[hostile]") {
    Hostile h;
    std::string base = TarBuilder().dir("bin").file("bin/sh", "#!sh\n", 0755).bytes();
    std::string top =
        TarBuilder().file("etc/motd", "hi\n").symlink("etc/mtab", "/proc/mounts").bytes();
    OciLayoutBuilder b;
    b.layer(base, false).layer(top, true);
    b.ref_name = "v2";
    std::string dir = h.input_path(".oci");
    auto w = b.write(dir);

    auto r = h.s.lf({"import", dir + ":v2", "good/oci:1"});
    INFO(r.output);
    REQUIRE(r.status == 0);
    CHECK(r.output.find("sha256:" + w.config_hex) != std::string::npos);
    std::string lowers = lowerdir_option(h.s, "good/oci:1");
    auto colon = lowers.find(':');
    REQUIRE(colon != std::string::npos);
    std::string top_dir = lowers.substr(0, colon), base_dir = lowers.substr(colon + 1);
    CHECK(top_dir.find(w.diff_ids[1]) != std::string::npos);
    CHECK(base_dir.find(w.diff_ids[0]) != std::string::npos);
    CHECK(read_file(base_dir + "/bin/sh") == "#!sh\n");
    CHECK((lstat_of(base_dir + "/bin/sh").st_mode & 07777) == 0755);
    CHECK(read_file(top_dir + "/etc/motd") == "hi\n");
    CHECK(std::filesystem::read_symlink(top_dir + "/etc/mtab") == "/proc/mounts");
    CHECK(exists(h.s.root + "/blobs/sha256/" + w.layer_hexes[1]));

    std::string archive = h.input_path(".oci.tar");
    write_bytes(archive, tar_of_dir(dir));
    auto again = h.s.lf({"import", archive, "good/oci-archive:1"});
    INFO(again.output);
    REQUIRE(again.status == 0);
    CHECK(again.output.find("sha256:" + w.config_hex) != std::string::npos);
    auto images = h.s.lf({"images"});
    CHECK(images.output.find("good/oci-archive") != std::string::npos);
    CHECK(images.output.find("good/oci ") != std::string::npos);
}

// ---- names that leave the layer -------------------------------------------

TEST_CASE("members with a '..' component are refused", "[hostile]") {
    Hostile h;
    for (const char* name : {"../x", "a/../../b", "a/../b", "./../x", "a/b/../../../c"}) {
        INFO("member " << name);
        std::string tar = TarBuilder().dir("a").file(name, "escaped").bytes();
        h.refused_everywhere(tar, {"member '" + std::string(name) + "'", "'..' component"});
    }
    // The same as a directory, a symlink and a fifo.
    h.refused_as_rootfs(TarBuilder().dir("../d").bytes(), {"'..' component"});
    h.refused_as_rootfs(TarBuilder().symlink("../l", "x").bytes(), {"'..' component"});
    h.refused_as_rootfs(TarBuilder().fifo("../p").bytes(), {"'..' component"});
    // Whiteouts of "." and "..", and a file standing in for the layer root.
    h.refused_everywhere(TarBuilder().file(".wh...", "").bytes(),
                         {"member '.wh...'", "whiteout of an invalid name"});
    h.refused_everywhere(TarBuilder().file("a/.wh..", "").bytes(), {"whiteout of an invalid name"});
    h.refused_everywhere(TarBuilder().file(".", "x").bytes(),
                         {"the layer root is not a directory"});
    CHECK_FALSE(exists(h.s.tmp / "x"));
    CHECK_FALSE(exists(h.s.tmp / "b"));
    CHECK_FALSE(exists(h.s.tmp / "c"));
    CHECK_FALSE(exists(h.s.tmp / "d"));
}

TEST_CASE("members with an absolute path are refused", "[hostile]") {
    Hostile h;
    TempDir outside;
    std::string target = outside / "planted";
    std::string tar = TarBuilder().file(target, "escaped").bytes();
    h.refused_everywhere(tar, {"member '" + target + "'", "absolute path"});
    h.refused_everywhere(TarBuilder().file("/etc/x", "x").bytes(), {"absolute path"});
    h.refused_as_rootfs(TarBuilder().dir(outside / "d").bytes(), {"absolute path"});
    CHECK(list_dir(outside.path()).empty());
    CHECK_FALSE(exists("/etc/x"));
}

// ---- writes through symlinks ----------------------------------------------

TEST_CASE("members written through a symlink to an absolute path are refused", "[hostile]") {
    Hostile h;
    TempDir outside;
    const std::string msg = "through the symlink 'lnk'";
    SECTION("a file through the link") {
        h.refused_everywhere(
            TarBuilder().symlink("lnk", outside.path()).file("lnk/file", "escaped").bytes(),
            {"member 'lnk/file'", msg});
    }
    SECTION("a file deeper through the link") {
        h.refused_everywhere(
            TarBuilder().symlink("lnk", outside.path()).file("lnk/sub/file", "escaped").bytes(),
            {msg});
    }
    SECTION("a directory, a symlink, a hard link and a fifo through the link") {
        h.refused_as_rootfs(TarBuilder().symlink("lnk", outside.path()).dir("lnk/d").bytes(),
                            {msg});
        h.refused_as_rootfs(
            TarBuilder().symlink("lnk", outside.path()).symlink("lnk/s", "/etc/passwd").bytes(),
            {msg});
        h.refused_as_rootfs(TarBuilder()
                                .file("f", "f")
                                .symlink("lnk", outside.path())
                                .hardlink("lnk/h", "f")
                                .bytes(),
                            {msg});
        h.refused_as_rootfs(TarBuilder().symlink("lnk", outside.path()).fifo("lnk/p").bytes(),
                            {msg});
    }
    SECTION("a whiteout and an opaque marker through the link") {
        h.refused_everywhere(
            TarBuilder().symlink("lnk", outside.path()).file("lnk/.wh.gone", "").bytes(), {msg});
        h.refused_everywhere(
            TarBuilder().symlink("lnk", outside.path()).file("lnk/.wh..wh..opq", "").bytes(),
            {msg});
    }
    SECTION("a link inside a directory, named with a trailing slash and ./") {
        h.refused_everywhere(TarBuilder()
                                 .dir("d/")
                                 .symlink("d/lnk", outside.path())
                                 .file("./d/lnk/./file", "escaped")
                                 .bytes(),
                             {"through the symlink 'd/lnk'"});
    }
    CHECK(list_dir(outside.path()).empty());
}

TEST_CASE("members written through a relative symlink that climbs out are refused", "[hostile]") {
    Hostile h;
    TempDir outside;
    SECTION("lnk -> ../../..") {
        h.refused_everywhere(
            TarBuilder().symlink("lnk", "../../..").file("lnk/x", "escaped").bytes(),
            {"member 'lnk/x'", "through the symlink 'lnk'"});
        CHECK_FALSE(exists(h.s.tmp / "x"));
    }
    SECTION("lnk -> enough ../ to reach / and then a directory outside the store") {
        std::string up;
        for (int i = 0; i < 64; i++)
            up += "../";
        std::string target = up + outside.path().substr(1);
        h.refused_everywhere(TarBuilder().symlink("lnk", target).file("lnk/x", "escaped").bytes(),
                             {"through the symlink 'lnk'"});
    }
    SECTION("a symlink to a directory inside the layer is refused too: tars never follow") {
        h.refused_everywhere(
            TarBuilder().dir("real").symlink("lnk", "real").file("lnk/x", "x").bytes(),
            {"through the symlink 'lnk'"});
    }
    CHECK(list_dir(outside.path()).empty());
}

// ---- hard links -----------------------------------------------------------

TEST_CASE("hard links to a path outside the layer or to a missing target are refused",
          "[hostile]") {
    Hostile h;
    struct stat passwd = lstat_of("/etc/passwd");
    SECTION("target ../x") {
        h.refused_everywhere(TarBuilder().file("a", "a").hardlink("h", "../x").bytes(),
                             {"member 'h'", "hard link target", "'..' component"});
    }
    SECTION("target /etc/passwd") {
        h.refused_everywhere(TarBuilder().file("a", "a").hardlink("h", "/etc/passwd").bytes(),
                             {"member 'h'", "hard link target", "absolute path"});
    }
    SECTION("target etc/passwd, which the layer does not have") {
        h.refused_everywhere(TarBuilder().file("a", "a").hardlink("h", "etc/passwd").bytes(),
                             {"member 'h'", "'etc/passwd'", "not in the layer"});
    }
    SECTION("target named only later in the tar") {
        h.refused_everywhere(TarBuilder().hardlink("h", "a").file("a", "a").bytes(),
                             {"member 'h'", "not in the layer"});
    }
    SECTION("target reached through a symlink") {
        h.refused_everywhere(
            TarBuilder().symlink("lnk", "/etc").hardlink("h", "lnk/passwd").bytes(),
            {"member 'h'", "not in the layer"});
    }
    SECTION("target a directory") {
        h.refused_everywhere(TarBuilder().dir("d").hardlink("h", "d").bytes(),
                             {"member 'h'", "not a file"});
    }
    struct stat after = lstat_of("/etc/passwd");
    CHECK(after.st_nlink == passwd.st_nlink);
}

// ---- duplicates -----------------------------------------------------------

TEST_CASE("a path named twice is refused", "[hostile]") {
    Hostile h;
    SECTION("the same file twice") {
        h.refused_everywhere(
            TarBuilder().file("etc/passwd", "one").file("etc/passwd", "two").bytes(),
            {"member 'etc/passwd'", "duplicate path"});
    }
    SECTION("the same file twice, spelled differently") {
        h.refused_everywhere(TarBuilder().file("a/f", "one").file("./a//f", "two").bytes(),
                             {"duplicate path"});
    }
    SECTION("a file, then a symlink of the same name") {
        h.refused_everywhere(TarBuilder().file("f", "one").symlink("f", "/etc/shadow").bytes(),
                             {"member 'f'", "duplicate path"});
    }
    SECTION("a file, then a hard link of the same name") {
        h.refused_everywhere(
            TarBuilder().file("a", "a").file("f", "one").hardlink("f", "a").bytes(),
            {"duplicate path"});
    }
}

// ---- malformed tars -------------------------------------------------------

TEST_CASE("malformed and truncated tar headers are refused", "[hostile]") {
    Hostile h;
    std::string good = TarBuilder()
                           .file("a", std::string(700, 'a'))
                           .file("b", "bbb")
                           .file("c", std::string(2000, 'c'))
                           .bytes();
    auto offs = rawtar::header_offsets(good);
    REQUIRE(offs.size() >= 3);
    SECTION("cut in the middle of the second header") {
        h.refused_everywhere(rawtar::truncated_in_header(good, 1), {"Truncated tar archive"});
    }
    SECTION("cut in the middle of the first header") {
        h.refused_everywhere(rawtar::truncated_in_header(good, 0), {"Unrecognized archive format"});
    }
    SECTION("cut in the middle of a member's data") {
        h.refused_everywhere(good.substr(0, offs[2] + 512 + 1000),
                             {"member 'c'", "Truncated tar archive"});
    }
    SECTION("a corrupted checksum in the second header") {
        h.refused_everywhere(rawtar::corrupt_checksum(good, 1),
                             {"malformed", "Damaged tar archive"});
    }
    SECTION("a corrupted checksum in the first header") {
        h.refused_everywhere(rawtar::corrupt_checksum(good, 0), {"Unrecognized archive format"});
    }
    SECTION("a pax extended header claiming a huge size of its own") {
        h.refused_everywhere(rawtar::huge_pax_header(uint64_t{1} << 40),
                             {"malformed", "header too large"});
    }
    SECTION("a pax extended header claiming 2 GiB, most of which is not there") {
        h.refused_everywhere(rawtar::huge_pax_header(uint64_t{2} << 30),
                             {"malformed", "header too large"});
    }
    SECTION("a pax extended header cut short") {
        // libarchive refuses it without a message: the null crashed the import
        // (found by tests/fuzz/fuzz_unpack).
        std::string cut = rawtar::header("PaxHeaders/f", 'x', 194);
        h.refused_everywhere(cut, {"malformed", "damaged or truncated"});
        h.refused_everywhere(cut + rawtar::padded("19 path=something\n").substr(0, 100),
                             {"malformed", "damaged or truncated"});
    }
    SECTION("a pax size record claiming a huge member") {
        h.refused_everywhere(rawtar::pax_size_claim(uint64_t{1} << 50),
                             {"member 'big'", "Truncated tar archive"});
    }
    SECTION("random bytes that are not a tar at all") {
        std::string junk(4096, '\0');
        for (size_t i = 0; i < junk.size(); i++)
            junk[i] = char((i * 7919 + 13) % 251 + 1);
        h.refused_everywhere(junk, {"Unrecognized archive format"});
    }
}

// ---- lying OCI layouts ------------------------------------------------------

TEST_CASE("as root, device members become real device nodes", "[hostile]") {
    if (::geteuid() != 0) {
        WARN("needs root: skipped");
        return;
    }
    Hostile h;
    TarBuilder b;
    b.dir("dev").char_device("dev/null", 1, 3, 0666).block_device("dev/loop9", 7, 9, 0660);
    b.fifo("dev/fifo", 0600);
    std::string path = h.input_path(".tar");
    b.write(path);
    auto r = h.s.lf({"import", path, "dev/rootfs:1"});
    INFO(r.output);
    REQUIRE(r.status == 0);
    std::string layer = lowerdir_option(h.s, "dev/rootfs:1");
    struct stat null = lstat_of(layer + "/dev/null");
    CHECK(S_ISCHR(null.st_mode));
    CHECK(null.st_rdev == makedev(1, 3));
    CHECK((null.st_mode & 07777) == 0666);
    struct stat loop = lstat_of(layer + "/dev/loop9");
    CHECK(S_ISBLK(loop.st_mode));
    CHECK(loop.st_rdev == makedev(7, 9));
    CHECK((loop.st_mode & 07777) == 0660);
    CHECK(S_ISFIFO(lstat_of(layer + "/dev/fifo").st_mode));
    CHECK_FALSE(has_xattr(layer + "/dev/null", "user.containers.override_stat"));
}

TEST_CASE("overlay and override_stat xattrs carried by a tar are not obeyed", "[hostile]") {
    Hostile h;
    TarBuilder b;
    b.dir("d")
        .xattr("trusted.overlay.opaque", "y")
        .xattr("user.overlay.opaque", "y")
        .xattr("trusted.overlay.redirect", "/etc");
    b.file("d/meta", "").xattr("trusted.overlay.metacopy", "").xattr("user.overlay.metacopy", "");
    b.file("d/su", "su", 0644)
        .owner(::geteuid(), ::getegid())
        .xattr("user.containers.override_stat", "0:0:04755")
        .xattr("user.fuseoverlayfs.override_stat", "0:0:04755")
        .xattr("user.kept", "yes");
    std::string path = h.input_path(".tar");
    b.write(path);
    auto r = h.s.lf({"import", path, "xattr/rootfs:1"});
    INFO(r.output);
    REQUIRE(r.status == 0);
    std::string layer = lowerdir_option(h.s, "xattr/rootfs:1");
    CHECK_FALSE(has_xattr(layer + "/d", "trusted.overlay.opaque"));
    CHECK_FALSE(has_xattr(layer + "/d", "user.overlay.opaque"));
    CHECK_FALSE(has_xattr(layer + "/d", "trusted.overlay.redirect"));
    CHECK_FALSE(has_xattr(layer + "/d/meta", "trusted.overlay.metacopy"));
    CHECK_FALSE(has_xattr(layer + "/d/meta", "user.overlay.metacopy"));
    CHECK_FALSE(has_xattr(layer + "/d/su", "user.containers.override_stat"));
    CHECK_FALSE(has_xattr(layer + "/d/su", "user.fuseoverlayfs.override_stat"));
    CHECK(xattr_of(layer + "/d/su", "user.kept") == "yes");
    CHECK((lstat_of(layer + "/d/su").st_mode & 07777) == 0644);
}

TEST_CASE("an unprivileged store records devices in override_stat, never as nodes", "[rootless]") {
    REQUIRE(::geteuid() != 0);
    Hostile h;
    TarBuilder b;
    b.dir("dev").char_device("dev/null", 1, 3, 0644).block_device("dev/sda", 8, 0, 0660);
    b.char_device("dev/mine", 1, 5, 0600).owner(::geteuid(), ::getegid());
    b.file("su", "su", 0644)
        .owner(::geteuid(), ::getegid())
        .xattr("user.containers.override_stat", "0:0:04755");
    std::string tar = b.bytes();

    SECTION("as a rootfs tarball") {
        std::string path = h.input_path(".tar");
        write_bytes(path, tar);
        auto r = h.s.lf({"import", path, "dev/rootfs:1"});
        INFO(r.output);
        REQUIRE(r.status == 0);
    }
    SECTION("inside an OCI layout") {
        OciLayoutBuilder o;
        o.layer(tar, true);
        std::string dir = h.input_path(".oci");
        o.write(dir);
        auto r = h.s.lf({"import", dir, "dev/rootfs:1"});
        INFO(r.output);
        REQUIRE(r.status == 0);
    }
    std::string layer = lowerdir_option(h.s, "dev/rootfs:1");
    struct stat null = lstat_of(layer + "/dev/null");
    CHECK(S_ISREG(null.st_mode));
    CHECK(null.st_size == 0);
    CHECK(xattr_of(layer + "/dev/null", "user.containers.override_stat") == "0:0:0644:char-1-3");
    struct stat sda = lstat_of(layer + "/dev/sda");
    CHECK(S_ISREG(sda.st_mode));
    CHECK(xattr_of(layer + "/dev/sda", "user.containers.override_stat") == "0:0:0660:block-8-0");
    // A device the caller would own is still only recorded.
    struct stat mine = lstat_of(layer + "/dev/mine");
    CHECK(S_ISREG(mine.st_mode));
    CHECK(xattr_of(layer + "/dev/mine", "user.containers.override_stat") ==
          std::to_string(::geteuid()) + ":" + std::to_string(::getegid()) + ":0600:char-1-5");
    // No device node anywhere in the layer.
    for (const auto& e : std::filesystem::recursive_directory_iterator(layer)) {
        struct stat st = lstat_of(e.path());
        INFO(e.path());
        CHECK_FALSE(S_ISCHR(st.st_mode));
        CHECK_FALSE(S_ISBLK(st.st_mode));
    }
    // The tar's own override_stat is not obeyed: the file is the caller's, 0644.
    CHECK_FALSE(has_xattr(layer + "/su", "user.containers.override_stat"));
    // The caller can remove what it imported.
    REQUIRE(h.s.lf({"rmi", "dev/rootfs:1"}).status == 0);
    CHECK(list_dir(h.s.root + "/layers").empty());
}

TEST_CASE("an unprivileged store imports a fifo owned by root", "[rootless]") {
    REQUIRE(::geteuid() != 0);
    Hostile h;
    // Linux allows user.* xattrs on regular files and directories only: a fifo
    // cannot carry override_stat itself, so its owner must be recorded another way.
    std::string tar = TarBuilder().dir("run").fifo("run/initctl", 0600).bytes();
    std::string path = h.input_path(".tar");
    write_bytes(path, tar);
    auto r = h.s.lf({"import", path, "fifo/rootfs:1"});
    INFO(r.output);
    REQUIRE(r.status == 0);
    std::string fifo = lowerdir_option(h.s, "fifo/rootfs:1") + "/run/initctl";
    struct stat st = lstat_of(fifo);
    if (S_ISREG(st.st_mode))
        CHECK(xattr_of(fifo, "user.containers.override_stat") == "0:0:0600:pipe");
    else
        CHECK(S_ISFIFO(st.st_mode));
}

TEST_CASE("an unprivileged store refuses escapes too", "[rootless]") {
    REQUIRE(::geteuid() != 0);
    Hostile h;
    TempDir outside;
    h.refused_everywhere(
        TarBuilder().symlink("lnk", outside.path()).file("lnk/file", "escaped").bytes(),
        {"through the symlink 'lnk'"});
    h.refused_everywhere(TarBuilder().file("../x", "x").bytes(), {"'..' component"});
    h.refused_everywhere(TarBuilder().file("a", "a").hardlink("h", "/etc/passwd").bytes(),
                         {"absolute path"});
    // A failed import leaves nothing behind, even directories it made read-only.
    h.refused_as_rootfs(
        TarBuilder().dir("ro", 0555).file("ro/f", "f", 0444).file("../y", "y").bytes(),
        {"'..' component"});
    CHECK(list_dir(outside.path()).empty());
}
