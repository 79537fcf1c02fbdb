// FUSE over io_uring (io_uring=1): with the kernel's fuse.enable_uring set, the
// daemon's ring threads serve the requests; without it the mount works through
// /dev/fuse as before. Whether the ring served a request is read from the
// daemon's io_uring fds (their completion counters in /proc/PID/fdinfo).
// ctest also runs every mount test once more with io_uring=1.
#include <dirent.h>
#include <signal.h>
#include <sys/wait.h>
#include <sys/xattr.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <optional>
#include <thread>

#include "tests/mount/mount_helpers.hpp"

using namespace layerfs::test;

namespace {

const char* const kParam = "/sys/module/fuse/parameters/enable_uring";

std::string param_value() {
    std::ifstream in(kParam);
    std::string v;
    in >> v;
    return v;  // "Y", "N", or "" when the kernel has no FUSE over io_uring
}

// Sets the kernel's switch for the test and puts the old value back.
class UringSwitch {
  public:
    explicit UringSwitch(bool on) : old_(param_value()) { write(on ? "Y" : "N"); }
    ~UringSwitch() {
        if (!old_.empty()) write(old_);
    }
    bool supported() const { return !old_.empty(); }

  private:
    void write(const std::string& v) {
        std::ofstream out(kParam);
        out << v;
    }
    std::string old_;
};

// Completions the daemon's rings delivered (each a request fetched, beyond
// the first `depth` registrations), and how many rings it has.
struct RingUse {
    int rings = 0;
    long completions = 0;
};

RingUse ring_use(pid_t pid) {
    RingUse u;
    const std::string fds = "/proc/" + std::to_string(pid) + "/fd";
    DIR* d = ::opendir(fds.c_str());
    REQUIRE(d);
    while (dirent* e = ::readdir(d)) {
        char target[256] = {};
        if (::readlink((fds + "/" + e->d_name).c_str(), target, sizeof target - 1) <= 0) continue;
        if (std::string(target) != "anon_inode:[io_uring]") continue;
        ++u.rings;
        std::ifstream in("/proc/" + std::to_string(pid) + "/fdinfo/" + e->d_name);
        for (std::string line; std::getline(in, line);)
            if (line.rfind("CqHead:", 0) == 0) u.completions += std::atol(line.c_str() + 7);
    }
    ::closedir(d);
    return u;
}

// The kernel makes a queue per possible CPU (not only the online ones):
// "0-3" or "0,2-5", the last number the highest.
int possible_cpus() {
    std::ifstream in("/sys/devices/system/cpu/possible");
    std::string list;
    in >> list;
    const size_t at = list.find_last_of(",-");
    return std::atoi(list.c_str() + (at == std::string::npos ? 0 : at + 1)) + 1;
}

RingUse wait_for_rings(pid_t pid) {
    RingUse u = ring_use(pid);
    for (int i = 0; i < 500 && u.rings < possible_cpus(); ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
        u = ring_use(pid);
    }
    return u;
}

std::string opts_of(const Stack& s, const std::string& extra) {
    return "lowerdir=" + s.lower(0) + ",upperdir=" + s.upper + ",workdir=" + s.work + "," + extra;
}

void build_lower(const Stack& s) {
    for (int i = 0; i < 300; ++i)
        write_file(s.lower(0) + "/dir/f" + std::to_string(i), "lower " + std::to_string(i));
    write_file(s.lower(0) + "/big", std::string(3 << 20, 'b'));
}

// Work that needs every kind of request: lookups, listings, creates, writes
// larger than a ring entry's payload, renames, links, xattrs, O_TMPFILE.
void exercise(const std::string& m) {
    REQUIRE(list_dir(m + "/dir").size() == 300);
    for (int i = 0; i < 300; i += 7)
        REQUIRE(read_file(m + "/dir/f" + std::to_string(i)) == "lower " + std::to_string(i));
    std::string data(5 << 20, '\0');
    for (size_t i = 0; i < data.size(); ++i)
        data[i] = char('a' + (i * 13 + i / 4096) % 26);
    write_file(m + "/new/data", data);
    REQUIRE(read_file(m + "/new/data") == data);
    append(m + "/big", "tail");
    REQUIRE(read_file(m + "/big") == std::string(3 << 20, 'b') + "tail");
    REQUIRE(::rename((m + "/dir/f1").c_str(), (m + "/new/f1").c_str()) == 0);
    REQUIRE(::unlink((m + "/dir/f2").c_str()) == 0);
    REQUIRE(::symlink("f1", (m + "/new/link").c_str()) == 0);
    REQUIRE(::link((m + "/new/f1").c_str(), (m + "/new/f1.hard").c_str()) == 0);
    REQUIRE(::setxattr((m + "/new/f1").c_str(), "user.k", "v", 1, 0) == 0);
    char v[8] = {};
    REQUIRE(::getxattr((m + "/new/f1").c_str(), "user.k", v, sizeof v) == 1);
    REQUIRE(::getxattr((m + "/new/f1").c_str(), "user.none", v, sizeof v) < 0);
    REQUIRE(errno == ENODATA);
    int fd = ::open((m + "/new").c_str(), O_TMPFILE | O_RDWR, 0600);
    REQUIRE(fd >= 0);
    REQUIRE(::write(fd, "tmp", 3) == 3);
    const std::string proc = "/proc/self/fd/" + std::to_string(fd);
    REQUIRE(::linkat(AT_FDCWD, proc.c_str(), AT_FDCWD, (m + "/new/tmp").c_str(),
                     AT_SYMLINK_FOLLOW) == 0);
    ::close(fd);
    REQUIRE(read_file(m + "/new/tmp") == "tmp");
    REQUIRE(::truncate((m + "/new/data").c_str(), 10) == 0);
    REQUIRE(lstat_of(m + "/new/data").st_size == 10);
    REQUIRE(::mkdir((m + "/new/sub").c_str(), 0755) == 0);
    REQUIRE(::rmdir((m + "/new/sub").c_str()) == 0);
}

// A layerfs mount with io_uring=1 over build_lower's tree, once its rings are
// up (after the INIT reply).
struct RingMount {
    Stack s;
    std::optional<Mount> m;
    pid_t pid = 0;
    RingUse start;
    explicit RingMount(const char* tag) : s(1, tag) {
        build_lower(s);
        m.emplace(Backend::Layerfs, std::vector<std::string>{s.lower(0)}, s.upper, s.work, s.mnt,
                  "io_uring=1");
        REQUIRE_MOUNTED(*m);
        pid = daemon_of(s.mnt);
        REQUIRE(pid > 0);
        start = wait_for_rings(pid);
    }
};

}  // namespace

