// The split of the benchmark's tree into layers: bench/layer_plan.cpp's plan_layers.
#include <algorithm>
#include <catch2/catch.hpp>
#include <map>
#include <random>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "bench/layer_plan.hpp"

using layerfs::bench::EntryKind;
using layerfs::bench::kLayers;
using layerfs::bench::LayerExtra;
using layerfs::bench::LayerPlan;
using layerfs::bench::plan_layers;
using layerfs::bench::PlanEntry;

namespace {

constexpr int kTop = kLayers - 1;

std::string parent_of(const std::string& p) {
    const auto k = p.rfind('/');
    return k == std::string::npos ? "" : p.substr(0, k);
}

bool below(const std::string& p, const std::string& dir) {
    return p.size() > dir.size() && p.compare(0, dir.size(), dir) == 0 && p[dir.size()] == '/';
}

int bits(unsigned m) {
    return __builtin_popcount(m);
}

// Entries with their parent directories added as they are named.
class Tree {
  public:
    std::vector<PlanEntry> entries;

    void dir(const std::string& p) {
        if (p.empty() || dirs_.count(p)) return;
        dir(parent_of(p));
        dirs_.insert(p);
        entries.push_back({p, EntryKind::kDir, -1});
    }
    void add(const std::string& p, EntryKind kind = EntryKind::kFile, int group = -1) {
        dir(parent_of(p));
        entries.push_back({p, kind, group});
    }

  private:
    std::set<std::string> dirs_;
};

// A tree shaped like the benchmark's: a rootfs with docs, binaries, libraries,
// deep modules, hard-link sets, empty directories and a device; the pinned trees.
std::vector<PlanEntry> fixture() {
    Tree t;
    int group = 0;
    for (int i = 0; i < 120; ++i) {
        const std::string pkg = "pkg" + std::to_string(i);
        const std::string doc = "rootfs/usr/share/doc/" + pkg;
        if (i % 3 == 0) {
            t.add(doc + "/copyright", EntryKind::kFile, group);
            t.add("rootfs/usr/share/licenses/" + pkg, EntryKind::kFile, group);
            ++group;
        } else {
            t.add(doc + "/copyright");
        }
        t.add(doc + "/changelog.Debian.gz");
        if (i % 4 == 0) t.add(doc + "/examples/example" + std::to_string(i));
    }
    for (int i = 0; i < 200; ++i)
        t.add("rootfs/usr/bin/cmd" + std::to_string(i));
    for (int i = 0; i < 20; ++i)
        t.add("rootfs/usr/bin/alias" + std::to_string(i), EntryKind::kSymlink);
    for (int i = 0; i < 60; ++i) {
        const std::string lib = "rootfs/usr/lib/x86_64-linux-gnu/lib" + std::to_string(i);
        t.add(lib + ".so.1.2");
        t.add(lib + ".so.1", EntryKind::kSymlink);
    }
    for (int a = 0; a < 6; ++a)
        for (int b = 0; b < 6; ++b)
            for (int f = 0; f < 3; ++f)
                t.add("rootfs/usr/share/perl5/M" + std::to_string(a) + "/S" + std::to_string(b) +
                      "/m" + std::to_string(f) + ".pm");
    for (int i = 0; i < 40; ++i)
        t.add("rootfs/etc/conf" + std::to_string(i));
    // A three-name set across directories, and a pair in one.
    t.add("rootfs/usr/bin/perl", EntryKind::kFile, group);
    t.add("rootfs/usr/bin/perl5.36", EntryKind::kFile, group);
    t.add("rootfs/usr/sbin/perl-alt", EntryKind::kFile, group);
    ++group;
    t.add("rootfs/usr/bin/gunzip", EntryKind::kFile, group);
    t.add("rootfs/usr/bin/uncompress", EntryKind::kFile, group);
    ++group;
    t.add("rootfs/dev/null", EntryKind::kOther);
    t.dir("rootfs/tmp");
    t.dir("rootfs/empty/a/b");
    t.dir("rootfs/empty/c");
    t.add("rootfs/bin", EntryKind::kSymlink);
    t.add("big/big.bin");
    for (int d = 0; d < 20; ++d)
        for (int f = 0; f < 10; ++f)
            t.add("many/d" + std::to_string(d) + "/f" + std::to_string(f));
    for (int i = 0; i < 50; ++i)
        t.add("repo/.git/objects/o" + std::to_string(i % 7) + "/x" + std::to_string(i));
    for (int i = 0; i < 80; ++i)
        t.add("repo/src/mod" + std::to_string(i % 5) + "/file" + std::to_string(i) + ".c");
    t.add("repo/README.md");
    for (int i = 0; i < 6; ++i)
        t.add("cproj/unit" + std::to_string(i) + ".c");
    t.add("cproj/Makefile");
    return t.entries;
}

// What kernel overlayfs shows of the layers the plan describes: path -> the
// index of the real entry it is, or -1 for junk that shows through.
class Overlay {
  public:
    Overlay(const std::vector<PlanEntry>& entries, const LayerPlan& plan) : entries_(entries) {
        for (size_t i = 0; i < entries.size(); ++i)
            for (int l = 0; l < kLayers; ++l)
                if (plan.layers[i] & (1u << l))
                    put(l, entries[i].path, Item{int(i), is_dir(i), false});
        for (const LayerExtra& x : plan.extras)
            put(x.layer, x.path,
                Item{-1, x.kind == LayerExtra::kJunkDir, x.kind == LayerExtra::kWhiteout});
        for (const std::string& d : plan.opaque_dirs)
            opaque_.insert(d);
    }

