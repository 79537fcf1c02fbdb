// What a container runs, from its image's config and the `run` flags, with
// docker's rules: cli/runtime/run_spec.cpp.
#include <signal.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "cli/runtime/run_spec.hpp"
#include "snapshotter/failure.hpp"
#include "tests/unit/failure_of.hpp"

using json = nlohmann::json;
using layerfs::runtime::BindMount;
using layerfs::runtime::EnvLookup;
using layerfs::runtime::get_env;
using layerfs::runtime::Identity;
using layerfs::runtime::make_spec;
using layerfs::runtime::parse_signal;
using layerfs::runtime::parse_volume;
using layerfs::runtime::resolve_user;
using layerfs::runtime::RunFlags;
using layerfs::runtime::RunSpec;
using layerfs::runtime::set_env;
using layerfs::runtime::spec_from_json;
using layerfs::runtime::to_json;
using layerfs::test::failure_of;
using Strings = std::vector<std::string>;

namespace {

const std::string kDefaultPath =
    "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

// An image config document as the store keeps it: the run settings sit under
// "config", next to fields make_spec must ignore.
std::string image(const json& config) {
    return json{{"architecture", "amd64"},
                {"os", "linux"},
                {"config", config},
                {"rootfs", {{"type", "layers"}, {"diff_ids", json::array()}}}}
        .dump();
}

// The caller's environment, for -e NAME; tests never see the real one.
EnvLookup host(const std::map<std::string, std::string>& vars) {
    return [vars](const char* name) -> const char* {
        auto it = vars.find(name);
        return it == vars.end() ? nullptr : it->second.c_str();
    };
}

RunSpec spec(const json& config, const RunFlags& f = {}, const std::string& default_hostname = "",
             const EnvLookup& env = host({})) {
    return make_spec(image(config), f, default_hostname, env);
}

RunFlags with_command(Strings cmd) {
    RunFlags f;
    f.command = std::move(cmd);
    return f;
}

const json kShell = {{"Cmd", {"sh"}}};

}  // namespace

// --- the command ----------------------------------------------------------

TEST_CASE("make_spec: the image's Entrypoint runs with its Cmd as arguments", "[runtime]") {
    json config = {{"Entrypoint", {"/entry.sh", "--flag"}}, {"Cmd", {"serve", "-v"}}};
    CHECK(spec(config).args == Strings{"/entry.sh", "--flag", "serve", "-v"});
    CHECK(spec({{"Cmd", {"sh", "-c", "echo hi"}}}).args == Strings{"sh", "-c", "echo hi"});
    CHECK(spec({{"Entrypoint", {"/bin/app"}}}).args == Strings{"/bin/app"});
}

TEST_CASE("make_spec: CMD arguments replace the image's Cmd and keep its Entrypoint", "[runtime]") {
    json config = {{"Entrypoint", {"/entry.sh"}}, {"Cmd", {"serve"}}};
    CHECK(spec(config, with_command({"migrate", "--all"})).args ==
          Strings{"/entry.sh", "migrate", "--all"});
    CHECK(spec(kShell, with_command({"ls", "-l"})).args == Strings{"ls", "-l"});
}

TEST_CASE("make_spec: --entrypoint replaces the Entrypoint and drops the image's Cmd",
          "[runtime]") {
    json config = {{"Entrypoint", {"/entry.sh"}}, {"Cmd", {"serve"}}};
    RunFlags f;
    f.entrypoint = "/bin/other";
    SECTION("without CMD, the image's Cmd is not passed to the new entrypoint") {
        CHECK(spec(config, f).args == Strings{"/bin/other"});
    }
    SECTION("CMD arguments follow it") {
        f.command = {"a", "b"};
        CHECK(spec(config, f).args == Strings{"/bin/other", "a", "b"});
    }
    SECTION("also over an image that has only a Cmd") {
        CHECK(spec(kShell, f).args == Strings{"/bin/other"});
    }
}

