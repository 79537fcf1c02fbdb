#pragma once
// busybox:latest, built from the host's busybox-static on first use so the demo
// and the tests need no registry.
#include <string>

#include "snapshotter/store.hpp"

namespace layerfs::store {

inline constexpr const char* kBuiltinRef = "busybox:latest";
inline constexpr const char* kHostBusybox = "/bin/busybox";

bool names_builtin(const std::string& what);
// Adds busybox:latest unless the store has that name (exclusive lock held).
// The image is reproducible: the same host busybox gives the same image id.
void ensure_builtin(Store& s);

}  // namespace layerfs::store
