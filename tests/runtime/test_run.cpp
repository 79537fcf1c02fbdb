// `layerfs run` of the built-in busybox image, one container at a time: what
// the command sees (status, environment, user, pid 1, hostname, network,
// volumes, terminal, stdin) and what its writes leave behind. [both] cases run
// as root and again as an ordinary user, in a user namespace.
#include <signal.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <string>
#include <thread>
#include <vector>

#include "tests/runtime/runtime_helpers.hpp"

using namespace layerfs::test;

namespace {

// The one line of a command's output, without its newline (or a pty's \r).
std::string trimmed(std::string s) {
    while (!s.empty() && (s.back() == '\n' || s.back() == '\r'))
        s.pop_back();
    return s;
}

std::string interfaces_in(const std::string& proc_net_dev) {
    std::string names;
    for (const auto& line : lines_of(proc_net_dev)) {
        auto colon = line.find(':');
        if (colon == std::string::npos) continue;
        auto start = line.find_first_not_of(' ');
        names += line.substr(start, colon - start) + " ";
    }
    return names;
}

}  // namespace

TEST_CASE("run: the command's exit status, 128+N for signal N", "[runtime][both]") {
    RtStore s;
    CHECK(s.rt({"run", "busybox", "sh", "-c", "exit 3"}).status == 3);
    CHECK(s.rt({"run", "busybox", "sh", "-c", "exit 0"}).status == 0);
    CHECK(s.rt({"run", "busybox", "sh", "-c", "kill -9 $$"}).status == 137);
    CHECK(s.rt({"run", "busybox", "sh", "-c", "kill -TERM $$"}).status == 143);
    // The status is also the container's, for ps and inspect.
    REQUIRE(s.rt({"run", "--name", "three", "busybox", "sh", "-c", "exit 3"}).status == 3);
    auto st = inspect_container(s, "three")["State"];
    CHECK(st["Status"] == "exited");
    CHECK(st["ExitCode"] == 3);
    CHECK_FALSE(st["Running"].get<bool>());
    CHECK(st["Pid"] == 0);
}

TEST_CASE("run: a missing command is 127, one that cannot execute 126", "[runtime][both]") {
    RtStore s;
    auto missing = s.rt({"run", "--name", "m", "busybox", "nosuchcommand", "arg"});
    CHECK(missing.status == 127);
    CHECK(contains(missing.err,
                   "layerfs: exec: \"nosuchcommand\": executable file not found in $PATH"));
    CHECK(missing.out.empty());
    CHECK(s.rt({"run", "busybox", "/no/such/file"}).status == 127);
    // A file without x bits, and a directory.
    auto plain = s.rt({"run", "busybox", "/etc/passwd"});
    CHECK(plain.status == 126);
    CHECK(contains(plain.err, "/etc/passwd"));
    CHECK(s.rt({"run", "busybox", "/etc"}).status == 126);
    // Detached, the failure is the caller's: nothing runs to report it later.
    auto d = s.rt({"run", "-d", "busybox", "nosuchcommand"});
    CHECK(d.status == 127);
    CHECK(contains(d.err, "executable file not found"));
    CHECK(inspect_container(s, "m")["State"]["ExitCode"] == 127);
}

TEST_CASE("run: the image's PATH, -e NAME=VALUE and -e NAME", "[runtime][both]") {
    RtStore s;
    auto r = run_io({"env", "LAYERFS_TEST_FROM_CALLER=caller's value",
                     "LAYERFS_TEST_NOT_ASKED=leaked", layerfs_bin(), "--root", s.root, "run", "-e",
                     "K=V", "-e", "EQ=a=b", "-e", "LAYERFS_TEST_FROM_CALLER", "-e",
                     "LAYERFS_TEST_UNSET_IN_CALLER", "busybox", "env"});
    INFO(r.all());
    REQUIRE(r.status == 0);
    CHECK(has_line(r.out, "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"));
    CHECK(has_line(r.out, "K=V"));
    CHECK(has_line(r.out, "EQ=a=b"));
    CHECK(has_line(r.out, "LAYERFS_TEST_FROM_CALLER=caller's value"));
    CHECK_FALSE(contains(r.out, "LAYERFS_TEST_UNSET_IN_CALLER"));
    // Nothing else of the caller's environment leaks in.
    CHECK_FALSE(contains(r.out, "LAYERFS_TEST_NOT_ASKED"));
    // -e replaces an image variable rather than adding a second one.
    auto p =
        s.rt({"run", "-e", "PATH=/bin", "busybox", "sh", "-c", "echo $PATH; env | grep -c ^PATH="});
    CHECK(p.out == "/bin\n1\n");
}

