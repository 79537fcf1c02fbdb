#pragma once
// The runtime's commands: run, start, stop, kill, exec, logs, ps, and the
// container side of rm and inspect.
#include <CLI/CLI.hpp>
#include <functional>
#include <nlohmann/json.hpp>

#include "cli/store_commands.hpp"
#include "snapshotter/containers.hpp"

namespace layerfs::cli {

void add_runtime_commands(CLI::App& app, const GlobalOptions& global);

// Runs fn for each name; one that fails is reported and the others still run,
// and then the command exits 1 (docker's way with several containers).
void for_each_named(const std::vector<std::string>& what,
                    const std::function<void(const std::string&)>& fn);

// Stops a running container with SIGKILL and waits until nothing of it is
// left (for rm -f). False when it was not running.
bool kill_and_wait(store::Store& s, const store::ContainerRecord& c);
// Throws "container N is running: <advice>" when it is.
void require_stopped(store::Store& s, const store::ContainerRecord& c,
                     const std::string& advice = "stop it first");

// docker inspect's form of a container.
nlohmann::json inspect_container(store::Store& s, const store::ContainerRecord& c);

}  // namespace layerfs::cli
