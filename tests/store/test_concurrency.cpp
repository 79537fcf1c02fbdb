// Several layerfs commands on one store at once, and commands killed with
// SIGKILL halfway: the store's lock and staging must lose nothing and leave
// nothing the next command trips over.
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <sstream>
#include <thread>

#include "snapshotter/digest.hpp"
#include "tests/store/store_helpers.hpp"
#include "tests/support/tree.hpp"

extern char** environ;

using namespace layerfs::test;
using json = nlohmann::json;

namespace {

// One `layerfs --root ROOT ARGS...` running in the background, its output in a file.
struct Child {
    std::vector<std::string> args;
    std::string log;
    pid_t pid = -1;
    int status = -1;  // exit status, or 128+signal
    bool killed = false;

    bool exited() {
        if (pid < 0) return true;
        int st = 0;
        pid_t r = ::waitpid(pid, &st, WNOHANG);
        if (r == 0) return false;
        record(st);
        return true;
    }
    void wait() {
        if (pid < 0) return;
        int st = 0;
        REQUIRE(::waitpid(pid, &st, 0) == pid);
        record(st);
    }
    std::string output() const { return exists(log) ? read_file(log) : ""; }
    std::string describe() const {
        std::string s;
        for (const auto& a : args)
            s += a + " ";
        return s + "=> " + std::to_string(status) + ": " + output();
    }

  private:
    void record(int st) {
        status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
        killed = WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL;
        pid = -1;
    }
};

void spawn(const TestStore& s, Child& c, const std::string& log) {
    std::vector<std::string> argv = {layerfs_bin(), "--root", s.root};
    argv.insert(argv.end(), c.args.begin(), c.args.end());
    std::vector<char*> raw;
    for (auto& a : argv)
        raw.push_back(a.data());
    raw.push_back(nullptr);
    c.log = log;
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_adddup2(&fa, 1, 2);
    int rc = posix_spawn(&c.pid, raw[0], &fa, nullptr, raw.data(), environ);
    posix_spawn_file_actions_destroy(&fa);
    REQUIRE(rc == 0);
}

// Starts every command before waiting for any; all must succeed.
void run_all_at_once(const TestStore& s, const TempDir& logs,
                     const std::vector<std::vector<std::string>>& commands) {
    std::vector<Child> children(commands.size());
    for (size_t i = 0; i < commands.size(); i++) {
        children[i].args = commands[i];
        spawn(s, children[i], logs / ("log-" + std::to_string(i)));
    }
    for (auto& c : children)
        c.wait();
    for (auto& c : children) {
        INFO(c.describe());
        CHECK(c.status == 0);
    }
}

// A small rootfs tar of its own for each i.
std::string small_tar(const TempDir& t, const std::string& name, int i) {
    std::string dir = t / ("src-" + name);
    write_file(dir + "/etc/id", name + " " + std::to_string(i) + "\n");
    write_file(dir + "/data/" + name, std::string(size_t(1000 + i), char('a' + i % 26)));
    std::string tar = t / (name + ".tar");
    REQUIRE_OK(run({"tar", "-C", dir, "-cf", tar, "."}));
    return tar;
}

// Every stored blob has the digest it is named by; every layer is complete, and
// fsck agrees: it may find litter of killed commands, never damage.
void check_store_consistent(const TestStore& s) {
    auto fsck = s.lf({"fsck"});
    INFO(fsck.output);
    CHECK(fsck.status == 0);  // exit 1 is damage
    for (const auto& name : list_dir(s.root + "/blobs/sha256")) {
        CAPTURE(name);
        std::ifstream in(s.root + "/blobs/sha256/" + name, std::ios::binary);
        REQUIRE(in);
        layerfs::store::Sha256 sha;
        std::vector<char> buf(1 << 20);
        while (in.read(buf.data(), std::streamsize(buf.size())) || in.gcount() > 0)
            sha.update(buf.data(), size_t(in.gcount()));
        CHECK(sha.hex() == name);
    }
    for (const auto& name : list_dir(s.root + "/layers")) {
        CAPTURE(name);
        CHECK(list_dir(s.root + "/layers/" + name) ==
              std::vector<std::string>{"diff", "files.json", "layer.json"});
    }
}

// ~200 MB in 200 files of different content.
void big_tree(const std::string& dir) {
    std::mt19937_64 rng(42);
    std::string data(1 << 20, '\0');
    for (int i = 0; i < 200; i++) {
        for (size_t j = 0; j < data.size(); j += 8) {
            uint64_t v = rng();
            std::memcpy(&data[j], &v, 8);
        }
        write_file(dir + "/d" + std::to_string(i % 10) + "/f" + std::to_string(i), data);
    }
}

}  // namespace

