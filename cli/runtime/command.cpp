#include "cli/runtime/command.hpp"

#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <linux/close_range.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>

#include "cli/runtime/ns_sys.hpp"
#include "fs/sys/sys.hpp"
#include "snapshotter/failure.hpp"

namespace layerfs::runtime {

namespace {

struct ExecError {
    int code;
    std::string message;
};

[[noreturn]] void die(int error_fd, int code, const std::string& message) {
    std::string text = std::to_string(code) + " " + message;
    (void)sys::write_all(error_fd, text.data(), text.size());
    ::_exit(code);
}

void mkdir_p(const std::string& path) {
    for (size_t pos = 1; pos <= path.size(); pos++)
        if (pos == path.size() || path[pos] == '/') ::mkdir(path.substr(0, pos).c_str(), 0755);
}

// Docker's default capability set: what a container's root keeps.
void limit_capabilities() {
    static constexpr int keep[] = {
        CAP_CHOWN,   CAP_DAC_OVERRIDE, CAP_FSETID,           CAP_FOWNER,
        CAP_MKNOD,   CAP_NET_RAW,      CAP_SETGID,           CAP_SETUID,
        CAP_SETFCAP, CAP_SETPCAP,      CAP_NET_BIND_SERVICE, CAP_SYS_CHROOT,
        CAP_KILL,    CAP_AUDIT_WRITE};
    for (int cap = 0; cap <= CAP_LAST_CAP; cap++) {
        bool kept = false;
        for (int k : keep)
            kept |= k == cap;
        if (!kept) ::prctl(PR_CAPBSET_DROP, cap, 0, 0, 0);
    }
}

void redirect(int from, int to) {
    if (from == to) {
        int flags = ::fcntl(to, F_GETFD);
        if (flags >= 0) ::fcntl(to, F_SETFD, flags & ~FD_CLOEXEC);
    } else {
        ::dup2(from, to);
    }
}

// execvp's search, in the container's PATH (glibc would search the caller's).
std::string find_program(const std::string& name, const std::vector<std::string>& env,
                         int error_fd) {
    if (name.find('/') != std::string::npos) return name;
    std::string path = get_env(env, "PATH").value_or("");
    bool denied = false;
    size_t pos = 0;
    while (pos <= path.size()) {
        size_t colon = path.find(':', pos);
        std::string dir = path.substr(pos, colon == std::string::npos ? colon : colon - pos);
        pos = colon == std::string::npos ? path.size() + 1 : colon + 1;
        std::string candidate = (dir.empty() ? "." : dir) + "/" + name;
        struct stat st;
        if (::stat(candidate.c_str(), &st) < 0 || S_ISDIR(st.st_mode)) continue;
        if (::access(candidate.c_str(), X_OK) == 0) return candidate;
        denied = true;
    }
    if (denied) die(error_fd, 126, "exec: \"" + name + "\": permission denied");
    die(error_fd, 127, "exec: \"" + name + "\": executable file not found in $PATH");
}

}  // namespace

int exit_code_of(int status) {
    if (WIFEXITED(status)) return WEXITSTATUS(status);
    if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
    return 125;
}

void reset_signals() {
    struct sigaction dfl {};
    dfl.sa_handler = SIG_DFL;
    for (int sig = 1; sig < NSIG; sig++)
        ::sigaction(sig, &dfl, nullptr);
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
}

void exec_command(const RunSpec& spec, const CommandIo& io, int error_fd) {
    reset_signals();
    if (io.tty >= 0) {
        ::setsid();
        if (::ioctl(io.tty, TIOCSCTTY, 0) < 0)
            die(error_fd, 125,
                std::string("setting the controlling terminal: ") + std::strerror(errno));
        for (int fd = 0; fd < 3; fd++)
            redirect(io.tty, fd);
    } else {
        redirect(io.in, 0);
        redirect(io.out, 1);
        redirect(io.err, 2);
    }

    // Nothing of the caller's but stdio reaches the command.
    ::close_range(3, ~0U, CLOSE_RANGE_CLOEXEC);

    Identity who;
    try {
        who =
            resolve_user(spec.user, nsys::read_text("/etc/passwd"), nsys::read_text("/etc/group"));
    } catch (const std::exception& e) {
        die(error_fd, 125, e.what());
    }
    std::vector<std::string> env = spec.env;
    if (!get_env(env, "HOME")) set_env(env, "HOME=" + who.home);

    // The working directory is made if missing, as docker does.
    mkdir_p(spec.workdir);
    if (::chdir(spec.workdir.c_str()) < 0)
        die(error_fd, 125, "working directory " + spec.workdir + ": " + std::strerror(errno));
    if (io.tty >= 0) (void)!::fchown(io.tty, who.uid, who.gid);

    limit_capabilities();
    // A user namespace without a gid range denies setgroups (the kernel's rule
    // for unprivileged maps); there the caller's groups are all there is.
    if (nsys::read_text("/proc/self/setgroups").rfind("deny", 0) != 0 &&
        ::setgroups(who.groups.size(), who.groups.data()) < 0)
        die(error_fd, 125, std::string("setgroups: ") + std::strerror(errno));
    if (::setresgid(who.gid, who.gid, who.gid) < 0 || ::setresuid(who.uid, who.uid, who.uid) < 0) {
        int e = errno;
        die(error_fd, 125,
            "user " + std::to_string(who.uid) + ":" + std::to_string(who.gid) + ": " +
                std::strerror(e) +
                (e == EINVAL ? " (not mapped in the container's user namespace: give your user "
                               "a range in /etc/subuid and /etc/subgid)"
                             : ""));
    }

    std::string program = find_program(spec.args[0], env, error_fd);
    std::vector<char*> argv, envp;
    for (const auto& a : spec.args)
        argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    for (const auto& e : env)
        envp.push_back(const_cast<char*>(e.c_str()));
    envp.push_back(nullptr);
    ::execve(program.c_str(), argv.data(), envp.data());
    int code = errno == ENOENT ? 127 : 126;
    die(error_fd, code, "exec: \"" + spec.args[0] + "\": " + std::strerror(errno));
}

std::pair<int, std::string> read_exec_result(int fd) {
    std::string text;
    char buf[1024];
    while (auto n = sys::read_some(fd, buf, sizeof buf)) {
        if (*n == 0) break;
        text.append(buf, *n);
    }
    if (text.empty()) return {0, ""};
    size_t sp = text.find(' ');
    int code = std::atoi(text.substr(0, sp).c_str());
    return {code ? code : 125, sp == std::string::npos ? text : text.substr(sp + 1)};
}

}  // namespace layerfs::runtime
