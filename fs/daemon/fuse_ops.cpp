#include "fs/daemon/fuse_ops.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <mutex>
#include <new>

#include "fs/overlay/overlay_fs.hpp"
#include "fs/sys/sys.hpp"

namespace layerfs {

namespace {

double g_timeout = 86400.0;

Daemon& daemon(fuse_req_t req) {
    return *static_cast<Daemon*>(fuse_req_userdata(req));
}

OverlayFs& ofs(fuse_req_t req) {
    return daemon(req).fs;
}

Node* node_of(fuse_req_t req, fuse_ino_t ino) {
    return ino == FUSE_ROOT_ID ? ofs(req).root() : reinterpret_cast<Node*>(ino);
}

fuse_ino_t ino_of(fuse_req_t req, Node* n) {
    return n == ofs(req).root() ? FUSE_ROOT_ID : reinterpret_cast<fuse_ino_t>(n);
}

Caller caller(fuse_req_t req) {
    const fuse_ctx* ctx = fuse_req_ctx(req);
    return Caller{ctx->uid, ctx->gid, ctx->umask, {}};
}

// No exception may cross into libfuse: every handler body runs in here.
template <class F>
void guarded(fuse_req_t req, F&& body) {
    try {
        body();
    } catch (const std::bad_alloc&) {
        fuse_reply_err(req, ENOMEM);
    } catch (...) {
        fuse_reply_err(req, EIO);
    }
}

fuse_entry_param entry_param(fuse_req_t req, const Entry& e) {
    fuse_entry_param p{};
    p.ino = ino_of(req, e.node);
    p.attr = e.attr;
    p.attr_timeout = g_timeout;
    p.entry_timeout = g_timeout;
    return p;
}

void reply_entry(fuse_req_t req, const Result<Entry>& r) {
    if (!r) {
        fuse_reply_err(req, r.err());
        return;
    }
    auto p = entry_param(req, *r);
    // The kernel may have given up on the request: then it holds no reference.
    if (fuse_reply_entry(req, &p) == -ENOENT) ofs(req).forget(r->node, 1);
}

void reply_status(fuse_req_t req, const Status& s) {
    fuse_reply_err(req, s.err());
}

// An open file. One opened read-only on a lower layer follows the file to the
// upper layer once another opener copies it up, as kernel overlayfs does.
struct FileHandle {
    std::atomic<int> fd;
    Node* node;  // the kernel holds the inode while the file is open
    int flags;
    std::atomic<bool> on_lower;
    std::mutex m;
    Fd lower_fd;  // kept open until release: a concurrent read may still use it
    Fd upper_fd;
    bool passthrough = false;  // counted in Daemon::passthrough until released

