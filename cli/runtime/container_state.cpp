#include "cli/runtime/container_state.hpp"

#include <fcntl.h>
#include <sys/file.h>

#include <charconv>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <nlohmann/json.hpp>

#include "fs/sys/sys.hpp"
#include "snapshotter/failure.hpp"
#include "snapshotter/human.hpp"
#include "snapshotter/store.hpp"

namespace layerfs::runtime {

using json = nlohmann::json;

RunState read_state(int dir) {
    RunState st;
    auto f = sys::open_at(dir, "status.json", O_RDONLY);
    if (!f && f.err() == ENOENT) return st;
    Fd fd = store::must(std::move(f), "reading the container's state");
    std::string text(1 << 16, '\0');
    size_t n = store::must(sys::read_some(fd.get(), text.data(), text.size()),
                           "reading the container's state");
    json j = json::parse(text.substr(0, n), nullptr, false);
    if (!j.is_object()) store::fail("the container's status.json is malformed");
    st.status = j.value("Status", "created");
    st.pid = j.value("Pid", 0);
    st.pid_start = j.value("PidStart", uint64_t(0));
    st.exit_code = j.value("ExitCode", 0);
    st.started_at = j.value("StartedAt", "");
    st.finished_at = j.value("FinishedAt", "");
    st.error = j.value("Error", "");
    return st;
}

void write_state(int dir, const RunState& st) {
    json j = {{"Status", st.status},        {"Pid", st.pid},
              {"PidStart", st.pid_start},   {"ExitCode", st.exit_code},
              {"StartedAt", st.started_at}, {"FinishedAt", st.finished_at},
              {"Error", st.error}};
    store::write_file_atomic(dir, "status.json", j.dump(2) + "\n");
}

std::optional<uint64_t> parse_start_time(std::string_view line) {
    // The command name (field 2) may hold spaces and parentheses: count from
    // the last ')'.
    size_t close = line.rfind(')');
    if (close == std::string_view::npos) return std::nullopt;
    std::string_view rest = line.substr(close + 1);
    for (int field = 3; field <= 22; field++) {
        size_t start = rest.find_first_not_of(' ');
        if (start == std::string_view::npos) return std::nullopt;
        rest = rest.substr(start);
        size_t end = rest.find(' ');
        if (field == 22) {
            std::string_view v = rest.substr(0, end);
            uint64_t t;
            auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), t);
            if (ec != std::errc() || p != v.data() + v.size()) return std::nullopt;
            return t;
        }
        if (end == std::string_view::npos) return std::nullopt;
        rest = rest.substr(end);
    }
    return std::nullopt;
}

std::optional<uint64_t> process_start_time(pid_t pid) {
    std::string path = "/proc/" + std::to_string(pid) + "/stat";
    auto fd = sys::open_at(AT_FDCWD, path.c_str(), O_RDONLY);
    if (!fd) return std::nullopt;
    char buf[1024];
    auto n = sys::read_some(fd->get(), buf, sizeof buf - 1);
    if (!n) return std::nullopt;
    return parse_start_time(std::string_view(buf, *n));
}

Fd try_lock_container(int dir) {
    Fd fd = store::must(sys::reopen(dir, O_RDONLY | O_DIRECTORY), "locking the container");
    if (::flock(fd.get(), LOCK_EX | LOCK_NB) < 0) {
        if (errno == EWOULDBLOCK) return Fd();
        store::fail(std::string("locking the container: ") + std::strerror(errno));
    }
    return fd;
}

RunState current_state(int dir) {
    RunState st = read_state(dir);
    if (st.status != "running") return st;
    Fd lock = try_lock_container(dir);
    if (!lock) return st;
    st = read_state(dir);  // the monitor may have finished before we locked
    if (st.status == "running") {
        st.status = "exited";
        st.exit_code = 255;
        st.finished_at = store::format_rfc3339(std::time(nullptr));
        write_state(dir, st);
    }
    return st;
}

bool init_alive(const RunState& st) {
    if (st.status != "running" || st.pid <= 0) return false;
    auto t = process_start_time(st.pid);
    return t && *t == st.pid_start;
}

std::string describe_status(const RunState& st, int64_t now) {
    auto since = [now](const std::string& when) {
        auto t = store::parse_rfc3339(when);
        return store::human_duration(t ? now - *t : 0);
    };
    if (st.status == "running") return "Up " + since(st.started_at);
    if (st.status == "exited")
        return "Exited (" + std::to_string(st.exit_code) + ") " + since(st.finished_at) + " ago";
    return "Created";
}

}  // namespace layerfs::runtime
