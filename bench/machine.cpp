#include "bench/machine.hpp"

#include <sys/utsname.h>
#include <unistd.h>

#include <fstream>

#include "bench/process.hpp"

namespace layerfs::bench {
namespace {

// The value after "key:" on the first matching line of a /proc file.
std::string proc_field(const char* file, const std::string& key) {
    std::ifstream in(file);
    std::string line;
    while (std::getline(in, line))
        if (line.rfind(key, 0) == 0) {
            auto colon = line.find(':');
            auto v = line.substr(colon + 1);
            v.erase(0, v.find_first_not_of(" \t"));
            return v;
        }
    return "unknown";
}

// The first line of a command's output, its runs of blanks made one space.
std::string first_line(const std::vector<std::string>& argv) {
    try {
        std::string s = capture(argv), o;
        for (char c : s.substr(0, s.find('\n')))
            if (c != ' ' || (!o.empty() && o.back() != ' ')) o += c;
        while (!o.empty() && o.back() == ' ')
            o.pop_back();
        return o;
    } catch (const std::exception&) {
        return "unknown";
    }
}

}  // namespace

nlohmann::json describe_machine(const std::string& work_dir) {
    struct utsname u {};
    uname(&u);
    std::string kib = proc_field("/proc/meminfo", "MemTotal");
    double gib = std::atof(kib.c_str()) / (1024.0 * 1024.0);
    char mem[32];
    snprintf(mem, sizeof mem, "%.1f GiB", gib);
    std::string src = first_line({"findmnt", "-no", "SOURCE", "-T", work_dir});
    std::string fs = first_line({"findmnt", "-no", "FSTYPE,OPTIONS", "-T", work_dir});
    std::string disk = first_line({"lsblk", "-dno", "SIZE,ROTA,MODEL", src});
    return {{"cpu", proc_field("/proc/cpuinfo", "model name")},
            {"cores", sysconf(_SC_NPROCESSORS_ONLN)},
            {"memory", mem},
            {"kernel", std::string(u.sysname) + " " + u.release + " " + u.machine},
            {"disk", src + " (size, rotational, model: " + disk + "), " + fs}};
}

nlohmann::json describe_software(const std::string& layerfs_bin, const std::string& source_dir) {
    std::string commit = first_line({"git", "-C", source_dir, "rev-parse", "--short", "HEAD"});
    std::string dirty = first_line({"sh", "-c",
                                    "git -C " + shell_quote(source_dir) +
                                        " status --porcelain --untracked-files=no | head -1"});
    return {
        {"layerfs", first_line({layerfs_bin, "--version"}) + " at " + commit +
                        (dirty.empty() || dirty == "unknown" ? "" : " (with uncommitted changes)")},
        // Its first line is fusermount3's version.
        {"fuse-overlayfs",
         first_line({"sh", "-c", "fuse-overlayfs --version 2>&1 | grep -m1 fuse-overlayfs"})},
        {"fio", first_line({"fio", "--version"})}};
}

}  // namespace layerfs::bench
