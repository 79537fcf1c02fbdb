#pragma once
// Container records in the store: containers/<id>/{upper,work,merged} and
// state.json. The store needs them to know which images and layers are in use.
#include <string>
#include <vector>

#include "fs/overlay/options.hpp"
#include "snapshotter/images.hpp"
#include "snapshotter/store.hpp"

namespace layerfs::store {

struct ContainerRecord {
    std::string id;  // 64 hex
    std::string name;
    std::string image;                // image id
    std::vector<std::string> layers;  // diff_ids, bottom first
    std::string config;               // what `run` runs (JSON), empty for `create`
    std::string created;              // RFC 3339
};

std::vector<ContainerRecord> list_containers(const Store& s);
// Creates the container's directories and record (exclusive lock held).
// `config` is kept verbatim for the runtime.
ContainerRecord create_container(Store& s, const Image& image, const std::string& name,
                                 const std::string& config = "");

// Docker's rule, [a-zA-Z0-9][a-zA-Z0-9_.-]*, and not 64 hex digits (an id).
bool valid_container_name(const std::string& name);

// The container `what` names: its name, its id or a unique prefix of its id.
ContainerRecord find_container(const Store& s, const std::string& what);

// containers/<id>, absolute.
std::string container_dir(const Store& s, const ContainerRecord& c);

// The image's layer dirs, top first: what diff and commit compare the upper with.
std::vector<std::string> container_layers(Store& s, const ContainerRecord& c);

// The mount of the container's root: its init layer (mount points for /proc,
// /dev, /sys and /etc/hosts, hostname and resolv.conf, so those never show in
// the upper dir, as docker's -init layer) over its image's layers, under its
// upper dir, at containers/<id>/merged. An unprivileged store keeps owners and
// modes in user.containers.override_stat, as its layers do.
MountConfig container_mount(Store& s, const ContainerRecord& c);

// Removes the record and its directories (exclusive lock held, nothing mounted).
void remove_container(Store& s, const ContainerRecord& c);

}  // namespace layerfs::store
