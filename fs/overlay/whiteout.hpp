#pragma once
// The overlay on-disk codec: whiteouts, opaque markers and the xattrs that belong
// to the overlay rather than to the user. One place, shared by the daemon and the
// snapshotter, so every dialect is recognised the same way everywhere.
#include <sys/types.h>

#include <array>
#include <string>
#include <string_view>

namespace layerfs::whiteout {

inline constexpr std::string_view kPrefix = ".wh.";
inline constexpr std::string_view kOpaqueMarker = ".wh..wh..opq";

// Opaque-directory xattrs written by kernel overlayfs (root and userxattr) and
// fuse-overlayfs; the value "y" means opaque.
inline constexpr std::array<const char*, 3> kOpaqueXattrs = {
    "trusted.overlay.opaque", "user.overlay.opaque", "user.fuseoverlayfs.opaque"};

// A metadata-only copy (kernel overlayfs metacopy=on, and layerfs with it): the
// upper file carries the metadata, its data is still the lower file's, found at
// the redirect path when there is one, else at the same path in the lowers.
inline constexpr std::array<const char*, 2> kMetacopyXattrs = {"trusted.overlay.metacopy",
                                                               "user.overlay.metacopy"};
inline constexpr std::array<const char*, 2> kRedirectXattrs = {"trusted.overlay.redirect",
                                                               "user.overlay.redirect"};

inline constexpr const char* kOverrideStat = "user.containers.override_stat";

// Kernel overlayfs whiteout: a character device with device number 0/0.
bool is_whiteout_device(mode_t mode, dev_t rdev);

enum class NameKind {
    Normal,
    Whiteout,      // ".wh.NAME": hides NAME in lower layers
    OpaqueMarker,  // ".wh..wh..opq": its directory is opaque
};
struct NameClass {
    NameKind kind;
    std::string_view target;  // for Whiteout: the hidden name
};
NameClass classify_name(std::string_view name);

// ".wh." + name; empty when the result would exceed NAME_MAX.
std::string whiteout_name(std::string_view name);

// Names users may not create through the mount, because the overlay owns them.
bool is_reserved_name(std::string_view name);

bool is_opaque_value(std::string_view value);

// xattrs that are overlay metadata, never shown to or set by users.
// override_stat is private only when the mount interprets it (xattr_permissions).
bool is_private_xattr(std::string_view name, bool override_stat_private);

}  // namespace layerfs::whiteout
