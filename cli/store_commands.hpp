#pragma once
// The image commands: import, images, tag, rmi, prune, inspect, history, export.
#include <CLI/CLI.hpp>
#include <string>

namespace layerfs::cli {

struct GlobalOptions {
    std::string root;  // --root; empty: the default store
};

void add_store_commands(CLI::App& app, const GlobalOptions& global);

}  // namespace layerfs::cli
