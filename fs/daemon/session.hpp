#pragma once
#include "fs/overlay/options.hpp"

namespace layerfs {

// Mounts cfg and serves it until unmounted or signalled. Without -f the caller's
// process exits 0 only once the mount is live, and the daemon carries on.
// Returns the process exit status.
int run_mount(const MountConfig& cfg);

}  // namespace layerfs