TEST_CASE("make_spec: --entrypoint '' clears the Entrypoint", "[runtime]") {
    json config = {{"Entrypoint", {"/entry.sh"}}, {"Cmd", {"serve"}}};
    RunFlags f;
    f.entrypoint = "";
    SECTION("CMD then runs alone") {
        f.command = {"ls", "-l"};
        CHECK(spec(config, f).args == Strings{"ls", "-l"});
    }
    SECTION("without CMD nothing is left to run, as docker says") {
        CHECK_THAT(failure_of([&] { spec(config, f); }), Catch::Contains("no command given"));
    }
}

TEST_CASE("make_spec: no command at all is refused", "[runtime]") {
    auto message = [](const json& config) { return failure_of([&] { spec(config); }); };
    CHECK_THAT(message(json::object()), Catch::Contains("no command given"));
    CHECK_THAT(message({{"Cmd", nullptr}, {"Entrypoint", nullptr}}),
               Catch::Contains("no command given"));
    CHECK_THAT(message({{"Cmd", json::array()}}), Catch::Contains("no command given"));
    // An image without a "config" object at all.
    CHECK_THAT(failure_of([] { make_spec(R"({"os":"linux"})", {}, "", host({})); }),
               Catch::Contains("no command given"));
}

TEST_CASE("make_spec: a malformed image config is refused", "[runtime]") {
    auto message = [](const std::string& text) {
        return failure_of([&] { make_spec(text, with_command({"sh"}), "", host({})); });
    };
    CHECK_THAT(message("{"), Catch::Contains("not a JSON object"));
    CHECK_THAT(message("not json"), Catch::Contains("not a JSON object"));
    CHECK_THAT(message("[]"), Catch::Contains("not a JSON object"));
    CHECK_THAT(message(""), Catch::Contains("not a JSON object"));
    CHECK_THAT(message(image({{"Env", "PATH=/bin"}})), Catch::Contains("Env is not a list"));
    CHECK_THAT(message(image({{"Env", {"A=1", 2}}})), Catch::Contains("Env holds a non-string"));
    CHECK_THAT(message(image({{"Cmd", "sh"}})), Catch::Contains("Cmd is not a list"));
    CHECK_THAT(message(image(json::parse(R"({"Entrypoint": [{"x": 1}]})"))),
               Catch::Contains("Entrypoint holds a non-string"));
}

// --- the environment ------------------------------------------------------

TEST_CASE("make_spec: PATH is docker's default when the image has none", "[runtime]") {
    CHECK(spec(kShell).env == Strings{kDefaultPath});
    RunSpec s = spec({{"Cmd", {"sh"}}, {"Env", {"LANG=C.UTF-8"}}});
    CHECK(s.env == Strings{"LANG=C.UTF-8", kDefaultPath});
}

TEST_CASE("make_spec: the image's Env is kept, its PATH included", "[runtime]") {
    RunSpec s = spec({{"Cmd", {"sh"}}, {"Env", {"PATH=/opt/bin:/bin", "LANG=C.UTF-8", "EMPTY="}}});
    CHECK(s.env == Strings{"PATH=/opt/bin:/bin", "LANG=C.UTF-8", "EMPTY="});
}

TEST_CASE("make_spec: -e NAME=VALUE overrides the image's value in place", "[runtime]") {
    json config = {{"Cmd", {"sh"}}, {"Env", {"A=1", "PATH=/bin", "B=2"}}};
    RunFlags f;
    f.env = {"A=one", "NEW=x=y", "B="};
    CHECK(spec(config, f).env == Strings{"A=one", "PATH=/bin", "B=", "NEW=x=y"});
    SECTION("the last -e of a name wins") {
        f.env = {"A=first", "A=second"};
        CHECK(get_env(spec(config, f).env, "A") == "second");
    }
    SECTION("-e PATH replaces the default too") {
        f.env = {"PATH=/mine"};
        CHECK(get_env(spec(kShell, f).env, "PATH") == "/mine");
    }
}

