#pragma once
// What one layer directory says about one name: the syscalls behind Probe.
#include <sys/stat.h>

#include <string>
#include <string_view>
#include <vector>

#include "fs/overlay/resolve.hpp"
#include "fs/sys/fd.hpp"
#include "fs/sys/result.hpp"

namespace layerfs {

struct Found {
    Probe probe = Probe::Absent;
    struct stat st {};
    Fd fd;  // directories: O_RDONLY|O_DIRECTORY; others: O_PATH. Invalid unless an entry.
};

// check_opaque: whether the caller still cares if a directory hides the layers below.
Result<Found> probe_name(int dirfd, const std::string& name, bool check_opaque,
                         bool want_fd = true);

// Any opaque dialect: the xattrs of whiteout.hpp or a ".wh..wh..opq" entry.
bool is_opaque_dir(int dirfd);

// Whether an upper file is a metadata-only copy, and where its data is: the
// redirect path (absolute from the layers' root, or a name in the same
// directory), empty for the file's own path.
struct Metacopy {
    bool is = false;
    std::string redirect;
};
Result<Metacopy> read_metacopy(int fd);

// The file (not a directory) the lower layers `dirs` ({layer, dir fd}, top
// first) show at the relative path `path`, as resolve() would find it:
// whiteouts and opaque directories on the way count. ENOENT when there is
// none. `layer` gets the layer it is in.
Result<Found> find_lower_file(std::vector<std::pair<int, int>> dirs, std::string_view path,
                              int& layer);

// The file that holds the data of a metadata-only copy `m` found in `layer` at
// `path` (a name in the directory whose lower layers are `here`, or a path
// from the root, whose lower layers are `root`; {layer, dir fd}, top first).
// Its redirect (absolute, or a name in its directory) or else its own path is
// looked up in the layers below `layer`; a file found there that holds
// metadata only in turn is followed the same way, as kernel overlayfs does.
// Each step goes one layer down at least, so it ends. EIO when the data is
// missing, as the kernel says.
using LayerDirs = std::vector<std::pair<int, int>>;
Result<Found> follow_metacopy(Metacopy m, std::string path, int layer, const LayerDirs& here,
                              const LayerDirs& root);

// Opens a directory so it works both as a *at() base and for fgetxattr/getdents.
Result<Fd> open_dir(int dirfd, const char* name);

}  // namespace layerfs
