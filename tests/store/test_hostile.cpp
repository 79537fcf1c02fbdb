// Hostile input to `layerfs import`: tars that try to escape the layer, tars
// that are not tars, and OCI layouts that lie. Each is refused with exit status
// 1 and a message naming the problem, the store is left exactly as it was and
// nothing is written outside it. Positive controls show the same inputs, made
// well, import fine.
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "tests/store/store_helpers.hpp"
#include "tests/support/oci_builder.hpp"

using namespace layerfs::test;

namespace {

using json = nlohmann::json;
using Part = OciLayoutBuilder::Part;

// path -> type, size and content digest of every name under ROOT, ROOT's own
// "lock" included (only its timestamps change, and they are not listed).
std::map<std::string, std::string> listing(const std::string& root) {
    std::map<std::string, std::string> out;
    std::error_code ec;
    for (auto it = std::filesystem::recursive_directory_iterator(root, ec);
         !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
        std::string path = it->path().string();
        struct stat st = lstat_of(path);
        std::string what;
        if (S_ISDIR(st.st_mode)) {
            what = "dir";
        } else if (S_ISREG(st.st_mode)) {
            what = "file size=" + std::to_string(st.st_size) +
                   " sha256=" + sha256_of(read_bytes(path));
        } else if (S_ISLNK(st.st_mode)) {
            what = "symlink -> " + std::filesystem::read_symlink(path).string();
        } else {
            what = "special mode=" + std::to_string(st.st_mode);
        }
        out[path.substr(root.size())] = what;
    }
    return out;
}

std::string listing_diff(const std::map<std::string, std::string>& before,
                         const std::map<std::string, std::string>& after) {
    std::ostringstream ss;
    for (const auto& [k, v] : before) {
        auto it = after.find(k);
        if (it == after.end())
            ss << "gone:    " << k << " (" << v << ")\n";
        else if (it->second != v)
            ss << "changed: " << k << " (" << v << " -> " << it->second << ")\n";
    }
    for (const auto& [k, v] : after)
        if (!before.count(k)) ss << "new:     " << k << " (" << v << ")\n";
    return ss.str();
}

// A line of OUTPUT that starts with "layerfs: " and contains WHAT.
bool has_message(const std::string& output, const std::string& what) {
    std::istringstream in(output);
    for (std::string line; std::getline(in, line);)
        if (line.rfind("layerfs: ", 0) == 0 && line.find(what) != std::string::npos) return true;
    return false;
}

// Every "layerfs: " line of OUTPUT says why after its last colon: none ends in
// ": " with the reason missing.
bool reasons_given(const std::string& output) {
    std::istringstream in(output);
    for (std::string line; std::getline(in, line);) {
        if (line.rfind("layerfs: ", 0) != 0) continue;
        while (!line.empty() && line.back() == ' ')
            line.pop_back();
        if (line.back() == ':') return false;
    }
    return true;
}

const char* part_name(Part p) {
    switch (p) {
        case Part::Index:
            return "index.json";
        case Part::Manifest:
            return "manifest";
        case Part::Config:
            return "config";
        case Part::Layer:
            return "layer";
    }
    return "?";
}

// Inputs live beside the store in the test's temp dir, never inside it.
struct Hostile {
    TestStore s;
    int inputs = 0;

    Hostile() {
        // The first command creates the store; compare against what it made.
        auto r = s.lf({"images"});
        REQUIRE(r.status == 0);
    }

    std::string input_path(const std::string& suffix) {
        return s.tmp / ("input-" + std::to_string(++inputs) + suffix);
    }

