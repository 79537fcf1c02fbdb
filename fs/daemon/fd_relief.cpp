#include "fs/daemon/fd_relief.hpp"

#include <spdlog/spdlog.h>
#include <sys/resource.h>

#include <algorithm>
#include <chrono>

#include "fs/overlay/overlay_fs.hpp"
#include "fs/sys/fd.hpp"

namespace layerfs {

FdRelief::FdRelief(fuse_session* se, OverlayFs& fs) : se_(se), fs_(fs) {
    rlimit rl{};
    ::getrlimit(RLIMIT_NOFILE, &rl);
    // An eighth of the limit (256 at least) is room enough for what arrives
    // between two looks; relief drops cached entries that a warm cache would
    // have answered, so it starts only that close to the limit.
    long limit = rl.rlim_cur == RLIM_INFINITY ? 1L << 30 : long(rl.rlim_cur);
    high_ = std::max(limit / 2, limit - std::max(limit / 8, 256L));
    thread_ = std::thread([this] { run(); });
    // A look after every few new nodes, not only every so often: a fast client
    // (an untar) makes thousands of nodes a second.
    fs_.on_nodes_grew([this] {
        {
            std::lock_guard g(m_);
            poked_ = true;
        }
        cv_.notify_one();
    });
}

FdRelief::~FdRelief() {
    fs_.on_nodes_grew(nullptr);
    {
        std::lock_guard g(m_);
        stop_ = true;
    }
    cv_.notify_all();
    thread_.join();
}

void FdRelief::run() {
    std::unique_lock lk(m_);
    while (true) {
        cv_.wait_for(lk, std::chrono::milliseconds(100), [this] { return stop_ || poked_; });
        if (stop_) return;
        poked_ = false;
        if (Fd::live() < high_) continue;
        lk.unlock();
        relieve();
        lk.lock();
    }
}

void FdRelief::relieve() {
    // Half of what the kernel holds: enough to get well under the mark, while
    // the rest (likely the working set) stays cached.
    size_t held = fs_.held_nodes();
    auto entries = fs_.held_entries(held / 2 + 1);
    size_t sent = 0;
    for (auto& [parent, name] : entries) {
        fuse_ino_t p =
            parent.get() == fs_.root() ? FUSE_ROOT_ID : reinterpret_cast<fuse_ino_t>(parent.get());
        // Not from a request handler: the kernel takes the parent's lock, which the
        // caller of a request in that directory may hold while it waits for us.
        if (fuse_lowlevel_notify_inval_entry(se_, p, name.c_str(), name.size()) == 0) ++sent;
    }
    spdlog::debug("fds near the limit ({} nodes held): asked the kernel to drop {} entries", held,
                  sent);
}

}  // namespace layerfs
