#include "fs/overlay/whiteout.hpp"

#include <limits.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

namespace layerfs::whiteout {

bool is_whiteout_device(mode_t mode, dev_t rdev) {
    return S_ISCHR(mode) && major(rdev) == 0 && minor(rdev) == 0;
}

NameClass classify_name(std::string_view name) {
    if (name == kOpaqueMarker) return {NameKind::OpaqueMarker, {}};
    if (name.size() > kPrefix.size() && name.substr(0, kPrefix.size()) == kPrefix)
        return {NameKind::Whiteout, name.substr(kPrefix.size())};
    return {NameKind::Normal, name};
}

std::string whiteout_name(std::string_view name) {
    if (name.size() + kPrefix.size() > NAME_MAX) return {};
    std::string out(kPrefix);
    out += name;
    return out;
}

bool is_reserved_name(std::string_view name) {
    return name.substr(0, kPrefix.size()) == kPrefix;
}

bool is_opaque_value(std::string_view value) {
    return value == "y";
}

static bool starts_with(std::string_view s, std::string_view p) {
    return s.substr(0, p.size()) == p;
}

bool is_private_xattr(std::string_view name, bool override_stat_private) {
    if (starts_with(name, "trusted.overlay.") || starts_with(name, "user.overlay.") ||
        starts_with(name, "user.fuseoverlayfs."))
        return true;
    return override_stat_private && name == kOverrideStat;
}

}  // namespace layerfs::whiteout
