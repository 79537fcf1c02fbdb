#pragma once
// `layerfs commit`: a container's changes as a new layer and image.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "snapshotter/containers.hpp"
#include "snapshotter/store.hpp"

namespace layerfs::store {

struct CommitOptions {
    std::string message, author;
    std::vector<std::string> changes;  // -c instructions
    std::vector<std::string> refs;     // "name:tag"s for the new image
    // --reproducible / SOURCE_DATE_EPOCH: times in the tar clamped to it, and
    // it is the image's creation time.
    std::optional<int64_t> epoch;
};

struct CommitResult {
    std::string image_id, diff_id, chain_id;  // hex
};

// One pass over the changed data: the tar goes through a pipe into the
// unpacker, which hashes it, stages it as the blob and builds the layer
// directory from it. Everything appears at once, under the exclusive lock the
// caller holds; the container keeps its upper layer.
CommitResult commit_container(Store& s, const ContainerRecord& c, const CommitOptions& o);

}  // namespace layerfs::store