    int current() {
        if (on_lower.load(std::memory_order_acquire) && node->has_upper_data()) {
            std::lock_guard g(m);
            if (on_lower) {
                if (auto r = sys::reopen(node->upper.load(), flags)) {
                    upper_fd = std::move(*r);
                    fd.store(upper_fd.get(), std::memory_order_release);
                    on_lower = false;
                }
            }
        }
        return fd.load(std::memory_order_acquire);
    }
};

FileHandle* handle(uint64_t fh) {
    return reinterpret_cast<FileHandle*>(fh);
}
FileHandle* handle(fuse_file_info* fi) {
    return handle(fi->fh);
}
int fd_of(fuse_file_info* fi) {
    return handle(fi)->current();
}

// The fd a write goes to. A handle opened for writing that is still on the
// lower file was deferred (metacopy=on): its data is copied up now.
Result<int> writable_fd(fuse_req_t req, fuse_file_info* fi) {
    FileHandle* h = handle(fi);
    if (h->on_lower.load(std::memory_order_acquire)) {
        LFS_CHECK(ofs(req).prepare_write(h->node));
        int fd = h->current();
        if (h->on_lower.load(std::memory_order_acquire)) return Error{EIO, "write"};
        return fd;
    }
    return h->fd.load(std::memory_order_acquire);
}

void op_init(void*, fuse_conn_info* conn) {
    auto want = [&](unsigned cap) {
        if (conn->capable & cap) conn->want |= cap;
    };
    want(FUSE_CAP_SPLICE_READ);
    want(FUSE_CAP_SPLICE_WRITE);
    want(FUSE_CAP_SPLICE_MOVE);
    want(FUSE_CAP_ATOMIC_O_TRUNC);
    want(FUSE_CAP_READDIRPLUS);
    want(FUSE_CAP_READDIRPLUS_AUTO);
    want(FUSE_CAP_PARALLEL_DIROPS);
    want(FUSE_CAP_CACHE_SYMLINKS);
    // The kernel's own local locks are exactly right for one mount of a private upper.
    conn->want &= ~(FUSE_CAP_POSIX_LOCKS | FUSE_CAP_FLOCK_LOCKS);
}

void op_lookup(fuse_req_t req, fuse_ino_t parent, const char* name) {
    guarded(req, [&] {
        auto r = ofs(req).lookup(node_of(req, parent), name);
        if (!r && r.err() == ENOENT) {
            // A negative entry the kernel may cache: only this daemon changes the layers.
            fuse_entry_param p{};
            p.entry_timeout = g_timeout;
            fuse_reply_entry(req, &p);
            return;
        }
        reply_entry(req, r);
    });
}

void op_forget(fuse_req_t req, fuse_ino_t ino, uint64_t n) {
    ofs(req).forget(node_of(req, ino), n);
    fuse_reply_none(req);
}

void op_forget_multi(fuse_req_t req, size_t count, fuse_forget_data* f) {
    for (size_t i = 0; i < count; ++i)
        ofs(req).forget(node_of(req, f[i].ino), f[i].nlookup);
    fuse_reply_none(req);
}

void op_getattr(fuse_req_t req, fuse_ino_t ino, fuse_file_info*) {
    guarded(req, [&] {
        auto r = ofs(req).getattr(node_of(req, ino));
        if (!r) return (void)fuse_reply_err(req, r.err());
        fuse_reply_attr(req, &*r, g_timeout);
    });
}

void op_setattr(fuse_req_t req, fuse_ino_t ino, struct stat* attr, int to_set, fuse_file_info* fi) {
    guarded(req, [&] {
        SetAttr a;
        if (to_set & FUSE_SET_ATTR_MODE) a.mode = attr->st_mode;
        if (to_set & FUSE_SET_ATTR_UID) a.uid = attr->st_uid;
        if (to_set & FUSE_SET_ATTR_GID) a.gid = attr->st_gid;
        if (to_set & FUSE_SET_ATTR_SIZE) a.size = attr->st_size;
        if (to_set & FUSE_SET_ATTR_ATIME_NOW)
            a.atime = timespec{0, UTIME_NOW};
        else if (to_set & FUSE_SET_ATTR_ATIME)
            a.atime = attr->st_atim;
        if (to_set & FUSE_SET_ATTR_MTIME_NOW)
            a.mtime = timespec{0, UTIME_NOW};
        else if (to_set & FUSE_SET_ATTR_MTIME)
            a.mtime = attr->st_mtim;
        // The kernel names a handle only for ftruncate, which writes.
        int fh = -1;
        if (fi) fh = LFS_TRY_OR(writable_fd(req, fi), return (void)fuse_reply_err(req, e.code));
        auto r = ofs(req).setattr(node_of(req, ino), a, fh, caller(req));
        if (!r) return (void)fuse_reply_err(req, r.err());
        fuse_reply_attr(req, &*r, g_timeout);
    });
}

void op_readlink(fuse_req_t req, fuse_ino_t ino) {
    guarded(req, [&] {
        auto r = ofs(req).readlink(node_of(req, ino));
        if (!r) return (void)fuse_reply_err(req, r.err());
        fuse_reply_readlink(req, r->c_str());
    });
}

void op_mknod(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode, dev_t rdev) {
    guarded(req, [&] {
        reply_entry(req, ofs(req).mknod(node_of(req, parent), name, mode, rdev, caller(req)));
    });
}

void op_mkdir(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode) {
    guarded(req, [&] {
        reply_entry(req, ofs(req).mkdir(node_of(req, parent), name, mode, caller(req)));
    });
}

void op_symlink(fuse_req_t req, const char* link, fuse_ino_t parent, const char* name) {
    guarded(req, [&] {
        reply_entry(req, ofs(req).symlink(link, node_of(req, parent), name, caller(req)));
    });
}

void op_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t parent, const char* name) {
    guarded(req, [&] {
        reply_entry(req, ofs(req).link(node_of(req, ino), node_of(req, parent), name));
    });
}

void op_unlink(fuse_req_t req, fuse_ino_t parent, const char* name) {
    guarded(req, [&] { reply_status(req, ofs(req).unlink(node_of(req, parent), name)); });
}

void op_rmdir(fuse_req_t req, fuse_ino_t parent, const char* name) {
    guarded(req, [&] { reply_status(req, ofs(req).rmdir(node_of(req, parent), name)); });
}

void op_rename(fuse_req_t req, fuse_ino_t parent, const char* name, fuse_ino_t newparent,
               const char* newname, unsigned flags) {
    guarded(req, [&] {
        reply_status(req, ofs(req).rename(node_of(req, parent), name, node_of(req, newparent),
                                          newname, flags));
    });
}

void op_open(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
    guarded(req, [&] {
        Daemon& d = daemon(req);
        Node* n = node_of(req, ino);
        auto r = d.fs.open_file(n, fi->flags, /*may_defer=*/true);
        if (!r) return (void)fuse_reply_err(req, r.err());
        auto h = open_handle(d, n, std::move(r->fd), fi->flags, r->upper, r->deferred);
        if (!h && r->deferred) {
            // The inode is passed through: this open cannot be served by the daemon.
            r = d.fs.open_file(n, fi->flags);
            if (!r) return (void)fuse_reply_err(req, r.err());
            h = open_handle(d, n, std::move(r->fd), fi->flags, r->upper);
        }
        if (!h) {
            // Files still open on the lower file pin this inode to it: the name
            // gets a new inode, and ESTALE has the kernel look it up and retry.
            d.fs.retire(n);
            return (void)fuse_reply_err(req, ESTALE);
        }
        // Lower files never change, so their pages stay valid across opens.
        fi->keep_cache = h->backing_id < 0 && !r->upper && !r->deferred;
        fi->fh = h->fh;
        if (reply_open(req, fi, h->backing_id) == -ENOENT) drop_handle(d, h->fh);
    });
}

void op_create(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode,
               fuse_file_info* fi) {
    guarded(req, [&] {
        Daemon& d = daemon(req);
        auto r = d.fs.create(node_of(req, parent), name, mode, fi->flags, caller(req));
        if (!r) return (void)fuse_reply_err(req, r.err());
        Node* n = r->first.node;
        auto h = open_handle(d, n, std::move(r->second), fi->flags, true);
        if (!h) {
            d.fs.forget(n, 1);
            return (void)fuse_reply_err(req, h.err());
        }
        auto p = entry_param(req, r->first);
        fi->fh = h->fh;
        if (reply_create(req, &p, fi, h->backing_id) == -ENOENT) {
            drop_handle(d, h->fh);
            d.fs.forget(n, 1);
        }
    });
}

void op_read(fuse_req_t req, fuse_ino_t, size_t size, off_t off, fuse_file_info* fi) {
    fuse_bufvec buf = FUSE_BUFVEC_INIT(size);
    buf.buf[0].flags = fuse_buf_flags(FUSE_BUF_IS_FD | FUSE_BUF_FD_SEEK);
    buf.buf[0].fd = fd_of(fi);
    buf.buf[0].pos = off;
    fuse_reply_data(req, &buf, FUSE_BUF_SPLICE_MOVE);
}

void op_write_buf(fuse_req_t req, fuse_ino_t, fuse_bufvec* in, off_t off, fuse_file_info* fi) {
    auto fd = writable_fd(req, fi);
    if (!fd) return (void)fuse_reply_err(req, fd.err());
    fuse_bufvec out = FUSE_BUFVEC_INIT(fuse_buf_size(in));
    out.buf[0].flags = fuse_buf_flags(FUSE_BUF_IS_FD | FUSE_BUF_FD_SEEK);
    out.buf[0].fd = *fd;
    out.buf[0].pos = off;
    ssize_t n = fuse_buf_copy(&out, in, fuse_buf_copy_flags(0));
    if (n < 0)
        fuse_reply_err(req, int(-n));
    else
        fuse_reply_write(req, size_t(n));
}

void op_flush(fuse_req_t req, fuse_ino_t, fuse_file_info* fi) {
    // close() of a dup reports delayed write errors, as close() would natively.
    int dup = ::dup(fd_of(fi));
    int r = dup < 0 ? -1 : ::close(dup);
    fuse_reply_err(req, r < 0 ? errno : 0);
}

void op_release(fuse_req_t req, fuse_ino_t, fuse_file_info* fi) {
    drop_handle(daemon(req), fi->fh);
    fuse_reply_err(req, 0);
}

void op_fsync(fuse_req_t req, fuse_ino_t, int datasync, fuse_file_info* fi) {
    reply_status(req, ofs(req).fsync(fd_of(fi), datasync));
}

// A listing's entries with their offsets. An offset is a hash of the name, not
// an index: the kernel keeps one cache of a directory's entries for all its open
// handles, fills it from any of them and resumes one handle at an offset another
// returned, so an offset must mean the same place in every listing of the
// directory (as ext4's hash cookies do). Indexes into listings made at different
// times showed a name twice when a name was added in between.
struct DirHandle {
    std::vector<std::pair<uint64_t, MergedEntry>> entries;  // "." and ".." first, then by offset
    bool listed = false;
};

// "." and ".." are 1 and 2; names get 3..2^63-1 (the kernel's offsets are signed).
uint64_t name_offset(const std::string& name) {
    uint64_t h = std::hash<std::string>()(name) >> 1;
    return h < 3 ? h + 3 : h;
}

Status list_into(OverlayFs& fs, Node* dir, DirHandle& h) {
    auto r = fs.opendir(dir);
    if (!r) return r.error();
    h.entries.clear();
    h.entries.reserve(r->entries.size());
    for (auto& e : r->entries) {
        uint64_t off = h.entries.size() < 2 ? h.entries.size() + 1 : name_offset(e.name);
        h.entries.emplace_back(off, std::move(e));
    }
    // Names with the same hash in the order of their names, the same in every listing.
    std::sort(h.entries.begin() + std::min<ptrdiff_t>(2, ptrdiff_t(h.entries.size())),
              h.entries.end(), [](const auto& a, const auto& b) {
                  return a.first != b.first ? a.first < b.first : a.second.name < b.second.name;
              });
    h.listed = true;
    return {};
}

void op_opendir(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
    guarded(req, [&] {
        if (!node_of(req, ino)->is_dir()) return (void)fuse_reply_err(req, ENOTDIR);
        auto* h = new DirHandle;
        fi->fh = reinterpret_cast<uint64_t>(h);
        // Listings change only through this mount, and the kernel drops its cached
        // copy when it changes one: let it keep listings across opens. The listing
        // is made at the first READDIR, after the kernel noted which version of the
        // directory its cache holds: made here, a change between this open and that
        // READDIR would stay cached unseen.
        fi->cache_readdir = 1;
        fi->keep_cache = 1;
        if (fuse_reply_open(req, fi) == -ENOENT) delete h;
    });
}

void do_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, fuse_file_info* fi,
                bool plus) {
    guarded(req, [&] {
        auto* h = reinterpret_cast<DirHandle*>(fi->fh);
        Node* dir = node_of(req, ino);
        // At offset 0 (the first read, or rewinddir()): what the directory holds now.
        // Elsewhere, a handle that never listed resumes where the kernel's cache,
        // filled through another handle, ended.
        if (off == 0 || !h->listed) {
            if (auto s = list_into(ofs(req), dir, *h); !s)
                return (void)fuse_reply_err(req, s.err());
        }
        std::string buf(size, '\0');
        size_t used = 0;
        auto& entries = h->entries;
        auto start = std::upper_bound(entries.begin(), entries.end(), uint64_t(off),
                                      [](uint64_t o, const auto& e) { return o < e.first; });
        for (size_t i = size_t(start - entries.begin()); i < entries.size(); ++i) {
            const auto& [next, e] = entries[i];
            size_t n;
            if (plus) {
                fuse_entry_param p{};
                Node* counted = nullptr;
                if (i < 2) {
                    p.attr.st_ino = e.ino;
                    p.attr.st_mode = mode_t(e.type) << 12;
                } else {
                    auto r = ofs(req).lookup(dir, e.name.c_str());
                    if (!r && r.err() == ENOENT) continue;  // gone since listed
                    if (r) {
                        p = entry_param(req, *r);
                        counted = r->node;
                    } else {
                        // Still listed: the kernel looks it up itself and sees the error.
                        p.attr.st_ino = e.ino;
                        p.attr.st_mode = mode_t(e.type) << 12;
                    }
                }
                n = fuse_add_direntry_plus(req, buf.data() + used, size - used, e.name.c_str(), &p,
                                           off_t(next));
                if (n > size - used) {
                    if (counted) ofs(req).forget(counted, 1);
                    break;
                }
            } else {
                struct stat st {};
                st.st_ino = e.ino;
                st.st_mode = mode_t(e.type) << 12;
                n = fuse_add_direntry(req, buf.data() + used, size - used, e.name.c_str(), &st,
                                      off_t(next));
                if (n > size - used) break;
            }
            used += n;
        }
        fuse_reply_buf(req, buf.data(), used);
    });
}

