#include "cli/runtime/launch.hpp"

#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <spdlog/spdlog.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>

#include "cli/runtime/channel.hpp"
#include "cli/runtime/ns_sys.hpp"
#include "cli/runtime/proc_title.hpp"
#include "cli/runtime/sandbox.hpp"
#include "cli/runtime/subids.hpp"
#include "fs/daemon/session.hpp"
#include "fs/sys/sys.hpp"
#include "snapshotter/failure.hpp"

extern char** environ;

namespace layerfs::runtime {

using store::fail;
using store::must;

namespace {

[[noreturn]] void report_and_exit(int channel, int code, const std::string& message) {
    (void)send_message(channel, msg::kError, std::to_string(code) + " " + message);
    ::_exit(code);
}

// pid 1: a signal it gets goes to the command; an orphan that ends is
// reaped; when the command ends, so does the namespace (the kernel kills the
// rest), with the command's status.
[[noreturn]] void init_main(const Launch& l, const CommandIo& io, int channel) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    set_process_title("layerfs-init");
    sigset_t all;
    sigfillset(&all);
    ::sigprocmask(SIG_SETMASK, &all, nullptr);

    CommandIo cmd_io = io;
    Fd master, slave;
    try {
        int flags = CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC;
        if (l.spec.network == "none") flags |= CLONE_NEWNET;
        must(nsys::unshare_ns(flags), "creating the container's namespaces");
        must(nsys::set_hostname(l.spec.hostname), "setting the hostname");
        if (l.spec.network == "none") bring_up_loopback();
        enter_root(l.spec, l.root.mountpoint, l.container_dir);
        if (l.spec.tty) {
            auto pty = must(nsys::open_pty(), "opening a pty in the container");
            master = std::move(pty.first);
            slave = std::move(pty.second);
            cmd_io.tty = slave.get();
            must(send_message(channel, msg::kPty, "", master.get()), "passing the pty");
            master.reset();
        }
    } catch (const std::exception& e) {
        report_and_exit(channel, 125, e.what());
    }

    int ends[2];
    if (::pipe2(ends, O_CLOEXEC) < 0) report_and_exit(channel, 125, "pipe failed");
    Fd error_in(ends[0]), error_out(ends[1]);
    pid_t command = ::fork();
    if (command < 0) report_and_exit(channel, 125, "fork failed");
    if (command == 0) exec_command(l.spec, cmd_io, error_out.get());
    error_out.reset();
    slave.reset();
    // Only the command holds its stdio now: its end is the relay's end.
    for (int fd : {io.in, io.out, io.err})
        if (fd > 2) ::close(fd);

    auto [code, message] = read_exec_result(error_in.get());
    if (code) {
        (void)send_message(channel, msg::kError, std::to_string(code) + " " + message);
    } else {
        (void)send_message(channel, msg::kRunning);
    }
    ::close(channel);

    while (true) {
        siginfo_t si;
        if (::sigwaitinfo(&all, &si) < 0) continue;
        if (si.si_signo != SIGCHLD) {
            ::kill(command, si.si_signo);
            continue;
        }
        int status;
        pid_t p;
        while ((p = ::waitpid(-1, &status, WNOHANG)) > 0)
            if (p == command) ::_exit(exit_code_of(status));
    }
}

// The daemon: the container's root, served from the sandbox's mount namespace.
[[noreturn]] void daemon_main(MountConfig cfg, int ready) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    reset_signals();
    // Only the ready pipe and stdio: the daemon must hold nothing of the
    // container's (its stdio pipes, its lock) or their ends would wait on it.
    if (ready != 3) {
        ::dup2(ready, 3);
        ready = 3;
    }
    ::close_range(4, ~0U, 0);
    cfg.foreground = true;
    ::_exit(run_mount(cfg, ready));
}

void map_self(uid_t uid, gid_t gid) {
    must(nsys::write_text("/proc/self/setgroups", "deny"), "writing setgroups");
    must(nsys::write_text("/proc/self/uid_map", "0 " + std::to_string(uid) + " 1"),
         "writing uid_map");
    must(nsys::write_text("/proc/self/gid_map", "0 " + std::to_string(gid) + " 1"),
         "writing gid_map");
}

