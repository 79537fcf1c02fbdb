#include "bench/layer_plan.hpp"

#include <algorithm>
#include <cstdio>
#include <map>
#include <numeric>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "bench/dataset.hpp"
#include "bench/rel_path.hpp"
#include "bench/rng.hpp"

namespace layerfs::bench {

namespace {

constexpr int kTop = kLayers - 1;
constexpr uint64_t kSaltLayer = 1, kSaltOpaque = 2, kSaltStale = 3, kSaltJunk = 4;
constexpr size_t kOpaqueDirs = 4;        // how many directories are made opaque
constexpr size_t kOpaqueMaxBelow = 400;  // ... each with at most this many descendants
constexpr uint64_t kStaleOneIn = 40;     // one directory in this many gets a stale entry

// FNV-1a, then a finalizer so that every bit (and so `% 3`) is well mixed.
uint64_t path_hash(std::string_view s, uint64_t salt) {
    uint64_t h = 0xcbf29ce484222325ull ^ mix64(salt);
    for (unsigned char c : s) {
        h ^= c;
        h *= 0x100000001b3ull;
    }
    return mix64(h);
}

std::string child_of(std::string_view dir, std::string_view name) {
    return dir.empty() ? std::string(name) : std::string(dir) + "/" + std::string(name);
}

// The layer a top-level tree is pinned to, or -1 when its entries are spread.
int fixed_layer(std::string_view path) {
    const std::string_view top = top_of(path);
    if (top == top_of(kBigFile)) return 0;
    if (top == kMany || top == kRepo) return 1;
    if (top == kCProject) return 2;
    return -1;
}

int base_layer(std::string_view path) {
    const int fixed = fixed_layer(path);
    return fixed >= 0 ? fixed : int(path_hash(path, kSaltLayer) % kLayers);
}

bool valid_relative(std::string_view p) {
    if (p.empty() || p.front() == '/' || p.back() == '/') return false;
    size_t start = 0;
    while (start <= p.size()) {
        size_t end = p.find('/', start);
        if (end == std::string_view::npos) end = p.size();
        const std::string_view c = p.substr(start, end - start);
        if (c.empty() || c == "." || c == "..") return false;
        start = end + 1;
    }
    return true;
}

}  // namespace

LayerPlan plan_layers(const std::vector<PlanEntry>& entries) {
    const size_t n = entries.size();
    std::unordered_map<std::string_view, size_t> index;
    index.reserve(n * 2);
    for (size_t i = 0; i < n; ++i) {
        const std::string& p = entries[i].path;
        if (!valid_relative(p)) throw std::invalid_argument("plan_layers: bad path '" + p + "'");
        if (entries[i].kind == EntryKind::kDir && entries[i].link_group >= 0)
            throw std::invalid_argument("plan_layers: directory in a hard-link set: " + p);
        if (!index.emplace(p, i).second)
            throw std::invalid_argument("plan_layers: duplicate path " + p);
    }
    std::vector<long> parent(n, -1);
    for (size_t i = 0; i < n; ++i) {
        const std::string_view pp = parent_of(entries[i].path);
        if (pp.empty()) continue;
        auto it = index.find(pp);
        if (it == index.end() || entries[it->second].kind != EntryKind::kDir)
            throw std::invalid_argument("plan_layers: no parent directory for " + entries[i].path);
        parent[i] = long(it->second);
    }
    auto is_dir = [&](size_t i) { return entries[i].kind == EntryKind::kDir; };

    // Path order, so nothing depends on the order of `entries`.
    std::vector<size_t> order(n);
    std::iota(order.begin(), order.end(), size_t(0));
    std::sort(order.begin(), order.end(),
              [&](size_t a, size_t b) { return entries[a].path < entries[b].path; });
    std::vector<std::vector<size_t>> children(n);
    for (size_t i : order)
        if (parent[i] >= 0) children[size_t(parent[i])].push_back(i);

    std::vector<size_t> below(n, 0);
    for (size_t i = 0; i < n; ++i)
        for (long p = parent[i]; p >= 0; p = parent[size_t(p)])
            ++below[size_t(p)];

    // Opaque directories: rootfs directories at least two levels down with a
    // modest subtree, ranked by hash, never one inside another.
    const std::string rootfs_prefix = std::string(kRootfs) + "/";
    std::vector<size_t> candidates;
    for (size_t i : order) {
        const std::string& p = entries[i].path;
        if (!is_dir(i) || p.compare(0, rootfs_prefix.size(), rootfs_prefix) != 0) continue;
        if (std::count(p.begin(), p.end(), '/') < 2) continue;
        if (below[i] < 1 || below[i] > kOpaqueMaxBelow) continue;
        candidates.push_back(i);
    }
    std::stable_sort(candidates.begin(), candidates.end(), [&](size_t a, size_t b) {
        return path_hash(entries[a].path, kSaltOpaque) < path_hash(entries[b].path, kSaltOpaque);
    });
    std::vector<char> opaque(n, 0), holds_opaque(n, 0);
    size_t chosen = 0;
    for (size_t c : candidates) {
        if (chosen == kOpaqueDirs) break;
        if (holds_opaque[c]) continue;
        bool inside = false;
        for (long p = parent[c]; p >= 0 && !inside; p = parent[size_t(p)])
            inside = opaque[size_t(p)];
        if (inside) continue;
        opaque[c] = 1;
        ++chosen;
        for (long p = parent[c]; p >= 0; p = parent[size_t(p)])
            holds_opaque[size_t(p)] = 1;
    }
    std::vector<char> under_opaque(n, 0);
    for (size_t i = 0; i < n; ++i)
        for (long p = parent[i]; p >= 0 && !under_opaque[i]; p = parent[size_t(p)])
            under_opaque[i] = opaque[size_t(p)];

    // Hard-link sets go where their first name goes, or on top when any name
    // is below an opaque directory.
    struct Group {
        std::string_view first;
        bool on_top = false;
    };
    std::map<int, Group> groups;
    for (size_t i : order) {
        if (is_dir(i) || entries[i].link_group < 0) continue;
        Group& g = groups[entries[i].link_group];
        if (g.first.empty()) g.first = entries[i].path;
        g.on_top = g.on_top || under_opaque[i];
    }

    LayerPlan plan;
    std::vector<unsigned>& mask = plan.layers;
    mask.assign(n, 0);
    // A layer that holds `path` holds every directory above it.
    auto need = [&](std::string_view dir, int layer) {
        for (; !dir.empty(); dir = parent_of(dir)) {
            auto it = index.find(dir);
            if (it != index.end()) mask[it->second] |= 1u << layer;
        }
    };
    for (size_t i : order) {
        if (is_dir(i)) continue;
        int layer;
        if (under_opaque[i]) {
            layer = kTop;
        } else if (entries[i].link_group >= 0) {
            const Group& g = groups[entries[i].link_group];
            layer = g.on_top ? kTop : base_layer(g.first);
        } else {
            layer = base_layer(entries[i].path);
        }
        mask[i] = 1u << layer;
        need(parent_of(entries[i].path), layer);
    }

    std::set<std::string> extra_paths;
    auto unique_child = [&](std::string_view dir, std::string_view name) {
        std::string p = child_of(dir, name);
        while (index.count(p) || extra_paths.count(p))
            p += "~";
        return p;
    };
    auto add = [&](const std::string& path, LayerExtra::Kind kind, int layer) {
        extra_paths.insert(path);
        need(parent_of(path), layer);
        plan.extras.push_back({path, kind, layer});
        if (kind == LayerExtra::kWhiteout) ++plan.whiteouts;
    };

    // Under each opaque directory the lower layers hold junk: a file, a
    // directory with a file, a file of the same name as a real child, and a
    // file inside a real child directory.
    for (size_t d : order) {
        if (!opaque[d]) continue;
        const std::string& dp = entries[d].path;
        plan.opaque_dirs.push_back(dp);
        need(dp, kTop);
        add(unique_child(dp, ".opaque-junk"), LayerExtra::kJunkFile, 0);
        const std::string jd = unique_child(dp, ".opaque-junk-dir");
        add(jd, LayerExtra::kJunkDir, 1);
        add(jd + "/junk", LayerExtra::kJunkFile, 1);
        const uint64_t h = path_hash(dp, kSaltJunk);
        for (size_t c : children[d]) {
            if (is_dir(c)) continue;
            add(entries[c].path, LayerExtra::kJunkFile, int(h % 2));
            break;
        }
        for (size_t c : children[d]) {
            if (!is_dir(c)) continue;
            add(unique_child(entries[c].path, ".opaque-junk"), LayerExtra::kJunkFile, 0);
            break;
        }
    }

    // Stale entries: junk in a lower layer, a whiteout of it in a higher one;
    // only in the spread trees, so the pinned ones stay in their one layer.
    static constexpr int kPairs[3][2] = {{0, 1}, {0, 2}, {1, 2}};
    for (size_t x : order) {
        if (!is_dir(x) || opaque[x] || under_opaque[x] || fixed_layer(entries[x].path) >= 0)
            continue;
        const uint64_t h = path_hash(entries[x].path, kSaltStale);
        if (h % kStaleOneIn != 0) continue;
        const int lo = kPairs[(h >> 8) % 3][0], hi = kPairs[(h >> 8) % 3][1];
        char name[32];
        std::snprintf(name, sizeof name, ".stale-%04x", unsigned((h >> 16) & 0xffff));
        const std::string p = unique_child(entries[x].path, name);
        if ((h >> 32) % 4 == 0) {
            add(p, LayerExtra::kJunkDir, lo);
            add(p + "/junk", LayerExtra::kJunkFile, lo);
        } else {
            add(p, LayerExtra::kJunkFile, lo);
        }
        add(p, LayerExtra::kWhiteout, hi);
    }

    // Directories below an opaque one are on top whatever else holds them; the
    // rest that nothing put anywhere (empty ones) go where a file would, the
    // deepest first so that a parent sees its empty children's layers.
    for (auto it = order.rbegin(); it != order.rend(); ++it) {
        const size_t i = *it;
        if (!is_dir(i)) continue;
        if (under_opaque[i] || opaque[i]) {
            need(entries[i].path, kTop);
        } else if (mask[i] == 0) {
            need(entries[i].path, base_layer(entries[i].path));
        }
    }

    std::sort(plan.extras.begin(), plan.extras.end(), [](const LayerExtra& a, const LayerExtra& b) {
        return a.path != b.path ? a.path < b.path : a.layer < b.layer;
    });
    return plan;
}

}  // namespace layerfs::bench
