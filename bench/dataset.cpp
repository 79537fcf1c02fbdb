#include "bench/dataset.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <numeric>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string_view>
#include <unordered_map>

#include "bench/process.hpp"

namespace layerfs::bench {

DataSpec DataSpec::quick() {
    DataSpec s;
    s.source = "synthetic";
    s.synthetic_files = 600;
    s.big_bytes = 64ull << 20;
    s.untar_files = 2000;
    s.many_files = 1000;
    s.repo_files = 300;
    s.c_files = 6;
    return s;
}

// ---------------------------------------------------------------------------
// The plan: pure, so it is unit-tested.

namespace {

constexpr int kTop = kLayers - 1;
constexpr uint64_t kSaltLayer = 1, kSaltOpaque = 2, kSaltStale = 3, kSaltJunk = 4;
constexpr size_t kOpaqueDirs = 4;        // how many directories are made opaque
constexpr size_t kOpaqueMaxBelow = 400;  // ... each with at most this many descendants
constexpr uint64_t kStaleOneIn = 40;     // one directory in this many gets a stale entry

uint64_t mix64(uint64_t z) {
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

// FNV-1a, then a finalizer so that every bit (and so `% 3`) is well mixed.
uint64_t path_hash(std::string_view s, uint64_t salt) {
    uint64_t h = 0xcbf29ce484222325ull ^ mix64(salt);
    for (unsigned char c : s) {
        h ^= c;
        h *= 0x100000001b3ull;
    }
    return mix64(h);
}

std::string_view parent_of(std::string_view p) {
    auto k = p.rfind('/');
    return k == std::string_view::npos ? std::string_view() : p.substr(0, k);
}

std::string_view top_of(std::string_view p) {
    return p.substr(0, p.find('/'));
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

// ---------------------------------------------------------------------------
// Building the data.

namespace {

constexpr int kFormat = 1;  // bump whenever what is built changes: cached data is rebuilt
constexpr uint64_t kSeed = 20240607;
constexpr int64_t kFixedTime = 1600000000;  // mtime of every generated non-rootfs file
const char* const kStamp = ".complete";

using Clock = std::chrono::steady_clock;

[[noreturn]] void fail_errno(const std::string& what) {
    throw std::runtime_error(what + ": " + std::strerror(errno));
}

// splitmix64: fast, and every seed gives a full-quality stream.
struct Rng {
    uint64_t s;
    explicit Rng(uint64_t seed) : s(seed) {}
    uint64_t next() {
        s += 0x9e3779b97f4a7c15ull;
        return mix64(s);
    }
    uint64_t below(uint64_t n) { return n == 0 ? 0 : next() % n; }
    double real() { return double(next() >> 11) * 0x1.0p-53; }
    bool chance(double p) { return real() < p; }
    uint64_t log_uniform(double lo, double hi) {
        return uint64_t(std::exp(std::log(lo) + real() * (std::log(hi) - std::log(lo))));
    }
    template <class T>
    const T& pick(const std::vector<T>& v) {
        return v[below(v.size())];
    }
};

void fill_random(std::string& out, size_t n, Rng& r) {
    const size_t start = out.size();
    out.resize(start + n);
    char* p = out.data() + start;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        const uint64_t v = r.next();
        std::memcpy(p + i, &v, 8);
    }
    if (i < n) {
        const uint64_t v = r.next();
        std::memcpy(p + i, &v, n - i);
    }
}

const std::vector<std::string>& vocabulary() {
    static const std::vector<std::string> words = {
        "the",      "value",   "return",    "config",  "static",  "const",  "buffer",   "size",
        "if",       "else",    "for",       "while",   "struct",  "error",  "result",   "index",
        "file",     "path",    "layer",     "mount",   "read",    "write",  "data",     "node",
        "list",     "map",     "string",    "count",   "offset",  "length", "begin",    "end",
        "module",   "export",  "import",    "default", "options", "handle", "callback", "this",
        "function", "object",  "array",     "number",  "true",    "false",  "null",     "package",
        "license",  "version", "copyright", "debian",  "system",  "user",   "group",    "mode"};
    return words;
}

// Text that looks like source or documentation: words, punctuation, lines.
void fill_text(std::string& out, size_t n, Rng& r) {
    const auto& words = vocabulary();
    const size_t end = out.size() + n;
    size_t line = 0;
    while (out.size() < end) {
        const std::string& w = r.pick(words);
        out += w;
        line += w.size() + 1;
        if (line > 50 + r.below(30)) {
            out += r.chance(0.3) ? ";\n" : "\n";
            line = 0;
        } else {
            out += r.chance(0.1) ? "(" : " ";
        }
    }
    out.resize(end);
    if (n > 0) out.back() = '\n';
}

std::string make_content(uint64_t size, uint64_t seed, bool text) {
    Rng r(seed);
    std::string s;
    s.reserve(size + 16);
    if (text) {
        fill_text(s, size, r);
    } else {
        fill_random(s, size, r);
    }
    return s;
}

void write_all(int fd, const char* p, size_t n, const std::string& path) {
    while (n > 0) {
        const ssize_t w = ::write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR) continue;
            fail_errno("write " + path);
        }
        p += w;
        n -= size_t(w);
    }
}

void set_mtime(const std::string& path, int64_t sec, long nsec = 0) {
    const struct timespec ts[2] = {{time_t(sec), nsec}, {time_t(sec), nsec}};
    if (utimensat(AT_FDCWD, path.c_str(), ts, AT_SYMLINK_NOFOLLOW) != 0)
        fail_errno("utimensat " + path);
}

// Writes a new file with exactly these owner, mode and mtime.
void write_file(const std::string& path, const std::string& data, mode_t mode, int64_t mtime,
                uid_t uid = 0, gid_t gid = 0) {
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) fail_errno("create " + path);
    try {
        write_all(fd, data.data(), data.size(), path);
        // chown before chmod: chown clears set-id bits.
        if ((uid != 0 || gid != 0) && fchown(fd, uid, gid) != 0) fail_errno("fchown " + path);
        if (fchmod(fd, mode) != 0) fail_errno("fchmod " + path);
        const struct timespec ts[2] = {{time_t(mtime), 0}, {time_t(mtime), 0}};
        if (futimens(fd, ts) != 0) fail_errno("futimens " + path);
    } catch (...) {
        ::close(fd);
        throw;
    }
    if (::close(fd) != 0) fail_errno("close " + path);
}

void make_dir(const std::string& path, mode_t mode = 0755) {
    if (::mkdir(path.c_str(), mode) != 0 && errno != EEXIST) fail_errno("mkdir " + path);
}

void make_dirs(const std::string& path) {
    std::error_code ec;
    std::filesystem::create_directories(path, ec);
    if (ec) throw std::runtime_error("mkdir -p " + path + ": " + ec.message());
}

std::string read_text(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

void write_text_atomically(const std::string& path, const std::string& text) {
    const std::string tmp = path + ".tmp";
    ::unlink(tmp.c_str());
    write_file(tmp, text, 0644, time(nullptr));
    const int fd = ::open(tmp.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        ::fsync(fd);
        ::close(fd);
    }
    if (::rename(tmp.c_str(), path.c_str()) != 0) fail_errno("rename " + tmp);
}

struct Step {
    std::string what;
    Clock::time_point start = Clock::now();
    explicit Step(std::string w) : what(std::move(w)) {}
    ~Step() {
        const double s = std::chrono::duration<double>(Clock::now() - start).count();
        std::fprintf(stderr, "bench data: %s: %.1fs\n", what.c_str(), s);
    }
};

// --- a synthetic distro-like rootfs ----------------------------------------

class SynthTree {
  public:
    struct Node {
        char type = 'f';  // 'd' dir, 'f' file, 'l' symlink, 'h' hard link to `target`
        mode_t mode = 0644;
        uid_t uid = 0;
        gid_t gid = 0;
        int64_t mtime = 0;
        uint64_t size = 0;
        uint64_t seed = 0;
        bool text = false;
        std::string target;
    };

    explicit SynthTree(uint64_t seed) : rng(seed) {}

    Rng rng;
    std::map<std::string, Node> nodes;
    std::vector<std::string> regular;  // paths of regular files, for hard links
    int files = 0;

    int64_t some_time() { return 1650000000 + int64_t(rng.below(60 * 86400 * 12)); }

    bool taken(const std::string& p) const { return nodes.count(p) != 0; }

    // False when `p` is taken or something above it is not a directory.
    bool free_name(const std::string& p) const {
        if (taken(p)) return false;
        for (std::string_view d = parent_of(p); !d.empty(); d = parent_of(d)) {
            auto it = nodes.find(std::string(d));
            if (it != nodes.end() && it->second.type != 'd') return false;
        }
        return true;
    }

    void dir(const std::string& p, mode_t mode = 0755, uid_t uid = 0, gid_t gid = 0) {
        if (p.empty()) return;
        auto it = nodes.find(p);
        if (it != nodes.end()) {
            if (it->second.type != 'd')
                throw std::logic_error("synthetic tree: " + p + " is no dir");
            it->second.mode = mode;
            it->second.uid = uid;
            it->second.gid = gid;
            return;
        }
        const std::string parent(parent_of(p));
        if (!parent.empty() && !taken(parent)) dir(parent);
        Node n;
        n.type = 'd';
        n.mode = mode;
        n.uid = uid;
        n.gid = gid;
        n.mtime = some_time();
        nodes.emplace(p, n);
    }

    bool file(const std::string& p, uint64_t size, mode_t mode = 0644, bool text = false,
              uid_t uid = 0, gid_t gid = 0) {
        if (!free_name(p)) return false;
        dir(std::string(parent_of(p)));
        Node n;
        n.mode = mode;
        n.uid = uid;
        n.gid = gid;
        n.mtime = some_time();
        n.size = size;
        n.seed = rng.next();
        n.text = text;
        nodes.emplace(p, n);
        regular.push_back(p);
        ++files;
        return true;
    }

    bool symlink(const std::string& p, const std::string& target) {
        if (!free_name(p)) return false;
        dir(std::string(parent_of(p)));
        Node n;
        n.type = 'l';
        n.mode = 0777;
        n.mtime = some_time();
        n.target = target;
        nodes.emplace(p, n);
        return true;
    }

    bool hardlink(const std::string& p, const std::string& existing) {
        if (!free_name(p)) return false;
        dir(std::string(parent_of(p)));
        Node n;
        n.type = 'h';
        n.target = existing;
        nodes.emplace(p, n);
        ++files;
        return true;
    }
};

std::string word(Rng& r) {
    static const std::vector<std::string> syl = {"ba",  "co", "de",   "fi",  "lu",   "ma",  "ne",
                                                 "pro", "ra", "sys",  "ti",  "ver",  "xo",  "zen",
                                                 "gre", "ar", "el",   "on",  "ux",   "kit", "tar",
                                                 "gz",  "sh", "util", "net", "core", "io"};
    std::string w;
    const uint64_t k = 1 + r.below(3);
    for (uint64_t i = 0; i < k; ++i)
        w += r.pick(syl);
    if (r.chance(0.2)) w += std::to_string(r.below(10));
    return w;
}

// Sizes like a distro's: most files small, some medium, a few large.
uint64_t distro_size(Rng& r) {
    const double x = r.real();
    if (x < 0.80) return r.log_uniform(40, 8192);
    if (x < 0.998) return r.log_uniform(10 << 10, 200 << 10);
    return r.log_uniform(1 << 20, 2 << 20);
}

void generate_rootfs(SynthTree& t, int target_files) {
    Rng& r = t.rng;
    for (const char* d : {"boot", "dev", "home", "media", "mnt", "opt", "proc", "run", "srv", "sys",
                          "usr/local/bin", "usr/games", "var/backups", "var/spool", "var/opt"})
        t.dir(d);
    t.dir("root", 0700);
    t.dir("tmp", 01777);
    t.dir("var/tmp", 01777);
    t.dir("var/mail", 02775, 0, 8);
    t.dir("var/local", 02775, 0, 50);
    t.symlink("bin", "usr/bin");
    t.symlink("sbin", "usr/sbin");
    t.symlink("lib", "usr/lib");
    t.symlink("lib64", "usr/lib64");
    t.symlink("usr/lib64/ld-linux-x86-64.so.2", "/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2");

    // The files every Debian has, with their odd modes and owners.
    t.file("usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2", 210000, 0755);
    t.file("usr/lib/x86_64-linux-gnu/libc.so.6", 1900000, 0755);
    t.file("etc/passwd", 1200, 0644, true);
    t.file("etc/group", 700, 0644, true);
    t.file("etc/shadow", 500, 0640, true, 0, 42);
    t.file("etc/gshadow", 400, 0640, true, 0, 42);
    t.file("etc/hostname", 10, 0644, true);
    t.file("usr/lib/os-release", 270, 0644, true);
    t.symlink("etc/os-release", "../usr/lib/os-release");
    t.file("usr/share/zoneinfo/Etc/UTC", 114);
    t.symlink("etc/localtime", "/usr/share/zoneinfo/Etc/UTC");
    t.file("etc/security/opasswd", 0, 0600);
    t.file("var/cache/debconf/passwords.dat", 0, 0600);
    t.file("var/log/btmp", 0, 0660, false, 0, 43);
    t.file("root/.bashrc", 570, 0644, true);
    for (const char* s : {"su", "passwd", "mount", "umount", "newgrp", "chsh", "chfn", "gpasswd"})
        t.file(std::string("usr/bin/") + s, r.log_uniform(30000, 90000), 04755);
    for (const char* s : {"chage", "expiry"})
        t.file(std::string("usr/bin/") + s, r.log_uniform(30000, 90000), 02755, false, 0, 42);

    const int link_sets = std::max(2, target_files / 200);
    const int link_names = link_sets * 3 / 2;  // about: each set adds one or two names
    const int plain_target = std::max(1, target_files - link_names);

    // Packages: docs and dpkg's records.
    std::vector<std::string> pkgs;
    const int npkg = std::max(3, target_files / 40);
    while (int(pkgs.size()) < npkg && t.files < plain_target) {
        const std::string p = word(r) + (r.chance(0.3) ? "-" + word(r) : "");
        if (!t.file("usr/share/doc/" + p + "/copyright", r.log_uniform(500, 12000), 0644, true))
            continue;
        pkgs.push_back(p);
        t.file("usr/share/doc/" + p + "/changelog.Debian.gz", r.log_uniform(300, 20000));
        t.file("var/lib/dpkg/info/" + p + ".list", r.log_uniform(100, 6000), 0644, true);
        t.file("var/lib/dpkg/info/" + p + ".md5sums", r.log_uniform(100, 6000), 0644, true);
        if (r.chance(0.3)) {
            t.file("var/lib/dpkg/info/" + p + ".postinst", r.log_uniform(200, 4000), 0755, true);
            t.file("var/lib/dpkg/info/" + p + ".prerm", r.log_uniform(200, 2000), 0755, true);
        }
    }

    const std::vector<std::string> perl_top = {"Debconf", "Dpkg", "Text", "File", "IO", "Term"};
    std::vector<std::string> perl_mid;
    for (int i = 0; i < 12; ++i)
        perl_mid.push_back(word(r));
    const std::vector<std::string> lib_sub = {"gconv",       "perl-base", "perl-base/unicore/lib",
                                              "security",    "engines-3", "ossl-modules",
                                              "krb5/plugins"};
    const std::vector<std::string> langs = {"de", "fr", "es", "it", "pt_BR", "ru", "ja", "zh_CN",
                                            "nl", "sv", "pl", "cs", "da",    "fi", "ko", "uk",
                                            "tr", "vi", "ca", "eu", "gl",    "hu", "ro", "sk"};
    const std::vector<std::string> regions = {"Europe",    "America", "Asia",   "Africa",
                                              "Australia", "Pacific", "Indian", "Atlantic"};
    const std::vector<std::string> etc_sub = {"",
                                              "default",
                                              "apt/apt.conf.d",
                                              "cron.daily",
                                              "init.d",
                                              "logrotate.d",
                                              "pam.d",
                                              "security",
                                              "systemd/system",
                                              "profile.d",
                                              "apt/sources.list.d",
                                              "ld.so.conf.d"};
    // Category weights (in per mille) and what each makes.
    while (t.files < plain_target) {
        const uint64_t c = r.below(1000);
        const std::string w = word(r);
        if (c < 140) {  // binaries
            t.file("usr/bin/" + w, distro_size(r), 0755);
        } else if (c < 170) {
            if (r.chance(0.3) && t.taken("usr/bin/" + w)) {
                t.symlink("usr/sbin/" + w + "-wrapper", "../bin/" + w);
            } else {
                t.file("usr/sbin/" + w, distro_size(r), 0755);
            }
        } else if (c < 270) {  // shared libraries and their soname links
            const std::string so = "lib" + w + ".so." + std::to_string(r.below(6));
            const std::string real =
                so + "." + std::to_string(r.below(20)) + "." + std::to_string(r.below(9));
            if (t.file("usr/lib/x86_64-linux-gnu/" + real, distro_size(r)) && r.chance(0.8))
                t.symlink("usr/lib/x86_64-linux-gnu/" + so, real);
        } else if (c < 370) {
            t.file("usr/lib/x86_64-linux-gnu/" + r.pick(lib_sub) + "/" + w +
                       (r.chance(0.5) ? ".so" : ".pm"),
                   distro_size(r));
        } else if (c < 500) {  // deep perl modules
            std::string d = "usr/share/perl5/" + r.pick(perl_top);
            if (r.chance(0.7)) d += "/" + r.pick(perl_mid);
            if (r.chance(0.3)) d += "/" + r.pick(perl_mid);
            t.file(d + "/" + w + ".pm", distro_size(r), 0644, true);
        } else if (c < 620) {  // manual pages, some aliases
            const std::string sec = std::to_string(r.pick(std::vector<int>{1, 1, 1, 5, 8}));
            const std::string d = "usr/share/man/man" + sec + "/";
            if (t.file(d + w + "." + sec + ".gz", r.log_uniform(300, 30000)) && r.chance(0.35))
                t.symlink(d + word(r) + "." + sec + ".gz", w + "." + sec + ".gz");
        } else if (c < 720) {
            t.file("usr/share/locale/" + r.pick(langs) + "/LC_MESSAGES/" +
                       (pkgs.empty() ? w : r.pick(pkgs)) + ".mo",
                   r.log_uniform(500, 150000));
        } else if (c < 820) {
            t.file("usr/share/zoneinfo/" + r.pick(regions) + "/" + w, r.log_uniform(100, 3000));
        } else if (c < 900) {
            const std::string sub = r.pick(etc_sub);
            const mode_t mode = sub == "init.d" || sub == "cron.daily" ? 0755 : 0644;
            t.file("etc/" + (sub.empty() ? "" : sub + "/") + w + (r.chance(0.5) ? ".conf" : ""),
                   r.log_uniform(40, 6000), mode, true);
        } else if (c < 950) {
            t.file("usr/include/" + r.pick(perl_top) + "/" + w + ".h", r.log_uniform(200, 30000),
                   0644, true);
        } else {
            const std::string p = pkgs.empty() ? w : r.pick(pkgs);
            t.file("usr/share/" + p + "/" + (r.chance(0.5) ? word(r) + "/" : "") + w + ".dat",
                   distro_size(r));
        }
    }

    // Alternatives: usr/bin/x -> /etc/alternatives/x -> /usr/bin/real.
    std::vector<std::string> bins;
    for (const std::string& p : t.regular)
        if (p.compare(0, 8, "usr/bin/") == 0) bins.push_back(p);
    for (int k = 0; k < target_files / 100 && !bins.empty(); ++k) {
        const std::string alt = word(r) + "-alt";
        if (t.symlink("usr/bin/" + alt, "/etc/alternatives/" + alt))
            t.symlink("etc/alternatives/" + alt, "/" + r.pick(bins));
    }

    // Hard-link sets of two or three names, in the same directory or not.
    for (int s = 0; s < link_sets && !t.regular.empty(); ++s) {
        const std::string src = t.regular[r.below(t.regular.size())];
        const int extra = 1 + int(r.below(2));
        for (int k = 0; k < extra; ++k) {
            std::string dir(parent_of(src));
            if (r.chance(0.3)) dir = r.chance(0.5) ? "usr/sbin" : "usr/share/zoneinfo/posix";
            t.hardlink(dir + "/" + word(r) + "-" + std::to_string(s), src);
        }
    }
    while (t.files < target_files)
        t.file("usr/share/misc/" + word(r) + std::to_string(t.files), 64);
}

void materialize(const SynthTree& t, const std::string& base) {
    std::vector<const std::pair<const std::string, SynthTree::Node>*> dirs, links;
    for (const auto& kv : t.nodes) {
        const std::string path = base + "/" + kv.first;
        const SynthTree::Node& n = kv.second;
        switch (n.type) {
            case 'd':
                make_dir(path, 0700);
                dirs.push_back(&kv);
                break;
            case 'f':
                write_file(path, make_content(n.size, n.seed, n.text), n.mode, n.mtime, n.uid,
                           n.gid);
                break;
            case 'l':
                if (::symlink(n.target.c_str(), path.c_str()) != 0) fail_errno("symlink " + path);
                set_mtime(path, n.mtime);
                break;
            default:
                links.push_back(&kv);
        }
    }
    for (const auto* kv : links) {
        const std::string path = base + "/" + kv->first;
        if (::link((base + "/" + kv->second.target).c_str(), path.c_str()) != 0)
            fail_errno("link " + path);
    }
    for (auto it = dirs.rbegin(); it != dirs.rend(); ++it) {
        const std::string path = base + "/" + (*it)->first;
        const SynthTree::Node& n = (*it)->second;
        if ((n.uid != 0 || n.gid != 0) && ::chown(path.c_str(), n.uid, n.gid) != 0)
            fail_errno("chown " + path);
        if (::chmod(path.c_str(), n.mode) != 0) fail_errno("chmod " + path);
        set_mtime(path, n.mtime);
    }
}

// --- the other trees --------------------------------------------------------

void write_big(const std::string& path, uint64_t bytes) {
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0) fail_errno("create " + path);
    Rng r(kSeed ^ 0xb16);
    std::vector<uint64_t> chunk((1u << 20) / 8);
    try {
        for (uint64_t done = 0; done < bytes;) {
            for (auto& v : chunk)
                v = r.next();
            const size_t n = size_t(std::min<uint64_t>(bytes - done, chunk.size() * 8));
            write_all(fd, reinterpret_cast<const char*>(chunk.data()), n, path);
            done += n;
        }
        const struct timespec ts[2] = {{kFixedTime, 0}, {kFixedTime, 0}};
        if (futimens(fd, ts) != 0) fail_errno("futimens " + path);
    } catch (...) {
        ::close(fd);
        throw;
    }
    if (::close(fd) != 0) fail_errno("close " + path);
}

void write_many(const std::string& dir, int files) {
    make_dir(dir);
    const int ndirs = std::clamp(files / 10, 1, 100);
    Rng r(kSeed ^ 0x3a7);
    for (int d = 0; d < ndirs; ++d) {
        char name[16];
        std::snprintf(name, sizeof name, "/d%03d", d);
        make_dir(dir + name);
    }
    for (int i = 0; i < files; ++i) {
        char name[32];
        std::snprintf(name, sizeof name, "/d%03d/f%05d", i % ndirs, i);
        std::string data;
        fill_random(data, size_t(r.below(4097)), r);
        write_file(dir + name, data, 0644, kFixedTime);
    }
}

void write_repo(const std::string& dir, int files) {
    make_dir(dir);
    Rng r(kSeed ^ 0x4e9);
    const std::vector<std::string> tops = {"src", "src", "src", "lib", "tests", "docs", "tools"};
    const std::vector<std::string> exts = {".c", ".h", ".cpp", ".py", ".rs", ".go", ".md", ".txt"};
    const int modules = std::max(1, files / 60);
    std::set<std::string> made;
    write_file(dir + "/README.md", make_content(2000, r.next(), true), 0644, kFixedTime);
    made.insert("README.md");
    while (int(made.size()) < files) {
        std::string p = r.pick(tops) + "/mod" + std::to_string(r.below(uint64_t(modules)));
        const uint64_t depth = r.below(3);
        for (uint64_t k = 0; k < depth; ++k)
            p += "/sub" + std::to_string(r.below(4));
        p += "/" + word(r) + std::to_string(r.below(100)) + r.pick(exts);
        if (!made.insert(p).second) continue;
        make_dirs(dir + "/" + std::string(parent_of(p)));
        write_file(dir + "/" + p, make_content(r.log_uniform(200, 16000), r.next(), true), 0644,
                   kFixedTime);
    }
    // Fixed dates, so the commit is the same every time; stat checks that
    // survive another mount's inode numbers and ctimes.
    run_shell(
        "git init -q -b main . && git config core.checkStat minimal && "
        "git config core.trustctime false && git config gc.auto 0 && git add -A && "
        "GIT_AUTHOR_DATE='1600000000 +0000' GIT_COMMITTER_DATE='1600000000 +0000' "
        "git -c user.name=bench -c user.email=bench@localhost commit -q -m 'Import'",
        dir);
    const std::string status = capture({"git", "status", "--porcelain"}, dir);
    if (!status.empty())
        throw std::runtime_error("the generated repository " + dir + " is not clean:\n" + status);
}

// One translation unit of the C project: a few functions with loops, a big
// switch and a table, so that gcc -O2 has work to do.
std::string c_unit(int k, Rng& r) {
    std::ostringstream o;
    const std::string u = "u" + std::to_string(k);
    o << "#include \"proj.h\"\n\nstatic const uint32_t " << u << "_tbl[64] = {";
    for (int i = 0; i < 64; ++i)
        o << (i % 8 ? " " : "\n    ") << (r.next() & 0xffffffffu) << "u,";
    o << "\n};\n\n";
    for (int f = 0; f < 3; ++f) {
        o << "static uint64_t " << u << "_hash" << f << "(const unsigned char *p, size_t n) {\n"
          << "    uint64_t h = " << r.next() << "ull;\n"
          << "    for (size_t i = 0; i < n; ++i) {\n"
          << "        switch ((p[i] ^ (unsigned)i) & 31u) {\n";
        for (int c = 0; c < 32; ++c) {
            o << "        case " << c << ": ";
            switch (r.below(5)) {
                case 0:
                    o << "h = (h ^ p[i]) * " << (r.next() | 1) << "ull;";
                    break;
                case 1:
                    o << "h = rotl64(h, " << 1 + r.below(62) << ") + " << u << "_tbl[(h >> "
                      << r.below(58) << ") & 63];";
                    break;
                case 2:
                    o << "h += (h << " << 1 + r.below(20) << ") ^ (h >> " << 1 + r.below(20)
                      << ") ^ p[i];";
                    break;
                case 3:
                    o << "h = h * 31 + " << u << "_tbl[p[i] & 63] * (uint64_t)(i + " << r.below(100)
                      << ");";
                    break;
                default:
                    o << "if (h & " << (1ull << r.below(63)) << "ull) h ^= " << r.next()
                      << "ull; else h -= p[i];";
                    break;
            }
            o << " break;\n";
        }
        o << "        }\n    }\n    return h ^ (h >> 29);\n}\n\n";
    }
    const int dim = 8 + int(r.below(8));
    o << "static void " << u << "_matmul(double *out, const double *a, const double *b) {\n"
      << "    for (int i = 0; i < " << dim << "; ++i)\n"
      << "        for (int j = 0; j < " << dim << "; ++j) {\n"
      << "            double s = 0;\n"
      << "            for (int k = 0; k < " << dim << "; ++k) s += a[i * " << dim
      << " + k] * b[k * " << dim << " + j] * " << 1.0 + double(r.below(1000)) / 1000 << ";\n"
      << "            out[i * " << dim << " + j] = s + " << double(r.below(100)) / 10 << ";\n"
      << "        }\n}\n\n";
    o << "static void " << u << "_sort(int32_t *a, int n) {\n"
      << "    while (n > 16) {\n"
      << "        int32_t pivot = a[n / 2];\n"
      << "        int i = 0, j = n - 1;\n"
      << "        while (i <= j) {\n"
      << "            while (a[i] < pivot) ++i;\n"
      << "            while (a[j] > pivot) --j;\n"
      << "            if (i <= j) { int32_t t = a[i]; a[i] = a[j]; a[j] = t; ++i; --j; }\n"
      << "        }\n"
      << "        if (j + 1 < n - i) { " << u << "_sort(a, j + 1); a += i; n -= i; }\n"
      << "        else { " << u << "_sort(a + i, n - i); n = j + 1; }\n"
      << "    }\n"
      << "    for (int i = 1; i < n; ++i) {\n"
      << "        int32_t v = a[i]; int j = i - 1;\n"
      << "        while (j >= 0 && a[j] > v) { a[j + 1] = a[j]; --j; }\n"
      << "        a[j + 1] = v;\n"
      << "    }\n}\n\n";
    o << "static int " << u << "_parse(const char *s) {\n"
      << "    int state = 0, acc = 0;\n"
      << "    for (; *s; ++s) {\n"
      << "        char c = *s;\n"
      << "        if (state == 0) { if (c >= '0' && c <= '9') { acc = acc * 10 + (c - '0'); state "
         "= 1; } else if (c == '-') state = 2; }\n"
      << "        else if (state == 1) { if (c >= '0' && c <= '9') acc = acc * 10 + (c - '0'); "
         "else state = c == ',' ? 0 : 3; }\n"
      << "        else if (state == 2) { acc -= " << r.below(50) << "; state = 0; }\n"
      << "        else { acc ^= c * " << 1 + r.below(100) << "; state = 0; }\n"
      << "    }\n    return acc;\n}\n\n";
    o << "uint64_t " << u << "_entry(void) {\n"
      << "    unsigned char buf[4096];\n"
      << "    int32_t nums[1000];\n"
      << "    double a[" << dim * dim << "], b[" << dim * dim << "], c[" << dim * dim << "];\n"
      << "    uint64_t x = " << r.next() << "ull;\n"
      << "    for (int i = 0; i < 4096; ++i) { x = x * 6364136223846793005ull + "
         "1442695040888963407ull; buf[i] = (unsigned char)(x >> 56); }\n"
      << "    for (int i = 0; i < 1000; ++i) nums[i] = (int32_t)(buf[i] * 131 + buf[i + 1000]);\n"
      << "    for (int i = 0; i < " << dim * dim
      << "; ++i) { a[i] = buf[i] / 7.0; b[i] = buf[i + 300] / 3.0; }\n"
      << "    " << u << "_sort(nums, 1000);\n"
      << "    " << u << "_matmul(c, a, b);\n"
      << "    uint64_t h = " << u << "_hash0(buf, sizeof buf) ^ " << u << "_hash1(buf + 7, 1000) ^ "
      << u << "_hash2(buf + 99, 2000);\n"
      << "    for (int i = 0; i < 1000; i += 100) h += (uint64_t)nums[i];\n"
      << "    h += (uint64_t)(int64_t)c[" << dim + 1 << "];\n"
      << "    h += (uint64_t)" << u << "_parse(\"12,-7,x99,40\");\n"
      << "    return h;\n}\n";
    return o.str();
}

void write_cproject(const std::string& dir, int units) {
    make_dir(dir);
    Rng r(kSeed ^ 0xc0de);
    std::ostringstream h, m;
    h << "#ifndef PROJ_H\n#define PROJ_H\n#include <stddef.h>\n#include <stdint.h>\n\n"
      << "static inline uint64_t rotl64(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); "
         "}\n\n";
    m << "#include <stdio.h>\n\n#include \"proj.h\"\n\nint main(void) {\n    uint64_t s = 0;\n";
    for (int k = 0; k < units; ++k) {
        h << "uint64_t u" << k << "_entry(void);\n";
        m << "    s += u" << k << "_entry();\n";
        write_file(dir + "/unit" + std::to_string(k) + ".c", c_unit(k, r), 0644, kFixedTime);
    }
    h << "\n#endif\n";
    m << "    printf(\"%llu\\n\", (unsigned long long)s);\n    return 0;\n}\n";
    write_file(dir + "/proj.h", h.str(), 0644, kFixedTime);
    write_file(dir + "/main.c", m.str(), 0644, kFixedTime);
    write_file(dir + "/Makefile",
               "CC ?= cc\n"
               "CFLAGS ?= -O2 -Wall\n"
               "SRCS := $(sort $(wildcard *.c))\n"
               "OBJS := $(SRCS:.c=.o)\n\n"
               "app: $(OBJS)\n\t$(CC) $(CFLAGS) -o $@ $(OBJS)\n\n"
               "%.o: %.c proj.h\n\t$(CC) $(CFLAGS) -c -o $@ $<\n\n"
               "clean:\n\trm -f app $(OBJS)\n\n"
               ".PHONY: clean\n",
               0644, kFixedTime);
}

// Builds a scratch copy of the C project once, so a broken generator fails here.
void check_cproject(const std::string& dir, const std::string& scratch) {
    run_checked({"cp", "-a", dir, scratch});
    try {
        run_shell("make -s -j\"$(nproc)\" && ./app", scratch);
    } catch (...) {
        run_checked({"rm", "-rf", "--", scratch});
        throw;
    }
    run_checked({"rm", "-rf", "--", scratch});
}

// node_modules-like: many small text files in many directories.
void write_untar_tarball(const std::string& path, int files) {
    archive* a = archive_write_new();
    archive_entry* e = archive_entry_new();
    auto check = [&](int rc, const char* what) {
        if (rc != ARCHIVE_OK) {
            const char* why = archive_error_string(a);
            const std::string msg = std::string(what) + " " + path + ": " + (why ? why : "failed");
            archive_entry_free(e);
            archive_write_free(a);
            throw std::runtime_error(msg);
        }
    };
    check(archive_write_set_format_pax_restricted(a), "tar format");
    check(archive_write_open_filename(a, path.c_str()), "open");
    std::set<std::string> dirs;
    auto header = [&](const std::string& name, mode_t type, mode_t perm, int64_t size) {
        archive_entry_clear(e);
        archive_entry_set_pathname(e, name.c_str());
        archive_entry_set_filetype(e, type);
        archive_entry_set_perm(e, perm);
        archive_entry_set_size(e, size);
        archive_entry_set_mtime(e, kFixedTime, 0);
        archive_entry_set_uid(e, 0);
        archive_entry_set_gid(e, 0);
        check(archive_write_header(a, e), "write header");
    };
    auto ensure_dir = [&](std::string_view d, auto&& self) -> void {
        if (d.empty() || dirs.count(std::string(d))) return;
        self(parent_of(d), self);
        dirs.insert(std::string(d));
        header(std::string(d), AE_IFDIR, 0755, 0);
    };
    Rng r(kSeed ^ 0x7a2);
    const std::vector<std::string> fixed = {"package.json", "README.md", "LICENSE", "index.js"};
    const std::vector<std::string> subs = {"",     "",    "lib",   "lib",       "lib",
                                           "dist", "src", "types", "lib/utils", "dist/esm"};
    const std::vector<std::string> exts = {".js", ".js", ".js", ".d.ts", ".json", ".map", ".mjs"};
    auto sub_path = [](const std::string& sub) { return sub.empty() ? sub : sub + "/"; };
    std::string pkg;
    size_t in_pkg = 0, left_in_pkg = 0;
    int written = 0;
    std::set<std::string> names;
    while (written < files) {
        if (left_in_pkg == 0) {
            pkg = "node_modules/" + word(r) + "-" + word(r);
            if (r.chance(0.3)) pkg += "/node_modules/" + word(r);
            if (dirs.count(pkg)) continue;
            in_pkg = 0;
            left_in_pkg = 4 + r.below(40);
        }
        // Every package starts with its package.json, README.md, LICENSE, index.js.
        const std::string name =
            pkg + "/" +
            (in_pkg < fixed.size() ? fixed[in_pkg]
                                   : sub_path(r.pick(subs)) + word(r) + r.pick(exts));
        ++in_pkg;
        --left_in_pkg;
        if (!names.insert(name).second) continue;
        const uint64_t size =
            r.chance(0.01) ? r.log_uniform(20000, 300000) : r.log_uniform(100, 8192);
        const std::string data = make_content(size, r.next(), true);
        ensure_dir(parent_of(name), ensure_dir);
        header(name, AE_IFREG, 0644, int64_t(data.size()));
        if (archive_write_data(a, data.data(), data.size()) != la_ssize_t(data.size()))
            check(ARCHIVE_FATAL, "write data");
        ++written;
    }
    archive_entry_free(e);
    check(archive_write_close(a), "close");
    archive_write_free(a);
}

// --- walking the merged tree -----------------------------------------------

struct Counts {
    uint64_t files = 0, dirs = 0, symlinks = 0, hardlinked = 0, bytes = 0;
};

void walk(const std::string& base, const std::string& rel, std::vector<PlanEntry>& out,
          Counts& counts, std::map<std::pair<dev_t, ino_t>, int>& groups) {
    const std::string dir = rel.empty() ? base : base + "/" + rel;
    DIR* d = ::opendir(dir.c_str());
    if (!d) fail_errno("opendir " + dir);
    std::vector<std::string> names;
    while (dirent* de = ::readdir(d)) {
        const std::string_view n = de->d_name;
        if (n != "." && n != "..") names.emplace_back(n);
    }
    ::closedir(d);
    std::sort(names.begin(), names.end());
    for (const std::string& name : names) {
        const std::string path = rel.empty() ? name : rel + "/" + name;
        struct stat st;
        if (::lstat((base + "/" + path).c_str(), &st) != 0) fail_errno("lstat " + path);
        PlanEntry e;
        e.path = path;
        if (S_ISDIR(st.st_mode)) {
            e.kind = EntryKind::kDir;
            ++counts.dirs;
        } else if (S_ISREG(st.st_mode)) {
            e.kind = EntryKind::kFile;
            ++counts.files;
            counts.bytes += uint64_t(st.st_size);
            if (st.st_nlink > 1) {
                ++counts.hardlinked;
                auto it = groups.emplace(std::make_pair(st.st_dev, st.st_ino), int(groups.size()));
                e.link_group = it.first->second;
            }
        } else if (S_ISLNK(st.st_mode)) {
            e.kind = EntryKind::kSymlink;
            ++counts.symlinks;
        } else {
            e.kind = EntryKind::kOther;
        }
        out.push_back(e);
        if (e.kind == EntryKind::kDir) walk(base, path, out, counts, groups);
    }
}

// --- layers ------------------------------------------------------------------

// Depth-first order: a directory's whole subtree comes right after it ("a",
// "a/b", "a-b", not "a", "a-b", "a/b"), so tar, which sets a directory's times
// once it has left it, never comes back to write into it.
bool tree_less(const std::string& a, const std::string& b) {
    const size_t n = std::min(a.size(), b.size());
    for (size_t i = 0; i < n; ++i) {
        if (a[i] == b[i]) continue;
        if (a[i] == '/') return true;
        if (b[i] == '/') return false;
        return static_cast<unsigned char>(a[i]) < static_cast<unsigned char>(b[i]);
    }
    return a.size() < b.size();
}

void copy_times(const std::string& from, const std::string& to) {
    struct stat st;
    if (::lstat(from.c_str(), &st) != 0) fail_errno("lstat " + from);
    const struct timespec ts[2] = {st.st_atim, st.st_mtim};
    if (utimensat(AT_FDCWD, to.c_str(), ts, AT_SYMLINK_NOFOLLOW) != 0)
        fail_errno("utimensat " + to);
}

void build_layers(const std::string& merged, const std::vector<std::string>& layer_dirs,
                  const std::vector<PlanEntry>& entries, const LayerPlan& plan,
                  const std::string& scratch) {
    for (int l = 0; l < kLayers; ++l) {
        make_dir(layer_dirs[size_t(l)]);
        // "." first carries the root's owner, mode and times; path order puts
        // every directory before what is in it.
        std::string list(".\0", 2);
        std::vector<size_t> order;
        for (size_t i = 0; i < entries.size(); ++i)
            if (plan.layers[i] & (1u << l)) order.push_back(i);
        std::sort(order.begin(), order.end(),
                  [&](size_t a, size_t b) { return tree_less(entries[a].path, entries[b].path); });
        for (size_t i : order) {
            list += entries[i].path;
            list.push_back('\0');
        }
        const std::string list_path = scratch + "/layer" + std::to_string(l) + ".list";
        ::unlink(list_path.c_str());
        write_file(list_path, list, 0644, kFixedTime);
        run_checked(
            {"bash", "-o", "pipefail", "-c",
             "tar -C " + shell_quote(merged) + " --no-recursion --null --verbatim-files-from -T " +
                 shell_quote(list_path) +
                 " --format=posix --xattrs --xattrs-include='*' --numeric-owner -cf - | tar -C " +
                 shell_quote(layer_dirs[size_t(l)]) +
                 " --xattrs --xattrs-include='*' --numeric-owner --same-owner -xpf -"});
        ::unlink(list_path.c_str());
    }

    std::set<std::pair<int, std::string>> touched;  // real directories that extras changed
    std::set<std::string> real;
    for (const PlanEntry& e : entries)
        real.insert(e.path);
    for (const LayerExtra& x : plan.extras) {
        const std::string path = layer_dirs[size_t(x.layer)] + "/" + x.path;
        switch (x.kind) {
            case LayerExtra::kJunkDir:
                if (::mkdir(path.c_str(), 0755) != 0) fail_errno("mkdir " + path);
                break;
            case LayerExtra::kJunkFile:
                write_file(path, "junk below an opaque directory or whited out: " + x.path + "\n",
                           0644, kFixedTime);
                break;
            case LayerExtra::kWhiteout:
                if (::mknod(path.c_str(), S_IFCHR | 0, makedev(0, 0)) != 0)
                    fail_errno("mknod " + path);
                break;
        }
        const std::string parent(parent_of(x.path));
        if (parent.empty() || real.count(parent)) touched.insert({x.layer, parent});
    }
    for (const std::string& d : plan.opaque_dirs) {
        const std::string path = layer_dirs[kTop] + "/" + d;
        if (::setxattr(path.c_str(), "trusted.overlay.opaque", "y", 1, 0) != 0)
            fail_errno("setxattr trusted.overlay.opaque " + path);
    }
    // Creating junk changed its directories' times: put back merged/'s.
    for (const auto& [layer, dir] : touched)
        copy_times(dir.empty() ? merged : merged + "/" + dir,
                   dir.empty() ? layer_dirs[size_t(layer)] : layer_dirs[size_t(layer)] + "/" + dir);
}

// Mounts the layers with kernel overlayfs and compares the mount with merged/.
void verify_layers(const std::string& merged, const std::vector<std::string>& lowers,
                   const std::string& mnt) {
    make_dir(mnt);
    std::string lowerdir;
    for (const std::string& l : lowers)
        lowerdir += (lowerdir.empty() ? "" : ":") + l;
    run_checked({"mount", "-t", "overlay", "overlay", "-o", "ro,lowerdir=" + lowerdir, mnt});
    struct Unmount {
        std::string mnt;
        ~Unmount() {
            if (::umount2(mnt.c_str(), 0) != 0) ::umount2(mnt.c_str(), MNT_DETACH);
            ::rmdir(mnt.c_str());
        }
    } unmount{mnt};
    // Type, mode, owner, times, size, links and symlink target of everything;
    // device numbers; the contents of regular files but big/'s. (Not `diff -r`:
    // it calls two equal devices on different file systems different.)
    const std::string script =
        "set -eo pipefail\n"
        "cd \"$1\"\n"
        "{\n"
        "  find . -type d -printf '%y %m %U %G %T@ %p\\n'\n"
        "  find . ! -type d -printf '%y %m %U %G %T@ %s %n %p -> %l\\n'\n"
        "  find . \\( -type c -o -type b \\) -exec stat -c 'device %t:%T %n' {} +\n"
        "} | LC_ALL=C sort\n"
        "find . -type f ! -path './" +
        std::string(top_of(kBigFile)) + "/*' -print0 | LC_ALL=C sort -z | xargs -0 -r xxhsum\n";
    const std::string want = capture({"bash", "-c", script, "list", merged});
    const std::string got = capture({"bash", "-c", script, "list", mnt});
    if (want == got) return;
    auto lines = [](const std::string& s) {
        std::multiset<std::string> out;
        std::istringstream in(s);
        for (std::string l; std::getline(in, l);)
            out.insert(l);
        return out;
    };
    const auto a = lines(want), b = lines(got);
    std::vector<std::string> only_a, only_b;
    std::set_difference(a.begin(), a.end(), b.begin(), b.end(), std::back_inserter(only_a));
    std::set_difference(b.begin(), b.end(), a.begin(), a.end(), std::back_inserter(only_b));
    std::string msg = "the layers through kernel overlayfs differ from " + merged + ":";
    for (size_t i = 0; i < only_a.size() && i < 20; ++i)
        msg += "\n  merged only:  " + only_a[i];
    for (size_t i = 0; i < only_b.size() && i < 20; ++i)
        msg += "\n  overlay only: " + only_b[i];
    throw std::runtime_error(msg);
}

// --- source, stamp, cleaning ----------------------------------------------

struct Source {
    std::string kind;     // "debian" or "synthetic"
    std::string tarball;  // for debian
    std::string key;      // what the cached data was built from
    std::string description;
};

Source resolve_source(const DataSpec& spec, const std::string& repo_dir, const std::string& root) {
    if (spec.source != "debian" && spec.source != "synthetic" && spec.source != "auto")
        throw std::runtime_error("unknown data source '" + spec.source +
                                 "' (debian, synthetic or auto)");
    Source s;
    if (spec.source != "synthetic") {
        const std::string err = root + "/.debian_rootfs.err";
        const std::string script = repo_dir + "/tests/runtime/debian_rootfs.sh";
        const std::string path =
            capture({"bash", "-c", "bash " + shell_quote(script) + " 2>" + shell_quote(err)});
        std::string why = read_text(err);
        ::unlink(err.c_str());
        while (!why.empty() && why.back() == '\n')
            why.pop_back();
        if (!path.empty()) {
            struct stat st;
            if (::stat(path.c_str(), &st) != 0) fail_errno("stat " + path);
            s.kind = "debian";
            s.tarball = path;
            s.key = "debian:" + path + ":" + std::to_string(st.st_size) + ":" +
                    std::to_string(st.st_mtim.tv_sec);
            s.description =
                "Debian bookworm minbase (debootstrap), var/cache/apt/archives/*.deb left out";
            return s;
        }
        if (spec.source == "debian")
            throw std::runtime_error("no Debian rootfs: " +
                                     (why.empty() ? script + " printed nothing" : why));
        std::fprintf(stderr, "bench data: no Debian rootfs (%s), using a synthetic one\n",
                     why.c_str());
    }
    s.kind = "synthetic";
    s.key = "synthetic:" + std::to_string(kSeed) + ":" + std::to_string(spec.synthetic_files);
    s.description = "synthetic, seed " + std::to_string(kSeed);
    return s;
}

nlohmann::json spec_json(const DataSpec& s) {
    return {{"source", s.source},         {"synthetic_files", s.synthetic_files},
            {"big_bytes", s.big_bytes},   {"untar_files", s.untar_files},
            {"many_files", s.many_files}, {"repo_files", s.repo_files},
            {"c_files", s.c_files}};
}

DataSet layout(const std::string& root) {
    DataSet d;
    d.root = root;
    d.merged = root + "/merged";
    for (int l = kLayers - 1; l >= 0; --l)
        d.lowers.push_back(root + "/layers/" + std::to_string(l));
    d.untar_tarball = root + "/untar.tar";
    return d;
}

bool load_stamp(const std::string& root, const nlohmann::json& spec, const std::string& key,
                DataSet& out) {
    const std::string path = root + "/" + kStamp;
    if (::access(path.c_str(), R_OK) != 0) return false;
    try {
        const auto j = nlohmann::json::parse(read_text(path));
        if (j.at("format") != kFormat || j.at("spec") != spec || j.at("source_key") != key)
            return false;
        DataSet d = layout(root);
        for (const std::string& p : std::vector<std::string>{d.merged, d.untar_tarball})
            if (::access(p.c_str(), F_OK) != 0) return false;
        for (const std::string& p : d.lowers)
            if (::access(p.c_str(), F_OK) != 0) return false;
        const auto& c = j.at("counts");
        d.source = j.at("source");
        d.files = c.at("files");
        d.dirs = c.at("dirs");
        d.symlinks = c.at("symlinks");
        d.hardlinked = c.at("hardlinked");
        d.bytes = c.at("bytes");
        d.whiteouts = c.at("whiteouts");
        d.opaque_dirs = c.at("opaque_dirs");
        out = d;
        return true;
    } catch (const nlohmann::json::exception&) {
        return false;
    }
}

std::string unescape_mount_path(const std::string& s) {
    std::string out;
    for (size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '\\' && i + 3 < s.size() &&
            std::isdigit(static_cast<unsigned char>(s[i + 1]))) {
            out += char(std::stoi(s.substr(i + 1, 3), nullptr, 8));
            i += 3;
        } else {
            out += s[i];
        }
    }
    return out;
}

