#pragma once
// The differ: what a container's upper layer changed in the tree its lower
// layers show. It walks the upper directory only and looks each entry up in the
// lowers, so its cost grows with the change, never with the image.
#include <sys/types.h>

#include <string>
#include <vector>

#include "fs/sys/fd.hpp"
#include "snapshotter/change_kind.hpp"

namespace layerfs::store {

struct DiffOptions {
    // Docker's rule: every upper entry that also exists below is changed,
    // whether or not anything about it differs.
    bool docker = false;
};

enum class State { Same, Added, Changed, Deleted };

struct ChangeItem {
    std::string path;  // "/a/b"
    State state = State::Same;
    // The committed layer carries it: every change, plus the unchanged entries of
    // an opaque directory (its marker hides the lower copies). Deletions under
    // an opaque directory are carried by the marker instead.
    bool in_layer = false;
    bool opaque = false;  // a directory whose layer entry needs ".wh..wh..opq"
    Meta meta;            // upper entry; for deletions, the whiteout's
    // Where the data is in the upper layer when not at `path`: another name of
    // a lower hard link that was changed through that name.
    std::string source;
    // A metadata-only copy (metacopy): the path ("/a/b") in the old tree whose
    // file holds its data, which the layer must carry whole.
    std::string lower_data;
    dev_t dev = 0;  // upper inode, to keep hard links linked
    ino_t ino = 0;
    nlink_t nlink = 0;
};

struct Change {
    std::string path;
    ChangeKind kind;
};

// Every upper entry and every deletion, sorted by path. `upper` and `lowers`
// (top first) are directory fds. Throws Failure naming the path on errors.
std::vector<ChangeItem> collect_changes(int upper, const std::vector<int>& lowers,
                                        const DiffOptions& opts = {});

// The A/C/D list `layerfs diff` prints.
std::vector<Change> reported_changes(const std::vector<ChangeItem>& items);

// The file the lower layers (`lowers`, top first) show at `path` ("/a/b"),
// opened for reading; `what` names it in errors.
Fd open_lower_file(const std::vector<int>& lowers, const std::string& path,
                   const std::string& what);

// An entry's metadata as the merged tree shows it (`fd`: O_PATH or open);
// `path` names it in errors.
Meta read_meta(int fd, const struct stat& st, const std::string& path);

}  // namespace layerfs::store
