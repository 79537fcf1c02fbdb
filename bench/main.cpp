// layerfs-bench: the same workloads on the same data over native ext4, kernel
// overlayfs, fuse-overlayfs and layerfs, in one run; see README.md "Benchmark".
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <iostream>
#include <optional>

#include "bench/dataset.hpp"
#include "bench/machine.hpp"
#include "bench/output.hpp"
#include "bench/process.hpp"
#include "bench/runner.hpp"
#include "bench/snapshot.hpp"

using namespace layerfs::bench;
using nlohmann::json;

namespace {

void require_tools() {
    std::string missing;
    for (const char* t :
         {"fio", "fuse-overlayfs", "gnuplot", "git", "make", "cc", "xxhsum", "sha256sum", "tar"})
        if (wait_for(spawn({"sh", "-c", std::string("command -v ") + t})).status != 0)
            missing += std::string(" ") + t;
    if (!missing.empty())
        throw std::runtime_error("missing tools:" + missing +
                                 " (bash scripts/setup.sh installs them)");
}

std::string today() {
    char buf[16];
    std::time_t t = std::time(nullptr);
    std::strftime(buf, sizeof buf, "%Y-%m-%d", std::gmtime(&t));
    return buf;
}

// layerfs io_uring needs the fuse module's enable_uring switch (off by
// default): on for the run, then back as it was.
class UringSwitch {
  public:
    static constexpr const char* kPath = "/sys/module/fuse/parameters/enable_uring";
    UringSwitch() {
        std::ifstream in(kPath);
        in >> old_;
        if (!old_.empty()) set("Y");
    }
    ~UringSwitch() {
        if (!old_.empty()) set(old_);
    }
    bool present() const { return !old_.empty(); }

  private:
    static void set(const std::string& v) { std::ofstream(kPath) << v; }
    std::string old_;
};

std::string self_path() {
    char buf[4096];
    ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
    if (n <= 0) throw std::runtime_error("readlink /proc/self/exe failed");
    return std::string(buf, size_t(n));
}

std::string default_layerfs() {
    // The binary this build made, else the installed one.
    return access(LAYERFS_BIN, X_OK) == 0 ? LAYERFS_BIN : "layerfs";
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"layerfs-bench: layerfs against native ext4, kernel overlayfs and fuse-overlayfs"};
    bool quick = false, no_snapshot = false;
    int rounds = 0;
    std::string work, out = std::string(LAYERFS_SOURCE_DIR) + "/bench/results", name, render;
    DataSpec spec;
    RunConfig cfg;
    cfg.backends.layerfs_bin = default_layerfs();
    app.add_flag("--quick", quick, "1 round on small synthetic data (the CI smoke run)");
    app.add_option("--rounds", rounds, "rounds (default 5, --quick 1)")->check(CLI::Range(1, 1000));
    app.add_option("--source", spec.source, "rootfs data: auto, debian or synthetic")
        ->check(CLI::IsMember({"auto", "debian", "synthetic"}));
    app.add_option("--work", work,
                   "scratch dir, data cached there (default /var/tmp/layerfs-bench[-quick])");
    app.add_option("--out", out, "where NAME.md, NAME.json and NAME.png go")->capture_default_str();
    app.add_option("--name", name, "result files' base name (default DATE-COMMIT, or quick)");
    app.add_option("--layerfs", cfg.backends.layerfs_bin, "the layerfs binary")
        ->capture_default_str();
    // As the store's containers mount: kernel overlayfs runs with its defaults.
    cfg.backends.layerfs_options = "metacopy=on";
    app.add_option("--layerfs-options", cfg.backends.layerfs_options,
                   "extra -o options for layerfs")
        ->capture_default_str();
    app.add_option("--fuse-overlayfs-options", cfg.backends.fuse_overlayfs_options,
                   "extra -o options for fuse-overlayfs");
    app.add_flag("--no-snapshot", no_snapshot, "skip the diff/commit rows");
    app.add_option("--render", render, "only re-render the table and plot of an earlier run's JSON")
        ->check(CLI::ExistingFile);
    bool no_uring = false;
    app.add_flag("--no-io-uring", no_uring,
                 "skip the layerfs io_uring back end (which needs root to switch "
                 "fuse.enable_uring on)");
    // What the round-trip workload runs; not for people.
    std::string round_trip;
    long calls = 0;
    app.add_option("--round-trip", round_trip)->group("");
    app.add_option("--calls", calls)->group("");
    CLI11_PARSE(app, argc, argv);

