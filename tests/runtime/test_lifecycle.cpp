// The life of a container after `run`: detached, listed, logged, exec'd into,
// signalled, stopped, started again, committed, removed, and what a monitor
// killed with -9 leaves. [both] cases run as root and again as an ordinary
// user, in a user namespace.
#include <signal.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <string>
#include <thread>
#include <vector>

#include "tests/runtime/runtime_helpers.hpp"

using namespace layerfs::test;

namespace {

// The row of `ps` (or `ps -a`) for the container, "" when it is not listed.
std::string ps_row(const RtStore& s, const std::string& id, bool all) {
    auto r = s.rt(all ? std::vector<std::string>{"ps", "-a"} : std::vector<std::string>{"ps"});
    REQUIRE(r.status == 0);
    auto rows = lines_of(r.out);
    REQUIRE_FALSE(rows.empty());
    CHECK(rows[0].rfind("CONTAINER ID", 0) == 0);
    for (const auto& row : rows)
        if (row.rfind(id.substr(0, 12) + " ", 0) == 0) return row;
    return "";
}

bool logs_have(const RtStore& s, const std::string& c, const std::string& text) {
    return contains(s.rt({"logs", c}).out, text);
}

// The command sets itself up (a trap, a file) and then touches /ready: `run -d`
// returns once it was exec'd, not once it got that far.
void wait_ready(const RtStore& s, const std::string& c) {
    REQUIRE(wait_for([&] { return s.rt({"exec", c, "test", "-e", "/ready"}).status == 0; }));
}

int pid_of(const RtStore& s, const std::string& c) {
    return inspect_container(s, c)["State"]["Pid"].get<int>();
}

}  // namespace

TEST_CASE("run -d, ps, logs, stop, rm: a detached container from start to end", "[runtime][both]") {
    RtStore s;
    auto started = s.rt({"run", "-d", "--name", "web", "busybox", "sh", "-c",
                         "trap 'echo got TERM; exit 42' TERM; echo out-line; echo err-line >&2; "
                         "touch /ready; while true; do usleep 50000; done",
                         s.root});
    INFO(started.all());
    REQUIRE(started.status == 0);
    // Only the id: the command's output goes to the log, not to the caller.
    REQUIRE(started.out.size() == 65);
    const std::string id = started.out.substr(0, 64);
    s.guard.add(id);
    CHECK(started.err.empty());
    wait_ready(s, "web");

    std::string row = ps_row(s, id, false);
    INFO(row);
    CHECK(contains(row, "busybox:latest"));
    CHECK(contains(row, " Up "));
    CHECK(row.substr(row.size() - 4) == " web");
    CHECK(has_line(s.rt({"ps", "-q"}).out, id.substr(0, 12)));
    auto j = inspect_container(s, "web");
    CHECK(j["Id"] == id);
    CHECK(j["Name"] == "/web");
    CHECK(j["State"]["Status"] == "running");
    CHECK(j["State"]["Running"] == true);
    const int init = j["State"]["Pid"];
    CHECK(init > 0);
    CHECK(cmdline_of(init) != "");
    const std::string ns = pid_namespace_of(init);
    CHECK(ns != pid_namespace_of(::getpid()));

    // stdout and stderr stay apart in the log.
    auto logs = s.rt({"logs", "web"});
    CHECK(logs.status == 0);
    CHECK(logs.out == "out-line\n");
    CHECK(logs.err == "err-line\n");
    auto by_shell =
        run_io({"sh", "-c", "\"$0\" --root \"$1\" logs web 2>/dev/null", layerfs_bin(), s.root});
    CHECK(by_shell.out == "out-line\n");

    // stop: the stop signal reaches the command, which exits its own way.
    auto stop = s.rt({"stop", "web"});
    INFO(stop.all());
    CHECK(stop.status == 0);
    CHECK(stop.out == "web\n");
    j = inspect_container(s, "web");
    CHECK(j["State"]["Status"] == "exited");
    CHECK(j["State"]["Running"] == false);
    CHECK(j["State"]["ExitCode"] == 42);
    CHECK(j["State"]["Pid"] == 0);
    CHECK(s.rt({"logs", "web"}).out == "out-line\ngot TERM\n");
    CHECK(ps_row(s, id, false) == "");
    CHECK(contains(ps_row(s, id, true), "Exited (42)"));

    auto rm = s.rt({"rm", "web"});
    CHECK(rm.status == 0);
    check_nothing_left(s, id, ns);
    CHECK(ps_row(s, id, true) == "");
    CHECK(s.rt({"logs", "web"}).status != 0);
}