void op_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, fuse_file_info* fi) {
    do_readdir(req, ino, size, off, fi, false);
}

void op_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, fuse_file_info* fi) {
    do_readdir(req, ino, size, off, fi, true);
}

void op_releasedir(fuse_req_t req, fuse_ino_t, fuse_file_info* fi) {
    delete reinterpret_cast<DirHandle*>(fi->fh);
    fuse_reply_err(req, 0);
}

void op_fsyncdir(fuse_req_t req, fuse_ino_t ino, int datasync, fuse_file_info*) {
    Node* n = node_of(req, ino);
    int fd = n->upper.load();
    reply_status(req, fd < 0 ? Status{} : ofs(req).fsync(fd, datasync));
}

void op_statfs(fuse_req_t req, fuse_ino_t ino) {
    guarded(req, [&] {
        auto r = ofs(req).statfs(node_of(req, ino));
        if (!r) return (void)fuse_reply_err(req, r.err());
        fuse_reply_statfs(req, &*r);
    });
}

void op_setxattr(fuse_req_t req, fuse_ino_t ino, const char* name, const char* value, size_t size,
                 int flags) {
    guarded(req, [&] {
        reply_status(req, ofs(req).setxattr(node_of(req, ino), name, {value, size}, flags));
    });
}

template <class Value>
void reply_xattr_value(fuse_req_t req, size_t size, const Value& data, size_t len) {
    if (size == 0)
        fuse_reply_xattr(req, len);
    else if (len > size)
        fuse_reply_err(req, ERANGE);
    else
        fuse_reply_buf(req, data, len);
}

