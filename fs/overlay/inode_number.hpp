#pragma once
// st_ino values that are unique across layers on different file systems
// (the kernel's "xino" idea): the layer's file system index goes in the high bits.
#include <sys/types.h>

#include <cstdint>
#include <vector>

namespace layerfs {

class InodeNumbers {
  public:
    explicit InodeNumbers(std::vector<dev_t> layer_devs);
    uint64_t map(dev_t dev, ino_t ino) const;

  private:
    std::vector<dev_t> devs_;  // distinct devices, in first-seen order
    unsigned shift_ = 64;      // 64: one device, numbers pass through
};

}  // namespace layerfs
