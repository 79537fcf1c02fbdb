#include "bench/dataset.hpp"

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
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "bench/files.hpp"
#include "bench/layer_plan.hpp"
#include "bench/process.hpp"
#include "bench/rel_path.hpp"
#include "bench/synthetic.hpp"
#include "fs/sys/fd.hpp"

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

namespace {

// Bump whenever what is built changes (here, in bench/synthetic.cpp or in
// bench/layer_plan.cpp): cached data is rebuilt.
constexpr int kFormat = 1;
const char* const kStamp = ".complete";

using Clock = std::chrono::steady_clock;

std::string read_text(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
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
        const std::string path = layer_dirs[kLayers - 1] + "/" + d;
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
    Fd lock(::open(root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!lock) fail_errno("open " + root);
    if (::flock(lock.get(), LOCK_EX) != 0) fail_errno("flock " + root);

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
        write_synthetic_rootfs(rootfs, spec.synthetic_files);
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
