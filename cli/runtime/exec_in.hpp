#pragma once
// `layerfs exec`: a command in a running container, in its namespaces and
// root, as its user, with its environment.
#include <sys/types.h>

#include "cli/runtime/container_state.hpp"
#include "cli/runtime/run_spec.hpp"

namespace layerfs::runtime {

// Joins the namespaces of `st`'s init (checked to be the same process) and
// runs spec.args there; returns its exit code. The calling process is in the
// container's namespaces afterwards: call it last. Throws store::Failure.
int exec_in_container(const RunState& st, const RunSpec& spec);

}  // namespace layerfs::runtime
