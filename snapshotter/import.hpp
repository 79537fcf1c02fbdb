#pragma once
// `layerfs import`: OCI image layouts (DIR or DIR:TAG), oci-archive tars,
// `docker save` tars, rootfs tarballs and directories.
#include <string>
#include <vector>

#include "snapshotter/progress.hpp"
#include "snapshotter/store.hpp"

namespace layerfs::store {

struct Imported {
    std::string id;
    std::vector<std::string> refs;
};

// Every blob's digest and size and every layer's diff_id is checked; on any
// failure the store is left as it was. The caller holds the exclusive lock.
std::vector<Imported> import_source(Store& s, const std::string& source, const std::string& name,
                                    Progress& progress);

}  // namespace layerfs::store
