#include "fs/overlay/dirmerge.hpp"

#include <algorithm>
#include <unordered_set>

#include "fs/overlay/whiteout.hpp"

namespace layerfs {

std::vector<MergedEntry> merge_listings(std::vector<std::vector<RawEntry>> layers) {
    std::vector<MergedEntry> out;
    if (layers.size() == 1) {
        // The common case of a directory in one layer: no set needed.
        for (auto& e : layers[0]) {
            if (e.whiteout_dev ||
                whiteout::classify_name(e.name).kind != whiteout::NameKind::Normal)
                continue;
            out.push_back({std::move(e.name), e.type, e.ino, 0});
        }
    } else {
        std::unordered_set<std::string> taken;  // shown or hidden by a higher layer
        for (size_t li = 0; li < layers.size(); ++li) {
            auto& layer = layers[li];
            // Whiteouts of this layer hide lower names only: apply them after the layer.
            std::vector<std::string> hidden;
            for (auto& e : layer) {
                auto cls = whiteout::classify_name(e.name);
                if (cls.kind == whiteout::NameKind::OpaqueMarker) continue;
                if (cls.kind == whiteout::NameKind::Whiteout) {
                    hidden.emplace_back(cls.target);
                    continue;
                }
                if (e.whiteout_dev) {
                    hidden.push_back(e.name);
                    continue;
                }
                if (taken.insert(e.name).second)
                    out.push_back({std::move(e.name), e.type, e.ino, static_cast<int>(li)});
            }
            for (auto& h : hidden)
                taken.insert(std::move(h));
        }
    }
    std::sort(out.begin(), out.end(),
              [](const MergedEntry& a, const MergedEntry& b) { return a.name < b.name; });
    return out;
}

}  // namespace layerfs
