#include "snapshotter/store.hpp"

#include "snapshotter/images.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <spdlog/spdlog.h>
#include <algorithm>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <random>

#include "fs/overlay/whiteout.hpp"
#include "fs/sys/sys.hpp"
#include "snapshotter/digest.hpp"
#include "snapshotter/failure.hpp"
#include "snapshotter/oci.hpp"

namespace layerfs::store {
namespace {

using json = nlohmann::json;

constexpr const char* kBlobDir = "blobs/sha256";
constexpr const char* kLayerMeta = "layer.json";
constexpr const char* kLayerFiles = "files.json";  // see layer_files.hpp
// tmp/*.journal: a change that can leave unnamed files was under way (Journal).
constexpr const char* kJournal = ".journal";

void mkdir_p(int dirfd, const std::string& path, mode_t mode) {
    std::string sofar;
    size_t pos = 0;
    while (pos <= path.size()) {
        size_t slash = path.find('/', pos);
        if (slash == std::string::npos) slash = path.size();
        sofar = path.substr(0, slash);
        if (!sofar.empty()) {
            auto r = sys::mkdir_at(dirfd, sofar.c_str(), mode);
            if (!r && r.err() != EEXIST) must(r, "creating " + sofar);
        }
        pos = slash + 1;
    }
}

Fd open_dir(int dirfd, const std::string& path) {
    return must(sys::open_at(dirfd, path.c_str(), O_RDONLY | O_DIRECTORY), "opening " + path);
}

std::string read_all(int fd, size_t limit, const std::string& what) {
    std::string out;
    char buf[65536];
    for (;;) {
        size_t n = must(sys::read_some(fd, buf, sizeof buf), "reading " + what);
        if (n == 0) return out;
        if (out.size() + n > limit)
            fail(what + " is larger than " + std::to_string(limit) + " bytes");
        out.append(buf, n);
    }
}

bool exists_at(int dirfd, const std::string& path) {
    return sys::stat_at(dirfd, path.c_str()).ok();
}

Identity probe_identity(int tmpdir) {
    Identity who{false, geteuid(), getegid()};
    // Root in a user namespace can neither mknod nor set trusted.*: probe, don't guess.
    std::string name = "probe-" + std::to_string(getpid());
    if (sys::mknod_at(tmpdir, name.c_str(), S_IFCHR, makedev(0, 0))) {
        auto fd = sys::open_at(tmpdir, name.c_str(), O_PATH | O_NOFOLLOW);
        who.privileged = fd && sys::setxattr_fd(fd->get(), "trusted.layerfs.probe", "1").ok();
        (void)sys::unlink_at(tmpdir, name.c_str(), 0);
    }
    return who;
}

}  // namespace

void remove_tree(int dirfd, const std::string& name) {
    auto st = sys::stat_at(dirfd, name.c_str());
    if (!st) {
        if (st.err() == ENOENT) return;
        must(st, "removing " + name);
    }
    if (S_ISDIR(st->st_mode)) {
        auto d = sys::open_at(dirfd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
        if (!d && d.err() == EACCES) {
            // Our own read-only directory (a rootless layer): make it ours to empty,
            // through an O_PATH fd so a swapped-in symlink is not followed.
            Fd p = must(sys::open_at(dirfd, name.c_str(), O_PATH | O_NOFOLLOW), "removing " + name);
            must(sys::chmod_fd(p.get(), 0700), "removing " + name);
            d = sys::open_at(dirfd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
        }
        Fd fd = must(std::move(d), "removing " + name);
        if ((st->st_mode & 0700) != 0700) (void)sys::chmod_fd(fd.get(), 0700);
        for (auto& e : must(sys::read_dir(fd.get()), "removing " + name))
            remove_tree(fd.get(), e.name);
        must(sys::unlink_at(dirfd, name.c_str(), AT_REMOVEDIR), "removing " + name);
    } else {
        must(sys::unlink_at(dirfd, name.c_str(), 0), "removing " + name);
    }
}

constexpr std::string_view kAtomicTemp = ".tmp-";

void write_file_atomic(int dirfd, const std::string& name, std::string_view bytes) {
    std::string tmp = "." + name + std::string(kAtomicTemp) + std::to_string(getpid());
    {
        Fd fd = must(sys::open_at(dirfd, tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644),
                     "writing " + name);
        must(sys::write_all(fd.get(), bytes.data(), bytes.size()), "writing " + name);
        must(sys::fsync_fd(fd.get()), "syncing " + name);
    }
    must(sys::rename_at(dirfd, tmp.c_str(), dirfd, name.c_str()), "renaming " + name);
    must(sys::fsync_fd(dirfd), "syncing the directory of " + name);
}

bool is_atomic_write_temp(std::string_view name) {
    return name.starts_with('.') && name.find(kAtomicTemp) != std::string_view::npos;
}

std::string Store::default_root() {
    if (const char* r = std::getenv("LAYERFS_ROOT"); r && *r) return r;
    if (geteuid() == 0) return "/var/lib/layerfs";
    if (const char* x = std::getenv("XDG_DATA_HOME"); x && *x) return std::string(x) + "/layerfs";
    const char* home = std::getenv("HOME");
    if (!home || !*home) fail("no store: set --root, $LAYERFS_ROOT or $HOME");
    return std::string(home) + "/.local/share/layerfs";
}

Store::Store(std::string root) : root_(std::move(root)) {
    if (root_.empty()) fail("the store root is empty");
    if (root_.front() != '/') {
        char cwd[PATH_MAX];
        if (!::getcwd(cwd, sizeof cwd)) fail("getcwd failed");
        root_ = std::string(cwd) + "/" + root_;
    }
    mkdir_p(AT_FDCWD, root_, 0700);
    root_fd_ = open_dir(AT_FDCWD, root_);
    for (const char* d : {"blobs", kBlobDir, "layers", "containers", "tmp"})
        mkdir_p(fd(), d, 0700);
    lock_fd_ = must(sys::open_at(fd(), "lock", O_RDWR | O_CREAT, 0600), "opening the store lock");
}

const Identity& Store::identity() {
    if (!who_) who_ = probe_identity(open_dir(fd(), "tmp").get());
    return *who_;
}

Store::Lock Store::lock(bool exclusive, bool tidy) {
    Fd fd = must(sys::reopen(lock_fd_.get(), O_RDWR), "opening the store lock");
    must(sys::lock_fd(fd.get(), exclusive ? LOCK_EX : LOCK_SH), "locking the store");
    if (!exists_at(this->fd(), "index.json") || !exists_at(this->fd(), "oci-layout")) {
        // Identical content, written atomically: racing first users agree.
        write_file_atomic(this->fd(), "oci-layout", json{{"imageLayoutVersion", "1.0.0"}}.dump());
        if (!exists_at(this->fd(), "index.json")) write_index({});
    }
    if (exclusive && tidy) {
        Fd tmp = open_dir(this->fd(), "tmp");
        bool interrupted = false;
        for (auto& e : must(sys::read_dir(tmp.get()), "listing tmp")) {
            interrupted |= e.name.ends_with(kJournal);
            remove_tree(tmp.get(), e.name);
        }
        // index.json and oci-layout are written beside their temps.
        for (auto& e : must(sys::read_dir(this->fd()), "listing the store"))
            if (is_atomic_write_temp(e.name)) remove_tree(this->fd(), e.name);
        // A change killed between moving its files in and naming them in the
        // index: take out what nothing names.
        if (interrupted) collect_garbage(*this, false);
    }
    return Lock(std::move(fd));
}

bool Store::has_blob(const std::string& hex) const {
    return exists_at(fd(), std::string(kBlobDir) + "/" + hex);
}

Fd Store::open_blob(const std::string& hex) const {
    auto r = sys::open_at(fd(), (std::string(kBlobDir) + "/" + hex).c_str(), O_RDONLY);
    if (!r && r.err() == ENOENT) fail("blob sha256:" + hex + " is missing from the store");
    return must(std::move(r), "opening blob sha256:" + hex);
}

std::string Store::read_blob(const std::string& hex, size_t limit) const {
    Fd f = open_blob(hex);
    std::string data = read_all(f.get(), limit, "blob sha256:" + hex);
    if (sha256_hex(data) != hex)
        fail("blob sha256:" + hex + " is corrupt: its content has another digest");
    return data;
}

uint64_t Store::blob_size(const std::string& hex) const {
    auto st =
        must(sys::stat_at(fd(), (std::string(kBlobDir) + "/" + hex).c_str()), "blob sha256:" + hex);
    return static_cast<uint64_t>(st.st_size);
}

bool Store::has_layer(const std::string& diff_id) const {
    return exists_at(fd(), "layers/" + diff_id + "/diff");
}

std::string Store::layer_dir(const std::string& diff_id) const {
    return root_ + "/layers/" + diff_id + "/diff";
}

LayerInfo Store::layer_info(const std::string& diff_id) const {
    LayerInfo info;
    auto f = sys::open_at(fd(), ("layers/" + diff_id + "/" + kLayerMeta).c_str(), O_RDONLY);
    if (!f) return info;
    auto j = json::parse(read_all(f->get(), 1 << 20, "layer metadata"), nullptr, false);
    if (j.is_object()) info.content_size = j.value("content_size", uint64_t{0});
    return info;
}

std::vector<FileRecord> Store::layer_files(const std::string& diff_id) const {
    std::string path = "layers/" + diff_id + "/" + kLayerFiles;
    Fd f = must(sys::open_at(fd(), path.c_str(), O_RDONLY), "reading " + path);
    return decode_layer_files(read_all(f.get(), 256 << 20, path));
}

std::vector<IndexEntry> Store::read_index() const {
    Fd f = must(sys::open_at(fd(), "index.json", O_RDONLY), "reading the store index");
    std::string text = read_all(f.get(), 64 << 20, "the store index");
    std::vector<IndexEntry> out;
    for (const Descriptor& d : parse_index(text, "the store index").manifests) {
        auto ref = d.annotations.find(kRefNameAnnotation);
        out.push_back({d.hex, d.size, d.media_type, ref == d.annotations.end() ? "" : ref->second});
    }
    return out;
}

void Store::write_index(const std::vector<IndexEntry>& entries) {
    json manifests = json::array();
    for (const auto& e : entries) {
        json d = {{"mediaType", e.media_type},
                  {"digest", digest_of_hex(e.manifest_hex)},
                  {"size", e.size}};
        if (!e.ref.empty()) d["annotations"] = {{kRefNameAnnotation, e.ref}};
        manifests.push_back(std::move(d));
    }
    json index = {{"schemaVersion", 2}, {"mediaType", kOciIndex}, {"manifests", manifests}};
    write_file_atomic(fd(), "index.json", index.dump(2) + "\n");
}

std::vector<std::string> Store::blob_names() const {
    return list(kBlobDir);
}

std::vector<std::string> Store::layer_names() const {
    return list("layers");
}

std::vector<std::string> Store::list(const char* dir) const {
    std::vector<std::string> out;
    Fd d = open_dir(fd(), dir);
    for (auto& e : must(sys::read_dir(d.get()), std::string("listing ") + dir))
        out.push_back(e.name);
    return out;
}

void Store::remove_blob(const std::string& hex) {
    Fd d = open_dir(fd(), kBlobDir);
    must(sys::unlink_at(d.get(), hex.c_str(), 0), "removing blob sha256:" + hex);
}

void Store::remove_layer(const std::string& diff_id) {
    // Renamed out of layers/ first, so a crash leaves no half-removed layer there.
    Fd tmp = open_dir(fd(), "tmp");
    Fd layers = open_dir(fd(), "layers");
    std::string doomed = "removing-" + diff_id;
    must(sys::rename_at(layers.get(), diff_id.c_str(), tmp.get(), doomed.c_str()),
         "removing layer sha256:" + diff_id);
    remove_tree(tmp.get(), doomed);
}

Transaction::Transaction(Store& s) : s_(s) {
    std::random_device rd;
    char buf[32];
    std::snprintf(buf, sizeof buf, "txn-%d-%08x", getpid(), rd());
    name_ = buf;
    Fd tmp = open_dir(s_.fd(), "tmp");
    must(sys::mkdir_at(tmp.get(), name_.c_str(), 0700), "staging in tmp/");
    dir_ = open_dir(tmp.get(), name_);
}

Journal::Journal(Store& s) : s_(s) {
    static unsigned counter = 0;
    name_ = "gc-" + std::to_string(getpid()) + "-" + std::to_string(counter++) + kJournal;
    Fd tmp = open_dir(s_.fd(), "tmp");
    must(sys::open_at(tmp.get(), name_.c_str(), O_WRONLY | O_CREAT, 0600), "journaling in tmp/");
    must(sys::fsync_fd(tmp.get()), "journaling in tmp/");
}

void Journal::close() {
    if (!open_) return;
    Fd tmp = open_dir(s_.fd(), "tmp");
    must(sys::unlink_at(tmp.get(), name_.c_str(), 0), "finishing in tmp/");
    open_ = false;
}

void Transaction::seal() {
    if (journal_) journal_->close();
    journal_.reset();
}

Transaction::~Transaction() {
    try {
        Fd tmp = open_dir(s_.fd(), "tmp");
        remove_tree(tmp.get(), name_);
    } catch (const Failure&) {
        // Left for the next exclusive lock, which clears tmp/.
    }
}

std::string Transaction::temp_name() {
    return "part-" + std::to_string(counter_++);
}

bool Transaction::has_blob(const std::string& hex) const {
    return std::find(blobs_.begin(), blobs_.end(), hex) != blobs_.end() || s_.has_blob(hex);
}

Fd Transaction::open_blob(const std::string& hex) const {
    if (std::find(blobs_.begin(), blobs_.end(), hex) != blobs_.end())
        return must(sys::open_at(dir_.get(), ("blob-" + hex).c_str(), O_RDONLY),
                    "opening a staged blob");
    return s_.open_blob(hex);
}

uint64_t Transaction::blob_size(const std::string& hex) const {
    Fd f = open_blob(hex);
    return static_cast<uint64_t>(must(sys::stat_fd(f.get()), "blob sha256:" + hex).st_size);
}

bool Transaction::has_layer(const std::string& diff_id) const {
    return std::find(layers_.begin(), layers_.end(), diff_id) != layers_.end() ||
           s_.has_layer(diff_id);
}

std::string Transaction::put_blob(std::string_view bytes) {
    std::string hex = sha256_hex(bytes);
    if (has_blob(hex)) return hex;
    std::string name = "blob-" + hex;
    Fd f = must(sys::open_at(dir_.get(), name.c_str(), O_WRONLY | O_CREAT | O_EXCL, 0644),
                "staging a blob");
    must(sys::write_all(f.get(), bytes.data(), bytes.size()), "staging a blob");
    blobs_.push_back(hex);
    return hex;
}

void Transaction::copy_blob(int in, const std::string& hex, uint64_t size, const std::string& what,
                            const ProgressFn& progress) {
    if (has_blob(hex)) return;
    std::string name = "blob-" + hex;
    Fd f = must(sys::open_at(dir_.get(), name.c_str(), O_WRONLY | O_CREAT | O_EXCL, 0644),
                "staging " + what);
    Sha256 sha;
    std::vector<char> buf(1 << 20);
    for (;;) {
        size_t n = must(sys::read_some(in, buf.data(), buf.size()), "reading " + what);
        if (n == 0) break;
        sha.update(buf.data(), n);
        if (sha.bytes() > size)
            fail(what + " is larger than its descriptor's size " + std::to_string(size));
        must(sys::write_all(f.get(), buf.data(), n), "staging " + what);
        if (progress) progress(sha.bytes());
    }
    if (sha.bytes() != size)
        fail(what + " has " + std::to_string(sha.bytes()) + " bytes, its descriptor says " +
             std::to_string(size));
    std::string got = sha.hex();
    if (got != hex)
        fail(what + " has digest sha256:" + got + ", its descriptor says sha256:" + hex);
    blobs_.push_back(hex);
}

std::string Transaction::adopt_blob_file(const std::string& name) {
    Fd f = must(sys::open_beneath(dir_.get(), name.c_str(), O_RDONLY), "reading " + name);
    Sha256 sha;
    std::vector<char> buf(1 << 20);
    for (size_t n; (n = must(sys::read_some(f.get(), buf.data(), buf.size()), "reading " + name));)
        sha.update(buf.data(), n);
    std::string hex = sha.hex();
    if (has_blob(hex)) return hex;
    // A link, not a rename: the same file may be named again (docker save shares layers).
    must(sys::link_at(dir_.get(), name.c_str(), dir_.get(), ("blob-" + hex).c_str()),
         "staging a blob");
    // Blobs are read-only for everyone but the store, whatever mode the source had.
    must(sys::chmod_fd(f.get(), 0644), "staging a blob");
    blobs_.push_back(hex);
    return hex;
}

LayerStats Transaction::unpack(int in, int tee, const ProgressFn& progress, std::string& staged) {
    staged = temp_name();
    must(sys::mkdir_at(dir_.get(), staged.c_str(), 0700), "staging a layer");
    must(sys::mkdir_at(dir_.get(), (staged + "/diff").c_str(), 0755), "staging a layer");
    Fd diff = open_dir(dir_.get(), staged + "/diff");
    LayerStats st = unpack_layer(in, diff.get(), s_.identity(), progress, tee);
    json meta = {{"content_size", st.content_size}, {"members", st.members}};
    // The file index is taken from the tree as it is now, so fsck compares like with like.
    for (auto [name, text] :
         {std::pair{kLayerMeta, meta.dump()},
          std::pair{kLayerFiles, encode_layer_files(scan_layer_files(diff.get()))}}) {
        Fd m = must(sys::open_at(dir_.get(), (staged + "/" + name).c_str(),
                                 O_WRONLY | O_CREAT | O_EXCL, 0644),
                    "staging a layer");
        must(sys::write_all(m.get(), text.data(), text.size()), "staging a layer");
    }
    return st;
}

void Transaction::add_layer(const std::string& blob_hex, const std::optional<std::string>& diff_id,
                            const ProgressFn& progress) {
    Fd blob = open_blob(blob_hex);
    if (diff_id && has_layer(*diff_id)) {
        // The layer is there, but this blob still has to prove it holds that
        // layer (an uncompressed blob does so by its own digest).
        if (blob_hex == *diff_id) return;
        LayerStats st = digest_layer(blob.get());
        if (st.blob_hex != blob_hex)
            fail("blob sha256:" + blob_hex + " is corrupt: its content has another digest");
        if (st.diff_id_hex != *diff_id)
            fail("layer sha256:" + blob_hex + " unpacks to diff_id sha256:" + st.diff_id_hex +
                 ", the image config says sha256:" + *diff_id);
        return;
    }
    std::string staged;
    LayerStats st = unpack(blob.get(), -1, progress, staged);
    if (st.blob_hex != blob_hex)
        fail("blob sha256:" + blob_hex + " is corrupt: its content has another digest");
    if (diff_id && st.diff_id_hex != *diff_id)
        fail("layer sha256:" + blob_hex + " unpacks to diff_id sha256:" + st.diff_id_hex +
             ", the image config says sha256:" + *diff_id);
    if (st.dropped_xattrs)
        spdlog::warn("layer sha256:{}: {} xattrs outside user.* were not kept (unprivileged store)",
                     st.diff_id_hex, st.dropped_xattrs);
    if (has_layer(st.diff_id_hex)) return remove_tree(dir_.get(), staged);
    must(
        sys::rename_at(dir_.get(), staged.c_str(), dir_.get(), ("layer-" + st.diff_id_hex).c_str()),
        "staging a layer");
    layers_.push_back(st.diff_id_hex);
}

std::string Transaction::add_layer_from_tar(int in, const ProgressFn& progress) {
    std::string tar = temp_name();
    Fd tee = must(sys::open_at(dir_.get(), tar.c_str(), O_WRONLY | O_CREAT | O_EXCL, 0644),
                  "staging a layer");
    std::string staged;
    LayerStats st = unpack(in, tee.get(), progress, staged);
    std::string hex = st.diff_id_hex;
    if (!has_blob(hex)) {
        must(sys::rename_at(dir_.get(), tar.c_str(), dir_.get(), ("blob-" + hex).c_str()),
             "staging a blob");
        blobs_.push_back(hex);
    }
    if (has_layer(hex)) {
        remove_tree(dir_.get(), staged);
    } else {
        must(sys::rename_at(dir_.get(), staged.c_str(), dir_.get(), ("layer-" + hex).c_str()),
             "staging a layer");
        layers_.push_back(hex);
    }
    return hex;
}

void Transaction::commit() {
    if (blobs_.empty() && layers_.empty()) return;
    // One syncfs covers every file staged, far cheaper than an fsync per file.
    must(sys::syncfs_fd(dir_.get()), "syncing the staged files");
    // Until the index names them, what moves in now is garbage if we die.
    journal_.emplace(s_);
    Fd blobs = open_dir(s_.fd(), kBlobDir);
    Fd layers = open_dir(s_.fd(), "layers");
    for (const auto& hex : blobs_) {
        auto r = sys::rename_at(dir_.get(), ("blob-" + hex).c_str(), blobs.get(), hex.c_str(),
                                RENAME_NOREPLACE);
        if (!r && r.err() != EEXIST) must(r, "storing blob sha256:" + hex);
    }
    for (const auto& hex : layers_) {
        auto r = sys::rename_at(dir_.get(), ("layer-" + hex).c_str(), layers.get(), hex.c_str(),
                                RENAME_NOREPLACE);
        if (!r && r.err() != EEXIST && r.err() != ENOTEMPTY) must(r, "storing layer sha256:" + hex);
    }
    must(sys::fsync_fd(blobs.get()), "syncing blobs/");
    must(sys::fsync_fd(layers.get()), "syncing layers/");
    blobs_.clear();
    layers_.clear();
}

}  // namespace layerfs::store
