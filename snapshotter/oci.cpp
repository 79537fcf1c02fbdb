#include "snapshotter/oci.hpp"

#include <sys/utsname.h>

#include <nlohmann/json.hpp>

#include "snapshotter/digest.hpp"
#include "snapshotter/failure.hpp"

namespace layerfs::store {
namespace {

using json = nlohmann::json;

// Far deeper than any real document. The parser itself takes any depth, but
// dump() recurses: a stored config nested a million deep (16 MiB is allowed)
// overflowed the stack when commit or inspect wrote it out again.
constexpr int kMaxDepth = 1000;

json parse_json(std::string_view text, const std::string& what) {
    auto shallow = [&](int depth, json::parse_event_t event, json&) {
        // depth counts the objects and arrays around this one.
        bool opens =
            event == json::parse_event_t::object_start || event == json::parse_event_t::array_start;
        if (opens && depth >= kMaxDepth)
            fail(what + ": nested deeper than " + std::to_string(kMaxDepth));
        return true;
    };
    json j = json::parse(text, shallow, false);
    if (j.is_discarded()) fail(what + ": malformed JSON");
    if (!j.is_object()) fail(what + ": not a JSON object");
    return j;
}

std::string get_string(const json& j, const char* key, const std::string& what, bool required) {
    auto it = j.find(key);
    if (it == j.end() || it->is_null()) {
        if (required) fail(what + ": missing \"" + key + "\"");
        return "";
    }
    if (!it->is_string()) fail(what + ": \"" + key + "\" is not a string");
    return it->get<std::string>();
}

const json* get_array(const json& j, const char* key, const std::string& what, bool required) {
    auto it = j.find(key);
    if (it == j.end() || it->is_null()) {
        if (required) fail(what + ": missing \"" + key + "\"");
        return nullptr;
    }
    if (!it->is_array()) fail(what + ": \"" + key + "\" is not an array");
    return &*it;
}

Descriptor parse_descriptor(const json& j, const std::string& what) {
    if (!j.is_object()) fail(what + ": a descriptor is not an object");
    Descriptor d;
    d.media_type = get_string(j, "mediaType", what, false);
    std::string digest = get_string(j, "digest", what, true);
    auto hex = digest_hex(digest);
    if (!hex) fail(what + ": unsupported or malformed digest '" + digest + "'");
    d.hex = *hex;
    auto size = j.find("size");
    if (size == j.end() || !size->is_number_unsigned())
        fail(what + ": descriptor " + digest + " has no valid size");
    d.size = size->get<uint64_t>();
    if (auto a = j.find("annotations"); a != j.end() && a->is_object())
        for (auto& [k, v] : a->items())
            if (v.is_string()) d.annotations[k] = v.get<std::string>();
    if (auto p = j.find("platform"); p != j.end() && p->is_object()) {
        d.os = get_string(*p, "os", what, false);
        d.architecture = get_string(*p, "architecture", what, false);
    }
    return d;
}

}  // namespace

bool is_index_type(std::string_view t) {
    return t == kOciIndex || t == kDockerList;
}
bool is_manifest_type(std::string_view t) {
    return t == kOciManifest || t == kDockerManifest;
}

bool is_layer_type(std::string_view t) {
    return t == kOciLayer || t == kOciLayerGzip || t == kOciLayerZstd ||
           t == "application/vnd.docker.image.rootfs.diff.tar.gzip" ||
           t == "application/vnd.docker.image.rootfs.diff.tar" ||
           t == "application/vnd.docker.image.rootfs.diff.tar.zstd";
}

IndexDoc parse_index(std::string_view text, const std::string& what) {
    json j = parse_json(text, what);
    if (auto v = j.find("schemaVersion"); v == j.end() || *v != 2)
        fail(what + ": schemaVersion is not 2");
    IndexDoc doc;
    for (const json& m : *get_array(j, "manifests", what, true))
        doc.manifests.push_back(parse_descriptor(m, what));
    return doc;
}

ManifestDoc parse_manifest(std::string_view text, const std::string& what) {
    json j = parse_json(text, what);
    if (auto v = j.find("schemaVersion"); v == j.end() || *v != 2)
        fail(what + ": schemaVersion is not 2");
    ManifestDoc doc;
    auto c = j.find("config");
    if (c == j.end()) fail(what + ": missing \"config\"");
    doc.config = parse_descriptor(*c, what);
    for (const json& l : *get_array(j, "layers", what, true)) {
        Descriptor d = parse_descriptor(l, what);
        if (!is_layer_type(d.media_type))
            fail(what + ": layer sha256:" + d.hex + " has unsupported media type '" + d.media_type +
                 "'");
        doc.layers.push_back(std::move(d));
    }
    return doc;
}

ConfigDoc parse_config(std::string_view text, const std::string& what) {
    json j = parse_json(text, what);
    ConfigDoc doc;
    doc.created = get_string(j, "created", what, false);
    doc.author = get_string(j, "author", what, false);
    doc.architecture = get_string(j, "architecture", what, false);
    doc.os = get_string(j, "os", what, false);
    auto rootfs = j.find("rootfs");
    if (rootfs == j.end() || !rootfs->is_object()) fail(what + ": missing \"rootfs\"");
    for (const json& d : *get_array(*rootfs, "diff_ids", what, true)) {
        auto hex = d.is_string() ? digest_hex(d.get<std::string>()) : std::nullopt;
        if (!hex) fail(what + ": malformed diff_id");
        doc.diff_ids.push_back(*hex);
    }
    if (const json* h = get_array(j, "history", what, false)) {
        for (const json& e : *h) {
            if (!e.is_object()) fail(what + ": a history entry is not an object");
            HistoryEntry he;
            he.created = get_string(e, "created", what, false);
            he.created_by = get_string(e, "created_by", what, false);
            he.comment = get_string(e, "comment", what, false);
            auto empty = e.find("empty_layer");
            he.empty_layer = empty != e.end() && empty->is_boolean() && empty->get<bool>();
            doc.history.push_back(std::move(he));
        }
    }
    return doc;
}

const char* layer_media_type(std::string_view head) {
    if (head.size() >= 2 && static_cast<unsigned char>(head[0]) == 0x1f &&
        static_cast<unsigned char>(head[1]) == 0x8b)
        return kOciLayerGzip;
    if (head.size() >= 4 && head.substr(0, 4) == std::string_view("\x28\xb5\x2f\xfd", 4))
        return kOciLayerZstd;
    return kOciLayer;
}

std::string host_architecture() {
    struct utsname u;
    ::uname(&u);
    std::string m = u.machine;
    if (m == "x86_64") return "amd64";
    if (m == "aarch64") return "arm64";
    if (m == "i686" || m == "i386") return "386";
    if (m.starts_with("arm")) return "arm";
    return m;
}

}  // namespace layerfs::store