    // `layerfs import ARGS...` is refused with a message containing every one
    // of EXPECT on one "layerfs: " line, and the store does not change.
    void refused(const std::vector<std::string>& args, const std::vector<std::string>& expect) {
        auto before = listing(s.root);
        auto images_before = s.lf({"images", "-q", "--no-trunc"});
        std::vector<std::string> argv{"import"};
        argv.insert(argv.end(), args.begin(), args.end());
        auto r = s.lf(argv);
        INFO("layerfs import " << args.front() << "\n" << r.output);
        CHECK(r.status == 1);
        for (const auto& e : expect) {
            INFO("expected a 'layerfs: ' line containing: " << e);
            CHECK(has_message(r.output, e));
        }
        CHECK(reasons_given(r.output));
        auto after = listing(s.root);
        INFO("store changes:\n" << listing_diff(before, after));
        CHECK(after == before);
        auto images = s.lf({"images", "-q", "--no-trunc"});
        CHECK(images.status == 0);
        CHECK(images.output == images_before.output);
    }

    // TAR imported as a rootfs tarball, plain and gzip-compressed.
    void refused_as_rootfs(const std::string& tar, const std::vector<std::string>& expect) {
        for (bool gz : {false, true}) {
            std::string path = input_path(gz ? ".tar.gz" : ".tar");
            write_bytes(path, gz ? gzip(tar) : tar);
            INFO((gz ? "gzip-compressed " : "") << "rootfs tarball");
            refused({path, "hostile/rootfs:1"}, expect);
        }
    }

    // LAYOUT written into a fresh dir and imported as DIR:TAG, and packed into
    // an oci-archive imported as FILE.tar.
    void refused_as_layout(const OciLayoutBuilder& layout, const std::vector<std::string>& expect) {
        std::string dir = input_path(".oci");
        layout.write(dir);
        {
            INFO("OCI layout directory");
            refused({dir + ":" + layout.ref_name, "hostile/oci:1"}, expect);
        }
        std::string archive = input_path(".oci.tar");
        write_bytes(archive, tar_of_dir(dir));
        {
            INFO("oci-archive");
            refused({archive, "hostile/oci-archive:1"}, expect);
        }
    }

    // TAR as the only layer of an otherwise valid OCI layout, plain and gzip.
    void refused_as_layer(const std::string& tar, const std::vector<std::string>& expect) {
        for (bool gz : {false, true}) {
            OciLayoutBuilder b;
            b.layer(tar, gz);
            INFO((gz ? "gzip-compressed " : "uncompressed ") << "layer");
            refused_as_layout(b, expect);
        }
    }

    void refused_everywhere(const std::string& tar, const std::vector<std::string>& expect) {
        refused_as_rootfs(tar, expect);
        refused_as_layer(tar, expect);
    }
};

std::string lower_dirs(const TestStore& s, const std::string& image) {
    auto r = s.lf({"inspect", image});
    INFO(r.output);
    REQUIRE(r.status == 0);
    json j = json::parse(r.output);
    return j.at(0).at("GraphDriver").at("Data").at("LowerDir").get<std::string>();
}

std::string xattr_of(const std::string& path, const std::string& name) {
    char buf[256];
    ssize_t n = ::lgetxattr(path.c_str(), name.c_str(), buf, sizeof buf);
    return n < 0 ? std::string() : std::string(buf, size_t(n));
}

bool has_xattr(const std::string& path, const std::string& name) {
    return ::lgetxattr(path.c_str(), name.c_str(), nullptr, 0) >= 0;
}

}  // namespace

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
        std::string layer = lower_dirs(h.s, "raw/ok:" + std::to_string(h.inputs));
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
    std::string layer = lower_dirs(h.s, "good/rootfs:1");
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
    std::string lowers = lower_dirs(h.s, "good/oci:1");
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

namespace {

OciLayoutBuilder valid_layout() {
    OciLayoutBuilder b;
    b.layer(TarBuilder().file("etc/os-release", "ID=test\n").bytes(), false);
    b.layer(TarBuilder().file("etc/motd", "hello\n").bytes(), true);
    return b;
}

}  // namespace

TEST_CASE("the valid_layout fixture itself imports, so the damaged ones fail for their damage",
          "[hostile]") {
    Hostile h;
    std::string dir = h.input_path(".oci");
    valid_layout().write(dir);
    auto r = h.s.lf({"import", dir + ":v1", "fixture/oci:1"});
    INFO(r.output);
    CHECK(r.status == 0);
}