// run's options end at IMAGE: what follows is the command's, as docker parses it.
TEST_CASE("run: every word after IMAGE is the command's, dashes included", "[runtime][both]") {
    RtStore s;
    // After the first word of the command, dashes already pass through.
    CHECK(s.rt({"run", "--rm", "busybox", "echo", "-d", "--name", "x"}).out == "-d --name x\n");
    // The words of an entrypoint's command start with a dash all the time.
    auto e = s.rt({"run", "--rm", "--entrypoint", "echo", "busybox", "-e", "a\\tb"});
    INFO(e.all());
    CHECK(e.out == "a\tb\n");
    auto w = s.rt({"run", "--rm", "--entrypoint", "echo", "busybox", "-w", "/tmp"});
    CHECK(w.out == "-w /tmp\n");
    auto d = s.rt({"run", "--rm", "--entrypoint", "echo", "busybox", "-d"});
    CHECK(d.out == "-d\n");
}

TEST_CASE("run -w: a working directory that did not exist is made", "[runtime][both]") {
    RtStore s;
    auto r = s.rt({"run", "--name", "w", "-w", "/some/new/dir", "busybox", "pwd"});
    INFO(r.all());
    REQUIRE(r.status == 0);
    CHECK(r.out == "/some/new/dir\n");
    // Made in the container's layer, like any directory it makes.
    CHECK(contains(s.rt({"diff", "w"}).out, "A /some/new/dir\n"));
    auto d = s.rt({"run", "-w", "/etc", "busybox", "sh", "-c", "pwd; ls passwd"});
    CHECK(d.out == "/etc\npasswd\n");
    // Relative paths are refused before anything runs.
    auto rel = s.rt({"run", "-w", "rel/dir", "busybox", "pwd"});
    CHECK(rel.status != 0);
    CHECK(contains(rel.err, "absolute"));
}

TEST_CASE("run -u: numeric ids and names from the image's /etc/passwd", "[runtime][both]") {
    RtStore s;
    auto ids = s.rt({"run", "-u", "1000:1000", "busybox", "sh", "-c",
                     "id -u; id -g; touch /tmp/mine; stat -c %u:%g /tmp/mine"});
    INFO(ids.all());
    CHECK(ids.status == 0);
    CHECK(ids.out == "1000\n1000\n1000:1000\n");
    auto uid_only = s.rt({"run", "-u", "1234", "busybox", "sh", "-c", "id -u; id -g"});
    CHECK(uid_only.out == "1234\n0\n");
    auto nobody = s.rt({"run", "-u", "nobody", "busybox", "sh", "-c", "id -un; id -u; id -g"});
    INFO(nobody.all());
    CHECK(nobody.status == 0);
    CHECK(nobody.out == "nobody\n65534\n65534\n");
    // Without -u: root, whoever runs layerfs.
    CHECK(s.rt({"run", "busybox", "id", "-u"}).out == "0\n");
    auto unknown = s.rt({"run", "-u", "nosuchuser", "busybox", "true"});
    CHECK(unknown.status == 125);
    CHECK(contains(unknown.err, "nosuchuser"));
}

TEST_CASE("run: the command is pid 2 under layerfs-init", "[runtime][both]") {
    RtStore s;
    auto r = s.rt({"run", "busybox", "sh", "-c", "echo $$; cat /proc/1/comm; ps -o pid,comm"});
    INFO(r.all());
    REQUIRE(r.status == 0);
    auto l = lines_of(r.out);
    REQUIRE(l.size() >= 2);
    CHECK(l[0] == "2");
    CHECK(l[1] == "layerfs-init");
    // A PID namespace of its own: init and the command (sh exec'd ps), no more.
    CHECK(l.size() == 5);
    CHECK(l.back() == "    2 ps");
}

