// A container's run state, as far as it is pure: the start time in
// /proc/PID/stat and docker ps's STATUS column: cli/runtime/container_state.cpp.
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdint>
#include <fstream>
#include <iterator>
#include <optional>
#include <string>

#include "cli/runtime/container_state.hpp"
#include "snapshotter/human.hpp"

using layerfs::runtime::describe_status;
using layerfs::runtime::init_alive;
using layerfs::runtime::parse_start_time;
using layerfs::runtime::process_start_time;
using layerfs::runtime::RunState;
using layerfs::store::format_rfc3339;

namespace {

// A /proc/PID/stat line as Linux 6.x prints it (52 fields), with `comm` and
// `start` (field 22) put in.
std::string stat_line(const std::string& comm, const std::string& start) {
    return "4242 (" + comm +
           ") S 1 4242 4242 34816 4242 4194560 1085 20335 0 3 2 5 17 9 20 0 1 0 " + start +
           " 10915840 1107 18446744073709551615 94250000000000 94250000100000 140730000000000 0 "
           "0 0 65536 3686404 1266761467 1 0 0 17 3 0 0 0 0 0 94250000200000 94250000300000 "
           "94250000400000 140730000001000 140730000001100 140730000001100 140730000002000 0\n";
}

std::string read_text(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// A fixed "now": 2024-01-02T03:04:05Z.
constexpr int64_t kNow = 1704164645;

}  // namespace

TEST_CASE("parse_start_time: field 22 of a stat line", "[runtime]") {
    CHECK(parse_start_time(stat_line("bash", "987654")) == 987654u);
    CHECK(parse_start_time(stat_line("layerfs-init", "0")) == 0u);
    CHECK(parse_start_time(stat_line("x", "18446744073709551615")) == UINT64_MAX);
    // Without the fields after it, or without the final newline.
    CHECK(parse_start_time("1 (init) S 0 1 1 0 -1 4194560 1 2 3 4 5 6 7 8 20 0 1 0 77") == 77u);
    CHECK(parse_start_time("1 (init) S 0 1 1 0 -1 4194560 1 2 3 4 5 6 7 8 20 0 1 0 77 5") == 77u);
}

TEST_CASE("parse_start_time: a command name with spaces and parentheses", "[runtime]") {
    // The kernel prints comm as it is: a process can name itself anything.
    CHECK(parse_start_time(stat_line("tmux: server", "1111")) == 1111u);
    CHECK(parse_start_time(stat_line("a) b (c", "2222")) == 2222u);
    CHECK(parse_start_time(stat_line(") 1 2 3 4 5", "3333")) == 3333u);
    CHECK(parse_start_time(stat_line("))", "4444")) == 4444u);
    CHECK(parse_start_time(stat_line("(", "5555")) == 5555u);
    CHECK(parse_start_time(stat_line("", "6666")) == 6666u);
    CHECK(parse_start_time(stat_line("  ", "7777")) == 7777u);
}

TEST_CASE("parse_start_time: truncated or malformed lines", "[runtime]") {
    std::string line = stat_line("bash", "987654");
    size_t start_at = line.find(" 987654 ");
    REQUIRE(start_at != std::string::npos);
    // Cut anywhere before field 22 begins.
    for (size_t cut :
         {size_t(0), size_t(5), line.find(')'), line.find(')') + 1, start_at, start_at + 1}) {
        INFO("cut at " << cut);
        CHECK_FALSE(parse_start_time(line.substr(0, cut)));
    }
    CHECK_FALSE(parse_start_time(""));
    CHECK_FALSE(parse_start_time("4242 (bash"));
    CHECK_FALSE(parse_start_time("4242 (bash)"));
    CHECK_FALSE(parse_start_time("4242 (bash) "));
    CHECK_FALSE(parse_start_time("1 (init) S 0 1 1 0 -1 4194560 1 2 3 4 5 6 7 8 20 0 1 0"));
    CHECK_FALSE(parse_start_time(stat_line("bash", "98x")));
    CHECK_FALSE(parse_start_time(stat_line("bash", "-1")));
    CHECK_FALSE(parse_start_time(stat_line("bash", "99999999999999999999999")));
}

TEST_CASE("process_start_time: this process, as /proc/self/stat says", "[runtime]") {
    auto mine = process_start_time(::getpid());
    REQUIRE(mine);
    auto expected = parse_start_time(read_text("/proc/self/stat"));
    REQUIRE(expected);
    CHECK(*mine == *expected);
    // The parent started no later than us.
    auto parent = process_start_time(::getppid());
    REQUIRE(parent);
    CHECK(*parent <= *mine);
}

TEST_CASE("process_start_time: no such process", "[runtime]") {
    // Above any pid_max Linux allows (2^22).
    CHECK_FALSE(process_start_time(2147483647));
    CHECK_FALSE(process_start_time(-1));
}

TEST_CASE("init_alive: same pid and same start time", "[runtime]") {
    RunState st;
    st.status = "running";
    st.pid = ::getpid();
    st.pid_start = process_start_time(st.pid).value_or(0);
    REQUIRE(st.pid_start != 0u);
    CHECK(init_alive(st));
    SECTION("a reused pid has another start time") {
        st.pid_start += 1;
        CHECK_FALSE(init_alive(st));
    }
    SECTION("only a running container has a live init") {
        st.status = "exited";
        CHECK_FALSE(init_alive(st));
    }
    SECTION("no pid") {
        st.pid = 0;
        CHECK_FALSE(init_alive(st));
    }
}

TEST_CASE("describe_status: created", "[runtime]") {
    RunState st;
    CHECK(describe_status(st, kNow) == "Created");
    st.started_at = format_rfc3339(kNow - 60);
    CHECK(describe_status(st, kNow) == "Created");
}

TEST_CASE("describe_status: running", "[runtime]") {
    RunState st;
    st.status = "running";
    auto up_for = [&](int64_t seconds) {
        st.started_at = format_rfc3339(kNow - seconds);
        return describe_status(st, kNow);
    };
    CHECK(up_for(0) == "Up Less than a second");
    CHECK(up_for(1) == "Up 1 second");
    CHECK(up_for(5) == "Up 5 seconds");
    CHECK(up_for(90) == "Up About a minute");
    CHECK(up_for(45 * 60) == "Up 45 minutes");
    CHECK(up_for(3600) == "Up About an hour");
    CHECK(up_for(2 * 3600) == "Up 2 hours");
    CHECK(up_for(3 * 24 * 3600) == "Up 3 days");
}

TEST_CASE("describe_status: exited", "[runtime]") {
    RunState st;
    st.status = "exited";
    st.started_at = format_rfc3339(kNow - 7200);
    auto exited = [&](int code, int64_t seconds_ago) {
        st.exit_code = code;
        st.finished_at = format_rfc3339(kNow - seconds_ago);
        return describe_status(st, kNow);
    };
    CHECK(exited(0, 120) == "Exited (0) 2 minutes ago");
    CHECK(exited(1, 5) == "Exited (1) 5 seconds ago");
    CHECK(exited(137, 3600) == "Exited (137) About an hour ago");
    CHECK(exited(255, 0) == "Exited (255) Less than a second ago");
    CHECK(exited(127, 2 * 24 * 3600) == "Exited (127) 2 days ago");
}
