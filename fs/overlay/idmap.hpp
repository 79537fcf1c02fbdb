#pragma once
// uid/gid mappings (uidmapping=/gidmapping=) and the override_stat xattr codec.
#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace layerfs {

inline constexpr uint32_t kOverflowId = 65534;

struct IdRange {
    uint32_t container = 0;  // what the mount shows
    uint32_t host = 0;       // what the backing files hold
    uint32_t size = 0;
};

// Maps ids between the container view (what the mount shows) and the host
// (what the backing files hold). Empty mapping = identity.
class IdMapping {
  public:
    // "H:C:N[:H:C:N...]" as fuse-overlayfs reads it: backing id H..H+N-1 shows
    // as C..C+N-1 (so podman's ContainerID:HostID:Size of a user namespace's
    // map makes files stored as the image has them show as the namespace's
    // ids). nullopt if malformed, overlapping or past 2^32; `why` says which.
    static std::optional<IdMapping> parse(std::string_view s, std::string* why = nullptr);
    bool empty() const { return ranges_.empty(); }
    uint32_t to_container(uint32_t host) const;  // unmapped -> kOverflowId
    std::optional<uint32_t> to_host(uint32_t container) const;

  private:
    std::vector<IdRange> ranges_;
};

// user.containers.override_stat: "uid:gid:mode[:type]", mode in octal with
// permission and set-id bits, type one of file dir symlink pipe socket
// block-MAJ-MIN char-MAJ-MIN (containers/storage's format).
struct OverrideStat {
    uint32_t uid = 0;
    uint32_t gid = 0;
    mode_t mode = 0;  // full mode: type bits included when type was given
    dev_t rdev = 0;
    bool has_type = false;
};
std::optional<OverrideStat> parse_override_stat(std::string_view s);
std::string format_override_stat(const OverrideStat& o);

}  // namespace layerfs
