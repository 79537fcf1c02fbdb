#pragma once
// The monitor: starts a container and stays with it to its end (docker's
// containerd-shim, in one process). The container's lock must be held by the
// caller; the monitor and what it starts keep it while they live.
#include <functional>
#include <string>

#include "cli/runtime/launch.hpp"

namespace layerfs::runtime {

// Records "running" (with init's pid) once the command runs, relays its stdio
// (to the caller's terminal in the foreground, to containers/<id>/container.log
// always), forwards signals, and records "exited" with the status. `started`
// is called once: with 0 when the command runs, else with the exit code and
// the error (the container is then recorded as exited with that code). Returns the exit code:
// the command's, 128+N for a signal, 125-127 when it could not start.
int monitor_container(const Launch& l, int container_dir, bool foreground,
                      const std::function<void(int code, const std::string& error)>& started);

}  // namespace layerfs::runtime
