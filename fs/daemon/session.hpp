#pragma once
#include "fs/overlay/options.hpp"

namespace layerfs {

// Mounts cfg and serves it until unmounted or signalled. Without -f the caller's
// process exits 0 only once the mount is live, and the daemon carries on.
// Returns the process exit status.
// `ready_fd`, when given, gets one byte and is closed once the mount is live
// (for a caller that runs the daemon in the foreground as its child).
int run_mount(const MountConfig& cfg, int ready_fd = -1);

}  // namespace layerfs
