#include "snapshotter/image_config.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <nlohmann/json.hpp>
#include <set>

#include "snapshotter/failure.hpp"

namespace layerfs::store {
namespace {

using json = nlohmann::json;

constexpr const char* kKnown =
    "CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, STOPSIGNAL, USER, VOLUME, WORKDIR";

std::string trim(std::string_view s) {
    size_t b = 0, e = s.size();
    while (b < e && std::isspace(static_cast<unsigned char>(s[b])))
        b++;
    while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1])))
        e--;
    return std::string(s.substr(b, e - b));
}

// CMD ["a", "b"] (exec form) or CMD a b (shell form, run by /bin/sh -c).
json command(const std::string& what, const std::string& arg) {
    if (!arg.empty() && arg.front() == '[') {
        json j = json::parse(arg, nullptr, false);
        if (!j.is_array()) fail(what + ": malformed JSON array");
        for (auto& v : j)
            if (!v.is_string()) fail(what + ": the JSON array must hold strings only");
        return j;
    }
    return json::array({"/bin/sh", "-c", arg});
}

// KEY=VALUE words; `legacy` allows the old "KEY VALUE" form (ENV only).
std::vector<std::pair<std::string, std::string>> pairs(const std::string& what,
                                                       const std::vector<std::string>& words,
                                                       const std::string& arg, bool legacy) {
    std::vector<std::pair<std::string, std::string>> out;
    if (legacy && !words.empty() && words[0].find('=') == std::string::npos) {
        size_t sp = arg.find_first_of(" \t");
        if (sp == std::string::npos) fail(what + ": expected KEY=VALUE or KEY VALUE");
        out.emplace_back(words[0], trim(arg.substr(sp)));
        return out;
    }
    for (auto& w : words) {
        auto eq = w.find('=');
        if (eq == std::string::npos || eq == 0)
            fail(what + ": expected KEY=VALUE, got '" + w + "'");
        out.emplace_back(w.substr(0, eq), w.substr(eq + 1));
    }
    return out;
}

// "80", "80/tcp", "53/udp", "8000-8010/tcp" as the ExposedPorts key.
std::string port_key(const std::string& what, const std::string& p) {
    auto slash = p.find('/');
    std::string ports = p.substr(0, slash);
    std::string proto = slash == std::string::npos ? "tcp" : p.substr(slash + 1);
    for (auto& c : proto)
        c = char(std::tolower(static_cast<unsigned char>(c)));
    if (proto != "tcp" && proto != "udp" && proto != "sctp")
        fail(what + ": unknown protocol '" + proto + "'");
    auto valid = [](std::string_view n) {
        unsigned v = 0;
        auto [end, ec] = std::from_chars(n.data(), n.data() + n.size(), v);
        return !n.empty() && ec == std::errc() && end == n.data() + n.size() && v >= 1 &&
               v <= 65535;
    };
    auto dash = ports.find('-');
    bool ok = dash == std::string::npos
                  ? valid(ports)
                  : valid(std::string_view(ports).substr(0, dash)) &&
                        valid(std::string_view(ports).substr(dash + 1)) &&
                        std::stoul(ports.substr(0, dash)) <= std::stoul(ports.substr(dash + 1));
    if (!ok) fail(what + ": invalid port '" + p + "'");
    return ports + "/" + proto;
}

// filepath.Join as docker uses it: joined, then "." and ".." resolved lexically.
std::string join_workdir(const std::string& base, const std::string& dir) {
    std::string joined = !dir.empty() && dir.front() == '/' ? dir : base + "/" + dir;
    std::vector<std::string> parts;
    for (size_t i = 0; i <= joined.size();) {
        size_t j = std::min(joined.find('/', i), joined.size());
        std::string p = joined.substr(i, j - i);
        if (p == "..") {
            if (!parts.empty()) parts.pop_back();
        } else if (!p.empty() && p != ".") {
            parts.push_back(p);
        }
        i = j + 1;
    }
    std::string out;
    for (auto& p : parts)
        out += "/" + p;
    return out.empty() ? "/" : out;
}

// What one change list has set so far (Dockerfile rules depend on it).
struct Applied {
    bool cmd = false;
};

