// OCI layouts and docker archives that lie to `layerfs import`: digests, sizes,
// missing blobs, malformed JSON, wrong diff_ids. Each is refused with exit
// status 1 and a message naming the problem, and the store is left as it was.
#include "tests/store/hostile_helpers.hpp"

using namespace layerfs::test;
using namespace layerfs::test::hostile;

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
        h.refused({dir + ":v1", "hostile/oci:1"}, {"links are not followed"});
    }
    std::string archive = h.input_path(".oci.tar");
    write_bytes(archive, tar_of_dir(dir));
    {
        INFO("oci-archive");
        h.refused({archive, "hostile/oci-archive:1"}, {"links are not followed"});
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
