// The overlay's on-disk name and xattr codec (fs/overlay/whiteout.hpp), the
// override_stat xattr (fs/overlay/idmap.hpp) and how a tar member name becomes
// a layer path (snapshotter/tar_path.hpp). The input is one name, path or
// xattr value; every function that decodes such a string gets it, and what it
// decodes must encode back to the same thing.
#include <climits>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fs/overlay/idmap.hpp"
#include "fs/overlay/whiteout.hpp"
#include "snapshotter/tar_path.hpp"
#include "tests/fuzz/fuzz_check.hpp"

namespace {

namespace wh = layerfs::whiteout;
using layerfs::fuzz::shown;
namespace store = layerfs::store;

void name_codec(std::string_view name) {
    wh::NameClass c = wh::classify_name(name);
    if (c.kind == wh::NameKind::Whiteout) {
        FUZZ_CHECK(!c.target.empty(), shown(name));
        FUZZ_CHECK(wh::is_reserved_name(name), shown(name));
        FUZZ_CHECK(wh::whiteout_name(c.target) == name || name.size() > NAME_MAX, shown(name));
    }
    if (c.kind == wh::NameKind::OpaqueMarker) FUZZ_CHECK(wh::is_reserved_name(name));
    if (c.kind == wh::NameKind::Normal) FUZZ_CHECK(c.target == name, shown(name));

    // A name users may create (the overlay owns the reserved ones, so no layer
    // has them) whiteouts to a name that decodes back to it.
    std::string w = wh::whiteout_name(name);
    FUZZ_CHECK(w.empty() == (name.size() + wh::kPrefix.size() > NAME_MAX), shown(name));
    if (!w.empty()) FUZZ_CHECK(wh::is_reserved_name(w), shown(name));
    if (!w.empty() && !name.empty() && !wh::is_reserved_name(name)) {
        wh::NameClass back = wh::classify_name(w);
        FUZZ_CHECK(back.kind == wh::NameKind::Whiteout && back.target == name, shown(name));
    }

    // Overlay xattrs are private whatever the mount's settings; override_stat
    // only when the mount interprets it.
    bool priv = wh::is_private_xattr(name, false);
    FUZZ_CHECK(!priv || wh::is_private_xattr(name, true), shown(name));
    for (const char* x : wh::kOpaqueXattrs)
        if (name == x) FUZZ_CHECK(priv);
    for (const char* x : wh::kMetacopyXattrs)
        if (name == x) FUZZ_CHECK(priv);
    for (const char* x : wh::kRedirectXattrs)
        if (name == x) FUZZ_CHECK(priv);
    (void)wh::is_opaque_value(name);
}

bool clean_component(std::string_view part) {
    return !part.empty() && part != "." && part != ".." && part.size() <= NAME_MAX;
}

// A path clean_tar_path accepted: relative, no empty, "." or ".." component.
void check_clean(std::string_view p, std::string_view input) {
    FUZZ_CHECK(p.size() < PATH_MAX, shown(input));
    if (p.empty()) return;
    FUZZ_CHECK(p.front() != '/', shown(input));
    for (size_t i = 0; i <= p.size();) {
        size_t slash = std::min(p.find('/', i), p.size());
        FUZZ_CHECK(clean_component(p.substr(i, slash - i)), shown(input));
        i = slash + 1;
    }
}

void tar_path(std::string_view raw) {
    store::CleanPath clean = store::clean_tar_path(raw);
    if (!clean.error.empty()) {
        FUZZ_CHECK(clean.path.empty(), shown(raw));
        return;
    }
    check_clean(clean.path, raw);
    if (!clean.path.empty()) {
        store::CleanPath again = store::clean_tar_path(clean.path);
        FUZZ_CHECK(again.error.empty() && again.path == clean.path, shown(raw));
    }

    auto [parent, base] = store::split_parent(clean.path);
    std::string joined =
        parent.empty() ? std::string(base) : std::string(parent) + "/" + std::string(base);
    FUZZ_CHECK(joined == clean.path, shown(raw));

    store::Member m = store::classify_member(clean.path);
    if (!m.error.empty()) {
        FUZZ_CHECK(m.kind == store::MemberKind::Whiteout && m.path.empty(), shown(raw));
        return;
    }
    switch (m.kind) {
        case store::MemberKind::Plain:
            FUZZ_CHECK(m.path == clean.path, shown(raw));
            FUZZ_CHECK(!wh::is_reserved_name(base), shown(raw));
            break;
        case store::MemberKind::Opaque:
            FUZZ_CHECK(base == wh::kOpaqueMarker && m.path == parent, shown(raw));
            break;
        case store::MemberKind::AufsMeta:
            FUZZ_CHECK(m.path == clean.path, shown(raw));
            break;
        case store::MemberKind::Whiteout: {
            // The hidden path is itself a clean layer path, in the same
            // directory, and the daemon's codec reads the whiteout the
            // unpacker writes for it (".wh." + name) as hiding that name.
            check_clean(m.path, raw);
            auto [hparent, hbase] = store::split_parent(m.path);
            FUZZ_CHECK(hparent == parent, shown(raw));
            FUZZ_CHECK(wh::whiteout_name(hbase) == base, shown(raw));
            wh::NameClass c = wh::classify_name(base);
            FUZZ_CHECK(c.kind == wh::NameKind::Whiteout && c.target == hbase, shown(raw));
            break;
        }
    }
}

bool same(const layerfs::OverrideStat& a, const layerfs::OverrideStat& b) {
    return a.uid == b.uid && a.gid == b.gid && a.mode == b.mode && a.rdev == b.rdev &&
           a.has_type == b.has_type;
}

void override_stat(std::string_view value) {
    auto o = layerfs::parse_override_stat(value);
    if (!o) return;
    std::string text = layerfs::format_override_stat(*o);
    auto back = layerfs::parse_override_stat(text);
    FUZZ_CHECK(back && same(*back, *o), shown(value) + " -> " + shown(text));
    FUZZ_CHECK(layerfs::format_override_stat(*back) == text, shown(value));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view s(reinterpret_cast<const char*>(data), size);
    name_codec(s);
    tar_path(s);
    override_stat(s);
    return 0;
}