void op_getxattr(fuse_req_t req, fuse_ino_t ino, const char* name, size_t size) {
    guarded(req, [&] {
        auto r = ofs(req).getxattr(node_of(req, ino), name);
        if (!r) return (void)fuse_reply_err(req, r.err());
        reply_xattr_value(req, size, r->data(), r->size());
    });
}

void op_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size) {
    guarded(req, [&] {
        auto r = ofs(req).listxattr(node_of(req, ino));
        if (!r) return (void)fuse_reply_err(req, r.err());
        std::string out;
        for (auto& n : *r)
            out.append(n).push_back('\0');
        reply_xattr_value(req, size, out.data(), out.size());
    });
}

void op_removexattr(fuse_req_t req, fuse_ino_t ino, const char* name) {
    guarded(req, [&] { reply_status(req, ofs(req).removexattr(node_of(req, ino), name)); });
}

void op_access(fuse_req_t req, fuse_ino_t ino, int mask) {
    guarded(req, [&] {
        Caller c = caller(req);
        gid_t groups[64];
        int n = fuse_req_getgroups(req, 64, groups);
        if (n > 0) c.groups.assign(groups, groups + std::min(n, 64));
        reply_status(req, ofs(req).access(node_of(req, ino), mask, c));
    });
}

void op_fallocate(fuse_req_t req, fuse_ino_t, int mode, off_t off, off_t len, fuse_file_info* fi) {
    auto fd = writable_fd(req, fi);
    if (!fd) return (void)fuse_reply_err(req, fd.err());
    int r = ::fallocate(*fd, mode, off, len);
    fuse_reply_err(req, r < 0 ? errno : 0);
}

