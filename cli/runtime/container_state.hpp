#pragma once
// A container's run state: containers/<id>/status.json, and whether anything
// of it is alive. The monitor and every process it starts outside the
// container's command hold an flock on the container's directory, so "running"
// is a fact the kernel keeps, not a record that a killed monitor leaves stale.
#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "fs/sys/fd.hpp"

namespace layerfs::runtime {

struct RunState {
    std::string status = "created";  // created | running | exited
    pid_t pid = 0;                   // the container's init, as the host sees it
    uint64_t pid_start = 0;          // its start time (/proc/PID/stat), against pid reuse
    int exit_code = 0;
    std::string started_at, finished_at;  // RFC 3339
    std::string error;                    // why it could not start
};

RunState read_state(int container_dir);
void write_state(int container_dir, const RunState& st);

// Field 22 of a /proc/PID/stat line (the process's start time in ticks).
std::optional<uint64_t> parse_start_time(std::string_view stat_line);
std::optional<uint64_t> process_start_time(pid_t pid);

// The container's lock, taken without waiting; invalid when something of the
// container holds it (it is running, or starting, or stopping).
Fd try_lock_container(int container_dir);

// The state, corrected: a container recorded as running whose processes all
// died unwatched (kill -9, machine reset) is recorded as exited (255, as docker
// shows a container its daemon lost).
RunState current_state(int container_dir);

// Whether `st` (running) still names a live init: same pid, same start time.
bool init_alive(const RunState& st);

// docker ps's STATUS: "Up 5 seconds", "Exited (0) 2 minutes ago", "Created".
std::string describe_status(const RunState& st, int64_t now);

}  // namespace layerfs::runtime