TEST_CASE("concurrent first uses of the built-in image make it once", "[concurrency]") {
    TestStore s;
    TempDir logs;
    std::vector<std::vector<std::string>> commands;
    for (int i = 0; i < 8; i++)
        commands.push_back({"tag", "busybox", "conc/t" + std::to_string(i) + ":v1"});
    run_all_at_once(s, logs, commands);
    std::multiset<std::string> want = {"busybox:latest"};
    for (int i = 0; i < 8; i++)
        want.insert("conc/t" + std::to_string(i) + ":v1");
    CHECK(listed_names(s) == want);
    auto ids = s.lf({"images", "-q"});
    CHECK(ids.output.size() == 13);  // one image: 12 hex digits and a newline
    CHECK(list_dir(s.root + "/layers").size() == 1);
    CHECK(list_dir(s.root + "/tmp").empty());
    check_store_consistent(s);
}

TEST_CASE("concurrent imports, tags and rmis on one store lose nothing", "[concurrency]") {
    TestStore s;
    TempDir t;
    const int n = 8;
    REQUIRE_OK(s.lf({"tag", "busybox", "base:1"}));
    std::vector<std::string> fresh, doomed;
    for (int i = 0; i < n; i++) {
        std::string k = std::to_string(i);
        fresh.push_back(small_tar(t, "new" + k, i));
        doomed.push_back(small_tar(t, "old" + k, i + 100));
        REQUIRE_OK(s.lf({"import", doomed.back(), "old/o" + k + ":v1"}));
        REQUIRE_OK(s.lf({"tag", "busybox", "pre/untag" + k + ":v1"}));
    }

    for (int round = 0; round < 2; round++) {
        CAPTURE(round);
        std::string r = std::to_string(round);
        std::vector<std::vector<std::string>> commands;
        for (int i = 0; i < n; i++) {
            std::string k = std::to_string(i);
            if (round == 0) {
                commands.push_back({"import", fresh[size_t(i)], "imp/n" + k + ":v1"});
                commands.push_back({"rmi", "old/o" + k + ":v1"});
                commands.push_back({"rmi", "pre/untag" + k + ":v1"});
            } else {
                // The same tars again under other names: the layers are shared.
                commands.push_back({"import", fresh[size_t(i)], "imp/again" + k + ":v1"});
                commands.push_back({"tag", "imp/n" + k + ":v1", "retag/n" + k + ":v1"});
                commands.push_back({"prune"});
            }
            commands.push_back({"tag", "busybox", "tagged/r" + r + "t" + k + ":v1"});
            commands.push_back({"images"});
            commands.push_back({"inspect", "base:1"});
        }
        run_all_at_once(s, t, commands);
    }

    std::multiset<std::string> want = {"busybox:latest", "base:1"};
    for (int i = 0; i < n; i++) {
        std::string k = std::to_string(i);
        for (std::string name : {"imp/n", "imp/again", "retag/n"})
            want.insert(name + k + ":v1");
        want.insert("tagged/r0t" + k + ":v1");
        want.insert("tagged/r1t" + k + ":v1");
    }
    auto got = listed_names(s);
    CHECK(got == want);
    for (const auto& name : want) {
        CAPTURE(name);
        id_of(s, name);
    }
    std::string bb = id_of(s, "busybox");
    for (int i = 0; i < n; i++) {
        std::string k = std::to_string(i);
        CHECK(id_of(s, "tagged/r1t" + k + ":v1") == bb);
        CHECK(id_of(s, "retag/n" + k + ":v1") == id_of(s, "imp/n" + k + ":v1"));
        CHECK(lower_dirs(s, "imp/again" + k + ":v1") == lower_dirs(s, "imp/n" + k + ":v1"));
        for (const auto& dir : lower_dirs(s, "imp/n" + k + ":v1"))
            CHECK(read_file(dir + "/etc/id") == "new" + k + " " + k + "\n");
        CHECK(s.lf({"inspect", "old/o" + k + ":v1"}).status == 1);
    }
    // busybox and the eight new layers; the removed images' layers are gone.
    CHECK(list_dir(s.root + "/layers").size() == size_t(n + 1));
    CHECK(list_dir(s.root + "/tmp").empty());
    check_store_consistent(s);
}

