#pragma once
// Container records in the store: containers/<id>/{upper,work,merged} and
// state.json. The store needs them to know which images and layers are in use.
#include <string>
#include <vector>

#include "snapshotter/images.hpp"
#include "snapshotter/store.hpp"

namespace layerfs::store {

struct ContainerRecord {
    std::string id;  // 64 hex
    std::string name;
    std::string image;                // image id
    std::vector<std::string> layers;  // diff_ids, bottom first
};

std::vector<ContainerRecord> list_containers(const Store& s);
// Creates the container's directories and record (exclusive lock held).
ContainerRecord create_container(Store& s, const Image& image, const std::string& name);

}  // namespace layerfs::store
