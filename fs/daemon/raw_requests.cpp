// Requests libfuse 3.14 cannot dispatch, answered straight on /dev/fuse.
#include <fcntl.h>
#include <linux/fuse.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "fs/daemon/fuse_ops.hpp"
#include "fs/overlay/overlay_fs.hpp"

namespace layerfs {

namespace {

#ifndef FUSE_TMPFILE
#define FUSE_TMPFILE 51  // Linux 6.x; newer than some uapi headers
#endif

void reply(int fd, uint64_t unique, int error, const void* body = nullptr, size_t len = 0) {
    fuse_out_header out{};
    out.len = uint32_t(sizeof out + (error ? 0 : len));
    out.error = -error;
    out.unique = unique;
    iovec iov[2] = {{&out, sizeof out}, {const_cast<void*>(body), len}};
    // A failed reply means the request was interrupted: nothing to undo but the
    // caller's, who checks for that.
    (void)::writev(fd, iov, error || !len ? 1 : 2);
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

void answer_tmpfile(int fd, OverlayFs& fs, const fuse_in_header& in, const fuse_create_in& arg) {
    Node* parent = in.nodeid == FUSE_ROOT_ID ? fs.root() : reinterpret_cast<Node*>(in.nodeid);
    Caller c{in.uid, in.gid, arg.umask, {}};
    auto r = fs.tmpfile(parent, arg.mode, int(arg.flags), c);
    if (!r) return reply(fd, in.unique, r.err());
    struct {
        fuse_entry_out entry;
        fuse_open_out open;
    } body{};
    const double t = cache_timeout();
    body.entry.nodeid = reinterpret_cast<uint64_t>(r->first.node);
    body.entry.entry_valid = body.entry.attr_valid = uint64_t(t);
    body.entry.entry_valid_nsec = body.entry.attr_valid_nsec =
        uint32_t((t - double(uint64_t(t))) * 1e9);
    fill_attr(body.entry.attr, r->first.attr);
    body.open.fh = make_file_handle(r->first.node, r->second.release(), int(arg.flags));
    reply(fd, in.unique, 0, &body, sizeof body);
}

// Both calls keep read(2)'s contract, -1 and errno, which libfuse reads to tell an
// interrupted request (ENOENT) and an unmount (ENODEV) from a real failure.
ssize_t raw_read(int fd, void* buf, size_t len, void* userdata) {
    for (;;) {
        ssize_t n = ::read(fd, buf, len);
        if (n < ssize_t(sizeof(fuse_in_header) + sizeof(fuse_create_in))) return n;
        fuse_in_header in;
        std::memcpy(&in, buf, sizeof in);
        if (in.opcode != FUSE_TMPFILE) return n;
        fuse_create_in arg;
        std::memcpy(&arg, static_cast<char*>(buf) + sizeof in, sizeof arg);
        try {
            answer_tmpfile(fd, *static_cast<OverlayFs*>(userdata), in, arg);
        } catch (...) {
            reply(fd, in.unique, ENOMEM);
        }
    }
}

ssize_t raw_writev(int fd, iovec* iov, int count, void*) {
    return ::writev(fd, iov, count);
}

}  // namespace

const fuse_custom_io kRawIo = {raw_writev, raw_read, nullptr, nullptr};

}  // namespace layerfs