TEST_CASE("logs -f follows the container until it exits, its last line included",
          "[runtime][both]") {
    RtStore s;
    std::string id = s.detached({"busybox", "sh", "-c",
                                 "echo before; while [ ! -e /go ]; do usleep 20000; done; "
                                 "echo after; echo on-stderr >&2; usleep 200000; echo last"});
    REQUIRE(wait_for([&] { return logs_have(s, id, "before"); }));
    // The container cannot end before /go, and /go comes once logs -f runs.
    Proc follow;
    std::thread t([&] { follow = s.rt({"logs", "-f", id}, {.timeout = 30}); });
    bool following = wait_for([&] { return child_with(" logs -f ") > 0; }, 10);
    auto go = s.rt({"exec", id, "touch", "/go"});
    t.join();
    CHECK(following);
    CHECK(go.status == 0);
    INFO(follow.all());
    CHECK_FALSE(follow.timed_out);
    CHECK(follow.status == 0);
    CHECK(follow.out == "before\nafter\nlast\n");
    CHECK(follow.err == "on-stderr\n");
    CHECK(status_of(s, id) == "exited");
    // Of a container that has ended, -f returns at once with all of it.
    auto again = s.rt({"logs", "-f", id}, {.timeout = 10});
    CHECK_FALSE(again.timed_out);
    CHECK(again.out == "before\nafter\nlast\n");
}

TEST_CASE("exec runs in the running container: its files, hostname, pids and status",
          "[runtime][both]") {
    RtStore s;
    std::string id = s.detached({"--name", "e", "--hostname", "ehost", "busybox", "sh", "-c",
                                 "echo content > /tmp/made; touch /ready; exec sleep 1000"});
    wait_ready(s, "e");
    CHECK(s.rt({"exec", "e", "cat", "/tmp/made"}).out == "content\n");
    CHECK(s.rt({"exec", "e", "hostname"}).out == "ehost\n");
    auto env = s.rt({"exec", "e", "env"}).out;
    CHECK(has_line(env, "HOSTNAME=ehost"));
    CHECK(has_line(env, "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"));
    CHECK(s.rt({"exec", "e", "sh", "-c", "exit 7"}).status == 7);
    auto missing = s.rt({"exec", "e", "nosuchcommand"});
    CHECK(missing.status == 127);
    CHECK(contains(missing.err, "executable file not found"));
    // Its PID namespace: init, the command, and exec's process.
    auto ps = s.rt({"exec", "e", "ps", "-o", "pid,comm"});
    CHECK(has_line(ps.out, "    1 layerfs-init"));
    CHECK(has_line(ps.out, "    2 sleep"));
    // What exec writes is the container's, for its diff.
    REQUIRE(s.rt({"exec", "e", "sh", "-c", "echo x > /by-exec"}).status == 0);
    CHECK(has_line(s.rt({"diff", "e"}).out, "A /by-exec"));

    // stdin only with -i; a pty only with -t.
    CHECK(s.rt({"exec", "-i", "e", "cat"}, {.input = "abc\n"}).out == "abc\n");
    auto no_stdin =
        s.rt({"exec", "e", "cat"}, {.input = "not for cat\n", .hold_stdin = true, .timeout = 20});
    CHECK_FALSE(no_stdin.timed_out);
    CHECK(no_stdin.out.empty());
    auto tty = run_io(
        {"script", "-qec", layerfs_bin() + " --root " + s.root + " exec -t e tty", "/dev/null"},
        {.timeout = 30});
    INFO(tty.all());
    CHECK_FALSE(tty.timed_out);
    CHECK(tty.status == 0);
    CHECK(tty.out.rfind("/dev/pts/", 0) == 0);
    CHECK(s.rt({"exec", "e", "tty"}).out == "not a tty\n");

    REQUIRE(s.rt({"stop", "e"}).status == 0);
    CHECK(inspect_container(s, "e")["State"]["ExitCode"] == 143);
    auto stopped = s.rt({"exec", "e", "true"});
    CHECK(stopped.status != 0);
    CHECK(contains(stopped.err, "not running"));
    CHECK(s.rt({"exec", "nosuchcontainer", "true"}).status != 0);
}

