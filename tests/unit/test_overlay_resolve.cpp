// Layer resolution: fs/overlay/resolve.cpp.
#include <catch2/catch.hpp>
#include <vector>

#include "fs/overlay/resolve.hpp"

using layerfs::Probe;
using layerfs::Resolution;
using layerfs::Resolver;
using Layers = std::vector<int>;

namespace {

struct Run {
    Resolution result;
    int fed = 0;  // how many probes were fed before feed() said stop (all if it never did)
};

// Feeds probes for layers 0, 1, 2, ... top-down, the way a lookup does: it stops
// probing as soon as feed() returns false.
Run resolve(const std::vector<Probe>& probes) {
    Resolver r;
    Run run;
    for (size_t i = 0; i < probes.size(); ++i) {
        ++run.fed;
        if (!r.feed(static_cast<int>(i), probes[i])) break;
    }
    run.result = r.result();
    return run;
}

}  // namespace

TEST_CASE("Resolver: nothing fed, nothing found", "[resolve]") {
    Resolver r;
    CHECK_FALSE(r.result().found());
    CHECK(r.result().top == -1);
    CHECK(r.result().dir_layers.empty());
}

TEST_CASE("Resolver: absent in every layer", "[resolve]") {
    auto run = resolve({Probe::Absent, Probe::Absent, Probe::Absent});
    CHECK_FALSE(run.result.found());
    CHECK(run.result.dir_layers.empty());
    CHECK(run.fed == 3);  // absence never stops the search
}

TEST_CASE("Resolver: absent layers are skipped", "[resolve]") {
    SECTION("a file below absent layers") {
        auto run = resolve({Probe::Absent, Probe::Absent, Probe::NonDir});
        CHECK(run.result.top == 2);
        CHECK(run.result.dir_layers.empty());
    }
    SECTION("a directory below absent layers") {
        auto run = resolve({Probe::Absent, Probe::Dir, Probe::Absent});
        CHECK(run.result.top == 1);
        CHECK(run.result.dir_layers == Layers{1});
    }
    SECTION("absent layers between merged directories") {
        auto run = resolve({Probe::Dir, Probe::Absent, Probe::Absent, Probe::Dir});
        CHECK(run.result.top == 0);
        CHECK(run.result.dir_layers == Layers{0, 3});
        CHECK(run.fed == 4);
    }
}

TEST_CASE("Resolver: a file on top hides everything below", "[resolve]") {
    for (Probe below : {Probe::NonDir, Probe::Dir, Probe::OpaqueDir, Probe::Whiteout}) {
        INFO("below: " << static_cast<int>(below));
        auto run = resolve({Probe::NonDir, below});
        CHECK(run.result.top == 0);
        CHECK(run.result.dir_layers.empty());
        CHECK(run.fed == 1);
    }
}

TEST_CASE("Resolver: a whiteout hides everything below", "[resolve]") {
    for (Probe below : {Probe::NonDir, Probe::Dir, Probe::OpaqueDir}) {
        INFO("below: " << static_cast<int>(below));
        auto run = resolve({Probe::Whiteout, below});
        CHECK_FALSE(run.result.found());
        CHECK(run.result.dir_layers.empty());
        CHECK(run.fed == 1);
    }
    SECTION("also below absent layers") {
        auto run = resolve({Probe::Absent, Probe::Whiteout, Probe::NonDir});
        CHECK_FALSE(run.result.found());
        CHECK(run.fed == 2);
    }
}

TEST_CASE("Resolver: directories merge with directories below", "[resolve]") {
    auto run = resolve({Probe::Dir, Probe::Dir, Probe::Dir});
    CHECK(run.result.top == 0);
    CHECK(run.result.dir_layers == Layers{0, 1, 2});
    CHECK(run.fed == 3);
}

TEST_CASE("Resolver: an opaque directory ends the merge", "[resolve]") {
    SECTION("opaque on top") {
        auto run = resolve({Probe::OpaqueDir, Probe::Dir, Probe::NonDir});
        CHECK(run.result.top == 0);
        CHECK(run.result.dir_layers == Layers{0});
        CHECK(run.fed == 1);
    }
    SECTION("opaque in the middle is itself merged") {
        auto run = resolve({Probe::Dir, Probe::OpaqueDir, Probe::Dir});
        CHECK(run.result.top == 0);
        CHECK(run.result.dir_layers == Layers{0, 1});
        CHECK(run.fed == 2);
    }
}

TEST_CASE("Resolver: a non-directory below a directory ends the merge", "[resolve]") {
    auto run = resolve({Probe::Dir, Probe::Dir, Probe::NonDir, Probe::Dir});
    CHECK(run.result.top == 0);  // the file does not take over the name
    CHECK(run.result.dir_layers == Layers{0, 1});
    CHECK(run.fed == 3);
}

TEST_CASE("Resolver: a whiteout below a directory ends the merge", "[resolve]") {
    auto run = resolve({Probe::Dir, Probe::Whiteout, Probe::Dir});
    CHECK(run.result.found());
    CHECK(run.result.top == 0);
    CHECK(run.result.dir_layers == Layers{0});
    CHECK(run.fed == 2);
}

TEST_CASE("Resolver: feed() returns whether lower layers still matter", "[resolve]") {
    Resolver r;
    CHECK(r.feed(0, Probe::Absent));
    CHECK(r.feed(1, Probe::Dir));
    CHECK(r.feed(2, Probe::Absent));
    CHECK_FALSE(r.feed(3, Probe::OpaqueDir));
    CHECK(r.result().dir_layers == Layers{1, 3});

    SECTION("once done, further probes are refused and ignored") {
        CHECK_FALSE(r.feed(4, Probe::Dir));
        CHECK_FALSE(r.feed(5, Probe::Absent));
        CHECK_FALSE(r.feed(6, Probe::NonDir));
        CHECK(r.result().top == 1);
        CHECK(r.result().dir_layers == Layers{1, 3});
    }
}

TEST_CASE("Resolver: probes after a stop do not change the result", "[resolve]") {
    SECTION("after a file") {
        Resolver r;
        CHECK_FALSE(r.feed(0, Probe::NonDir));
        CHECK_FALSE(r.feed(1, Probe::Dir));
        CHECK(r.result().top == 0);
        CHECK(r.result().dir_layers.empty());
    }
    SECTION("after a whiteout") {
        Resolver r;
        CHECK_FALSE(r.feed(0, Probe::Whiteout));
        CHECK_FALSE(r.feed(1, Probe::NonDir));
        CHECK_FALSE(r.result().found());
    }
}

TEST_CASE("Resolver: layer numbers are taken from the caller", "[resolve]") {
    // The caller may skip layers it knows are irrelevant; the resolver records
    // whatever index it was given.
    Resolver r;
    CHECK(r.feed(2, Probe::Dir));
    CHECK(r.feed(5, Probe::Dir));
    CHECK(r.result().top == 2);
    CHECK(r.result().dir_layers == Layers{2, 5});
}
