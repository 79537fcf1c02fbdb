// What podman and buildah need of a mount_program, each compared with the
// peer that gets it right: layer paths given as symlinks (podman's overlay/l/
// links), allow_other and suid as fuse-overlayfs mounts them, fuse-overlayfs's
// uidmapping= and gidmapping=, directory link counts and inode numbers as
// kernel overlayfs reports them.
#include <sys/stat.h>

#include <cstring>
#include <map>

#include "tests/mount/mount_helpers.hpp"

using namespace layerfs::test;

namespace {

// The flags of the mount at mnt in /proc/self/mountinfo (field 6, per mount).
std::string mount_flags(const std::string& mnt) {
    std::istringstream in(read_file("/proc/self/mountinfo"));
    std::string found;
    for (std::string line; std::getline(in, line);) {
        std::istringstream f(line);
        std::string id, parent, dev, root, point, flags;
        f >> id >> parent >> dev >> root >> point >> flags;
        if (point == mnt) found = "," + flags + ",";  // the last mount there is on top
    }
    return found;
}

// What `cmd` run as uid:gid 1000 prints, and its exit status.
RunResult as_user_1000(std::vector<std::string> cmd) {
    std::vector<std::string> argv = {"setpriv", "--reuid=1000", "--regid=1000", "--clear-groups"};
    argv.insert(argv.end(), cmd.begin(), cmd.end());
    return run(argv);
}

}  // namespace

TEST_CASE("layer paths are followed when they are symlinks, as podman's overlay/l/ links are") {
    Stack s(2);
    write_file(s.lower(0) + "/top", "top");
    write_file(s.lower(1) + "/bottom", "bottom");
    const std::string l = s.tmp / "l";
    make_dir(l);
    make_symlink(s.lower(0), l + "/A");
    make_symlink("../l0", l + "/B");  // relative, as podman writes them
    make_symlink(s.lower(1), l + "/C");
    make_symlink(s.upper, s.tmp / "U");
    make_symlink(s.work, s.tmp / "W");
    Mount m(Backend::Layerfs, {l + "/B", l + "/C"}, s.tmp / "U", s.tmp / "W", s.mnt);
    REQUIRE_MOUNTED(m);
    CHECK(read_file(m / "top") == "top");
    CHECK(read_file(m / "bottom") == "bottom");
    write_file(m / "new", "new");
    CHECK(read_file(s.upper + "/new") == "new");
    // Inside a layer a symlink stays a symlink.
    make_symlink("/etc", s.lower(0) + "/link");
    CHECK(S_ISLNK(lstat_of(m / "link").st_mode));
}

TEST_CASE("a layer path that is a dangling symlink, a loop or a link to a file: exit 2, named") {
    Stack s(1);
    make_symlink(s.tmp / "nowhere", s.tmp / "dangling");
    make_symlink(s.tmp / "loop2", s.tmp / "loop1");
    make_symlink(s.tmp / "loop1", s.tmp / "loop2");
    write_file(s.tmp / "file", "f");
    make_symlink(s.tmp / "file", s.tmp / "tofile");
    struct Case {
        std::string option, path, reason;
    } cases[] = {
        {"lowerdir", s.tmp / "dangling", "No such file"},
        {"lowerdir", s.tmp / "loop1", "Too many levels of symbolic links"},
        {"lowerdir", s.tmp / "tofile", "Not a directory"},
        {"upperdir", s.tmp / "dangling", "No such file"},
        {"workdir", s.tmp / "tofile", "Not a directory"},
    };
    for (auto& c : cases) {
        std::string o = c.option == "lowerdir"
                            ? "lowerdir=" + c.path
                            : "lowerdir=" + s.lower(0) +
                                  ",upperdir=" + (c.option == "upperdir" ? c.path : s.upper) +
                                  ",workdir=" + (c.option == "workdir" ? c.path : s.work);
        for (std::string bin : {layerfs_bin() + "-mount", layerfs_bin()}) {
            auto r = bin == layerfs_bin() ? run({bin, "mount", "-o", o, s.mnt})
                                          : run({bin, "-o", o, s.mnt});
            INFO(bin << " -o " << o << ": " << r.output);
            CHECK(r.status == 2);
            CHECK(r.output.find(c.option + " '" + c.path + "'") != std::string::npos);
            CHECK(r.output.find(c.reason) != std::string::npos);
            CHECK_FALSE(is_mounted(s.mnt));
        }
    }
}

