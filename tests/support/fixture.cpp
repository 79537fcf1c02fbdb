#include "tests/support/fixture.hpp"

#include <fcntl.h>
#include <spawn.h>
#include <sys/mount.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

extern char** environ;

namespace layerfs::test {

RunResult run(const std::vector<std::string>& argv) {
    int pipefd[2];
    if (::pipe2(pipefd, O_CLOEXEC) < 0) throw std::runtime_error("pipe");
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, pipefd[1], 1);
    posix_spawn_file_actions_adddup2(&fa, pipefd[1], 2);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    std::vector<char*> args;
    for (auto& a : argv)
        args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    pid_t pid;
    int rc = posix_spawnp(&pid, args[0], &fa, nullptr, args.data(), environ);
    posix_spawn_file_actions_destroy(&fa);
    ::close(pipefd[1]);
    RunResult r;
    if (rc != 0) {
        ::close(pipefd[0]);
        r.output = std::string("cannot run ") + argv[0] + ": " + std::strerror(rc);
        return r;
    }
    // A daemonized child keeps the pipe open: stop reading once the parent exits.
    char buf[4096];
    for (;;) {
        ssize_t n = ::read(pipefd[0], buf, sizeof buf);
        if (n <= 0) break;
        r.output.append(buf, size_t(n));
    }
    ::close(pipefd[0]);
    int st = 0;
    ::waitpid(pid, &st, 0);
    r.status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    return r;
}

std::string layerfs_test_options() {
    const char* env = std::getenv("LAYERFS_TEST_MOUNT_OPTIONS");
    return env ? env : "";
}

bool passthrough_expected() {
    return ::geteuid() == 0 && layerfs_test_options().find("passthrough=0") == std::string::npos;
}

std::string layerfs_bin() {
    const char* env = std::getenv("LAYERFS_BIN");
    return env && *env ? env : LAYERFS_BIN;
}

