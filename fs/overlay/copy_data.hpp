#pragma once
// Moving a file's bytes and metadata from a lower layer to the upper one.
#include <sys/stat.h>

#include <functional>
#include <string_view>

#include "fs/sys/result.hpp"

namespace layerfs {

// Copies [0, size) of src to dst (both open for I/O). Tries a reflink first, then
// copy_file_range over the data segments only, so holes stay holes; dst ends at size.
Status copy_file_data(int src, int dst, off_t size);

// Copies every xattr that keep(name) accepts, from and to O_PATH-capable fds.
Status copy_xattrs(int src, int dst, const std::function<bool(std::string_view)>& keep);

}  // namespace layerfs
