#include "bench/process.hpp"

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <fstream>
#include <map>
#include <mutex>
#include <sstream>
#include <stdexcept>

namespace layerfs::bench {
namespace {

using Clock = std::chrono::steady_clock;

// Start times by pid, so wait_for() measures from the spawn itself.
std::mutex g_mu;
std::map<pid_t, Clock::time_point> g_started;

std::string tail_of(const std::string& path, size_t max = 4096) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    std::string s = ss.str();
    if (s.size() > max) s = "..." + s.substr(s.size() - max);
    while (!s.empty() && s.back() == '\n')
        s.pop_back();
    return s;
}

std::string joined(const std::vector<std::string>& argv) {
    std::string s;
    for (const auto& a : argv)
        s += (s.empty() ? "" : " ") + shell_quote(a);
    return s;
}

Finished checked(const std::vector<std::string>& argv, const std::string& cwd,
                 const std::string& what) {
    Finished f = wait_for(spawn(argv, cwd));
    if (f.status != 0)
        throw std::runtime_error("`" + what + "` failed with status " + std::to_string(f.status) +
                                 (f.stderr_text.empty() ? "" : ": " + f.stderr_text));
    return f;
}

}  // namespace

std::string shell_quote(const std::string& s) {
    std::string q = "'";
    for (char c : s)
        q += c == '\'' ? std::string("'\\''") : std::string(1, c);
    return q + "'";
}

Spawned spawn(const std::vector<std::string>& argv, const std::string& cwd) {
    char tmpl[] = "/tmp/layerfs-bench-stderr.XXXXXX";
    int err = mkstemp(tmpl);
    if (err < 0) throw std::runtime_error(std::string("mkstemp: ") + strerror(errno));
    std::vector<char*> args;
    for (const auto& a : argv)
        args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    auto start = Clock::now();
    pid_t pid = fork();
    if (pid < 0) {
        close(err);
        throw std::runtime_error(std::string("fork: ") + strerror(errno));
    }
    if (pid == 0) {
        int null = open("/dev/null", O_RDWR);
        dup2(null, 0);
        dup2(null, 1);
        dup2(err, 2);
        if (!cwd.empty() && chdir(cwd.c_str()) != 0) {
            dprintf(2, "chdir %s: %s\n", cwd.c_str(), strerror(errno));
            _exit(127);
        }
        execvp(args[0], args.data());
        dprintf(2, "exec %s: %s\n", args[0], strerror(errno));
        _exit(127);
    }
    close(err);
    std::lock_guard lk(g_mu);
    g_started[pid] = start;
    return {pid, tmpl};
}

Finished wait_for(const Spawned& p) {
    int st = 0;
    struct rusage ru {};
    while (wait4(p.pid, &st, 0, &ru) < 0) {
        if (errno != EINTR) throw std::runtime_error(std::string("wait4: ") + strerror(errno));
    }
    auto end = Clock::now();
    Finished f;
    {
        std::lock_guard lk(g_mu);
        auto it = g_started.find(p.pid);
        if (it != g_started.end()) {
            f.seconds = std::chrono::duration<double>(end - it->second).count();
            g_started.erase(it);
        }
    }
    f.status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    f.cpu_seconds = double(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
                    double(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
    f.max_rss_kib = ru.ru_maxrss;
    f.stderr_text = tail_of(p.stderr_path);
    unlink(p.stderr_path.c_str());
    return f;
}

Finished run_shell(const std::string& script, const std::string& cwd) {
    return checked({"sh", "-c", script}, cwd, script);
}

Finished run_checked(const std::vector<std::string>& argv, const std::string& cwd) {
    return checked(argv, cwd, joined(argv));
}

std::string capture(const std::vector<std::string>& argv, const std::string& cwd) {
    char tmpl[] = "/tmp/layerfs-bench-out.XXXXXX";
    int out = mkstemp(tmpl);
    if (out < 0) throw std::runtime_error(std::string("mkstemp: ") + strerror(errno));
    close(out);
    std::string script = "exec " + joined(argv) + " > " + shell_quote(tmpl);
    try {
        checked({"sh", "-c", script}, cwd, joined(argv));
    } catch (...) {
        unlink(tmpl);
        throw;
    }
    std::string s = tail_of(tmpl, std::string::npos);
    unlink(tmpl);
    return s;
}

}  // namespace layerfs::bench
