#include "fs/overlay/options.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>

namespace layerfs {

std::vector<std::string> split_option_list(std::string_view s) {
    std::vector<std::string> out;
    std::string cur;
    bool quoted = false;
    for (size_t i = 0; i < s.size(); ++i) {
        char c = s[i];
        if (c == '\\' && i + 1 < s.size()) {
            // Only "\," belongs to this level; keep the rest for lowerdir's ':' rule.
            if (s[i + 1] == ',') {
                cur += ',';
            } else {
                cur += c;
                cur += s[i + 1];
            }
            ++i;
        } else if (c == '"') {
            quoted = !quoted;
        } else if (c == ',' && !quoted) {
            if (!cur.empty()) out.push_back(std::move(cur));
            cur.clear();
        } else {
            cur += c;
        }
    }
    if (!cur.empty()) out.push_back(std::move(cur));
    return out;
}

std::vector<std::string> split_lowerdirs(std::string_view s) {
    std::vector<std::string> out;
    std::string cur;
    for (size_t i = 0; i < s.size(); ++i) {
        char c = s[i];
        if (c == '\\' && i + 1 < s.size()) {
            cur += s[++i];
        } else if (c == ':') {
            if (!cur.empty()) out.push_back(std::move(cur));
            cur.clear();
        } else {
            cur += c;
        }
    }
    if (!cur.empty()) out.push_back(std::move(cur));
    return out;
}

namespace {

// Generic mount flags the kernel applies to the FUSE mount itself.
constexpr std::string_view kKernelFlags[] = {"ro",          "rw",
                                             "dev",         "nodev",
                                             "suid",        "nosuid",
                                             "exec",        "noexec",
                                             "atime",       "noatime",
                                             "diratime",    "nodiratime",
                                             "relatime",    "norelatime",
                                             "strictatime", "nostrictatime",
                                             "async",       "sync",
                                             "dirsync",     "allow_other",
                                             "allow_root",  "default_permissions"};

std::optional<uint32_t> parse_u32(std::string_view v) {
    uint32_t n{};
    if (v.empty()) return std::nullopt;
    auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
    if (ec != std::errc() || p != v.data() + v.size()) return std::nullopt;
    return n;
}

std::string bad_value(std::string_view name, std::string_view value, std::string_view want) {
    return "invalid value '" + std::string(value) + "' for option '" + std::string(name) +
           "' (expected " + std::string(want) + ")";
}

}  // namespace

std::string apply_option(MountConfig& cfg, std::string_view item) {
    auto eq = item.find('=');
    std::string_view name = item.substr(0, eq);
    bool has_value = eq != std::string_view::npos;
    std::string_view value = has_value ? item.substr(eq + 1) : std::string_view{};

    auto flag = [&](bool& field) -> std::string {
        if (has_value) return "option '" + std::string(name) + "' takes no value";
        field = true;
        return {};
    };
    auto need_value = [&]() -> std::string {
        if (!has_value || value.empty()) return "option '" + std::string(name) + "' needs a value";
        return {};
    };
    auto id = [&](std::optional<uint32_t>& field) -> std::string {
        if (auto e = need_value(); !e.empty()) return e;
        field = parse_u32(value);
        return field ? std::string{} : bad_value(name, value, "a numeric id");
    };
    auto boolean = [&](bool& field, bool invert) -> std::string {
        if (auto e = need_value(); !e.empty()) return e;
        if (value != "0" && value != "1") return bad_value(name, value, "0 or 1");
        field = (value == "1") != invert;
        return {};
    };

    if (std::find(std::begin(kKernelFlags), std::end(kKernelFlags), name) !=
        std::end(kKernelFlags)) {
        if (has_value) return "option '" + std::string(name) + "' takes no value";
        if (name == "ro") cfg.read_only = true;
        if (name == "rw") cfg.read_only = false;
        if (name == "noatime") cfg.noatime = true;
        if (name == "atime" || name == "relatime" || name == "strictatime") cfg.noatime = false;
        cfg.kernel_opts.emplace_back(name);
        return {};
    }
    if (name == "lowerdir") {
        if (auto e = need_value(); !e.empty()) return e;
        cfg.lowerdirs = split_lowerdirs(value);
        if (cfg.lowerdirs.empty()) return bad_value(name, value, "one or more directories");
        return {};
    }
    if (name == "upperdir" || name == "workdir") {
        if (auto e = need_value(); !e.empty()) return e;
        (name == "upperdir" ? cfg.upperdir : cfg.workdir) = std::string(value);
        return {};
    }
    if (name == "squash_to_root") return flag(cfg.squash_to_root);
    if (name == "squash_to_uid") return id(cfg.squash_uid);
    if (name == "squash_to_gid") return id(cfg.squash_gid);
    if (name == "uidmapping" || name == "gidmapping") {
        if (auto e = need_value(); !e.empty()) return e;
        std::string why;
        auto m = IdMapping::parse(value, &why);
        if (!m) return bad_value(name, value, why);
        (name == "uidmapping" ? cfg.uid_map : cfg.gid_map) = *m;
        return {};
    }
    if (name == "xattr_permissions") {
        if (auto e = need_value(); !e.empty()) return e;
        if (value != "0" && value != "1" && value != "2")
            return bad_value(name, value, "0, 1 or 2");
        cfg.xattr_permissions = value[0] - '0';
        return {};
    }
    if (name == "volatile") return flag(cfg.no_sync);
    if (name == "fsync") return boolean(cfg.no_sync, /*invert=*/true);
    if (name == "static_nlink") return flag(cfg.static_nlink);
    if (name == "noxattrs") {
        // fuse-overlayfs spells it both as a flag and as noxattrs=1.
        if (!has_value) return flag(cfg.noxattrs);
        return boolean(cfg.noxattrs, false);
    }
    if (name == "timeout") {
        if (auto e = need_value(); !e.empty()) return e;
        double t{};
        auto [p, ec] = std::from_chars(value.data(), value.data() + value.size(), t);
        if (ec != std::errc() || p != value.data() + value.size() || !(t >= 0) || !std::isfinite(t))
            return bad_value(name, value, "seconds, a number >= 0");
        cfg.timeout = t;
        return {};
    }
    if (name == "threaded") return boolean(cfg.threaded, false);
    if (name == "passthrough") return boolean(cfg.passthrough, false);
    if (name == "io_uring") return boolean(cfg.io_uring, false);
    if (name == "metacopy") {
        if (auto e = need_value(); !e.empty()) return e;
        if (value != "on" && value != "off") return bad_value(name, value, "on or off");
        cfg.metacopy = value == "on";
        return {};
    }
    if (name == "redirect_dir") {
        if (auto e = need_value(); !e.empty()) return e;
        if (value != "on" && value != "off" && value != "follow" && value != "nofollow")
            return bad_value(name, value, "on, off, follow or nofollow");
        cfg.redirect_dir = std::string(value);
        return {};
    }
    if (name == "xino") {
        // fuse-overlayfs accepts it; layerfs always keeps inode numbers unique
        // (the real ones on one device, else the layer in the high bits).
        if (auto e = need_value(); !e.empty()) return e;
        if (value != "on" && value != "off" && value != "auto")
            return bad_value(name, value, "on, off or auto");
        return {};
    }
    if (name == "context") {
        if (auto e = need_value(); !e.empty()) return e;
        cfg.context = std::string(value);
        return {};
    }
    return "unknown option '" + std::string(name) + "'";
}

std::string fuse_mount_options(const MountConfig& cfg, bool read_only, bool privileged,
                               bool user_allow_other) {
    auto given = [&](std::initializer_list<std::string_view> names) {
        for (auto& o : cfg.kernel_opts)
            if (std::find(names.begin(), names.end(), o) != names.end()) return true;
        return false;
    };
    std::string opts = "fsname=layerfs,subtype=layerfs,default_permissions";
    if ((privileged || user_allow_other) && !given({"allow_other", "allow_root"}))
        opts += ",allow_other";
    if (privileged && !given({"suid", "nosuid"})) opts += ",suid";
    for (auto& o : cfg.kernel_opts)
        if (o != "default_permissions") opts += "," + o;
    if (read_only && !given({"ro"})) opts += ",ro";
    return opts;
}

bool fuse_conf_allows_other(std::string_view text) {
    while (!text.empty()) {
        auto nl = text.find('\n');
        std::string_view line = text.substr(0, nl);
        text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
        line = line.substr(0, line.find('#'));
        auto first = line.find_first_not_of(" \t");
        if (first == std::string_view::npos) continue;
        auto last = line.find_last_not_of(" \t\r");
        if (line.substr(first, last - first + 1) == "user_allow_other") return true;
    }
    return false;
}

std::string parse_mount_args(const std::vector<std::string>& args, ParsedArgs& out) {
    std::vector<std::string> bare;
    auto apply_list = [&](std::string_view list) -> std::string {
        for (auto& item : split_option_list(list))
            if (auto e = apply_option(out.config, item); !e.empty()) return e;
        return {};
    };
    for (size_t i = 0; i < args.size(); ++i) {
        const std::string& a = args[i];
        if (a == "-o") {
            if (i + 1 >= args.size()) return "option '-o' needs an argument";
            if (auto e = apply_list(args[++i]); !e.empty()) return e;
        } else if (a.size() > 2 && a.rfind("-o", 0) == 0) {
            if (auto e = apply_list(std::string_view(a).substr(2)); !e.empty()) return e;
        } else if (a == "-f") {
            out.config.foreground = true;
        } else if (a == "-d" || a == "--debug") {
            out.config.debug = true;
            out.config.foreground = true;
        } else if (a == "-h" || a == "--help") {
            out.help = true;
        } else if (a == "-V" || a == "--version") {
            out.version = true;
        } else if (!a.empty() && a[0] == '-') {
            return "unknown argument '" + a + "'";
        } else {
            bare.push_back(a);
        }
    }
    if (out.help || out.version) return {};
    if (bare.empty()) return "missing mount point";
    if (bare.size() > 2) return "too many arguments: '" + bare[bare.size() - 3] + "'";
    out.config.mountpoint = bare.back();
    auto& c = out.config;
    if (c.lowerdirs.empty()) return "option 'lowerdir' is required";
    if (c.upperdir.empty() != c.workdir.empty())
        return c.upperdir.empty() ? "option 'workdir' needs 'upperdir'"
                                  : "option 'upperdir' needs 'workdir'";
    return {};
}

}  // namespace layerfs
