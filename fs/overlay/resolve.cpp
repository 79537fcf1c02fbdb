#include "fs/overlay/resolve.hpp"

namespace layerfs {

bool Resolver::feed(int layer, Probe p) {
    if (done_) return false;
    const bool merging = r_.found();
    switch (p) {
        case Probe::Absent:
            return true;
        case Probe::Whiteout:
            break;  // hides this name in every layer below
        case Probe::NonDir:
            // Below a directory, a non-directory is hidden and ends the merge.
            if (!merging) r_.top = layer;
            break;
        case Probe::Dir:
        case Probe::OpaqueDir:
            if (!merging) r_.top = layer;
            r_.dir_layers.push_back(layer);
            if (p == Probe::Dir) return true;
            break;
    }
    done_ = true;
    return false;
}

}  // namespace layerfs
