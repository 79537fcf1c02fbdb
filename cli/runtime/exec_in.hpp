#pragma once
// `layerfs exec`: a command in a running container, in its namespaces and
// root, as its user, with its environment.
#include <sys/types.h>

#include "cli/runtime/container_state.hpp"
#include "cli/runtime/run_spec.hpp"

namespace layerfs::runtime {

// Runs spec.args in the namespaces of `st`'s init (checked to be the same
// process), from a child that joins them; returns its exit code (125 when it
// could not). Throws store::Failure when the container is not running.
int exec_in_container(const RunState& st, const RunSpec& spec);

}  // namespace layerfs::runtime
