#pragma once
// OCI (and Docker schema 2) JSON documents, parsed with every field we rely on
// checked: they come from untrusted images. Parse errors throw Failure naming
// the document.
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace layerfs::store {

inline constexpr const char* kOciIndex = "application/vnd.oci.image.index.v1+json";
inline constexpr const char* kOciManifest = "application/vnd.oci.image.manifest.v1+json";
inline constexpr const char* kOciConfig = "application/vnd.oci.image.config.v1+json";
inline constexpr const char* kOciLayer = "application/vnd.oci.image.layer.v1.tar";
inline constexpr const char* kOciLayerGzip = "application/vnd.oci.image.layer.v1.tar+gzip";
inline constexpr const char* kOciLayerZstd = "application/vnd.oci.image.layer.v1.tar+zstd";
inline constexpr const char* kDockerManifest =
    "application/vnd.docker.distribution.manifest.v2+json";
inline constexpr const char* kDockerList =
    "application/vnd.docker.distribution.manifest.list.v2+json";
inline constexpr const char* kRefNameAnnotation = "org.opencontainers.image.ref.name";
inline constexpr const char* kContainerdNameAnnotation = "io.containerd.image.name";

struct Descriptor {
    std::string media_type;
    std::string hex;  // of the sha256 digest
    uint64_t size = 0;
    std::map<std::string, std::string> annotations;
    std::string os, architecture;  // from "platform", when present
};

struct IndexDoc {
    std::vector<Descriptor> manifests;
};

struct ManifestDoc {
    Descriptor config;
    std::vector<Descriptor> layers;
};

struct HistoryEntry {
    std::string created, created_by, comment;
    bool empty_layer = false;
};

struct ConfigDoc {
    std::string created, author, architecture, os;
    std::vector<std::string> diff_ids;  // hex
    std::vector<HistoryEntry> history;
};

bool is_index_type(std::string_view media_type);
bool is_manifest_type(std::string_view media_type);
bool is_layer_type(std::string_view media_type);

IndexDoc parse_index(std::string_view text, const std::string& what);
ManifestDoc parse_manifest(std::string_view text, const std::string& what);
ConfigDoc parse_config(std::string_view text, const std::string& what);

// The media type of a layer blob from its first bytes (tar, gzip or zstd).
const char* layer_media_type(std::string_view head);

// The GOARCH name of this machine ("amd64", "arm64", ...).
std::string host_architecture();

}  // namespace layerfs::store