TEST_CASE("make_spec: -e NAME takes the caller's value, and nothing when it is unset",
          "[runtime]") {
    RunFlags f;
    f.env = {"HOME_DIR", "UNSET", "BLANK"};
    RunSpec s = spec(kShell, f, "", host({{"HOME_DIR", "/home/me"}, {"BLANK", ""}}));
    CHECK(s.env == Strings{kDefaultPath, "HOME_DIR=/home/me", "BLANK="});
    CHECK_FALSE(get_env(s.env, "UNSET"));
}

TEST_CASE("make_spec: -e without a name is refused", "[runtime]") {
    for (std::string bad : {"", "=value", "="}) {
        INFO("-e '" << bad << "'");
        RunFlags f;
        f.env = {bad};
        CHECK_THAT(failure_of([&] { spec(kShell, f); }),
                   Catch::Contains("-e '" + bad + "'") && Catch::Contains("NAME=VALUE"));
    }
}

TEST_CASE("make_spec: TERM=xterm with a tty, unless TERM is set", "[runtime]") {
    RunFlags f;
    f.tty = true;
    CHECK(get_env(spec(kShell, f).env, "TERM") == "xterm");
    CHECK(spec(kShell, f).tty);
    SECTION("the image's TERM stays") {
        CHECK(get_env(spec({{"Cmd", {"sh"}}, {"Env", {"TERM=vt100"}}}, f).env, "TERM") == "vt100");
    }
    SECTION("-e TERM wins") {
        f.env = {"TERM=screen"};
        RunSpec s = spec(kShell, f);
        CHECK(get_env(s.env, "TERM") == "screen");
        CHECK(std::count(s.env.begin(), s.env.end(), "TERM=screen") == 1);
    }
    SECTION("no tty, no TERM") {
        f.tty = false;
        CHECK_FALSE(get_env(spec(kShell, f).env, "TERM"));
    }
}

TEST_CASE("make_spec: HOSTNAME only when a hostname is known", "[runtime]") {
    SECTION("--hostname") {
        RunFlags f;
        f.hostname = "web";
        RunSpec s = spec(kShell, f, "0123456789ab");
        CHECK(s.hostname == "web");
        CHECK(get_env(s.env, "HOSTNAME") == "web");
    }
    SECTION("the caller's default") {
        RunSpec s = spec(kShell, {}, "0123456789ab");
        CHECK(s.hostname == "0123456789ab");
        CHECK(get_env(s.env, "HOSTNAME") == "0123456789ab");
    }
    SECTION("none yet: the container's id fills it in later") {
        RunSpec s = spec(kShell);
        CHECK(s.hostname.empty());
        CHECK_FALSE(get_env(s.env, "HOSTNAME"));
    }
    SECTION("-e HOSTNAME wins over the hostname") {
        RunFlags f;
        f.hostname = "web";
        f.env = {"HOSTNAME=other"};
        RunSpec s = spec(kShell, f);
        CHECK(s.hostname == "web");
        CHECK(get_env(s.env, "HOSTNAME") == "other");
    }
}

// --- the other settings ---------------------------------------------------

TEST_CASE("make_spec: the working directory", "[runtime]") {
    CHECK(spec(kShell).workdir == "/");
    CHECK(spec({{"Cmd", {"sh"}}, {"WorkingDir", ""}}).workdir == "/");
    json config = {{"Cmd", {"sh"}}, {"WorkingDir", "/app"}};
    CHECK(spec(config).workdir == "/app");
    RunFlags f;
    f.workdir = "/srv/data";
    CHECK(spec(config, f).workdir == "/srv/data");
    SECTION("a relative -w is refused") {
        f.workdir = "data";
        CHECK_THAT(failure_of([&] { spec(config, f); }),
                   Catch::Contains("'data'") && Catch::Contains("absolute"));
    }
}