TEST_CASE("exec runs as the container's user, in its working directory and network",
          "[runtime][both]") {
    RtStore s;
    std::string id = s.detached({"-u", "1000:1000", "-w", "/srv/app", "--network", "none", "-e",
                                 "FROM_RUN=1", "busybox", "sleep", "1000"});
    auto r = s.rt({"exec", id, "sh", "-c", "pwd; id -u; id -g; echo $FROM_RUN; cat /proc/net/dev"});
    INFO(r.all());
    REQUIRE(r.status == 0);
    auto l = lines_of(r.out);
    REQUIRE(l.size() >= 4);
    CHECK(l[0] == "/srv/app");
    CHECK(l[1] == "1000");
    CHECK(l[2] == "1000");
    CHECK(l[3] == "1");
    CHECK(l.size() == 7);  // /proc/net/dev: two header lines and lo
    CHECK(contains(r.out, "lo:"));
}

TEST_CASE("stop -t: SIGKILL once the command ignored the stop signal that long",
          "[runtime][both]") {
    RtStore s;
    std::string id = s.detached(
        {"busybox", "sh", "-c", "trap '' TERM; touch /ready; while true; do usleep 50000; done"});
    wait_ready(s, id);
    auto stop = s.rt({"stop", "-t", "1", id});
    INFO(stop.all());
    CHECK(stop.status == 0);
    CHECK(inspect_container(s, id)["State"]["ExitCode"] == 137);
    // Stopping what has stopped is no error and changes nothing.
    CHECK(s.rt({"stop", id}).status == 0);
    CHECK(inspect_container(s, id)["State"]["ExitCode"] == 137);
}

TEST_CASE("kill sends the signal given, SIGKILL by default, only to a running container",
          "[runtime][both]") {
    RtStore s;
    std::string id =
        s.detached({"--name", "k", "busybox", "sh", "-c",
                    "trap 'echo got USR1' USR1; touch /ready; while true; do usleep 50000; done"});
    wait_ready(s, "k");
    auto usr1 = s.rt({"kill", "-s", "USR1", "k"});
    CHECK(usr1.status == 0);
    CHECK(usr1.out == "k\n");
    CHECK(wait_for([&] { return logs_have(s, "k", "got USR1"); }));
    CHECK(status_of(s, "k") == "running");
    auto bad = s.rt({"kill", "-s", "NOSUCHSIGNAL", "k"});
    CHECK(bad.status != 0);
    CHECK(contains(bad.err, "NOSUCHSIGNAL"));
    CHECK(status_of(s, "k") == "running");

    REQUIRE(s.rt({"kill", "k"}).status == 0);
    REQUIRE(wait_exited(s, "k"));
    CHECK(inspect_container(s, "k")["State"]["ExitCode"] == 137);
    auto again = s.rt({"kill", "k"});
    CHECK(again.status != 0);
    CHECK(contains(again.err, "not running"));
}

