#include "fs/overlay/idmap.hpp"

#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <charconv>

namespace layerfs {

namespace {

std::vector<std::string_view> split(std::string_view s, char sep) {
    std::vector<std::string_view> out;
    size_t start = 0;
    for (size_t i = 0; i <= s.size(); ++i) {
        if (i == s.size() || s[i] == sep) {
            out.push_back(s.substr(start, i - start));
            start = i + 1;
        }
    }
    return out;
}

template <class T>
std::optional<T> number(std::string_view s, int base = 10) {
    T v{};
    if (s.empty()) return std::nullopt;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v, base);
    if (ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
    return v;
}

}  // namespace

std::optional<IdMapping> IdMapping::parse(std::string_view s, std::string* why) {
    auto fail = [&](std::string reason) -> std::optional<IdMapping> {
        if (why) *why = std::move(reason);
        return std::nullopt;
    };
    // Empty fields are skipped, as fuse-overlayfs's strtok does: podman writes
    // a leading colon (":0:1:1001:1001:0:1").
    std::vector<std::string_view> parts;
    for (auto p : split(s, ':'))
        if (!p.empty()) parts.push_back(p);
    if (parts.empty() || parts.size() % 3 != 0)
        return fail("HOST:CONTAINER:COUNT triplets, separated by ':'");
    IdMapping m;
    for (size_t i = 0; i < parts.size(); i += 3) {
        auto h = number<uint32_t>(parts[i]), c = number<uint32_t>(parts[i + 1]),
             n = number<uint32_t>(parts[i + 2]);
        if (!h || !c || !n || *n == 0)
            return fail("numbers, and a count above 0, in triplet " + std::to_string(i / 3 + 1));
        if (uint64_t(*c) + *n > (1ull << 32) || uint64_t(*h) + *n > (1ull << 32))
            return fail("triplet " + std::to_string(i / 3 + 1) + " to end below 2^32");
        IdRange r{*c, *h, *n};
        for (auto& o : m.ranges_) {
            auto overlap = [](uint32_t a, uint32_t b, uint32_t n1, uint32_t n2) {
                return uint64_t(a) < uint64_t(b) + n2 && uint64_t(b) < uint64_t(a) + n1;
            };
            if (overlap(r.host, o.host, r.size, o.size) ||
                overlap(r.container, o.container, r.size, o.size))
                return fail("triplet " + std::to_string(i / 3 + 1) +
                            " not to overlap an earlier one");
        }
        m.ranges_.push_back(r);
    }
    return m;
}

uint32_t IdMapping::to_container(uint32_t host) const {
    if (ranges_.empty()) return host;
    for (auto& r : ranges_)
        if (host >= r.host && host - r.host < r.size) return r.container + (host - r.host);
    return kOverflowId;
}

std::optional<uint32_t> IdMapping::to_host(uint32_t container) const {
    if (ranges_.empty()) return container;
    for (auto& r : ranges_)
        if (container >= r.container && container - r.container < r.size)
            return r.host + (container - r.container);
    return std::nullopt;
}

std::optional<OverrideStat> parse_override_stat(std::string_view s) {
    auto parts = split(s, ':');
    if (parts.size() != 3 && parts.size() != 4) return std::nullopt;
    auto uid = number<uint32_t>(parts[0]), gid = number<uint32_t>(parts[1]);
    auto mode = number<uint32_t>(parts[2], 8);
    if (!uid || !gid || !mode || *mode > 07777) return std::nullopt;
    OverrideStat o{*uid, *gid, static_cast<mode_t>(*mode), 0, false};
    if (parts.size() == 4) {
        auto t = parts[3];
        mode_t type = 0;
        if (t == "file")
            type = S_IFREG;
        else if (t == "dir")
            type = S_IFDIR;
        else if (t == "symlink")
            type = S_IFLNK;
        else if (t == "pipe")
            type = S_IFIFO;
        else if (t == "socket")
            type = S_IFSOCK;
        else {
            auto dev = split(t, '-');
            if (dev.size() != 3 || (dev[0] != "block" && dev[0] != "char")) return std::nullopt;
            auto maj = number<uint32_t>(dev[1]), min = number<uint32_t>(dev[2]);
            if (!maj || !min) return std::nullopt;
            type = dev[0] == "block" ? S_IFBLK : S_IFCHR;
            o.rdev = makedev(*maj, *min);
        }
        o.mode |= type;
        o.has_type = true;
    }
    return o;
}

std::string format_override_stat(const OverrideStat& o) {
    char perm[16];
    auto [p, ec] = std::to_chars(perm, perm + sizeof perm, o.mode & 07777, 8);
    (void)ec;
    std::string out =
        std::to_string(o.uid) + ":" + std::to_string(o.gid) + ":0" + std::string(perm, p);
    if (!o.has_type) return out;
    switch (o.mode & S_IFMT) {
        case S_IFREG:
            return out + ":file";
        case S_IFDIR:
            return out + ":dir";
        case S_IFLNK:
            return out + ":symlink";
        case S_IFIFO:
            return out + ":pipe";
        case S_IFSOCK:
            return out + ":socket";
        case S_IFBLK:
        case S_IFCHR:
            return out + (S_ISBLK(o.mode) ? ":block-" : ":char-") + std::to_string(major(o.rdev)) +
                   "-" + std::to_string(minor(o.rdev));
    }
    return out;
}

}  // namespace layerfs
