#pragma once
// Subordinate id ranges (/etc/subuid, /etc/subgid) and the maps a rootless
// container's user namespace gets from them. Pure.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace layerfs::runtime {

struct IdRange {
    uint32_t start = 0, count = 0;
};

// The first range of `user` (by name or by uid, as shadow's tools accept).
std::optional<IdRange> find_subid_range(std::string_view file_text, std::string_view user,
                                        uint32_t id);

// newuidmap/newgidmap arguments after the pid: the caller's id as 0, then the
// range from 1 (podman's layout), or only the caller's id without a range.
std::vector<std::string> idmap_args(uint32_t outer, const std::optional<IdRange>& range);

}  // namespace layerfs::runtime
