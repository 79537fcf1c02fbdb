#pragma once
// Keeps the daemon within its fd limit. Every node the kernel holds keeps an fd
// per layer open, and the kernel keeps what it has looked up until memory runs
// short: an untar of more files than the limit would otherwise fail with
// EMFILE. When the fds in use near the limit, a thread asks the kernel to drop
// cached entries (FUSE_NOTIFY_INVAL_ENTRY); what no process uses is forgotten,
// and its fds are closed.
#include "fs/daemon/fuse_ops.hpp"

#include <condition_variable>
#include <mutex>
#include <thread>

namespace layerfs {

class OverlayFs;

class FdRelief {
  public:
    FdRelief(fuse_session* se, OverlayFs& fs);
    ~FdRelief();  // stops the thread; before the session ends
    FdRelief(const FdRelief&) = delete;
    FdRelief& operator=(const FdRelief&) = delete;

  private:
    void run();
    void relieve();

    fuse_session* se_;
    OverlayFs& fs_;
    long high_;  // fds in use that start a relief
    std::mutex m_;
    std::condition_variable cv_;
    bool stop_ = false;
    bool poked_ = false;  // more nodes since the last look
    std::thread thread_;
};

}  // namespace layerfs