TEST_CASE("a descriptor whose digest does not match its blob is refused", "[hostile]") {
    Hostile h;
    for (Part p : {Part::Layer, Part::Config, Part::Manifest}) {
        for (size_t layer : {size_t{0}, size_t{1}}) {
            if (p != Part::Layer && layer) continue;
            INFO("damaged: " << part_name(p) << " (layer " << layer << ")");
            OciLayoutBuilder b = valid_layout();
            b.wrong_digest = p;
            b.damaged_layer = layer;
            h.refused_as_layout(b, {"digest"});
        }
    }
}

TEST_CASE("a descriptor whose size does not match its blob is refused", "[hostile]") {
    Hostile h;
    for (Part p : {Part::Layer, Part::Config, Part::Manifest}) {
        for (size_t layer : {size_t{0}, size_t{1}}) {
            if (p != Part::Layer && layer) continue;
            INFO("damaged: " << part_name(p) << " (layer " << layer << ")");
            OciLayoutBuilder b = valid_layout();
            b.wrong_size = p;
            b.damaged_layer = layer;
            h.refused_as_layout(b, {"bytes, its descriptor says"});
        }
    }
}

TEST_CASE("a descriptor that says fewer bytes than its blob holds is refused", "[hostile]") {
    Hostile h;
    for (Part p : {Part::Layer, Part::Config, Part::Manifest}) {
        INFO("damaged: " << part_name(p));
        OciLayoutBuilder b = valid_layout();
        b.wrong_size = p;
        b.size_delta = -1;
        h.refused_as_layout(b, {p == Part::Layer ? "is larger than its descriptor's size"
                                                 : "bytes, its descriptor says"});
    }
}

TEST_CASE("a descriptor with a malformed or path-like digest is refused", "[hostile]") {
    Hostile h;
    for (Part p : {Part::Layer, Part::Config, Part::Manifest}) {
        for (std::string digest :
             std::vector<std::string>{"sha256:../../../../etc/passwd", "sha256:../index.json",
                                      "sha256:" + std::string(64, 'A'), "sha256:abc",
                                      "sha512:" + std::string(128, 'a'), "/etc/passwd", ""}) {
            INFO("damaged: " << part_name(p) << ", digest '" << digest << "'");
            OciLayoutBuilder b = valid_layout();
            b.raw_digest = {p, digest};
            h.refused_as_layout(b, {"malformed digest", "'" + digest + "'"});
        }
    }
}

TEST_CASE("files of a layout that are symlinks are not followed", "[hostile]") {
    Hostile h;
    TempDir outside;
    std::string dir = h.input_path(".oci");
    auto w = valid_layout().write(dir);
    namespace fs = std::filesystem;
    SECTION("index.json -> /etc/passwd") {
        fs::remove(dir + "/index.json");
        fs::create_symlink("/etc/passwd", dir + "/index.json");
    }
    SECTION("index.json -> a valid copy outside the layout") {
        fs::copy_file(dir + "/index.json", outside / "index.json");
        fs::remove(dir + "/index.json");
        fs::create_symlink(outside / "index.json", dir + "/index.json");
    }
    SECTION("a layer blob -> a valid copy outside the layout") {
        std::string blob = dir + "/blobs/sha256/" + w.layer_hexes[0];
        fs::copy_file(blob, outside / "layer");
        fs::remove(blob);
        fs::create_symlink(outside / "layer", blob);
    }
    SECTION("the config blob -> a valid copy inside the layout") {
        std::string blob = dir + "/blobs/sha256/" + w.config_hex;
        fs::copy_file(blob, dir + "/config.json");
        fs::remove(blob);
        fs::create_symlink("../../config.json", blob);
    }
    SECTION("blobs/sha256 -> a directory outside") {
        fs::rename(dir + "/blobs/sha256", outside / "sha256");
        fs::create_symlink(outside / "sha256", dir + "/blobs/sha256");
    }
    {
        INFO("OCI layout directory");
        h.refused({dir + ":v1", "hostile/oci:1"}, {"symbolic link"});
    }
    std::string archive = h.input_path(".oci.tar");
    write_bytes(archive, tar_of_dir(dir));
    {
        INFO("oci-archive");
        h.refused({archive, "hostile/oci-archive:1"}, {"symbolic link"});
    }
    CHECK(list_dir(h.s.root + "/layers").empty());
}

