#pragma once
// The rounds: every workload on every back end, interleaved, each on a fresh
// mount, and the snapshotter's operations; the raw samples as JSON.
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "bench/backends.hpp"
#include "bench/workloads.hpp"

namespace layerfs::bench {

struct RunConfig {
    int rounds = 5;
    std::vector<Backend> run{std::begin(kBackends), std::end(kBackends)};  // which back ends
    BackendConfig backends;
    bool verbose = true;  // a line per sample on stderr
};

// Adds "workloads", "snapshot", "samples" and "mount_options" to `raw`.
void run_rounds(const RunConfig& cfg, const DataSet& data, const std::vector<Workload>& ws,
                const std::vector<SnapshotOp>& ops, nlohmann::json& raw);

}  // namespace layerfs::bench
