#pragma once
#define FUSE_USE_VERSION 314
#include <fuse_lowlevel.h>

namespace layerfs {

// The request table: each handler translates one FUSE request into an
// OverlayFs call and ends with exactly one reply. Userdata is the OverlayFs.
const fuse_lowlevel_ops& fuse_operations();

// Entry and attribute timeout in seconds, set once before the loop starts.
void set_cache_timeout(double seconds);

}  // namespace layerfs
