// OCI and Docker schema 2 documents: snapshotter/oci.cpp.
#include <catch2/catch.hpp>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "snapshotter/failure.hpp"
#include "snapshotter/oci.hpp"
#include "tests/unit/failure_of.hpp"

namespace store = layerfs::store;
using layerfs::test::failure_of;
using json = nlohmann::json;
using store::Failure;

namespace {

const std::string kH1(64, '1');
const std::string kH2(64, '2');
const std::string kH3(64, 'a');
const std::string kH4 = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

constexpr const char* kDockerConfig = "application/vnd.docker.container.image.v1+json";
constexpr const char* kDockerLayerGzip = "application/vnd.docker.image.rootfs.diff.tar.gzip";
constexpr const char* kDockerLayer = "application/vnd.docker.image.rootfs.diff.tar";
constexpr const char* kDockerLayerZstd = "application/vnd.docker.image.rootfs.diff.tar.zstd";

json descriptor(const char* media_type, const std::string& hex, uint64_t size) {
    return json{{"mediaType", media_type}, {"digest", "sha256:" + hex}, {"size", size}};
}

json oci_index() {
    json m = descriptor(store::kOciManifest, kH1, 123);
    m["annotations"] = {{store::kRefNameAnnotation, "latest"},
                        {store::kContainerdNameAnnotation, "docker.io/library/busybox:latest"}};
    m["platform"] = {{"os", "linux"}, {"architecture", "amd64"}};
    return json{
        {"schemaVersion", 2}, {"mediaType", store::kOciIndex}, {"manifests", json::array({m})}};
}

json oci_manifest() {
    return json{
        {"schemaVersion", 2},
        {"mediaType", store::kOciManifest},
        {"config", descriptor(store::kOciConfig, kH1, 456)},
        {"layers",
         {descriptor(store::kOciLayerGzip, kH2, 1000), descriptor(store::kOciLayerZstd, kH3, 2000),
          descriptor(store::kOciLayer, kH4, 3000)}}};
}

json docker_manifest() {
    return json{{"schemaVersion", 2},
                {"mediaType", store::kDockerManifest},
                {"config", descriptor(kDockerConfig, kH1, 1469)},
                {"layers",
                 {descriptor(kDockerLayerGzip, kH2, 2000), descriptor(kDockerLayer, kH3, 3000),
                  descriptor(kDockerLayerZstd, kH4, 4000)}}};
}

json oci_config() {
    return json{{"created", "2024-01-02T03:04:05Z"},
                {"author", "someone"},
                {"architecture", "amd64"},
                {"os", "linux"},
                {"config", {{"Cmd", json::array({"sh"})}}},
                {"rootfs", {{"type", "layers"}, {"diff_ids", {"sha256:" + kH1, "sha256:" + kH2}}}},
                {"history",
                 {{{"created", "2024-01-01T00:00:00Z"}, {"created_by", "ADD file:x in /"}},
                  {{"created", "2024-01-02T03:04:05Z"},
                   {"created_by", "CMD [\"sh\"]"},
                   {"comment", "buildkit"},
                   {"empty_layer", true}}}}};
}

// The message starts with the document's name and contains `reason`.
void check_message(const std::string& msg, const std::string& what, const std::string& reason) {
    INFO("message: " << msg);
    CHECK(msg.rfind(what + ": ", 0) == 0);
    CHECK(msg.find(reason) != std::string::npos);
}

void check_index_fails(const std::string& text, const std::string& reason) {
    INFO("index: " << text);
    check_message(failure_of([&] { store::parse_index(text, "index.json"); }), "index.json",
                  reason);
}

void check_manifest_fails(const std::string& text, const std::string& reason) {
    INFO("manifest: " << text);
    check_message(failure_of([&] { store::parse_manifest(text, "manifest sha256:feed"); }),
                  "manifest sha256:feed", reason);
}

void check_config_fails(const std::string& text, const std::string& reason) {
    INFO("config: " << text);
    check_message(failure_of([&] { store::parse_config(text, "config of busybox"); }),
                  "config of busybox", reason);
}

// Every bad digest a descriptor or diff_id may carry.
const std::vector<json> kBadDigests = {
    "sha512:" + kH1 + kH1,             // another algorithm
    "sha256:" + std::string(64, 'A'),  // uppercase hex
    "sha256:ABCDEF" + kH1.substr(6),   // partly uppercase
    "sha256:" + kH1.substr(1),         // short hex
    "sha256:" + kH1 + "1",             // long hex
    "sha256:" + std::string(64, 'g'),  // not hex
    "sha256:",                         // no hex
    kH1,                               // no algorithm
    "SHA256:" + kH1,                   // algorithm in capitals
    "",                                // nothing
    " sha256:" + kH1,                  // blank
};

}  // namespace

