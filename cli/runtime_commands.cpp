#include "cli/runtime_commands.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <thread>

#include "cli/exit_status.hpp"
#include "cli/host_mount.hpp"
#include "cli/runtime/container_state.hpp"
#include "cli/runtime/exec_in.hpp"
#include "cli/runtime/log_format.hpp"
#include "cli/runtime/monitor.hpp"
#include "cli/runtime/run_spec.hpp"
#include "cli/runtime/sandbox.hpp"
#include "cli/table.hpp"
#include "fs/sys/sys.hpp"
#include "snapshotter/builtin_image.hpp"
#include "snapshotter/failure.hpp"
#include "snapshotter/human.hpp"
#include "snapshotter/images.hpp"

namespace layerfs::cli {

using json = nlohmann::json;
using store::ContainerRecord;
using store::fail;
using store::must;
using store::Store;
using namespace runtime;

namespace {

Fd open_container_dir(Store& s, const ContainerRecord& c) {
    return must(sys::open_at(s.fd(), ("containers/" + c.id).c_str(), O_RDONLY | O_DIRECTORY),
                "container " + c.name);
}

const char* host_env(const char* name) {
    return std::getenv(name);
}

// What the container runs: what `run` recorded, or for a container made by
// `create`, its image's command.
RunSpec spec_of(Store& s, const ContainerRecord& c) {
    RunSpec spec;
    if (!c.config.empty()) {
        spec = spec_from_json(json::parse(c.config, nullptr, false));
    } else {
        auto images = store::list_images(s);
        auto it = std::find_if(images.begin(), images.end(),
                               [&](const store::Image& i) { return i.id == c.image; });
        if (it == images.end()) fail("container " + c.name + ": its image is gone");
        spec = make_spec(it->config_json, RunFlags{}, "", host_env);
    }
    if (spec.hostname.empty()) spec.hostname = c.id.substr(0, 12);
    if (!get_env(spec.env, "HOSTNAME")) set_env(spec.env, "HOSTNAME=" + spec.hostname);
    return spec;
}

// A root left mounted in the host's namespace by `layerfs mount` would be a
// second daemon on the same upper dir; one whose daemon died is cleaned up.
void check_not_mounted(const ContainerRecord& c, const std::string& merged) {
    struct stat st;
    if (::stat(merged.c_str(), &st) < 0 && errno == ENOTCONN) {
        unmount(merged);
        return;
    }
    if (is_mounted(merged))
        fail("container " + c.name + " is mounted (layerfs mount): umount it first");
}

void remove_by_id(const std::string& root, const std::string& id) {
    try {
        Store s(root);
        auto lock = s.lock(true);
        for (const auto& c : store::list_containers(s))
            if (c.id == id) store::remove_container(s, c);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "layerfs: removing container %s: %s\n", id.substr(0, 12).c_str(),
                     e.what());
    }
}

// Starts `c` (its lock taken here, so no second start races it). In the
// foreground returns the command's exit code; detached returns 0 once the
// command runs, leaving a monitor behind, or throws ExitStatus after saying why
// it could not start.
int start_container(Store& s, const ContainerRecord& c, bool foreground) {
    Fd dir = open_container_dir(s, c);
    Fd lock = try_lock_container(dir.get());
    if (!lock) fail("container " + c.name + " is already running");
    RunSpec spec = spec_of(s, c);
    Launch l{store::container_dir(s, c), store::container_mount(s, c), spec};
    check_not_mounted(c, l.root.mountpoint);
    // Every uid of the container reaches the mount; the image's set-uid
    // programs and device nodes work as on any root file system.
    for (const char* o : {"allow_other", "suid", "dev"})
        l.root.kernel_opts.push_back(o);
    write_etc_files(dir.get(), spec);
    const std::string root = s.root(), id = c.id;

    if (foreground) {
        int code = monitor_container(l, dir.get(), true, [](int, const std::string&) {});
        lock.reset();
        if (spec.auto_remove) remove_by_id(root, id);
        return code;
    }

    int ends[2];
    if (::pipe2(ends, O_CLOEXEC) < 0) fail("pipe failed");
    Fd report_in(ends[0]), report_out(ends[1]);
    std::fflush(nullptr);
    pid_t monitor = ::fork();
    if (monitor < 0) fail(std::string("fork: ") + std::strerror(errno));
    if (monitor == 0) {
        report_in.reset();
        ::setsid();
        int null = ::open("/dev/null", O_RDWR);
        for (int fd = 0; fd < 3; fd++)
            ::dup2(null, fd);
        if (null > 2) ::close(null);
        try {
            monitor_container(l, dir.get(), false, [&](int code, const std::string& error) {
                std::string text = code ? std::to_string(code) + " " + error : "ok";
                (void)sys::write_all(report_out.get(), text.data(), text.size());
                report_out.reset();
            });
        } catch (const std::exception& e) {
            std::string text = std::string("125 ") + e.what();
            if (report_out) (void)sys::write_all(report_out.get(), text.data(), text.size());
        }
        lock.reset();
        if (spec.auto_remove) remove_by_id(root, id);
        ::_exit(0);
    }
    report_out.reset();
    // One read: the report is one short write, and the container's processes
    // hold copies of its write end for their lives.
    char buf[4096];
    auto n = sys::read_some(report_in.get(), buf, sizeof buf);
    std::string text = n ? std::string(buf, *n) : "";
    if (text == "ok") return 0;
    if (text.empty()) text = "125 the container's monitor ended before the command started";
    size_t sp = text.find(' ');
    int code = std::atoi(text.substr(0, sp).c_str());
    std::fprintf(stderr, "layerfs: %s\n",
                 sp == std::string::npos ? text.c_str() : text.c_str() + sp + 1);
    throw ExitStatus{code ? code : 125};
}

// Waits until nothing of the container holds its lock; false on timeout.
bool wait_stopped(int dir, double seconds) {
    auto until = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
    while (true) {
        if (try_lock_container(dir)) return true;
        if (std::chrono::steady_clock::now() >= until) return false;
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
}

bool signal_init(const RunState& st, int sig) {
    return init_alive(st) && ::kill(st.pid, sig) == 0;
}

struct RunArgs {
    RunFlags flags;
    std::string image;
};

void cmd_run(const GlobalOptions& g, RunArgs a) {
    Store s = open_store(g);
    ContainerRecord c;
    {
        auto lock = s.lock(true);
        if (store::names_builtin(a.image)) store::ensure_builtin(s);
        auto image = store::find_image(s, a.image);
        RunSpec spec = make_spec(image.config_json, a.flags, "", host_env);
        c = store::create_container(s, image, a.flags.name, to_json(spec).dump());
    }
    int code = start_container(s, c, !a.flags.detach);
    if (a.flags.detach) {
        std::printf("%s\n", c.id.c_str());
        return;
    }
    throw ExitStatus{code};
}

void cmd_start(const GlobalOptions& g, const std::vector<std::string>& what) {
    Store s = open_store(g);
    for_each_named(what, [&](const std::string& w) {
        ContainerRecord c;
        {
            auto lock = s.lock(false);
            c = store::find_container(s, w);
        }
        Fd dir = open_container_dir(s, c);
        if (current_state(dir.get()).status != "running") start_container(s, c, false);
        std::printf("%s\n", w.c_str());
    });
}

void cmd_stop(const GlobalOptions& g, const std::vector<std::string>& what, int timeout) {
    Store s = open_store(g);
    for_each_named(what, [&](const std::string& w) {
        auto c = store::find_container(s, w);
        Fd dir = open_container_dir(s, c);
        RunState st = current_state(dir.get());
        if (st.status == "running") {
            int sig = parse_signal(spec_of(s, c).stop_signal);
            signal_init(st, sig ? sig : SIGTERM);
            if (!wait_stopped(dir.get(), timeout)) {
                signal_init(st, SIGKILL);
                if (!wait_stopped(dir.get(), 30)) fail("container " + c.name + " did not stop");
            }
        }
        std::printf("%s\n", w.c_str());
    });
}

void cmd_kill(const GlobalOptions& g, const std::vector<std::string>& what,
              const std::string& signal) {
    int sig = parse_signal(signal);
    if (!sig) fail("kill: unknown signal '" + signal + "'");
    Store s = open_store(g);
    for_each_named(what, [&](const std::string& w) {
        auto c = store::find_container(s, w);
        Fd dir = open_container_dir(s, c);
        RunState st = current_state(dir.get());
        if (st.status != "running" || !signal_init(st, sig))
            fail("container " + c.name + " is not running");
        std::printf("%s\n", w.c_str());
    });
}

struct ExecArgs {
    std::string container;
    std::vector<std::string> command;
    bool interactive = false, tty = false;
};

void cmd_exec(const GlobalOptions& g, const ExecArgs& a) {
    Store s = open_store(g);
    auto c = store::find_container(s, a.container);
    Fd dir = open_container_dir(s, c);
    RunState st = current_state(dir.get());
    if (st.status != "running") fail("container " + c.name + " is not running");
    RunSpec spec = spec_of(s, c);
    spec.args = a.command;
    spec.interactive = a.interactive;
    spec.tty = a.tty;
    if (a.tty && !get_env(spec.env, "TERM")) set_env(spec.env, "TERM=xterm");
    throw ExitStatus{exec_in_container(st, spec)};
}

void print_log(std::string_view buf, size_t& used) {
    bool bad = false;
    for (const auto& r : decode_log(buf, used, bad)) {
        int fd = r.stream == Stream::out ? 1 : 2;
        (void)sys::write_all(fd, r.bytes.data(), r.bytes.size());
    }
    if (bad) fail("the container's log is malformed");
}

void cmd_logs(const GlobalOptions& g, const std::string& what, bool follow) {
    Store s = open_store(g);
    auto c = store::find_container(s, what);
    Fd dir = open_container_dir(s, c);
    auto f = sys::open_at(dir.get(), "container.log", O_RDONLY);
    if (!f && f.err() == ENOENT) return;  // it never ran: nothing to show or follow
    Fd log = must(std::move(f), "reading the log of " + c.name);
    std::string pending;
    char buf[1 << 16];
    while (true) {
        // Whether it runs is read before the log, so the last output is read
        // after the last check.
        bool running = current_state(dir.get()).status == "running";
        while (auto n = sys::read_some(log.get(), buf, sizeof buf)) {
            if (*n == 0) break;
            pending.append(buf, *n);
            size_t used;
            print_log(pending, used);
            pending.erase(0, used);
        }
        if (!follow || !running) break;
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
}

std::string short_command(const std::vector<std::string>& args) {
    std::string cmd;
    for (const auto& a : args)
        cmd += (cmd.empty() ? "" : " ") + a;
    if (cmd.size() > 20) cmd = cmd.substr(0, 19) + "…";
    return "\"" + cmd + "\"";
}

void cmd_ps(const GlobalOptions& g, bool all, bool quiet) {
    Store s = open_store(g);
    std::vector<ContainerRecord> containers;
    std::vector<store::Image> images;
    {
        auto lock = s.lock(false);
        containers = store::list_containers(s);
        images = store::list_images(s);
    }
    std::sort(containers.begin(), containers.end(),
              [](const auto& a, const auto& b) { return a.created > b.created; });
    std::vector<std::vector<std::string>> rows = {
        {"CONTAINER ID", "IMAGE", "COMMAND", "CREATED", "STATUS", "NAMES"}};
    const int64_t now = std::time(nullptr);
    for (const auto& c : containers) {
        Fd dir = open_container_dir(s, c);
        RunState st = current_state(dir.get());
        std::string merged = store::container_dir(s, c) + "/merged";
        struct stat mst;
        if (::stat(merged.c_str(), &mst) < 0 && errno == ENOTCONN) unmount(merged);  // stale
        if (!all && st.status != "running") continue;
        if (quiet) {
            std::printf("%s\n", c.id.substr(0, 12).c_str());
            continue;
        }
        std::string image = c.image.substr(0, 12);
        for (const auto& i : images)
            if (i.id == c.image && !i.refs.empty()) image = i.refs.front();
        std::string command;
        try {
            command = short_command(spec_of(s, c).args);
        } catch (const std::exception&) {
        }
        auto created = store::parse_rfc3339(c.created);
        rows.push_back({c.id.substr(0, 12), image, command,
                        created ? store::human_duration(now - *created) + " ago" : "",
                        describe_status(st, now), c.name});
    }
    if (!quiet) print_table(rows);
}

}  // namespace

void for_each_named(const std::vector<std::string>& what,
                    const std::function<void(const std::string&)>& fn) {
    bool failed = false;
    for (const auto& w : what) {
        try {
            fn(w);
        } catch (const store::Failure& e) {
            std::fflush(stdout);
            std::fprintf(stderr, "layerfs: %s\n", e.what());
            failed = true;
        }
    }
    if (failed) throw ExitStatus{1};
}

bool kill_and_wait(Store& s, const ContainerRecord& c) {
    Fd dir = open_container_dir(s, c);
    RunState st = current_state(dir.get());
    if (st.status != "running") return false;
    signal_init(st, SIGKILL);
    if (!wait_stopped(dir.get(), 30)) fail("container " + c.name + " did not stop");
    return true;
}

void require_stopped(Store& s, const ContainerRecord& c, const std::string& advice) {
    Fd dir = open_container_dir(s, c);
    if (current_state(dir.get()).status == "running")
        fail("container " + c.name + " is running: " + advice);
}

json inspect_container(Store& s, const ContainerRecord& c) {
    Fd dir = open_container_dir(s, c);
    RunState st = current_state(dir.get());
    std::string cdir = store::container_dir(s, c);
    MountConfig m = store::container_mount(s, c);
    std::string lower;
    for (const auto& l : m.lowerdirs)
        lower += (lower.empty() ? "" : ":") + l;
    json spec = json::object(), args = json::array();
    std::string path;
    try {
        RunSpec r = spec_of(s, c);
        spec = to_json(r);
        path = r.args.front();
        args = std::vector<std::string>(r.args.begin() + 1, r.args.end());
    } catch (const std::exception&) {
    }
    json binds = json::array();
    for (const auto& b : spec.value("Mounts", json::array()))
        binds.push_back(b.value("Source", "") + ":" + b.value("Destination", "") +
                        (b.value("RW", true) ? "" : ":ro"));
    return {
        {"Id", c.id},
        {"Created", c.created},
        {"Path", path},
        {"Args", args},
        {"State",
         {{"Status", st.status},
          {"Running", st.status == "running"},
          {"Pid", st.status == "running" ? st.pid : 0},
          {"ExitCode", st.exit_code},
          {"Error", st.error},
          {"StartedAt", st.started_at},
          {"FinishedAt", st.finished_at}}},
        {"Image", "sha256:" + c.image},
        {"Name", "/" + c.name},
        {"LogPath", cdir + "/container.log"},
        {"HostnamePath", cdir + "/hostname"},
        {"HostsPath", cdir + "/hosts"},
        {"ResolvConfPath", cdir + "/resolv.conf"},
        {"Config",
         {{"Hostname", spec.value("Hostname", "")},
          {"User", spec.value("User", "")},
          {"Env", spec.value("Env", json::array())},
          {"Cmd", spec.value("Args", json::array())},
          {"WorkingDir", spec.value("WorkingDir", "")},
          {"Tty", spec.value("Tty", false)},
          {"OpenStdin", spec.value("OpenStdin", false)},
          {"StopSignal", spec.value("StopSignal", "")},
          {"Image", c.image}}},
        {"HostConfig",
         {{"Binds", binds},
          {"NetworkMode", spec.value("NetworkMode", "host")},
          {"AutoRemove", spec.value("AutoRemove", false)}}},
        {"Mounts", spec.value("Mounts", json::array())},
        {"GraphDriver",
         {{"Name", "layerfs"},
          {"Data",
           {{"LowerDir", lower},
            {"UpperDir", m.upperdir},
            {"WorkDir", m.workdir},
            {"MergedDir", m.mountpoint}}}}},
    };
}

void add_runtime_commands(CLI::App& app, const GlobalOptions& g) {
    auto r = std::make_shared<RunArgs>();
    auto* c = app.add_subcommand("run", "run a command in a new container");
    c->add_flag("-d,--detach", r->flags.detach, "run in the background; print the container id");
    c->add_flag("--rm", r->flags.remove, "remove the container when it exits");
    c->add_flag("-i,--interactive", r->flags.interactive, "keep stdin open");
    c->add_flag("-t,--tty", r->flags.tty, "allocate a pseudo-terminal");
    c->add_option("--name", r->flags.name, "a name for the container");
    c->add_option("-e,--env", r->flags.env, "set NAME=VALUE (NAME alone: the caller's value)")
        ->allow_extra_args(false);
    c->add_option("-w,--workdir", r->flags.workdir, "working directory in the container");
    c->add_option("-u,--user", r->flags.user, "UID[:GID] or NAME[:GROUP]");
    c->add_option("--hostname", r->flags.hostname, "the container's hostname");
    c->add_option("--network", r->flags.network, "host (default) or none")
        ->check(CLI::IsMember({"host", "none"}));
    c->add_option("-v,--volume", r->flags.volumes, "bind HOSTDIR:CTRDIR[:ro]")
        ->allow_extra_args(false);
    c->add_option_function<std::string>(
        "--entrypoint", [r](const std::string& e) { r->flags.entrypoint = e; },
        "replace the image's entrypoint");
    // IMAGE is not declared: it is the first word that is not run's, and every
    // word after it is the command's, its dashes included.
    c->prefix_command();
    c->footer("IMAGE [COMMAND [ARG...]]: image name or id; the command (default: the image's)");
    c->callback([&g, r, c] {
        auto words = c->remaining();
        if (words.empty()) fail("run: give an IMAGE");
        r->image = words.front();
        r->flags.command.assign(words.begin() + 1, words.end());
        cmd_run(g, *r);
    });

    auto names = std::make_shared<std::vector<std::string>>();
    c = app.add_subcommand("start", "start stopped containers (in the background)");
    c->add_option("CONTAINER", *names, "container names or ids")->required();
    c->callback([&g, names] { cmd_start(g, *names); });

    auto stop = std::make_shared<std::pair<std::vector<std::string>, int>>();
    stop->second = 10;
    c = app.add_subcommand("stop", "stop containers: the stop signal, then SIGKILL");
    c->add_option("-t,--time", stop->second, "seconds to wait before SIGKILL (default 10)");
    c->add_option("CONTAINER", stop->first, "container names or ids")->required();
    c->callback([&g, stop] { cmd_stop(g, stop->first, stop->second); });

    auto kill = std::make_shared<std::pair<std::vector<std::string>, std::string>>();
    kill->second = "KILL";
    c = app.add_subcommand("kill", "send a signal to containers (default SIGKILL)");
    c->add_option("-s,--signal", kill->second, "signal name or number");
    c->add_option("CONTAINER", kill->first, "container names or ids")->required();
    c->callback([&g, kill] { cmd_kill(g, kill->first, kill->second); });

    auto e = std::make_shared<ExecArgs>();
    c = app.add_subcommand("exec", "run a command in a running container");
    c->add_flag("-i,--interactive", e->interactive, "keep stdin open");
    c->add_flag("-t,--tty", e->tty, "allocate a pseudo-terminal");
    c->prefix_command();  // as run's: CONTAINER, then the command's words
    c->footer("CONTAINER COMMAND [ARG...]: container name or id; the command");
    c->callback([&g, e, c] {
        auto words = c->remaining();
        if (words.size() < 2) fail("exec: give a CONTAINER and a command to run");
        e->container = words.front();
        e->command.assign(words.begin() + 1, words.end());
        cmd_exec(g, *e);
    });

    auto l = std::make_shared<std::pair<std::string, bool>>();
    c = app.add_subcommand("logs", "show what a container's command wrote");
    c->add_flag("-f,--follow", l->second, "keep following while it runs");
    c->add_option("CONTAINER", l->first, "container name or id")->required();
    c->callback([&g, l] { cmd_logs(g, l->first, l->second); });

    auto ps = std::make_shared<std::pair<bool, bool>>();
    c = app.add_subcommand("ps", "list containers (running ones; -a all)");
    c->add_flag("-a,--all", ps->first, "all containers, not only running ones");
    c->add_flag("-q,--quiet", ps->second, "ids only");
    c->callback([&g, ps] { cmd_ps(g, ps->first, ps->second); });
}

}  // namespace layerfs::cli
