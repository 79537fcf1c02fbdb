// Concurrency stress: writers and readers at once on one layerfs mount. Each
// writer owns a subtree (lower dirs and files included, so copy-ups, whiteouts
// and renames over lower entries happen), so the final tree does not depend on
// how the threads interleave: the writers' op lists replayed one after the other
// on kernel overlayfs must give the same result for every op and the same tree.
// Readers roam everywhere and must never see an I/O error, a dead mount or a
// file that is not whole. The daemon must survive with bounded memory.
//
// LAYERFS_STRESS_SEED and LAYERFS_STRESS_OPS (per writer and round) override
// the defaults, which are printed; LAYERFS_STRESS_TRACE=FILE writes every op and
// its result there. scripts/tsan.sh runs these tests under ThreadSanitizer.
#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <sys/xattr.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <mutex>
#include <random>
#include <set>
#include <thread>

#include "tests/mount/mount_helpers.hpp"

using namespace layerfs::test;

namespace {

constexpr int kWriters = 4, kReaders = 4;

unsigned env_or(const char* name, unsigned fallback) {
    const char* v = std::getenv(name);
    return v && *v ? unsigned(std::strtoul(v, nullptr, 0)) : fallback;
}

// Self-checking contents: a header with a seed and a length, then bytes that
// follow from the seed. Contents only ever change by renaming a finished file
// over a name, or by writing back the same bytes: a reader may see any
// version of a name, but each version whole.
std::string blob(uint64_t seed, size_t len) {
    std::string s = "stress " + std::to_string(seed) + " " + std::to_string(len) + "\n";
    uint64_t x = seed * 0x9e3779b97f4a7c15ull + 1;
    for (size_t i = 0; i < len; ++i) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        s += char('a' + x % 26);
    }
    return s;
}

// Empty when `data` is a whole blob, else what is wrong with it.
std::string check_blob(const std::string& data) {
    unsigned long long seed = 0;
    size_t len = 0;
    if (std::sscanf(data.c_str(), "stress %llu %zu\n", &seed, &len) != 2)
        return "no header in " + std::to_string(data.size()) + " bytes: " + data.substr(0, 40);
    if (len > (1u << 20)) return "bad length in header";
    std::string want = blob(seed, len);
    if (data.size() != want.size()) return "size " + std::to_string(data.size()) + ", not that";
    return data == want ? "" : "bytes differ from their header's";
}

// A whole file read through fd, or written to it; errno on failure.
int read_all(int fd, std::string& out) {
    char buf[65536];
    for (ssize_t n; (n = ::read(fd, buf, sizeof buf)) != 0; out.append(buf, size_t(n)))
        if (n < 0) return errno;
    return 0;
}

int write_all(int fd, const std::string& data) {
    for (size_t done = 0; done < data.size();) {
        ssize_t n = ::pwrite(fd, data.data() + done, data.size() - done, off_t(done));
        if (n < 0) return errno;
        done += size_t(n);
    }
    return 0;
}

// Writer w's part of the namespace: dirs that exist in the lowers or not, and
// names that hit files, dirs, links and whiteouts in them.
std::vector<std::string> writer_dirs(int w) {
    std::string r = "w" + std::to_string(w);
    return {r, r + "/d0", r + "/d1", r + "/d0/s", r + "/d1/o", r + "/n"};
}
const std::vector<std::string> kNames = {"f0", "f1", "f2", "f3", "h", "l",
                                         "x",  "s",  "o",  "n",  "d0"};

