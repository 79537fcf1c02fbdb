// The container commands around diff and commit: create, mount CONTAINER,
// umount and rm, with the names and refusals a user meets first.
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "tests/store/store_helpers.hpp"
#include "tests/support/fixture.hpp"

using namespace layerfs::test;

namespace {

std::string first_line(const std::string& s) {
    return s.substr(0, s.find('\n'));
}

}  // namespace

TEST_CASE("create names containers by docker's rule, once each", "[containers]") {
    TestStore s;
    auto made = s.lf({"create", "--name", "web-1.a_b", "busybox"});
    INFO(made.output);
    REQUIRE(made.status == 0);
    CHECK(first_line(made.output).size() == 64);
    for (const std::string& bad :
         std::vector<std::string>{"a/b", "-x", ".hidden", std::string(64, 'a')}) {
        INFO(bad);
        auto r = s.lf({"create", "--name", bad, "busybox"});
        CHECK(r.status != 0);
        CHECK(r.output.find("layerfs: ") != std::string::npos);
    }
    auto again = s.lf({"create", "--name", "web-1.a_b", "busybox"});
    CHECK(again.status == 1);
    CHECK(again.output.find("already in use") != std::string::npos);
    auto missing = s.lf({"create", "nosuchimage:1"});
    CHECK(missing.status == 1);
    CHECK(missing.output.find("not found") != std::string::npos);
    CHECK(list_dir(s.root + "/containers").size() == 1);
}

TEST_CASE("mount CONTAINER prints its root, rm refuses it mounted unless -f", "[containers]") {
    TestStore s;
    auto made = s.lf({"create", "--name", "c", "busybox"});
    REQUIRE(made.status == 0);
    const std::string id = first_line(made.output);
    const std::string merged = s.root + "/containers/" + id + "/merged";

    auto m = s.lf({"mount", "c"});
    INFO(m.output);
    REQUIRE(m.status == 0);
    CHECK(first_line(m.output) == merged);
    CHECK(is_mounted(merged));
    write_file(merged + "/tmp/x", "x\n");
    // Mounting again (by id prefix) finds the mount that is there.
    auto again = s.lf({"mount", id.substr(0, 12)});
    CHECK(first_line(again.output) == merged);

    auto refused = s.lf({"rm", "c"});
    CHECK(refused.status == 1);
    CHECK(refused.output.find("is mounted") != std::string::npos);
    CHECK(is_mounted(merged));

    REQUIRE(s.lf({"umount", "c"}).status == 0);
    CHECK_FALSE(is_mounted(merged));
    // The files stay with the container, mounted or not.
    REQUIRE(s.lf({"mount", "c"}).status == 0);
    CHECK(read_file(merged + "/tmp/x") == "x\n");

    auto removed = s.lf({"rm", "-f", "c"});
    INFO(removed.output);
    CHECK(removed.status == 0);
    CHECK_FALSE(is_mounted(merged));
    CHECK_FALSE(exists(s.root + "/containers/" + id));
    CHECK(s.lf({"rm", "c"}).status == 1);
    // Its image goes once no container holds it.
    CHECK(s.lf({"rmi", "busybox"}).status == 0);
}

TEST_CASE("mount PATH without -o is still the mount command line, not a container",
          "[containers]") {
    TestStore s;
    TempDir t;
    auto r = s.lf({"mount", t.path()});
    CHECK(r.status == 2);
    CHECK(r.output.find("lowerdir") != std::string::npos);
}