[[noreturn]] void sandbox_main(const Launch& l, const CommandIo& io, int channel) {
    reset_signals();
    ::setsid();  // the caller's terminal signals the monitor only, which forwards them
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    pid_t init = 0, daemon = 0;
    try {
        if (::geteuid() != 0) {
            uid_t uid = ::getuid();
            gid_t gid = ::getgid();
            must(nsys::unshare_ns(CLONE_NEWUSER), "creating a user namespace");
            must(send_message(channel, msg::kUserns, std::to_string(::getpid())), "sandbox");
            auto reply = must(receive_message(channel), "sandbox");
            if (reply.kind != msg::kMapped) ::_exit(125);
            if (reply.text == "self")
                map_self(uid, gid);
            else
                (void)::setgroups(0, nullptr);
        }
        must(nsys::unshare_ns(CLONE_NEWNS), "creating a mount namespace");
        // Host mounts still reach us; ours never reach the host.
        must(nsys::mount_at(nullptr, "/", nullptr, MS_REC | MS_SLAVE), "making mounts slaves");

        int ready[2];
        if (::pipe2(ready, O_CLOEXEC) < 0) fail("pipe failed");
        daemon = ::fork();
        if (daemon < 0) fail("fork failed");
        if (daemon == 0) daemon_main(l.root, ready[1]);
        ::close(ready[1]);
        char byte;
        bool live = ::read(ready[0], &byte, 1) == 1;
        ::close(ready[0]);
        if (!live) fail("mounting the container's root failed");

        must(nsys::unshare_ns(CLONE_NEWPID), "creating a PID namespace");
        init = ::fork();
        if (init < 0) fail("fork failed");
        if (init == 0) init_main(l, io, channel);
        must(send_message(channel, msg::kInitPid, std::to_string(init)), "sandbox");
    } catch (const std::exception& e) {
        report_and_exit(channel, 125, e.what());
    }
    ::close(channel);
    for (int fd : {io.in, io.out, io.err})
        if (fd > 2) ::close(fd);

    int status = 0;
    while (::waitpid(init, &status, 0) < 0 && errno == EINTR) {
    }
    // The command has ended and its namespace with it: take the root away so
    // the daemon ends, and give it time to finish what it was writing.
    ::umount2(l.root.mountpoint.c_str(), MNT_DETACH);
    for (int i = 0; i < 200; i++) {
        if (::waitpid(daemon, nullptr, WNOHANG) == daemon) ::_exit(exit_code_of(status));
        ::usleep(50 * 1000);
    }
    ::kill(daemon, SIGKILL);
    ::waitpid(daemon, nullptr, 0);
    ::_exit(exit_code_of(status));
}

bool spawn_and_wait(const std::vector<std::string>& args) {
    std::vector<char*> argv;
    for (const auto& a : args)
        argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    pid_t pid;
    if (::posix_spawnp(&pid, argv[0], nullptr, nullptr, argv.data(), environ) != 0) return false;
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

}  // namespace

bool map_subordinate_ids(pid_t pid) {
    uid_t uid = ::getuid();
    gid_t gid = ::getgid();
    passwd* pw = ::getpwuid(uid);
    std::string name = pw ? pw->pw_name : "";
    auto uids = find_subid_range(nsys::read_text("/etc/subuid"), name, uid);
    auto gids = find_subid_range(nsys::read_text("/etc/subgid"), name, uid);
    if (!uids || !gids) {
        spdlog::debug("no /etc/subuid and /etc/subgid ranges for {}: one id in the container",
                      name);
        return false;
    }
    std::vector<std::string> u = {"newuidmap", std::to_string(pid)};
    for (auto& a : idmap_args(uid, uids))
        u.push_back(a);
    std::vector<std::string> g = {"newgidmap", std::to_string(pid)};
    for (auto& a : idmap_args(gid, gids))
        g.push_back(a);
    if (!spawn_and_wait(u)) {
        spdlog::debug("newuidmap failed or is missing: one id in the container");
        return false;
    }
    if (!spawn_and_wait(g)) fail("newgidmap " + std::to_string(pid) + " failed");
    return true;
}

Sandbox start_sandbox(const Launch& l, const CommandIo& io, const std::vector<int>& monitor_ends) {
    auto pair = must(channel_pair(), "starting the container");
    std::fflush(nullptr);
    pid_t pid = ::fork();
    if (pid < 0) fail(std::string("fork: ") + std::strerror(errno));
    if (pid == 0) {
        pair.first.reset();
        for (int fd : monitor_ends)
            if (fd >= 0) ::close(fd);
        sandbox_main(l, io, pair.second.release());
    }
    return Sandbox{pid, std::move(pair.first)};
}

}  // namespace layerfs::runtime
