#include "snapshotter/import.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <sys/stat.h>

#include <nlohmann/json.hpp>

#include "fs/sys/sys.hpp"
#include "snapshotter/digest.hpp"
#include "snapshotter/failure.hpp"
#include "snapshotter/human.hpp"
#include "snapshotter/images.hpp"
#include "snapshotter/oci.hpp"
#include "snapshotter/reference.hpp"
#include "snapshotter/tar_path.hpp"
#include "snapshotter/tar_write.hpp"

namespace layerfs::store {
namespace {

using json = nlohmann::json;

enum class Kind { Layout, OciArchive, DockerArchive, RootfsTar, Directory };

struct Source {
    Kind kind;
    std::string path;
    std::string tag;  // DIR:TAG
};

// Top-level names of a tar that mark an image archive; rootfs tars have none.
Kind sniff_tar(const std::string& path) {
    std::unique_ptr<archive, int (*)(archive*)> a(archive_read_new(), archive_read_free);
    support_compressions(a.get());
    archive_read_support_format_tar(a.get());
    if (archive_read_open_filename(a.get(), path.c_str(), 1 << 20) != ARCHIVE_OK)
        fail(path + ": not a tar archive: " + archive_error(a.get()));
    bool layout = false, index = false, docker = false;
    archive_entry* e;
    int r;
    while ((r = archive_read_next_header(a.get(), &e)) == ARCHIVE_OK || r == ARCHIVE_WARN) {
        std::string name =
            clean_tar_path(archive_entry_pathname(e) ? archive_entry_pathname(e) : "").path;
        layout |= name == "oci-layout";
        index |= name == "index.json";
        docker |= name == "manifest.json";
        archive_read_data_skip(a.get());
    }
    if (r != ARCHIVE_EOF) fail(path + ": malformed tar: " + archive_error(a.get()));
    if (docker) return Kind::DockerArchive;  // docker >= 25 writes an OCI layout too
    if (layout && index) return Kind::OciArchive;
    return Kind::RootfsTar;
}

Source classify(const std::string& arg) {
    struct stat st;
    if (::stat(arg.c_str(), &st) == 0) {
        if (S_ISDIR(st.st_mode)) {
            bool layout = ::access((arg + "/oci-layout").c_str(), F_OK) == 0;
            return {layout ? Kind::Layout : Kind::Directory, arg, ""};
        }
        if (S_ISREG(st.st_mode)) return {sniff_tar(arg), arg, ""};
        fail(arg + ": not a directory or a regular file");
    }
    if (size_t colon = arg.rfind(':'); colon != std::string::npos && colon > 0) {
        std::string path = arg.substr(0, colon);
        if (::stat(path.c_str(), &st) == 0) {
            if (S_ISDIR(st.st_mode) && ::access((path + "/oci-layout").c_str(), F_OK) == 0)
                return {Kind::Layout, path, arg.substr(colon + 1)};
            if (S_ISREG(st.st_mode) && sniff_tar(path) == Kind::OciArchive)
                return {Kind::OciArchive, path, arg.substr(colon + 1)};
            fail(path + ": a tag can only be given for an OCI image layout");
        }
    }
    fail("import source '" + arg + "' not found");
}

std::vector<std::string> names_for(const std::string& name) {
    if (name.empty()) return {};
    auto ref = parse_reference(name);
    if (!ref) fail("invalid image name '" + name + "'");
    return {ref->str()};
}

// Files of an untrusted layout, read without following symlinks out of it.
class LayoutDir {
  public:
    LayoutDir(int fd, std::string label) : fd_(fd), label_(std::move(label)) {}

    Fd open(const std::string& path) const {
        // O_NONBLOCK: a fifo planted in the layout must not hang us with the lock held.
        auto f = sys::open_beneath(fd_, path.c_str(), O_RDONLY | O_NONBLOCK);
        if (!f) {
            if (f.err() == ENOENT) fail(label_ + ": " + path + " is missing");
            if (f.err() == ELOOP || f.err() == EXDEV)
                fail(label_ + ": " + path +
                     " is a symlink or goes through one; links are not followed");
            must(std::move(f), label_ + ": opening " + path);
        }
        if (!S_ISREG(must(sys::stat_fd(f->get()), label_ + ": " + path).st_mode))
            fail(label_ + ": " + path + " is not a regular file");
        return std::move(*f);
    }
    std::string read(const std::string& path, size_t limit = 16 << 20) const {
        Fd f = open(path);
        std::string out;
        char buf[65536];
        for (size_t n;
             (n = must(sys::read_some(f.get(), buf, sizeof buf), label_ + ": reading " + path));) {
            out.append(buf, n);
            if (out.size() > limit) fail(label_ + ": " + path + " is too large");
        }
        return out;
    }
    // A small blob, checked against its descriptor.
    std::string blob(const Descriptor& d, const std::string& what) const {
        std::string data = read("blobs/sha256/" + d.hex);
        if (data.size() != d.size)
            fail(label_ + ": " + what + " sha256:" + d.hex + " has " + std::to_string(data.size()) +
                 " bytes, its descriptor says " + std::to_string(d.size));
        if (sha256_hex(data) != d.hex)
            fail(label_ + ": " + what + " sha256:" + d.hex + " does not match its digest");
        return data;
    }
    const std::string& label() const { return label_; }

