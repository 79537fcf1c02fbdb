#include "cli/runtime/monitor.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <ctime>
#include <optional>

#include "cli/runtime/channel.hpp"
#include "cli/runtime/container_state.hpp"
#include "cli/runtime/relay.hpp"
#include "fs/sys/sys.hpp"
#include "snapshotter/failure.hpp"
#include "snapshotter/human.hpp"

namespace layerfs::runtime {

using store::must;

namespace {

struct Pipe {
    Fd read, write;
};
Pipe make_pipe() {
    int ends[2];
    if (::pipe2(ends, O_CLOEXEC) < 0) store::fail("pipe failed");
    return {Fd(ends[0]), Fd(ends[1])};
}

std::string now_rfc3339() {
    return store::format_rfc3339(std::time(nullptr));
}

}  // namespace

int monitor_container(const Launch& l, int dir, bool foreground,
                      const std::function<void(int, const std::string&)>& started) {
    block_relayed_signals();
    Fd log = must(sys::open_at(dir, "container.log", O_WRONLY | O_CREAT | O_APPEND, 0600),
                  "opening the container's log");
    Fd devnull = must(sys::open_at(AT_FDCWD, "/dev/null", O_RDWR), "opening /dev/null");
    const bool tty = l.spec.tty;
    Pipe in, out, err;
    CommandIo io;
    if (!tty) {
        if (l.spec.interactive) in = make_pipe();
        out = make_pipe();
        err = make_pipe();
        io = {l.spec.interactive ? in.read.get() : devnull.get(), out.write.get(), err.write.get(),
              -1};
    }
    Sandbox sb = start_sandbox(l, io, {in.write.get(), out.read.get(), err.read.get()});
    in.read.reset();
    out.write.reset();
    err.write.reset();

    pid_t init = 0;
    Fd master;
    int code = 0;
    std::string error;
    while (true) {
        auto m = receive_message(sb.channel.get());
        if (!m || m->kind == 0) {
            code = 125;
            error = "the container's sandbox ended before its command started";
            break;
        }
        if (m->kind == msg::kUserns) {
            bool mapped = false;
            try {
                mapped = map_subordinate_ids(sb.pid);
            } catch (const std::exception& e) {
                code = 125;
                error = e.what();
                ::kill(sb.pid, SIGKILL);
                break;
            }
            (void)send_message(sb.channel.get(), msg::kMapped, mapped ? "" : "self");
        } else if (m->kind == msg::kInitPid) {
            init = std::atoi(m->text.c_str());
        } else if (m->kind == msg::kPty) {
            master = std::move(m->fd);
        } else if (m->kind == msg::kRunning) {
            break;
        } else if (m->kind == msg::kError) {
            size_t sp = m->text.find(' ');
            code = std::atoi(m->text.substr(0, sp).c_str());
            if (!code) code = 125;
            error = sp == std::string::npos ? m->text : m->text.substr(sp + 1);
            break;
        }
    }
    sb.channel.reset();

    RunState st;
    st.started_at = now_rfc3339();
    if (!error.empty()) {
        int status;
        while (::waitpid(sb.pid, &status, 0) < 0 && errno == EINTR) {
        }
        st.status = "exited";
        st.exit_code = code;
        st.error = error;
        st.finished_at = now_rfc3339();
        write_state(dir, st);
        if (foreground) std::fprintf(stderr, "layerfs: %s\n", error.c_str());
        started(code, error);
        return code;
    }
    st.status = "running";
    st.pid = init;
    st.pid_start = process_start_time(init).value_or(0);
    write_state(dir, st);
    started(0, "");

    RelayPlan plan;
    plan.log = log.get();
    const int user_in = foreground && l.spec.interactive ? 0 : -1;
    std::optional<RawTerminal> raw;
    if (tty) {
        if (foreground && ::isatty(0)) {
            plan.tty = 0;
            if (l.spec.interactive) raw.emplace(0);
        }
        plan.pty = master.get();
        plan.input = user_in;
        plan.input_to = master.get();
        plan.input_is_pty = true;
        plan.outputs.push_back({master.get(), Stream::out, foreground ? 1 : -1});
    } else {
        plan.input = user_in;
        // Detached with -i: stdin stays open and empty, as docker's -di.
        plan.input_to = user_in >= 0 ? in.write.release() : -1;
        plan.outputs.push_back({out.read.get(), Stream::out, foreground ? 1 : -1});
        plan.outputs.push_back({err.read.get(), Stream::err, foreground ? 2 : -1});
    }
    int status = relay_until_exit(plan, sb.pid, [&] { return init; });
    raw.reset();
    code = exit_code_of(status);

    st.status = "exited";
    st.exit_code = code;
    st.finished_at = now_rfc3339();
    write_state(dir, st);
    return code;
}

}  // namespace layerfs::runtime
