#pragma once
// Layer resolution: which layers hold a name, given what each layer says about it,
// top layer first. Pure, so every whiteout/opaque combination is unit-tested.
#include <vector>

namespace layerfs {

enum class Probe {
    Absent,     // no entry, no whiteout
    Whiteout,   // a whiteout for the name (any dialect)
    NonDir,     // a file, symlink, device, fifo or socket
    Dir,        // a directory that lets lower layers through
    OpaqueDir,  // a directory that hides lower layers
};

struct Resolution {
    int top = -1;                 // layer of the visible entry; -1: the name does not exist
    std::vector<int> dir_layers;  // for a directory: the layers whose contents merge, top first
    bool found() const { return top >= 0; }
};

// Feed probes top-down; feed() returns false once lower layers can no longer matter.
class Resolver {
  public:
    bool feed(int layer, Probe p);
    const Resolution& result() const { return r_; }

  private:
    Resolution r_;
    bool done_ = false;
};

}  // namespace layerfs
