#pragma once
// Images in the store: listing, naming (references and id prefixes), tagging,
// removal and garbage collection. The caller holds the store lock a command
// needs; functions that change the store need it exclusively.
#include <cstdint>
#include <string>
#include <vector>

#include "snapshotter/oci.hpp"
#include "snapshotter/store.hpp"

namespace layerfs::store {

struct LayerRef {
    std::string blob_hex;
    std::string media_type;
    uint64_t size = 0;
    std::string diff_id;
};

struct Image {
    std::string id;  // hex of the config's sha256
    Descriptor manifest;
    ConfigDoc config;
    std::string config_json;
    std::vector<LayerRef> layers;   // bottom first
    std::vector<std::string> refs;  // "name:tag"s that name it
};

// The image an index entry names; its manifest and config are checked against
// their digests.
Image load_image(const Store& s, const IndexEntry& e);

// Every image, one per manifest; manifest and config are checked against
// their digests.
std::vector<Image> list_images(const Store& s);

// The image `what` names: "name[:tag]" or a unique prefix of its id.
Image find_image(const Store& s, const std::string& what);

// Points `ref` at `image` (moving it from another image, which keeps its other
// names or stays untagged).
void set_ref(std::vector<IndexEntry>& index, const Descriptor& manifest, const std::string& ref);

// Stages the config and an OCI manifest for `layers`; returns the manifest.
Descriptor stage_image(Transaction& txn, const std::string& config_json,
                       const std::vector<LayerRef>& layers);
// Stores the config and a manifest for `layers` (blobs and layers staged in
// `txn` or already stored), commits `txn` and names the image with `refs` (or
// keeps it untagged). Returns the manifest's descriptor.
Descriptor commit_image(Transaction& txn, const std::string& config_json,
                        const std::vector<LayerRef>& layers, const std::vector<std::string>& refs);
// Commits `txn` and adds the stored manifest `manifest` under `refs`.
void commit_manifest(Transaction& txn, const Descriptor& manifest,
                     const std::vector<std::string>& refs);
// The same for several images, in one write of the index.
struct Named {
    Descriptor manifest;
    std::vector<std::string> refs;
};
void commit_manifests(Transaction& txn, const std::vector<Named>& images);

struct Removal {
    std::vector<std::string> untagged;  // refs
    std::vector<std::string> deleted;   // image ids
};
Removal remove_image(Store& s, const std::string& what, bool force);

struct Collected {
    std::vector<std::string> images, blobs, layers;
    uint64_t bytes = 0;
};
// Removes blobs and layers no image or container needs, and with
// `untagged_images` the images no name or container holds.
Collected collect_garbage(Store& s, bool untagged_images);

}  // namespace layerfs::store
