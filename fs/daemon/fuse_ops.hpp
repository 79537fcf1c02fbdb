#pragma once
#define FUSE_USE_VERSION 314
#include <fuse_lowlevel.h>

#include <atomic>
#include <cstdint>
#include <memory>

#include "fs/daemon/fuse_uring.hpp"
#include "fs/daemon/passthrough.hpp"
#include "fs/sys/fd.hpp"

namespace layerfs {

struct Node;
class OverlayFs;

// The session's userdata, shared by the handlers and the request io.
struct Daemon {
    OverlayFs& fs;
    Passthrough passthrough;
    fuse_session* se = nullptr;
    bool wants_io_uring = false;
    std::atomic<uint64_t> init_unique{0};  // the INIT request, until it is answered
    uint64_t kernel_offers = 0;            // the INIT request's flags (flags2 above bit 31)
    std::unique_ptr<FuseRing> ring{};      // set up after the INIT reply, when asked and offered
};

// The request table: each handler translates one FUSE request into an
// OverlayFs call and ends with exactly one reply. Userdata is the Daemon.
const fuse_lowlevel_ops& fuse_operations();

// Entry and attribute timeout in seconds, set once before the loop starts.
void set_cache_timeout(double seconds);
double cache_timeout();

// The fh of an open file, as the handlers here expect it, with its backing id
// (-1: served through the daemon). EBUSY: the kernel holds n open on its lower
// file and cannot pass this open of the upper copy through (see Passthrough).
struct OpenReply {
    uint64_t fh;
    int backing_id;
};
// deferred: an open for writing whose data is still on the lower file (served
// by the daemon until its first write copies the data up).
Result<OpenReply> open_handle(Daemon& d, Node* n, Fd fd, int flags, bool upper,
                              bool deferred = false);
// Undoes open_handle when the kernel did not take the reply.
void drop_handle(Daemon& d, uint64_t fh);

// libfuse 3.14 cannot ask for passthrough: these replies are amended by the io
// below on their way to the kernel (backing_id -1: a plain reply).
int reply_open(fuse_req_t req, const fuse_file_info* fi, int backing_id);
int reply_create(fuse_req_t req, const fuse_entry_param* e, const fuse_file_info* fi,
                 int backing_id);

// libfuse 3.14 does not know FUSE_TMPFILE (O_TMPFILE), which the kernel sends,
// nor passthrough and io_uring: this io answers the one, amends the INIT and
// open replies for the others and starts the ring, and hands everything else
// through unchanged.
extern const fuse_custom_io kRawIo;

}  // namespace layerfs
