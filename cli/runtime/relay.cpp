#include "cli/runtime/relay.hpp"

#include <poll.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <ctime>
#include <string>

#include "fs/sys/sys.hpp"

namespace layerfs::runtime {

RawTerminal::RawTerminal(int fd) {
    if (::tcgetattr(fd, &saved_) < 0) return;
    termios raw = saved_;
    ::cfmakeraw(&raw);
    if (::tcsetattr(fd, TCSADRAIN, &raw) == 0) fd_ = fd;
}

RawTerminal::~RawTerminal() {
    if (fd_ >= 0) ::tcsetattr(fd_, TCSADRAIN, &saved_);
}

sigset_t relayed_signals() {
    sigset_t set;
    sigemptyset(&set);
    for (int sig : {SIGCHLD, SIGWINCH, SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2})
        sigaddset(&set, sig);
    return set;
}

void block_relayed_signals() {
    sigset_t set = relayed_signals();
    ::sigprocmask(SIG_BLOCK, &set, nullptr);
}

namespace {

void copy_winsize(int tty, int pty) {
    winsize ws;
    if (tty >= 0 && pty >= 0 && ::ioctl(tty, TIOCGWINSZ, &ws) == 0) ::ioctl(pty, TIOCSWINSZ, &ws);
}

void log_chunk(int log, Stream s, std::string_view bytes) {
    if (log < 0) return;
    timespec now;
    ::clock_gettime(CLOCK_REALTIME, &now);
    std::string rec = encode_log_record(s, bytes, now.tv_sec, now.tv_nsec);
    (void)sys::write_all(log, rec.data(), rec.size());
}

}  // namespace

int relay_until_exit(const RelayPlan& plan, pid_t child, const std::function<pid_t()>& target) {
    sigset_t set = relayed_signals();
    Fd sig(::signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK));
    copy_winsize(plan.tty, plan.pty);

    int input = plan.input >= 0 && plan.input_to >= 0 ? plan.input : -1;
    std::vector<bool> open(plan.outputs.size(), true);
    size_t open_count = plan.outputs.size();
    bool done = false;
    int status = 0;
    std::string buf(1 << 16, '\0');

    auto reap = [&] {
        if (done) return;
        int st;
        if (::waitpid(child, &st, WNOHANG) == child) {
            done = true;
            status = st;
        }
    };
    reap();
    while (!done || open_count > 0) {
        std::vector<pollfd> fds;
        fds.push_back({sig.get(), POLLIN, 0});
        if (input >= 0) fds.push_back({input, POLLIN, 0});
        for (size_t i = 0; i < plan.outputs.size(); i++)
            if (open[i]) fds.push_back({plan.outputs[i].from, POLLIN, 0});
        // Once the child is gone, output still held open by something it left
        // behind gets a moment, not forever.
        int n = ::poll(fds.data(), fds.size(), done ? 2000 : -1);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;

        if (fds[0].revents & POLLIN) {
            signalfd_siginfo si;
            while (::read(sig.get(), &si, sizeof si) == sizeof si) {
                if (si.ssi_signo == SIGCHLD) {
                    reap();
                } else if (si.ssi_signo == SIGWINCH) {
                    copy_winsize(plan.tty, plan.pty);
                } else if (!done) {
                    pid_t t = target();
                    ::kill(t > 0 ? t : child, int(si.ssi_signo));
                }
            }
        }
        size_t k = 1;
        if (input >= 0) {
            if (fds[k].revents & (POLLIN | POLLHUP | POLLERR)) {
                ssize_t r = ::read(input, buf.data(), buf.size());
                bool retry = r < 0 && (errno == EINTR || errno == EAGAIN);
                if (!retry && (r <= 0 || !sys::write_all(plan.input_to, buf.data(), size_t(r)))) {
                    // End of input (or the command stopped reading): the
                    // command sees its stdin end.
                    if (!plan.input_is_pty) ::close(plan.input_to);
                    input = -1;
                }
            }
            k++;
        }
        for (size_t i = 0; i < plan.outputs.size(); i++) {
            if (!open[i]) continue;
            short ev = fds[k++].revents;
            if (!(ev & (POLLIN | POLLHUP | POLLERR))) continue;
            const auto& o = plan.outputs[i];
            ssize_t r = ::read(o.from, buf.data(), buf.size());
            if (r < 0 && (errno == EINTR || errno == EAGAIN)) continue;
            if (r <= 0) {  // end, or EIO from a pty whose last slave closed
                open[i] = false;
                open_count--;
                continue;
            }
            std::string_view chunk(buf.data(), size_t(r));
            if (o.to >= 0) (void)sys::write_all(o.to, chunk.data(), chunk.size());
            log_chunk(plan.log, o.stream, chunk);
        }
    }
    if (!done && ::waitpid(child, &status, 0) != child) status = 0;
    return status;
}

}  // namespace layerfs::runtime
