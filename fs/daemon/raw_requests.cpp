// What libfuse 3.14 cannot do, done on /dev/fuse: FUSE_TMPFILE answered, the
// INIT and open replies amended for passthrough, and the io_uring started.
#include <fcntl.h>
#include <linux/fuse.h>
#include <spdlog/spdlog.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "fs/daemon/fuse_kernel_ext.hpp"
#include "fs/daemon/fuse_ops.hpp"
#include "fs/overlay/overlay_fs.hpp"

namespace layerfs {

namespace {

#ifndef FUSE_TMPFILE
#define FUSE_TMPFILE 51  // Linux 6.x; newer than some uapi headers
#endif

// Entries per CPU queue of the ring. One thread serves a queue, so more
// entries only let the kernel hand it several requests at one wakeup.
constexpr unsigned kRingDepth = 8;

// A reply goes to the ring entry of the request this thread serves, if it came
// that way, else to /dev/fuse.
ssize_t send(int fd, iovec* iov, int count) {
    if (FuseRing::claim_reply(iov, count)) {
        size_t n = 0;
        for (int i = 0; i < count; ++i)
            n += iov[i].iov_len;
        return ssize_t(n);
    }
    return ::writev(fd, iov, count);
}

void reply(int fd, uint64_t unique, int error, const void* body = nullptr, size_t len = 0) {
    fuse_out_header out{};
    out.len = uint32_t(sizeof out + (error ? 0 : len));
    out.error = -error;
    out.unique = unique;
    iovec iov[2] = {{&out, sizeof out}, {const_cast<void*>(body), len}};
    // A failed reply means the request was interrupted: nothing to undo but the
    // caller's, who checks for that.
    (void)send(fd, iov, error || !len ? 1 : 2);
}

void fill_attr(fuse_attr& a, const struct stat& st) {
    a.ino = st.st_ino;
    a.size = uint64_t(st.st_size);
    a.blocks = uint64_t(st.st_blocks);
    a.atime = uint64_t(st.st_atim.tv_sec);
    a.mtime = uint64_t(st.st_mtim.tv_sec);
    a.ctime = uint64_t(st.st_ctim.tv_sec);
    a.atimensec = uint32_t(st.st_atim.tv_nsec);
    a.mtimensec = uint32_t(st.st_mtim.tv_nsec);
    a.ctimensec = uint32_t(st.st_ctim.tv_nsec);
    a.mode = st.st_mode;
    a.nlink = uint32_t(st.st_nlink);
    a.uid = st.st_uid;
    a.gid = st.st_gid;
    a.rdev = uint32_t(st.st_rdev);
    a.blksize = uint32_t(st.st_blksize);
}

// The backing id the open reply being sent on this thread asks for, or -1.
thread_local int t_backing_id = -1;

void set_passthrough(fuse_ext::OpenOut& open, int backing_id) {
    open.open_flags |= fuse_ext::kOpenPassthrough;
    open.open_flags &= ~uint32_t(FOPEN_KEEP_CACHE | FOPEN_DIRECT_IO);
    open.backing_id = backing_id;
}

void answer_tmpfile(int fd, Daemon& d, const fuse_in_header& in, const fuse_create_in& arg) {
    OverlayFs& fs = d.fs;
    Node* parent = in.nodeid == FUSE_ROOT_ID ? fs.root() : reinterpret_cast<Node*>(in.nodeid);
    Caller c{in.uid, in.gid, arg.umask, {}};
    auto r = fs.tmpfile(parent, arg.mode, int(arg.flags), c);
    if (!r) return reply(fd, in.unique, r.err());
    Node* n = r->first.node;
    auto h = open_handle(d, n, std::move(r->second), int(arg.flags), true);
    if (!h) {
        fs.forget(n, 1);
        return reply(fd, in.unique, h.err());
    }
    struct {
        fuse_entry_out entry;
        fuse_ext::OpenOut open;
    } body{};
    const double t = cache_timeout();
    body.entry.nodeid = reinterpret_cast<uint64_t>(n);
    body.entry.entry_valid = body.entry.attr_valid = uint64_t(t);
    body.entry.entry_valid_nsec = body.entry.attr_valid_nsec =
        uint32_t((t - double(uint64_t(t))) * 1e9);
    fill_attr(body.entry.attr, r->first.attr);
    body.open.fh = h->fh;
    if (h->backing_id >= 0) set_passthrough(body.open, h->backing_id);
    reply(fd, in.unique, 0, &body, sizeof body);
}

bool offered(const Daemon& d, uint64_t flag) {
    return (d.kernel_offers & FUSE_INIT_EXT) && (d.kernel_offers & flag);
}

// What the INIT reply asks for beyond libfuse: passthrough, when offered, so
// that the kernel accepts backing files for opens (max_stack_depth 1: they live
// on plain file systems, and another overlay may still stack on this mount);
// FUSE over io_uring, when offered and wanted. Returns the largest request or
// reply body the connection will carry (a ring entry's payload), or 0 when the
// ring is not asked for.
size_t amend_init(Daemon& d, iovec* iov, int count) {
    if (count < 2 || iov[1].iov_len < sizeof(fuse_ext::InitOut)) return 0;
    fuse_ext::InitOut out;
    std::memcpy(&out, iov[1].iov_base, sizeof out);
    // The kernel refuses passthrough with the write-back cache.
    if (d.passthrough.wanted() && offered(d, fuse_ext::kInitPassthrough) &&
        !(out.flags & FUSE_WRITEBACK_CACHE)) {
        out.flags |= FUSE_INIT_EXT;
        out.flags2 |= uint32_t(fuse_ext::kInitPassthrough >> 32);
        out.max_stack_depth = 1;
    }
    size_t payload = 0;
    if (d.wants_io_uring && offered(d, fuse_ext::kInitOverIoUring)) {
        out.flags |= FUSE_INIT_EXT;
        out.flags2 |= uint32_t(fuse_ext::kInitOverIoUring >> 32);
        // As the kernel sizes it: a write's data or a page-vector reply.
        payload = std::max<size_t>(
            {FUSE_MIN_READ_BUFFER, out.max_write, size_t(out.max_pages) * size_t(::getpagesize())});
    }
    std::memcpy(iov[1].iov_base, &out, sizeof out);
    return payload;
}

void amend_open(iovec* iov, int count) {
    // OPEN replies fuse_open_out, CREATE fuse_entry_out and then fuse_open_out.
    if (count < 2 || iov[1].iov_len < sizeof(fuse_ext::OpenOut)) return;
    auto* at = static_cast<char*>(iov[1].iov_base) + iov[1].iov_len - sizeof(fuse_ext::OpenOut);
    fuse_ext::OpenOut open;
    std::memcpy(&open, at, sizeof open);
    set_passthrough(open, t_backing_id);
    std::memcpy(at, &open, sizeof open);
}

// Answers the requests libfuse does not know; false: hand it to libfuse.
bool answered_here(Daemon& d, int fd, const void* buf, size_t n) {
    fuse_in_header in;
    if (n < sizeof in + sizeof(fuse_create_in)) return false;
    std::memcpy(&in, buf, sizeof in);
    if (in.opcode != FUSE_TMPFILE) return false;
    fuse_create_in arg;
    std::memcpy(&arg, static_cast<const char*>(buf) + sizeof in, sizeof arg);
    try {
        answer_tmpfile(fd, d, in, arg);
    } catch (...) {
        reply(fd, in.unique, ENOMEM);
    }
    return true;
}

void start_ring(Daemon& d, int fd, size_t payload) {
    auto ring = FuseRing::start(fd, payload, kRingDepth, [&d, fd](const fuse_buf& buf) {
        if (!answered_here(d, fd, buf.mem, buf.size)) fuse_session_process_buf(d.se, &buf);
    });
    if (!ring) {
        spdlog::warn("io_uring: {}; requests keep coming through /dev/fuse", ring.error().what());
        return;
    }
    d.ring = std::move(*ring);
}

// Both calls keep read(2)'s contract, -1 and errno, which libfuse reads to tell an
// interrupted request (ENOENT) and an unmount (ENODEV) from a real failure.
ssize_t raw_read(int fd, void* buf, size_t len, void* userdata) {
    Daemon& d = *static_cast<Daemon*>(userdata);
    for (;;) {
        ssize_t n = ::read(fd, buf, len);
        if (n < ssize_t(sizeof(fuse_in_header))) return n;
        fuse_in_header in;
        std::memcpy(&in, buf, sizeof in);
        if (in.opcode == FUSE_INIT && size_t(n) >= sizeof in + sizeof(fuse_init_in)) {
            fuse_init_in init;
            std::memcpy(&init, static_cast<char*>(buf) + sizeof in, sizeof init);
            d.kernel_offers = init.flags | uint64_t(init.flags2) << 32;
            d.init_unique.store(in.unique);
        }
        if (!answered_here(d, fd, buf, size_t(n))) return n;
    }
}

ssize_t raw_writev(int fd, iovec* iov, int count, void* userdata) {
    Daemon& d = *static_cast<Daemon*>(userdata);
    fuse_out_header out;
    std::memcpy(&out, iov[0].iov_base, sizeof out);
    const bool init = out.unique != 0 && out.unique == d.init_unique.load() && out.error == 0;
    const size_t ring_payload = init ? amend_init(d, iov, count) : 0;
    if (t_backing_id >= 0 && out.error == 0) amend_open(iov, count);
    ssize_t n = send(fd, iov, count);
    if (init) {
        d.init_unique.store(0);
        // Both need the connection initialized, which this reply just did.
        if (n >= 0 && d.passthrough.wanted() && offered(d, fuse_ext::kInitPassthrough))
            d.passthrough.probe(fd);
        if (n >= 0 && ring_payload) start_ring(d, fd, ring_payload);
    }
    return n;
}

struct BackingScope {
    explicit BackingScope(int id) { t_backing_id = id; }
    ~BackingScope() { t_backing_id = -1; }
};

}  // namespace

const fuse_custom_io kRawIo = {raw_writev, raw_read, nullptr, nullptr};

int reply_open(fuse_req_t req, const fuse_file_info* fi, int backing_id) {
    BackingScope scope(backing_id);
    return fuse_reply_open(req, fi);
}

int reply_create(fuse_req_t req, const fuse_entry_param* e, const fuse_file_info* fi,
                 int backing_id) {
    BackingScope scope(backing_id);
    return fuse_reply_create(req, e, fi);
}

}  // namespace layerfs
