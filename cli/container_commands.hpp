#pragma once
// The container commands: create, mount CONTAINER, umount, rm, diff, commit.
#include <CLI/CLI.hpp>
#include <string>
#include <vector>

#include "cli/store_commands.hpp"

namespace layerfs::cli {

void add_container_commands(CLI::App& app, const GlobalOptions& global);

// `layerfs mount CONTAINER` (podman's form): a single argument and no -o.
bool is_container_mount(const std::vector<std::string>& args);
int mount_container_main(const GlobalOptions& global, const std::string& what);

}  // namespace layerfs::cli