TEST_CASE("run: init reaps orphans", "[runtime][both]") {
    RtStore s;
    // The background sleep's parent subshell exits at once: the sleep is
    // orphaned to pid 1, and only pid 1 can reap its zombie, whose /proc entry
    // stays until then. Wait (up to 5 s) for it to go, then list what is left.
    auto r = s.rt({"run", "busybox", "sh", "-c",
                   "(sleep 0.2 & echo $! > /orphan); p=$(cat /orphan); i=0; "
                   "while [ -e /proc/$p ] && [ $i -lt 50 ]; do usleep 100000; i=$((i+1)); done; "
                   "ps -o stat,pid,comm"});
    INFO(r.all());
    REQUIRE(r.status == 0);
    for (const auto& line : lines_of(r.out)) {
        CHECK(line.rfind("Z", 0) != 0);
        CHECK_FALSE(contains(line, "sleep"));
    }
}

TEST_CASE("run in the foreground passes SIGINT and SIGTERM on to the command", "[runtime][both]") {
    RtStore s;
    for (int sig : {SIGINT, SIGTERM}) {
        const std::string name = sig == SIGINT ? "int" : "term";
        INFO(name);
        Proc fg;
        std::thread t([&] {
            fg = s.rt({"run", "--name", name, "busybox", "sh", "-c",
                       "trap 'echo got it; exit 9' INT TERM; touch /ready; "
                       "while true; do usleep 50000; done"},
                      {.timeout = 30});
        });
        // No REQUIRE before the join: the thread must be joined either way.
        bool ready = wait_for([&] {
            return s.rt({"exec", name, "test", "-e", "/ready"}).status == 0;
        });
        int cli = 0;
        wait_for([&] { return (cli = child_with(s.root + " run ")) > 0; }, 5);
        if (cli > 0) ::kill(cli, sig);
        t.join();
        CHECK(ready);
        CHECK(cli > 0);
        INFO(fg.all());
        CHECK_FALSE(fg.timed_out);
        CHECK(fg.status == 9);
        CHECK(fg.out == "got it\n");
    }
}

TEST_CASE("run: the hostname is the id's first 12 hex digits, or --hostname", "[runtime][both]") {
    RtStore s;
    auto r = s.rt({"run", "--name", "h", "busybox", "sh", "-c",
                   "hostname; cat /etc/hostname; echo $HOSTNAME"});
    INFO(r.all());
    REQUIRE(r.status == 0);
    std::string id = inspect_container(s, "h")["Id"];
    REQUIRE(id.size() == 64);
    const std::string short_id = id.substr(0, 12);
    CHECK(r.out == short_id + "\n" + short_id + "\n" + short_id + "\n");

    auto named = s.rt({"run", "--hostname", "foo", "busybox", "sh", "-c",
                       "hostname; cat /etc/hostname; echo $HOSTNAME; cat /etc/hosts"});
    INFO(named.all());
    REQUIRE(named.status == 0);
    auto l = lines_of(named.out);
    REQUIRE(l.size() >= 4);
    CHECK(l[0] == "foo");
    CHECK(l[1] == "foo");
    CHECK(l[2] == "foo");
    bool hosts_line = false;
    for (size_t i = 3; i < l.size(); i++) {
        std::istringstream cols(l[i]);
        std::string addr, name;
        cols >> addr;
        while (cols >> name)
            hosts_line = hosts_line || name == "foo";
    }
    CHECK(hosts_line);
    // The host keeps its own name: UTS is the container's namespace.
    char host[256] = {};
    ::gethostname(host, sizeof host - 1);
    CHECK(std::string(host) != "foo");
}

