#pragma once
// FUSE over io_uring (Linux 6.14+, when fuse.enable_uring is set): the kernel
// hands each request to a ring entry of the queue of the CPU the caller runs
// on, and takes the reply with the commit that fetches the next request. One
// thread per CPU serves its queue, pinned to that CPU, so a request costs no
// read(2)/writev(2) pair and no wakeup on another CPU. FORGETs and INTERRUPTs
// still come through /dev/fuse, which the session's loop keeps reading.
#include <sys/uio.h>

#include <functional>
#include <memory>
#include <vector>

#include "fs/sys/result.hpp"

struct fuse_buf;

namespace layerfs {

class FuseRing {
  public:
    // Serves one request (a whole fuse_in_header-led message); its reply must
    // reach claim_reply on the same thread before it returns.
    using Serve = std::function<void(const fuse_buf&)>;

    // Starts a thread per possible CPU that registers `depth` entries on
    // dev_fd, each with room for `payload` bytes (the largest request or reply
    // body the connection negotiated). The kernel switches to the ring once
    // every CPU's queue has an entry; until then requests keep coming through
    // /dev/fuse.
    static Result<std::unique_ptr<FuseRing>> start(int dev_fd, size_t payload, unsigned depth,
                                                   Serve serve);
    ~FuseRing();
    FuseRing(const FuseRing&) = delete;
    FuseRing& operator=(const FuseRing&) = delete;

    // A reply to the ring request this thread is serving: copied into its
    // entry, to be committed when serve() returns. False: not such a reply
    // (a notification, or a request that came through /dev/fuse).
    static bool claim_reply(const iovec* iov, int count);

    // Requests served through the ring so far (for tests and debug logs).
    uint64_t served() const;

  private:
    struct Queue;
    FuseRing() = default;
    std::vector<std::unique_ptr<Queue>> queues_;
};

}  // namespace layerfs
