// The benchmark's quick mode end to end (CI's guard against it rotting): real
// mounts of all four back ends, every workload, the snapshotter rows, and the
// table, JSON and plot it writes.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <set>

#include "tests/support/fixture.hpp"

using namespace layerfs::test;
using nlohmann::json;

namespace {

const std::string kBench = LAYERFS_BENCH_BIN;
// Inside the build dir, so the cached data goes when the build does.
const std::string kWork = LAYERFS_BENCH_WORK;

}  // namespace

TEST_CASE("bench --quick: every workload on every back end, the table, the JSON and the plot",
          "[bench]") {
    TempDir out;
    const std::string uring_param = "/sys/module/fuse/parameters/enable_uring";
    const bool has_uring = exists(uring_param);
    const std::string uring_before = has_uring ? read_file(uring_param) : "";
    RunResult r = run({kBench, "--quick", "--work", kWork, "--out", out.path(), "--name", "q"});
    INFO(r.output);
    REQUIRE(r.status == 0);
    // The kernel's io_uring switch is back as it was.
    if (has_uring) CHECK(read_file(uring_param) == uring_before);

    json raw = json::parse(read_file(out / "q.json"));
    CHECK(raw["quick"] == true);
    CHECK(raw["rounds"] == 1);
    std::set<std::string> backends = {"ext4", "overlay", "fuse-overlayfs", "layerfs"};
    if (has_uring) backends.insert("layerfs-uring");
    REQUIRE(raw["workloads"].size() >= 19);
    for (const auto& w : raw["workloads"]) {
        std::set<std::string> seen;
        for (const auto& s : raw["samples"])
            if (s["workload"] == w["key"]) {
                INFO(s.dump());
                CHECK(s["seconds"].get<double>() > 0);
                seen.insert(s["backend"].get<std::string>());
                bool fuse = s["backend"] == "layerfs" || s["backend"] == "layerfs-uring" ||
                            s["backend"] == "fuse-overlayfs";
                CHECK(s.contains("daemon_cpu_seconds") == fuse);
                if (fuse) CHECK(s["daemon_max_rss_kib"].get<long>() > 0);
            }
        INFO(w["key"]);
        CHECK(seen == backends);
    }
    REQUIRE(raw["snapshot"].size() == 8);
    for (const auto& op : raw["snapshot"]) {
        bool found = false;
        for (const auto& s : raw["samples"])
            found = found || (s["workload"] == op["key"] && s["backend"] == "snapshot");
        INFO(op["key"]);
        CHECK(found);
    }
    for (const char* b : {"overlay", "fuse-overlayfs", "layerfs"})
        CHECK(raw["mount_options"].contains(b));

    std::string md = read_file(out / "q.md");
    CHECK(md.find("**Quick run**") != std::string::npos);
    CHECK(md.find("| git status (repository in a lower layer) |") != std::string::npos);
    CHECK(md.find("| 20000 getxattr misses (a request each) |") != std::string::npos);
    CHECK(md.find("## Targets") != std::string::npos);
    CHECK(md.find("](q.png)") != std::string::npos);
    CHECK(read_file(out / "q.png").substr(0, 8) == "\x89PNG\r\n\x1a\n");
    // Nothing mounted or left running once it is done.
    std::string mounts = read_file("/proc/self/mounts");
    CHECK(mounts.find(kWork) == std::string::npos);

    SECTION("--render of the JSON writes the same table again") {
        TempDir again;
        RunResult rr = run({kBench, "--render", out / "q.json", "--out", again.path()});
        INFO(rr.output);
        REQUIRE(rr.status == 0);
        CHECK(read_file(again / "q.md") == md);
        CHECK(exists(again / "q.png"));
    }
}

TEST_CASE("bench: mistakes are refused with a clear message", "[bench]") {
    RunResult r = run({kBench, "--source", "floppy"});
    CHECK(r.status != 0);
    CHECK(r.output.find("--source") != std::string::npos);

    r = run({kBench, "--render", "/nonexistent/results.json"});
    CHECK(r.status != 0);
    CHECK(r.output.find("/nonexistent/results.json") != std::string::npos);

    TempDir t;
    write_file(t / "broken.json", "{ not json");
    r = run({kBench, "--render", t / "broken.json", "--out", t.path()});
    CHECK(r.status == 1);
    CHECK(r.output.find("layerfs-bench:") != std::string::npos);
    CHECK(!exists(t / "broken.md"));
}