TEST_CASE("run: writes show in diff as A, C and D, but not the /etc files layerfs binds",
          "[runtime][both]") {
    RtStore s;
    auto r = s.rt({"run", "--name", "w", "--hostname", "other", "busybox", "sh", "-c",
                   "echo new > /newfile; echo x >> /etc/passwd; rm /bin/ed; mkdir /tmp/d; "
                   "echo y > /tmp/d/f; cat /etc/hostname /etc/hosts /etc/resolv.conf >/dev/null"});
    INFO(r.all());
    REQUIRE(r.status == 0);
    auto d = s.rt({"diff", "w"});
    INFO(d.all());
    REQUIRE(d.status == 0);
    CHECK(lines_of(d.out) == std::vector<std::string>{"C /bin", "D /bin/ed", "C /etc",
                                                      "C /etc/passwd", "A /newfile", "C /tmp",
                                                      "A /tmp/d", "A /tmp/d/f"});
    // A container that wrote nothing has nothing in its diff.
    REQUIRE(s.rt({"run", "--name", "quiet", "busybox", "cat", "/etc/hostname"}).status == 0);
    auto q = s.rt({"diff", "quiet"});
    CHECK(q.status == 0);
    CHECK(q.out.empty());
}

TEST_CASE("start: the container's files stay from one start to the next", "[runtime][both]") {
    RtStore s;
    REQUIRE(
        s.rt({"run", "--name", "c", "busybox", "sh", "-c", "echo start >> /count; wc -l < /count"})
            .status == 0);
    for (int i = 0; i < 2; i++) {
        auto st = s.rt({"start", "c"});
        INFO(st.all());
        REQUIRE(st.status == 0);
        CHECK(st.out == "c\n");
        REQUIRE(wait_exited(s, "c"));
    }
    auto logs = s.rt({"logs", "c"});
    CHECK(logs.out == "1\n2\n3\n");
    std::string upper = inspect_container(s, "c")["GraphDriver"]["Data"]["UpperDir"];
    CHECK(read_file(upper + "/count") == "start\nstart\nstart\n");
    CHECK(inspect_container(s, "c")["State"]["ExitCode"] == 0);
}

TEST_CASE("run --rm: nothing is left, in the foreground or detached", "[runtime][both]") {
    RtStore s;
    SECTION("foreground") {
        auto r = s.rt({"run", "--rm", "--name", "gone", "busybox", "sh", "-c",
                       "echo hi > /f; cat /f; exit 4"});
        INFO(r.all());
        CHECK(r.status == 4);
        CHECK(r.out == "hi\n");
        CHECK(s.rt({"ps", "-a", "-q"}).out.empty());
        CHECK(list_dir(s.root + "/containers").empty());
        check_nothing_left(s, "");
        // The name is free again.
        CHECK(s.rt({"run", "--rm", "--name", "gone", "busybox", "true"}).status == 0);
    }
    SECTION("detached, the command ending by itself") {
        // It ends when told to, and --rm removes it with nothing more asked.
        std::string id =
            s.detached({"--rm", "--name", "gone", "busybox", "sh", "-c",
                        "while [ ! -e /stop ]; do usleep 20000; done; echo done", s.root});
        std::string ns = pid_namespace_of(inspect_container(s, id)["State"]["Pid"]);
        CHECK_FALSE(ns.empty());
        CHECK(list_dir(s.root + "/containers").size() == 1);
        REQUIRE(s.rt({"exec", id, "touch", "/stop"}).status == 0);
        check_nothing_left(s, id, ns);
        CHECK(s.rt({"ps", "-a", "-q"}).out.empty());
        CHECK(list_dir(s.root + "/containers").empty());
    }
    SECTION("detached, killed") {
        std::string id = s.detached({"--rm", "busybox", "sleep", "1000"});
        std::string ns = pid_namespace_of(inspect_container(s, id)["State"]["Pid"]);
        REQUIRE(s.rt({"kill", id}).status == 0);
        check_nothing_left(s, id, ns);
        CHECK(s.rt({"ps", "-a", "-q"}).out.empty());
    }
}

