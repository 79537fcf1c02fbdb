#include "snapshotter/images.hpp"

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>

#include "snapshotter/containers.hpp"
#include "snapshotter/digest.hpp"
#include "snapshotter/failure.hpp"
#include "snapshotter/reference.hpp"

namespace layerfs::store {

Image load_image(const Store& s, const IndexEntry& e) {
    Image img;
    img.manifest = {e.media_type, e.manifest_hex, e.size, {}, {}, {}};
    std::string what = "manifest sha256:" + e.manifest_hex;
    ManifestDoc m = parse_manifest(s.read_blob(e.manifest_hex), what);
    img.id = m.config.hex;
    img.config_json = s.read_blob(m.config.hex);
    img.config = parse_config(img.config_json, "config sha256:" + m.config.hex);
    if (img.config.diff_ids.size() != m.layers.size())
        fail(what + ": " + std::to_string(m.layers.size()) + " layers but " +
             std::to_string(img.config.diff_ids.size()) + " diff_ids in its config");
    for (size_t i = 0; i < m.layers.size(); i++)
        img.layers.push_back(
            {m.layers[i].hex, m.layers[i].media_type, m.layers[i].size, img.config.diff_ids[i]});
    return img;
}

namespace {

std::set<std::string> images_in_use(const Store& s) {
    std::set<std::string> ids;
    for (const auto& c : list_containers(s))
        ids.insert(c.image);
    return ids;
}

std::string container_using(const Store& s, const std::string& id) {
    for (const auto& c : list_containers(s))
        if (c.image == id) return c.name;
    return "";
}

}  // namespace

std::vector<Image> list_images(const Store& s) {
    std::vector<Image> out;
    std::map<std::string, size_t> by_manifest;
    for (const IndexEntry& e : s.read_index()) {
        auto [it, fresh] = by_manifest.try_emplace(e.manifest_hex, out.size());
        if (fresh) out.push_back(load_image(s, e));
        if (!e.ref.empty()) out[it->second].refs.push_back(e.ref);
    }
    return out;
}

Image find_image(const Store& s, const std::string& what) {
    auto images = list_images(s);
    if (auto ref = parse_reference(what)) {
        for (auto& img : images)
            if (std::find(img.refs.begin(), img.refs.end(), ref->str()) != img.refs.end())
                return img;
    }
    if (auto prefix = id_prefix(what)) {
        const Image* found = nullptr;
        for (const auto& img : images) {
            if (!img.id.starts_with(*prefix)) continue;
            if (found && found->id != img.id) fail("image id prefix '" + what + "' is ambiguous");
            if (!found) found = &img;
        }
        if (found) return *found;
    }
    fail("image '" + what + "' not found");
}

void set_ref(std::vector<IndexEntry>& index, const Descriptor& manifest, const std::string& ref) {
    std::optional<IndexEntry> previous;
    for (const auto& e : index)
        if (e.ref == ref) previous = e;
    if (previous && previous->manifest_hex == manifest.hex) return;
    std::erase_if(index, [&](const IndexEntry& e) {
        return e.ref == ref || (e.manifest_hex == manifest.hex && e.ref.empty());
    });
    index.push_back({manifest.hex, manifest.size, manifest.media_type, ref});
    // The image the name moved away from stays, untagged, until removed or pruned.
    if (previous && std::none_of(index.begin(), index.end(), [&](const IndexEntry& e) {
            return e.manifest_hex == previous->manifest_hex;
        })) {
        previous->ref.clear();
        index.push_back(*previous);
    }
}

Descriptor stage_image(Transaction& txn, const std::string& config_json,
                       const std::vector<LayerRef>& layers) {
    using json = nlohmann::json;
    std::string config_hex = txn.put_blob(config_json);
    json layer_descs = json::array();
    for (const auto& l : layers)
        layer_descs.push_back(
            {{"mediaType", l.media_type}, {"digest", digest_of_hex(l.blob_hex)}, {"size", l.size}});
    json manifest = {{"schemaVersion", 2},
                     {"mediaType", kOciManifest},
                     {"config",
                      {{"mediaType", kOciConfig},
                       {"digest", digest_of_hex(config_hex)},
                       {"size", config_json.size()}}},
                     {"layers", layer_descs}};
    std::string text = manifest.dump();
    return {kOciManifest, txn.put_blob(text), text.size(), {}, {}, {}};
}

Descriptor commit_image(Transaction& txn, const std::string& config_json,
                        const std::vector<LayerRef>& layers, const std::vector<std::string>& refs) {
    Descriptor d = stage_image(txn, config_json, layers);
    commit_manifest(txn, d, refs);
    return d;
}

void commit_manifest(Transaction& txn, const Descriptor& manifest,
                     const std::vector<std::string>& refs) {
    commit_manifests(txn, {{manifest, refs}});
}

void commit_manifests(Transaction& txn, const std::vector<Named>& images) {
    txn.commit();
    Store& s = txn.store();
    auto index = s.read_index();
    for (const auto& [manifest, refs] : images) {
        for (const auto& r : refs)
            set_ref(index, manifest, r);
        // Captured by name: clang 14 cannot capture a structured binding.
        if (std::none_of(index.begin(), index.end(),
                         [&hex = manifest.hex](auto& e) { return e.manifest_hex == hex; }))
            index.push_back({manifest.hex, manifest.size, manifest.media_type, ""});
    }
    // One write: several images become visible together or not at all.
    s.write_index(index);
    txn.seal();
}

Removal remove_image(Store& s, const std::string& what, bool force) {
    Image img = find_image(s, what);
    // The same image (config) may be stored under several manifests: its names
    // are those of all of them.
    std::set<std::string> manifests;
    std::vector<std::string> refs;
    for (const auto& other : list_images(s))
        if (other.id == img.id) {
            manifests.insert(other.manifest.hex);
            refs.insert(refs.end(), other.refs.begin(), other.refs.end());
        }
    auto index = s.read_index();
    Removal r;
    auto ref = parse_reference(what);
    bool by_name = ref && std::find(refs.begin(), refs.end(), ref->str()) != refs.end();
    if (by_name && refs.size() > 1) {
        std::erase_if(index, [&](const IndexEntry& e) { return e.ref == ref->str(); });
        r.untagged.push_back(ref->str());
    } else {
        if (!by_name && refs.size() > 1 && !force)
            fail("image " + img.id.substr(0, 12) + " has several names (" +
                 std::to_string(refs.size()) + "): remove them one by one, or use -f");
        if (std::string user = container_using(s, img.id); !user.empty() && !force)
            fail("image '" + what + "' is used by container '" + user +
                 "': remove the container first, or use -f");
        r.untagged = refs;
        std::erase_if(index,
                      [&](const IndexEntry& e) { return manifests.count(e.manifest_hex) > 0; });
        r.deleted.push_back(img.id);
    }
    Journal journal(s);
    s.write_index(index);
    collect_garbage(s, false);
    journal.close();
    return r;
}

Collected collect_garbage(Store& s, bool untagged_images) {
    Journal journal(s);
    Collected out;
    auto index = s.read_index();
    auto containers = list_containers(s);
    if (untagged_images) {
        std::set<std::string> in_use = images_in_use(s), named;
        for (const auto& e : index)
            if (!e.ref.empty()) named.insert(e.manifest_hex);
        std::vector<IndexEntry> kept;
        for (const auto& e : index) {
            if (e.ref.empty() && !named.count(e.manifest_hex)) {
                Image img = load_image(s, e);
                if (!in_use.count(img.id)) {
                    out.images.push_back(img.id);
                    continue;
                }
            }
            kept.push_back(e);
        }
        if (kept.size() != index.size()) {
            index = kept;
            s.write_index(index);
        }
    }
    std::set<std::string> blobs, layers;
    for (const auto& e : index) {
        Image img = load_image(s, e);
        blobs.insert(e.manifest_hex);
        blobs.insert(img.id);
        for (const auto& l : img.layers) {
            blobs.insert(l.blob_hex);
            layers.insert(l.diff_id);
        }
    }
    for (const auto& c : containers) {
        blobs.insert(c.image);  // its config, for inspect after rmi -f
        layers.insert(c.layers.begin(), c.layers.end());
    }
    for (const auto& hex : s.blob_names()) {
        if (blobs.count(hex)) continue;
        out.bytes += s.blob_size(hex);
        s.remove_blob(hex);
        out.blobs.push_back(hex);
    }
    for (const auto& hex : s.layer_names()) {
        if (layers.count(hex)) continue;
        out.bytes += s.layer_info(hex).content_size;
        s.remove_layer(hex);
        out.layers.push_back(hex);
    }
    journal.close();
    return out;
}

}  // namespace layerfs::store