TEST_CASE("media type predicates", "[oci]") {
    CHECK(store::is_index_type(store::kOciIndex));
    CHECK(store::is_index_type(store::kDockerList));
    CHECK_FALSE(store::is_index_type(store::kOciManifest));
    CHECK_FALSE(store::is_index_type(""));

    CHECK(store::is_manifest_type(store::kOciManifest));
    CHECK(store::is_manifest_type(store::kDockerManifest));
    CHECK_FALSE(store::is_manifest_type(store::kOciIndex));
    CHECK_FALSE(store::is_manifest_type("application/vnd.docker.distribution.manifest.v1+json"));

    for (const char* t : {store::kOciLayer, store::kOciLayerGzip, store::kOciLayerZstd,
                          kDockerLayerGzip, kDockerLayer, kDockerLayerZstd})
        CHECK(store::is_layer_type(t));
    for (const char* t : {"", store::kOciConfig, store::kOciManifest, "application/octet-stream",
                          "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
                          "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
                          "application/vnd.oci.image.layer.v1.tar+bzip2"})
        CHECK_FALSE(store::is_layer_type(t));
}

TEST_CASE("parse_index: an OCI index", "[oci]") {
    store::IndexDoc doc = store::parse_index(oci_index().dump(), "index.json");
    REQUIRE(doc.manifests.size() == 1);
    const store::Descriptor& d = doc.manifests[0];
    CHECK(d.media_type == store::kOciManifest);
    CHECK(d.hex == kH1);
    CHECK(d.size == 123);
    CHECK(d.annotations.size() == 2);
    CHECK(d.annotations.at(store::kRefNameAnnotation) == "latest");
    CHECK(d.annotations.at(store::kContainerdNameAnnotation) == "docker.io/library/busybox:latest");
    CHECK(d.os == "linux");
    CHECK(d.architecture == "amd64");
}

TEST_CASE("parse_index: a Docker manifest list", "[oci]") {
    json j{{"schemaVersion", 2},
           {"mediaType", store::kDockerList},
           {"manifests",
            {descriptor(store::kDockerManifest, kH1, 527),
             descriptor(store::kDockerManifest, kH2, 528)}}};
    j["manifests"][0]["platform"] = {{"architecture", "arm64"}, {"os", "linux"}, {"variant", "v8"}};
    store::IndexDoc doc = store::parse_index(j.dump(), "list");
    REQUIRE(doc.manifests.size() == 2);
    CHECK(doc.manifests[0].media_type == store::kDockerManifest);
    CHECK(doc.manifests[0].hex == kH1);
    CHECK(doc.manifests[0].size == 527);
    CHECK(doc.manifests[0].architecture == "arm64");
    CHECK(doc.manifests[0].os == "linux");
    CHECK(doc.manifests[1].hex == kH2);
    CHECK(doc.manifests[1].os.empty());
    CHECK(doc.manifests[1].architecture.empty());
    CHECK(doc.manifests[1].annotations.empty());
}

TEST_CASE("parse_index: optional parts of descriptors", "[oci]") {
    json j = oci_index();
    auto& m = j["manifests"][0];
    m.erase("mediaType");
    m["annotations"]["number"] = 5;  // not a string: dropped
    m["annotations"]["null"] = nullptr;
    m["platform"] = "linux/amd64";  // not an object: ignored
    m["urls"] = {"https://example.com/blob"};
    j["annotations"] = {{"top", "level"}};
    store::IndexDoc doc = store::parse_index(j.dump(), "index.json");
    REQUIRE(doc.manifests.size() == 1);
    CHECK(doc.manifests[0].media_type.empty());
    CHECK(doc.manifests[0].annotations.size() == 2);
    CHECK(doc.manifests[0].annotations.count("number") == 0);
    CHECK(doc.manifests[0].os.empty());
}

