// A committed image's config and the `-c` instructions: snapshotter/image_config.cpp.
#include <catch2/catch.hpp>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "snapshotter/failure.hpp"
#include "snapshotter/image_config.hpp"
#include "tests/unit/failure_of.hpp"

namespace store = layerfs::store;
using layerfs::test::failure_of;
using json = nlohmann::json;
using store::CommitSpec;
using store::Failure;
using store::split_words;
using Words = std::vector<std::string>;

namespace {

const std::string kH1(64, '1');
const std::string kNew = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
const std::string kPath = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

// A parent config as docker writes it, with fields this code has no business
// touching (top level and inside "config").
json parent_config() {
    return json{
        {"architecture", "arm64"},
        {"variant", "v8"},
        {"os", "linux"},
        {"author", "parent author"},
        {"created", "2024-01-02T03:04:05.123456789Z"},
        {"docker_version", "20.10.23"},
        {"container", "3f9a"},
        {"container_config", {{"Hostname", "3f9a"}, {"Cmd", {"/bin/sh", "-c", "#(nop) CMD"}}}},
        {"config",
         {{"Hostname", ""},
          {"Env", {kPath, "LANG=C.UTF-8", "PATHX=keep"}},
          {"Cmd", {"sh"}},
          {"WorkingDir", "/app"},
          {"Labels", {{"maintainer", "someone"}}},
          {"ExposedPorts", {{"22/tcp", json::object()}}},
          {"ArgsEscaped", true},
          {"OnBuild", nullptr},
          {"Healthcheck", {{"Test", {"CMD", "true"}}, {"Interval", 30000000000}}}}},
        {"rootfs", {{"type", "layers"}, {"diff_ids", {"sha256:" + kH1}}}},
        {"history",
         {{{"created", "2024-01-02T03:04:05Z"},
           {"created_by", "/bin/sh -c #(nop) ADD file:abc in / "}},
          {{"created", "2024-01-02T03:04:05Z"},
           {"created_by", "/bin/sh -c #(nop)  CMD [\"sh\"]"},
           {"empty_layer", true}}}}};
}

CommitSpec spec_with(std::vector<std::string> changes) {
    CommitSpec s;
    s.diff_id = kNew;
    s.created = "2025-06-07T08:09:10Z";
    s.author = "Jane <jane@example.com>";
    s.message = "a message";
    s.created_by = "layerfs commit";
    s.changes = std::move(changes);
    return s;
}

json derive(const json& parent, const CommitSpec& spec) {
    return json::parse(store::derive_config(parent.dump(), spec));
}

// The "config" object of the child of parent_config() with `changes`.
json config_after(std::vector<std::string> changes) {
    json child = derive(parent_config(), spec_with(std::move(changes)));
    REQUIRE(child["config"].is_object());
    return child["config"];
}

void check_words(const std::string& text, const Words& want) {
    INFO("text: [" << text << "]");
    CHECK(split_words(text) == want);
}

void check_valid(const std::string& change) {
    INFO("change: " << change);
    CHECK(failure_of([&] { store::check_changes({change}); }) == "<no exception>");
}

// The message names the instruction as the user wrote it (the CLI prints
// "layerfs: -c '...': ...") and says what is wrong.
void check_invalid(const std::string& change, const std::string& reason) {
    INFO("change: " << change);
    std::string msg = failure_of([&] { store::check_changes({change}); });
    INFO("message: " << msg);
    CHECK(msg.rfind("-c '" + change + "': ", 0) == 0);
    CHECK(msg.find(reason) != std::string::npos);
}

// The entries of `env` whose key is `key`.
std::vector<std::string> env_entries(const json& env, const std::string& key) {
    std::vector<std::string> out;
    for (const auto& e : env)
        if (e.get<std::string>().rfind(key + "=", 0) == 0) out.push_back(e);
    return out;
}

}  // namespace

TEST_CASE("split_words splits on blanks", "[image_config]") {
    check_words("", {});
    check_words("   \t\n ", {});
    check_words("a", {"a"});
    check_words("a b  c", {"a", "b", "c"});
    check_words("  a\tb\nc  ", {"a", "b", "c"});
    check_words("k=v x=y", {"k=v", "x=y"});
}