void op_copy_file_range(fuse_req_t req, fuse_ino_t, off_t off_in, fuse_file_info* fi_in, fuse_ino_t,
                        off_t off_out, fuse_file_info* fi_out, size_t len, int flags) {
    loff_t in = off_in, out = off_out;
    auto fd = writable_fd(req, fi_out);
    if (!fd) return (void)fuse_reply_err(req, fd.err());
    ssize_t n = ::copy_file_range(fd_of(fi_in), &in, *fd, &out, len, unsigned(flags));
    if (n < 0)
        fuse_reply_err(req, errno);
    else
        fuse_reply_write(req, size_t(n));
}

void op_lseek(fuse_req_t req, fuse_ino_t, off_t off, int whence, fuse_file_info* fi) {
    off_t r = ::lseek(fd_of(fi), off, whence);
    if (r < 0)
        fuse_reply_err(req, errno);
    else
        fuse_reply_lseek(req, r);
}

fuse_lowlevel_ops make_ops() {
    fuse_lowlevel_ops o{};
    o.init = op_init;
    o.lookup = op_lookup;
    o.forget = op_forget;
    o.forget_multi = op_forget_multi;
    o.getattr = op_getattr;
    o.setattr = op_setattr;
    o.readlink = op_readlink;
    o.mknod = op_mknod;
    o.mkdir = op_mkdir;
    o.symlink = op_symlink;
    o.link = op_link;
    o.unlink = op_unlink;
    o.rmdir = op_rmdir;
    o.rename = op_rename;
    o.open = op_open;
    o.create = op_create;
    o.read = op_read;
    o.write_buf = op_write_buf;
    o.flush = op_flush;
    o.release = op_release;
    o.fsync = op_fsync;
    o.opendir = op_opendir;
    o.readdir = op_readdir;
    o.readdirplus = op_readdirplus;
    o.releasedir = op_releasedir;
    o.fsyncdir = op_fsyncdir;
    o.statfs = op_statfs;
    o.setxattr = op_setxattr;
    o.getxattr = op_getxattr;
    o.listxattr = op_listxattr;
    o.removexattr = op_removexattr;
    o.access = op_access;
    o.fallocate = op_fallocate;
    o.copy_file_range = op_copy_file_range;
    o.lseek = op_lseek;
    return o;
}

}  // namespace

const fuse_lowlevel_ops& fuse_operations() {
    static const fuse_lowlevel_ops ops = make_ops();
    return ops;
}

void set_cache_timeout(double seconds) {
    g_timeout = seconds;
}
double cache_timeout() {
    return g_timeout;
}

Result<OpenReply> open_handle(Daemon& d, Node* n, Fd fd, int flags, bool upper, bool deferred) {
    const bool counted = d.passthrough.active();
    int id = counted ? LFS_TRY(d.passthrough.acquire(n, fd.get(), upper, deferred)) : -1;
    auto* h = new FileHandle{
        {fd.get()}, n, flags & ~(O_CREAT | O_EXCL | O_TRUNC), {!upper}, {}, {}, {}, counted};
    (upper ? h->upper_fd : h->lower_fd) = std::move(fd);
    return OpenReply{reinterpret_cast<uint64_t>(h), id};
}

void drop_handle(Daemon& d, uint64_t fh) {
    FileHandle* h = handle(fh);
    if (h->passthrough) d.passthrough.release(h->node);
    delete h;
}

}  // namespace layerfs
