#include "bench/runner.hpp"

#include <cstdio>
#include <fstream>
#include <stdexcept>

namespace layerfs::bench {

namespace {

using nlohmann::json;

// The job's runtime (milliseconds in fio's JSON), which includes an end_fsync.
double fio_runtime(const std::string& path) {
    std::ifstream in(path);
    json j = json::parse(in, nullptr, false);
    if (j.is_discarded() || !j.contains("jobs") || j["jobs"].empty())
        throw std::runtime_error("fio wrote no usable JSON to " + path);
    return j["jobs"][0].value("job_runtime", 0.0) / 1000.0;
}

json run_one(const RunConfig& cfg, const DataSet& data, const Workload& w, Backend b,
             json& mount_options) {
    if (!w.host_prepare.empty()) run_shell(w.host_prepare);
    Mounted m(b, cfg.backends, data, w);
    if (!w.prepare.empty()) run_shell(w.prepare, m.path());
    const std::string fio_json = cfg.backends.scratch + "/fio.json";
    Finished f = run_shell(
        w.fio ? w.command + " --output-format=json --output=" + shell_quote(fio_json) : w.command,
        m.path());
    if (b != Backend::Ext4 && !mount_options.contains(backend_key(b)))
        mount_options[backend_key(b)] = m.mount_options();
    json sample = {{"workload", w.key}, {"backend", backend_key(b)}, {"seconds", f.seconds}};
    if (w.fio) {
        sample["wall_seconds"] = f.seconds;
        sample["seconds"] = fio_runtime(fio_json);
    }
    if (auto use = m.finish()) {
        sample["daemon_cpu_seconds"] = use->cpu_seconds;
        sample["daemon_max_rss_kib"] = use->max_rss_kib;
    }
    return sample;
}

}  // namespace

void run_rounds(const RunConfig& cfg, const DataSet& data, const std::vector<Workload>& ws,
                const std::vector<SnapshotOp>& ops, json& raw) {
    json& samples = raw["samples"] = json::array();
    json& mount_options = raw["mount_options"] = json::object();
    raw["workloads"] = json::array();
    for (const auto& w : ws)
        raw["workloads"].push_back(
            {{"key", w.key}, {"name", w.name}, {"group", w.group}, {"command", w.command}});
    raw["snapshot"] = json::array();
    for (const auto& op : ops)
        raw["snapshot"].push_back({{"key", op.key},
                                   {"name", op.name},
                                   {"command", op.command},
                                   {"reference", op.reference}});

    const size_t n = cfg.run.size();
    for (int r = 0; r < cfg.rounds; ++r) {
        for (const auto& w : ws)
            // Each round starts with another back end, so none is always first
            // (or always right after the same neighbour).
            for (size_t i = 0; i < n; ++i) {
                Backend b = cfg.run[(i + size_t(r) + (&w - ws.data())) % n];
                json s = run_one(cfg, data, w, b, mount_options);
                s["round"] = r;
                if (cfg.verbose)
                    fprintf(stderr, "round %d/%d  %-16s %-15s %8.4f s\n", r + 1, cfg.rounds,
                            w.key.c_str(), backend_key(b), s["seconds"].get<double>());
                samples.push_back(std::move(s));
            }
        for (const auto& op : ops) {
            Finished f = run_shell(op.command);
            if (cfg.verbose)
                fprintf(stderr, "round %d/%d  %-16s %-15s %8.4f s\n", r + 1, cfg.rounds,
                        op.key.c_str(), "snapshot", f.seconds);
            samples.push_back({{"workload", op.key},
                               {"backend", "snapshot"},
                               {"round", r},
                               {"seconds", f.seconds}});
        }
    }
}

}  // namespace layerfs::bench