TEST_CASE("import, commit, tag, rmi and run --rm, eight at once, lose nothing", "[concurrency]") {
    TestStore s;
    TempDir t;
    std::vector<std::string> uppers;
    for (std::string c : {"c0", "c1"}) {
        REQUIRE_OK(s.lf({"create", "--name", c, "busybox"}));
        auto j = inspect(s, c);
        uppers.push_back(s.root + "/containers/" + j.value("Id", "") + "/upper");
    }
    for (int round = 0; round < 2; round++) {
        CAPTURE(round);
        std::string r = std::to_string(round);
        for (size_t i = 0; i < uppers.size(); i++)
            write_file(uppers[i] + "/made/r" + r, "c" + std::to_string(i) + " round " + r + "\n");
        REQUIRE_OK(s.lf({"import", small_tar(t, "old" + r, round), "old:" + r}));
        run_all_at_once(
            s, t,
            {{"import", small_tar(t, "a" + r, round), "imp/a:" + r},
             {"import", small_tar(t, "b" + r, round + 10), "imp/b:" + r},
             {"commit", "c0", "com/c0:" + r},
             {"commit", "c1", "com/c1:" + r},
             {"tag", "busybox", "tagged:" + r},
             {"rmi", "old:" + r},
             {"run", "--rm", "busybox", "sh", "-c", "echo " + r + " > /x && cat /x /etc/hostname"},
             {"run", "--rm", "-e", "R=" + r, "busybox", "sh", "-c", "test \"$R\" = " + r}});
    }
    std::multiset<std::string> want = {"busybox:latest"};
    for (std::string r : {"0", "1"})
        for (std::string n : {"imp/a:", "imp/b:", "com/c0:", "com/c1:", "tagged:"})
            want.insert(n + r);
    CHECK(listed_names(s) == want);
    for (std::string r : {"0", "1"}) {
        CHECK(read_file(lower_dirs(s, "imp/a:" + r)[0] + "/etc/id") == "a" + r + " " + r + "\n");
        for (std::string c : {"0", "1"}) {
            // Each commit holds what its container had when it ran, whole.
            std::string top = lower_dirs(s, "com/c" + c + ":" + r)[0];
            CHECK(read_file(top + "/made/r" + r) == "c" + c + " round " + r + "\n");
        }
    }
    // Only the two created containers remain: the runs removed theirs.
    CHECK(list_dir(s.root + "/containers").size() == 2);
    auto f = s.lf({"fsck"});
    INFO(f.output);
    CHECK(f.output.ends_with(": no problems\n"));
}

TEST_CASE("one tar imported under many names at once, then removed at once", "[concurrency]") {
    TestStore s;
    TempDir t;
    std::string tar = small_tar(t, "shared", 7);
    std::vector<std::vector<std::string>> imports, removals;
    std::multiset<std::string> want;
    for (int i = 0; i < 8; i++) {
        std::string name = "same/s" + std::to_string(i) + ":v1";
        imports.push_back({"import", tar, name});
        removals.push_back({"rmi", name});
        want.insert(name);
    }
    run_all_at_once(s, t, imports);
    CHECK(listed_names(s) == want);
    CHECK(list_dir(s.root + "/layers").size() == 1);
    check_store_consistent(s);

    run_all_at_once(s, t, removals);
    CHECK(listed_names(s).empty());
    CHECK(list_dir(s.root + "/layers").empty());
    CHECK(list_dir(s.root + "/blobs/sha256").empty());
    CHECK(list_dir(s.root + "/tmp").empty());
}