// Three lowers in the kernel's formats (whiteout devices, trusted.* opaque
// markers), top first: for each writer a subtree, and a tree nobody writes.
void build_layers(const Stack& s) {
    const std::string t = s.lower(0), m = s.lower(1), b = s.lower(2);
    uint64_t seed = 1;
    auto file = [&](const std::string& path, size_t len) { write_file(path, blob(seed++, len)); };
    for (int w = 0; w < kWriters; ++w) {
        const std::string r = "/w" + std::to_string(w);
        for (auto f : {"/d0/f0", "/d0/f1", "/d0/f2", "/d0/f3", "/d0/s/f0", "/d1/f0", "/d1/f1",
                       "/d1/o/f0", "/f0"})
            file(b + r + f, 100 + seed * 37 % 3000);
        file(b + r + "/d0/s/big", 200000);
        REQUIRE(::link((b + r + "/d0/f3").c_str(), (b + r + "/d1/h").c_str()) == 0);
        REQUIRE(::link((b + r + "/d0/f3").c_str(), (b + r + "/d0/h").c_str()) == 0);
        make_symlink("f0", b + r + "/d0/l");
        set_xattr(b + r + "/d0/f1", "user.a", "vlower");
        set_xattr(b + r + "/d1", "user.a", "vlower");
        file(m + r + "/d0/f1", 500);
        file(m + r + "/d0/x", 700);
        whiteout_device(m + r + "/d0/f2");
        file(m + r + "/d1/f2", 900);
        make_dir(m + r + "/d0/s/n");
        make_dir(t + r + "/d1/o");
        set_xattr(t + r + "/d1/o", "trusted.overlay.opaque", "y");
        file(t + r + "/d1/o/f1", 300);
        whiteout_device(t + r + "/f0");
        file(t + r + "/d1/f3", 1000);
    }
    for (int i = 0; i < 20; ++i)
        file(b + "/ro/d" + std::to_string(i % 4) + "/f" + std::to_string(i), 50 + i * 211);
    file(t + "/ro/d0/f0", 10);
    whiteout_device(t + "/ro/d1/f1");
    make_symlink("d0/f0", b + "/ro/link");
}

enum Kind { Create, Replace, Rewrite, Unlink, Mkdir, Rmdir, Rename, Link, Xattr, Symlink, Chmod };
const char* const kKindNames[] = {"create", "replace", "rewrite",  "unlink",  "mkdir", "rmdir",
                                  "rename", "link",    "setxattr", "symlink", "chmod"};

struct Op {
    Kind kind;
    std::string a, b;  // paths relative to the mount
    uint64_t seed = 0;
    size_t len = 0;
    int result = -1;  // errno on layerfs, 0 for success
};

std::string describe(const Op& op) {
    std::string s = std::string(kKindNames[int(op.kind)]) + " " + op.a;
    if (!op.b.empty()) s += " " + op.b;
    return s;
}

std::vector<Op> plan(int w, uint64_t seed, unsigned count) {
    std::mt19937_64 rng(seed * 131 + unsigned(w));
    const auto dirs = writer_dirs(w);
    auto path = [&] { return dirs[rng() % dirs.size()] + "/" + kNames[rng() % kNames.size()]; };
    std::vector<Op> ops(count);
    for (auto& op : ops) {
        // Replacing and creating files comes most often, as in a container.
        static const Kind weights[] = {Kind::Create,  Kind::Create,  Kind::Replace, Kind::Replace,
                                       Kind::Rewrite, Kind::Unlink,  Kind::Unlink,  Kind::Mkdir,
                                       Kind::Rmdir,   Kind::Rename,  Kind::Rename,  Kind::Link,
                                       Kind::Xattr,   Kind::Symlink, Kind::Chmod};
        op.kind = weights[rng() % std::size(weights)];
        op.a = path();
        if (op.kind == Kind::Rename || op.kind == Kind::Link) op.b = path();
        op.seed = rng();
        op.len = rng() % 16 == 0 ? 70000 + rng() % 70000 : rng() % 6000;
    }
    return ops;
}

