#include "cli/runtime/exec_in.hpp"

#include <fcntl.h>
#include <sched.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <optional>

#include "cli/runtime/command.hpp"
#include "cli/runtime/ns_sys.hpp"
#include "cli/runtime/relay.hpp"
#include "fs/sys/sys.hpp"
#include "snapshotter/failure.hpp"

namespace layerfs::runtime {

using store::fail;
using store::must;

namespace {

// In a child of the caller: the namespaces are joined here, so the caller
// itself stays on the host (and exits there, where its sanitizers can run).
int exec_child(int pidfd, int root, const RunSpec& spec) {
    int flags = CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWUTS | CLONE_NEWIPC;
    if (spec.network == "none") flags |= CLONE_NEWNET;
    if (::geteuid() != 0) flags |= CLONE_NEWUSER;
    must(nsys::setns_pidfd(pidfd, flags), "joining the container's namespaces");
    if (::fchdir(root) < 0 || ::chroot(".") < 0 || ::chdir("/") < 0)
        fail(std::string("entering the container's root: ") + std::strerror(errno));

    Fd master, slave, devnull;
    CommandIo io;
    if (spec.tty) {
        auto pty = must(nsys::open_pty(), "opening a pty in the container");
        master = std::move(pty.first);
        slave = std::move(pty.second);
        io.tty = slave.get();
    } else if (!spec.interactive) {
        devnull = must(sys::open_at(AT_FDCWD, "/dev/null", O_RDONLY), "/dev/null");
        io.in = devnull.get();
    }

    int ends[2];
    if (::pipe2(ends, O_CLOEXEC) < 0) fail("pipe failed");
    Fd error_in(ends[0]), error_out(ends[1]);
    pid_t child = ::fork();  // the first of ours in the container's PID namespace
    if (child < 0) fail(std::string("fork: ") + std::strerror(errno));
    if (child == 0) exec_command(spec, io, error_out.get());
    error_out.reset();
    slave.reset();
    auto [code, message] = read_exec_result(error_in.get());
    if (code) {
        ::waitpid(child, nullptr, 0);
        std::fprintf(stderr, "layerfs: %s\n", message.c_str());
        return code;
    }

    RelayPlan plan;
    std::optional<RawTerminal> raw;
    if (spec.tty) {
        if (spec.interactive && ::isatty(0)) raw.emplace(0);
        plan.tty = ::isatty(0) ? 0 : -1;
        plan.pty = master.get();
        plan.input = spec.interactive ? 0 : -1;
        plan.input_to = master.get();
        plan.input_is_pty = true;
        plan.outputs.push_back({master.get(), Stream::out, 1});
    }
    // Without a pty the command has the caller's stdio itself: nothing to copy.
    return exit_code_of(relay_until_exit(plan, child, [child] { return child; }));
}

}  // namespace

int exec_in_container(const RunState& st, const RunSpec& spec) {
    // The pidfd pins the process: if init is gone, setns says so rather than
    // joining whatever took its pid.
    auto pf = nsys::pidfd_open(st.pid);
    if (!pf && pf.err() == ESRCH) fail("the container is not running");
    Fd pidfd = must(std::move(pf), "the container's init");
    Fd root = must(sys::open_at(AT_FDCWD, ("/proc/" + std::to_string(st.pid) + "/root").c_str(),
                                O_PATH | O_DIRECTORY),
                   "the container's root");
    if (!init_alive(st)) fail("the container is not running");

    block_relayed_signals();
    std::fflush(nullptr);
    pid_t child = ::fork();
    if (child < 0) fail(std::string("fork: ") + std::strerror(errno));
    if (child == 0) {
        int code = 125;
        try {
            code = exec_child(pidfd.get(), root.get(), spec);
        } catch (const std::exception& e) {
            std::fprintf(stderr, "layerfs: %s\n", e.what());
        }
        std::fflush(nullptr);
        ::_exit(code);
    }
    return exit_code_of(relay_until_exit(RelayPlan{}, child, [child] { return child; }));
}

}  // namespace layerfs::runtime