TEST_CASE("an import killed with SIGKILL leaves a store the next command accepts",
          "[concurrency]") {
    TestStore s;
    TempDir t;
    big_tree(t / "big");
    REQUIRE_OK(run({"tar", "-C", t / "big", "-cf", t / "big.tar", "."}));
    REQUIRE_OK(s.lf({"tag", "busybox", "keep:1"}));

    // How long a whole import takes here, only to spread the kills over it.
    auto start = std::chrono::steady_clock::now();
    {
        TestStore scratch;
        REQUIRE_OK(scratch.lf({"import", t / "big.tar", "scratch:1"}));
    }
    auto whole = std::chrono::duration_cast<std::chrono::milliseconds>(
                     std::chrono::steady_clock::now() - start)
                     .count();

    // Killed as soon as it stages anything, and at later points; where the kill
    // lands varies from run to run, what must hold afterwards does not.
    std::multiset<std::string> want = {"busybox:latest", "keep:1"};
    int kills = 0;
    std::vector<long> extra_ms;
    for (long percent : {0, 10, 25, 40, 55, 70, 85, 95})
        extra_ms.push_back(whole * percent / 100);
    extra_ms.push_back(300);
    for (size_t k = 0; k < extra_ms.size(); k++) {
        CAPTURE(k);
        std::string name = "big/k" + std::to_string(k) + ":v1";
        Child c;
        c.args = {"import", t / "big.tar", name};
        spawn(s, c, t / ("kill-" + std::to_string(k)));
        while (!c.exited() && list_dir(s.root + "/tmp").empty())
            std::this_thread::sleep_for(std::chrono::milliseconds(1));
        std::this_thread::sleep_for(std::chrono::milliseconds(extra_ms[k]));
        if (c.pid > 0) ::kill(c.pid, SIGKILL);
        c.wait();
        INFO(c.describe());
        auto names = listed_names(s);
        if (c.killed) {
            kills++;
            // Killed after it wrote the index, it is there, and must be whole.
            if (names.count(name)) want.insert(name);
        } else {
            REQUIRE(c.status == 0);  // it finished first
            want.insert(name);
        }
        if (names.count(name)) {
            for (const auto& dir : lower_dirs(s, name))
                CHECK(exists(dir + "/d0/f0"));
        }

        // Readers, under the shared lock, do not care what the killed import left.
        CHECK(names == want);
        CHECK(id_of(s, "keep:1") == id_of(s, "busybox"));
        check_store_consistent(s);
    }
    WARN("imports killed halfway: " << kills << " of " << extra_ms.size()
                                    << " (a whole import took " << whole << " ms)");

    // A writer clears what the killed imports staged, and works.
    REQUIRE_OK(s.lf({"import", small_tar(t, "small", 1), "small:v1"}));
    CHECK(list_dir(s.root + "/tmp").empty());
    want.insert("small:v1");
    REQUIRE_OK(s.lf({"tag", "small:v1", "small:v2"}));
    want.insert("small:v2");
    CHECK(listed_names(s) == want);

    // The same tar again: a complete image, whatever the killed runs committed.
    REQUIRE_OK(s.lf({"import", t / "big.tar", "big:final"}));
    want.insert("big:final");
    CHECK(list_dir(s.root + "/tmp").empty());
    CHECK(listed_names(s) == want);
    check_store_consistent(s);
    {
        TempDir m;
        make_dir(m / "mnt");
        Mount mount(Backend::Layerfs, lower_dirs(s, "big:final"), "", "", m / "mnt");
        INFO(mount.result().output);
        REQUIRE(mount.ok());
        std::string diff = tree_diff(snapshot(t / "big"), snapshot(m / "mnt"));
        INFO(diff);
        CHECK(diff.empty());
    }

    // prune drops whatever killed imports committed without naming; what is
    // named stays whole.
    REQUIRE_OK(s.lf({"prune"}));
    CHECK(listed_names(s) == want);
    for (const auto& name : want) {
        CAPTURE(name);
        for (const auto& dir : lower_dirs(s, name))
            CHECK(exists(dir));
    }
    CHECK(list_dir(s.root + "/layers").size() == 3);  // busybox, small, big
    check_store_consistent(s);
}

uint64_t env_number(const char* name, uint64_t fallback) {
    const char* v = std::getenv(name);
    return v && *v ? std::stoull(v) : fallback;
}