// Empties `root`: first whatever an interrupted run left mounted below it,
// then every entry, never leaving the file system or following a symlink.
void clean_root(const std::string& root) {
    std::vector<std::string> mounts;
    std::istringstream in(read_text("/proc/self/mounts"));
    for (std::string line; std::getline(in, line);) {
        std::istringstream f(line);
        std::string dev, dir;
        f >> dev >> dir;
        dir = unescape_mount_path(dir);
        if (dir.compare(0, root.size() + 1, root + "/") == 0) mounts.push_back(dir);
    }
    std::sort(mounts.rbegin(), mounts.rend());
    for (const std::string& m : mounts)
        if (::umount2(m.c_str(), MNT_DETACH) != 0) fail_errno("umount " + m);
    // The stamp first: an interrupted clean must not leave a stamp over half a tree.
    const std::string stamp = root + "/" + kStamp;
    if (::unlink(stamp.c_str()) != 0 && errno != ENOENT) fail_errno("unlink " + stamp);
    std::vector<std::string> argv = {"rm", "-rf", "--one-file-system", "--"};
    for (const auto& e : std::filesystem::directory_iterator(root))
        argv.push_back(e.path());
    if (argv.size() > 4) run_checked(argv);
}

}  // namespace

DataSet prepare_data(const DataSpec& spec, const std::string& root_arg,
                     const std::string& repo_dir) {
    if (root_arg.empty()) throw std::runtime_error("prepare_data: empty data directory");
    if (::geteuid() != 0)
        throw std::runtime_error(
            "prepare_data needs root (owners, whiteout devices, trusted.* xattrs, an overlay "
            "mount)");
    const std::string root = std::filesystem::absolute(root_arg).lexically_normal().string();
    if (root == "/" || root.find_first_of(":,") != std::string::npos)
        throw std::runtime_error("prepare_data: unusable data directory '" + root +
                                 "' (not /, no ':' or ',' for overlay options)");
    if (spec.synthetic_files < 1 || spec.untar_files < 1 || spec.many_files < 1 ||
        spec.repo_files < 1 || spec.c_files < 1)
        throw std::runtime_error("prepare_data: every count in the data spec must be at least 1");
    make_dirs(root);
    // One builder at a time per data directory; the lock goes with the fd.
    struct Lock {
        int fd;
        ~Lock() { ::close(fd); }
    } lock{::open(root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC)};
    if (lock.fd < 0) fail_errno("open " + root);
    if (::flock(lock.fd, LOCK_EX) != 0) fail_errno("flock " + root);

    const Source source = resolve_source(spec, repo_dir, root);
    const nlohmann::json sj = spec_json(spec);
    DataSet data;
    if (load_stamp(root, sj, source.key, data)) return data;

    const auto t0 = Clock::now();
    std::fprintf(stderr, "bench data: building in %s (%s)\n", root.c_str(),
                 source.description.c_str());
    clean_root(root);
    data = layout(root);
    data.source = source.description;
    const std::string& merged = data.merged;
    make_dir(merged);
    const std::string rootfs = merged + "/" + kRootfs;
    make_dir(rootfs);
    if (source.kind == "debian") {
        Step step("extract the Debian rootfs");
        run_checked({"tar", "-C", rootfs, "--numeric-owner", "--same-owner", "--xattrs",
                     "--xattrs-include=*", "-xpf", source.tarball,
                     "--exclude=./var/cache/apt/archives/*.deb"});
        const std::string left =
            capture({"find", rootfs + "/var/cache/apt/archives", "-name", "*.deb"});
        if (!left.empty()) throw std::runtime_error("*.deb files left in the rootfs:\n" + left);
    } else {
        Step step("generate the synthetic rootfs");
        SynthTree tree(kSeed);
        generate_rootfs(tree, spec.synthetic_files);
        materialize(tree, rootfs);
    }
    {
        Step step("write big/big.bin");
        make_dir(merged + "/" + std::string(parent_of(kBigFile)));
        write_big(merged + "/" + kBigFile, spec.big_bytes);
    }
    {
        Step step("write many/");
        write_many(merged + "/" + kMany, spec.many_files);
    }
    {
        Step step("write and commit repo/");
        write_repo(merged + "/" + kRepo, spec.repo_files);
    }
    {
        Step step("write and check cproj/");
        write_cproject(merged + "/" + kCProject, spec.c_files);
        check_cproject(merged + "/" + kCProject, root + "/.cproj-check");
    }
    {
        Step step("write untar.tar");
        const std::string tmp = data.untar_tarball + ".tmp";
        write_untar_tarball(tmp, spec.untar_files);
        if (::rename(tmp.c_str(), data.untar_tarball.c_str()) != 0) fail_errno("rename " + tmp);
    }

    std::vector<PlanEntry> entries;
    Counts counts;
    std::map<std::pair<dev_t, ino_t>, int> groups;
    walk(merged, "", entries, counts, groups);
    const LayerPlan plan = plan_layers(entries);
    {
        Step step("split into layers");
        make_dir(root + "/layers");
        std::vector<std::string> bottom_first(data.lowers.rbegin(), data.lowers.rend());
        build_layers(merged, bottom_first, entries, plan, root);
    }
    {
        Step step("check the layers through kernel overlayfs");
        verify_layers(merged, data.lowers, root + "/.verify");
    }
    data.files = counts.files;
    data.dirs = counts.dirs;
    data.symlinks = counts.symlinks;
    data.hardlinked = counts.hardlinked;
    data.bytes = counts.bytes;
    data.whiteouts = plan.whiteouts;
    data.opaque_dirs = plan.opaque_dirs.size();
    {
        Step step("sync");
        ::sync();
    }

    const nlohmann::json stamp = {{"format", kFormat},
                                  {"spec", sj},
                                  {"source_key", source.key},
                                  {"source", data.source},
                                  {"counts",
                                   {{"files", data.files},
                                    {"dirs", data.dirs},
                                    {"symlinks", data.symlinks},
                                    {"hardlinked", data.hardlinked},
                                    {"bytes", data.bytes},
                                    {"whiteouts", data.whiteouts},
                                    {"opaque_dirs", data.opaque_dirs}}}};
    write_text_atomically(root + "/" + kStamp, stamp.dump(2) + "\n");
    std::fprintf(stderr, "bench data: built in %.1fs\n",
                 std::chrono::duration<double>(Clock::now() - t0).count());
    return data;
}

}  // namespace layerfs::bench