TEST_CASE("kill -9 of the monitor: Exited (255), nothing left running, start works again",
          "[runtime][both]") {
    RtStore s;
    std::string id =
        s.detached({"--name", "m", "busybox", "sh", "-c",
                    "echo started; touch /ready; while true; do usleep 50000; done", s.root});
    wait_ready(s, "m");
    // init's parent is the sandbox, whose parent is the monitor.
    const int init = pid_of(s, "m");
    const std::string ns = pid_namespace_of(init);
    const int monitor = parent_of(parent_of(init));
    REQUIRE(monitor > 1);
    INFO(cmdline_of(monitor));
    REQUIRE(contains(cmdline_of(monitor), " run -d --name m busybox"));
    REQUIRE(::kill(monitor, SIGKILL) == 0);

    std::vector<std::string> left;
    CHECK(wait_for([&] { return (left = leftovers(s, "", ns)).empty(); }));
    CHECK(joined(left) == "");
    std::string row = ps_row(s, id, true);
    INFO(row);
    CHECK(contains(row, "Exited (255)"));
    CHECK(ps_row(s, id, false) == "");
    CHECK(inspect_container(s, "m")["State"]["ExitCode"] == 255);

    auto start = s.rt({"start", "m"});
    INFO(start.all());
    REQUIRE(start.status == 0);
    CHECK(contains(ps_row(s, id, false), " Up "));
    CHECK(wait_for([&] { return s.rt({"logs", "m"}).out == "started\nstarted\n"; }));
    CHECK(s.rt({"exec", "m", "true"}).status == 0);
    REQUIRE(s.rt({"rm", "-f", "m"}).status == 0);
    check_nothing_left(s, id);
}

TEST_CASE("commit: an image of the container's files, its deletions included", "[runtime][both]") {
    RtStore s;
    auto r = s.rt({"run", "--name", "c", "busybox", "sh", "-c",
                   "echo hello > /greeting; mkdir -p /opt/app; echo v1 > /opt/app/conf; "
                   "rm /bin/ed; rm -r /home; echo added >> /etc/passwd"});
    INFO(r.all());
    REQUIRE(r.status == 0);
    auto commit = s.rt({"commit", "c", "mine:1"});
    INFO(commit.all());
    REQUIRE(commit.status == 0);
    CHECK(commit.out.rfind("sha256:", 0) == 0);
    CHECK(commit.out.size() == 72);
    CHECK(listed_names(s).count("mine:1") == 1);

    auto seen = s.rt({"run", "--name", "c2", "mine:1", "sh", "-c",
                      "cat /greeting /opt/app/conf; tail -n 1 /etc/passwd; "
                      "ls /bin/ed /home 2>&1; echo end"});
    INFO(seen.all());
    CHECK(seen.status == 0);
    auto l = lines_of(seen.out);
    REQUIRE(l.size() == 6);
    CHECK(l[0] == "hello");
    CHECK(l[1] == "v1");
    CHECK(l[2] == "added");
    CHECK(contains(l[3], "No such file"));
    CHECK(contains(l[4], "No such file"));
    // The new container starts from the image: nothing in its own diff.
    CHECK(s.rt({"diff", "c2"}).out.empty());
    // busybox itself did not change.
    CHECK(s.rt({"run", "--rm", "busybox", "sh", "-c", "test -e /bin/ed && test -d /home"}).status ==
          0);
}

TEST_CASE("rm refuses a running container without -f, and rm -f leaves nothing",
          "[runtime][both]") {
    RtStore s;
    std::string id = s.detached(
        {"--name", "r", "busybox", "sh", "-c", "while true; do usleep 50000; done", s.root});
    const int init = pid_of(s, "r");
    const std::string ns = pid_namespace_of(init);
    auto refused = s.rt({"rm", "r"});
    CHECK(refused.status != 0);
    CHECK(contains(refused.err, "running"));
    CHECK(status_of(s, "r") == "running");
    CHECK(pid_of(s, "r") == init);
    CHECK(s.rt({"exec", "r", "true"}).status == 0);
    // Starting what runs changes nothing either.
    auto start = s.rt({"start", "r"});
    CHECK(start.status == 0);
    CHECK(pid_of(s, "r") == init);

    auto rm = s.rt({"rm", "-f", "r"});
    INFO(rm.all());
    CHECK(rm.status == 0);
    check_nothing_left(s, id, ns);
    CHECK(s.rt({"ps", "-a", "-q"}).out.empty());
    CHECK(s.rt({"rm", "r"}).status != 0);
    CHECK(s.rt({"rm", "-f", "r"}).status != 0);
}