// Carries out op under root as writer w; returns its errno. `torn` gets what
// was wrong with a file the op read.
int apply(const std::string& root, int w, const Op& op, std::string& torn) {
    const std::string a = root + "/" + op.a, b = root + "/" + op.b;
    const std::string tmp = root + "/w" + std::to_string(w) + "/.tmp";
    auto staged = [&]() -> int {
        int fd = ::open(tmp.c_str(), O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0644);
        if (fd < 0) return errno;
        int e = write_all(fd, blob(op.seed, op.len));
        if (::close(fd) < 0 && !e) e = errno;
        return e;
    };
    switch (op.kind) {
        case Kind::Create:
        case Kind::Replace: {
            if (int e = staged()) return 1000 + e;  // never expected: shows as a mismatch
            unsigned flags = op.kind == Kind::Create ? RENAME_NOREPLACE : 0;
            int e = err_of(
                int(::syscall(SYS_renameat2, AT_FDCWD, tmp.c_str(), AT_FDCWD, a.c_str(), flags)));
            if (e) ::unlink(tmp.c_str());
            return e;
        }
        case Kind::Rewrite: {
            // The same bytes written back: a copy-up with data and a write, while
            // what any reader sees stays whole.
            int fd = ::open(a.c_str(), O_RDWR | O_NOFOLLOW | O_CLOEXEC);
            if (fd < 0) return errno;
            std::string data;
            int e = read_all(fd, data);
            if (!e) {
                torn = check_blob(data);
                e = write_all(fd, data);
            }
            if (::close(fd) < 0 && !e) e = errno;
            return e;
        }
        case Kind::Unlink:
            return err_of(::unlink(a.c_str()));
        case Kind::Mkdir:
            return err_of(::mkdir(a.c_str(), 0755));
        case Kind::Rmdir:
            return err_of(::rmdir(a.c_str()));
        case Kind::Rename:
            return err_of(::rename(a.c_str(), b.c_str()));
        case Kind::Link:
            return err_of(::link(a.c_str(), b.c_str()));
        case Kind::Xattr: {
            const std::string name = "user.s" + std::to_string(op.seed % 3);
            const std::string value = "v" + std::to_string(op.seed);
            return err_of(::lsetxattr(a.c_str(), name.c_str(), value.data(), value.size(), 0));
        }
        case Kind::Symlink:
            return err_of(::symlink(kNames[op.seed % kNames.size()].c_str(), a.c_str()));
        case Kind::Chmod:
            return err_of(::chmod(a.c_str(), op.seed % 2 ? 0700 : 0644));
    }
    return -1;
}

// What readers saw that they must not have, and how much they did.
struct ReaderLog {
    std::mutex m;
    std::vector<std::string> failures;
    std::atomic<long> reads{0}, whole_files{0};
    void fail(const std::string& what) {
        std::lock_guard g(m);
        if (failures.size() < 20) failures.push_back(what);
    }
};

// Errors a reader may get when a writer moved things under it.
bool benign(int e) {
    return e == ENOENT || e == ENOTDIR || e == ENODATA || e == ELOOP || e == EINVAL;
}

