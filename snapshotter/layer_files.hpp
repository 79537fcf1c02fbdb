#pragma once
// A layer's file index: every entry of an unpacked layer with its metadata and a
// hash of its data and xattrs, written when the layer is stored
// (layers/<diff_id>/files.json) so fsck can tell which files changed on disk
// since. The tar blob proves the layer's digest; this proves the unpacked tree.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace layerfs::store {

struct FileRecord {
    std::string path;   // relative to diff/; "." is diff/ itself
    uint32_t mode = 0;  // type and permission bits
    uint32_t uid = 0, gid = 0;
    uint64_t size = 0;     // regular files only
    int64_t mtime_ns = 0;  // directories included: unpacking sets their times last
    std::string data;      // xxh3-128 of the content, the symlink target or the device number
    std::string xattrs;    // xxh3-128 of the sorted names and values
    std::string link;      // for a hard link: the first path (in walk order) of its inode
    bool operator==(const FileRecord&) const = default;
};

// Walks the tree under `dirfd`, sorted by path.
std::vector<FileRecord> scan_layer_files(int dirfd);

std::string encode_layer_files(const std::vector<FileRecord>& files);
// Throws Failure when `text` is not an index this code wrote.
std::vector<FileRecord> decode_layer_files(std::string_view text);

// What differs between the recorded and the current tree, one line per path
// ("etc/passwd: content changed", "bin/sh: missing"); empty when they agree.
// Both sorted by path, as scan_layer_files returns them.
std::vector<std::string> compare_layer_files(const std::vector<FileRecord>& want,
                                             const std::vector<FileRecord>& got);

}  // namespace layerfs::store
