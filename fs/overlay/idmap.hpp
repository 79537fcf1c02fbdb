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
    uint32_t container = 0;
    uint32_t host = 0;
    uint32_t size = 0;
};

// Maps ids between the container view (what the mount shows) and the host
// (what the backing files hold). Empty mapping = identity.
class IdMapping {
  public:
    // "C:H:S[:C:H:S...]" as podman passes it; nullopt if malformed.
    static std::optional<IdMapping> parse(std::string_view s);
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
