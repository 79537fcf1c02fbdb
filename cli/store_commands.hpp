#pragma once
// The image commands: import, images, tag, rmi, prune, inspect, history, export.
#include <CLI/CLI.hpp>
#include <string>

#include "snapshotter/store.hpp"

namespace layerfs::cli {

struct GlobalOptions {
    std::string root;  // --root; empty: the default store
};

inline store::Store open_store(const GlobalOptions& g) {
    return store::Store(g.root.empty() ? store::Store::default_root() : g.root);
}

void add_store_commands(CLI::App& app, const GlobalOptions& global);

}  // namespace layerfs::cli