TEST_CASE("import/commit/rmi/prune killed at random moments leave nothing fsck minds",
          "[concurrency]") {
    const uint64_t seed = env_number("LAYERFS_KILL_SEED", 20261124);
    const uint64_t rounds = env_number("LAYERFS_KILL_ROUNDS", 100);
    WARN("seed " << seed << " (LAYERFS_KILL_SEED), " << rounds << " rounds (LAYERFS_KILL_ROUNDS)");
    std::mt19937_64 rng(seed);
    TestStore s;
    TempDir t;
    // Four tars of ~4 MB, and a container whose upper holds as much.
    std::vector<std::string> tars;
    std::string block(200 << 10, '\0');
    for (int k = 0; k < 4; k++) {
        std::string dir = t / ("src" + std::to_string(k));
        for (int i = 0; i < 20; i++) {
            for (auto& c : block)
                c = char(rng());
            write_file(dir + "/d" + std::to_string(i % 4) + "/f" + std::to_string(i), block);
        }
        tars.push_back(t / ("src" + std::to_string(k) + ".tar"));
        REQUIRE_OK(run({"tar", "-C", dir, "-cf", tars.back(), "."}));
    }
    REQUIRE_OK(s.lf({"create", "--name", "c1", "busybox"}));
    std::string upper = s.root + "/containers/" + list_dir(s.root + "/containers").at(0) + "/upper";
    for (int i = 0; i < 20; i++)
        write_file(upper + "/work/f" + std::to_string(i), std::string(200 << 10, char('a' + i)));

    enum Kind { Import, Commit, Rmi, Prune };
    const char* kind_names[] = {"import", "commit", "rmi", "prune"};
    // How long each takes unkilled here, only to spread the kills over it.
    long ms[4];
    auto timed = [&](Kind k, std::vector<std::string> args) {
        auto start = std::chrono::steady_clock::now();
        REQUIRE_OK(s.lf(args));
        ms[k] = 1 + std::chrono::duration_cast<std::chrono::milliseconds>(
                        std::chrono::steady_clock::now() - start)
                        .count();
    };
    timed(Import, {"import", tars[0], "warm:1"});
    timed(Commit, {"commit", "c1", "warm:c"});
    timed(Rmi, {"rmi", "warm:1"});
    REQUIRE_OK(s.lf({"tag", "busybox", "warm:c"}));  // leaves the commit untagged
    timed(Prune, {"prune"});

    std::multiset<std::string> want = {"busybox:latest", "warm:c"};
    std::vector<std::string> removable;
    int kills = 0;
    for (uint64_t round = 0; round < rounds; round++) {
        auto kind = Kind(rng() % 4);
        if (kind == Rmi && removable.empty()) kind = Import;
        std::string r = std::to_string(round);
        Child c;
        std::string name;
        if (kind == Import) {
            name = "imp/r" + r + ":v1";
            c.args = {"import", tars[rng() % tars.size()], name};
        } else if (kind == Commit) {
            name = "com/r" + r + ":v1";
            c.args = {"commit", "c1", name};
        } else if (kind == Rmi) {
            auto it = removable.begin() + long(rng() % removable.size());
            name = *it;
            removable.erase(it);
            c.args = {"rmi", name};
        } else {
            // Work for prune: an image of its own, left untagged.
            REQUIRE_OK(s.lf({"import", small_tar(t, "p" + r, int(round)), "moved:1"}));
            REQUIRE_OK(s.lf({"tag", "busybox", "moved:1"}));
            if (!want.count("moved:1")) want.insert("moved:1");
            c.args = {"prune"};
        }
        CAPTURE(round, kind_names[kind], name);
        long delay_us = long(rng() % uint64_t(ms[kind] * 1200));
        spawn(s, c, t / ("kill-" + r));
        std::this_thread::sleep_for(std::chrono::microseconds(delay_us));
        if (c.pid > 0) ::kill(c.pid, SIGKILL);
        c.wait();
        INFO(c.describe());
        if (!c.killed) REQUIRE(c.status == 0);
        kills += c.killed;

        // Readers take the store as the killed command left it; an image is
        // there whole or not at all (fsck checks every blob and layer file).
        auto names = listed_names(s);
        if (!c.killed && kind != Prune) CHECK(names.count(name) == (kind == Rmi ? 0u : 1u));
        // Untagged images stay until a prune gets through.
        if (!c.killed && kind == Prune) CHECK(names.count("<none>:<none>") == 0);
        names.erase("<none>:<none>");
        if (kind == Import || kind == Commit) {
            if (names.count(name)) {
                want.insert(name);
                removable.push_back(name);
            }
        } else if (kind == Rmi && !names.count(name)) {
            want.erase(name);
        } else if (kind == Rmi) {
            removable.push_back(name);
        }
        CHECK(names == want);
        auto before = s.lf({"fsck"});
        INFO(before.output);
        CHECK(before.status == 0);  // litter at most, no damage

        // The next writer clears what the kill left: then fsck has nothing to say.
        REQUIRE_OK(s.lf({"tag", "busybox", "busybox:latest"}));
        auto f = s.lf({"fsck"});
        INFO(f.output);
        CHECK(f.output.ends_with(": no problems\n"));
        CHECK(list_dir(s.root + "/tmp").empty());
    }
    WARN("killed " << kills << " of " << rounds << " commands midway");
    // Every image left is whole: its files read back through a mount.
    for (const auto& name : want) {
        CAPTURE(name);
        for (const auto& dir : lower_dirs(s, name))
            CHECK(exists(dir));
    }
    REQUIRE_OK(s.lf({"commit", "c1", "final:1"}));
    CHECK(read_file(lower_dirs(s, "final:1")[0] + "/work/f3") == std::string(200 << 10, 'd'));
}
