#include "fs/daemon/passthrough.hpp"

#include <spdlog/spdlog.h>
#include <sys/ioctl.h>
#include <sys/mman.h>

#include <cstring>

#include "fs/daemon/fuse_kernel_ext.hpp"
#include "fs/sys/fd.hpp"

namespace layerfs {

namespace {

int backing_open(int dev, int fd) {
    fuse_ext::BackingMap map{fd, 0, 0};
    return ::ioctl(dev, fuse_ext::kIocBackingOpen, &map);
}

void backing_close(int dev, int id) {
    uint32_t u = uint32_t(id);
    (void)::ioctl(dev, fuse_ext::kIocBackingClose, &u);
}

}  // namespace

void Passthrough::probe(int dev_fd) {
    dev_ = dev_fd;
    // Any regular file does; a memfd needs no path and leaves nothing behind.
    Fd probe(::memfd_create("layerfs-passthrough-probe", MFD_CLOEXEC));
    int id = probe ? backing_open(dev_, probe.get()) : -1;
    if (id < 0) {
        spdlog::debug("passthrough: off ({})", std::strerror(errno));
        return;
    }
    backing_close(dev_, id);
    active_.store(true, std::memory_order_release);
    spdlog::debug("passthrough: on");
}

Result<int> Passthrough::acquire(const void* file, int fd, bool upper, bool by_daemon) {
    std::lock_guard g(m_);
    auto it = open_.find(file);
    if (it != open_.end()) {
        Opens& o = it->second;
        if (o.id >= 0 && (o.upper != upper || by_daemon)) return Error{EBUSY, "passthrough"};
        ++o.count;
        return o.id;
    }
    if (by_daemon) {
        open_.emplace(file, Opens{-1, 1, upper});
        return -1;
    }
    // A file the kernel cannot pass through (a backing file on a stacked file
    // system, say) is served by the daemon, and so are its other opens.
    int id = backing_open(dev_, fd);
    if (id < 0) spdlog::debug("passthrough: served by the daemon ({})", std::strerror(errno));
    open_.emplace(file, Opens{id < 0 ? -1 : id, 1, upper});
    return id < 0 ? -1 : id;
}

void Passthrough::release(const void* file) {
    std::lock_guard g(m_);
    auto it = open_.find(file);
    if (it == open_.end() || --it->second.count) return;
    if (it->second.id >= 0) backing_close(dev_, it->second.id);
    open_.erase(it);
}

}  // namespace layerfs
