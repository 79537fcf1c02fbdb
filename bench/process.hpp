#pragma once
// Running the commands a benchmark is made of: timed, with their daemon's
// resource use, and with a clear error when one fails.
#include <sys/types.h>

#include <string>
#include <vector>

namespace layerfs::bench {

struct Spawned {
    pid_t pid = -1;
    std::string stderr_path;  // where its stderr goes, for the error message
};

struct Finished {
    int status = -1;         // exit status, or 128+signal
    double seconds = 0;      // wall clock from spawn to exit
    double cpu_seconds = 0;  // user + system of the process (and children it waited for)
    long max_rss_kib = 0;
    std::string stderr_text;  // its last few KiB of stderr
};

// Starts argv with `cwd` as its working directory, stdin and stdout /dev/null,
// stderr to a temporary file. Throws std::runtime_error if it cannot start.
Spawned spawn(const std::vector<std::string>& argv, const std::string& cwd = "");
Finished wait_for(const Spawned& p);

// Runs `sh -c script` in `cwd` and waits. A nonzero exit throws, naming the
// script and quoting its stderr.
Finished run_shell(const std::string& script, const std::string& cwd = "");
// Runs argv and waits; a nonzero exit throws likewise.
Finished run_checked(const std::vector<std::string>& argv, const std::string& cwd = "");
// Runs argv and returns its stdout (trimmed of the final newline); throws on failure.
std::string capture(const std::vector<std::string>& argv, const std::string& cwd = "");

// Single-quotes a string for sh.
std::string shell_quote(const std::string& s);

}  // namespace layerfs::bench
