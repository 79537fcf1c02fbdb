#pragma once
// The snapshotter's rows: layerfs diff and commit of a container, against
// `tar -c | sha256sum` of the same upper dir and the hashes' own speed.
#include <string>
#include <vector>

#include "bench/dataset.hpp"
#include "bench/workloads.hpp"

namespace layerfs::bench {

// Makes a store under `dir` holding the merged tree (without the big file) as
// one image, a container with 10 small changes and one with a big new file,
// and returns the operations to time on them.
std::vector<SnapshotOp> prepare_snapshot(const DataSet& data, const std::string& dir,
                                         const std::string& layerfs_bin);

}  // namespace layerfs::bench
