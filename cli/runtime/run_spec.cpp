#include "cli/runtime/run_spec.hpp"

#include <signal.h>
#include <string.h>

#include <cctype>
#include <charconv>

#include "snapshotter/failure.hpp"

namespace layerfs::runtime {

using json = nlohmann::json;
using store::fail;

namespace {

constexpr const char* kDefaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

std::vector<std::string> strings_of(const json& config, const char* key) {
    std::vector<std::string> out;
    auto it = config.find(key);
    if (it == config.end() || it->is_null()) return out;
    if (!it->is_array()) fail(std::string("image config: ") + key + " is not a list");
    for (const auto& v : *it) {
        if (!v.is_string()) fail(std::string("image config: ") + key + " holds a non-string");
        out.push_back(v.get<std::string>());
    }
    return out;
}

std::string string_of(const json& config, const char* key) {
    auto it = config.find(key);
    return it != config.end() && it->is_string() ? it->get<std::string>() : "";
}

std::optional<uint32_t> number(std::string_view s) {
    uint32_t v;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (s.empty() || ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
    return v;
}

// The lines of an /etc/passwd or /etc/group file, split on ':'.
std::vector<std::vector<std::string_view>> records(std::string_view text) {
    std::vector<std::vector<std::string_view>> out;
    while (!text.empty()) {
        size_t nl = text.find('\n');
        std::string_view line = text.substr(0, nl);
        text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
        if (line.empty() || line[0] == '#') continue;
        std::vector<std::string_view> fields;
        while (true) {
            size_t c = line.find(':');
            fields.push_back(line.substr(0, c));
            if (c == std::string_view::npos) break;
            line = line.substr(c + 1);
        }
        out.push_back(std::move(fields));
    }
    return out;
}

bool has_member(std::string_view list, std::string_view name) {
    while (!list.empty()) {
        size_t c = list.find(',');
        if (list.substr(0, c) == name) return true;
        if (c == std::string_view::npos) break;
        list = list.substr(c + 1);
    }
    return false;
}

}  // namespace

void set_env(std::vector<std::string>& env, std::string_view kv) {
    std::string_view key = kv.substr(0, kv.find('='));
    for (auto& e : env)
        if (std::string_view(e).substr(0, e.find('=')) == key) {
            e = kv;
            return;
        }
    env.emplace_back(kv);
}

void unset_env(std::vector<std::string>& env, std::string_view key) {
    std::erase_if(env, [&](const std::string& e) {
        return std::string_view(e).substr(0, e.find('=')) == key;
    });
}

std::optional<std::string> get_env(const std::vector<std::string>& env, std::string_view key) {
    for (const auto& e : env) {
        size_t eq = e.find('=');
        if (eq != std::string::npos && std::string_view(e).substr(0, eq) == key)
            return e.substr(eq + 1);
    }
    return std::nullopt;
}

BindMount parse_volume(std::string_view v) {
    BindMount m;
    std::vector<std::string_view> parts;
    for (std::string_view rest = v;;) {
        size_t c = rest.find(':');
        parts.push_back(rest.substr(0, c));
        if (c == std::string_view::npos) break;
        rest = rest.substr(c + 1);
    }
    if (parts.size() < 2 || parts.size() > 3)
        fail("-v '" + std::string(v) + "': use HOSTDIR:CTRDIR[:ro]");
    if (parts.size() == 3) {
        if (parts[2] == "ro")
            m.read_only = true;
        else if (parts[2] != "rw")
            fail("-v '" + std::string(v) + "': unknown mode '" + std::string(parts[2]) +
                 "' (ro or rw)");
    }
    m.source = parts[0];
    m.target = parts[1];
    if (m.source.empty() || m.source[0] != '/')
        fail("-v '" + std::string(v) +
             "': the host path must be absolute (named volumes are not "
             "supported)");
    if (m.target.empty() || m.target[0] != '/')
        fail("-v '" + std::string(v) + "': the container path must be absolute");
    return m;
}

RunSpec make_spec(std::string_view image_config_json, const RunFlags& f,
                  const std::string& default_hostname, const EnvLookup& host_env) {
    json doc = json::parse(image_config_json, nullptr, false);
    if (!doc.is_object()) fail("image config is not a JSON object");
    json config = doc.value("config", json::object());
    if (!config.is_object()) config = json::object();

    RunSpec s;
    // Docker's rule: --entrypoint replaces the image's entrypoint and drops its
    // Cmd; CMD arguments replace the image's Cmd.
    std::vector<std::string> entrypoint = strings_of(config, "Entrypoint");
    std::vector<std::string> cmd = strings_of(config, "Cmd");
    if (f.entrypoint) {
        entrypoint.clear();
        if (!f.entrypoint->empty()) entrypoint.push_back(*f.entrypoint);
        cmd.clear();
    }
    if (!f.command.empty()) cmd = f.command;
    s.args = entrypoint;
    s.args.insert(s.args.end(), cmd.begin(), cmd.end());
    if (s.args.empty()) fail("no command given, and the image has no Cmd or Entrypoint");

    s.hostname = f.hostname.empty() ? default_hostname : f.hostname;  // empty: the id's
    for (const auto& e : strings_of(config, "Env"))
        set_env(s.env, e);
    if (!get_env(s.env, "PATH")) set_env(s.env, std::string("PATH=") + kDefaultPath);
    if (f.tty && !get_env(s.env, "TERM")) set_env(s.env, "TERM=xterm");
    for (const auto& e : f.env) {
        if (e.empty() || e[0] == '=') fail("-e '" + e + "': use NAME=VALUE or NAME");
        if (e.find('=') != std::string::npos) {
            set_env(s.env, e);
        } else if (const char* v = host_env(e.c_str())) {
            set_env(s.env, e + "=" + v);  // docker's -e NAME: the caller's value...
        } else {
            unset_env(s.env, e);  // ...and none when the caller has none
        }
    }
    // The runtime's HOSTNAME comes first in docker: the image's or -e's wins.
    if (!s.hostname.empty() && !get_env(s.env, "HOSTNAME"))
        set_env(s.env, "HOSTNAME=" + s.hostname);

    s.workdir = !f.workdir.empty() ? f.workdir : string_of(config, "WorkingDir");
    if (s.workdir.empty()) s.workdir = "/";
    if (s.workdir[0] != '/')
        fail("working directory '" + s.workdir + "' is not absolute" +
             (f.workdir.empty() ? " (the image's WorkingDir)" : ""));
    s.user = !f.user.empty() ? f.user : string_of(config, "User");
    if (f.network != "host" && f.network != "none")
        fail("--network '" + f.network + "': use host or none");
    s.network = f.network;
    s.tty = f.tty;
    s.interactive = f.interactive;
    s.auto_remove = f.remove;
    for (const auto& v : f.volumes)
        s.mounts.push_back(parse_volume(v));
    std::string stop = string_of(config, "StopSignal");
    if (!stop.empty() && parse_signal(stop)) s.stop_signal = stop;
    return s;
}

Identity resolve_user(std::string_view user, std::string_view passwd, std::string_view group) {
    Identity id;
    std::string_view u = user.substr(0, user.find(':'));
    std::optional<std::string_view> g;
    if (user.find(':') != std::string_view::npos) g = user.substr(user.find(':') + 1);

    std::string name;
    bool found = false;
    for (const auto& r : records(passwd)) {
        if (r.size() < 6) continue;
        auto uid = number(r[2]);
        auto gid = number(r[3]);
        if (!uid || !gid) continue;
        if (u.empty() ? *uid == 0 : (r[0] == u || (number(u) && *number(u) == *uid))) {
            id.uid = *uid;
            id.gid = *gid;
            id.home = r[5].empty() ? "/" : std::string(r[5]);
            name = r[0];
            found = true;
            break;
        }
    }
    if (!found) {
        auto n = number(u);
        if (!u.empty() && !n)
            fail("user '" + std::string(u) + "' is not in the container's /etc/passwd");
        id.uid = n.value_or(0);
        id.gid = 0;
    }
    auto groups = records(group);
    if (g) {
        auto n = number(*g);
        bool named = false;
        for (const auto& r : groups)
            if (r.size() >= 3 && r[0] == *g && number(r[2])) {
                id.gid = *number(r[2]);
                named = true;
                break;
            }
        if (!named && !n)
            fail("group '" + std::string(*g) + "' is not in the container's /etc/group");
        if (!named) id.gid = *n;
    }
    // Supplementary groups: those that list the user by name, as initgroups
    // does; only when no group was given (runc's rule, which docker follows).
    if (!name.empty() && !g)
        for (const auto& r : groups)
            if (r.size() >= 4 && has_member(r[3], name))
                if (auto n = number(r[2]); n && *n != id.gid) id.groups.push_back(*n);
    return id;
}

int parse_signal(std::string_view s) {
    if (s.empty()) return 0;
    if (auto n = number(s)) return *n > 0 && *n < unsigned(NSIG) ? int(*n) : 0;
    std::string up;
    for (char c : s)
        up += char(std::toupper(static_cast<unsigned char>(c)));
    if (up.starts_with("SIG")) up = up.substr(3);
    for (int sig = 1; sig < NSIG; sig++)
        if (const char* abbrev = ::sigabbrev_np(sig); abbrev && up == abbrev) return sig;
    return 0;
}

json to_json(const RunSpec& s) {
    json mounts = json::array();
    for (const auto& m : s.mounts)
        mounts.push_back({{"Source", m.source}, {"Destination", m.target}, {"RW", !m.read_only}});
    return {{"Args", s.args},
            {"Env", s.env},
            {"WorkingDir", s.workdir},
            {"User", s.user},
            {"Hostname", s.hostname},
            {"NetworkMode", s.network},
            {"Tty", s.tty},
            {"OpenStdin", s.interactive},
            {"AutoRemove", s.auto_remove},
            {"Mounts", mounts},
            {"StopSignal", s.stop_signal}};
}

RunSpec spec_from_json(const json& j) {
    RunSpec s;
    if (!j.is_object()) fail("container config is not a JSON object");
    s.args = j.value("Args", std::vector<std::string>{});
    s.env = j.value("Env", std::vector<std::string>{});
    s.workdir = j.value("WorkingDir", "/");
    s.user = j.value("User", "");
    s.hostname = j.value("Hostname", "");
    s.network = j.value("NetworkMode", "host");
    s.tty = j.value("Tty", false);
    s.interactive = j.value("OpenStdin", false);
    s.auto_remove = j.value("AutoRemove", false);
    s.stop_signal = j.value("StopSignal", "SIGTERM");
    if (auto m = j.find("Mounts"); m != j.end() && m->is_array())
        for (const auto& b : *m)
            s.mounts.push_back(
                {b.value("Source", ""), b.value("Destination", ""), !b.value("RW", true)});
    if (s.args.empty()) fail("container config has no command");
    return s;
}

}  // namespace layerfs::runtime