void reader(const std::string& root, const std::vector<std::string>& paths, uint64_t seed,
            const std::atomic<bool>& stop, ReaderLog& log) {
    std::mt19937_64 rng(seed);
    auto check = [&](const char* what, const std::string& p, int e) {
        if (e && !benign(e)) log.fail(std::string(what) + " " + p + ": " + std::strerror(e));
    };
    std::vector<char> buf(65536);
    while (!stop.load(std::memory_order_relaxed)) {
        const std::string& rel = paths[rng() % paths.size()];
        const std::string p = root + "/" + rel;
        log.reads.fetch_add(1, std::memory_order_relaxed);
        switch (rng() % 5) {
            case 0: {
                struct stat st;
                check("lstat", rel, err_of(::lstat(p.c_str(), &st)));
                break;
            }
            case 1: {
                int fd = ::open(p.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
                if (fd < 0) {
                    check("open", rel, errno);
                    break;
                }
                struct stat st;
                std::string data;
                int e = ::fstat(fd, &st) < 0 ? errno : 0;
                if (!e && S_ISREG(st.st_mode)) e = read_all(fd, data);
                ::close(fd);
                check("read", rel, e);
                // A staging file is written while it has its name: not whole yet.
                if (!e && S_ISREG(st.st_mode) && rel.find(".tmp") == std::string::npos) {
                    if (auto why = check_blob(data); !why.empty())
                        log.fail("torn file " + rel + ": " + why);
                    else
                        log.whole_files.fetch_add(1, std::memory_order_relaxed);
                }
                break;
            }
            case 2: {
                DIR* d = ::opendir(p.c_str());
                if (!d) {
                    check("opendir", rel, errno);
                    break;
                }
                std::set<std::string> seen;
                errno = 0;
                while (dirent* de = ::readdir(d)) {
                    std::string n = de->d_name;
                    if (!seen.insert(n).second) log.fail("readdir " + rel + ": twice " + n);
                    if (n.rfind(".wh.", 0) == 0) log.fail("readdir " + rel + ": shows " + n);
                }
                check("readdir", rel, errno);
                ::closedir(d);
                break;
            }
            case 3: {
                ssize_t n = ::lgetxattr(p.c_str(), rng() % 2 ? "user.a" : "user.s0", buf.data(),
                                        buf.size());
                if (n < 0)
                    check("getxattr", rel, errno);
                else if (n == 0 || buf[0] != 'v')
                    log.fail("getxattr " + rel + ": value " + std::string(buf.data(), size_t(n)));
                break;
            }
            case 4: {
                ssize_t n = ::llistxattr(p.c_str(), buf.data(), buf.size());
                if (n < 0) check("listxattr", rel, errno);
                n = ::readlink(p.c_str(), buf.data(), buf.size());
                if (n < 0) check("readlink", rel, errno);
                break;
            }
        }
    }
}

long rss_kb(pid_t pid) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/status");
    std::string line;
    while (std::getline(in, line))
        if (line.rfind("VmRSS:", 0) == 0) return std::atol(line.c_str() + 6);
    return -1;
}

// A tree with each entry's xattrs, which snapshot() leaves out.
std::map<std::string, std::string> tree_of(const std::string& root, TreeOptions o = {}) {
    auto t = snapshot(root, o);
    for (auto& [rel, line] : t)
        line += xattrs_of(root + rel);
    return t;
}

// Every name readers look at: all writers' and the read-only tree's.
std::vector<std::string> reader_paths() {
    std::vector<std::string> out = {"ro", "ro/link", "ro/d0", "ro/d1", "ro/d0/f0", "ro/d1/f1"};
    for (int i = 0; i < 20; ++i)
        out.push_back("ro/d" + std::to_string(i % 4) + "/f" + std::to_string(i));
    for (int w = 0; w < kWriters; ++w) {
        out.push_back("w" + std::to_string(w) + "/.tmp");
        for (auto& d : writer_dirs(w)) {
            out.push_back(d);
            for (auto& n : kNames)
                out.push_back(d + "/" + n);
        }
    }
    return out;
}

// One round of the workload on mnt: each writer's next `nops` ops, appended to
// its list with their results, while the readers run.
void run_round(const std::string& mnt, const std::vector<std::string>& paths, uint64_t seed,
               unsigned nops, std::vector<std::vector<Op>>& ops, ReaderLog& log) {
    std::atomic<bool> stop{false};
    std::vector<std::thread> readers, writers;
    for (int r = 0; r < kReaders; ++r)
        readers.emplace_back(reader, std::cref(mnt), std::cref(paths), seed * 7 + unsigned(r),
                             std::cref(stop), std::ref(log));
    for (int w = 0; w < kWriters; ++w) {
        auto& list = ops[size_t(w)];
        const size_t from = list.size();
        for (auto& op : plan(w, seed, nops))
            list.push_back(std::move(op));
        writers.emplace_back([&mnt, &list, &log, w, from] {
            for (size_t i = from; i < list.size(); ++i) {
                std::string torn;
                list[i].result = apply(mnt, w, list[i], torn);
                if (!torn.empty()) log.fail("writer read " + describe(list[i]) + ": " + torn);
            }
        });
    }
    for (auto& t : writers)
        t.join();
    stop = true;
    for (auto& t : readers)
        t.join();
}

