#pragma once
// The changes of an upper layer as an OCI layer tar: entries sorted by path,
// deletions as ".wh.NAME", opaque directories as ".wh..wh..opq", hard links as
// link entries, xattrs as SCHILY.xattr.* without the overlay's private ones.
#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "snapshotter/changes.hpp"
#include "snapshotter/tar_write.hpp"

namespace layerfs::store {

struct LayerTarOptions {
    // --reproducible / SOURCE_DATE_EPOCH: no time in the tar is later than this.
    std::optional<int64_t> clamp_mtime;
    // An unprivileged store: files the caller owns are root's in the container
    // (as the unpacker made them), so the tar says 0.
    std::optional<std::pair<uid_t, gid_t>> caller_is_root;
};

// One tar member: what the layer says at `path` (relative, no leading '/').
struct TarMember {
    std::string path;
    const ChangeItem* item;
    enum Kind { Entry, Whiteout, OpaqueMarker } kind;
};

// The members of the layer for `items` (collect_changes' output), sorted by path.
std::vector<TarMember> layer_members(const std::vector<ChangeItem>& items);

// Writes the layer; file data is read from `upper` (a directory fd), and for
// metadata-only copies from `lowers` (top first).
void write_layer_tar(int upper, const std::vector<int>& lowers,
                     const std::vector<ChangeItem>& items, TarWriter& w,
                     const LayerTarOptions& opts);

}  // namespace layerfs::store