TEST_CASE("split_words quotes", "[image_config]") {
    check_words("\"a b\" c", {"a b", "c"});
    check_words("'a b' c", {"a b", "c"});
    check_words("x\"y z\"w", {"xy zw"});
    check_words("key=\"two words\"", {"key=two words"});
    check_words("\"a'b\"", {"a'b"});
    check_words("'a\"b'", {"a\"b"});
    // An empty quoted string is still a word.
    check_words("\"\"", {""});
    check_words("'' a", {"", "a"});
    check_words("a '' b", {"a", "", "b"});
    // Blanks inside quotes are kept as they are.
    check_words("'  a\tb  '", {"  a\tb  "});
}

TEST_CASE("split_words escapes", "[image_config]") {
    check_words("a\\ b", {"a b"});
    check_words("a\\\"b", {"a\"b"});
    check_words("a\\'b", {"a'b"});
    check_words("a\\\\b", {"a\\b"});
    check_words("\"a\\\"b\"", {"a\"b"});
    check_words("\"a\\\\\"", {"a\\"});
    // No escapes inside single quotes, as in sh: 'it'\''s' is it's.
    check_words("'a\\b'", {"a\\b"});
    check_words("'it'\\''s'", {"it's"});
}

TEST_CASE("split_words keeps a backslash before an ordinary character inside double quotes",
          "[image_config]") {
    // Inside double quotes, sh and docker's Dockerfile lexer only treat a backslash
    // as an escape before '"', '$' and another backslash, so LABEL p="C:\dir" keeps
    // its backslash.
    check_words("\"a\\nb\"", {"a\\nb"});
    check_words("p=\"C:\\dir\"", {"p=C:\\dir"});
}

TEST_CASE("split_words refuses an unterminated quote", "[image_config]") {
    for (const std::string bad : {"\"abc", "'abc", "a \"b c", "a 'b", "\"abc\\\"", "x=\"", "'"}) {
        INFO("text: [" << bad << "]");
        std::string msg = failure_of([&] { split_words(bad); });
        CHECK(msg.find("unterminated quote") != std::string::npos);
    }
}

TEST_CASE("check_changes accepts every instruction in its valid forms", "[image_config]") {
    for (const std::string c : {
             "CMD echo hello",
             "CMD [\"echo\", \"hello world\"]",
             "CMD []",
             "ENTRYPOINT [\"/bin/sh\", \"-c\"]",
             "ENTRYPOINT top -b",
             "ENV A=1",
             "ENV A=1 B=\"two words\" C=",
             "ENV NAME some value",
             "LABEL a=b",
             "LABEL \"a b\"=c d='e f'",
             "EXPOSE 80",
             "EXPOSE 80/tcp 53/udp 132/sctp",
             "EXPOSE 80/TCP",
             "EXPOSE 1 65535",
             "EXPOSE 8000-8010/tcp",
             "WORKDIR /app",
             "WORKDIR relative/dir",
             "USER nobody",
             "USER 1000:1000",
             "VOLUME /data",
             "VOLUME /a /b",
             "VOLUME [\"/a\", \"/b\"]",
             "STOPSIGNAL SIGTERM",
             "STOPSIGNAL 9",
             // Dockerfile instructions are case-insensitive, blanks around are not part of it.
             "cmd ls",
             "Env A=1",
             "  USER   root  ",
             "EXPOSE\t80",
         })
        check_valid(c);
    CHECK_NOTHROW(store::check_changes({}));
    CHECK_NOTHROW(store::check_changes({"ENV A=1", "CMD ls", "USER x"}));
}

TEST_CASE("check_changes refuses unknown instructions", "[image_config]") {
    check_invalid("FROM busybox", "unknown instruction 'FROM'");
    check_invalid("RUN ls", "unknown instruction 'RUN'");
    check_invalid("ADD a /b", "unknown instruction 'ADD'");
    check_invalid("ONBUILD RUN ls", "unknown instruction 'ONBUILD'");
    check_invalid("HEALTHCHECK NONE", "unknown instruction 'HEALTHCHECK'");
    check_invalid("CMDX ls", "unknown instruction 'CMDX'");
    // The message lists what is known, so a typo is easy to fix.
    std::string msg = failure_of([] { store::check_changes({"RUN ls"}); });
    for (const char* known :
         {"CMD", "ENTRYPOINT", "ENV", "EXPOSE", "LABEL", "STOPSIGNAL", "USER", "VOLUME", "WORKDIR"})
        CHECK(msg.find(known) != std::string::npos);
}

