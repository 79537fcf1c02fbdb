#pragma once
// Relative paths as the plan and the generators write them: no "./", no
// leading or trailing '/'.
#include <string_view>

namespace layerfs::bench {

// "a/b/c" -> "a/b"; "a" -> "".
inline std::string_view parent_of(std::string_view p) {
    auto k = p.rfind('/');
    return k == std::string_view::npos ? std::string_view() : p.substr(0, k);
}

// "a/b/c" -> "a".
inline std::string_view top_of(std::string_view p) {
    return p.substr(0, p.find('/'));
}

}  // namespace layerfs::bench