TEST_CASE("run: two containers of one image do not see each other's writes", "[runtime][both]") {
    RtStore s;
    std::string a = s.detached({"--name", "a", "busybox", "sleep", "1000"});
    std::string b = s.detached({"--name", "b", "busybox", "sleep", "1000"});
    REQUIRE(
        s.rt({"exec", "a", "sh", "-c", "echo from-a > /shared; echo x >> /etc/passwd"}).status ==
        0);
    CHECK(s.rt({"exec", "a", "cat", "/shared"}).out == "from-a\n");
    CHECK(s.rt({"exec", "b", "cat", "/shared"}).status != 0);
    auto pw_a = s.rt({"exec", "a", "tail", "-n", "1", "/etc/passwd"}).out;
    auto pw_b = s.rt({"exec", "b", "tail", "-n", "1", "/etc/passwd"}).out;
    CHECK(pw_a == "x\n");
    CHECK(pw_b != "x\n");
    // And a new container of the image sees neither.
    CHECK(s.rt({"run", "--rm", "busybox", "cat", "/shared"}).status != 0);
}

TEST_CASE("run -v: read-only and writable directory binds, a file bind", "[runtime][both]") {
    RtStore s;
    const std::string ro = s.tmp / "ro", rw = s.tmp / "rw", file = s.tmp / "one.conf";
    write_file(ro + "/data", "read me\n");
    write_file(rw + "/data", "old\n");
    write_file(file, "key=value\n");
    auto r = s.rt({"run", "--name", "v", "-v", ro + ":/mnt/ro:ro", "-v", rw + ":/mnt/rw", "-v",
                   file + ":/etc/one.conf", "busybox", "sh", "-c",
                   "cat /mnt/ro/data; echo x > /mnt/ro/new && echo ro-writable; "
                   "echo y > /mnt/ro/data && echo ro-overwritten; "
                   "cat /mnt/rw/data; echo new > /mnt/rw/new; mkdir /mnt/rw/sub; "
                   "cat /etc/one.conf; echo more >> /etc/one.conf"});
    INFO(r.all());
    CHECK(r.status == 0);
    CHECK(r.out == "read me\nold\nkey=value\n");
    CHECK(contains(r.err, "Read-only file system"));
    CHECK(read_file(ro + "/data") == "read me\n");
    CHECK_FALSE(exists(ro + "/new"));
    CHECK(read_file(rw + "/new") == "new\n");
    CHECK(exists(rw + "/sub"));
    CHECK(read_file(file) == "key=value\nmore\n");
    // What went to the binds is the host's, not the container's layer (which
    // has the mount points only).
    auto d = s.rt({"diff", "v"});
    CHECK_FALSE(contains(d.out, "/mnt/rw/"));
    CHECK_FALSE(contains(d.out, "/mnt/ro/"));
    auto binds = inspect_container(s, "v")["HostConfig"]["Binds"];
    CHECK(binds ==
          nlohmann::json::array({ro + ":/mnt/ro:ro", rw + ":/mnt/rw", file + ":/etc/one.conf"}));
}

TEST_CASE("run: a bind target or working directory through the image's symlinks stays inside",
          "[runtime][both]") {
    RtStore s;
    // Absolute symlinks to a host path, and relative ones climbing past /:
    // inside the container both name paths of the container.
    const std::string outside = s.tmp / "outside", src = s.tmp / "src";
    write_file(src + "/f", "in the bind\n");
    REQUIRE(s.rt({"run", "--name", "l", "busybox", "sh", "-c",
                  "ln -s " + outside + " /abs; ln -s ../../../../../../.." + outside + " /rel"})
                .status == 0);
    REQUIRE(s.rt({"commit", "l", "links:1"}).status == 0);
    for (const std::string link : {"/abs", "/rel"}) {
        INFO(link);
        auto v =
            s.rt({"run", "--rm", "-v", src + ":" + link + "/x", "links:1", "cat", link + "/x/f"});
        INFO(v.all());
        // Refusing is safe; so is a bind under the container's own path.
        if (v.status == 0) CHECK(v.out == "in the bind\n");
        auto w = s.rt({"run", "--rm", "-w", link + "/wd", "links:1", "pwd"});
        INFO(w.all());
        if (w.status == 0) CHECK(w.out == link + "/wd\n");
        CHECK_FALSE(exists(outside));
    }
}

