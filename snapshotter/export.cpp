#include "snapshotter/export.hpp"

#include <archive_entry.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <memory>
#include <nlohmann/json.hpp>

#include "fs/sys/sys.hpp"
#include "snapshotter/digest.hpp"
#include "snapshotter/failure.hpp"
#include "snapshotter/oci.hpp"
#include "snapshotter/reference.hpp"
#include "snapshotter/tar_write.hpp"

namespace layerfs::store {
namespace {

using json = nlohmann::json;

struct Blob {
    std::string hex;
    uint64_t size;
};

std::vector<Blob> blobs_of(const Image& img) {
    std::vector<Blob> out{{img.manifest.hex, img.manifest.size}, {img.id, img.config_json.size()}};
    for (const auto& l : img.layers)
        out.push_back({l.blob_hex, l.size});
    return out;
}

std::string index_json(const Image& img, const std::string& ref) {
    json desc = {{"mediaType", img.manifest.media_type},
                 {"digest", digest_of_hex(img.manifest.hex)},
                 {"size", img.manifest.size}};
    if (auto r = parse_reference(ref)) {
        // ref.name carries the tag, as umoci and skopeo (oci:DIR:TAG) look it up;
        // the full name goes where containerd and podman read it.
        desc["annotations"] = {{kRefNameAnnotation, r->tag}, {kContainerdNameAnnotation, r->str()}};
    }
    return json{{"schemaVersion", 2}, {"mediaType", kOciIndex}, {"manifests", {desc}}}.dump() +
           "\n";
}

// Copies a blob from the store, refusing it if its content no longer matches.
class BlobCopier {
  public:
    BlobCopier(const Store& s, Progress& p) : s_(s), progress_(p) {}

    template <class Sink>
    void copy(const Blob& b, Sink&& sink) {
        Fd in = s_.open_blob(b.hex);
        Sha256 sha;
        for (size_t n; (n = must(sys::read_some(in.get(), buf_.data(), buf_.size()),
                                 "reading blob sha256:" + b.hex));) {
            sha.update(buf_.data(), n);
            sink(buf_.data(), n);
            done_ += n;
            progress_.update(done_);
        }
        if (sha.bytes() != b.size || sha.hex() != b.hex)
            fail("blob sha256:" + b.hex +
                 " in the store is corrupt: its content does not match its digest");
    }

  private:
    const Store& s_;
    Progress& progress_;
    std::vector<char> buf_ = std::vector<char>(1 << 20);
    uint64_t done_ = 0;
};

void write_dir(const Store& s, const Image& img, const std::string& ref, int dir,
               Progress& progress) {
    must(sys::mkdir_at(dir, "blobs", 0755), "creating blobs/");
    must(sys::mkdir_at(dir, "blobs/sha256", 0755), "creating blobs/sha256");
    Fd blobs =
        must(sys::open_at(dir, "blobs/sha256", O_RDONLY | O_DIRECTORY), "opening blobs/sha256");
    BlobCopier copier(s, progress);
    for (const Blob& b : blobs_of(img)) {
        if (sys::stat_at(blobs.get(), b.hex.c_str())) continue;  // a layer used twice
        Fd out = must(sys::open_at(blobs.get(), b.hex.c_str(), O_WRONLY | O_CREAT | O_EXCL, 0644),
                      "writing blob");
        copier.copy(b, [&](const char* p, size_t n) {
            must(sys::write_all(out.get(), p, n), "writing blob");
        });
    }
    write_file_atomic(dir, "oci-layout", json{{"imageLayoutVersion", "1.0.0"}}.dump());
    write_file_atomic(dir, "index.json", index_json(img, ref));
    must(sys::syncfs_fd(dir), "syncing the export");
}

void write_tar(const Store& s, const Image& img, const std::string& ref, int out,
               Progress& progress) {
    TarWriter tar(out);
    int64_t now = ::time(nullptr);
    auto entry = [&](const std::string& path, mode_t mode, int64_t size) {
        return make_entry(path, mode, now, size);
    };
    tar.add_bytes(entry("blobs/", S_IFDIR | 0755, 0).get(), {});
    tar.add_bytes(entry("blobs/sha256/", S_IFDIR | 0755, 0).get(), {});
    BlobCopier copier(s, progress);
    std::vector<std::string> seen;
    for (const Blob& b : blobs_of(img)) {
        if (std::find(seen.begin(), seen.end(), b.hex) != seen.end()) continue;
        seen.push_back(b.hex);
        auto e = entry("blobs/sha256/" + b.hex, S_IFREG | 0644, static_cast<int64_t>(b.size));
        tar.add_streamed(e.get(), [&](const TarWriter::Sink& write) { copier.copy(b, write); });
    }
    std::string layout = json{{"imageLayoutVersion", "1.0.0"}}.dump();
    tar.add_bytes(entry("oci-layout", S_IFREG | 0644, static_cast<int64_t>(layout.size())).get(),
                  layout);
    std::string index = index_json(img, ref);
    tar.add_bytes(entry("index.json", S_IFREG | 0644, static_cast<int64_t>(index.size())).get(),
                  index);
    tar.finish();
    must(sys::fsync_fd(out), "syncing the export");
}

}  // namespace

void export_image(const Store& s, const Image& img, const std::string& ref, const std::string& dest,
                  Progress& progress) {
    bool archive = dest.size() > 4 && dest.ends_with(".tar");
    // An empty directory may be the destination: the export is renamed over it
    // when complete, so a failed export leaves it as it was.
    unsigned rename_flags = RENAME_NOREPLACE;
    struct stat st;
    if (::lstat(dest.c_str(), &st) == 0) {
        auto d = S_ISDIR(st.st_mode) && !archive
                     ? sys::open_at(AT_FDCWD, dest.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW)
                     : Result<Fd>(Error{EEXIST, "open"});
        auto entries = d ? sys::read_dir(d->get()) : Result<std::vector<sys::DirEntry>>(d.error());
        if (!entries || !entries->empty()) fail("export destination '" + dest + "' exists");
        rename_flags = 0;
    }
    std::string tmp = dest + ".layerfs-" + std::to_string(::getpid());
    uint64_t total = 0;
    for (const Blob& b : blobs_of(img))
        total += b.size;
    progress.phase("exporting", total);
    bool created = false;
    try {
        if (archive) {
            Fd out = must(sys::open_at(AT_FDCWD, tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL, 0644),
                          "creating " + dest);
            created = true;
            write_tar(s, img, ref, out.get(), progress);
        } else {
            must(sys::mkdir_at(AT_FDCWD, tmp.c_str(), 0755), "creating " + dest);
            created = true;
            Fd dir = must(sys::open_at(AT_FDCWD, tmp.c_str(), O_RDONLY | O_DIRECTORY),
                          "creating " + dest);
            write_dir(s, img, ref, dir.get(), progress);
        }
        must(sys::rename_at(AT_FDCWD, tmp.c_str(), AT_FDCWD, dest.c_str(), rename_flags),
             "creating " + dest);
    } catch (...) {
        if (created) remove_tree(AT_FDCWD, tmp);  // only what this export made
        throw;
    }
    progress.done();
}

}  // namespace layerfs::store