// How many ops worked, for the log; with LAYERFS_STRESS_TRACE=FILE every op and
// its result, to replay or minimise a failure by hand.
void report(const std::vector<std::vector<Op>>& ops) {
    const char* path = std::getenv("LAYERFS_STRESS_TRACE");
    FILE* trace = path ? std::fopen(path, "w") : nullptr;
    size_t all = 0, ok = 0;
    for (auto& list : ops)
        for (auto& op : list) {
            ++all, ok += op.result == 0;
            if (trace)
                std::fprintf(trace, "%s = %s\n", describe(op).c_str(),
                             op.result ? strerrorname_np(op.result) : "ok");
        }
    if (trace) std::fclose(trace);
    std::printf("stress: %zu of %zu ops worked\n", ok, all);
}

}  // namespace

TEST_CASE(
    "4 writers and 4 readers at once: the results and tree of kernel overlayfs, "
    "the daemon alive and bounded",
    "[stress]") {
    const unsigned seed = env_or("LAYERFS_STRESS_SEED", 20250601);
    const unsigned nops = env_or("LAYERFS_STRESS_OPS", 1500);
    std::printf("stress: LAYERFS_STRESS_SEED=%u LAYERFS_STRESS_OPS=%u\n", seed, nops);
    std::fflush(stdout);
    INFO("LAYERFS_STRESS_SEED=" << seed << " LAYERFS_STRESS_OPS=" << nops);

    Stack s(3);
    build_layers(s);
    Mount m(Backend::Layerfs, s.lowers, s.upper, s.work, s.mnt);
    REQUIRE_MOUNTED(m);
    const pid_t pid = daemon_of(s.mnt);
    REQUIRE(pid > 0);

    // Two rounds: the second must not need more memory than the first left the
    // daemon with.
    const auto paths = reader_paths();
    std::vector<std::vector<Op>> ops(kWriters);
    ReaderLog log;
    std::vector<long> rss = {rss_kb(pid)};
    for (unsigned round = 0; round < 2; ++round) {
        run_round(s.mnt, paths, uint64_t(seed) + round * 1000003u, nops, ops, log);
        rss.push_back(rss_kb(pid));
    }
    std::printf(
        "stress: %ld reads, %ld whole files checked; daemon RSS %ld kB at start, %ld "
        "after round 1, %ld after round 2\n",
        log.reads.load(), log.whole_files.load(), rss[0], rss[1], rss[2]);
    report(ops);

    // Still alive and serving, and nobody saw what they must not.
    CHECK(::kill(pid, 0) == 0);
    struct stat st;
    CHECK(::stat((s.mnt + "/ro/d2/f2").c_str(), &st) == 0);
    for (auto& f : log.failures)
        FAIL_CHECK(f);
    CHECK(log.whole_files > 0);

    // Bounded memory, generously: sanitizers' shadow memory and quarantine take more.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
    const long max_kb = 1024 * 1024, max_growth_kb = 128 * 1024;
#else
    const long max_kb = 256 * 1024, max_growth_kb = 16 * 1024;
#endif
    REQUIRE(rss[2] > 0);
    CHECK(rss[2] < max_kb);
    CHECK(rss[2] - rss[1] < max_growth_kb);

    TreeOptions nolinks;
    nolinks.nlink = false;
    const auto seen = tree_of(s.mnt), seen_nolinks = tree_of(s.mnt, nolinks);
    m.unmount();

    // The same op lists, one writer after another, on kernel overlayfs over the
    // same lowers. index=on keeps lower hard links linked across copy-up, and
    // redirect_dir=on lets lower directories be renamed, as layerfs does.
    TempDir k;
    const std::string kupper = k / "upper", kwork = k / "work", kmnt = k / "mnt";
    for (auto& d : {kupper, kwork, kmnt})
        make_dir(d);
    {
        Mount kernel(Backend::Kernel, s.lowers, kupper, kwork, kmnt, "index=on,redirect_dir=on");
        REQUIRE_MOUNTED(kernel);
        int mismatches = 0;
        for (int w = 0; w < kWriters; ++w)
            for (auto& op : ops[size_t(w)]) {
                std::string torn;
                int e = apply(kmnt, w, op, torn);
                if (e != op.result && ++mismatches <= 10)
                    FAIL_CHECK(describe(op) << ": layerfs " << std::strerror(op.result)
                                            << ", kernel overlayfs " << std::strerror(e));
            }
        CHECK(mismatches == 0);
        CHECK_SAME_TREE(tree_of(kmnt), seen);
    }

    // The upper dirs differ in form (the kernel renames lower directories by
    // redirect, layerfs copies them up), so layerfs's is read by the kernel
    // instead: the same tree. Without an index the kernel cannot count the links
    // of a lower file that lost a name, so link counts are left out.
    TempDir work;
    Mount kernel(Backend::Kernel, s.lowers, s.upper, work.path(), kmnt);
    REQUIRE_MOUNTED(kernel);
    INFO("kernel overlayfs on layerfs's upper dir");
    CHECK_SAME_TREE(seen_nolinks, tree_of(kmnt, nolinks));
}

