// Image references and id prefixes: snapshotter/reference.cpp.
#include <catch2/catch.hpp>
#include <optional>
#include <string>

#include "snapshotter/reference.hpp"

using layerfs::store::id_prefix;
using layerfs::store::parse_reference;
using layerfs::store::Reference;

namespace {

void check_parses(const std::string& s, const std::string& name, const std::string& tag) {
    INFO("reference: '" << s << "'");
    std::optional<Reference> r = parse_reference(s);
    REQUIRE(r);
    CHECK(r->name == name);
    CHECK(r->tag == tag);
}

void check_refused(const std::string& s) {
    INFO("reference: '" << s << "'");
    CHECK_FALSE(parse_reference(s));
}

const std::string kHex64 = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

}  // namespace

TEST_CASE("parse_reference: a bare name gets the latest tag", "[reference]") {
    check_parses("busybox", "busybox", "latest");
    check_parses("library/debian", "library/debian", "latest");
    check_parses("a/b/c/d", "a/b/c/d", "latest");
}

TEST_CASE("parse_reference: an explicit tag", "[reference]") {
    check_parses("busybox:1.36", "busybox", "1.36");
    check_parses("busybox:latest", "busybox", "latest");
    check_parses("library/debian:12", "library/debian", "12");
    check_parses("docker.io/library/debian:12", "docker.io/library/debian", "12");
}

TEST_CASE("parse_reference: str() joins name and tag", "[reference]") {
    auto r = parse_reference("busybox");
    REQUIRE(r);
    CHECK(r->str() == "busybox:latest");
    auto t = parse_reference("localhost:5000/a/b:c");
    REQUIRE(t);
    CHECK(t->str() == "localhost:5000/a/b:c");
}

TEST_CASE("parse_reference: a registry with a port", "[reference]") {
    check_parses("localhost:5000/a/b:c", "localhost:5000/a/b", "c");
    check_parses("localhost:5000/a/b", "localhost:5000/a/b", "latest");
    check_parses("localhost:5000/a", "localhost:5000/a", "latest");
    check_parses("registry.example.com:443/team/app:v1", "registry.example.com:443/team/app", "v1");
}

TEST_CASE("parse_reference: registry hosts", "[reference]") {
    check_parses("localhost/a", "localhost/a", "latest");
    check_parses("localhost/a:b", "localhost/a", "b");
    check_parses("quay.io/org/app:1.0", "quay.io/org/app", "1.0");
    check_parses("my-registry.local/x", "my-registry.local/x", "latest");
    // The host, unlike the repository, may have capitals.
    check_parses("Registry.Example.COM/team/app", "Registry.Example.COM/team/app", "latest");
    // A registry needs a repository after it.
    check_refused("localhost:5000/");
    check_refused("quay.io/");
}

TEST_CASE("parse_reference: capitals are refused in the repository", "[reference]") {
    check_refused("Busybox");
    check_refused("busyBox:1");
    check_refused("library/Debian");
    check_refused("localhost:5000/A/b:c");
    check_refused("localhost:5000/a/B:c");
    check_refused("registry.io/a/B");
    // Without a '.', ':' or "localhost" the first component is part of the
    // repository, so it must be lowercase too.
    check_refused("Team/app");
}

TEST_CASE("parse_reference: digest references are refused", "[reference]") {
    check_refused("busybox@sha256:" + kHex64);
    check_refused("busybox:1.36@sha256:" + kHex64);
    check_refused("localhost:5000/a/b@sha256:" + kHex64);
    check_refused("busybox@");
}

TEST_CASE("parse_reference: valid tags", "[reference]") {
    check_parses("a:V1", "a", "V1");
    check_parses("a:v1.0-rc.1_build", "a", "v1.0-rc.1_build");
    check_parses("a:_x", "a", "_x");
    check_parses("a:0", "a", "0");
    check_parses("a:x..y--z__", "a", "x..y--z__");
    const std::string longest(128, 't');
    check_parses("a:" + longest, "a", longest);
}

