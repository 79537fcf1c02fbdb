#pragma once
// The container's root, set up from inside its new mount namespace: /proc,
// a minimal /dev, /sys, the /etc files, the bind mounts, then pivot_root.
#include <string>

#include "cli/runtime/run_spec.hpp"

namespace layerfs::runtime {

// Writes containers/<id>/{hosts,hostname,resolv.conf}, which the container's
// /etc files are bound to (they are the container's, not the image's, and
// never show in its diff).
void write_etc_files(int container_dir, const RunSpec& spec);

// `rootfs` is the merged mount; the caller has its own mount, UTS (and, for
// --network none, network) namespaces. Throws store::Failure.
void enter_root(const RunSpec& spec, const std::string& rootfs, const std::string& container_dir);

// Brings up lo in a fresh network namespace.
void bring_up_loopback();

}  // namespace layerfs::runtime
