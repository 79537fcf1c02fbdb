#pragma once
// A container's root mounted in the host's mount namespace (`layerfs mount
// CONTAINER`): whether it is there, and taking it away.
#include <string>

namespace layerfs::cli {

// Whether something is mounted on `merged`: it sits on another device than its
// parent, or it is a FUSE mount whose daemon died (ENOTCONN).
bool is_mounted(const std::string& merged);

// Unmounts `path`: umount2 as root, fusermount3 -u otherwise. Throws Failure.
void unmount(const std::string& path);

}  // namespace layerfs::cli
