#pragma once
// The last step of every container process (run's command, exec's): become
// the container's user in its working directory and exec, docker's way.
#include "cli/runtime/run_spec.hpp"

namespace layerfs::runtime {

struct CommandIo {
    int in = 0, out = 1, err = 2;
    int tty = -1;  // a pty's slave: the controlling terminal and all of stdio
};

// Runs in a forked child that is already in the container's namespaces and
// root. On failure writes "CODE message" to `error_fd` (close-on-exec: it
// closes without a word when the exec succeeds) and exits CODE: 125 setup,
// 126 not executable, 127 not found, as docker.
[[noreturn]] void exec_command(const RunSpec& spec, const CommandIo& io, int error_fd);

// Reads what exec_command wrote on the pipe: {0, ""} once the exec happened.
std::pair<int, std::string> read_exec_result(int fd);

// A wait status as a shell reports it: the code, or 128+N for signal N.
int exit_code_of(int wait_status);

// Unblocks every signal and resets every handler (a child of a process that
// relays signals starts with them blocked).
void reset_signals();

}  // namespace layerfs::runtime