TEST_CASE("check_changes calls an unknown word without an argument unknown", "[image_config]") {
    // Not "FOO needs an argument": that would suggest FOO exists.
    check_invalid("FOO", "unknown instruction 'FOO'");
    check_invalid("ENV=1", "unknown instruction 'ENV=1'");
    check_invalid("RUN", "unknown instruction 'RUN'");
}

TEST_CASE("check_changes refuses empty instructions and missing arguments", "[image_config]") {
    check_invalid("", "empty instruction");
    check_invalid("   ", "empty instruction");
    for (const char* word : {"CMD", "ENTRYPOINT", "ENV", "LABEL", "EXPOSE", "WORKDIR", "USER",
                             "VOLUME", "STOPSIGNAL"}) {
        check_invalid(word, std::string(word) + " needs an argument");
        check_invalid(std::string(word) + "   ", std::string(word) + " needs an argument");
    }
}

TEST_CASE("check_changes refuses malformed ENV and LABEL pairs", "[image_config]") {
    check_invalid("ENV A", "KEY=VALUE");
    check_invalid("ENV =1", "KEY=VALUE");
    check_invalid("ENV A=1 B", "'B'");
    check_invalid("LABEL a", "'a'");
    check_invalid("LABEL a b", "KEY=VALUE");
    check_invalid("LABEL =v", "'=v'");
    check_invalid("LABEL a=b c", "'c'");
}

TEST_CASE("check_changes names the instruction whose quote is unterminated", "[image_config]") {
    check_invalid("ENV A=\"1", "unterminated quote");
    check_invalid("LABEL a='b", "unterminated quote");
    check_invalid("EXPOSE '80", "unterminated quote");
    check_invalid("VOLUME \"/a", "unterminated quote");
}

TEST_CASE("check_changes refuses bad ports and protocols", "[image_config]") {
    for (const std::string p : {"abc", "0", "65536", "99999999999", "-80", "80-", "80-90-100", "-",
                                "8o", "80 /tcp", "1-65536", "0-10", "/tcp", "80a/tcp"}) {
        std::string change = "EXPOSE " + p;
        std::string msg = failure_of([&] { store::check_changes({change}); });
        INFO("change: " << change << ", message: " << msg);
        CHECK(msg.rfind("-c '" + change + "': ", 0) == 0);
        CHECK((msg.find("invalid port") != std::string::npos ||
               msg.find("unknown protocol") != std::string::npos));
    }
    check_invalid("EXPOSE 80/xyz", "unknown protocol 'xyz'");
    check_invalid("EXPOSE 80/", "unknown protocol ''");
    check_invalid("EXPOSE 80/tcp/udp", "unknown protocol 'tcp/udp'");
    check_invalid("EXPOSE 80 abc", "invalid port 'abc'");
    check_invalid("EXPOSE 80/tcp 53/icmp", "unknown protocol 'icmp'");
}

TEST_CASE("check_changes refuses a port range that runs backwards", "[image_config]") {
    // docker (nat.ParsePortRange) refuses it too: "invalid range specified for port".
    check_invalid("EXPOSE 8010-8000/tcp", "invalid port");
}

TEST_CASE("check_changes refuses USER and STOPSIGNAL with several words", "[image_config]") {
    check_invalid("USER a b", "one word expected");
    check_invalid("USER 1000 :1000", "one word expected");
    check_invalid("USER a\tb", "one word expected");
    check_invalid("STOPSIGNAL SIG TERM", "one word expected");
}