TEST_CASE("names are one container's, and a stopped container refuses exec and kill",
          "[runtime][both]") {
    RtStore s;
    std::string id = s.detached({"--name", "dup", "busybox", "sleep", "1000"});
    for (bool detach : {true, false}) {
        std::vector<std::string> args = {"run", "--name", "dup", "busybox", "true"};
        if (detach) args.insert(args.begin() + 1, "-d");
        auto r = s.rt(args);
        INFO(r.all());
        CHECK(r.status != 0);
        CHECK(contains(r.err, "already in use"));
    }
    CHECK(lines_of(s.rt({"ps", "-a", "-q"}).out) == std::vector<std::string>{id.substr(0, 12)});
    CHECK(status_of(s, "dup") == "running");

    REQUIRE(s.rt({"run", "--name", "done", "busybox", "true"}).status == 0);
    for (const auto& cmd : {"exec", "kill"}) {
        std::vector<std::string> args = {cmd, "done"};
        if (std::string(cmd) == "exec") args.push_back("true");
        auto r = s.rt(args);
        INFO(cmd << ": " << r.all());
        CHECK(r.status != 0);
        CHECK(contains(r.err, "not running"));
    }
    CHECK(status_of(s, "done") == "exited");
    for (const auto& cmd : {"start", "stop", "kill", "logs", "inspect", "rm", "diff"}) {
        auto r = s.rt({cmd, "nosuchcontainer"});
        INFO(cmd << ": " << r.all());
        CHECK(r.status != 0);
        CHECK(contains(r.err, "nosuchcontainer"));
    }
}

TEST_CASE("start, stop, kill and rm take several containers", "[runtime][both]") {
    RtStore s;
    std::string a = s.detached({"--name", "a", "busybox", "sleep", "1000"});
    std::string b = s.detached({"--name", "b", "busybox", "sleep", "1000"});
    auto stop = s.rt({"stop", "-t", "5", "a", "b"});
    CHECK(stop.out == "a\nb\n");
    CHECK(status_of(s, "a") == "exited");
    CHECK(status_of(s, "b") == "exited");
    auto start = s.rt({"start", "a", b.substr(0, 12)});
    CHECK(start.out == "a\n" + b.substr(0, 12) + "\n");
    CHECK(status_of(s, "a") == "running");
    CHECK(status_of(s, "b") == "running");
    CHECK(s.rt({"kill", "a", "b"}).status == 0);
    CHECK(wait_exited(s, "a"));
    CHECK(wait_exited(s, "b"));
    CHECK(s.rt({"rm", "a", "b"}).status == 0);
    CHECK(s.rt({"ps", "-a", "-q"}).out.empty());
}

// docker's way: a container that fails is reported, the others are still done.
TEST_CASE("a failing container among several does not spare the others", "[runtime][both]") {
    RtStore s;
    s.detached({"--name", "a", "busybox", "sleep", "1000"});
    s.detached({"--name", "b", "busybox", "sleep", "1000"});
    auto kill = s.rt({"kill", "a", "nosuchcontainer", "b"});
    CHECK(kill.status != 0);
    CHECK(contains(kill.err, "nosuchcontainer"));
    CHECK(wait_exited(s, "a", 5));
    CHECK(wait_exited(s, "b", 5));
    auto rm = s.rt({"rm", "a", "nosuchcontainer", "b"});
    CHECK(rm.status != 0);
    CHECK(s.rt({"ps", "-a", "-q"}).out.empty());
}

// A container that never ran has no log yet: nothing to show, nothing to follow.
TEST_CASE("logs of a container that never ran: nothing, with or without -f", "[runtime][both]") {
    RtStore s;
    auto made = s.rt({"create", "--name", "new", "busybox"});
    REQUIRE(made.status == 0);
    s.guard.add(made.out.substr(0, 64));
    CHECK(contains(s.rt({"ps", "-a"}).out, "Created"));
    auto logs = s.rt({"logs", "new"});
    CHECK(logs.status == 0);
    CHECK(logs.all().empty());
    auto follow = s.rt({"logs", "-f", "new"}, {.timeout = 10});
    INFO(follow.all());
    CHECK_FALSE(follow.timed_out);
    CHECK(follow.status == 0);
    CHECK(follow.all().empty());
}