TEST_CASE("a layer the store already holds is still checked against the descriptor and config",
          "[hostile]") {
    Hostile h;
    std::string trusted_tar = TarBuilder().file("etc/os-release", "ID=trusted\n").bytes();
    OciLayoutBuilder trusted;
    trusted.layer(trusted_tar, true);
    std::string dir = h.input_path(".oci");
    auto tw = trusted.write(dir);
    auto r = h.s.lf({"import", dir + ":v1", "trusted/base:1"});
    INFO(r.output);
    REQUIRE(r.status == 0);

    SECTION("another blob whose config claims the trusted layer's diff_id") {
        OciLayoutBuilder b;
        b.layer(TarBuilder().file("etc/os-release", "ID=evil\n").bytes(), true);
        b.wrong_diff_id = true;
        b.claimed_diff_id = tw.diff_ids[0];
        h.refused_as_layout(b, {"diff_id"});
    }
    SECTION("the trusted blob under a descriptor with the wrong size") {
        OciLayoutBuilder b;
        b.layer(trusted_tar, true);
        b.wrong_size = Part::Layer;
        h.refused_as_layout(b, {"bytes, its descriptor says"});
    }
    SECTION("the trusted blob under a config with a wrong diff_id") {
        OciLayoutBuilder b;
        b.layer(trusted_tar, true);
        b.wrong_diff_id = true;
        h.refused_as_layout(b, {"diff_id"});
    }
}

// ---- docker save archives ---------------------------------------------------

namespace {

// A `docker save` tar of one image whose manifest.json names CONFIG and LAYERS
// verbatim; the real files are "config.json" and "layer.tar".
std::string docker_archive(const std::string& config, const std::vector<std::string>& layers,
                           TarBuilder extra = {}) {
    std::string layer = TarBuilder().file("etc/hi", "hi\n").bytes();
    json cfg = {{"architecture", "amd64"},
                {"os", "linux"},
                {"rootfs", {{"type", "layers"}, {"diff_ids", {"sha256:" + sha256_of(layer)}}}}};
    json manifest =
        json::array({{{"Config", config}, {"RepoTags", {"docker/img:1"}}, {"Layers", layers}}});
    extra.file("manifest.json", manifest.dump()).file("config.json", cfg.dump());
    extra.file("layer.tar", layer);
    return extra.bytes();
}

}  // namespace

TEST_CASE("docker save archives whose manifest.json points outside are refused", "[hostile]") {
    Hostile h;
    std::string good = h.input_path(".docker.tar");
    write_bytes(good, docker_archive("config.json", {"layer.tar"}));
    {
        auto r = h.s.lf({"import", good});
        INFO(r.output);
        REQUIRE(r.status == 0);
        REQUIRE(h.s.lf({"rmi", "docker/img:1"}).status == 0);
        REQUIRE(h.s.lf({"prune"}).status == 0);
    }
    auto refused = [&](const std::string& tar, const std::vector<std::string>& expect) {
        std::string path = h.input_path(".docker.tar");
        write_bytes(path, tar);
        h.refused({path}, expect);
    };
    SECTION("a layer named with '..'") {
        refused(docker_archive("config.json", {"../../../../etc/passwd"}), {"'..' component"});
    }
    SECTION("a config with an absolute path") {
        refused(docker_archive("/etc/passwd", {"layer.tar"}), {"absolute path"});
    }
    SECTION("a layer that is a symlink out of the archive") {
        refused(
            docker_archive("config.json", {"l.tar"}, TarBuilder().symlink("l.tar", "/etc/passwd")),
            {"l.tar", "outside the archive"});
        refused(docker_archive("config.json", {"l.tar"}, TarBuilder().symlink("l.tar", "../../x")),
                {"l.tar", "outside the archive"});
    }
    SECTION("a member of the archive itself that leaves it") {
        refused(docker_archive("config.json", {"layer.tar"}, TarBuilder().file("../x", "x")),
                {"member '../x'", "'..' component"});
    }
    SECTION("a layer or config named '.'") {
        refused(docker_archive("config.json", {"."}), {"a layer"});
        refused(docker_archive(".", {"layer.tar"}), {"Config"});
    }
}