    std::vector<std::string> collisions;  // a layer given two things of one name

    std::map<std::string, int> view() const {
        std::map<std::string, int> out;
        std::vector<int> all;
        for (int l = kTop; l >= 0; --l)
            all.push_back(l);
        visit("", all, out);
        return out;
    }

  private:
    struct Item {
        int entry;
        bool dir;
        bool whiteout;
    };

    bool is_dir(size_t i) const { return entries_[i].kind == EntryKind::kDir; }

    void put(int layer, const std::string& path, Item item) {
        if (!layers_[layer].emplace(path, item).second)
            collisions.push_back(std::to_string(layer) + ":" + path);
        const auto k = path.rfind('/');
        names_[layer][parent_of(path)].insert(k == std::string::npos ? path : path.substr(k + 1));
    }

    // Lookup top down: a whiteout hides, a non-directory or an opaque
    // directory ends the stack of directories to merge.
    void visit(const std::string& dir, const std::vector<int>& stack,
               std::map<std::string, int>& out) const {
        std::set<std::string> names;
        for (int l : stack) {
            auto it = names_[l].find(dir);
            if (it != names_[l].end()) names.insert(it->second.begin(), it->second.end());
        }
        for (const std::string& name : names) {
            const std::string p = dir.empty() ? name : dir + "/" + name;
            const Item* top = nullptr;
            std::vector<int> sub;
            for (int l : stack) {
                auto it = layers_[l].find(p);
                if (it == layers_[l].end()) continue;
                const Item& item = it->second;
                if (!top) top = &item;
                if (item.whiteout || !item.dir) break;
                sub.push_back(l);
                if (l == kTop && opaque_.count(p)) break;
            }
            if (!top || top->whiteout) continue;
            out[p] = top->entry;
            if (top->dir) visit(p, sub, out);
        }
    }

    const std::vector<PlanEntry>& entries_;
    std::map<std::string, Item> layers_[kLayers];
    std::map<std::string, std::set<std::string>> names_[kLayers];
    std::set<std::string> opaque_;
};

std::map<std::string, unsigned> by_path(const std::vector<PlanEntry>& entries,
                                        const LayerPlan& plan) {
    std::map<std::string, unsigned> m;
    for (size_t i = 0; i < entries.size(); ++i)
        m[entries[i].path] = plan.layers[i];
    return m;
}

}  // namespace

TEST_CASE("plan_layers: every entry is in the layers it must be", "[bench]") {
    const auto entries = fixture();
    const LayerPlan plan = plan_layers(entries);
    REQUIRE(plan.layers.size() == entries.size());
    const auto layers = by_path(entries, plan);
    std::set<int> used;
    for (size_t i = 0; i < entries.size(); ++i) {
        const PlanEntry& e = entries[i];
        const unsigned m = plan.layers[i];
        INFO(e.path << " in layers " << m);
        CHECK(m != 0);
        CHECK(m < (1u << kLayers));
        if (e.kind != EntryKind::kDir) {
            CHECK(bits(m) == 1);
            for (int l = 0; l < kLayers; ++l)
                if (m & (1u << l)) used.insert(l);
        }
        // A layer that holds something holds the directories above it.
        const std::string parent = parent_of(e.path);
        if (!parent.empty()) CHECK((layers.at(parent) & m) == m);
    }
    // The rootfs is spread over all three.
    CHECK(used.size() == size_t(kLayers));
}

