// Differential tests: the same operations on kernel overlayfs and on layerfs over
// identical layers must give the same merged tree and the same errors.
#include <sys/xattr.h>

#include <cstring>
#include <functional>
#include <random>

#include "tests/mount/mount_helpers.hpp"

using namespace layerfs::test;

namespace {

// Two lower layers with files, dirs, symlinks, hard links, a whiteout and an
// opaque dir, in the formats kernel overlayfs reads.
void build_layers(const Stack& s) {
    const std::string b = s.lower(1), t = s.lower(0);
    write_file(b + "/etc/passwd", "root:x:0:0\n", 0644);
    write_file(b + "/etc/shadow", "root:*\n", 0600);
    write_file(b + "/usr/bin/tool", "#!/bin/sh\n", 0755);
    write_file(b + "/usr/lib/liba.so", std::string(5000, 'a'));
    write_file(b + "/usr/lib/libb.so", std::string(70000, 'b'));
    write_file(b + "/var/log/old.log", "old\n");
    write_file(b + "/opt/app/data", "v1");
    write_file(b + "/home/user/.profile", "export A=1\n");
    make_symlink("../usr/bin/tool", b + "/etc/tool-link");
    REQUIRE(::link((b + "/usr/lib/liba.so").c_str(), (b + "/usr/lib/liba.so.1").c_str()) == 0);
    REQUIRE(::lchown((b + "/home/user/.profile").c_str(), 1000, 1000) == 0);
    write_file(t + "/etc/hostname", "box\n");
    write_file(t + "/usr/lib/libb.so", "patched");
    whiteout_device(t + "/var/log/old.log");
    write_file(t + "/opt/app/new", "v2");
    set_xattr(t + "/opt/app", "trusted.overlay.opaque", "y");
    make_dir(t + "/home/user/empty");
}

struct Pair {
    Stack s{2};
    TempDir kdir;
    std::string kupper = kdir / "upper", kwork = kdir / "work", kmnt = kdir / "mnt";
    std::unique_ptr<Mount> kernel, layerfs;
    explicit Pair(const std::string& kernel_opts) {
        build_layers(s);
        for (auto& d : {kupper, kwork, kmnt})
            make_dir(d);
        kernel =
            std::make_unique<Mount>(Backend::Kernel, s.lowers, kupper, kwork, kmnt, kernel_opts);
        layerfs = std::make_unique<Mount>(Backend::Layerfs, s.lowers, s.upper, s.work, s.mnt);
    }
    // Runs op on both mounts; the errors must match.
    void both(const std::string& what, const std::function<int(const std::string&)>& op) {
        int ke = op(kmnt), le = op(s.mnt);
        INFO(what);
        CHECK(strerror_name(ke) == strerror_name(le));
    }
    static std::string strerror_name(int e) { return e ? std::strerror(e) : "ok"; }
    void compare() {
        TreeOptions o;
        CHECK(tree_diff(snapshot(kmnt, o), snapshot(s.mnt, o)) == "");
    }
};

int write_at(const std::string& p, std::string_view data, int flags) {
    int fd = ::open(p.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC | flags, 0644);
    if (fd < 0) return errno;
    int e = ::write(fd, data.data(), data.size()) == ssize_t(data.size()) ? 0 : errno;
    ::close(fd);
    return e;
}

}  // namespace