TEST_CASE("check_changes refuses malformed JSON arrays", "[image_config]") {
    for (const char* word : {"CMD", "ENTRYPOINT", "VOLUME"}) {
        const std::string w = word;
        check_invalid(w + " [\"a\"", "malformed JSON array");
        check_invalid(w + " [\"a\",]", "malformed JSON array");
        check_invalid(w + " ['a']", "malformed JSON array");
        check_invalid(w + " [\"a\", 1]", "strings only");
        check_invalid(w + " [[\"a\"]]", "strings only");
        check_invalid(w + " [null]", "strings only");
        check_invalid(w + " [{\"a\": \"b\"}]", "strings only");
    }
}

TEST_CASE("check_changes names the first bad instruction of several", "[image_config]") {
    std::string msg = failure_of([] {
        store::check_changes({"ENV A=1", "EXPOSE 80", "BOGUS x", "RUN y"});
    });
    CHECK(msg.rfind("-c 'BOGUS x': ", 0) == 0);
}

TEST_CASE("derive_config without changes keeps everything but created, author, rootfs and history",
          "[image_config]") {
    const json parent = parent_config();
    const CommitSpec spec = spec_with({});
    json child = derive(parent, spec);

    json want = parent;
    want["created"] = spec.created;
    want["author"] = spec.author;
    want["rootfs"]["diff_ids"].push_back("sha256:" + spec.diff_id);
    want["history"].push_back({{"created", spec.created},
                               {"created_by", spec.created_by},
                               {"author", spec.author},
                               {"comment", spec.message}});
    INFO("child: " << child.dump(2));
    CHECK(child == want);
}

TEST_CASE("derive_config appends the diff_id and one history entry", "[image_config]") {
    const json parent = parent_config();
    const CommitSpec spec = spec_with({"CMD ls"});
    json child = derive(parent, spec);

    REQUIRE(child["rootfs"]["diff_ids"].is_array());
    const json& ids = child["rootfs"]["diff_ids"];
    REQUIRE(ids.size() == parent["rootfs"]["diff_ids"].size() + 1);
    CHECK(ids.front() == parent["rootfs"]["diff_ids"].front());
    CHECK(ids.back() == "sha256:" + kNew);
    CHECK(child["rootfs"]["type"] == "layers");

    REQUIRE(child["history"].is_array());
    const json& h = child["history"];
    REQUIRE(h.size() == parent["history"].size() + 1);
    for (size_t i = 0; i < parent["history"].size(); i++)
        CHECK(h[i] == parent["history"][i]);
    CHECK(h.back() == json{{"created", spec.created},
                           {"created_by", spec.created_by},
                           {"author", spec.author},
                           {"comment", spec.message}});
    // The new layer is not empty, so the entry has no empty_layer.
    CHECK_FALSE(h.back().contains("empty_layer"));
    CHECK(child["created"] == spec.created);
    CHECK(child["author"] == spec.author);
}

TEST_CASE("derive_config leaves out an empty comment and author from the history entry",
          "[image_config]") {
    CommitSpec spec = spec_with({});
    spec.author.clear();
    spec.message.clear();
    json child = derive(parent_config(), spec);
    CHECK(child["history"].back() ==
          json{{"created", spec.created}, {"created_by", spec.created_by}});

    spec = spec_with({});
    spec.message.clear();
    child = derive(parent_config(), spec);
    CHECK(child["history"].back() == json{{"created", spec.created},
                                          {"created_by", spec.created_by},
                                          {"author", spec.author}});

    spec = spec_with({});
    spec.author.clear();
    child = derive(parent_config(), spec);
    CHECK(child["history"].back() == json{{"created", spec.created},
                                          {"created_by", spec.created_by},
                                          {"comment", spec.message}});
}

TEST_CASE("derive_config keeps unknown fields", "[image_config]") {
    const json parent = parent_config();
    json child = derive(parent, spec_with({"ENV A=1", "LABEL x=y", "EXPOSE 80", "WORKDIR w"}));
    for (const char* key :
         {"architecture", "variant", "os", "docker_version", "container", "container_config"})
        CHECK(child[key] == parent[key]);
    const json& cfg = child["config"];
    for (const char* key : {"Hostname", "Cmd", "ArgsEscaped", "Healthcheck"})
        CHECK(cfg[key] == parent["config"][key]);
    REQUIRE(cfg.contains("OnBuild"));
    CHECK(cfg["OnBuild"].is_null());
    // Unknown history fields of earlier entries too.
    CHECK(child["history"][1]["empty_layer"] == true);
}

