#pragma once
// Unpacks one layer blob (a tar, maybe gzip/zstd/xz/bzip2-compressed) into a
// directory in the overlay on-disk format, refusing anything that could write
// outside it. One pass: the compressed digest, the diff_id (sha256 of the
// uncompressed tar) and the files all come out of the same read.
#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <string>

struct archive;

namespace layerfs::store {

// Who unpacks, which decides the on-disk format.
struct Identity {
    // Real owners, device nodes, mknod 0/0 whiteouts and trusted.* xattrs.
    // Otherwise: files belong to the caller and the tar's uid:gid:mode[:type]
    // goes into user.containers.override_stat; whiteouts are ".wh." files.
    bool privileged = false;
    uid_t uid = 0;
    gid_t gid = 0;
};

struct LayerStats {
    std::string blob_hex;  // sha256 of the bytes read
    uint64_t blob_size = 0;
    std::string diff_id_hex;    // sha256 of the uncompressed tar
    uint64_t content_size = 0;  // sum of regular file sizes
    uint64_t members = 0;
    uint64_t dropped_xattrs = 0;  // xattrs an unprivileged caller cannot set
};

using ProgressFn = std::function<void(uint64_t bytes_read)>;

// `dest` must be an empty directory. Throws Failure naming the offending member;
// the caller discards `dest` then. `tee`, when >= 0, receives the uncompressed tar.
LayerStats unpack_layer(int in_fd, int dest, const Identity& who, const ProgressFn& progress = {},
                        int tee = -1);

// Lets a libarchive reader take the compressions image layers come in.
void support_compressions(archive* a);

// libarchive's message for a's last error, never null: some failures (a pax
// header cut short, for one) set none, and a null would crash the message.
const char* archive_error(archive* a);

// The blob digest and diff_id of a layer blob, read without unpacking it.
LayerStats digest_layer(int in_fd);

}  // namespace layerfs::store
