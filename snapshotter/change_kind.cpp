#include "snapshotter/change_kind.hpp"

#include <charconv>

namespace layerfs::store {

Verdict compare_meta(const Meta& upper, const Meta& lower) {
    if ((upper.mode & S_IFMT) != (lower.mode & S_IFMT)) return Verdict::Changed;
    if (upper.mode != lower.mode || upper.uid != lower.uid || upper.gid != lower.gid)
        return Verdict::Changed;
    if (!S_ISDIR(upper.mode) && upper.size != lower.size) return Verdict::Changed;
    if (upper.mtime_sec != lower.mtime_sec || upper.mtime_nsec != lower.mtime_nsec)
        return Verdict::Changed;
    if ((S_ISCHR(upper.mode) || S_ISBLK(upper.mode)) && upper.rdev != lower.rdev)
        return Verdict::Changed;
    if (upper.link_target != lower.link_target || upper.xattrs != lower.xattrs)
        return Verdict::Changed;
    return S_ISREG(upper.mode) && upper.size > 0 ? Verdict::SameIfContentEqual : Verdict::Same;
}

char change_letter(ChangeKind k) {
    switch (k) {
        case ChangeKind::Added:
            return 'A';
        case ChangeKind::Deleted:
            return 'D';
        case ChangeKind::Changed:
            break;
    }
    return 'C';
}

int change_api_kind(ChangeKind k) {
    switch (k) {
        case ChangeKind::Added:
            return 1;
        case ChangeKind::Deleted:
            return 2;
        case ChangeKind::Changed:
            break;
    }
    return 0;
}

bool parse_epoch(const std::string& s, int64_t& out) {
    if (s.empty()) return false;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
    return ec == std::errc() && end == s.data() + s.size() && out >= 0;
}

}  // namespace layerfs::store
