#pragma once
// Snapshots of directory trees, for comparing layerfs with a reference mount.
#include <map>
#include <string>

namespace layerfs::test {

struct TreeOptions {
    bool nlink = true;  // compare st_nlink of non-directories
    bool owner = true;
    bool dir_sizes = false;  // directory sizes differ between file systems
};

// path relative to the root -> one line describing type, mode, owner, size,
// content (for regular files), link target and nlink.
std::map<std::string, std::string> snapshot(const std::string& root, TreeOptions o = {});

// The logical content of an upper dir: whiteouts of either dialect become
// "whiteout" entries, opaque markers of any dialect an "opaque" flag on the dir.
std::map<std::string, std::string> logical_upper(const std::string& upper);

// " xattr:NAME=VALUE" for each xattr of `path` (not followed), sorted by name.
std::string xattrs_of(const std::string& path);

// Human-readable difference of two snapshots, empty when equal.
std::string tree_diff(const std::map<std::string, std::string>& expected,
                      const std::map<std::string, std::string>& actual);

}  // namespace layerfs::test

// Two snapshots are the same tree; the difference is shown when not (Catch2).
#define CHECK_SAME_TREE(expected, actual)                                     \
    do {                                                                      \
        std::string diff_ = ::layerfs::test::tree_diff((expected), (actual)); \
        INFO(diff_);                                                          \
        CHECK(diff_.empty());                                                 \
    } while (0)
