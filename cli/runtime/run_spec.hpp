#pragma once
// What a container runs, from its image's config and the `run` flags, with
// docker's rules. Pure: unit-tested on JSON text. Kept in the container's record
// so `start` runs it again.
#include <sys/types.h>

#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace layerfs::runtime {

struct BindMount {
    std::string source;  // absolute host path
    std::string target;  // absolute path in the container
    bool read_only = false;
};

// The `run` command line.
struct RunFlags {
    bool detach = false, remove = false, interactive = false, tty = false;
    std::string name, workdir, user, hostname, network = "host";
    std::optional<std::string> entrypoint;
    std::vector<std::string> env, volumes, command;
};

struct RunSpec {
    std::vector<std::string> args;  // argv; args[0] is looked up in the container's PATH
    std::vector<std::string> env;   // K=V
    std::string workdir = "/";
    std::string user;  // "" (root), "uid[:gid]" or "name[:group]", resolved in the container
    std::string hostname;
    std::string network = "host";  // host | none
    bool tty = false, interactive = false, auto_remove = false;
    std::vector<BindMount> mounts;
    std::string stop_signal = "SIGTERM";
};

// `host_env` answers -e NAME (no value): the caller's variable, or null.
using EnvLookup = std::function<const char*(const char*)>;

// Throws store::Failure naming the flag or the image field that is wrong.
RunSpec make_spec(std::string_view image_config_json, const RunFlags& flags,
                  const std::string& default_hostname, const EnvLookup& host_env);

// HOSTDIR:CTRDIR[:ro|rw]; both absolute. Throws store::Failure.
BindMount parse_volume(std::string_view v);

// Sets K=V in env, replacing an earlier K.
void set_env(std::vector<std::string>& env, std::string_view kv);
void unset_env(std::vector<std::string>& env, std::string_view key);
// The value of K in env, or nullopt.
std::optional<std::string> get_env(const std::vector<std::string>& env, std::string_view key);

struct Identity {
    uid_t uid = 0;
    gid_t gid = 0;
    std::vector<gid_t> groups;  // supplementary, from /etc/group
    std::string home = "/";
};
// Resolves "user[:group]" (names or numbers) against the container's
// /etc/passwd and /etc/group text, as docker does: a number needs no entry; a
// name must have one; an empty user is root. Throws store::Failure.
Identity resolve_user(std::string_view user, std::string_view passwd, std::string_view group);

// A signal by name ("SIGTERM", "TERM", "term") or number; 0 when unknown.
int parse_signal(std::string_view s);

nlohmann::json to_json(const RunSpec& s);
RunSpec spec_from_json(const nlohmann::json& j);

}  // namespace layerfs::runtime