TEST_CASE("run --network none has only lo, the default the host's network", "[runtime][both]") {
    RtStore s;
    auto none = s.rt({"run", "--network", "none", "busybox", "cat", "/proc/net/dev"});
    INFO(none.all());
    REQUIRE(none.status == 0);
    CHECK(interfaces_in(none.out) == "lo ");
    auto up = s.rt({"run", "--network", "none", "busybox", "ip", "link", "show", "lo"});
    CHECK(contains(up.out, "UP"));

    const std::string host_ifs = interfaces_in(read_file("/proc/net/dev"));
    auto host = s.rt({"run", "busybox", "cat", "/proc/net/dev"});
    REQUIRE(host.status == 0);
    CHECK(interfaces_in(host.out) == host_ifs);
    auto explicit_host = s.rt({"run", "--network", "host", "busybox", "cat", "/proc/net/dev"});
    CHECK(interfaces_in(explicit_host.out) == host_ifs);
    REQUIRE(s.rt({"run", "--name", "n", "--network", "none", "busybox", "true"}).status == 0);
    CHECK(inspect_container(s, "n")["HostConfig"]["NetworkMode"] == "none");
}

TEST_CASE("run -t: the command's stdio is a pty", "[runtime][both]") {
    RtStore s;
    const std::string cmd = layerfs_bin() + " --root " + s.root + " run --rm -t busybox tty";
    auto r = run_io({"script", "-qec", cmd, "/dev/null"}, {.timeout = 30});
    INFO(r.all());
    REQUIRE_FALSE(r.timed_out);
    CHECK(r.status == 0);
    CHECK(trimmed(r.out) == "/dev/pts/0");
    // TERM comes with the pty; without -t there is neither.
    auto t =
        run_io({"script", "-qec",
                layerfs_bin() + " --root " + s.root + " run --rm -t busybox sh -c 'echo $TERM'",
                "/dev/null"},
               {.timeout = 30});
    CHECK(trimmed(t.out) == "xterm");
    auto plain = s.rt({"run", "--rm", "busybox", "tty"});
    CHECK(plain.status == 1);
    CHECK(plain.out == "not a tty\n");
}

TEST_CASE("run -i forwards stdin, and without -i the command's stdin is empty", "[runtime][both]") {
    RtStore s;
    auto r = s.rt({"run", "-i", "busybox", "sh"}, {.input = "echo hi\nexit 5\n"});
    INFO(r.all());
    CHECK(r.status == 5);
    CHECK(r.out == "hi\n");
    // The caller's stdin stays open and has data: without -i cat must not
    // read it, nor wait for it to close.
    auto closed = s.rt({"run", "busybox", "cat"},
                       {.input = "not for cat\n", .hold_stdin = true, .timeout = 20});
    INFO(closed.all());
    CHECK_FALSE(closed.timed_out);
    CHECK(closed.status == 0);
    CHECK(closed.out.empty());
}

TEST_CASE("run -i: the end of the caller's stdin is the end of the command's", "[runtime][both]") {
    RtStore s;
    // cat and wc end only when their stdin does.
    auto cat = s.rt({"run", "-i", "busybox", "cat"}, {.input = "line 1\nline 2\n", .timeout = 10});
    CHECK_FALSE(cat.timed_out);
    CHECK(cat.status == 0);
    CHECK(cat.out == "line 1\nline 2\n");
    auto wc = s.rt({"run", "-i", "busybox", "wc", "-l"}, {.timeout = 10});
    CHECK_FALSE(wc.timed_out);
    CHECK(wc.status == 0);
    CHECK(wc.out == "0\n");
}