TEST_CASE("parse_index: sizes up to 2^64-1", "[oci]") {
    std::string text = R"({"schemaVersion":2,"manifests":[{"digest":"sha256:)" + kH1 +
                       R"(","size":18446744073709551615}]})";
    store::IndexDoc doc = store::parse_index(text, "index.json");
    REQUIRE(doc.manifests.size() == 1);
    CHECK(doc.manifests[0].size == 18446744073709551615ULL);

    std::string zero =
        R"({"schemaVersion":2,"manifests":[{"digest":"sha256:)" + kH1 + R"(","size":0}]})";
    CHECK(store::parse_index(zero, "index.json").manifests.at(0).size == 0);
}

TEST_CASE("parse_index: no manifests", "[oci]") {
    CHECK(store::parse_index(R"({"schemaVersion":2,"manifests":[]})", "index.json")
              .manifests.empty());
}

TEST_CASE("parse_index: malformed JSON", "[oci]") {
    for (const char* t : {"", " ", "{", "}", "{\"manifests\": [}", "{} x", "{\"a\":1,}",
                          "{'manifests': []}", "\xff\xfe"}) {
        check_index_fails(t, "malformed JSON");
    }
}

TEST_CASE("parse_index: not an object", "[oci]") {
    for (const char* t : {"[]", "42", "\"index\"", "null", "true", "[{\"manifests\":[]}]"}) {
        check_index_fails(t, "not a JSON object");
    }
}

TEST_CASE("parse_index: missing or mistyped manifests", "[oci]") {
    check_index_fails(R"({"schemaVersion":2})", "missing \"manifests\"");
    check_index_fails(R"({"manifests":[]})", "schemaVersion is not 2");
    check_index_fails(R"({"schemaVersion":2,"manifests":null})", "missing \"manifests\"");
    check_index_fails(R"({"schemaVersion":2,"manifests":{}})", "\"manifests\" is not an array");
    check_index_fails(R"({"schemaVersion":2,"manifests":"x"})", "\"manifests\" is not an array");
    check_index_fails(R"({"schemaVersion":2,"manifests":[1]})", "not an object");
    check_index_fails(R"({"schemaVersion":2,"manifests":[[]]})", "not an object");
    check_index_fails(R"({"schemaVersion":2,"manifests":[null]})", "not an object");
}

TEST_CASE("parse_index: descriptor fields of the wrong type", "[oci]") {
    json j = oci_index();
    j["manifests"][0]["mediaType"] = 7;
    check_index_fails(j.dump(), "\"mediaType\" is not a string");

    j = oci_index();
    j["manifests"][0]["digest"] = 7;
    check_index_fails(j.dump(), "\"digest\" is not a string");

    j = oci_index();
    j["manifests"][0].erase("digest");
    check_index_fails(j.dump(), "missing \"digest\"");

    j = oci_index();
    j["manifests"][0]["platform"]["os"] = 1;
    check_index_fails(j.dump(), "\"os\" is not a string");

    j = oci_index();
    j["manifests"][0]["platform"]["architecture"] = json::array();
    check_index_fails(j.dump(), "\"architecture\" is not a string");
}

TEST_CASE("parse_index: bad digests", "[oci]") {
    for (const json& digest : kBadDigests) {
        json j = oci_index();
        j["manifests"][0]["digest"] = digest;
        check_index_fails(j.dump(), "malformed digest");
    }
}

TEST_CASE("parse_index: bad sizes", "[oci]") {
    for (const char* size : {"-1", "-9223372036854775808", "1.5", "0.0", "1e3", "\"12\"", "null",
                             "true", "[]", "{}", "18446744073709551616"}) {
        INFO("size " << size);
        std::string text = R"({"schemaVersion":2,"manifests":[{"digest":"sha256:)" + kH1 +
                           R"(","size":)" + size + "}]}";
        check_index_fails(text, "has no valid size");
    }
    json j = oci_index();
    j["manifests"][0].erase("size");
    check_index_fails(j.dump(), "has no valid size");
}

TEST_CASE("parse_manifest: an OCI manifest", "[oci]") {
    json j = oci_manifest();
    j["layers"][0]["annotations"] = {{"org.opencontainers.image.title", "base"}};
    j["annotations"] = {{"x", "y"}};
    store::ManifestDoc doc = store::parse_manifest(j.dump(), "manifest");
    CHECK(doc.config.media_type == store::kOciConfig);
    CHECK(doc.config.hex == kH1);
    CHECK(doc.config.size == 456);
    REQUIRE(doc.layers.size() == 3);
    CHECK(doc.layers[0].media_type == store::kOciLayerGzip);
    CHECK(doc.layers[0].hex == kH2);
    CHECK(doc.layers[0].size == 1000);
    CHECK(doc.layers[0].annotations.at("org.opencontainers.image.title") == "base");
    CHECK(doc.layers[1].media_type == store::kOciLayerZstd);
    CHECK(doc.layers[1].hex == kH3);
    CHECK(doc.layers[1].size == 2000);
    CHECK(doc.layers[2].media_type == store::kOciLayer);
    CHECK(doc.layers[2].hex == kH4);
    CHECK(doc.layers[2].size == 3000);
}