    try {
        if (!round_trip.empty()) {
            round_trips(round_trip, calls);
            return 0;
        }
        if (!render.empty()) {
            std::ifstream in(render);
            json raw;
            try {
                raw = json::parse(in);
            } catch (const json::parse_error& e) {
                throw std::runtime_error(render + ": " + e.what());
            }
            std::string base = render.substr(render.rfind('/') + 1);
            base = base.substr(0, base.rfind(".json"));
            std::cout << write_results(raw, out, name.empty() ? base : name) << "\n";
            return 0;
        }
        if (geteuid() != 0)
            throw std::runtime_error("run as root: kernel overlayfs is one of the back ends");
        require_tools();
        if (quick) {
            std::string source = spec.source;
            spec = DataSpec::quick();
            if (source != "auto") spec.source = source;
        }
        cfg.rounds = rounds ? rounds : quick ? 1 : 5;
        if (work.empty()) work = quick ? "/var/tmp/layerfs-bench-quick" : "/var/tmp/layerfs-bench";
        if (name.empty())
            name = quick ? "quick"
                         : today() + "-" +
                               capture({"git", "-C", LAYERFS_SOURCE_DIR, "rev-parse", "--short",
                                        "HEAD"});
        cfg.backends.scratch = work + "/run";
        std::optional<UringSwitch> uring;
        if (!no_uring) uring.emplace();
        if (!uring || !uring->present()) {
            if (!no_uring) fprintf(stderr, "layerfs-bench: no FUSE over io_uring in this kernel\n");
            std::erase(cfg.run, Backend::LayerfsUring);
        }

        fprintf(stderr, "layerfs-bench: preparing data in %s\n", work.c_str());
        DataSet data = prepare_data(spec, work + "/data", LAYERFS_SOURCE_DIR);
        std::vector<SnapshotOp> ops;
        if (!no_snapshot)
            ops = prepare_snapshot(data, work + "/snapshot", cfg.backends.layerfs_bin);

        json raw = {{"format", 1}, {"date", today()}, {"quick", quick}, {"rounds", cfg.rounds}};
        raw["machine"] = describe_machine(work);
        raw["software"] = describe_software(cfg.backends.layerfs_bin, LAYERFS_SOURCE_DIR);
        raw["data"] = {{"source", data.source},
                       {"files", data.files},
                       {"dirs", data.dirs},
                       {"symlinks", data.symlinks},
                       {"hardlinked", data.hardlinked},
                       {"bytes", data.bytes},
                       {"whiteouts", data.whiteouts},
                       {"opaque_dirs", data.opaque_dirs},
                       {"big_bytes", spec.big_bytes},
                       {"many_files", spec.many_files},
                       {"repo_files", spec.repo_files},
                       {"c_files", spec.c_files},
                       {"untar_files", spec.untar_files}};
        run_rounds(cfg, data, workloads(data, spec, self_path()), ops, raw);
        std::cout << write_results(raw, out, name) << "\n";
        // The snapshot store holds a copy of the tree: not worth keeping.
        run_checked({"rm", "-rf", "--one-file-system", work + "/snapshot", work + "/run"});
        return 0;
    } catch (const std::exception& e) {
        fprintf(stderr, "layerfs-bench: %s\n", e.what());
        return 1;
    }
}
