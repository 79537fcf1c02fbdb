#include "snapshotter/tar_path.hpp"

#include <climits>

#include "fs/overlay/whiteout.hpp"

namespace layerfs::store {

CleanPath clean_tar_path(std::string_view raw) {
    if (raw.empty()) return {"", "empty name"};
    if (raw.front() == '/') return {"", "absolute path"};
    std::string out;
    while (!raw.empty()) {
        size_t slash = raw.find('/');
        std::string_view part = raw.substr(0, slash);
        raw = slash == std::string_view::npos ? std::string_view{} : raw.substr(slash + 1);
        if (part.empty() || part == ".") continue;
        if (part == "..") return {"", "'..' component"};
        if (part.size() > NAME_MAX) return {"", "name longer than NAME_MAX"};
        if (!out.empty()) out += '/';
        out += part;
    }
    if (out.size() >= PATH_MAX) return {"", "path longer than PATH_MAX"};
    return {std::move(out), ""};
}

std::pair<std::string_view, std::string_view> split_parent(std::string_view path) {
    size_t slash = path.rfind('/');
    if (slash == std::string_view::npos) return {"", path};
    return {path.substr(0, slash), path.substr(slash + 1)};
}

Member classify_member(const std::string& clean) {
    // aufs keeps its bookkeeping in top-level ".wh..wh.*" directories: all of it
    // is skipped, as docker does.
    std::string_view top = std::string_view(clean).substr(0, clean.find('/'));
    if (top.starts_with(whiteout::kPrefix) &&
        top.substr(whiteout::kPrefix.size()).starts_with(whiteout::kPrefix) &&
        top != whiteout::kOpaqueMarker)
        return {MemberKind::AufsMeta, clean, ""};
    auto [parent, base] = split_parent(clean);
    if (!base.starts_with(whiteout::kPrefix)) return {MemberKind::Plain, clean, ""};
    if (base == whiteout::kOpaqueMarker) return {MemberKind::Opaque, std::string(parent), ""};
    std::string_view hidden = base.substr(whiteout::kPrefix.size());
    if (hidden.starts_with(whiteout::kPrefix)) return {MemberKind::AufsMeta, clean, ""};
    if (hidden.empty() || hidden == "." || hidden == "..")
        return {MemberKind::Whiteout, "", "whiteout of an invalid name"};
    std::string path(parent);
    if (!path.empty()) path += '/';
    path += hidden;
    return {MemberKind::Whiteout, std::move(path), ""};
}

}  // namespace layerfs::store