TEST_CASE("make_spec: the user", "[runtime]") {
    CHECK(spec(kShell).user.empty());
    json config = {{"Cmd", {"sh"}}, {"User", "nobody"}};
    CHECK(spec(config).user == "nobody");
    RunFlags f;
    f.user = "1000:1000";
    CHECK(spec(config, f).user == "1000:1000");
}

TEST_CASE("make_spec: --network host or none", "[runtime]") {
    CHECK(spec(kShell).network == "host");
    RunFlags f;
    f.network = "none";
    CHECK(spec(kShell, f).network == "none");
    for (std::string bad : {"bridge", "container:abc", ""}) {
        INFO("--network '" << bad << "'");
        f.network = bad;
        CHECK_THAT(failure_of([&] { spec(kShell, f); }),
                   Catch::Contains("--network '" + bad + "'"));
    }
}

TEST_CASE("make_spec: the image's StopSignal when it names a signal", "[runtime]") {
    CHECK(spec(kShell).stop_signal == "SIGTERM");
    CHECK(spec({{"Cmd", {"sh"}}, {"StopSignal", "SIGQUIT"}}).stop_signal == "SIGQUIT");
    CHECK(spec({{"Cmd", {"sh"}}, {"StopSignal", "9"}}).stop_signal == "9");
    CHECK(spec({{"Cmd", {"sh"}}, {"StopSignal", "SIGBOGUS"}}).stop_signal == "SIGTERM");
    CHECK(spec({{"Cmd", {"sh"}}, {"StopSignal", ""}}).stop_signal == "SIGTERM");
}

TEST_CASE("make_spec: flags carried over, volumes parsed", "[runtime]") {
    RunFlags f;
    f.interactive = true;
    f.remove = true;
    f.volumes = {"/host/data:/data:ro", "/tmp:/scratch"};
    RunSpec s = spec(kShell, f);
    CHECK(s.interactive);
    CHECK(s.auto_remove);
    CHECK_FALSE(s.tty);
    REQUIRE(s.mounts.size() == 2);
    CHECK(s.mounts[0].source == "/host/data");
    CHECK(s.mounts[0].target == "/data");
    CHECK(s.mounts[0].read_only);
    CHECK(s.mounts[1].source == "/tmp");
    CHECK_FALSE(s.mounts[1].read_only);
    SECTION("a bad -v is refused") {
        f.volumes = {"data:/data"};
        CHECK_THAT(failure_of([&] { spec(kShell, f); }), Catch::Contains("-v 'data:/data'"));
    }
}

// --- parse_volume ---------------------------------------------------------

TEST_CASE("parse_volume: HOSTDIR:CTRDIR with an optional mode", "[runtime]") {
    BindMount m = parse_volume("/srv/www:/usr/share/www");
    CHECK(m.source == "/srv/www");
    CHECK(m.target == "/usr/share/www");
    CHECK_FALSE(m.read_only);
    CHECK(parse_volume("/a:/b:ro").read_only);
    CHECK_FALSE(parse_volume("/a:/b:rw").read_only);
}

TEST_CASE("parse_volume: malformed specs", "[runtime]") {
    CHECK_THAT(failure_of([] { parse_volume("/a:/b:z"); }), Catch::Contains("unknown mode 'z'"));
    CHECK_THAT(failure_of([] { parse_volume("/a:/b:"); }), Catch::Contains("unknown mode ''"));
    CHECK_THAT(failure_of([] { parse_volume("data:/data"); }),
               Catch::Contains("host path must be absolute"));
    CHECK_THAT(failure_of([] { parse_volume(":/data"); }),
               Catch::Contains("host path must be absolute"));
    CHECK_THAT(failure_of([] { parse_volume("/data:data"); }),
               Catch::Contains("container path must be absolute"));
    CHECK_THAT(failure_of([] { parse_volume("/data:"); }),
               Catch::Contains("container path must be absolute"));
    for (std::string bad : {"/data", "", "/a:/b:ro:x", "/a:/b:c:d:e"}) {
        INFO("-v '" << bad << "'");
        CHECK_THAT(failure_of([&] { parse_volume(bad); }),
                   Catch::Contains("-v '" + bad + "'") && Catch::Contains("HOSTDIR:CTRDIR"));
    }
}

