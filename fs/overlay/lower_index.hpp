#pragma once
// What a directory's lower layers show, name by name: built once from their
// merged listing (lowers never change), so a lookup in a listed directory
// needs no probe of every layer for the name, its whiteouts and opaque markers.
#include <string>
#include <unordered_map>
#include <vector>

#include "fs/overlay/dirmerge.hpp"

namespace layerfs {

struct LowerEntry {
    int layer;           // the topmost lower layer that shows the name
    unsigned char type;  // DT_*
};

class LowerIndex {
  public:
    // `merged`: the directory's lower layers merged, `layer` as layer numbers.
    explicit LowerIndex(const std::vector<MergedEntry>& merged);
    // nullptr: no lower layer shows the name (absent, or whited out in one).
    const LowerEntry* find(const std::string& name) const;
    size_t size() const { return by_name_.size(); }

  private:
    std::unordered_map<std::string, LowerEntry> by_name_;
};

}  // namespace layerfs
