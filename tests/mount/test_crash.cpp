// Crash rounds: the daemon is SIGKILLed at seeded random moments of a workload
// made of copy-ups, then the dead mount is unmounted and the same upper and work
// dirs mounted again. Every operation that returned must be there, the one the
// kill interrupted must be there whole or not at all (every name it touches
// holds its old or its new state, never a torn mix), no temp may show in the
// mount or the upper dir, and the temps the dead daemon left in the work dir
// must be gone once the new daemon has mounted.
//
// The operations are chosen so that "old or new" is well defined: each is one
// system call after its open, and each write stays inside one page, so the
// kernel sends it as one request and no signal can cut it short. (A write the
// kernel splits into several requests ends half-done when its daemon dies, on
// any FUSE file system: that tear is the write's, not the copy-up's.)
//
// LAYERFS_CRASH_SEED and LAYERFS_CRASH_ROUNDS override the defaults; the seed is
// printed. Rounds alternate metacopy=off and metacopy=on.
#include <dirent.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <sys/xattr.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <sstream>
#include <vector>

#include "tests/mount/mount_helpers.hpp"

using namespace layerfs::test;

namespace {

constexpr const char* kTempPrefix = "lfs-";  // the daemon's temps in WORKDIR/work
constexpr const char* kDataCopyXattr = "trusted.overlay.layerfs.data_copy";
constexpr size_t kPage = 4096;
constexpr unsigned kOpsPerRound = 12;

unsigned env_or(const char* name, unsigned fallback) {
    const char* v = std::getenv(name);
    return v && *v ? unsigned(std::strtoul(v, nullptr, 0)) : fallback;
}

// splitmix64: the same sequence on every standard library, unlike <random>'s
// distributions.
struct Rng {
    uint64_t x;
    uint64_t next() {
        uint64_t z = (x += 0x9e3779b97f4a7c15ull);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
        return z ^ (z >> 31);
    }
    size_t below(size_t n) { return n ? size_t(next() % n) : 0; }
    size_t between(size_t lo, size_t hi) { return lo + below(hi - lo + 1); }
    bool chance(unsigned percent) { return below(100) < percent; }
};

// Letters from a seed: every version of every file is different, and readable
// in a failure message.
std::string pattern(uint64_t seed, size_t len) {
    std::string s(len, '\0');
    Rng r{seed};
    for (size_t i = 0; i < len; i += 8) {
        uint64_t v = r.next();
        for (size_t j = i; j < std::min(len, i + 8); ++j, v >>= 8)
            s[j] = char('a' + (v & 0xff) % 26);
    }
    return s;
}

// The expected tree. Contents are shared between copies of the model, so the
// state before and after an operation cost little more than one.
struct Inode {
    std::shared_ptr<const std::string> data;
    mode_t mode = 0644;
    std::optional<time_t> mtime;  // unknown once a write set it to "now"
    bool fresh = true;            // only in a lower layer: its first change copies it up
};

struct Model {
    std::vector<Inode> inodes;
    std::map<std::string, size_t> names;  // path in the mount -> inode
    size_t fresh() const {
        size_t n = 0;
        for (auto& i : inodes)
            n += i.fresh;
        return n;
    }
};

enum class Kind { Overwrite, Append, Chmod, Touch, Truncate, TruncOpen, Rename, Unlink, Link };
constexpr const char* kKindNames[] = {"overwrite", "append", "chmod",  "touch", "truncate",
                                      "O_TRUNC",   "rename", "unlink", "link"};

struct Op {
    Kind kind;
    std::string path, to;  // `to`: rename's and link's new name
    std::string data;      // written at 0 (overwrite) or at the end (append)
    off_t size = 0;
    mode_t mode = 0;
    time_t mtime = 0;
    bool copy_up = false;  // the first change of a file still only in a lower layer
};

std::string describe(const Op& op) {
    std::string s = std::string(kKindNames[int(op.kind)]) + " " + op.path;
    if (!op.to.empty()) s += " -> " + op.to;
    if (op.kind == Kind::Truncate) s += " to " + std::to_string(op.size);
    if (!op.data.empty()) s += " (" + std::to_string(op.data.size()) + " bytes)";
    return s;
}

void apply(Model& m, const Op& op) {
    Inode& in = m.inodes.at(m.names.at(op.path));
    in.fresh = false;
    const std::string& old = *in.data;
    switch (op.kind) {
        case Kind::Overwrite:
            in.data = std::make_shared<std::string>(op.data + old.substr(op.data.size()));
            in.mtime.reset();
            break;
        case Kind::Append:
            in.data = std::make_shared<std::string>(old + op.data);
            in.mtime.reset();
            break;
        case Kind::Truncate:
        case Kind::TruncOpen:
            in.data = std::make_shared<std::string>(old.substr(0, size_t(op.size)));
            in.mtime.reset();
            break;
        case Kind::Chmod:
            in.mode = op.mode;
            break;
        case Kind::Touch:
            in.mtime = op.mtime;
            break;
        case Kind::Rename: {
            size_t id = m.names.at(op.path);
            m.names.erase(op.path);
            m.names[op.to] = id;
            break;
        }
        case Kind::Unlink:
            m.names.erase(op.path);
            break;
        case Kind::Link:
            m.names[op.to] = m.names.at(op.path);
            break;
    }
}

const char* const kDirs[] = {"a", "b", "c", "c/d"};

// A round's operations, planned against a copy of the model so that each one
// finds the names the ones before it left. Most go to files still only in a
// lower layer: those are the copy-ups.
std::vector<Op> plan(Model m, Rng& rng, unsigned round) {
    std::vector<Op> ops;
    for (unsigned i = 0; i < kOpsPerRound; ++i) {
        std::vector<std::string> fresh, all;
        for (auto& [name, id] : m.names) {
            all.push_back(name);
            if (m.inodes[id].fresh) fresh.push_back(name);
        }
        if (all.size() < 2) break;
        Op op;
        op.path = !fresh.empty() && rng.chance(65) ? fresh[rng.below(fresh.size())]
                                                   : all[rng.below(all.size())];
        const Inode& in = m.inodes[m.names[op.path]];
        op.copy_up = in.fresh;
        const size_t size = in.data->size();
        const std::string tag = std::to_string(round) + "_" + std::to_string(i);
        const uint64_t data_seed = rng.next();
        static constexpr unsigned kWeights[] = {26, 14, 14, 8, 6, 5, 14, 5, 8};
        unsigned w = unsigned(rng.below(100));
        int k = 0;
        while (w >= kWeights[k])
            w -= kWeights[k++];
        op.kind = Kind(k);
        if (op.kind == Kind::Overwrite && size == 0) op.kind = Kind::Append;
        switch (op.kind) {
            case Kind::Overwrite:
                op.data = pattern(data_seed, std::min(size, kPage));
                break;
            case Kind::Append:
                // Up to the end of the last page: one page, one request.
                op.data = pattern(data_seed, rng.between(1, kPage - size % kPage));
                break;
            case Kind::Truncate:
                op.size = off_t(rng.below(size + 1) / 2);
                break;
            case Kind::TruncOpen:
                op.size = 0;
                break;
            case Kind::Chmod: {
                static constexpr mode_t kModes[] = {0600, 0640, 0644, 0700, 0755, 0444};
                do {
                    op.mode = kModes[rng.below(6)];
                } while (op.mode == in.mode);
                break;
            }
            case Kind::Touch:
                op.mtime = time_t(1'000'000'000 + round * 100 + i);
                break;
            case Kind::Rename:
            case Kind::Link: {
                // Now and then over another file, else a new name.
                std::string over = all[rng.below(all.size())];
                if (op.kind == Kind::Rename && rng.chance(30) && m.names[over] != m.names[op.path])
                    op.to = over;
                else
                    op.to = std::string(kDirs[rng.below(4)]) +
                            (op.kind == Kind::Rename ? "/r" : "/k") + tag;
                break;
            }
            case Kind::Unlink:
                break;
        }
        apply(m, op);
        ops.push_back(std::move(op));
    }
    return ops;
}

// Sizes from a few bytes to 4 MiB: the big ones keep a copy-up busy long enough
// for kills to land inside it.
size_t pick_size(Rng& rng) {
    unsigned c = unsigned(rng.below(100));
    if (c < 45) return rng.below(4000);
    if (c < 75) return rng.between(4096, 64 << 10);
    if (c < 95) return rng.between(64 << 10, 1 << 20);
    return rng.between(1 << 20, 4 << 20);
}

// Two lowers: most files in the bottom one, some in the top one, a few of
// those over an older version below; hard-link groups in the bottom one.
Model build_lowers(const Stack& s, uint64_t seed) {
    Rng rng{seed};
    Model m;
    static constexpr mode_t kModes[] = {0644, 0600, 0755, 0640, 0444};
    for (const char* d : kDirs)
        make_dir(s.lower(1) + "/" + d);
    for (int i = 0; i < 150; ++i) {
        const std::string name = (i % 5 == 4 ? std::string() : std::string(kDirs[i % 5]) + "/") +
                                 "f" + std::to_string(i);
        const bool top = rng.chance(25);
        Inode in;
        in.data = std::make_shared<std::string>(pattern(rng.next(), pick_size(rng)));
        in.mode = kModes[rng.below(5)];
        in.mtime = time_t(1'500'000'000 + i * 7);
        const std::string path = s.lower(top ? 0 : 1) + "/" + name;
        if (top && rng.chance(40)) write_file(s.lower(1) + "/" + name, "older, hidden", 0644);
        write_file(path, *in.data, in.mode);
        struct timespec t[2] = {{*in.mtime, 0}, {*in.mtime, 0}};
        REQUIRE(::utimensat(AT_FDCWD, path.c_str(), t, 0) == 0);
        m.names[name] = m.inodes.size();
        if (!top && rng.chance(12)) {
            for (size_t j = 0, n = rng.between(1, 2); j < n; ++j) {
                const std::string alias = std::string(kDirs[rng.below(4)]) + "/h" +
                                          std::to_string(i) + "_" + std::to_string(j);
                REQUIRE(::link(path.c_str(), (s.lower(1) + "/" + alias).c_str()) == 0);
                m.names[alias] = m.inodes.size();
            }
        }
        m.inodes.push_back(std::move(in));
    }
    return m;
}

// The workload's side of the pipe: 'B' before an operation, 'W' when its
// write(2) is issued (its open, and so its copy-up, returned), 'E' after it
// returned, 'F' with its errno when it failed. Records fit in PIPE_BUF, so they
// arrive whole.
struct Record {
    char kind;
    int32_t index, err;
};

int perform(const std::string& mnt, const Op& op, int out, int32_t index) {
    const std::string p = mnt + "/" + op.path, q = mnt + "/" + op.to;
    auto rc = [](int r) { return r < 0 ? errno : 0; };
    switch (op.kind) {
        case Kind::Overwrite:
        case Kind::Append: {
            const bool append = op.kind == Kind::Append;
            int fd = ::open(p.c_str(), O_WRONLY | O_CLOEXEC | (append ? O_APPEND : 0));
            if (fd < 0) return errno;
            Record w{'W', index, 0};
            (void)!::write(out, &w, sizeof w);
            ssize_t n = append ? ::write(fd, op.data.data(), op.data.size())
                               : ::pwrite(fd, op.data.data(), op.data.size(), 0);
            int e = n < 0 ? errno : n != ssize_t(op.data.size()) ? EMSGSIZE : 0;
            ::close(fd);
            return e;
        }
        case Kind::TruncOpen: {
            int fd = ::open(p.c_str(), O_WRONLY | O_TRUNC | O_CLOEXEC);
            if (fd < 0) return errno;
            ::close(fd);
            return 0;
        }
        case Kind::Truncate:
            return rc(::truncate(p.c_str(), op.size));
        case Kind::Chmod:
            return rc(::chmod(p.c_str(), op.mode));
        case Kind::Touch: {
            struct timespec t[2] = {{op.mtime, 0}, {op.mtime, 0}};
            return rc(::utimensat(AT_FDCWD, p.c_str(), t, 0));
        }
        case Kind::Rename:
            return rc(::rename(p.c_str(), q.c_str()));
        case Kind::Unlink:
            return rc(::unlink(p.c_str()));
        case Kind::Link:
            return rc(::link(p.c_str(), q.c_str()));
    }
    return EINVAL;
}

[[noreturn]] void workload(const std::string& mnt, const std::vector<Op>& ops, int out) {
    for (size_t i = 0; i < ops.size(); ++i) {
        Record r{'B', int32_t(i), 0};
        (void)!::write(out, &r, sizeof r);
        r.err = perform(mnt, ops[i], out, int32_t(i));
        r.kind = r.err ? 'F' : 'E';
        (void)!::write(out, &r, sizeof r);
        if (r.err) ::_exit(0);
    }
    ::_exit(0);
}

bool alive(pid_t pid) {  // and not a zombie
    std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
    std::string st((std::istreambuf_iterator<char>(in)), {});
    auto paren = st.rfind(')');
    return paren != std::string::npos && st.size() > paren + 2 && st[paren + 2] != 'Z';
}

// What a round's workload got done before the kill. Done: every operation
// that returned. In flight: the one that began and did not return (a killed
// daemon may have finished it without replying).
constexpr size_t kNone = size_t(-1);
struct Outcome {
    size_t done = 0;
    size_t in_flight = kNone;
    bool writing = false;  // the one in flight was inside its write(2)
};

// Runs the operations in a child and SIGKILLs the daemon `delay_us` after
// operation `target` began (or after the last), then the child.
Outcome run_and_kill(const std::string& mnt, const std::vector<Op>& ops, pid_t daemon,
                     size_t target, unsigned delay_us) {
    int fds[2];
    REQUIRE(::pipe2(fds, O_CLOEXEC) == 0);
    const pid_t child = ::fork();
    REQUIRE(child >= 0);
    if (child == 0) {
        ::close(fds[0]);
        workload(mnt, ops, fds[1]);
    }
    ::close(fds[1]);
    std::vector<Record> records;
    auto read_record = [&](int timeout_ms) {
        pollfd p{fds[0], POLLIN, 0};
        Record r;
        if (::poll(&p, 1, timeout_ms) <= 0 || ::read(fds[0], &r, sizeof r) != ssize_t(sizeof r))
            return false;
        records.push_back(r);
        return true;
    };
    // A minute without progress is a hung daemon, not a slow one.
    while (target < ops.size() &&
           !(records.size() && records.back().kind == 'B' && records.back().index >= int(target)))
        if (!read_record(60'000)) break;
    ::usleep(delay_us);
    REQUIRE(::kill(daemon, SIGKILL) == 0);
    ::kill(child, SIGKILL);
    int status;
    REQUIRE(::waitpid(child, &status, 0) == child);
    while (read_record(0)) {
    }
    ::close(fds[0]);
    for (int i = 0; i < 3000 && alive(daemon); ++i)
        ::usleep(10'000);

    Outcome o;
    for (auto& r : records) {
        if (r.kind == 'E') o.done = size_t(r.index) + 1;
        if (r.kind == 'B') o.in_flight = size_t(r.index);
        o.writing = r.kind == 'W' || (o.writing && r.kind != 'B');
        // After the kill calls fail with ENOTCONN, or ECONNABORTED when the
        // daemon had them (ECANCELED or EINTR when they were on its io_uring:
        // seen once in 100 rounds under ASan); anything else happened while it
        // was alive. The file's state is checked either way.
        const bool uring_end = r.err == ECANCELED || r.err == EINTR;
        if (r.kind == 'F' && r.err != ENOTCONN && r.err != ECONNABORTED && !uring_end)
            FAIL_CHECK(describe(ops[size_t(r.index)]) << ": " << std::strerror(r.err));
    }
    if (o.in_flight != kNone && o.in_flight < o.done) o.in_flight = kNone;
    return o;
}

// Every non-directory under root, and every name that looks like a temp.
void walk(const std::string& root, const std::string& rel, std::map<std::string, struct stat>& out,
          std::vector<std::string>& temps) {
    for (auto& name : list_dir(root + (rel.empty() ? "" : "/" + rel))) {
        const std::string r = rel.empty() ? name : rel + "/" + name;
        if (name.rfind(kTempPrefix, 0) == 0) temps.push_back(r);
        struct stat st;
        if (::lstat((root + "/" + r).c_str(), &st) < 0) {
            temps.push_back(r + " (lstat: " + std::strerror(errno) + ")");
            continue;
        }
        if (S_ISDIR(st.st_mode))
            walk(root, r, out, temps);
        else
            out[r] = st;
    }
}

std::string first_difference(const std::string& want, const std::string& got) {
    size_t i = 0;
    while (i < want.size() && i < got.size() && want[i] == got[i])
        ++i;
    std::ostringstream o;
    o << "content differs at byte " << i << " (expected " << want.size() << " bytes, saw "
      << got.size() << ": '" << got.substr(i, 16) << "' where '" << want.substr(i, 16) << "')";
    return o.str();
}

// What the mount shows that the model does not say, one line each; empty when
// it matches. Contents are compared for the names in `contents` only.
std::string differences(const Model& m, const std::map<std::string, struct stat>& seen,
                        const std::map<std::string, std::string>& contents) {
    std::string out;
    for (auto& [name, id] : m.names) {
        auto it = seen.find(name);
        if (it == seen.end()) {
            out += name + ": missing\n";
            continue;
        }
        const Inode& in = m.inodes[id];
        const struct stat& st = it->second;
        if (!S_ISREG(st.st_mode) || (st.st_mode & 07777) != in.mode)
            out += name + ": mode " + std::to_string(st.st_mode) + ", expected " +
                   std::to_string(in.mode) + "\n";
        if (size_t(st.st_size) != in.data->size())
            out += name + ": size " + std::to_string(st.st_size) + ", expected " +
                   std::to_string(in.data->size()) + "\n";
        if (in.mtime && st.st_mtime != *in.mtime)
            out += name + ": mtime " + std::to_string(st.st_mtime) + ", expected " +
                   std::to_string(*in.mtime) + "\n";
        if (auto c = contents.find(name); c != contents.end() && c->second != *in.data)
            out += name + ": " + first_difference(*in.data, c->second) + "\n";
    }
    for (auto& [name, st] : seen)
        if (!m.names.count(name)) out += name + ": should not be there\n";
    return out;
}

std::string join(const std::vector<std::string>& v) {
    std::string s;
    for (auto& x : v)
        s += (s.empty() ? "" : ", ") + x;
    return s;
}

struct Stats {
    unsigned in_flight[9] = {}, in_flight_copy_up = 0, after = 0, none = 0;
    unsigned natural_temps = 0, epochs = 1;
};

}  // namespace

TEST_CASE("a daemon killed during copy-ups leaves every file old or new, and no temps", "[crash]") {
    const unsigned seed = env_or("LAYERFS_CRASH_SEED", 20250611);
    const unsigned rounds = env_or("LAYERFS_CRASH_ROUNDS", 100);
    std::printf("crash: LAYERFS_CRASH_SEED=%u LAYERFS_CRASH_ROUNDS=%u\n", seed, rounds);
    INFO("LAYERFS_CRASH_SEED=" << seed << " LAYERFS_CRASH_ROUNDS=" << rounds);
    Stack s(2);
    const Model initial = build_lowers(s, seed);
    Model model = initial;
    const std::string temps_dir = s.work + "/work";
    Stats stats;

    std::optional<Mount> m;
    auto mount_for = [&](unsigned round) {
        m.emplace(Backend::Layerfs, s.lowers, s.upper, s.work, s.mnt,
                  round % 2 ? "metacopy=on" : "");
        REQUIRE_MOUNTED(*m);
    };
    mount_for(0);

    for (unsigned round = 0; round < rounds; ++round) {
        INFO("round " << round << (round % 2 ? " (metacopy=on)" : ""));
        Rng rng{uint64_t(seed) * 1'000'003u + round};
        const std::vector<Op> ops = plan(model, rng, round);
        const pid_t daemon = daemon_of(s.mnt);
        REQUIRE(daemon > 0);

        // The kill comes a random while after a random operation began: often
        // before the first, sometimes after the last, mostly inside a copy-up.
        const size_t target = rng.below(ops.size() + 1);
        const unsigned delay_us =
            rng.chance(25) ? 0 : unsigned(20.0 * std::pow(1500.0, double(rng.below(1001)) / 1000));
        const Outcome out = run_and_kill(s.mnt, ops, daemon, target, delay_us);
        const size_t done = out.done, in_flight = out.in_flight;
        std::set<size_t> touched;  // inodes whose every name gets read back
        for (size_t i = 0; i < done; ++i) {
            touched.insert(model.names.at(ops[i].path));
            apply(model, ops[i]);
        }
        Model after = model;
        if (in_flight != kNone) {
            touched.insert(model.names.at(ops[in_flight].path));
            // Linux sets a file's mtime before it copies the data of a write in,
            // so a write cut short may have changed the mtime alone, on any file
            // system. Everything before it (the open, the copy-up) may not.
            if (out.writing) model.inodes[model.names.at(ops[in_flight].path)].mtime.reset();
            apply(after, ops[in_flight]);
            stats.in_flight[int(ops[in_flight].kind)]++;
            stats.in_flight_copy_up += ops[in_flight].copy_up;
        } else {
            stats.none++;
        }
        INFO("in flight: " << (in_flight != kNone ? describe(ops[in_flight]) : "nothing") << "; "
                           << done << " done");

        // The dead mount goes; temps may stay in the work dir, never in the upper dir.
        auto um = run({"fusermount3", "-u", s.mnt});
        if (um.status != 0) um = run({"fusermount3", "-u", "-z", s.mnt});
        INFO(um.output);
        REQUIRE_FALSE(is_mounted(s.mnt));
        m.reset();
        {
            std::map<std::string, struct stat> files;
            std::vector<std::string> temps;
            walk(s.upper, "", files, temps);
            INFO("in the upper dir: " << join(temps));
            REQUIRE(temps.empty());
        }
        for (auto& n : list_dir(temps_dir))
            if (n.rfind(kTempPrefix, 0) == 0) {
                stats.natural_temps++;
                break;
            }
        // And temps of the kinds a copy-up leaves, planted, so the cleaning is
        // checked even in rounds whose kill left none.
        if (round % 3 == 0) {
            write_file(temps_dir + "/lfs-1-" + std::to_string(round), "half a copy");
            write_file(temps_dir + "/lfs-2-" + std::to_string(round) + "/x/y", "half a dir");
        }

        mount_for(round + 1);
        {
            std::vector<std::string> left;
            for (auto& n : list_dir(temps_dir))
                left.push_back(n);
            INFO("in " << temps_dir << " after the mount: " << join(left));
            REQUIRE(left.empty());
        }
        std::map<std::string, struct stat> seen;
        std::vector<std::string> temps;
        walk(s.mnt, "", seen, temps);
        INFO("temps in the mount: " << join(temps));
        REQUIRE(temps.empty());

        // Contents: every name of every file this round changed, a sample of
        // the rest, and everything every tenth round.
        for (int i = 0; i < 8; ++i)
            touched.insert(rng.below(model.inodes.size()));
        std::map<std::string, std::string> contents;
        for (auto& [name, st] : seen) {
            auto id = after.names.count(name)   ? after.names.at(name)
                      : model.names.count(name) ? model.names.at(name)
                                                : size_t(-1);
            if (round % 10 != 9 && !touched.count(id)) continue;
            contents[name] = read_file(s.mnt + "/" + name);
        }
        const std::string before_diff = differences(model, seen, contents);
        const std::string after_diff = in_flight != kNone && !before_diff.empty()
                                           ? differences(after, seen, contents)
                                           : before_diff;
        INFO("against the state before the operation in flight:\n"
             << before_diff << "against the state after it:\n"
             << after_diff);
        REQUIRE((before_diff.empty() || after_diff.empty()));
        if (!before_diff.empty()) {
            model = std::move(after);
            stats.after++;
        }

        // Every name was looked up: what a killed data copy-up saved is put back.
        for (auto& [name, st] : seen) {
            INFO("upper " << name << " keeps the metadata a data copy-up saved");
            CHECK(::lgetxattr((s.upper + "/" + name).c_str(), kDataCopyXattr, nullptr, 0) < 0);
        }
        // The upper dir's own copies hold what the mount shows (metadata-only
        // copies hold holes and are left out).
        for (auto& [name, data] : contents) {
            struct stat ust;
            const std::string up = s.upper + "/" + name;
            if (::lstat(up.c_str(), &ust) < 0 || !S_ISREG(ust.st_mode)) continue;
            if (::lgetxattr(up.c_str(), "trusted.overlay.metacopy", nullptr, 0) >= 0 ||
                ::lgetxattr(up.c_str(), "user.overlay.metacopy", nullptr, 0) >= 0)
                continue;
            INFO("upper " << name);
            CHECK(read_file(up) == data);
        }

        // When few files are left to copy up, start again from an empty upper dir.
        if (model.fresh() < initial.inodes.size() / 6 && round + 1 < rounds) {
            m.reset();
            REQUIRE_FALSE(is_mounted(s.mnt));
            for (const auto& dir : {s.upper, s.work})
                for (auto& n : list_dir(dir))
                    std::filesystem::remove_all(dir + "/" + n);
            model = initial;
            stats.epochs++;
            mount_for(round + 1);
        }
    }

    std::printf("crash: %u rounds, %u upper dirs; kills with nothing in flight: %u; in flight:",
                rounds, stats.epochs, stats.none);
    for (int k = 0; k < 9; ++k)
        std::printf(" %s %u", kKindNames[k], stats.in_flight[k]);
    std::printf("; of those a copy-up %u, found done %u; rounds that left temps: %u\n",
                stats.in_flight_copy_up, stats.after, stats.natural_temps);
}

TEST_CASE("a data copy-up a killed daemon left half done shows the metadata it had", "[crash]") {
    Stack s(1);
    write_file(s.lower(0) + "/f", "lower data", 0644);
    {
        Mount m(Backend::Layerfs, s.lowers, s.upper, s.work, s.mnt, "metacopy=on");
        REQUIRE_MOUNTED(m);
        REQUIRE(::chmod((m / "f").c_str(), 0750) == 0);  // metadata only
        struct timespec t[2] = {{1'000'000'000, 5}, {1'100'000'000, 7}};
        REQUIRE(::utimensat(AT_FDCWD, (m / "f").c_str(), t, 0) == 0);
    }
    // As copy_up_data leaves it when killed inside its writes: the metadata
    // saved, some data in, the mtime and mode as the writes made them.
    const std::string up = s.upper + "/f";
    set_xattr(up, kDataCopyXattr, "1000000000 5 1100000000 7 750\n");
    int fd = ::open(up.c_str(), O_WRONLY | O_CLOEXEC);
    REQUIRE(fd >= 0);
    REQUIRE(::pwrite(fd, "lower", 5, 0) == 5);
    ::close(fd);
    REQUIRE(::chmod(up.c_str(), 0644) == 0);

    Mount m(Backend::Layerfs, s.lowers, s.upper, s.work, s.mnt);
    REQUIRE_MOUNTED(m);
    struct stat st = lstat_of(m / "f");
    CHECK(st.st_mtim.tv_sec == 1'100'000'000);
    CHECK(st.st_mtim.tv_nsec == 7);
    CHECK((st.st_mode & 07777) == 0750);
    CHECK(read_file(m / "f") == "lower data");
    CHECK(::lgetxattr(up.c_str(), kDataCopyXattr, nullptr, 0) < 0);
    append(m / "f", "+new");
    CHECK(read_file(m / "f") == "lower data+new");
    CHECK((lstat_of(m / "f").st_mode & 07777) == 0750);
}
