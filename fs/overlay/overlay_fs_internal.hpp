#pragma once
// Shared between the overlay_fs_*.cpp files only.
#include <optional>

#include "fs/overlay/overlay_fs.hpp"

namespace layerfs {

// What a name in a directory resolves to across the layers.
struct OverlayFs::Child {
    bool exists = false;
    int top = -1;  // layer of the visible entry
    struct stat st {};
    Fd fd;                              // the visible entry (dir: O_RDONLY, else O_PATH)
    std::vector<LayerFd> lower_dirs;    // a directory's lower layers that merge
    bool upper_whiteout = false;        // the upper layer whites the name out...
    bool upper_whiteout_dev = false;    // ...with a 0/0 device at the name (else ".wh.NAME")
    bool lower_exists = false;          // removing the name needs a whiteout
    std::optional<struct stat> origin;  // the lower entry an upper one was copied from
    Fd data;                            // an upper metadata-only copy: the lower file
};

// Removes a file or a whole directory tree (work-dir temps, whiteout-only upper dirs).
Status remove_upper_tree_at(int dirfd, const char* name);

inline Error err(int code, const char* op) {
    return Error{code, op};
}

}  // namespace layerfs