TEST_CASE("io_uring: the ring serves the requests when the kernel allows it", "[io_uring]") {
    UringSwitch on(true);
    if (!on.supported()) {
        WARN("this kernel has no FUSE over io_uring (CONFIG_FUSE_IO_URING)");
        return;
    }
    RingMount r("uring");
    const Stack& s = r.s;
    Mount& m = *r.m;
    // A ring per possible CPU.
    REQUIRE(r.start.rings == possible_cpus());
    exercise(m.path());
    // Callers on every CPU: each queue gets requests.
    std::vector<std::thread> threads;
    std::atomic<int> failures{0};
    for (unsigned t = 0; t < 4; ++t)
        threads.emplace_back([&, t] {
            for (int i = 0; i < 200; ++i) {
                struct stat st;
                const std::string p = m / ("dir/f" + std::to_string((i * 4 + int(t)) % 290 + 3));
                char v[4];
                if (::stat(p.c_str(), &st) != 0 || ::getxattr(p.c_str(), "user.x", v, 4) >= 0)
                    ++failures;
            }
        });
    for (auto& t : threads)
        t.join();
    REQUIRE(failures == 0);
    // Each request the ring fetched is a completion; the GETXATTR misses alone
    // are 800 round trips that no cache answers.
    const RingUse after = ring_use(r.pid);
    INFO("completions before " << r.start.completions << ", after " << after.completions);
    REQUIRE(after.completions - r.start.completions > 800);
    m.unmount();
    REQUIRE_FALSE(is_mounted(s.mnt));
    // The same tree as the same work on kernel overlayfs would leave.
    Stack k(1, "uring-kernel");
    build_lower(k);
    {
        Mount km(Backend::Kernel, {k.lower(0)}, k.upper, k.work, k.mnt);
        REQUIRE_MOUNTED(km);
        exercise(km.path());
    }
    Mount again(Backend::Layerfs, {s.lower(0)}, s.upper, s.work, s.mnt, "io_uring=0");
    Mount kagain(Backend::Kernel, {k.lower(0)}, k.upper, k.work, k.mnt);
    REQUIRE_MOUNTED(again);
    REQUIRE_MOUNTED(kagain);
    INFO(tree_diff(snapshot(kagain.path()), snapshot(again.path())));
    REQUIRE(snapshot(again.path()) == snapshot(kagain.path()));
}