// --- set_env / get_env ----------------------------------------------------

TEST_CASE("set_env and get_env", "[runtime]") {
    Strings env = {"PATH=/bin", "PATHX=keep", "A=1"};
    set_env(env, "PATH=/usr/bin");
    CHECK(env == Strings{"PATH=/usr/bin", "PATHX=keep", "A=1"});
    set_env(env, "B=2");
    CHECK(env == Strings{"PATH=/usr/bin", "PATHX=keep", "A=1", "B=2"});
    set_env(env, "A=");
    CHECK(env == Strings{"PATH=/usr/bin", "PATHX=keep", "A=", "B=2"});

    CHECK(get_env(env, "PATH") == "/usr/bin");
    CHECK(get_env(env, "PATHX") == "keep");
    CHECK(get_env(env, "A") == "");
    CHECK_FALSE(get_env(env, "PAT"));
    CHECK_FALSE(get_env(env, "C"));
    CHECK(get_env({"X=a=b"}, "X") == "a=b");
    // An entry without '=' has no value.
    CHECK_FALSE(get_env({"X"}, "X"));
}

// --- resolve_user ---------------------------------------------------------

namespace {

const char* const kPasswd =
    "#toor:x:0:99::/toor:/bin/sh\n"
    "root:x:0:0:root:/root:/bin/sh\n"
    "daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n"
    "broken:x:2\n"
    "notanumber:x:abc:1::/x:/bin/sh\n"
    "\n"
    "alice:x:1000:1000:Alice A.:/home/alice:/bin/sh\n"
    "nohome:x:1001:100:::/bin/sh\n"
    "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin";

const char* const kGroup =
    "# wheel:x:11:daemon\n"
    "root:x:0:\n"
    "wheel:x:10:root,alice\n"
    "daemon:x:1:\n"
    "staff:x:50:bob,alice\n"
    "users:x:100:alice\n"
    "audio:x:29:alicex,xalice\n"
    "alice:x:1000:alice\n"
    "bad:x:notanumber:alice\n"
    "nogroup:x:65534:";

Identity user(const std::string& spec) {
    return resolve_user(spec, kPasswd, kGroup);
}

}  // namespace

TEST_CASE("resolve_user: the default is root from /etc/passwd", "[runtime]") {
    Identity id = user("");
    CHECK(id.uid == 0u);
    CHECK(id.gid == 0u);
    CHECK(id.home == "/root");
    CHECK(id.groups == std::vector<gid_t>{10});
    SECTION("with no passwd at all, root with / as home") {
        Identity bare = resolve_user("", "", "");
        CHECK(bare.uid == 0u);
        CHECK(bare.gid == 0u);
        CHECK(bare.home == "/");
        CHECK(bare.groups.empty());
    }
}

TEST_CASE("resolve_user: a name takes its passwd entry and its groups", "[runtime]") {
    Identity id = user("alice");
    CHECK(id.uid == 1000u);
    CHECK(id.gid == 1000u);
    CHECK(id.home == "/home/alice");
    // In /etc/group's order; not the primary group again, not "alicex".
    CHECK(id.groups == std::vector<gid_t>{10, 50, 100});

    Identity d = user("daemon");
    CHECK(d.uid == 1u);
    CHECK(d.gid == 1u);
    CHECK(d.home == "/usr/sbin");
    CHECK(d.groups.empty());

    CHECK(user("nohome").home == "/");
}

