#pragma once
// FUSE passthrough (Linux 6.9+): a file opened with a backing file is read,
// written and mapped by the kernel straight from that file, without a request
// to the daemon. Registering a backing file needs CAP_SYS_ADMIN, so it is
// probed once at mount; without it every open is served by the daemon.
#include <sys/types.h>

#include <atomic>
#include <mutex>
#include <unordered_map>

#include "fs/sys/result.hpp"

namespace layerfs {

class Passthrough {
  public:
    explicit Passthrough(bool wanted) : wanted_(wanted) {}
    Passthrough(const Passthrough&) = delete;
    Passthrough& operator=(const Passthrough&) = delete;

    bool wanted() const { return wanted_; }
    // Called with /dev/fuse right after the INIT reply asked for passthrough:
    // the kernel then accepts backing files if we may register them.
    void probe(int dev_fd);
    bool active() const { return active_.load(std::memory_order_acquire); }

    // The backing id for an open of `file`'s inode on fd, or -1: serve it
    // through the daemon. The kernel wants every open of one inode in one mode
    // and on one backing file, so the inode's opens share an id, closed with
    // the last. EBUSY: the inode is open on its lower file and this open is of
    // its upper copy (or the other way round), which the kernel would refuse.
    // by_daemon: this open must be served by the daemon (and so, while it
    // lasts, every open of the inode); EBUSY if the inode is passed through.
    Result<int> acquire(const void* file, int fd, bool upper, bool by_daemon = false);
    // Balances a successful acquire when that open is released.
    void release(const void* file);

  private:
    struct Opens {
        int id;  // -1: served through the daemon
        unsigned count;
        bool upper;
    };
    const bool wanted_;
    std::atomic<bool> active_{false};
    int dev_ = -1;
    std::mutex m_;
    std::unordered_map<const void*, Opens> open_;
};

}  // namespace layerfs
