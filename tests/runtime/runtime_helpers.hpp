#pragma once
// Helpers of the runtime tests: a store whose containers never outlive the
// test, commands with stdout and stderr kept apart and a time limit, waiting
// for a state, and the traces a container could leave behind (its directory,
// processes, mounts).
#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstring>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "tests/store/store_helpers.hpp"
#include "tests/support/fixture.hpp"

extern char** environ;

namespace layerfs::test {

struct Proc {
    int status = -1;  // exit status, 128+signal; -1 when it could not run
    std::string out, err;
    bool timed_out = false;
    std::string all() const { return out + err; }
};

struct IoOptions {
    std::string input = {};   // written to its stdin
    bool hold_stdin = false;  // then keep stdin open (and empty) until it exits
    double timeout = 60;      // seconds; then it is killed and timed_out set
};

// Runs argv with stdout and stderr on pipes of their own. A descendant that
// keeps either pipe open counts as still running: a `run -d` that leaks the
// caller's stdout into the container would hang its callers, so it must show.
inline Proc run_io(const std::vector<std::string>& argv, const IoOptions& o = {}) {
    // A child that exits before reading its input must not kill the tests.
    ::signal(SIGPIPE, SIG_IGN);
    int in[2], out[2], err[2];
    if (::pipe2(in, O_CLOEXEC) < 0 || ::pipe2(out, O_CLOEXEC) < 0 || ::pipe2(err, O_CLOEXEC) < 0)
        throw std::runtime_error("pipe");
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, in[0], 0);
    posix_spawn_file_actions_adddup2(&fa, out[1], 1);
    posix_spawn_file_actions_adddup2(&fa, err[1], 2);
    std::vector<char*> args;
    for (const auto& a : argv)
        args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    pid_t pid;
    int rc = ::posix_spawnp(&pid, args[0], &fa, nullptr, args.data(), environ);
    posix_spawn_file_actions_destroy(&fa);
    for (int fd : {in[0], out[1], err[1]})
        ::close(fd);
    Proc p;
    if (rc != 0) {
        for (int fd : {in[1], out[0], err[0]})
            ::close(fd);
        p.err = "cannot run " + argv[0] + ": " + std::strerror(rc);
        return p;
    }
    if (!o.input.empty()) (void)!::write(in[1], o.input.data(), o.input.size());
    if (!o.hold_stdin) {
        ::close(in[1]);
        in[1] = -1;
    }
    auto until = std::chrono::steady_clock::now() + std::chrono::duration<double>(o.timeout);
    pollfd fds[2] = {{out[0], POLLIN, 0}, {err[0], POLLIN, 0}};
    std::string* sinks[2] = {&p.out, &p.err};
    int open = 2;
    while (open > 0) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            until - std::chrono::steady_clock::now());
        if (left.count() <= 0) {
            p.timed_out = true;
            ::kill(pid, SIGKILL);
            break;
        }
        if (::poll(fds, 2, int(left.count())) < 0 && errno != EINTR) break;
        for (int i = 0; i < 2; i++) {
            if (fds[i].fd < 0 || !fds[i].revents) continue;
            char buf[4096];
            ssize_t n = ::read(fds[i].fd, buf, sizeof buf);
            if (n > 0) {
                sinks[i]->append(buf, size_t(n));
            } else {
                fds[i].fd = -1;
                open--;
            }
        }
    }
    for (int fd : {in[1], out[0], err[0]})
        if (fd >= 0) ::close(fd);
    int st = 0;
    ::waitpid(pid, &st, 0);
    p.status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    return p;
}

// Polls `done` until it holds; false when `seconds` pass first.
inline bool wait_for(const std::function<bool()>& done, double seconds = 20) {
    auto until = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
    while (!done()) {
        if (std::chrono::steady_clock::now() >= until) return false;
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return true;
}

inline std::vector<std::string> lines_of(const std::string& text) {
    std::vector<std::string> out;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);)
        out.push_back(line);
    return out;
}

inline bool has_line(const std::string& text, const std::string& line) {
    auto l = lines_of(text);
    return std::find(l.begin(), l.end(), line) != l.end();
}

inline bool contains(const std::string& text, const std::string& needle) {
    return text.find(needle) != std::string::npos;
}

// Removes, with `rm -f`, every container of the store when the test ends,
// passed or failed: a running one would otherwise outlive the test, and with
// it a monitor, a FUSE daemon and the command.
class ContainerGuard {
  public:
    explicit ContainerGuard(std::string root) : root_(std::move(root)) {}
    ContainerGuard(const ContainerGuard&) = delete;
    ContainerGuard& operator=(const ContainerGuard&) = delete;
    void add(const std::string& id) { ids_.push_back(id); }
    ~ContainerGuard() {
        std::vector<std::string> ids = ids_;
        // Also what a foreground run the test gave up on left behind.
        auto ps = run_io({layerfs_bin(), "--root", root_, "ps", "-a", "-q"}, {.timeout = 30});
        for (const auto& id : lines_of(ps.out))
            ids.push_back(id);
        for (const auto& id : ids)
            run_io({layerfs_bin(), "--root", root_, "rm", "-f", id}, {.timeout = 60});
    }

  private:
    std::string root_;
    std::vector<std::string> ids_;
};

struct RtStore : TestStore {
    ContainerGuard guard{root};