TempDir::TempDir() {
    const char* base = std::getenv("LAYERFS_TEST_TMP");
    std::string tmpl = std::string(base ? base : "/tmp") + "/layerfs-test.XXXXXX";
    if (!::mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp");
    path_ = tmpl;
}

TempDir::~TempDir() {
    // Never recurse into something still mounted.
    run({"sh", "-c", "grep -q \" $1/\" /proc/mounts || rm -rf -- \"$1\"", "sh", path_});
}

static void parents(const std::string& path) {
    auto slash = path.rfind('/');
    if (slash == std::string::npos || slash == 0) return;
    make_dir(path.substr(0, slash));
}

void make_dir(const std::string& path, mode_t mode) {
    struct stat st;
    if (::lstat(path.c_str(), &st) == 0) return;
    parents(path);
    if (::mkdir(path.c_str(), mode) < 0 && errno != EEXIST)
        throw std::runtime_error("mkdir " + path + ": " + std::strerror(errno));
    ::chmod(path.c_str(), mode);
}

void write_file(const std::string& path, std::string_view content, mode_t mode) {
    parents(path);
    int fd = ::open(path.c_str(), O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC, mode);
    if (fd < 0) throw std::runtime_error("open " + path + ": " + std::strerror(errno));
    if (::write(fd, content.data(), content.size()) != ssize_t(content.size()))
        throw std::runtime_error("write " + path);
    ::close(fd);
    ::chmod(path.c_str(), mode);
}

void make_symlink(const std::string& target, const std::string& path) {
    parents(path);
    if (::symlink(target.c_str(), path.c_str()) < 0)
        throw std::runtime_error("symlink " + path + ": " + std::strerror(errno));
}

void whiteout_device(const std::string& path) {
    parents(path);
    if (::mknod(path.c_str(), S_IFCHR | 0, makedev(0, 0)) < 0)
        throw std::runtime_error("mknod " + path + ": " + std::strerror(errno));
}

void whiteout_file(const std::string& path) {
    auto slash = path.rfind('/');
    write_file(path.substr(0, slash + 1) + ".wh." + path.substr(slash + 1), "");
}

void set_xattr(const std::string& path, const std::string& name, std::string_view value) {
    if (::lsetxattr(path.c_str(), name.c_str(), value.data(), value.size(), 0) < 0)
        throw std::runtime_error("setxattr " + path + " " + name + ": " + std::strerror(errno));
}

std::string read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw std::runtime_error("read " + path + ": " + std::strerror(errno));
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

bool exists(const std::string& path) {
    struct stat st;
    return ::lstat(path.c_str(), &st) == 0;
}

struct stat lstat_of(const std::string& path) {
    struct stat st {};
    if (::lstat(path.c_str(), &st) < 0)
        throw std::runtime_error("lstat " + path + ": " + std::strerror(errno));
    return st;
}

bool is_mounted(const std::string& path) {
    char real[PATH_MAX];
    if (!::realpath(path.c_str(), real)) return false;
    std::ifstream mounts("/proc/self/mounts");
    std::string dev, mnt, rest;
    while (mounts >> dev >> mnt && std::getline(mounts, rest))
        if (mnt == real) return true;
    return false;
}

const char* backend_name(Backend b) {
    switch (b) {
        case Backend::Layerfs:
            return "layerfs";
        case Backend::Kernel:
            return "overlay";
        case Backend::FuseOverlayfs:
            return "fuse-overlayfs";
    }
    return "?";
}

Mount::Mount(Backend b, std::vector<std::string> lowers, std::string upper, std::string work,
             std::string mountpoint, std::string extra_opts)
    : backend_(b), mnt_(std::move(mountpoint)) {
    std::string opts = "lowerdir=";
    for (size_t i = 0; i < lowers.size(); ++i)
        opts += (i ? ":" : "") + lowers[i];
    if (!upper.empty()) opts += ",upperdir=" + upper + ",workdir=" + work;
    if (!extra_opts.empty()) opts += "," + extra_opts;
    if (b == Backend::Layerfs && !layerfs_test_options().empty())
        opts += "," + layerfs_test_options();
    switch (b) {
        case Backend::Layerfs:
            result_ = run({layerfs_bin(), "mount", "-o", opts, mnt_});
            break;
        case Backend::Kernel:
            result_ = run({"mount", "-t", "overlay", "overlay", "-o", opts, mnt_});
            break;
        case Backend::FuseOverlayfs:
            result_ = run({"fuse-overlayfs", "-o", opts, mnt_});
            break;
    }
    mounted_ = is_mounted(mnt_);
}

void Mount::unmount() {
    if (!mounted_) return;
    mounted_ = false;
    if (backend_ == Backend::Kernel || ::geteuid() == 0) {
        if (run({"umount", mnt_}).status != 0) run({"umount", "-l", mnt_});
    } else if (run({"fusermount3", "-u", mnt_}).status != 0) {
        run({"fusermount3", "-u", "-z", mnt_});
    }
}

Mount::~Mount() {
    unmount();
}

Stack::Stack(int nlowers, std::string_view tag) {
    std::string t(tag);
    for (int i = 0; i < nlowers; ++i) {
        lowers.push_back(tmp / (t + "l" + std::to_string(i)));
        make_dir(lowers.back());
    }
    upper = tmp / (t + "upper");
    work = tmp / (t + "work");
    mnt = tmp / (t + "mnt");
    make_dir(upper);
    make_dir(work);
    make_dir(mnt);
}

}  // namespace layerfs::test

namespace layerfs::test {

std::vector<std::string> list_dir(const std::string& path) {
    std::vector<std::string> out;
    std::error_code ec;
    for (const auto& e : std::filesystem::directory_iterator(path, ec))
        out.push_back(e.path().filename());
    std::sort(out.begin(), out.end());
    return out;
}

}  // namespace layerfs::test