TEST_CASE("parse_manifest: a Docker schema 2 manifest", "[oci]") {
    store::ManifestDoc doc = store::parse_manifest(docker_manifest().dump(), "manifest");
    CHECK(doc.config.media_type == kDockerConfig);
    CHECK(doc.config.hex == kH1);
    CHECK(doc.config.size == 1469);
    REQUIRE(doc.layers.size() == 3);
    CHECK(doc.layers[0].media_type == kDockerLayerGzip);
    CHECK(doc.layers[1].media_type == kDockerLayer);
    CHECK(doc.layers[2].media_type == kDockerLayerZstd);
    CHECK(doc.layers[2].hex == kH4);
    CHECK(doc.layers[2].size == 4000);
}

TEST_CASE("parse_manifest: no layers and no mediaType", "[oci]") {
    json j = oci_manifest();
    j["layers"] = json::array();
    j.erase("mediaType");
    store::ManifestDoc doc = store::parse_manifest(j.dump(), "manifest");
    CHECK(doc.layers.empty());
    CHECK(doc.config.hex == kH1);
}

TEST_CASE("parse_manifest: malformed JSON and non-objects", "[oci]") {
    check_manifest_fails("", "malformed JSON");
    check_manifest_fails("{\"schemaVersion\":2", "malformed JSON");
    check_manifest_fails(oci_manifest().dump() + ",", "malformed JSON");
    check_manifest_fails("[]", "not a JSON object");
    check_manifest_fails("2", "not a JSON object");
    check_manifest_fails("null", "not a JSON object");
}

TEST_CASE("parse_manifest: schemaVersion must be 2", "[oci]") {
    json j = oci_manifest();
    j.erase("schemaVersion");
    check_manifest_fails(j.dump(), "schemaVersion is not 2");
    for (json v : {json(1), json(3), json(0), json(-2), json("2"), json(nullptr), json::array({2}),
                   json(true)}) {
        j["schemaVersion"] = v;
        check_manifest_fails(j.dump(), "schemaVersion is not 2");
    }
}

TEST_CASE("parse_manifest: missing or mistyped config", "[oci]") {
    json j = oci_manifest();
    j.erase("config");
    check_manifest_fails(j.dump(), "missing \"config\"");

    j["config"] = "sha256:" + kH1;
    check_manifest_fails(j.dump(), "not an object");

    j["config"] = json::array();
    check_manifest_fails(j.dump(), "not an object");

    j["config"] = nullptr;
    check_manifest_fails(j.dump(), "not an object");

    j = oci_manifest();
    j["config"].erase("digest");
    check_manifest_fails(j.dump(), "missing \"digest\"");

    j = oci_manifest();
    j["config"]["size"] = -456;
    check_manifest_fails(j.dump(), "has no valid size");

    j = oci_manifest();
    j["config"]["size"] = 4.5;
    check_manifest_fails(j.dump(), "has no valid size");
}

TEST_CASE("parse_manifest: missing or mistyped layers", "[oci]") {
    json j = oci_manifest();
    j.erase("layers");
    check_manifest_fails(j.dump(), "missing \"layers\"");

    j["layers"] = nullptr;
    check_manifest_fails(j.dump(), "missing \"layers\"");

    j["layers"] = json::object();
    check_manifest_fails(j.dump(), "\"layers\" is not an array");

    j["layers"] = json::array({"sha256:" + kH2});
    check_manifest_fails(j.dump(), "not an object");
}

TEST_CASE("parse_manifest: bad digests of config and layers", "[oci]") {
    for (const json& digest : kBadDigests) {
        json j = oci_manifest();
        j["config"]["digest"] = digest;
        check_manifest_fails(j.dump(), "malformed digest");

        json k = docker_manifest();
        k["layers"][1]["digest"] = digest;
        check_manifest_fails(k.dump(), "malformed digest");
    }
}

