#pragma once
// Copies a container's stdio while it runs: the caller's stdin in, the
// command's output out (to the caller's terminal and to the log), signals
// forwarded, a terminal's size followed. Used by the monitor and by exec.
#include <signal.h>
#include <sys/types.h>
#include <termios.h>

#include <functional>
#include <vector>

#include "cli/runtime/log_format.hpp"

namespace layerfs::runtime {

struct RelayPlan {
    int input = -1;             // the caller's stdin, or -1
    int input_to = -1;          // a pipe's write end (closed at EOF) or a pty master
    bool input_is_pty = false;  // a pty master is not closed at EOF
    struct Output {
        int from;
        Stream stream;
        int to;  // -1: the log only
    };
    std::vector<Output> outputs;
    int log = -1;
    int pty = -1;  // its size follows `tty` on SIGWINCH
    int tty = -1;
};

// The caller's terminal in raw mode while a -t container has it, as docker's.
class RawTerminal {
  public:
    explicit RawTerminal(int fd);
    ~RawTerminal();
    RawTerminal(const RawTerminal&) = delete;
    RawTerminal& operator=(const RawTerminal&) = delete;

  private:
    int fd_ = -1;
    termios saved_{};
};

// The signals the relay forwards; block them (block_relayed_signals) before
// forking what they go to, so none is lost or acts on the relaying process.
sigset_t relayed_signals();
void block_relayed_signals();

// Relays until `child` has exited and every output has ended. Relayed
// signals go to target() (0: not known yet, then the child). Returns the
// child's wait status.
int relay_until_exit(const RelayPlan& plan, pid_t child, const std::function<pid_t()>& target);

}  // namespace layerfs::runtime
