#include "fs/overlay/lower_index.hpp"

namespace layerfs {

LowerIndex::LowerIndex(const std::vector<MergedEntry>& merged) {
    by_name_.reserve(merged.size());
    for (const auto& e : merged)
        by_name_.emplace(e.name, LowerEntry{e.layer, e.type});
}

const LowerEntry* LowerIndex::find(const std::string& name) const {
    auto it = by_name_.find(name);
    return it == by_name_.end() ? nullptr : &it->second;
}

}  // namespace layerfs