TEST_CASE("allow_other by default, as fuse-overlayfs: another uid reaches the mount") {
    REQUIRE(::geteuid() == 0);
    for (Backend b : {Backend::FuseOverlayfs, Backend::Layerfs}) {
        INFO(backend_name(b));
        Stack s(1);
        REQUIRE(::chmod(s.tmp.path().c_str(), 0755) == 0);  // uid 1000 reaches the mount point
        write_file(s.lower(0) + "/bin/tool", "#!/bin/sh\necho ran as $(id -u)\n", 0755);
        write_file(s.lower(0) + "/private", "no", 0600);
        Mount m(b, s.lowers, s.upper, s.work, s.mnt);
        REQUIRE_MOUNTED(m);
        CHECK(mount_flags(s.mnt).find(",nodev,") != std::string::npos);
        auto r = as_user_1000({"sh", m / "bin/tool"});
        INFO(r.output);
        CHECK(r.status == 0);
        CHECK(r.output == "ran as 1000\n");
        // The kernel still checks each caller against the mode the mount shows.
        CHECK(as_user_1000({"cat", m / "private"}).status != 0);
    }
}

TEST_CASE("suid by default, as fuse-overlayfs, and nosuid, nodev and dev when asked") {
    REQUIRE(::geteuid() == 0);
    for (Backend b : {Backend::FuseOverlayfs, Backend::Layerfs}) {
        INFO(backend_name(b));
        Stack s(1);
        {
            Mount m(b, s.lowers, s.upper, s.work, s.mnt);
            REQUIRE_MOUNTED(m);
            auto flags = mount_flags(s.mnt);
            INFO(flags);
            CHECK(flags.find(",nosuid,") == std::string::npos);
            CHECK(flags.find(",nodev,") != std::string::npos);
        }
        {
            Mount m(b, s.lowers, s.upper, s.work, s.mnt, "nosuid,dev");
            REQUIRE_MOUNTED(m);
            auto flags = mount_flags(s.mnt);
            INFO(flags);
            CHECK(flags.find(",nosuid,") != std::string::npos);
            CHECK(flags.find(",nodev,") == std::string::npos);
        }
    }
}

// fuse-overlayfs is the reference: its man page's mapping, and podman's
// keep-id mapping with its leading colon. Ownership both ways: what lower files
// show as, and what a chown and a new file through the mount store.
TEST_CASE("uidmapping and gidmapping mean what they mean to fuse-overlayfs") {
    REQUIRE(::geteuid() == 0);
    const std::vector<uint32_t> stored = {0, 1, 2, 1000, 1001, 65536, 70000, 200000};
    for (std::string mapping : {"0:1000:1:1:110000:65536", ":0:1:1001:1001:0:1:1002:1002:64534"}) {
        std::map<std::string, std::vector<std::string>> seen;  // backend -> observations
        for (Backend b : {Backend::FuseOverlayfs, Backend::Layerfs}) {
            Stack s(1);
            for (uint32_t id : stored) {
                const std::string f = s.lower(0) + "/f" + std::to_string(id);
                write_file(f, "x");
                REQUIRE(::lchown(f.c_str(), id, id + 1) == 0);
            }
            Mount m(b, s.lowers, s.upper, s.work, s.mnt,
                    "uidmapping=" + mapping + ",gidmapping=" + mapping);
            REQUIRE_MOUNTED(m);
            auto& out = seen[backend_name(b)];
            for (uint32_t id : stored) {
                auto st = lstat_of(m / ("f" + std::to_string(id)));
                out.push_back("f" + std::to_string(id) + " shows " + std::to_string(st.st_uid) +
                              ":" + std::to_string(st.st_gid));
            }
            for (uint32_t to : {0u, 1u, 1000u, 1001u, 110000u, 65534u, 5000000u}) {
                const std::string name = "f" + std::to_string(stored[1]);
                int rc = ::lchown((m / name).c_str(), to, to);
                auto up = lstat_of(s.upper + "/" + name);
                out.push_back("chown " + std::to_string(to) + ": " +
                              (rc == 0 ? "stored " + std::to_string(up.st_uid) + ":" +
                                             std::to_string(up.st_gid)
                                       : std::string("error ") + std::strerror(errno)));
            }
            write_file(m / "new", "n");
            auto up = lstat_of(s.upper + "/new");
            out.push_back("new file stored as " + std::to_string(up.st_uid) + ":" +
                          std::to_string(up.st_gid) + ", shows as " +
                          std::to_string(lstat_of(m / "new").st_uid));
        }
        INFO("mapping " << mapping);
        CHECK(seen["layerfs"] == seen["fuse-overlayfs"]);
    }
}