TEST_CASE("plan_layers: big/ at the bottom, many/ and repo/ in the middle, cproj/ on top",
          "[bench]") {
    const auto entries = fixture();
    const LayerPlan plan = plan_layers(entries);
    const std::map<std::string, unsigned> pinned = {
        {"big", 1u << 0}, {"many", 1u << 1}, {"repo", 1u << 1}, {"cproj", 1u << 2}};
    for (size_t i = 0; i < entries.size(); ++i) {
        const std::string& p = entries[i].path;
        const std::string top = p.substr(0, p.find('/'));
        auto it = pinned.find(top);
        if (it == pinned.end()) continue;
        INFO(p);
        CHECK(plan.layers[i] == it->second);
    }
    for (const LayerExtra& x : plan.extras) {
        INFO(x.path);
        CHECK(x.path.compare(0, 7, "rootfs/") == 0);
    }
}

TEST_CASE("plan_layers: every name of a hard-link set is in one layer", "[bench]") {
    const auto entries = fixture();
    const LayerPlan plan = plan_layers(entries);
    std::map<int, std::set<unsigned>> groups;
    for (size_t i = 0; i < entries.size(); ++i)
        if (entries[i].link_group >= 0) groups[entries[i].link_group].insert(plan.layers[i]);
    REQUIRE(groups.size() > 10);
    for (const auto& [g, layers] : groups) {
        INFO("group " << g);
        CHECK(layers.size() == 1);
    }
}

TEST_CASE("plan_layers: opaque directories hold all they show on top, junk below", "[bench]") {
    const auto entries = fixture();
    const LayerPlan plan = plan_layers(entries);
    const auto layers = by_path(entries, plan);
    REQUIRE(plan.opaque_dirs.size() >= 3);
    REQUIRE(plan.opaque_dirs.size() <= 5);
    int pulled_up = 0;  // hard-link sets moved on top because of an opaque directory
    for (const std::string& d : plan.opaque_dirs) {
        INFO("opaque " << d);
        REQUIRE(layers.count(d));
        CHECK(d.compare(0, 7, "rootfs/") == 0);
        CHECK((layers.at(d) & (1u << kTop)) != 0);
        for (const std::string& other : plan.opaque_dirs)
            CHECK_FALSE(below(other, d));
        int real_below = 0;
        for (size_t i = 0; i < entries.size(); ++i) {
            const PlanEntry& e = entries[i];
            if (!below(e.path, d)) continue;
            INFO(e.path);
            ++real_below;
            if (e.kind == EntryKind::kDir) {
                CHECK((plan.layers[i] & (1u << kTop)) != 0);
            } else {
                CHECK(plan.layers[i] == 1u << kTop);
                if (e.link_group >= 0) ++pulled_up;
            }
        }
        CHECK(real_below > 0);
        // Junk below it in the lower layers: a file, a directory, one named
        // like a real child; and no whiteouts, which the opacity makes moot.
        int junk_files = 0, junk_dirs = 0, shadowing = 0;
        for (const LayerExtra& x : plan.extras) {
            if (!below(x.path, d)) continue;
            CHECK(x.layer < kTop);
            CHECK(x.kind != LayerExtra::kWhiteout);
            junk_files += x.kind == LayerExtra::kJunkFile;
            junk_dirs += x.kind == LayerExtra::kJunkDir;
            shadowing += layers.count(x.path) != 0;
        }
        CHECK(junk_files >= 2);
        CHECK(junk_dirs >= 1);
        CHECK(shadowing >= 1);
    }
    // The fixture links every third doc directory's copyright elsewhere.
    CHECK(pulled_up > 0);
}

TEST_CASE("plan_layers: whiteouts hide only junk of a lower layer", "[bench]") {
    const auto entries = fixture();
    const LayerPlan plan = plan_layers(entries);
    const auto layers = by_path(entries, plan);
    uint64_t whiteouts = 0;
    for (const LayerExtra& w : plan.extras) {
        if (w.kind != LayerExtra::kWhiteout) continue;
        ++whiteouts;
        INFO("whiteout " << w.path << " in layer " << w.layer);
        CHECK(w.layer > 0);
        CHECK(layers.count(w.path) == 0);
        int hidden = 0;
        for (const LayerExtra& x : plan.extras) {
            if (x.path != w.path || x.kind == LayerExtra::kWhiteout) continue;
            CHECK(x.layer < w.layer);
            ++hidden;
        }
        CHECK(hidden == 1);
        // Its directory is in the whiteout's layer and the junk's.
        CHECK((layers.at(parent_of(w.path)) & (1u << w.layer)) != 0);
    }
    CHECK(whiteouts > 0);
    CHECK(plan.whiteouts == whiteouts);
}

