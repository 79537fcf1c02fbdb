#include "snapshotter/unpack.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <algorithm>
#include <memory>
#include <unordered_map>
#include <vector>

#include "fs/overlay/idmap.hpp"
#include "fs/overlay/whiteout.hpp"
#include "fs/sys/sys.hpp"
#include "snapshotter/digest.hpp"
#include "snapshotter/failure.hpp"
#include "snapshotter/tar_path.hpp"

namespace layerfs::store {
namespace {

using ArchivePtr = std::unique_ptr<archive, int (*)(archive*)>;

// The blob as it is read: counted and hashed on its way to the decompressor.
struct BlobReader {
    int fd;
    Sha256 sha;
    std::vector<char> buf = std::vector<char>(1 << 20);
    const ProgressFn* progress;
    // An uncompressed blob is its own tar: its digest is the diff_id, and
    // hashing the same bytes twice would halve a commit's speed.
    bool hashing = true;
    uint64_t bytes = 0;

    static la_ssize_t read(archive* a, void* self, const void** out) {
        auto* r = static_cast<BlobReader*>(self);
        auto n = sys::read_some(r->fd, r->buf.data(), r->buf.size());
        if (!n) {
            archive_set_error(a, n.err(), "reading the layer blob");
            return -1;
        }
        r->bytes += *n;
        if (r->hashing) r->sha.update(r->buf.data(), *n);
        if (*r->progress) (*r->progress)(r->bytes);
        *out = r->buf.data();
        return static_cast<la_ssize_t>(*n);
    }
};

// The uncompressed tar as the tar reader pulls it: hashed into the diff_id.
struct TarStream {
    archive* raw;
    int tee;
    Sha256 sha;
    bool ended = false;

    la_ssize_t next(const void** out) {
        size_t size = 0;
        la_int64_t offset = 0;
        int r = archive_read_data_block(raw, out, &size, &offset);
        if (r == ARCHIVE_EOF) {
            ended = true;
            return 0;
        }
        if (r != ARCHIVE_OK) return -1;
        sha.update(*out, size);
        if (tee >= 0) {
            if (auto w = sys::write_all(tee, *out, size); !w) {
                archive_set_error(raw, w.err(), "writing the uncompressed layer: %s",
                                  w.error().what().c_str());
                return -1;
            }
        }
        return static_cast<la_ssize_t>(size);
    }
    static la_ssize_t read(archive* a, void* self, const void** out) {
        auto* s = static_cast<TarStream*>(self);
        la_ssize_t n = s->next(out);
        if (n < 0) archive_set_error(a, EIO, "%s", archive_error(s->raw));
        return n;
    }
};

enum class Seen { Dir, ImplicitDir, File, Symlink, Whiteout };

class Extractor {
  public:
    Extractor(int root, const Identity& who, LayerStats& stats, const TarStream& stream)
        : root_(root), who_(who), stats_(stats), stream_(stream) {}

    void member(archive* a, archive_entry* e);
    void finish();
    // The tar stopped right after the last member's data (see regular()).
    bool cut_short() const { return cut_short_; }

  private:
    struct PendingDir {
        std::string path;
        mode_t mode;
        struct timespec times[2];
    };

    [[noreturn]] void refuse(const std::string& why) const {
        fail("layer tar: member '" + name_ + "': " + why);
    }
    void ensure_dirs(std::string_view dir);
    int parent_fd(std::string_view dir);
    void mark(const std::string& path, Seen kind);
    void whiteout(const std::string& hidden);
    void opaque(const std::string& dir);
    void hardlink(archive_entry* e, int parent, const char* base);
    void regular(archive* a, archive_entry* e, int parent, const char* base);
    void apply_metadata(int fd, archive_entry* e, mode_t type);
    void set_times(int fd, archive_entry* e);
    void set_xattrs(int fd, archive_entry* e);

