#pragma once
#include <unistd.h>

#include <atomic>
#include <utility>

namespace layerfs {

// Owns one file descriptor; closes it once.
class Fd {
  public:
    Fd() = default;
    explicit Fd(int fd) : fd_(fd) {
        if (fd_ >= 0) live_.fetch_add(1, std::memory_order_relaxed);
    }
    Fd(const Fd&) = delete;
    Fd& operator=(const Fd&) = delete;
    Fd(Fd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
    Fd& operator=(Fd&& o) noexcept {
        if (this != &o) {
            close_owned();
            fd_ = std::exchange(o.fd_, -1);
        }
        return *this;
    }
    ~Fd() { close_owned(); }

    int get() const { return fd_; }
    bool valid() const { return fd_ >= 0; }
    explicit operator bool() const { return fd_ >= 0; }
    int release() {
        if (fd_ >= 0) live_.fetch_sub(1, std::memory_order_relaxed);
        return std::exchange(fd_, -1);
    }
    void reset(int fd = -1) {
        close_owned();
        if (fd >= 0) live_.fetch_add(1, std::memory_order_relaxed);
        fd_ = fd;
    }
    // How many fds Fd objects own in this process: the daemon watches it to
    // stay within its fd limit.
    static long live() { return live_.load(std::memory_order_relaxed); }

  private:
    void close_owned() {
        if (fd_ < 0) return;
        ::close(fd_);
        live_.fetch_sub(1, std::memory_order_relaxed);
        fd_ = -1;
    }

    int fd_ = -1;
    static inline std::atomic<long> live_{0};
};

}  // namespace layerfs
