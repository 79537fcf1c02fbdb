#pragma once
// The processes of a running container, as the monitor starts them:
//
//   monitor (host namespaces; the `run` process, or detached for -d/start)
//    └─ sandbox: a user namespace when not root, a mount namespace of its own
//        ├─ daemon: the FUSE daemon serving the root, in the sandbox's mount
//        │   namespace (the pivot below never touches it)
//        └─ init: pid 1 of new PID, mount, UTS, IPC (and network) namespaces;
//            mounts /proc, /dev, ... and pivots into the root, then forks the
//            command, forwards signals to it and reaps orphans
//
// Each dies with its parent (PR_SET_PDEATHSIG), so nothing outlives the monitor.
#include <sys/types.h>

#include <string>
#include <vector>

#include "cli/runtime/command.hpp"
#include "cli/runtime/run_spec.hpp"
#include "fs/overlay/options.hpp"
#include "fs/sys/fd.hpp"

namespace layerfs::runtime {

struct Launch {
    std::string container_dir;  // absolute
    MountConfig root;           // the overlay, mounted on container_dir/merged
    RunSpec spec;
};

struct Sandbox {
    pid_t pid = 0;
    Fd channel;  // the monitor's end: see channel.hpp for the messages
};

// Forks the sandbox. `io` is the command's stdio when it has no pty;
// `monitor_ends` are the caller's ends of those pipes, closed in the sandbox
// (a copy of a stdin pipe's write end there would keep the command's stdin
// from ever ending). The container lock stays with the sandbox and init while
// they live; the command gets nothing but its stdio.
Sandbox start_sandbox(const Launch& l, const CommandIo& io, const std::vector<int>& monitor_ends);

// Gives the sandbox's user namespace the caller's id as 0 and its
// /etc/subuid and /etc/subgid ranges from 1, through newuidmap/newgidmap.
// False when there is no range or no newuidmap: the sandbox then maps only
// the caller (a container with one user, root).
bool map_subordinate_ids(pid_t pid);

}  // namespace layerfs::runtime
