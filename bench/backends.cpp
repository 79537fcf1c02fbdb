#include "bench/backends.hpp"

#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "bench/files.hpp"

namespace layerfs::bench {
namespace {

// /proc/self/mounts fields: source, target, type, options (no spaces in our paths).
std::optional<std::string> options_of(const std::string& path) {
    std::ifstream in("/proc/self/mounts");
    std::string line;
    std::optional<std::string> found;
    while (std::getline(in, line)) {
        std::istringstream ss(line);
        std::string src, target, type, opts;
        ss >> src >> target >> type >> opts;
        if (target == path) found = type + " " + opts;  // the last one is on top
    }
    return found;
}

void fresh_dir(const std::string& path) {
    run_checked({"rm", "-rf", "--one-file-system", path});
    make_dirs(path);
}

std::string lowerdir(const DataSet& d) {
    std::string s;
    for (const auto& l : d.lowers)
        s += (s.empty() ? "" : ":") + l;
    return s;
}

}  // namespace

const char* backend_key(Backend b) {
    switch (b) {
        case Backend::Ext4:
            return "ext4";
        case Backend::Overlay:
            return "overlay";
        case Backend::FuseOverlayfs:
            return "fuse-overlayfs";
        case Backend::Layerfs:
            return "layerfs";
        case Backend::LayerfsUring:
            return "layerfs-uring";
    }
    return "?";
}

bool is_mount_point(const std::string& path) {
    return options_of(path).has_value();
}

Mounted::Mounted(Backend b, const BackendConfig& cfg, const DataSet& data, const Workload& w)
    : backend_(b) {
    const std::string dir = cfg.scratch + "/" + backend_key(b);
    if (b == Backend::Ext4) {
        if (!w.changes_tree) {
            path_ = data.merged;
            return;
        }
        path_ = dir + "/tree";
        run_checked({"rm", "-rf", "--one-file-system", path_});
        make_dirs(dir);
        // Hard links: fast, and unlink/create/rename in the copy leave the data alone.
        run_checked({"cp", "-al", data.merged, path_});
        for (const auto& p : w.changed_in_place) {
            run_checked({"rm", "-rf", path_ + "/" + p});
            run_checked({"cp", "-a", data.merged + "/" + p, path_ + "/" + p});
        }
        return;
    }
    const std::string upper = dir + "/upper", work = dir + "/work";
    path_ = dir + "/mnt";
    if (is_mount_point(path_)) umount2(path_.c_str(), MNT_DETACH);
    fresh_dir(upper);
    fresh_dir(work);
    make_dirs(path_);
    std::string opts = "lowerdir=" + lowerdir(data) + ",upperdir=" + upper + ",workdir=" + work;
    if (b == Backend::Overlay) {
        if (mount("overlay", path_.c_str(), "overlay", 0, opts.c_str()) != 0)
            throw std::runtime_error("mount -t overlay " + path_ + ": " + strerror(errno));
        mounted_ = true;
        return;
    }
    std::vector<std::string> argv;
    if (b == Backend::FuseOverlayfs) {
        if (!cfg.fuse_overlayfs_options.empty()) opts += "," + cfg.fuse_overlayfs_options;
        argv = {"fuse-overlayfs", "-f", "-o", opts, path_};
    } else {
        if (!cfg.layerfs_options.empty()) opts += "," + cfg.layerfs_options;
        if (b == Backend::LayerfsUring) opts += ",io_uring=1";
        argv = {cfg.layerfs_bin, "mount", "-f", "-o", opts, path_};
    }
    daemon_ = spawn(argv);
    mounted_ = true;  // from here on, the destructor cleans up whatever happened
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (!is_mount_point(path_)) {
        siginfo_t info{};
        // WNOWAIT: a daemon that exited is reaped below, with its stderr.
        bool exited = waitid(P_PID, id_t(daemon_->pid), &info, WEXITED | WNOHANG | WNOWAIT) == 0 &&
                      info.si_pid == daemon_->pid;
        if (exited || std::chrono::steady_clock::now() > deadline) {
            if (!exited) kill(daemon_->pid, SIGKILL);
            Finished f = wait_for(*daemon_);
            daemon_.reset();
            mounted_ = false;
            throw std::runtime_error(std::string(backend_key(b)) + " did not mount " + path_ +
                                     ": " + (exited ? f.stderr_text : "no mount after 30 s"));
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
}

std::string Mounted::mount_options() const {
    return options_of(path_).value_or("");
}

std::optional<DaemonUse> Mounted::finish() {
    if (!mounted_) return std::nullopt;
    mounted_ = false;
    // A FUSE file system can be busy for a moment after its last user exits.
    for (int i = 0; umount2(path_.c_str(), 0) != 0; ++i) {
        if (errno == EINVAL) break;  // not mounted (a daemon that died)
        if (errno != EBUSY || i == 50) {
            umount2(path_.c_str(), MNT_DETACH);
            break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    if (!daemon_) return std::nullopt;
    Finished f = wait_for(*daemon_);
    daemon_.reset();
    if (f.status != 0)
        throw std::runtime_error(std::string(backend_key(backend_)) +
                                 " daemon exited with status " + std::to_string(f.status) + ": " +
                                 f.stderr_text);
    return DaemonUse{f.cpu_seconds, f.max_rss_kib};
}

Mounted::~Mounted() {
    if (!mounted_) return;
    mounted_ = false;
    umount2(path_.c_str(), MNT_DETACH);
    if (daemon_) {
        kill(daemon_->pid, SIGKILL);
        try {
            wait_for(*daemon_);
        } catch (...) {
        }
    }
}

}  // namespace layerfs::bench