// The kernel shares one cache of a directory's entries among all its open
// handles and resumes a handle where another's entries end: a listing must not
// repeat a name, lose one that stayed, or stay cached after a change.
TEST_CASE("listings read while names come and go: each name once, none lost, none stale",
          "[stress]") {
    Stack s(1);
    std::vector<std::string> stay;
    for (int i = 0; i < 30; ++i) {
        stay.push_back("f" + std::to_string(i));
        write_file(s.lower(0) + "/d/" + stay.back(), "x");
    }
    std::sort(stay.begin(), stay.end());
    Mount m(Backend::Layerfs, s.lowers, s.upper, s.work, s.mnt);
    REQUIRE_MOUNTED(m);
    const std::string d = m / "d";

    // Names that sort first come and go, so that every other name moves; the
    // writer must see each of its changes in the next listing it reads.
    std::atomic<bool> stop{false};
    ReaderLog log;
    std::thread writer([&] {
        for (int i = 0; i < 1000; ++i) {
            const std::string name = "a" + std::to_string(i % 7), p = d + "/" + name;
            int fd = ::open(p.c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
            if (fd >= 0) ::close(fd);
            auto names = list_dir(d);
            if (!std::binary_search(names.begin(), names.end(), name))
                log.fail("a new name is not listed");
            ::unlink(p.c_str());
            names = list_dir(d);
            if (std::binary_search(names.begin(), names.end(), name))
                log.fail("a removed name is still listed");
        }
        stop = true;
    });
    std::vector<std::thread> readers;
    for (int r = 0; r < 3; ++r)
        readers.emplace_back([&] {
            while (!stop) {
                std::vector<std::string> names = list_dir(d);
                log.reads.fetch_add(1, std::memory_order_relaxed);
                if (std::adjacent_find(names.begin(), names.end()) != names.end())
                    log.fail("a name listed twice");
                if (!std::includes(names.begin(), names.end(), stay.begin(), stay.end()))
                    log.fail("a name that stayed is missing");
            }
        });
    writer.join();
    for (auto& t : readers)
        t.join();
    INFO(log.reads << " listings");
    for (auto& f : log.failures)
        FAIL_CHECK(f);
    CHECK(list_dir(d) == stay);
}