TEST_CASE("io_uring: without the kernel's switch the mount keeps /dev/fuse", "[io_uring]") {
    UringSwitch off(false);
    if (!off.supported()) return;
    Stack s(1, "uring-off");
    build_lower(s);
    Mount m(Backend::Layerfs, {s.lower(0)}, s.upper, s.work, s.mnt, "io_uring=1");
    REQUIRE_MOUNTED(m);
    exercise(m.path());
    REQUIRE(ring_use(daemon_of(s.mnt)).rings == 0);
}

TEST_CASE("io_uring: a killed daemon fails its callers instead of hanging them", "[io_uring]") {
    UringSwitch on(true);
    if (!on.supported()) return;
    RingMount r("uring-kill");
    Mount& m = *r.m;
    REQUIRE(r.start.rings > 0);
    // A caller in a loop of requests, then the daemon gone mid-stream.
    pid_t child = ::fork();
    REQUIRE(child >= 0);
    if (child == 0) {
        const std::string p = m / "dir/f5";
        char v[4];
        for (;;)
            if (::getxattr(p.c_str(), "user.x", v, 4) < 0 && errno != ENODATA) _exit(0);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    REQUIRE(::kill(r.pid, SIGKILL) == 0);
    int status = 0;
    pid_t done = 0;
    for (int i = 0; i < 500 && done == 0; ++i) {
        done = ::waitpid(child, &status, WNOHANG);
        if (done == 0) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    if (done == 0) {
        ::kill(child, SIGKILL);
        ::waitpid(child, &status, 0);
    }
    REQUIRE(done == child);  // it saw the error within 5 s
    REQUIRE(WIFEXITED(status));
    char v[4];
    REQUIRE(::getxattr((m / "dir/f5").c_str(), "user.x", v, 4) < 0);
    REQUIRE((errno == ENOTCONN || errno == ECONNABORTED));
}

TEST_CASE("io_uring: the option takes 0 or 1", "[io_uring]") {
    Stack s(1, "uring-opt");
    RunResult r = run({layerfs_bin(), "mount", "-o", opts_of(s, "io_uring=yes"), s.mnt});
    REQUIRE(r.status != 0);
    REQUIRE(r.output.find("io_uring") != std::string::npos);
    REQUIRE_FALSE(is_mounted(s.mnt));
}

// Run by ctest as an ordinary user (with the switch on, which only root can
// set): io_uring needs no privilege.
TEST_CASE("io_uring: an ordinary user's mount is served by the ring", "[io_uring][rootless]") {
    if (param_value() != "Y") {
        WARN("fuse.enable_uring is not on: nothing to test");
        return;
    }
    RingMount r("uring-user");
    REQUIRE(r.start.rings > 0);
    exercise(r.m->path());
    REQUIRE(ring_use(r.pid).completions > r.start.completions + 100);
}
