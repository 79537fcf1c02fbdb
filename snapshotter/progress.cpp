#include "snapshotter/progress.hpp"

#include <unistd.h>

#include <cstdio>

#include "snapshotter/human.hpp"

namespace layerfs::store {

Progress::Progress() : tty_(::isatty(STDERR_FILENO) == 1) {}

void Progress::phase(std::string label, uint64_t total) {
    label_ = std::move(label);
    total_ = total;
}

void Progress::update(uint64_t bytes) {
    if (!tty_) return;
    auto now = std::chrono::steady_clock::now();
    if (now - last_ < std::chrono::milliseconds(100)) return;
    last_ = now;
    std::string line = label_ + ": " + human_size(bytes);
    if (total_) line += " / " + human_size(total_);
    std::fprintf(stderr, "\r\033[K%s", line.c_str());
    shown_ = true;
}

void Progress::done() {
    if (shown_) std::fprintf(stderr, "\r\033[K");
    shown_ = false;
}

}  // namespace layerfs::store