// ---- the messages -----------------------------------------------------------

TEST_CASE("a refusal names the input and the layer it comes from", "[hostile]") {
    Hostile h;
    std::string base = TarBuilder().file("etc/os-release", "ID=test\n").bytes();
    std::string bad = TarBuilder().file("../x", "x").bytes();
    SECTION("a hostile member in the second layer of an OCI layout") {
        OciLayoutBuilder b;
        b.layer(base, true).layer(bad, true);
        std::string dir = h.input_path(".oci");
        auto w = b.write(dir);
        auto r = h.s.lf({"import", dir + ":v1", "x/y:1"});
        INFO(r.output);
        CHECK(r.status == 1);
        CHECK(has_message(r.output, dir + ": "));
        CHECK(has_message(r.output, w.layer_hexes[1]));
    }
    SECTION("a diff_id that does not match in an OCI layout") {
        OciLayoutBuilder b = valid_layout();
        b.wrong_diff_id = true;
        std::string dir = h.input_path(".oci");
        b.write(dir);
        auto r = h.s.lf({"import", dir + ":v1", "x/y:1"});
        INFO(r.output);
        CHECK(r.status == 1);
        CHECK(has_message(r.output, dir + ": "));
    }
    SECTION("a bad layer name in a docker save archive") {
        std::string path = h.input_path(".docker.tar");
        write_bytes(path, docker_archive("config.json", {"../x"}));
        auto r = h.s.lf({"import", path});
        INFO(r.output);
        CHECK(r.status == 1);
        CHECK(has_message(r.output, path + ": "));
    }
}

TEST_CASE("a manifest naming a missing blob is refused", "[hostile]") {
    Hostile h;
    for (Part p : {Part::Layer, Part::Config, Part::Manifest}) {
        for (size_t layer : {size_t{0}, size_t{1}}) {
            if (p != Part::Layer && layer) continue;
            INFO("damaged: " << part_name(p) << " (layer " << layer << ")");
            OciLayoutBuilder b = valid_layout();
            b.missing_blob = p;
            b.damaged_layer = layer;
            h.refused_as_layout(b, {"blobs/sha256/", "missing"});
        }
    }
}

TEST_CASE("malformed JSON in index.json, a manifest or a config is refused", "[hostile]") {
    Hostile h;
    SECTION("index.json") {
        OciLayoutBuilder b = valid_layout();
        b.malformed_json = Part::Index;
        h.refused_as_layout(b, {"index.json", "malformed JSON"});
    }
    SECTION("manifest") {
        OciLayoutBuilder b = valid_layout();
        b.malformed_json = Part::Manifest;
        h.refused_as_layout(b, {"manifest sha256:", "malformed JSON"});
    }
    SECTION("config") {
        OciLayoutBuilder b = valid_layout();
        b.malformed_json = Part::Config;
        h.refused_as_layout(b, {"config sha256:", "malformed JSON"});
    }
}

TEST_CASE("a config whose diff_id does not match the layer is refused", "[hostile]") {
    Hostile h;
    for (size_t layer : {size_t{0}, size_t{1}}) {
        INFO("layer " << layer);
        OciLayoutBuilder b = valid_layout();
        b.wrong_diff_id = true;
        b.damaged_layer = layer;
        auto w = b.write(h.input_path(".probe"));
        h.refused_as_layout(b, {"diff_id", w.diff_ids[layer]});
    }
}

// ---- devices ----------------------------------------------------------------

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
    std::string layer = lower_dirs(h.s, "dev/rootfs:1");
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
    std::string layer = lower_dirs(h.s, "xattr/rootfs:1");
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
    std::string layer = lower_dirs(h.s, "dev/rootfs:1");
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
    std::string fifo = lower_dirs(h.s, "fifo/rootfs:1") + "/run/initctl";
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
