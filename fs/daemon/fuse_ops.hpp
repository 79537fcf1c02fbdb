#pragma once
#define FUSE_USE_VERSION 314
#include <fuse_lowlevel.h>

namespace layerfs {

struct Node;

// The request table: each handler translates one FUSE request into an
// OverlayFs call and ends with exactly one reply. Userdata is the OverlayFs.
const fuse_lowlevel_ops& fuse_operations();

// Entry and attribute timeout in seconds, set once before the loop starts.
void set_cache_timeout(double seconds);
double cache_timeout();

// The fh of an open file, as the handlers here expect it.
uint64_t make_file_handle(Node* n, int fd, int flags);

// libfuse 3.14 does not know FUSE_TMPFILE (O_TMPFILE), which the kernel sends:
// this io answers it and hands every other request to libfuse unchanged.
extern const fuse_custom_io kRawIo;

}  // namespace layerfs