TEST_CASE("parse_manifest: bad layer sizes", "[oci]") {
    for (json size : {json(-1), json(-1000), json(1.5), json(2000.0), json("2000"), json(nullptr),
                      json(false)}) {
        json j = oci_manifest();
        j["layers"][2]["size"] = size;
        check_manifest_fails(j.dump(), "has no valid size");
    }
    json j = oci_manifest();
    j["layers"][0].erase("size");
    check_manifest_fails(j.dump(), "has no valid size");
}

TEST_CASE("parse_manifest: unsupported layer media types", "[oci]") {
    for (const char* t : {"application/octet-stream",
                          "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
                          "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
                          "application/vnd.oci.image.layer.v1.tar+bzip2",
                          "application/vnd.oci.image.config.v1+json",
                          "APPLICATION/VND.OCI.IMAGE."
                          "LAYER.V1.TAR"}) {
        json j = oci_manifest();
        j["layers"][1]["mediaType"] = t;
        INFO("media type " << t);
        check_manifest_fails(j.dump(), "unsupported media type");
        check_manifest_fails(j.dump(), kH3);
    }
    json j = oci_manifest();
    j["layers"][0].erase("mediaType");
    check_manifest_fails(j.dump(), "unsupported media type");

    j = oci_manifest();
    j["layers"][0]["mediaType"] = 3;
    check_manifest_fails(j.dump(), "\"mediaType\" is not a string");
}

TEST_CASE("parse_config: a full config", "[oci]") {
    store::ConfigDoc doc = store::parse_config(oci_config().dump(), "config");
    CHECK(doc.created == "2024-01-02T03:04:05Z");
    CHECK(doc.author == "someone");
    CHECK(doc.architecture == "amd64");
    CHECK(doc.os == "linux");
    REQUIRE(doc.diff_ids.size() == 2);
    CHECK(doc.diff_ids[0] == kH1);
    CHECK(doc.diff_ids[1] == kH2);
    REQUIRE(doc.history.size() == 2);
    CHECK(doc.history[0].created == "2024-01-01T00:00:00Z");
    CHECK(doc.history[0].created_by == "ADD file:x in /");
    CHECK(doc.history[0].comment.empty());
    CHECK_FALSE(doc.history[0].empty_layer);
    CHECK(doc.history[1].created_by == "CMD [\"sh\"]");
    CHECK(doc.history[1].comment == "buildkit");
    CHECK(doc.history[1].empty_layer);
}

TEST_CASE("parse_config: a minimal config", "[oci]") {
    store::ConfigDoc doc = store::parse_config(R"({"rootfs":{"diff_ids":[]}})", "config");
    CHECK(doc.created.empty());
    CHECK(doc.author.empty());
    CHECK(doc.architecture.empty());
    CHECK(doc.os.empty());
    CHECK(doc.diff_ids.empty());
    CHECK(doc.history.empty());
}

TEST_CASE("parse_config: null optional fields count as absent", "[oci]") {
    json j = oci_config();
    j["author"] = nullptr;
    j["created"] = nullptr;
    j["history"] = nullptr;
    store::ConfigDoc doc = store::parse_config(j.dump(), "config");
    CHECK(doc.author.empty());
    CHECK(doc.created.empty());
    CHECK(doc.history.empty());
    CHECK(doc.diff_ids.size() == 2);
}

TEST_CASE("parse_config: empty_layer is true only for the boolean true", "[oci]") {
    json j = oci_config();
    j["history"] = {{{"empty_layer", "true"}},
                    {{"empty_layer", 1}},
                    {{"empty_layer", false}},
                    {{"empty_layer", true}},
                    json::object()};
    store::ConfigDoc doc = store::parse_config(j.dump(), "config");
    REQUIRE(doc.history.size() == 5);
    CHECK_FALSE(doc.history[0].empty_layer);
    CHECK_FALSE(doc.history[1].empty_layer);
    CHECK_FALSE(doc.history[2].empty_layer);
    CHECK(doc.history[3].empty_layer);
    CHECK_FALSE(doc.history[4].empty_layer);
}

TEST_CASE("parse_config: malformed JSON and non-objects", "[oci]") {
    check_config_fails("", "malformed JSON");
    check_config_fails("{\"rootfs\":", "malformed JSON");
    check_config_fails("[]", "not a JSON object");
    check_config_fails("\"config\"", "not a JSON object");
}

