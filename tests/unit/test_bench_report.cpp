// The benchmark's report: medians, ratios, targets, the table and the plot's
// data, from raw samples written here by hand (the runner's format).
#include <catch2/catch.hpp>

#include "bench/report.hpp"

using namespace layerfs::bench;
using nlohmann::json;

namespace {

json sample(const std::string& w, const std::string& b, double s) {
    return {{"workload", w}, {"backend", b}, {"seconds", s}};
}

json two_workloads() {
    json raw = {{"date", "2026-11-24"}, {"rounds", 3}, {"quick", false}};
    raw["workloads"] = {{{"key", "untar"}, {"name", "untar 20000 files"}, {"group", "write"}},
                        {{"key", "seq-read"}, {"name", "fio sequential read"}, {"group", "read"}}};
    raw["samples"] = json::array();
    for (double s : {2.0, 1.0, 3.0})
        raw["samples"].push_back(sample("untar", "ext4", s));
    for (double s : {4.0, 4.0, 4.0})
        raw["samples"].push_back(sample("untar", "overlay", s));
    for (double s : {10.0, 12.0, 11.0})
        raw["samples"].push_back(sample("untar", "fuse-overlayfs", s));
    for (double s : {5.0, 6.0, 4.0}) {
        json j = sample("untar", "layerfs", s);
        j["daemon_cpu_seconds"] = s / 2;
        j["daemon_max_rss_kib"] = 2048;
        raw["samples"].push_back(j);
    }
    for (double s : {3.0, 5.0, 4.0})
        raw["samples"].push_back(sample("untar", "layerfs-uring", s));
    for (double s : {1.0, 1.0, 1.0})
        raw["samples"].push_back(sample("seq-read", "overlay", s));
    for (double s : {1.2, 1.2, 1.2})
        raw["samples"].push_back(sample("seq-read", "layerfs", s));
    return raw;
}

const TargetCheck* find_target(const std::vector<TargetCheck>& ts, const std::string& what) {
    for (const auto& t : ts)
        if (t.what == what) return &t;
    return nullptr;
}

}  // namespace

TEST_CASE("summarize: median, min and max", "[bench]") {
    Summary odd = summarize({3, 1, 2});
    CHECK(odd.median == 2);
    CHECK(odd.min == 1);
    CHECK(odd.max == 3);
    CHECK(odd.n == 3);
    CHECK(summarize({4, 1, 3, 2}).median == 2.5);
    CHECK(summarize({}).n == 0);
}

TEST_CASE("seconds_of picks one workload on one back end", "[bench]") {
    json raw = two_workloads();
    auto s = seconds_of(raw, "untar", "fuse-overlayfs");
    REQUIRE(s);
    CHECK(s->median == 11);
    CHECK(s->min == 10);
    CHECK(!seconds_of(raw, "untar", "nothing"));
    CHECK(!seconds_of(raw, "seq-read", "ext4"));
}

TEST_CASE("targets: layerfs median over the other's, against the limit", "[bench]") {
    auto ts = check_targets(two_workloads());
    auto untar_fuse = find_target(ts, "untar: layerfs ≤ 0.5 × fuse-overlayfs");
    REQUIRE(untar_fuse);
    CHECK(*untar_fuse->ratio == Approx(5.0 / 11));
    CHECK(untar_fuse->met());
    auto untar_kernel = find_target(ts, "untar: layerfs ≤ 1.2 × kernel overlayfs");
    REQUIRE(untar_kernel);
    CHECK(*untar_kernel->ratio == Approx(1.25));
    CHECK(!untar_kernel->met());
    auto seq = find_target(ts, "seq-read: layerfs ≤ 1.1 × kernel overlayfs");
    REQUIRE(seq);
    CHECK(!seq->met());
    // Not measured is neither met nor a number.
    auto git = find_target(ts, "git-status: layerfs ≤ 0.5 × fuse-overlayfs");
    REQUIRE(git);
    CHECK(!git->ratio);
    CHECK(!git->met());
}

TEST_CASE("markdown: rows per workload, groups, ratios and targets", "[bench]") {
    std::string md = markdown_report(two_workloads(), "r.png");
    CHECK(md.find("| **write** |") != std::string::npos);
    // ext4 2 (1–3), overlay 4, fuse 11 (10–12), layerfs 5 (4–6), io_uring 4 (3–5); ratios
    // 2.50 1.25 0.45, and io_uring ÷ layerfs 0.80.
    CHECK(md.find("| untar 20000 files | 2.00 (1.00–3.00) | 4.00 (4.00–4.00) | 11.0 (10.0–12.0) | "
                  "5.00 (4.00–6.00) | 4.00 (3.00–5.00) | 2.50 | 1.25 | 0.45 | 0.80 |") !=
          std::string::npos);
    CHECK(md.find("| fio sequential read | – | 1.00 (1.00–1.00) | – | 1.20 (1.20–1.20) | – | – | "
                  "1.20 | – | – |") != std::string::npos);
    CHECK(md.find("| untar 20000 files | – | 2.50 | – | – | 2.0 | – |") !=
          std::string::npos);  // daemon CPU, RSS MiB
    CHECK(
        md.find(
            "| performance (#8) | untar: layerfs ≤ 1.2 × kernel overlayfs | 1.25 | **missed** |") !=
        std::string::npos);
    CHECK(
        md.find("| bench (#6) | git-status: layerfs ≤ 0.5 × fuse-overlayfs | – | not measured |") !=
        std::string::npos);
    CHECK(md.find("![time relative to kernel overlayfs](r.png)") != std::string::npos);
    CHECK(md.find("Quick run") == std::string::npos);
}

TEST_CASE("plot data: ratios to kernel overlayfs, NaN where unmeasured", "[bench]") {
    std::string d = plot_data(two_workloads());
    CHECK(d.find("untar 0.5000 2.7500 1.2500 1.0000\n") != std::string::npos);
    CHECK(d.find("seq-read NaN NaN 1.2000 NaN\n") != std::string::npos);
}