TEST_CASE("derive_config: CMD and ENTRYPOINT in shell and exec form", "[image_config]") {
    json cfg = config_after({"CMD echo \"hello  world\" > /tmp/x"});
    // Shell form: the text goes to sh as it was written, quotes and blanks included.
    CHECK(cfg["Cmd"] == json{"/bin/sh", "-c", "echo \"hello  world\" > /tmp/x"});

    cfg = config_after({"CMD [\"echo\", \"a b\", \"c\\\"d\"]"});
    CHECK(cfg["Cmd"] == json{"echo", "a b", "c\"d"});

    cfg = config_after({"ENTRYPOINT [\"/entry.sh\"]"});
    CHECK(cfg["Entrypoint"] == json{"/entry.sh"});
    cfg = config_after({"ENTRYPOINT top -b"});
    CHECK(cfg["Entrypoint"] == json{"/bin/sh", "-c", "top -b"});

    cfg = config_after({"CMD []"});
    CHECK(cfg["Cmd"] == json::array());

    // The last of several wins.
    cfg = config_after({"CMD first", "CMD [\"second\"]"});
    CHECK(cfg["Cmd"] == json{"second"});
}

TEST_CASE("derive_config: ENV replaces a key and keeps the others", "[image_config]") {
    const json parent_env = parent_config()["config"]["Env"];
    json env = config_after({"ENV LANG=en_US.UTF-8"})["Env"];
    INFO("Env: " << env.dump());
    REQUIRE(env.is_array());
    CHECK(env.size() == parent_env.size());
    CHECK(env_entries(env, "LANG") == std::vector<std::string>{"LANG=en_US.UTF-8"});
    // A key that only starts like the replaced one is a different key.
    CHECK(env_entries(env, "PATHX") == std::vector<std::string>{"PATHX=keep"});
    CHECK(env_entries(env, "PATH") == std::vector<std::string>{kPath});

    env = config_after({"ENV PATH=/bin"})["Env"];
    INFO("Env: " << env.dump());
    CHECK(env_entries(env, "PATH") == std::vector<std::string>{"PATH=/bin"});
    CHECK(env_entries(env, "PATHX") == std::vector<std::string>{"PATHX=keep"});
    CHECK(env_entries(env, "LANG") == std::vector<std::string>{"LANG=C.UTF-8"});
    CHECK(env.size() == parent_env.size());
}

TEST_CASE("derive_config: ENV with several pairs, quotes and empty values", "[image_config]") {
    json env = config_after({"ENV A=1 B=\"two words\" C= D='x=y'"})["Env"];
    INFO("Env: " << env.dump());
    CHECK(env.size() == parent_config()["config"]["Env"].size() + 4);
    CHECK(env_entries(env, "A") == std::vector<std::string>{"A=1"});
    CHECK(env_entries(env, "B") == std::vector<std::string>{"B=two words"});
    CHECK(env_entries(env, "C") == std::vector<std::string>{"C="});
    CHECK(env_entries(env, "D") == std::vector<std::string>{"D=x=y"});
    CHECK(env_entries(env, "LANG") == std::vector<std::string>{"LANG=C.UTF-8"});

    // Later instructions see earlier ones.
    env = config_after({"ENV A=1", "ENV A=2"})["Env"];
    CHECK(env_entries(env, "A") == std::vector<std::string>{"A=2"});
}

TEST_CASE("derive_config: ENV in the legacy KEY VALUE form", "[image_config]") {
    json env = config_after({"ENV GREETING hello   big world"})["Env"];
    INFO("Env: " << env.dump());
    // Everything after the key is the value, as docker takes it.
    CHECK(env_entries(env, "GREETING") == std::vector<std::string>{"GREETING=hello   big world"});
    env = config_after({"ENV LANG C"})["Env"];
    CHECK(env_entries(env, "LANG") == std::vector<std::string>{"LANG=C"});
    CHECK(env.size() == parent_config()["config"]["Env"].size());
}