TEST_CASE("scripted container changes: same tree and same upper as kernel overlayfs") {
    // index=on: the kernel keeps lower hard links linked across copy-up, as layerfs does.
    Pair p("index=on");
    REQUIRE_MOUNTED(*p.kernel);
    REQUIRE_MOUNTED(*p.layerfs);
    p.compare();
    p.both("append passwd",
           [](auto m) { return write_at(m + "/etc/passwd", "app:x:1\n", O_APPEND); });
    p.both("new resolv.conf",
           [](auto m) { return write_at(m + "/etc/resolv.conf", "ns\n", O_TRUNC); });
    p.both("rm shadow", [](auto m) { return err_of(::unlink((m + "/etc/shadow").c_str())); });
    p.both("chmod tool",
           [](auto m) { return err_of(::chmod((m + "/usr/bin/tool").c_str(), 0700)); });
    p.both("chown profile",
           [](auto m) { return err_of(::lchown((m + "/home/user/.profile").c_str(), 0, 0)); });
    p.both("rm -r var/log", [](auto m) { return err_of(::rmdir((m + "/var/log").c_str())); });
    p.both("rm libb", [](auto m) { return err_of(::unlink((m + "/usr/lib/libb.so").c_str())); });
    p.both("mkdir over whiteout",
           [](auto m) { return err_of(::mkdir((m + "/var/log/x").c_str(), 0755)); });
    p.both("truncate liba.so.1",
           [](auto m) { return err_of(::truncate((m + "/usr/lib/liba.so.1").c_str(), 10)); });
    p.compare();

    p.both("rename file", [](auto m) {
        return err_of(::rename((m + "/etc/hostname").c_str(), (m + "/etc/hostname.old").c_str()));
    });
    p.both("rmdir empty", [](auto m) { return err_of(::rmdir((m + "/home/user/empty").c_str())); });
    p.both("mkdir again",
           [](auto m) { return err_of(::mkdir((m + "/home/user/empty").c_str(), 0700)); });
    p.both("symlink", [](auto m) { return err_of(::symlink("/etc/passwd", (m + "/pw").c_str())); });
    p.both("link", [](auto m) {
        return err_of(::link((m + "/etc/passwd").c_str(), (m + "/etc/passwd.bak").c_str()));
    });
    p.both("rmdir non-empty", [](auto m) { return err_of(::rmdir((m + "/usr").c_str())); });
    p.both("rm whited-out",
           [](auto m) { return err_of(::unlink((m + "/var/log/old.log").c_str())); });
    p.compare();
    auto kup = logical_upper(p.kupper), lup = logical_upper(p.s.upper);
    // The kernel links the other name of a hard link from its index lazily,
    // layerfs as soon as it is looked up: the upper layers may differ there only.
    for (auto* up : {&kup, &lup})
        up->erase("/usr/lib/liba.so");
    CHECK(tree_diff(kup, lup) == "");
}

TEST_CASE("random operation sequences (seeded) agree with kernel overlayfs") {
    const unsigned seed = GENERATE(1u, 2u, 3u, 4u);
    INFO("seed " << seed);
    Pair p("index=on,redirect_dir=on");
    REQUIRE_MOUNTED(*p.kernel);
    REQUIRE_MOUNTED(*p.layerfs);
    std::mt19937 rng(seed);
    const std::vector<std::string> dirs = {"",           "/etc",     "/usr/lib", "/opt/app",
                                           "/home/user", "/var/log", "/new",     "/usr/bin"};
    const std::vector<std::string> names = {
        "passwd", "shadow", "liba.so", "libb.so", "liba.so.1", "data",  "new",     "tool",
        "x",      "y",      "z",       "sub",     ".profile",  "empty", "old.log", "hostname"};
    auto pick = [&](const auto& v) { return v[rng() % v.size()]; };
    auto path = [&] { return pick(dirs) + "/" + pick(names); };
    for (int i = 0; i < 400; ++i) {
        const std::string a = path(), b = path();
        const std::string content(rng() % 3000, char('a' + rng() % 26));
        switch (rng() % 11) {
            case 0:
                p.both("write " + a, [&](auto m) { return write_at(m + a, content, O_TRUNC); });
                break;
            case 1:
                p.both("append " + a, [&](auto m) { return write_at(m + a, content, O_APPEND); });
                break;
            case 2:
                p.both("unlink " + a, [&](auto m) { return err_of(::unlink((m + a).c_str())); });
                break;
            case 3:
                p.both("mkdir " + a,
                       [&](auto m) { return err_of(::mkdir((m + a).c_str(), 0755)); });
                break;
            case 4:
                p.both("rmdir " + a, [&](auto m) { return err_of(::rmdir((m + a).c_str())); });
                break;
            case 5:
                p.both("rename " + a + " " + b,
                       [&](auto m) { return err_of(::rename((m + a).c_str(), (m + b).c_str())); });
                break;
            case 6: {
                mode_t mode = (rng() % 2) ? 0600 : 0755;
                p.both("chmod " + a,
                       [&](auto m) { return err_of(::chmod((m + a).c_str(), mode)); });
                break;
            }
            case 7:
                p.both("symlink " + a,
                       [&](auto m) { return err_of(::symlink("t", (m + a).c_str())); });
                break;
            case 8:
                p.both("link " + a + " " + b,
                       [&](auto m) { return err_of(::link((m + a).c_str(), (m + b).c_str())); });
                break;
            case 9: {
                off_t len = off_t(rng() % 100);
                p.both("truncate " + a,
                       [&](auto m) { return err_of(::truncate((m + a).c_str(), len)); });
                break;
            }
            case 10:
                p.both("setxattr " + a, [&](auto m) {
                    return err_of(::lsetxattr((m + a).c_str(), "user.k", "v", 1, 0));
                });
                break;
        }
        if (i % 50 == 49) p.compare();
    }
    p.compare();
}
