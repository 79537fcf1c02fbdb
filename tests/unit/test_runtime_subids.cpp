// Subordinate id ranges and newuidmap's arguments: cli/runtime/subids.cpp.
#include <catch2/catch.hpp>
#include <optional>
#include <string>
#include <vector>

#include "cli/runtime/subids.hpp"

using layerfs::runtime::find_subid_range;
using layerfs::runtime::idmap_args;
using layerfs::runtime::IdRange;
using Strings = std::vector<std::string>;

namespace {

// /etc/subuid as shadow's tools and admins write it, with the mistakes a hand
// edit leaves behind.
const char* const kSubuid =
    "# subordinate uids\n"
    "alice:100000:65536\n"
    "1001:200000:65536\n"
    "bob:300000:0\n"
    "bob:400000:1000\n"
    "carol:bad:65536\n"
    "carol:500000\n"
    "carol\n"
    "carol:500000:-1\n"
    "carol:500000:12x\n"
    "carol:600000:70000\n"
    "\n"
    "dave:700000:65536";

void check_range(const std::optional<IdRange>& r, uint32_t start, uint32_t count) {
    REQUIRE(r);
    CHECK(r->start == start);
    CHECK(r->count == count);
}

}  // namespace

TEST_CASE("find_subid_range: by user name", "[runtime]") {
    check_range(find_subid_range(kSubuid, "alice", 1000), 100000, 65536);
    // The last line needs no newline.
    check_range(find_subid_range(kSubuid, "dave", 1004), 700000, 65536);
}

TEST_CASE("find_subid_range: by uid", "[runtime]") {
    check_range(find_subid_range(kSubuid, "erin", 1001), 200000, 65536);
    // A uid is matched whole, not as a prefix.
    CHECK_FALSE(find_subid_range(kSubuid, "erin", 100));
    CHECK_FALSE(find_subid_range(kSubuid, "erin", 10011));
}

TEST_CASE("find_subid_range: the first usable line wins", "[runtime]") {
    const char* text =
        "1000:1:2\n"
        "alice:3:4\n"
        "alice:5:6\n";
    check_range(find_subid_range(text, "alice", 1000), 1, 2);
    check_range(find_subid_range(text, "alice", 999), 3, 4);
}

TEST_CASE("find_subid_range: a range of zero ids is skipped", "[runtime]") {
    check_range(find_subid_range(kSubuid, "bob", 1002), 400000, 1000);
    CHECK_FALSE(find_subid_range("bob:300000:0\n", "bob", 1002));
}

TEST_CASE("find_subid_range: malformed lines are skipped", "[runtime]") {
    check_range(find_subid_range(kSubuid, "carol", 1003), 600000, 70000);
    CHECK_FALSE(find_subid_range("carol:bad:65536\ncarol:1:2:3\ncarol:\n", "carol", 1003));
}

TEST_CASE("find_subid_range: comments, empty text, unknown users", "[runtime]") {
    CHECK_FALSE(find_subid_range("", "alice", 1000));
    CHECK_FALSE(find_subid_range("# alice:100000:65536\n#alice:1:2\n", "alice", 1000));
    CHECK_FALSE(find_subid_range("\n\n\n", "alice", 1000));
    CHECK_FALSE(find_subid_range(kSubuid, "frank", 4242));
    // A name is matched whole too.
    CHECK_FALSE(find_subid_range(kSubuid, "ali", 4242));
    CHECK_FALSE(find_subid_range(kSubuid, "alicex", 4242));
}

TEST_CASE("idmap_args: the caller as 0, then the range from 1", "[runtime]") {
    CHECK(idmap_args(1000, IdRange{100000, 65536}) ==
          Strings{"0", "1000", "1", "1", "100000", "65536"});
    CHECK(idmap_args(0, IdRange{1, 1}) == Strings{"0", "0", "1", "1", "1", "1"});
}

TEST_CASE("idmap_args: without a range, only the caller", "[runtime]") {
    CHECK(idmap_args(1000, std::nullopt) == Strings{"0", "1000", "1"});
    CHECK(idmap_args(4294967294u, std::nullopt) == Strings{"0", "4294967294", "1"});
}