TEST_CASE("derive_config: ENV on a config without Env", "[image_config]") {
    json parent = parent_config();
    parent["config"].erase("Env");
    json child = derive(parent, spec_with({"ENV A=1"}));
    CHECK(child["config"]["Env"] == json{"A=1"});
    parent["config"]["Env"] = nullptr;
    child = derive(parent, spec_with({"ENV A=1"}));
    CHECK(child["config"]["Env"] == json{"A=1"});
}

TEST_CASE("derive_config: LABEL with several pairs and quotes", "[image_config]") {
    json labels = config_after(
        {"LABEL version=1.0 \"com.example.desc\"=\"a b  c\" 'q k'='v' empty="})["Labels"];
    INFO("Labels: " << labels.dump());
    CHECK(labels == json{{"maintainer", "someone"},
                         {"version", "1.0"},
                         {"com.example.desc", "a b  c"},
                         {"q k", "v"},
                         {"empty", ""}});
    labels = config_after({"LABEL maintainer=\"new one\""})["Labels"];
    CHECK(labels == json{{"maintainer", "new one"}});

    json parent = parent_config();
    parent["config"].erase("Labels");
    CHECK(derive(parent, spec_with({"LABEL a=b"}))["config"]["Labels"] == json{{"a", "b"}});
}

TEST_CASE("derive_config: EXPOSE", "[image_config]") {
    json ports =
        config_after({"EXPOSE 80", "EXPOSE 53/udp 8000-8010/tcp 443/TCP 9/sctp"})["ExposedPorts"];
    INFO("ExposedPorts: " << ports.dump());
    json want = json::object();
    for (const char* key : {"22/tcp", "80/tcp", "53/udp", "8000-8010/tcp", "443/tcp", "9/sctp"})
        want[key] = json::object();
    CHECK(ports == want);

    json parent = parent_config();
    parent["config"].erase("ExposedPorts");
    ports = derive(parent, spec_with({"EXPOSE 80"}))["config"]["ExposedPorts"];
    CHECK(ports == json{{"80/tcp", json::object()}});
}

TEST_CASE("derive_config: WORKDIR joins relative directories", "[image_config]") {
    CHECK(config_after({"WORKDIR sub"})["WorkingDir"] == "/app/sub");
    CHECK(config_after({"WORKDIR /abs/dir"})["WorkingDir"] == "/abs/dir");
    CHECK(config_after({"WORKDIR a", "WORKDIR b"})["WorkingDir"] == "/app/a/b");
    CHECK(config_after({"WORKDIR /x", "WORKDIR y"})["WorkingDir"] == "/x/y");

    json parent = parent_config();
    parent["config"]["WorkingDir"] = "/app/";
    CHECK(derive(parent, spec_with({"WORKDIR sub"}))["config"]["WorkingDir"] == "/app/sub");
    parent["config"]["WorkingDir"] = "";
    CHECK(derive(parent, spec_with({"WORKDIR rel"}))["config"]["WorkingDir"] == "/rel");
    parent["config"].erase("WorkingDir");
    CHECK(derive(parent, spec_with({"WORKDIR rel"}))["config"]["WorkingDir"] == "/rel");
}

TEST_CASE("derive_config: WORKDIR over a WorkingDir that is not a string", "[image_config]") {
    // Found by tests/fuzz/fuzz_oci_json: json::value() threw type_error here.
    json parent = parent_config();
    for (const json& odd : {json(nullptr), json(5), json::array({"/x"}), json::object()}) {
        parent["config"]["WorkingDir"] = odd;
        INFO("WorkingDir " << odd.dump());
        CHECK(derive(parent, spec_with({"WORKDIR rel"}))["config"]["WorkingDir"] == "/rel");
        CHECK(derive(parent, spec_with({"WORKDIR /abs"}))["config"]["WorkingDir"] == "/abs");
    }
}

TEST_CASE("derive_config: VOLUME in JSON and word form", "[image_config]") {
    json vols = config_after({"VOLUME [\"/data\", \"/with space\"]", "VOLUME /a /b"})["Volumes"];
    INFO("Volumes: " << vols.dump());
    json want = json::object();
    for (const char* key : {"/data", "/with space", "/a", "/b"})
        want[key] = json::object();
    CHECK(vols == want);
}