TEST_CASE("parse_reference: invalid tags", "[reference]") {
    check_refused("a:");
    check_refused("a:.x");
    check_refused("a:-x");
    check_refused("a:x y");
    check_refused("a:x+y");
    check_refused("a:x!");
    check_refused("a:t\xc3\xa9");
    check_refused("a:" + std::string(129, 't'));
    check_refused("localhost:5000/a:");
}

TEST_CASE("parse_reference: empty names and components", "[reference]") {
    check_refused("");
    check_refused(":tag");
    check_refused("/a");
    check_refused("a/");
    check_refused("a//b");
    check_refused("a/:tag");
    check_refused("/");
}

TEST_CASE("parse_reference: valid separators inside components", "[reference]") {
    for (const char* s : {"a.b", "a_b", "a__b", "a-b", "a--b", "a---b", "a.b-c_d", "a1-2.3__4", "0",
                          "9a", "a/b.c/d_e/f-g"}) {
        INFO(s);
        auto r = parse_reference(s);
        REQUIRE(r);
        CHECK(r->name == s);
        CHECK(r->tag == "latest");
    }
}

TEST_CASE("parse_reference: separators may not start or end a component", "[reference]") {
    for (const char* s :
         {"-a", "a-", ".a", "a.", "_a", "a_", "__a", "a__", "a/-b", "a/b-", "a/_b", "a-/b"}) {
        check_refused(s);
    }
}

TEST_CASE("parse_reference: separators may not be doubled or mixed", "[reference]") {
    // Components are [a-z0-9]+ joined by exactly one of '.', '_', "__" or '-'+.
    for (const char* s : {"a..b", "a___b", "a._b", "a_.b", "a-.b", "a-_b", "a.__b", "a__.b"}) {
        check_refused(s);
    }
}

TEST_CASE("parse_reference: a dash may not follow a dot or underscore", "[reference]") {
    // ".-", "_-" and "__-" are not separators of the grammar either: the dash
    // has to sit between alphanumerics or other dashes.
    for (const char* s : {"a.-b", "a_-b", "a__-b", "x/a.-b", "a._-b"}) {
        check_refused(s);
    }
}

TEST_CASE("parse_reference: characters outside the grammar", "[reference]") {
    check_refused("a b");
    check_refused("a+b");
    check_refused("a\\b");
    check_refused("caf\xc3\xa9");
    check_refused("a\tb");
}

TEST_CASE("parse_reference: length limit", "[reference]") {
    // 255 characters in all is the most that is accepted.
    std::string name(253, 'a');
    check_parses(name + ":t", name, "t");
    check_refused(name + ":tt");
    check_refused(std::string(256, 'a'));
}

TEST_CASE("id_prefix accepts hex with or without sha256:", "[reference]") {
    CHECK(id_prefix("abc") == "abc");
    CHECK(id_prefix("sha256:abc") == "abc");
    CHECK(id_prefix("0") == "0");
    CHECK(id_prefix(kHex64) == kHex64);
    CHECK(id_prefix("sha256:" + kHex64) == kHex64);
}

TEST_CASE("id_prefix refuses what is not a lowercase hex prefix", "[reference]") {
    CHECK_FALSE(id_prefix(""));
    CHECK_FALSE(id_prefix("sha256:"));
    CHECK_FALSE(id_prefix("ABC"));
    CHECK_FALSE(id_prefix("sha256:ABC"));
    CHECK_FALSE(id_prefix("xyz"));
    CHECK_FALSE(id_prefix("abc "));
    CHECK_FALSE(id_prefix("sha512:abc"));
    CHECK_FALSE(id_prefix("busybox"));
    CHECK_FALSE(id_prefix(kHex64 + "0"));
    CHECK_FALSE(id_prefix("sha256:" + kHex64 + "0"));
    CHECK_FALSE(id_prefix("sha256:sha256:abc"));
}