TEST_CASE("resolve_user: a number", "[runtime]") {
    SECTION("with a passwd entry, it is that user") {
        Identity id = user("1000");
        CHECK(id.uid == 1000u);
        CHECK(id.gid == 1000u);
        CHECK(id.home == "/home/alice");
        CHECK(id.groups == std::vector<gid_t>{10, 50, 100});
    }
    SECTION("without one, it needs none: gid 0, home /") {
        Identity id = user("4242");
        CHECK(id.uid == 4242u);
        CHECK(id.gid == 0u);
        CHECK(id.home == "/");
        CHECK(id.groups.empty());
    }
    SECTION("uid:gid, neither in the files") {
        Identity id = user("4242:4343");
        CHECK(id.uid == 4242u);
        CHECK(id.gid == 4343u);
    }
}

TEST_CASE("resolve_user: user:group", "[runtime]") {
    CHECK(user("alice:staff").gid == 50u);
    CHECK(user("alice:7").gid == 7u);
    CHECK(user("alice:7").uid == 1000u);
    CHECK(user("root:wheel").gid == 10u);
    CHECK(user("1000:100").gid == 100u);
    CHECK(user("4242:nogroup").gid == 65534u);
    CHECK(user("4242:nogroup").uid == 4242u);
}

TEST_CASE("resolve_user: unknown names are refused, naming them", "[runtime]") {
    CHECK_THAT(failure_of([] { user("bob"); }),
               Catch::Contains("'bob'") && Catch::Contains("/etc/passwd"));
    CHECK_THAT(failure_of([] { user("bob:staff"); }), Catch::Contains("'bob'"));
    CHECK_THAT(failure_of([] { user("alice:nosuch"); }),
               Catch::Contains("'nosuch'") && Catch::Contains("/etc/group"));
    CHECK_THAT(failure_of([] { user("4242:nosuch"); }), Catch::Contains("'nosuch'"));
    // A comment is not an entry.
    CHECK_THAT(failure_of([] { user("#toor"); }), Catch::Contains("'#toor'"));
    // Lines too short or with a non-numeric uid are not entries either.
    CHECK_THAT(failure_of([] { user("broken"); }), Catch::Contains("'broken'"));
    CHECK_THAT(failure_of([] { user("notanumber"); }), Catch::Contains("'notanumber'"));
}

// --- parse_signal ---------------------------------------------------------

TEST_CASE("parse_signal: names with or without SIG, any case, and numbers", "[runtime]") {
    CHECK(parse_signal("TERM") == SIGTERM);
    CHECK(parse_signal("SIGTERM") == SIGTERM);
    CHECK(parse_signal("term") == SIGTERM);
    CHECK(parse_signal("sigkill") == SIGKILL);
    CHECK(parse_signal("SigHup") == SIGHUP);
    CHECK(parse_signal("QUIT") == SIGQUIT);
    CHECK(parse_signal("USR1") == SIGUSR1);
    CHECK(parse_signal("SIGWINCH") == SIGWINCH);
    CHECK(parse_signal("15") == 15);
    CHECK(parse_signal("9") == 9);
    CHECK(parse_signal("1") == 1);
    CHECK(parse_signal(std::to_string(NSIG - 1)) == NSIG - 1);
}

TEST_CASE("parse_signal: 0 for what is not a signal", "[runtime]") {
    for (std::string bad : {"", "0", "bogus", "SIG", "SIGBOGUS", "65", "-1", "15x", " 15", "TERM ",
                            "SIGSIGTERM", "99999999999"}) {
        INFO("'" << bad << "'");
        CHECK(parse_signal(bad) == 0);
    }
    CHECK(parse_signal(std::to_string(NSIG)) == 0);
}

// --- the container's record -----------------------------------------------

