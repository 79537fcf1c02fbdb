#pragma once
// Diff classification: whether an upper-layer entry differs from the lower entry
// it hides. Pure, so every rule is unit-tested without a file system.
#include <sys/stat.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace layerfs::store {

// What the merged tree shows of an entry: owner, mode and type after
// user.containers.override_stat, xattrs without the overlay's private ones.
struct Meta {
    mode_t mode = 0;  // type and permission bits
    uint32_t uid = 0, gid = 0;
    uint64_t size = 0;
    int64_t mtime_sec = 0;
    long mtime_nsec = 0;
    dev_t rdev = 0;
    std::string link_target;                                  // symlinks
    std::vector<std::pair<std::string, std::string>> xattrs;  // sorted by name
};

enum class Verdict {
    Same,
    Changed,
    SameIfContentEqual,  // regular files with equal metadata: the data decides
};

// Exact rule: type, mode, owner, size (not for directories, whose size is the
// file system's business), mtime, device number, link target and xattrs.
Verdict compare_meta(const Meta& upper, const Meta& lower);

enum class ChangeKind { Added, Changed, Deleted };

// Docker's letters: A, C, D.
char change_letter(ChangeKind k);
// Docker's API numbers (GET /containers/{id}/changes): 0 changed, 1 added, 2 deleted.
int change_api_kind(ChangeKind k);

// SOURCE_DATE_EPOCH: a non-negative decimal number of seconds.
bool parse_epoch(const std::string& s, int64_t& out);

}  // namespace layerfs::store