    int root_;
    const Identity& who_;
    LayerStats& stats_;
    const TarStream& stream_;
    bool cut_short_ = false;
    std::string name_;  // the member being unpacked, for messages
    std::unordered_map<std::string, Seen> seen_;
    std::vector<PendingDir> dirs_;
    std::string cached_dir_ = "\x01";
    Fd cached_fd_;
};

void Extractor::mark(const std::string& path, Seen kind) {
    auto [it, fresh] = seen_.try_emplace(path, kind);
    if (!fresh) {
        // A directory the tar named only implicitly (as a parent) may come later.
        if (!(it->second == Seen::ImplicitDir && kind == Seen::Dir)) refuse("duplicate path");
        it->second = kind;
    }
}

void Extractor::ensure_dirs(std::string_view dir) {
    if (dir.empty()) return;
    auto it = seen_.find(std::string(dir));
    if (it != seen_.end()) {
        if (it->second == Seen::Dir || it->second == Seen::ImplicitDir) return;
        if (it->second == Seen::Symlink)
            refuse("would be written through the symlink '" + std::string(dir) + "'");
        refuse("parent '" + std::string(dir) + "' is not a directory");
    }
    auto [up, base] = split_parent(dir);
    ensure_dirs(up);
    std::string b(base);
    must(sys::mkdir_at(parent_fd(up), b.c_str(), 0755), "layer tar: creating " + std::string(dir));
    seen_.emplace(std::string(dir), Seen::ImplicitDir);
}

int Extractor::parent_fd(std::string_view dir) {
    if (dir.empty()) return root_;
    if (dir != cached_dir_) {
        std::string d(dir);
        cached_fd_ = must(sys::open_beneath(root_, d.c_str(), O_PATH | O_DIRECTORY),
                          "layer tar: opening " + d);
        cached_dir_ = d;
    }
    return cached_fd_.get();
}

void Extractor::whiteout(const std::string& hidden) {
    mark(hidden, Seen::Whiteout);
    auto [dir, base] = split_parent(hidden);
    ensure_dirs(dir);
    int pfd = parent_fd(dir);
    std::string name(base);
    if (who_.privileged) {
        must(sys::mknod_at(pfd, name.c_str(), S_IFCHR | 0, makedev(0, 0)),
             "layer tar: whiteout " + hidden);
        return;
    }
    std::string wh = whiteout::whiteout_name(base);
    if (wh.empty()) refuse("name too long for a whiteout");
    must(sys::open_at(pfd, wh.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0600),
         "layer tar: whiteout " + hidden);
}

void Extractor::opaque(const std::string& dir) {
    mark(dir + "/" + std::string(whiteout::kOpaqueMarker), Seen::File);
    ensure_dirs(dir);
    if (who_.privileged) {
        Fd d =
            must(sys::open_beneath(root_, dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY),
                 "layer tar: opening " + dir);
        must(sys::setxattr_fd(d.get(), whiteout::kOpaqueXattrs[0], "y"),
             "layer tar: marking " + dir + " opaque");
        return;
    }
    std::string marker(whiteout::kOpaqueMarker);
    must(sys::open_at(parent_fd(dir), marker.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW,
                      0600),
         "layer tar: marking " + dir + " opaque");
}

void Extractor::member(archive* a, archive_entry* e) {
    const char* raw = archive_entry_pathname(e);
    name_ = raw ? raw : "";
    stats_.members++;
    CleanPath clean = clean_tar_path(name_);
    if (!clean.error.empty()) refuse(clean.error);
    Member m = classify_member(clean.path);
    if (!m.error.empty()) refuse(m.error);
    switch (m.kind) {
        case MemberKind::AufsMeta:
            return;
        case MemberKind::Whiteout:
            return whiteout(m.path);
        case MemberKind::Opaque:
            return opaque(m.path);
        case MemberKind::Plain:
            break;
    }
    const std::string& path = m.path;
    mode_t type = archive_entry_filetype(e);
    bool is_link = archive_entry_hardlink(e) != nullptr;
    if (path.empty()) {  // the layer root: only its metadata
        if (type != AE_IFDIR || is_link) refuse("the layer root is not a directory");
        mark(".", Seen::Dir);
        Fd fd = must(sys::open_at(root_, ".", O_PATH | O_DIRECTORY), "layer tar: root");
        apply_metadata(fd.get(), e, S_IFDIR);
        return;
    }
    mark(path, is_link            ? Seen::File
               : type == AE_IFDIR ? Seen::Dir
               : type == AE_IFLNK ? Seen::Symlink
                                  : Seen::File);
    auto [dir, base_view] = split_parent(path);
    ensure_dirs(dir);
    int pfd = parent_fd(dir);
    std::string base(base_view);
    const char* b = base.c_str();
    if (is_link) return hardlink(e, pfd, b);

    switch (type) {
        case AE_IFREG:
            return regular(a, e, pfd, b);
        case AE_IFDIR: {
            auto st = sys::stat_at(pfd, b);
            if (!st) must(sys::mkdir_at(pfd, b, 0700), "layer tar: mkdir " + path);
            Fd fd = must(sys::open_at(pfd, b, O_PATH | O_DIRECTORY | O_NOFOLLOW),
                         "layer tar: opening " + path);
            apply_metadata(fd.get(), e, S_IFDIR);
            return;
        }
        case AE_IFLNK: {
            const char* target = archive_entry_symlink(e);
            if (!target || !*target) refuse("symlink without a target");
            // Never followed here: later members that would go through it are refused.
            must(sys::symlink_at(target, pfd, b), "layer tar: symlink " + path);
            Fd fd = must(sys::open_at(pfd, b, O_PATH | O_NOFOLLOW), "layer tar: opening " + path);
            apply_metadata(fd.get(), e, S_IFLNK);
            return;
        }
        case AE_IFCHR:
        case AE_IFBLK:
        case AE_IFIFO: {
            bool device = type != AE_IFIFO;
            if (!who_.privileged) {
                // Recorded, never created: an empty file whose override_stat carries
                // the type (a fifo too: user.* xattrs exist only on files and dirs).
                must(sys::open_at(pfd, b, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0600),
                     "layer tar: creating " + path);
            } else {
                dev_t dev = makedev(archive_entry_rdevmajor(e), archive_entry_rdevminor(e));
                must(sys::mknod_at(pfd, b, type | 0600, device ? dev : 0),
                     "layer tar: mknod " + path);
            }
            Fd fd = must(sys::open_at(pfd, b, O_PATH | O_NOFOLLOW), "layer tar: opening " + path);
            apply_metadata(fd.get(), e, type);
            return;
        }
        default:
            refuse("unsupported member type");
    }
}

void Extractor::hardlink(archive_entry* e, int parent, const char* base) {
    CleanPath target = clean_tar_path(archive_entry_hardlink(e));
    if (!target.error.empty()) refuse("hard link target: " + target.error);
    auto it = seen_.find(target.path);
    if (it == seen_.end()) refuse("hard link to '" + target.path + "', which is not in the layer");
    if (it->second != Seen::File && it->second != Seen::Symlink)
        refuse("hard link to '" + target.path + "', which is not a file");
    auto [tdir, tbase] = split_parent(target.path);
    Fd tparent = must(sys::open_beneath(root_, tdir.empty() ? "." : std::string(tdir).c_str(),
                                        O_PATH | O_DIRECTORY),
                      "layer tar: opening " + std::string(tdir));
    must(sys::link_at(tparent.get(), std::string(tbase).c_str(), parent, base),
         "layer tar: hard link " + name_);
}

void Extractor::regular(archive* a, archive_entry* e, int parent, const char* base) {
    Fd fd = must(sys::open_at(parent, base, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0600),
                 "layer tar: creating " + name_);
    const void* buf;
    size_t size;
    la_int64_t offset;
    int r;
    auto length = static_cast<off_t>(archive_entry_size(e));
    off_t end = 0;
    while ((r = archive_read_data_block(a, &buf, &size, &offset)) == ARCHIVE_OK) {
        must(sys::pwrite_all(fd.get(), buf, size, offset), "layer tar: writing " + name_);
        end = std::max<off_t>(end, offset + static_cast<off_t>(size));
    }
    if (r != ARCHIVE_EOF) {
        // umoci (Go) writes tars that end right after the last member's data,
        // with neither block padding nor end marker; umoci and docker accept
        // them. Only a member whose data is all there is let through.
        if (!(stream_.ended && end == length && !archive_entry_sparse_count(e)))
            refuse(archive_error(a));
        cut_short_ = true;
    }
    // Sparse members end in a hole that no block covered.
    must(sys::truncate_fd(fd.get(), length), "layer tar: writing " + name_);
    stats_.content_size += static_cast<uint64_t>(length);
    apply_metadata(fd.get(), e, S_IFREG);
}

void Extractor::apply_metadata(int fd, archive_entry* e, mode_t type) {
    mode_t perm = archive_entry_perm(e) & 07777;
    auto uid = static_cast<uid_t>(archive_entry_uid(e));
    auto gid = static_cast<gid_t>(archive_entry_gid(e));
    mode_t disk = perm;
    if (who_.privileged) {
        // chown first: it clears set-id bits and security.capability.
        must(sys::chown_fd(fd, uid, gid), "layer tar: chown " + name_);
    } else {
        // The caller must keep reading its own files and removing the layer later.
        if (type != S_IFLNK) disk = (perm & 0777) | (type == S_IFDIR ? 0700 : 0600);
        bool special = type == S_IFCHR || type == S_IFBLK || type == S_IFIFO;
        if (uid != who_.uid || gid != who_.gid || disk != perm || special) {
            OverrideStat o{uid, gid, type | perm, 0, special};
            if (type == S_IFCHR || type == S_IFBLK)
                o.rdev = makedev(archive_entry_rdevmajor(e), archive_entry_rdevminor(e));
            // Symlinks cannot carry user.* xattrs: their owner is the caller's
            // (containers/storage has the same limit).
            if (type != S_IFLNK)
                must(sys::setxattr_fd(fd, whiteout::kOverrideStat, format_override_stat(o)),
                     "layer tar: recording the owner of " + name_);
        }
    }
    if (type != S_IFLNK) {
        set_xattrs(fd, e);
        if (type == S_IFDIR) {
            PendingDir d{name_, disk, {}};
            d.times[0] = {archive_entry_atime(e), archive_entry_atime_nsec(e)};
            d.times[1] = {archive_entry_mtime(e), archive_entry_mtime_nsec(e)};
            if (!archive_entry_atime_is_set(e)) d.times[0] = d.times[1];
            dirs_.push_back(std::move(d));
            return;
        }
        must(sys::chmod_fd(fd, disk), "layer tar: chmod " + name_);
    }
    set_times(fd, e);
}

void Extractor::set_times(int fd, archive_entry* e) {
    struct timespec t[2];
    t[1] = {archive_entry_mtime(e), archive_entry_mtime_nsec(e)};
    t[0] = archive_entry_atime_is_set(e)
               ? timespec{archive_entry_atime(e), archive_entry_atime_nsec(e)}
               : t[1];
    must(sys::utimens_fd(fd, t), "layer tar: setting times of " + name_);
}

void Extractor::set_xattrs(int fd, archive_entry* e) {
    archive_entry_xattr_reset(e);
    const char* name;
    const void* value;
    size_t size;
    while (archive_entry_xattr_next(e, &name, &value, &size) == ARCHIVE_OK) {
        std::string_view n(name);
        // Overlay markers are ours to write; a tar that carries them is not obeyed.
        if (whiteout::is_private_xattr(n, true)) continue;
        if (!who_.privileged && !n.starts_with("user.")) {
            stats_.dropped_xattrs++;
            continue;
        }
        must(sys::setxattr_fd(fd, name, {static_cast<const char*>(value), size}),
             "layer tar: xattr " + std::string(n) + " of " + name_);
    }
}

void Extractor::finish() {
    // Children first: their creation already bumped each parent's mtime.
    for (auto it = dirs_.rbegin(); it != dirs_.rend(); ++it) {
        name_ = it->path;
        CleanPath p = clean_tar_path(it->path);
        Fd fd = must(
            sys::open_beneath(root_, p.path.empty() ? "." : p.path.c_str(), O_PATH | O_DIRECTORY),
            "layer tar: opening " + it->path);
        must(sys::chmod_fd(fd.get(), it->mode), "layer tar: chmod " + it->path);
        must(sys::utimens_fd(fd.get(), it->times), "layer tar: setting times of " + it->path);
    }
}

// The decompressing reader in front of the tar reader: all of the blob is one
// "raw" entry.
ArchivePtr open_blob(BlobReader& blob) {
    ArchivePtr raw(archive_read_new(), archive_read_free);
    support_compressions(raw.get());
    archive_read_support_format_raw(raw.get());
    archive_read_support_format_empty(raw.get());
    if (archive_read_open(raw.get(), &blob, nullptr, BlobReader::read, nullptr) != ARCHIVE_OK)
        fail(std::string("layer blob: ") + archive_error(raw.get()));
    // The raw reader passes an uncompressed blob through to its end, every byte.
    if (archive_filter_code(raw.get(), 0) == ARCHIVE_FILTER_NONE) blob.hashing = false;
    return raw;
}

// Reads the rest of the blob: bytes after the compressed stream belong to its digest too.
void finish_blob(BlobReader& blob) {
    for (;;) {
        auto n = sys::read_some(blob.fd, blob.buf.data(), blob.buf.size());
        if (!n) fail("reading the layer blob: " + n.error().what());
        if (*n == 0) break;
        blob.bytes += *n;
        if (blob.hashing) blob.sha.update(blob.buf.data(), *n);
    }
}

void set_digests(LayerStats& stats, BlobReader& blob, TarStream& stream) {
    stats.blob_size = blob.bytes;
    stats.diff_id_hex = stream.sha.hex();
    stats.blob_hex = blob.hashing ? blob.sha.hex() : stats.diff_id_hex;
}

void drain(TarStream& stream) {
    const void* rest;
    la_ssize_t n;
    while ((n = stream.next(&rest)) > 0) {
    }
    if (n < 0) fail(std::string("layer blob: ") + archive_error(stream.raw));
}

}  // namespace

const char* archive_error(archive* a) {
    const char* msg = archive_error_string(a);
    return msg && *msg ? msg : "damaged or truncated (libarchive gave no reason)";
}

void support_compressions(archive* a) {
    archive_read_support_filter_gzip(a);
    archive_read_support_filter_zstd(a);
    archive_read_support_filter_xz(a);
    archive_read_support_filter_bzip2(a);
}

LayerStats unpack_layer(int in_fd, int dest, const Identity& who, const ProgressFn& progress,
                        int tee) {
    LayerStats stats;
    BlobReader blob{in_fd, {}, std::vector<char>(1 << 20), &progress};
    ArchivePtr raw = open_blob(blob);
    archive_entry* e;
    int r = archive_read_next_header(raw.get(), &e);
    if (r != ARCHIVE_OK && r != ARCHIVE_EOF)
        fail(std::string("layer blob: ") + archive_error(raw.get()));

    TarStream stream{raw.get(), tee, {}};
    Extractor x(dest, who, stats, stream);
    if (r == ARCHIVE_OK) {
        ArchivePtr tar(archive_read_new(), archive_read_free);
        archive_read_support_format_tar(tar.get());
        archive_read_support_format_empty(tar.get());
        if (archive_read_open(tar.get(), &stream, nullptr, TarStream::read, nullptr) != ARCHIVE_OK)
            fail(std::string("layer tar: ") + archive_error(tar.get()));
        while ((r = archive_read_next_header(tar.get(), &e)) != ARCHIVE_EOF) {
            if (r != ARCHIVE_OK && r != ARCHIVE_WARN)
                fail(std::string("layer tar: malformed: ") + archive_error(tar.get()));
            x.member(tar.get(), e);
            if (x.cut_short()) break;
        }
        // The diff_id covers the whole tar, padding after the end marker included.
        drain(stream);
    }
    x.finish();
    finish_blob(blob);
    set_digests(stats, blob, stream);
    return stats;
}

LayerStats digest_layer(int in_fd) {
    ProgressFn none;
    BlobReader blob{in_fd, {}, std::vector<char>(1 << 20), &none};
    ArchivePtr raw = open_blob(blob);
    archive_entry* e;
    int r = archive_read_next_header(raw.get(), &e);
    if (r != ARCHIVE_OK && r != ARCHIVE_EOF)
        fail(std::string("layer blob: ") + archive_error(raw.get()));
    TarStream stream{raw.get(), -1, {}};
    if (r == ARCHIVE_OK) drain(stream);
    finish_blob(blob);
    LayerStats stats;
    set_digests(stats, blob, stream);
    return stats;
}

}  // namespace layerfs::store