TEST_CASE("plan_layers: the layers merge into exactly the tree", "[bench]") {
    const auto entries = fixture();
    const LayerPlan plan = plan_layers(entries);
    const Overlay overlay(entries, plan);
    CHECK(overlay.collisions.empty());
    const auto view = overlay.view();
    std::map<std::string, int> want;
    for (size_t i = 0; i < entries.size(); ++i)
        want[entries[i].path] = int(i);
    CHECK(view == want);
    // Something was actually hidden: junk and whiteouts exist.
    CHECK(plan.extras.size() > plan.whiteouts);
}

TEST_CASE("plan_layers: the same plan whatever the order of the entries", "[bench]") {
    const auto entries = fixture();
    const LayerPlan plan = plan_layers(entries);
    auto shuffled = entries;
    std::mt19937 rng(42);
    std::shuffle(shuffled.begin(), shuffled.end(), rng);
    const LayerPlan again = plan_layers(shuffled);
    CHECK(by_path(entries, plan) == by_path(shuffled, again));
    CHECK(plan.opaque_dirs == again.opaque_dirs);
    REQUIRE(plan.extras.size() == again.extras.size());
    for (size_t i = 0; i < plan.extras.size(); ++i) {
        CHECK(plan.extras[i].path == again.extras[i].path);
        CHECK(plan.extras[i].kind == again.extras[i].kind);
        CHECK(plan.extras[i].layer == again.extras[i].layer);
    }
}

TEST_CASE("plan_layers: extras come parents first", "[bench]") {
    const LayerPlan plan = plan_layers(fixture());
    std::set<std::pair<int, std::string>> seen;
    for (const LayerExtra& x : plan.extras) {
        if (x.kind == LayerExtra::kJunkDir) seen.insert({x.layer, x.path});
        const std::string parent = parent_of(x.path);
        // Either a real directory or junk made before, in the same layer.
        if (parent.find(".opaque-junk-dir") != std::string::npos ||
            parent.find(".stale-") != std::string::npos) {
            INFO(x.path);
            CHECK(seen.count({x.layer, parent}));
        }
    }
}

TEST_CASE("plan_layers: empty directories, small trees", "[bench]") {
    CHECK(plan_layers({}).layers.empty());

    const std::vector<PlanEntry> small = {{"rootfs", EntryKind::kDir, -1},
                                          {"rootfs/a", EntryKind::kDir, -1},
                                          {"rootfs/a/b", EntryKind::kDir, -1},
                                          {"cproj", EntryKind::kDir, -1},
                                          {"rootfs/f", EntryKind::kFile, -1}};
    const LayerPlan plan = plan_layers(small);
    for (unsigned m : plan.layers)
        CHECK(m != 0);
    CHECK((plan.layers[1] & plan.layers[2]) == plan.layers[2]);
    CHECK(plan.layers[3] == 1u << 2);
    const Overlay overlay(small, plan);
    CHECK(overlay.view().size() == small.size());
}

TEST_CASE("plan_layers: refuses what is not a tree", "[bench]") {
    using V = std::vector<PlanEntry>;
    CHECK_THROWS_AS(plan_layers(V{{"a/b", EntryKind::kFile, -1}}), std::invalid_argument);
    CHECK_THROWS_AS(plan_layers(V{{"a", EntryKind::kFile, -1}, {"a/b", EntryKind::kFile, -1}}),
                    std::invalid_argument);
    CHECK_THROWS_AS(plan_layers(V{{"a", EntryKind::kFile, -1}, {"a", EntryKind::kFile, -1}}),
                    std::invalid_argument);
    for (const char* bad : {"", "/a", "a/", "a//b", "./a", "a/../b"}) {
        INFO("path '" << bad << "'");
        CHECK_THROWS_AS(plan_layers(V{{"a", EntryKind::kDir, -1}, {bad, EntryKind::kFile, -1}}),
                        std::invalid_argument);
    }
    CHECK_THROWS_AS(plan_layers(V{{"a", EntryKind::kDir, 3}}), std::invalid_argument);
}
