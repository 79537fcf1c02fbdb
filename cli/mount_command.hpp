#pragma once
#include <string>
#include <vector>

namespace layerfs::cli {

// `layerfs mount ARGS` and `layerfs-mount ARGS`: the fuse-overlayfs command line.
// Returns the exit status: 2 for bad usage, 1 when mounting fails.
int mount_main(const std::vector<std::string>& args);

extern const char* const kMountUsage;

}  // namespace layerfs::cli