TEST_CASE("to_json and spec_from_json: the record round-trips", "[runtime]") {
    RunSpec s;
    s.args = {"/bin/sh", "-c", "echo \"hi\"\n"};
    s.env = {"PATH=/bin", "A=b=c", "EMPTY="};
    s.workdir = "/srv";
    s.user = "alice:staff";
    s.hostname = "web";
    s.network = "none";
    s.tty = true;
    s.interactive = true;
    s.auto_remove = true;
    s.mounts = {{"/host/a", "/a", true}, {"/host/b", "/b", false}};
    s.stop_signal = "SIGQUIT";

    json j = to_json(s);
    CHECK(j["Args"] == json(s.args));
    CHECK(j["Mounts"][0] == json{{"Source", "/host/a"}, {"Destination", "/a"}, {"RW", false}});
    CHECK(j["Mounts"][1]["RW"] == true);
    CHECK(j["NetworkMode"] == "none");

    // Through text, as the store keeps it.
    RunSpec r = spec_from_json(json::parse(j.dump()));
    CHECK(r.args == s.args);
    CHECK(r.env == s.env);
    CHECK(r.workdir == s.workdir);
    CHECK(r.user == s.user);
    CHECK(r.hostname == s.hostname);
    CHECK(r.network == s.network);
    CHECK(r.tty);
    CHECK(r.interactive);
    CHECK(r.auto_remove);
    REQUIRE(r.mounts.size() == 2);
    CHECK(r.mounts[0].source == "/host/a");
    CHECK(r.mounts[0].target == "/a");
    CHECK(r.mounts[0].read_only);
    CHECK(r.mounts[1].source == "/host/b");
    CHECK(r.mounts[1].target == "/b");
    CHECK_FALSE(r.mounts[1].read_only);
    CHECK(r.stop_signal == "SIGQUIT");
    CHECK(to_json(r) == j);
}

TEST_CASE("spec_from_json: defaults for missing fields, refusals", "[runtime]") {
    RunSpec r = spec_from_json({{"Args", {"sh"}}});
    CHECK(r.args == Strings{"sh"});
    CHECK(r.env.empty());
    CHECK(r.workdir == "/");
    CHECK(r.user.empty());
    CHECK(r.hostname.empty());
    CHECK(r.network == "host");
    CHECK_FALSE(r.tty);
    CHECK_FALSE(r.interactive);
    CHECK_FALSE(r.auto_remove);
    CHECK(r.mounts.empty());
    CHECK(r.stop_signal == "SIGTERM");

    CHECK_THAT(failure_of([] { spec_from_json(json::array()); }),
               Catch::Contains("not a JSON object"));
    CHECK_THAT(failure_of([] { spec_from_json(json(nullptr)); }),
               Catch::Contains("not a JSON object"));
    CHECK_THAT(failure_of([] { spec_from_json(json::object()); }), Catch::Contains("no command"));
}

TEST_CASE("make_spec: -e NAME unset on the caller's side unsets the image's NAME", "[runtime]") {
    // docker's rule: the variable is removed, not left at the image's value.
    RunFlags f;
    f.env = {"FOO", "TERM"};
    f.tty = true;
    RunSpec s = spec({{"Cmd", {"sh"}}, {"Env", {"FOO=img", "KEEP=1"}}}, f);
    CHECK_FALSE(get_env(s.env, "FOO"));
    CHECK_FALSE(get_env(s.env, "TERM"));
    CHECK(get_env(s.env, "KEEP") == "1");
}

TEST_CASE("make_spec: the image's HOSTNAME wins over the runtime's", "[runtime]") {
    RunFlags f;
    f.hostname = "web";
    RunSpec s = spec({{"Cmd", {"sh"}}, {"Env", {"HOSTNAME=img"}}}, f);
    CHECK(s.hostname == "web");
    CHECK(get_env(s.env, "HOSTNAME") == "img");
}

TEST_CASE("resolve_user: a group given means no supplementary groups (runc's rule)", "[runtime]") {
    CHECK(user("alice").groups == std::vector<gid_t>{10, 50, 100});
    CHECK(user("alice:staff").groups.empty());
    CHECK(user("alice:1000").groups.empty());
}

TEST_CASE("resolve_user: ':group' is root with that group", "[runtime]") {
    Identity id = user(":staff");
    CHECK(id.uid == 0u);
    CHECK(id.gid == 50u);
    CHECK(id.groups.empty());
}
