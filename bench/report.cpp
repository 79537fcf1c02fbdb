#include "bench/report.hpp"

#include <algorithm>
#include <cstdio>
#include <map>

namespace layerfs::bench {
namespace {

using nlohmann::json;

const char* const kBackendKeys[] = {"ext4", "overlay", "fuse-overlayfs", "layerfs",
                                    "layerfs-uring"};

std::string fmt(const char* f, double v) {
    char buf[64];
    snprintf(buf, sizeof buf, f, v);
    return buf;
}

// Three significant digits or so, whatever the magnitude.
std::string secs(double s) {
    if (s >= 100) return fmt("%.0f", s);
    if (s >= 10) return fmt("%.1f", s);
    if (s >= 1) return fmt("%.2f", s);
    if (s >= 0.1) return fmt("%.3f", s);
    return fmt("%.4f", s);
}

std::string cell(const std::optional<Summary>& s) {
    if (!s) return "–";
    if (s->n == 1) return secs(s->median);
    return secs(s->median) + " (" + secs(s->min) + "–" + secs(s->max) + ")";
}

std::optional<double> ratio(const std::optional<Summary>& a, const std::optional<Summary>& b) {
    if (!a || !b || b->median <= 0) return std::nullopt;
    return a->median / b->median;
}

// A name in a table cell: a '|' would end the cell.
std::string cell_text(const std::string& s) {
    std::string o;
    for (char c : s)
        o += c == '|' ? std::string("\\|") : std::string(1, c);
    return o;
}

std::string ratio_cell(std::optional<double> r) {
    return r ? fmt("%.2f", *r) : "–";
}

// Values of one field over the samples of a workload on a back end.
std::vector<double> values(const json& raw, const std::string& workload, const std::string& backend,
                           const char* field) {
    std::vector<double> v;
    for (const auto& s : raw.value("samples", json::array()))
        if (s.value("workload", "") == workload && s.value("backend", "") == backend &&
            s.contains(field))
            v.push_back(s[field].get<double>());
    return v;
}

std::optional<Summary> summary_of(std::vector<double> v) {
    if (v.empty()) return std::nullopt;
    return summarize(std::move(v));
}

struct TargetSpec {
    const char* issue;
    std::vector<const char*> workloads;
    const char* versus;
    double limit;
};

// Ratios are layerfs's median ÷ the other's, so "2x faster" is a limit of 0.5.
const std::vector<TargetSpec>& target_specs() {
    static const std::vector<TargetSpec> specs = {
        {"bench (#6)",
         {"untar", "rm-rf", "stat-cold", "stat-warm", "git-status"},
         "fuse-overlayfs",
         0.5},
        {"bench (#6)",
         {"find-cold", "find-warm", "stat-cold", "stat-warm", "ls-cold", "ls-warm"},
         "overlay",
         1.3},
        {"bench (#6)", {"seq-read", "seq-write", "seq-write-fsync"}, "overlay", 1.1},
        {"bench (#6)", {"append-big"}, "overlay", 1.0},
        {"performance (#8)", {"find-cold", "ls-cold", "git-status", "stat-cold"}, "overlay", 2.0},
        {"performance (#8)", {"read-all", "rand-read"}, "overlay", 1.5},
        {"performance (#8)", {"seq-read", "seq-write"}, "overlay", 1.1},
        {"performance (#8)", {"untar"}, "overlay", 1.2},
        {"performance (#8)", {"rm-rf"}, "overlay", 2.0},
        {"performance (#8)", {"chmod-many", "touch-many"}, "overlay", 0.2},
        {"performance (#8)", {"append-big"}, "overlay", 1.0},
    };
    return specs;
}

const char* label(const std::string& backend) {
    if (backend == "overlay") return "kernel overlayfs";
    if (backend == "layerfs-uring") return "layerfs io_uring";
    return backend == "ext4" ? "ext4" : backend == "layerfs" ? "layerfs" : "fuse-overlayfs";
}

std::string str(const json& j, const char* key) {
    if (!j.contains(key)) return "unknown";
    return j[key].is_string() ? j[key].get<std::string>() : j[key].dump();
}

}  // namespace

Summary summarize(std::vector<double> v) {
    Summary s;
    s.n = v.size();
    if (v.empty()) return s;
    std::sort(v.begin(), v.end());
    s.min = v.front();
    s.max = v.back();
    size_t m = v.size() / 2;
    s.median = v.size() % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
    return s;
}

std::optional<Summary> seconds_of(const json& raw, const std::string& workload,
                                  const std::string& backend) {
    return summary_of(values(raw, workload, backend, "seconds"));
}

std::vector<TargetCheck> check_targets(const json& raw) {
    std::vector<TargetCheck> out;
    for (const auto& t : target_specs())
        for (const char* w : t.workloads) {
            TargetCheck c;
            c.issue = t.issue;
            c.limit = t.limit;
            c.ratio = ratio(seconds_of(raw, w, "layerfs"), seconds_of(raw, w, t.versus));
            c.what = std::string(w) + ": layerfs ≤ " + fmt("%g", t.limit) + " × " + label(t.versus);
            out.push_back(c);
        }
    return out;
}

std::string markdown_report(const json& raw, const std::string& png_name) {
    const json& m = raw.value("machine", json::object());
    const json& sw = raw.value("software", json::object());
    const json& d = raw.value("data", json::object());
    const int rounds = raw.value("rounds", 0);
    std::string o = "# layerfs benchmark, " + raw.value("date", std::string("?")) + "\n\n";
    if (raw.value("quick", false))
        o += "**Quick run** (1 round, small data): a smoke test of the benchmark, not numbers to "
             "compare.\n\n";
    o += "Median seconds over " + std::to_string(rounds) + (rounds == 1 ? " round" : " rounds") +
         ", with min–max; every workload on a fresh mount (a new, empty upper dir), the "
         "back "
         "ends interleaved in every round. A ratio is layerfs's median ÷ the other's: below 1, "
         "layerfs is "
         "faster. Lower layers: the same three directories for the three overlays; ext4 is the "
         "merged tree "
         "as one directory (a fresh hard-linked copy for workloads that change it).\n\n";
    o += "## Machine\n\n";
    o += "- CPU: " + str(m, "cpu") + ", " + str(m, "cores") + " cores; memory " + str(m, "memory") +
         "\n";
    o += "- kernel: " + str(m, "kernel") + "\n";
    o += "- disk: " + str(m, "disk") + "\n";
    o += "- layerfs " + str(sw, "layerfs") + "; " + str(sw, "fuse-overlayfs") + "; " +
         str(sw, "fio") + "\n";
    const json opts = raw.value("mount_options", json::object());
    for (const auto& [k, v] : opts.items())
        o += std::string("- ") + label(k) + " mount: `" + v.get<std::string>() + "`\n";
    o += "\n## Data\n\n";
    o += "- rootfs: " + str(d, "source") + "\n";
    o += "- merged tree: " + str(d, "files") + " files, " + str(d, "dirs") + " dirs, " +
         str(d, "symlinks") + " symlinks, " + str(d, "hardlinked") + " hard-linked files, " +
         fmt("%.0f", d.value("bytes", 0.0) / 1e6) + " MB; three lower layers with " +
         str(d, "whiteouts") + " whiteouts and " + str(d, "opaque_dirs") + " opaque dirs\n";
    o += "- big file: " + fmt("%.0f", d.value("big_bytes", 0.0) / (1 << 20)) +
         " MiB in the bottom layer; " + str(d, "many_files") +
         " small files for chmod/touch; a git repository of " + str(d, "repo_files") +
         " files; a C project of " + str(d, "c_files") + " files; untar of " +
         str(d, "untar_files") + " files\n\n";

    o += "## Results\n\nlayerfs io_uring is layerfs with `io_uring=1`: its requests come "
         "through FUSE over io_uring instead of /dev/fuse.\n\n| workload | ext4 | kernel overlayfs "
         "| fuse-overlayfs | layerfs | layerfs io_uring | layerfs ÷ ext4 | layerfs ÷ overlay | "
         "layerfs ÷ fuse-overlayfs | io_uring ÷ layerfs |\n"
         "|---|---|---|---|---|---|---|---|---|---|\n";
    std::string group;
    for (const auto& w : raw.value("workloads", json::array())) {
        const std::string key = w.value("key", ""), g = w.value("group", "");
        if (g != group) o += "| **" + (group = g) + "** | | | | | | | | | |\n";
        std::map<std::string, std::optional<Summary>> s;
        for (const char* b : kBackendKeys)
            s[b] = seconds_of(raw, key, b);
        o += "| " + cell_text(w.value("name", key));
        for (const char* b : kBackendKeys)
            o += " | " + cell(s[b]);
        for (const char* b : {"ext4", "overlay", "fuse-overlayfs"})
            o += " | " + ratio_cell(ratio(s["layerfs"], s[b]));
        o += " | " + ratio_cell(ratio(s["layerfs-uring"], s["layerfs"])) + " |\n";
    }

    o += "\n## FUSE daemons: CPU seconds and peak RSS (median per workload)\n\n| workload | "
         "fuse-overlayfs CPU s | layerfs CPU s | layerfs io_uring CPU s | fuse-overlayfs peak RSS "
         "MiB | layerfs peak RSS MiB | layerfs io_uring peak RSS MiB |\n"
         "|---|---|---|---|---|---|---|\n";
    const char* const daemons[] = {"fuse-overlayfs", "layerfs", "layerfs-uring"};
    for (const auto& w : raw.value("workloads", json::array())) {
        const std::string key = w.value("key", "");
        o += "| " + cell_text(w.value("name", key));
        for (const char* b : daemons) {
            auto c = summary_of(values(raw, key, b, "daemon_cpu_seconds"));
            o += " | " + (c ? fmt("%.2f", c->median) : "–");
        }
        for (const char* b : daemons) {
            auto r = summary_of(values(raw, key, b, "daemon_max_rss_kib"));
            o += " | " + (r ? fmt("%.1f", r->median / 1024) : "–");
        }
        o += " |\n";
    }

    const json& ops = raw.value("snapshot", json::array());
    if (!ops.empty()) {
        o += "\n## Snapshotter (layerfs only): against what bounds it\n\n| operation | seconds | ÷ "
             "reference | "
             "reference |\n|---|---|---|---|\n";
        for (const auto& op : ops) {
            const std::string key = op.value("key", ""), ref = op.value("reference", "");
            auto s = seconds_of(raw, key, "snapshot");
            std::string ref_name = "–";
            for (const auto& r : ops)
                if (!ref.empty() && r.value("key", "") == ref)
                    ref_name = cell_text(r.value("name", ref));
            o += "| " + cell_text(op.value("name", key)) + " | " + cell(s) + " | " +
                 (ref.empty() ? "–" : ratio_cell(ratio(s, seconds_of(raw, ref, "snapshot")))) +
                 " | " + ref_name + " |\n";
        }
    }

    o += "\n## Targets\n\n| issue | target | measured | |\n|---|---|---|---|\n";
    for (const auto& t : check_targets(raw))
        o += "| " + t.issue + " | " + t.what + " | " + ratio_cell(t.ratio) + " | " +
             (!t.ratio  ? "not measured"
              : t.met() ? "met"
                        : "**missed**") +
             " |\n";
    o += "\n![time relative to kernel overlayfs](" + png_name + ")\n";
    return o;
}

std::string plot_data(const json& raw) {
    std::string o =
        "# workload ext4/overlay fuse-overlayfs/overlay layerfs/overlay layerfs-uring/overlay\n";
    for (const auto& w : raw.value("workloads", json::array())) {
        const std::string key = w.value("key", "");
        auto base = seconds_of(raw, key, "overlay");
        o += key;
        for (const char* b : {"ext4", "fuse-overlayfs", "layerfs", "layerfs-uring"}) {
            auto r = ratio(seconds_of(raw, key, b), base);
            o += " " + (r && *r > 0 ? fmt("%.4f", *r) : std::string("NaN"));
        }
        o += "\n";
    }
    return o;
}

std::string plot_script(const std::string& data_path, const std::string& png_path, bool quick) {
    // noenhanced: the titles' underscores are text, not subscripts.
    return "set terminal pngcairo noenhanced size 1400,700 font 'sans,10'\n"
           "set output '" +
           png_path +
           "'\n"
           "set title 'Median time relative to kernel overlayfs (lower is better, log scale)" +
           (quick ? std::string(": quick run, not for comparison") : "") + "'\n" +
           "set style data histogram\n"
           "set style histogram cluster gap 1\n"
           "set style fill solid 0.85 border -1\n"
           "set boxwidth 0.9\n"
           "set logscale y\n"
           "set grid ytics\n"
           "set xtics rotate by -40 scale 0\n"
           "set ylabel 'time ÷ kernel overlayfs'\n"
           "set key top left\n"
           "set arrow from graph 0, first 1 to graph 1, first 1 nohead dashtype 2\n"
           "plot '" +
           data_path +
           "' using 2:xtic(1) title 'ext4', '' using 3 title 'fuse-overlayfs', "
           "'' using 4 title 'layerfs', '' using 5 title 'layerfs io_uring'\n";
}

}  // namespace layerfs::bench