TEST_CASE("a copied-up directory's link count is never too low: 1, as kernel overlayfs") {
    REQUIRE(::geteuid() == 0);
    std::map<std::string, std::vector<nlink_t>> counts;
    for (Backend b : {Backend::Kernel, Backend::Layerfs}) {
        Stack s(1);
        make_dir(s.lower(0) + "/d/s1");
        make_dir(s.lower(0) + "/d/s2");
        Mount m(b, s.lowers, s.upper, s.work, s.mnt);
        REQUIRE_MOUNTED(m);
        auto& c = counts[backend_name(b)];
        c.push_back(lstat_of(m / "d").st_nlink);
        REQUIRE(::mkdir((m / "d/new").c_str(), 0755) == 0);
        c.push_back(lstat_of(m / "d").st_nlink);
        REQUIRE(::rmdir((m / "d/new").c_str()) == 0);
        c.push_back(lstat_of(m / "d").st_nlink);
        REQUIRE(::rmdir((m / "d/s1").c_str()) == 0);
        c.push_back(lstat_of(m / "d").st_nlink);
        m.unmount();
        Mount again(b, s.lowers, s.upper, s.work, s.mnt);
        REQUIRE_MOUNTED(again);
        c.push_back(lstat_of(again / "d").st_nlink);
    }
    CHECK(counts["layerfs"] == counts["overlay"]);
    CHECK(counts["layerfs"] == std::vector<nlink_t>{4, 1, 1, 1, 1});
}

TEST_CASE("a read-only stack on one file system shows the real inode numbers, as the kernel") {
    REQUIRE(::geteuid() == 0);
    Stack s(2);
    write_file(s.lower(0) + "/a", "a");
    write_file(s.lower(1) + "/b", "b");
    make_dir(s.lower(1) + "/d");
    for (std::string extra : {"", "xino=off", "xino=on", "xino=auto"}) {
        INFO("options '" << extra << "'");
        std::map<std::string, std::vector<ino_t>> inos;
        for (Backend b : {Backend::Kernel, Backend::Layerfs}) {
            // The kernel takes no xino= with lowers alone on one file system: give it none.
            Mount m(b, s.lowers, "", "", s.mnt, b == Backend::Kernel ? "" : extra);
            REQUIRE_MOUNTED(m);
            for (auto n : {"a", "b", "d"})
                inos[backend_name(b)].push_back(lstat_of(m / n).st_ino);
        }
        CHECK(inos["layerfs"] == inos["overlay"]);
        CHECK(inos["layerfs"] == std::vector<ino_t>{lstat_of(s.lower(0) + "/a").st_ino,
                                                    lstat_of(s.lower(1) + "/b").st_ino,
                                                    lstat_of(s.lower(1) + "/d").st_ino});
    }
}