TEST_CASE("derive_config: USER and STOPSIGNAL", "[image_config]") {
    json cfg = config_after({"USER 1000:1000", "STOPSIGNAL SIGKILL"});
    CHECK(cfg["User"] == "1000:1000");
    CHECK(cfg["StopSignal"] == "SIGKILL");
    cfg = config_after({"USER a", "USER b"});
    CHECK(cfg["User"] == "b");
}

TEST_CASE("derive_config on a parent without config, rootfs or history", "[image_config]") {
    const json parent = {{"architecture", "amd64"}, {"os", "linux"}};
    const CommitSpec spec = spec_with({"CMD [\"sh\"]", "ENV A=1"});
    json child = derive(parent, spec);
    INFO("child: " << child.dump(2));
    CHECK(child["architecture"] == "amd64");
    CHECK(child["os"] == "linux");
    CHECK(child["config"] == json{{"Cmd", {"sh"}}, {"Env", {"A=1"}}});
    CHECK(child["rootfs"] == json{{"type", "layers"}, {"diff_ids", {"sha256:" + kNew}}});
    CHECK(child["history"] == json::array({{{"created", spec.created},
                                            {"created_by", spec.created_by},
                                            {"author", spec.author},
                                            {"comment", spec.message}}}));

    // The same with those members present but null.
    json nulls = parent;
    nulls["config"] = nullptr;
    nulls["rootfs"] = nullptr;
    nulls["history"] = nullptr;
    CHECK(derive(nulls, spec) == child);
}

TEST_CASE("derive_config refuses a parent that is not a JSON object", "[image_config]") {
    for (const std::string bad :
         {"", "[]", "[{}]", "\"config\"", "42", "null", "not json", "{", "{\"a\": 1,}"}) {
        INFO("parent: " << bad);
        std::string msg = failure_of([&] { store::derive_config(bad, spec_with({})); });
        CHECK(msg.find("not a JSON object") != std::string::npos);
    }
}

TEST_CASE("derive_config refuses a bad change", "[image_config]") {
    std::string msg = failure_of([] {
        store::derive_config(parent_config().dump(), spec_with({"ENV A=1", "RUN ls"}));
    });
    CHECK(msg.rfind("-c 'RUN ls': ", 0) == 0);
}

// Where docker's builder has a rule of its own, the commit follows it.
TEST_CASE("derive_config follows docker: entrypoint drops the inherited CMD", "[image_config]") {
    REQUIRE_FALSE(parent_config()["config"]["Cmd"].is_null());
    CHECK(config_after({"ENTRYPOINT [\"/e\"]"})["Cmd"].is_null());
    // A CMD given in the same commit stays, before or after the ENTRYPOINT.
    CHECK(config_after({"CMD [\"x\"]", "ENTRYPOINT [\"/e\"]"})["Cmd"] == json{"x"});
    CHECK(config_after({"ENTRYPOINT [\"/e\"]", "CMD [\"x\"]"})["Cmd"] == json{"x"});
}

TEST_CASE("derive_config follows docker: ENV replaces a key where it was", "[image_config]") {
    json env = config_after({"ENV PATH=/x"})["Env"];
    json want = parent_config()["config"]["Env"];
    want[0] = "PATH=/x";
    CHECK(env == want);
}

TEST_CASE("derive_config follows docker: the author is the commit's", "[image_config]") {
    REQUIRE(parent_config().contains("author"));
    CommitSpec spec = spec_with({});
    spec.author.clear();
    CHECK_FALSE(derive(parent_config(), spec).contains("author"));
}

TEST_CASE("derive_config follows docker: WORKDIR is cleaned as filepath.Join does",
          "[image_config]") {
    CHECK(config_after({"WORKDIR ../x"})["WorkingDir"] == "/x");
    CHECK(config_after({"WORKDIR ./a//b/../c/."})["WorkingDir"] == "/app/a/c");
    CHECK(config_after({"WORKDIR /../../"})["WorkingDir"] == "/");
}
