#pragma once
// What is measured: shell commands run in a mount's root (or, for the
// snapshotter, on the host), each on a fresh mount.
#include <string>
#include <vector>

#include "bench/dataset.hpp"

namespace layerfs::bench {

struct Workload {
    std::string key;           // stable id in the JSON: "find-cold"
    std::string name;          // the table's row: "find (cold)"
    std::string group;         // metadata | read | write | copy-up | real work
    std::string host_prepare;  // run untimed on the host before mounting ("" = none)
    std::string prepare;       // run untimed on the fresh mount first ("" = none)
    std::string command;       // timed: sh -c in the mount's root
    // Native ext4 gets a fresh hard-linked copy of the tree when the command
    // changes it; paths it changes in place (chmod, append) are copied for real
    // so the shared data is never touched.
    bool changes_tree = false;
    std::vector<std::string> changed_in_place;
    // A fio job: its time is the job's runtime as fio reports it, since fio's
    // own start and exit take some 250 ms of sleeps that no back end causes.
    bool fio = false;
};

// Every workload, in report order, with the data's paths and sizes filled in.
// self: this program, whose --round-trip mode one workload runs.
std::vector<Workload> workloads(const DataSet& data, const DataSpec& spec, const std::string& self);

// --round-trip: `calls` getxattr calls for a name `path` does not have, each a
// request no cache answers.
void round_trips(const std::string& path, long calls);

// A snapshotter operation, run on the host against a store; only layerfs has
// them, so they are compared with what bounds them instead of with back ends.
struct SnapshotOp {
    std::string key, name, command;
    std::string reference;  // the key of the row it is compared with ("" = none)
};

}  // namespace layerfs::bench
