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

// The file (not a directory) the lower layers `dirs` (top first) show at the
// relative path `path`, as resolve() would find it: whiteouts and opaque
// directories on the way count. ENOENT when there is none.
Result<Found> find_lower_file(std::vector<int> dirs, std::string_view path);

// Opens a directory so it works both as a *at() base and for fgetxattr/getdents.
Result<Fd> open_dir(int dirfd, const char* name);

}  // namespace layerfs
