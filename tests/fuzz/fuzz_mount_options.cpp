// The mount command line (fs/overlay/options.hpp): the input is argv after the
// program name, its arguments separated by NUL bytes. Besides not crashing, the
// escapes must round-trip: a parsed command line, written back out with the
// escapes the parser defines, parses to the same configuration.
#include <charconv>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "fs/overlay/options.hpp"
#include "tests/fuzz/fuzz_check.hpp"

namespace {

using layerfs::MountConfig;
using layerfs::ParsedArgs;
using layerfs::fuzz::shown;
using Strings = std::vector<std::string>;

std::string joined(const Strings& v) {
    std::string out;
    for (const auto& s : v)
        out += shown(s) + " ";
    return out;
}

// An -o item's value: "\," is the only escape at that level, and a value never
// holds an unescaped '"' (the splitter eats it) or a lone '\' before a comma.
std::string option_escape(std::string_view v) {
    std::string out;
    for (char c : v) {
        if (c == ',') out += '\\';
        out += c;
    }
    return out;
}

// A lowerdir entry, escaped for split_lowerdirs and then for the -o level.
std::string lowerdir_escape(std::string_view d) {
    std::string out;
    for (char c : d) {
        if (c == '\\' || c == ':' || c == '"' || c == ',') out += '\\';
        out += c;
    }
    return out;
}

void check_splitters(std::string_view s) {
    Strings items = layerfs::split_option_list(s);
    std::string rendered;
    for (const auto& item : items) {
        FUZZ_CHECK(!item.empty(), shown(s));
        if (!rendered.empty()) rendered += ',';
        rendered += option_escape(item);
    }
    FUZZ_CHECK(layerfs::split_option_list(rendered) == items,
               shown(s) + " -> " + joined(items) + "-> " + shown(rendered));

    Strings dirs = layerfs::split_lowerdirs(s);
    std::string lowers;
    for (const auto& d : dirs) {
        FUZZ_CHECK(!d.empty(), shown(s));
        if (!lowers.empty()) lowers += ':';
        for (char c : d) {
            if (c == '\\' || c == ':') lowers += '\\';
            lowers += c;
        }
    }
    FUZZ_CHECK(layerfs::split_lowerdirs(lowers) == dirs,
               shown(s) + " -> " + joined(dirs) + "-> " + shown(lowers));
}

std::string number(double t) {
    char buf[64];
    auto [p, ec] = std::to_chars(buf, buf + sizeof buf, t);
    return std::string(buf, p);
}

// The command line that gives `c` (uid/gid mappings aside: IdMapping does not
// show its ranges), one -o per item.
Strings render(const MountConfig& c) {
    Strings items;
    std::string lower = "lowerdir=";
    for (size_t i = 0; i < c.lowerdirs.size(); ++i)
        lower += (i ? ":" : "") + lowerdir_escape(c.lowerdirs[i]);
    items.push_back(lower);
    if (!c.upperdir.empty()) items.push_back("upperdir=" + option_escape(c.upperdir));
    if (!c.workdir.empty()) items.push_back("workdir=" + option_escape(c.workdir));
    for (const auto& k : c.kernel_opts)
        items.push_back(k);
    if (c.squash_to_root) items.push_back("squash_to_root");
    if (c.squash_uid) items.push_back("squash_to_uid=" + std::to_string(*c.squash_uid));
    if (c.squash_gid) items.push_back("squash_to_gid=" + std::to_string(*c.squash_gid));
    items.push_back("xattr_permissions=" + std::to_string(c.xattr_permissions));
    items.push_back(c.no_sync ? "fsync=0" : "fsync=1");
    if (c.static_nlink) items.push_back("static_nlink");
    if (c.noxattrs) items.push_back("noxattrs");
    items.push_back("timeout=" + number(c.timeout));
    items.push_back(c.threaded ? "threaded=1" : "threaded=0");
    items.push_back(c.passthrough ? "passthrough=1" : "passthrough=0");
    items.push_back(c.io_uring ? "io_uring=1" : "io_uring=0");
    items.push_back(c.metacopy ? "metacopy=on" : "metacopy=off");
    if (!c.redirect_dir.empty()) items.push_back("redirect_dir=" + option_escape(c.redirect_dir));
    if (!c.context.empty()) items.push_back("context=" + option_escape(c.context));

    Strings args;
    for (auto& item : items) {
        args.push_back("-o");
        args.push_back(std::move(item));
    }
    if (c.foreground) args.push_back("-f");
    if (c.debug) args.push_back("-d");
    args.push_back(c.mountpoint);
    return args;
}

bool same(const MountConfig& a, const MountConfig& b) {
    return a.lowerdirs == b.lowerdirs && a.upperdir == b.upperdir && a.workdir == b.workdir &&
           a.mountpoint == b.mountpoint && a.foreground == b.foreground && a.debug == b.debug &&
           a.read_only == b.read_only && a.kernel_opts == b.kernel_opts && a.noatime == b.noatime &&
           a.squash_to_root == b.squash_to_root && a.squash_uid == b.squash_uid &&
           a.squash_gid == b.squash_gid && a.xattr_permissions == b.xattr_permissions &&
           a.no_sync == b.no_sync && a.static_nlink == b.static_nlink && a.noxattrs == b.noxattrs &&
           a.timeout == b.timeout && a.threaded == b.threaded && a.passthrough == b.passthrough &&
           a.io_uring == b.io_uring && a.metacopy == b.metacopy &&
           a.redirect_dir == b.redirect_dir && a.context == b.context;
}

void check_config(const MountConfig& c, const Strings& args) {
    FUZZ_CHECK(!c.lowerdirs.empty(), joined(args));
    for (const auto& d : c.lowerdirs)
        FUZZ_CHECK(!d.empty(), joined(args));
    FUZZ_CHECK(c.upperdir.empty() == c.workdir.empty(), joined(args));
    FUZZ_CHECK(c.xattr_permissions >= 0 && c.xattr_permissions <= 2, joined(args));
    FUZZ_CHECK(c.timeout >= 0, joined(args));
    FUZZ_CHECK(!c.debug || c.foreground, joined(args));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view s(reinterpret_cast<const char*>(data), size);
    check_splitters(s);

    Strings args;
    for (size_t i = 0; i <= s.size();) {
        size_t nul = std::min(s.find('\0', i), s.size());
        args.emplace_back(s.substr(i, nul - i));
        i = nul + 1;
    }
    // Each argument alone as an -o item, as apply_option sees them.
    MountConfig scratch;
    for (const auto& a : args)
        (void)layerfs::apply_option(scratch, a);

    ParsedArgs p;
    std::string error = layerfs::parse_mount_args(args, p);
    if (!error.empty() || p.help || p.version) return 0;
    check_config(p.config, args);

    Strings again = render(p.config);
    ParsedArgs q;
    std::string error2 = layerfs::parse_mount_args(again, q);
    FUZZ_CHECK(error2.empty(), joined(args) + "-> " + joined(again) + ": " + error2);
    FUZZ_CHECK(same(p.config, q.config), joined(args) + "-> " + joined(again));
    return 0;
}
