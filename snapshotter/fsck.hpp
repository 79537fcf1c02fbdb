#pragma once
// `layerfs fsck`: checks every blob against its digest, every layer dir against
// its file index, every image's blobs and layers, every container's record and
// layers, and finds what killed commands left and what nothing references.
// With repair, it removes leftovers, orphans and index entries of images that
// cannot be read, and unpacks damaged or missing layers again from their blobs;
// it never touches a container's upper dir.
#include <cstddef>
#include <string>
#include <vector>

#include "snapshotter/store.hpp"

namespace layerfs::store {

struct FsckProblem {
    std::string what;
    std::string repair;  // what was done about it; empty when nothing was
    // Left by an interrupted command or no longer referenced: nothing reads it,
    // the next writer or `prune` would remove it too. Not damage.
    bool litter = false;
};

struct FsckReport {
    std::vector<FsckProblem> problems;
    size_t blobs = 0, layers = 0, images = 0, containers = 0;
    size_t count(bool litter, bool repaired) const;
};

// The caller holds the store lock: shared to check, exclusive (taken without
// clearing tmp/, so leftovers are reported) to repair.
FsckReport check_store(Store& s, bool repair);

}  // namespace layerfs::store
