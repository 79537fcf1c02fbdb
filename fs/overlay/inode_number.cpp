#include "fs/overlay/inode_number.hpp"

#include <algorithm>

namespace layerfs {

InodeNumbers::InodeNumbers(std::vector<dev_t> layer_devs) {
    for (dev_t d : layer_devs)
        if (std::find(devs_.begin(), devs_.end(), d) == devs_.end()) devs_.push_back(d);
    if (devs_.size() <= 1) return;
    unsigned bits = 1;
    while ((1ull << bits) < devs_.size() + 1)
        ++bits;  // index 0 stays free for strangers
    shift_ = 64 - bits;
}

uint64_t InodeNumbers::map(dev_t dev, ino_t ino) const {
    if (shift_ == 64) return ino;
    auto it = std::find(devs_.begin(), devs_.end(), dev);
    uint64_t index = it == devs_.end() ? 0 : uint64_t(it - devs_.begin()) + 1;
    uint64_t low = uint64_t(ino);
    if (low >> shift_) {
        // The backing number already uses our high bits: fold it (rare; ext4 and
        // xfs stay far below 2^56), keeping it deterministic.
        low = (low ^ (low >> shift_) * 0x9E3779B97F4A7C15ull) & ((1ull << shift_) - 1);
    }
    if (index == 0) return low;  // unknown device: best effort
    return (index << shift_) | low;
}

}  // namespace layerfs