TEST_CASE("every document: nesting deeper than 1000 is refused", "[oci]") {
    // Found by tests/fuzz/fuzz_oci_json: derive_config's dump() of a parent this
    // deep overflowed the stack.
    auto nested = [](int depth) {
        return R"({"schemaVersion":2,"manifests":[],"rootfs":{"diff_ids":[]},"x":)" +
               std::string(depth, '[') + std::string(depth, ']') + "}";
    };
    // The document itself and 999 arrays: 1000 levels.
    CHECK(store::parse_config(nested(999), "config").diff_ids.empty());
    CHECK(store::parse_index(nested(999), "index").manifests.empty());
    for (int depth : {1000, 1 << 20}) {
        check_config_fails(nested(depth), "nested deeper than 1000");
        check_index_fails(nested(depth), "nested deeper than 1000");
        check_manifest_fails(nested(depth), "nested deeper than 1000");
    }
}

TEST_CASE("parse_config: missing or mistyped rootfs", "[oci]") {
    json j = oci_config();
    j.erase("rootfs");
    check_config_fails(j.dump(), "missing \"rootfs\"");

    j["rootfs"] = json::array();
    check_config_fails(j.dump(), "missing \"rootfs\"");

    j["rootfs"] = json::object();
    check_config_fails(j.dump(), "missing \"diff_ids\"");

    j["rootfs"] = {{"diff_ids", "sha256:" + kH1}};
    check_config_fails(j.dump(), "\"diff_ids\" is not an array");

    j["rootfs"] = {{"diff_ids", json::array({7})}};
    check_config_fails(j.dump(), "malformed diff_id");

    j["rootfs"] = {{"diff_ids", json::array({nullptr})}};
    check_config_fails(j.dump(), "malformed diff_id");
}

TEST_CASE("parse_config: bad diff_ids", "[oci]") {
    for (const json& digest : kBadDigests) {
        json j = oci_config();
        j["rootfs"]["diff_ids"][1] = digest;
        check_config_fails(j.dump(), "malformed diff_id");
    }
}

TEST_CASE("parse_config: fields of the wrong type", "[oci]") {
    for (const char* key : {"created", "author", "architecture", "os"}) {
        json j = oci_config();
        j[key] = 12;
        check_config_fails(j.dump(), std::string("\"") + key + "\" is not a string");
    }

    json j = oci_config();
    j["history"] = json::object();
    check_config_fails(j.dump(), "\"history\" is not an array");

    j["history"] = json::array({"RUN x"});
    check_config_fails(j.dump(), "a history entry is not an object");

    for (const char* key : {"created", "created_by", "comment"}) {
        json k = oci_config();
        k["history"][0][key] = json::array();
        check_config_fails(k.dump(), std::string("\"") + key + "\" is not a string");
    }
}

TEST_CASE("layer_media_type sniffs compression", "[oci]") {
    using namespace std::string_view_literals;
    auto type = [](std::string_view head) { return std::string(store::layer_media_type(head)); };
    CHECK(type("\x1f\x8b"sv) == store::kOciLayerGzip);
    CHECK(type("\x1f\x8b\x08\x00\x00\x00\x00\x00"sv) == store::kOciLayerGzip);
    CHECK(type("\x28\xb5\x2f\xfd"sv) == store::kOciLayerZstd);
    CHECK(type("\x28\xb5\x2f\xfd\x00\x58\x00\x00"sv) == store::kOciLayerZstd);

    std::string tar(512, '\0');
    tar.replace(0, 5, "hello");
    tar.replace(257, 6, "ustar");
    CHECK(type(tar) == store::kOciLayer);
    CHECK(type("") == store::kOciLayer);
    CHECK(type("x") == store::kOciLayer);
    // Too short or near misses.
    CHECK(type("\x1f"sv) == store::kOciLayer);
    CHECK(type("\x1f\x8c"sv) == store::kOciLayer);
    CHECK(type("\x8b\x1f"sv) == store::kOciLayer);
    CHECK(type("\x28\xb5\x2f"sv) == store::kOciLayer);
    CHECK(type("\x28\xb5\x2f\xfe"sv) == store::kOciLayer);
    CHECK(type("\x00\x28\xb5\x2f\xfd"sv) == store::kOciLayer);
    // bzip2 and xz are not recognised: they are left to the tar reader.
    CHECK(type("BZh91AY"sv) == store::kOciLayer);
    CHECK(type("\xfd"
               "7zXZ\x00"sv) == store::kOciLayer);
}