  private:
    int fd_;
    std::string label_;
};

Descriptor pick_manifest(const LayoutDir& dir, const std::string& tag) {
    IndexDoc index = parse_index(dir.read("index.json"), dir.label() + ": index.json");
    std::vector<Descriptor> picked;
    for (const auto& d : index.manifests) {
        if (tag.empty()) {
            picked.push_back(d);
            continue;
        }
        auto has = [&](const char* key) {
            auto it = d.annotations.find(key);
            if (it == d.annotations.end()) return false;
            if (it->second == tag) return true;
            auto a = parse_reference(it->second), b = parse_reference(tag);
            return a && b && a->str() == b->str();
        };
        if (has(kRefNameAnnotation) || has(kContainerdNameAnnotation)) picked.push_back(d);
    }
    if (picked.empty())
        fail(dir.label() + (tag.empty() ? ": holds no image" : ": no image tagged '" + tag + "'"));
    if (picked.size() > 1)
        fail(dir.label() + ": holds " + std::to_string(picked.size()) + " images: name one as " +
             dir.label() + ":TAG");
    Descriptor d = picked.front();
    if (is_index_type(d.media_type)) {
        IndexDoc nested =
            parse_index(dir.blob(d, "image index"), dir.label() + ": image index sha256:" + d.hex);
        std::string arch = host_architecture();
        for (const auto& m : nested.manifests)
            if (m.os == "linux" && m.architecture == arch && is_manifest_type(m.media_type)) {
                Descriptor out = m;
                out.annotations = d.annotations;
                return out;
            }
        fail(dir.label() + ": no linux/" + arch + " image in image index sha256:" + d.hex);
    }
    if (!is_manifest_type(d.media_type) && !d.media_type.empty())
        fail(dir.label() + ": unsupported manifest media type '" + d.media_type + "'");
    if (d.media_type.empty()) d.media_type = kOciManifest;
    return d;
}

// The name an image carried in its source, when it is a full reference.
std::vector<std::string> source_names(const Descriptor& d) {
    for (const char* key : {kContainerdNameAnnotation, kRefNameAnnotation}) {
        auto it = d.annotations.find(key);
        if (it == d.annotations.end() || it->second.find(':') == std::string::npos) continue;
        if (auto ref = parse_reference(it->second)) return {ref->str()};
    }
    return {};
}

Imported import_layout(Transaction& txn, const LayoutDir& dir, const std::string& tag,
                       const std::string& name, Progress& progress) {
    std::string layout = dir.read("oci-layout", 1 << 16);
    json j = json::parse(layout, nullptr, false);
    if (!j.is_object() || !j.contains("imageLayoutVersion"))
        fail(dir.label() + ": malformed oci-layout");
    Descriptor md = pick_manifest(dir, tag);
    std::string manifest_text = dir.blob(md, "manifest");
    ManifestDoc manifest =
        parse_manifest(manifest_text, dir.label() + ": manifest sha256:" + md.hex);
    std::string config_text = dir.blob(manifest.config, "config");
    ConfigDoc config =
        parse_config(config_text, dir.label() + ": config sha256:" + manifest.config.hex);
    if (config.diff_ids.size() != manifest.layers.size())
        fail(dir.label() + ": manifest lists " + std::to_string(manifest.layers.size()) +
             " layers, its config " + std::to_string(config.diff_ids.size()) + " diff_ids");
    for (size_t i = 0; i < manifest.layers.size(); i++) {
        const Descriptor& l = manifest.layers[i];
        std::string label =
            "layer " + std::to_string(i + 1) + "/" + std::to_string(manifest.layers.size());
        Fd f;
        if (!txn.has_blob(l.hex)) f = dir.open("blobs/sha256/" + l.hex);
        try {
            if (f) {
                progress.phase("copying " + label, l.size);
                txn.copy_blob(f.get(), l.hex, l.size, "the blob",
                              [&](uint64_t n) { progress.update(n); });
            } else if (uint64_t have = txn.blob_size(l.hex); have != l.size) {
                fail("the blob has " + std::to_string(have) + " bytes, its descriptor says " +
                     std::to_string(l.size));
            }
            progress.phase("unpacking " + label, l.size);
            txn.add_layer(l.hex, config.diff_ids[i], [&](uint64_t n) { progress.update(n); });
        } catch (const Failure& e) {
            fail(dir.label() + ": " + label + " (sha256:" + l.hex + "): " + e.what());
        }
    }
    progress.done();
    txn.put_blob(config_text);
    Descriptor stored{md.media_type, txn.put_blob(manifest_text), manifest_text.size(), {}, {}, {}};
    std::vector<std::string> refs = name.empty() ? source_names(md) : names_for(name);
    commit_manifest(txn, stored, refs);
    return {manifest.config.hex, refs};
}

// The tar of an archive, unpacked into the staging dir with the layer
// unpacker's rules (no escapes, no following symlinks).
Fd stage_archive(Transaction& txn, const std::string& path, Progress& progress) {
    Fd in = must(sys::open_at(AT_FDCWD, path.c_str(), O_RDONLY), "opening " + path);
    must(sys::mkdir_at(txn.staging_fd(), "source", 0700), "staging " + path);
    Fd dir =
        must(sys::open_at(txn.staging_fd(), "source", O_RDONLY | O_DIRECTORY), "staging " + path);
    Identity plain{false, geteuid(), getegid()};
    progress.phase("reading " + path, 0);
    try {
        unpack_layer(in.get(), dir.get(), plain, [&](uint64_t n) { progress.update(n); });
    } catch (const Failure& f) {
        fail(path + ": " + f.what());
    }
    return dir;
}

std::string docker_member(const json& v, const std::string& what) {
    if (!v.is_string()) fail("manifest.json: " + what + " is not a string");
    CleanPath p = clean_tar_path(v.get<std::string>());
    if (p.error.empty() && p.path.empty()) p.error = "empty path";
    if (!p.error.empty()) fail("manifest.json: " + what + ": " + p.error);
    return p.path;
}

// docker save writes a layer shared by two images once, and a relative symlink
// to it for the second: follow one such link, staying inside the archive.
std::string resolve_layer_member(int staging, const std::string& member) {
    auto st = sys::stat_at(staging, member.c_str());
    if (!st || !S_ISLNK(st->st_mode)) return member;
    std::string target = must(sys::readlink_at(staging, member.c_str()), "reading " + member);
    if (target.empty() || target.front() == '/')
        fail("manifest.json: layer " + member + " links outside the archive");
    std::vector<std::string> parts;
    auto push = [&](std::string_view path) {
        for (size_t i = 0; i <= path.size();) {
            size_t j = std::min(path.find('/', i), path.size());
            std::string_view c = path.substr(i, j - i);
            if (c == "..") {
                if (parts.size() <= 1)
                    fail("manifest.json: layer " + member + " links outside the archive");
                parts.pop_back();
            } else if (!c.empty() && c != ".") {
                parts.emplace_back(c);
            }
            i = j + 1;
        }
    };
    push(split_parent(member).first);
    push(target);
    std::string out;
    for (const auto& p : parts)
        out += (out.empty() ? "" : "/") + p;
    return out;
}

// `docker save`: manifest.json lists each image's config file, layer tars and tags.
std::vector<Imported> import_docker(Transaction& txn, const LayoutDir& dir, const std::string& name,
                                    Progress& progress) {
    json m = json::parse(dir.read("manifest.json"), nullptr, false);
    if (!m.is_array() || m.empty()) fail(dir.label() + ": malformed manifest.json");
    if (!name.empty() && m.size() > 1)
        fail(dir.label() + ": holds several images, a name can not be given");
    struct Pending {
        Descriptor manifest;
        std::vector<std::string> refs;
        std::string id;
    };
    std::vector<Pending> pending;
    for (const json& img : m) {
        if (!img.is_object()) fail(dir.label() + ": malformed manifest.json");
        std::string config_text = dir.read(docker_member(img.value("Config", json()), "Config"));
        ConfigDoc config = parse_config(config_text, dir.label() + ": image config");
        auto layers = img.find("Layers");
        if (layers == img.end() || !layers->is_array())
            fail(dir.label() + ": manifest.json: no Layers");
        if (layers->size() != config.diff_ids.size())
            fail(dir.label() + ": manifest.json lists " + std::to_string(layers->size()) +
                 " layers, the config " + std::to_string(config.diff_ids.size()) + " diff_ids");
        std::vector<LayerRef> refs;
        for (size_t i = 0; i < layers->size(); i++) {
            std::string member = resolve_layer_member(
                txn.staging_fd(), "source/" + docker_member((*layers)[i], "a layer"));
            std::string hex = txn.adopt_blob_file(member);
            progress.phase(
                "unpacking layer " + std::to_string(i + 1) + "/" + std::to_string(layers->size()),
                0);
            txn.add_layer(hex, config.diff_ids[i], [&](uint64_t n) { progress.update(n); });
            char head[4] = {};
            Fd b = txn.open_blob(hex);
            (void)!::pread(b.get(), head, sizeof head, 0);
            refs.push_back({hex, layer_media_type({head, sizeof head}), txn.blob_size(hex),
                            config.diff_ids[i]});
        }
        std::vector<std::string> tags = names_for(name);
        if (name.empty())
            if (auto t = img.find("RepoTags"); t != img.end() && t->is_array())
                for (const json& r : *t)
                    if (r.is_string())
                        if (auto ref = parse_reference(r.get<std::string>()))
                            tags.push_back(ref->str());
        // Staged now, committed together below: all images or none.
        pending.push_back({stage_image(txn, config_text, refs), tags, sha256_hex(config_text)});
    }
    progress.done();
    std::vector<Named> named;
    std::vector<Imported> out;
    for (const auto& p : pending) {
        named.push_back({p.manifest, p.refs});
        out.push_back({p.id, p.refs});
    }
    commit_manifests(txn, named);
    return out;
}

std::string single_layer_config(const std::string& diff_id, const std::string& source) {
    std::string now = format_rfc3339(::time(nullptr));
    json config = {{"created", now},
                   {"architecture", host_architecture()},
                   {"os", "linux"},
                   {"config", json::object()},
                   {"rootfs", {{"type", "layers"}, {"diff_ids", {digest_of_hex(diff_id)}}}},
                   {"history", {{{"created", now}, {"created_by", "layerfs import " + source}}}}};
    return config.dump();
}

Imported import_single_layer(Transaction& txn, const std::string& diff_id,
                             const std::string& source, const std::string& name) {
    LayerRef layer{diff_id, kOciLayer, txn.blob_size(diff_id), diff_id};
    std::string config = single_layer_config(diff_id, source);
    auto refs = names_for(name);
    commit_image(txn, config, {layer}, refs);
    return {sha256_hex(config), refs};
}

}  // namespace

std::vector<Imported> import_source(Store& s, const std::string& source, const std::string& name,
                                    Progress& progress) {
    Source src = classify(source);
    Transaction txn(s);
    switch (src.kind) {
        case Kind::Layout: {
            Fd dir = must(sys::open_at(AT_FDCWD, src.path.c_str(), O_RDONLY | O_DIRECTORY),
                          "opening " + src.path);
            return {import_layout(txn, LayoutDir(dir.get(), src.path), src.tag, name, progress)};
        }
        case Kind::OciArchive: {
            Fd dir = stage_archive(txn, src.path, progress);
            return {import_layout(txn, LayoutDir(dir.get(), src.path), src.tag, name, progress)};
        }
        case Kind::DockerArchive: {
            Fd dir = stage_archive(txn, src.path, progress);
            try {
                return import_docker(txn, LayoutDir(dir.get(), src.path), name, progress);
            } catch (const Failure& e) {
                if (std::string_view(e.what()).starts_with(src.path + ": ")) throw;
                fail(src.path + ": " + e.what());
            }
        }
        case Kind::RootfsTar: {
            Fd in = must(sys::open_at(AT_FDCWD, src.path.c_str(), O_RDONLY), "opening " + src.path);
            progress.phase("importing " + src.path, must(sys::stat_fd(in.get()), src.path).st_size);
            std::string diff_id;
            try {
                diff_id = txn.add_layer_from_tar(in.get(), [&](uint64_t n) { progress.update(n); });
            } catch (const Failure& f) {
                fail(src.path + ": " + f.what());
            }
            progress.done();
            return {import_single_layer(txn, diff_id, src.path, name)};
        }
        case Kind::Directory: {
            {
                Fd out = must(
                    sys::open_at(txn.staging_fd(), "rootfs.tar", O_WRONLY | O_CREAT | O_EXCL, 0644),
                    "staging " + src.path);
                TarWriter tar(out.get());
                tar.add_tree(src.path);
                tar.finish();
            }
            std::string hex = txn.adopt_blob_file("rootfs.tar");
            txn.add_layer(hex, hex);
            return {import_single_layer(txn, hex, src.path, name)};
        }
    }
    fail("unreachable");
}

}  // namespace layerfs::store