void apply(json& cfg, const std::string& instruction, Applied& done) {
    std::string text = trim(instruction);
    size_t sp = text.find_first_of(" \t");
    std::string word = text.substr(0, sp);
    std::string arg = sp == std::string::npos ? "" : trim(text.substr(sp));
    for (auto& c : word)
        c = char(std::toupper(static_cast<unsigned char>(c)));
    const std::string what = "-c '" + instruction + "'";
    static const std::set<std::string> known = {
        "CMD", "ENTRYPOINT", "ENV", "EXPOSE", "LABEL", "STOPSIGNAL", "USER", "VOLUME", "WORKDIR"};
    if (word.empty()) fail(what + ": empty instruction");
    if (!known.count(word))
        fail(what + ": unknown instruction '" + word + "' (known: " + kKnown + ")");
    if (arg.empty()) fail(what + ": " + word + " needs an argument");
    auto words = [&](const std::string& a) {
        try {
            return split_words(a);
        } catch (const Failure& e) {
            fail(what + ": " + e.what());
        }
    };
    if (word == "CMD") {
        cfg["Cmd"] = command(what, arg);
        done.cmd = true;
    } else if (word == "ENTRYPOINT") {
        cfg["Entrypoint"] = command(what, arg);
        // As in a Dockerfile: a new entrypoint does not inherit the parent's CMD.
        if (!done.cmd) cfg["Cmd"] = nullptr;
    } else if (word == "ENV") {
        json& env = cfg["Env"];
        if (!env.is_array()) env = json::array();
        for (auto& [k, v] : pairs(what, words(arg), arg, true)) {
            // Captured by name: clang 14 cannot capture a structured binding.
            auto same = [&key = k](const json& e) {
                return e.is_string() && e.get<std::string>().rfind(key + "=", 0) == 0;
            };
            auto it = std::find_if(env.begin(), env.end(), same);
            if (it != env.end())
                *it = k + "=" + v;  // in place, as docker does
            else
                env.push_back(k + "=" + v);
        }
    } else if (word == "LABEL") {
        json& labels = cfg["Labels"];
        if (!labels.is_object()) labels = json::object();
        for (auto& [k, v] : pairs(what, words(arg), arg, false))
            labels[k] = v;
    } else if (word == "EXPOSE") {
        json& ports = cfg["ExposedPorts"];
        if (!ports.is_object()) ports = json::object();
        for (auto& p : words(arg))
            ports[port_key(what, p)] = json::object();
    } else if (word == "VOLUME") {
        json& vols = cfg["Volumes"];
        if (!vols.is_object()) vols = json::object();
        json list = arg.front() == '[' ? command(what, arg) : json(words(arg));
        for (auto& v : list)
            vols[v.get<std::string>()] = json::object();
    } else if (word == "WORKDIR") {
        // A WorkingDir that is not a string (null, as some tools write it) is
        // no base, as docker's decoder takes it for "".
        auto old = cfg.find("WorkingDir");
        std::string base = old != cfg.end() && old->is_string() ? old->get<std::string>() : "";
        cfg["WorkingDir"] = join_workdir(base, arg);
    } else {  // USER, STOPSIGNAL
        if (arg.find_first_of(" \t") != std::string::npos) fail(what + ": one word expected");
        cfg[word == "USER" ? "User" : "StopSignal"] = arg;
    }
}

}  // namespace

std::vector<std::string> split_words(std::string_view s) {
    std::vector<std::string> out;
    std::string cur;
    bool in_word = false;
    for (size_t i = 0; i < s.size(); i++) {
        char c = s[i];
        if (std::isspace(static_cast<unsigned char>(c))) {
            if (in_word) out.push_back(std::move(cur));
            cur.clear();
            in_word = false;
            continue;
        }
        in_word = true;
        if (c == '\\' && i + 1 < s.size()) {
            cur += s[++i];
        } else if (c == '\'' || c == '"') {
            size_t end = i + 1;
            for (; end < s.size() && s[end] != c; end++) {
                // In double quotes a backslash escapes only ", \ and $, as in sh.
                if (c == '"' && s[end] == '\\' && end + 1 < s.size() &&
                    (s[end + 1] == '"' || s[end + 1] == '\\' || s[end + 1] == '$'))
                    end++;
                cur += s[end];
            }
            if (end >= s.size()) fail("unterminated quote in '" + std::string(s) + "'");
            i = end;
        } else {
            cur += c;
        }
    }
    if (in_word) out.push_back(std::move(cur));
    return out;
}

void check_changes(const std::vector<std::string>& changes) {
    json cfg = json::object();
    Applied done;
    for (const auto& c : changes)
        apply(cfg, c, done);
}

std::string derive_config(std::string_view parent_json, const CommitSpec& spec) {
    json j = json::parse(parent_json, nullptr, false);
    if (!j.is_object()) fail("the parent image's config is not a JSON object");
    j["created"] = spec.created;
    // The child's author is the commit's, as docker's NewChildImage has it.
    if (spec.author.empty())
        j.erase("author");
    else
        j["author"] = spec.author;
    json& cfg = j["config"];
    if (!cfg.is_object()) cfg = json::object();
    Applied done;
    for (const auto& c : spec.changes)
        apply(cfg, c, done);
    json& rootfs = j["rootfs"];
    if (!rootfs.is_object()) rootfs = json::object();
    rootfs["type"] = "layers";
    if (!rootfs["diff_ids"].is_array()) rootfs["diff_ids"] = json::array();
    rootfs["diff_ids"].push_back("sha256:" + spec.diff_id);
    json h = {{"created", spec.created}, {"created_by", spec.created_by}};
    if (!spec.author.empty()) h["author"] = spec.author;
    if (!spec.message.empty()) h["comment"] = spec.message;
    if (!j["history"].is_array()) j["history"] = json::array();
    j["history"].push_back(h);
    return j.dump();
}

}  // namespace layerfs::store