TEST_CASE("run: mistakes are refused with a reason and leave no container", "[runtime][both]") {
    RtStore s;
    const std::string host_dir = s.tmp / "dir";
    make_dir(host_dir);
    struct Mistake {
        std::vector<std::string> args;
        std::string says;
    };
    const Mistake mistakes[] = {
        {{"run", "nosuchimage:1", "true"}, "not found"},
        {{"run", "-v", "relative/dir:/x", "busybox", "true"}, "absolute"},
        {{"run", "-v", host_dir + ":relative", "busybox", "true"}, "absolute"},
        {{"run", "-v", host_dir, "busybox", "true"}, "HOSTDIR:CTRDIR"},
        {{"run", "-v", host_dir + ":/x:rx", "busybox", "true"}, "unknown mode"},
        {{"run", "--network", "bridge", "busybox", "true"}, "bridge"},
        {{"run", "-e", "=V", "busybox", "true"}, "NAME=VALUE"},
    };
    for (const auto& m : mistakes) {
        auto r = s.rt(m.args);
        INFO(joined(m.args) << r.all());
        CHECK(r.status != 0);
        CHECK(contains(r.err, m.says));
        CHECK(r.out.empty());
        CHECK(s.rt({"ps", "-a", "-q"}).out.empty());
    }
    // A missing host path is found only when the container is set up: it
    // fails then, with the path, and runs nothing.
    auto missing = s.rt({"run", "--name", "mv", "-v", s.tmp / "nowhere" + ":/x", "busybox", "sh",
                         "-c", "echo ran"});
    CHECK(missing.status == 125);
    CHECK(contains(missing.err, s.tmp / "nowhere"));
    CHECK(missing.out.empty());
    CHECK(inspect_container(s, "mv")["State"]["ExitCode"] == 125);
    // Nor is anything of it still running or mounted.
    check_nothing_left(s, "");
}

TEST_CASE("run as root: the container's files are root's and its ids the host's", "[runtime]") {
    REQUIRE(::geteuid() == 0);
    RtStore s;
    REQUIRE(s.rt({"run", "--name", "r", "busybox", "sh", "-c",
                  "touch /by-root; mkdir /home/u; chown 1000:1000 /home/u"})
                .status == 0);
    REQUIRE(
        s.rt({"run", "--name", "n", "-u", "nobody", "busybox", "touch", "/tmp/by-nobody"}).status ==
        0);
    std::string upper = inspect_container(s, "r")["GraphDriver"]["Data"]["UpperDir"];
    CHECK(lstat_of(upper + "/by-root").st_uid == 0);
    CHECK(lstat_of(upper + "/home/u").st_uid == 1000);
    CHECK(lstat_of(upper + "/home/u").st_gid == 1000);
    std::string upper_n = inspect_container(s, "n")["GraphDriver"]["Data"]["UpperDir"];
    CHECK(lstat_of(upper_n + "/tmp/by-nobody").st_uid == 65534);
    auto map = s.rt({"run", "busybox", "cat", "/proc/self/uid_map"});
    CHECK(contains(map.out, "4294967295"));  // the initial user namespace's identity map
}

TEST_CASE("run as a user: ids 0..65535 map to the caller and its subordinate range",
          "[runtime][rootless]") {
    RtStore s;
    REQUIRE(::geteuid() != 0);
    auto map = s.rt({"run", "busybox", "cat", "/proc/self/uid_map"});
    INFO(map.all());
    REQUIRE(map.status == 0);
    auto l = lines_of(map.out);
    REQUIRE(l.size() == 2);
    std::istringstream first(l[0]), second(l[1]);
    long inside = -1, outside = -1, count = -1;
    first >> inside >> outside >> count;
    CHECK(inside == 0);
    CHECK(outside == long(::getuid()));
    CHECK(count == 1);
    second >> inside >> outside >> count;
    CHECK(inside == 1);
    CHECK(count >= 65535);

    REQUIRE(s.rt({"run", "--name", "u", "busybox", "sh", "-c",
                  "touch /by-root; mkdir /home/u; chown 1000:1000 /home/u"})
                .status == 0);
    // On the host the caller owns them; the container's owner is in an xattr.
    std::string upper = inspect_container(s, "u")["GraphDriver"]["Data"]["UpperDir"];
    CHECK(lstat_of(upper + "/by-root").st_uid == ::getuid());
    CHECK(lstat_of(upper + "/home/u").st_uid == ::getuid());
    char buf[256] = {};
    ssize_t n = ::lgetxattr((upper + "/home/u").c_str(), "user.containers.override_stat", buf,
                            sizeof buf - 1);
    REQUIRE(n > 0);
    CHECK(std::string(buf, size_t(n)).rfind("1000:1000:", 0) == 0);
    // In an image made from it, the owner is the container's again.
    REQUIRE(s.rt({"commit", "u", "owned:1"}).status == 0);
    auto again = s.rt({"run", "--rm", "owned:1", "stat", "-c", "%u:%g", "/home/u", "/by-root"});
    CHECK(again.out == "1000:1000\n0:0\n");
}
