#include "fs/daemon/session.hpp"

#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "fs/daemon/fd_relief.hpp"
#include "fs/daemon/fuse_ops.hpp"
#include "fs/overlay/overlay_fs.hpp"

namespace layerfs {

namespace {

// An fd per live node and layer: let the daemon hold as many as the system
// allows (root may go up to fs.nr_open, others to their hard limit).
void raise_fd_limit() {
    rlimit rl;
    if (::getrlimit(RLIMIT_NOFILE, &rl) != 0) return;
    unsigned long nr_open = 0;
    if (FILE* f = std::fopen("/proc/sys/fs/nr_open", "r")) {
        if (std::fscanf(f, "%lu", &nr_open) != 1) nr_open = 0;
        std::fclose(f);
    }
    rlimit want{std::max<rlim_t>(rl.rlim_max, nr_open), std::max<rlim_t>(rl.rlim_max, nr_open)};
    if (::setrlimit(RLIMIT_NOFILE, &want) != 0) {
        rl.rlim_cur = rl.rlim_max;
        ::setrlimit(RLIMIT_NOFILE, &rl);
    }
}

std::string read_fuse_conf() {
    std::string text;
    if (FILE* f = std::fopen("/etc/fuse.conf", "re")) {
        char buf[4096];
        size_t n;
        while ((n = std::fread(buf, 1, sizeof buf, f)) > 0)
            text.append(buf, n);
        std::fclose(f);
    }
    return text;
}

struct SessionDeleter {
    void operator()(fuse_session* se) const { fuse_session_destroy(se); }
};

}  // namespace

int run_mount(const MountConfig& cfg, int ready_fd) {
    // Modes arrive already masked by the kernel; ours must not mask them again.
    ::umask(0);
    raise_fd_limit();
    if (cfg.debug) spdlog::set_level(spdlog::level::debug);

    std::string err;
    auto fs = OverlayFs::open(cfg, err);
    if (!fs) {
        // A layer path that is missing or wrong is a bad command line, as a bad option is.
        spdlog::error("{}", err);
        return 2;
    }
    if (fs->was_dirty())
        spdlog::warn(
            "workdir '{}': a volatile mount did not end cleanly; the upper layer may be "
            "inconsistent",
            cfg.workdir);
    spdlog::debug("upper whiteouts: {}, chown: {}", fs->caps().kernel_whiteouts ? "kernel" : ".wh.",
                  fs->caps().can_chown);
    set_cache_timeout(cfg.timeout);

    // The daemon acts with its own rights for every caller, so the kernel must
    // check callers against the owner and mode the mount shows.
    const std::string opts = fuse_mount_options(cfg, fs->read_only(), ::geteuid() == 0,
                                                fuse_conf_allows_other(read_fuse_conf()));
    std::vector<std::string> argv_s = {"layerfs", "-o", opts};
    if (cfg.debug) argv_s.push_back("-d");
    std::vector<char*> argv;
    for (auto& a : argv_s)
        argv.push_back(a.data());
    fuse_args args = FUSE_ARGS_INIT(int(argv.size()), argv.data());

    Daemon daemon{*fs, Passthrough(cfg.passthrough)};
    daemon.wants_io_uring = cfg.io_uring;
    std::unique_ptr<fuse_session, SessionDeleter> se(
        fuse_session_new(&args, &fuse_operations(), sizeof(fuse_lowlevel_ops), &daemon));
    fuse_opt_free_args(&args);  // libfuse copied what it kept
    if (!se) {
        spdlog::error("cannot start a FUSE session with options '{}'", opts);
        return 1;
    }
    daemon.se = se.get();
    if (fuse_set_signal_handlers(se.get()) != 0) return 1;
    if (fuse_session_mount(se.get(), cfg.mountpoint.c_str()) != 0) {
        spdlog::error("cannot mount on '{}'", cfg.mountpoint);
        fuse_remove_signal_handlers(se.get());
        return 1;
    }
    // Same fd, our io in front of it: libfuse keeps unmounting it as it mounted it.
    if (fuse_session_custom_io(se.get(), &kRawIo, fuse_session_fd(se.get())) != 0) {
        spdlog::error("cannot set up the FUSE request io");
        fuse_session_unmount(se.get());
        fuse_remove_signal_handlers(se.get());
        return 1;
    }
    fuse_daemonize(cfg.foreground ? 1 : 0);
    if (ready_fd >= 0) {
        (void)!::write(ready_fd, "1", 1);
        ::close(ready_fd);
    }

    auto relief = std::make_unique<FdRelief>(se.get(), *fs);
    int rc;
    if (cfg.threaded) {
        fuse_loop_config* lc = fuse_loop_cfg_create();
        fuse_loop_cfg_set_clone_fd(lc, 0);
        fuse_loop_cfg_set_max_threads(lc, 16);
        fuse_loop_cfg_set_idle_threads(lc, 4);
        rc = fuse_session_loop_mt(se.get(), lc);
        fuse_loop_cfg_destroy(lc);
    } else {
        rc = fuse_session_loop(se.get());
    }
    relief.reset();
    fuse_session_unmount(se.get());
    // Unmounted: the ring's threads have nothing left to serve.
    if (daemon.ring) {
        spdlog::debug("io_uring served {} requests", daemon.ring->served());
        daemon.ring.reset();
    }
    fuse_remove_signal_handlers(se.get());
    fs->mark_clean();
    // libfuse reports the signal that ended the loop; SIGTERM/SIGINT/SIGHUP are a clean stop.
    return rc == 0 || rc == SIGTERM || rc == SIGINT || rc == SIGHUP ? 0 : 1;
}

}  // namespace layerfs