    // `layerfs --root ROOT ARGS...`
    Proc rt(std::vector<std::string> args, const IoOptions& o = {}) const {
        args.insert(args.begin(), {layerfs_bin(), "--root", root});
        return run_io(args, o);
    }

    // `run -d ARGS...`: the new container's id.
    std::string detached(std::vector<std::string> args) {
        args.insert(args.begin(), {"run", "-d"});
        auto r = rt(args);
        INFO(r.all());
        REQUIRE(r.status == 0);
        std::string id = r.out.substr(0, r.out.find('\n'));
        REQUIRE(id.size() == 64);
        guard.add(id);
        return id;
    }

    // `sh -c SCRIPT` with this store's root as $0: the command line of the
    // container's shell then names the store, so a search for the store finds
    // it as it finds the monitor and the daemon.
    std::vector<std::string> sh(const std::string& script) const {
        return {"sh", "-c", script, root};
    }

    std::string dir_of(const std::string& id) const { return root + "/containers/" + id; }
};

// `layerfs inspect CONTAINER`, the one object of its array.
inline nlohmann::json inspect_container(const RtStore& s, const std::string& c) {
    auto r = s.rt({"inspect", c});
    INFO(c << ": " << r.all());
    REQUIRE(r.status == 0);
    auto j = nlohmann::json::parse(r.out, nullptr, false);
    REQUIRE(j.is_array());
    REQUIRE(j.size() == 1);
    return j[0];
}

// State.Status, or "" when inspect fails: for wait_for, which must not REQUIRE.
inline std::string status_of(const RtStore& s, const std::string& c) {
    auto r = s.rt({"inspect", c});
    auto j = nlohmann::json::parse(r.out, nullptr, false);
    if (r.status != 0 || !j.is_array() || j.empty()) return "";
    return j[0]["State"].value("Status", "");
}

inline bool wait_exited(const RtStore& s, const std::string& c, double seconds = 20) {
    return wait_for([&] { return status_of(s, c) == "exited"; }, seconds);
}

inline std::vector<int> all_pids() {
    std::vector<int> out;
    DIR* d = ::opendir("/proc");
    if (!d) return out;
    while (auto* e = ::readdir(d))
        if (int pid = std::atoi(e->d_name); pid > 0 && pid != ::getpid()) out.push_back(pid);
    ::closedir(d);
    return out;
}

inline std::string proc_file(int pid, const std::string& name) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/" + name, std::ios::binary);
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

inline std::string cmdline_of(int pid) {
    std::string c = proc_file(pid, "cmdline");
    std::replace(c.begin(), c.end(), '\0', ' ');
    return c;
}

inline int parent_of(int pid) {
    std::string stat = proc_file(pid, "stat");
    size_t close = stat.rfind(')');
    if (close == std::string::npos) return 0;
    std::istringstream rest(stat.substr(close + 1));
    std::string state;
    int ppid = 0;
    rest >> state >> ppid;
    return ppid;
}

inline std::string pid_namespace_of(int pid) {
    char buf[128];
    ssize_t n = ::readlink(("/proc/" + std::to_string(pid) + "/ns/pid").c_str(), buf, sizeof buf);
    return n > 0 ? std::string(buf, size_t(n)) : "";
}

// "PID: CMDLINE" of every other process whose command line holds `needle`.
inline std::vector<std::string> processes_with(const std::string& needle) {
    std::vector<std::string> out;
    for (int pid : all_pids())
        if (auto c = cmdline_of(pid); contains(c, needle))
            out.push_back(std::to_string(pid) + ": " + c);
    return out;
}

// A process this test started (still running) whose command line holds
// `needle`; 0 if none.
inline int child_with(const std::string& needle) {
    for (int pid : all_pids())
        if (parent_of(pid) == ::getpid() && contains(cmdline_of(pid), needle)) return pid;
    return 0;
}

// What is left of container `id`: its directory (unless id is ""), a process whose command line
// names the store (monitor, sandbox, daemon, init, the shell of RtStore::sh),
// one in its PID namespace when given, and a mount naming the store in any
// mount namespace this user may read.
inline std::vector<std::string> leftovers(const RtStore& s, const std::string& id,
                                          const std::string& pidns = "") {
    std::vector<std::string> out;
    if (!id.empty() && exists(s.dir_of(id))) out.push_back("directory " + s.dir_of(id));
    for (const auto& p : processes_with(s.root))
        out.push_back("process " + p);
    for (int pid : all_pids()) {
        if (!pidns.empty() && pid_namespace_of(pid) == pidns)
            out.push_back("process in its namespace " + std::to_string(pid) + ": " +
                          cmdline_of(pid));
        for (const auto& m : lines_of(proc_file(pid, "mounts")))
            if (contains(m, s.root))
                out.push_back("mount seen by " + std::to_string(pid) + ": " + m);
    }
    for (const auto& m : lines_of(read_file("/proc/self/mounts")))
        if (contains(m, s.root)) out.push_back("mount: " + m);
    return out;
}

inline std::string joined(const std::vector<std::string>& v) {
    std::string out;
    for (const auto& s : v)
        out += s + "\n";
    return out;
}

// Waits (a monitor finishes in its own time) until nothing is left, then
// checks: the failure lists what is.
inline void check_nothing_left(const RtStore& s, const std::string& id,
                               const std::string& pidns = "") {
    std::vector<std::string> left;
    wait_for([&] { return (left = leftovers(s, id, pidns)).empty(); });
    CHECK(joined(left) == "");
}

}  // namespace layerfs::test
