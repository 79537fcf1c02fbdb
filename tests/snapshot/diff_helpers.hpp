#pragma once
// Helpers of the diff tests: lowers, the same script through each back end,
// and the expected A/C/D lines.
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "tests/store/store_helpers.hpp"
#include "tests/support/fixture.hpp"
#include "tests/support/oci_builder.hpp"

using namespace layerfs::test;
using json = nlohmann::json;
using Lines = std::vector<std::string>;

namespace diff_test {

// Every lower entry's mtime, nanoseconds included: the exact rule compares them,
// and scripts set it back with `touch -d` to make an edit that keeps it.
constexpr const char* kOldTime = "@1577836800.123456789";

const Backend kBackends[] = {Backend::Layerfs, Backend::Kernel, Backend::FuseOverlayfs};

inline Lines lines_of(const std::string& out) {
    Lines l;
    size_t start = 0;
    while (start < out.size()) {
        size_t end = out.find('\n', start);
        if (end == std::string::npos) end = out.size();
        l.push_back(out.substr(start, end - start));
        start = end + 1;
    }
    return l;
}

// Docker sorts by path in byte order; so must the expected lists.
inline Lines by_path(Lines l) {
    std::sort(l.begin(), l.end(),
              [](const std::string& a, const std::string& b) { return a.substr(2) < b.substr(2); });
    return l;
}

inline Lines operator+(Lines a, const Lines& b) {
    a.insert(a.end(), b.begin(), b.end());
    return a;
}

inline std::string trimmed(std::string s) {
    while (!s.empty() && (s.back() == '\n' || s.back() == ' '))
        s.pop_back();
    return s;
}

inline std::string joined(const std::vector<std::string>& dirs) {
    std::string out;
    for (const auto& d : dirs)
        out += (out.empty() ? "" : ":") + d;
    return out;
}

// `layerfs diff FLAGS... --lower TOP:...:BOTTOM --upper UPPER`
inline RunResult diff_dirs(const std::vector<std::string>& lowers, const std::string& upper,
                           const std::vector<std::string>& flags = {}) {
    std::vector<std::string> argv{layerfs_bin(), "diff"};
    argv.insert(argv.end(), flags.begin(), flags.end());
    argv.insert(argv.end(), {"--lower", joined(lowers), "--upper", upper});
    return run(argv);
}

// The json form (docker's API: Kind 0 changed, 1 added, 2 deleted) as text lines.
inline Lines json_lines(const std::string& out) {
    auto j = json::parse(out, nullptr, false);
    INFO(out);
    REQUIRE(j.is_array());
    Lines l;
    for (const auto& e : j) {
        REQUIRE(e.is_object());
        REQUIRE(e.size() == 2);
        REQUIRE(e.contains("Path"));
        REQUIRE(e["Path"].is_string());
        REQUIRE(e.contains("Kind"));
        REQUIRE(e["Kind"].is_number_integer());
        int k = e["Kind"].get<int>();
        REQUIRE((k >= 0 && k <= 2));
        static const char* const letters[] = {"C", "A", "D"};
        l.push_back(std::string(letters[k]) + " " + e["Path"].get<std::string>());
    }
    return l;
}

// A shell script run with the mount point as $1.
inline RunResult sh(const std::string& script, const std::string& mnt) {
    return run({"sh", "-ec", script, "sh", mnt});
}

inline void touch_all(const std::vector<std::string>& roots, const char* when = kOldTime) {
    std::vector<std::string> argv{"find"};
    argv.insert(argv.end(), roots.begin(), roots.end());
    argv.insert(argv.end(), {"-exec", "touch", "-h", "-d", when, "{}", "+"});
    REQUIRE_OK(run(argv));
}

// More than the differ's 1 MiB read chunk, and not a multiple of it.
constexpr size_t kBlobSize = (3 << 20) + 17;
inline std::string blob() {
    std::string b(kBlobSize, '\0');
    for (size_t i = 0; i < b.size(); i++)
        b[i] = char('a' + i % 26);
    return b;
}

// Two lower layers in the kernel's format, so all three back ends read them:
// files, dirs merged from both, a symlink, a hard-linked pair, xattrs, a large
// file, a device node, a whiteout and an opaque directory in the top layer.
struct Lowers {
    TempDir tmp;
    std::string top = tmp / "l0", bottom = tmp / "l1";
    std::vector<std::string> dirs() const { return {top, bottom}; }

    Lowers() {
        const std::string& b = bottom;
        write_file(b + "/etc/passwd", "root:x:0:0\n");
        write_file(b + "/etc/shadow", "root:*\n", 0600);
        write_file(b + "/etc/group", "root:x:0:\n");  // hidden by the top layer's whiteout
        write_file(b + "/d/f", "f\n");
        write_file(b + "/d/g", "g\n");
        write_file(b + "/d/sub/deep", "deep\n");
        write_file(b + "/bin/tool", "tool\n", 0755);
        REQUIRE(::link((b + "/bin/tool").c_str(), (b + "/bin/tool2").c_str()) == 0);
        make_symlink("etc/passwd", b + "/link");
        write_file(b + "/attr", "attr\n");
        set_xattr(b + "/attr", "user.a", "1");
        write_file(b + "/o/b", "b\n");  // hidden by the top layer's opaque /o
        write_file(b + "/big/a/b/c", "c\n");
        write_file(b + "/big/x", "x\n");
        write_file(b + "/var/blob", blob());
        make_dir(b + "/dev");
        REQUIRE(::mknod((b + "/dev/null").c_str(), S_IFCHR | 0666, makedev(1, 3)) == 0);
        REQUIRE(::chmod((b + "/dev/null").c_str(), 0666) == 0);
        const std::string& t = top;
        write_file(t + "/etc/hostname", "box\n");
        whiteout_device(t + "/etc/group");
        write_file(t + "/d/h", "h\n");
        write_file(t + "/o/a", "a\n");
        set_xattr(t + "/o", "trusted.overlay.opaque", "y");
        touch_all(dirs());
    }

    // The layer the merged tree takes `rel` ("/etc") from.
    std::string source(const std::string& rel) const {
        return exists(top + rel) ? top + rel : bottom + rel;
    }
};

struct Op {
    std::string what;
    std::string script;  // sh -e, the mount point is $1
    Lines exact;         // what the default (exact) rule reports
    // Upper entries that exist below but differ in nothing: C under --docker only.
    Lines docker_extra = {};
    // fuse-overlayfs does not keep a directory's mtime when it copies it up as
    // the parent of a copied-up file: that directory really differs (checked).
    Lines fuse_extra = {};
    // Entries fuse-overlayfs copies up besides (checked to be in its upper).
    Lines fuse_docker_extra = {};
};

inline bool same_mtime(const struct stat& a, const struct stat& b) {
    return a.st_mtim.tv_sec == b.st_mtim.tv_sec && a.st_mtim.tv_nsec == b.st_mtim.tv_nsec;
}

// Runs each operation through each back end on fresh lowers and upper, and checks
// the text, --docker and json output of `layerfs diff` on that upper.
inline void check_ops(const std::vector<Op>& ops) {
    for (const auto& op : ops) {
        std::map<Backend, std::string> outputs;
        for (Backend b : kBackends) {
            INFO(op.what << " through " << backend_name(b));
            Lowers lowers;
            TempDir t;
            std::string upper = t / "upper", work = t / "work", mnt = t / "mnt";
            for (const auto& d : {upper, work, mnt})
                make_dir(d);
            {
                Mount m(b, lowers.dirs(), upper, work, mnt);
                INFO(m.result().output);
                REQUIRE(m.ok());
                auto r = sh(op.script, mnt);
                INFO(r.output);
                REQUIRE(r.status == 0);
            }
            REQUIRE_FALSE(is_mounted(mnt));
            Lines want = op.exact;
            if (b == Backend::FuseOverlayfs) {
                for (const auto& line : op.fuse_extra) {
                    INFO(line);
                    std::string rel = line.substr(2);
                    CHECK_FALSE(same_mtime(lstat_of(upper + rel), lstat_of(lowers.source(rel))));
                }
                want = want + op.fuse_extra;
            }
            auto r = diff_dirs(lowers.dirs(), upper);
            INFO(r.output);
            REQUIRE(r.status == 0);
            CHECK(lines_of(r.output) == by_path(want));
            outputs[b] = r.output;

            auto docker = diff_dirs(lowers.dirs(), upper, {"--docker"});
            INFO(docker.output);
            REQUIRE(docker.status == 0);
            Lines dwant = want;
            Lines extras = op.docker_extra;
            if (b == Backend::FuseOverlayfs) {
                for (const auto& line : op.fuse_docker_extra)
                    CHECK(exists(upper + line.substr(2)));
                extras = extras + op.fuse_docker_extra;
            }
            for (const auto& extra : extras)
                if (std::find(dwant.begin(), dwant.end(), extra) == dwant.end())
                    dwant.push_back(extra);
            CHECK(lines_of(docker.output) == by_path(dwant));

            auto j = diff_dirs(lowers.dirs(), upper, {"--format", "json"});
            INFO(j.output);
            REQUIRE(j.status == 0);
            CHECK(json_lines(j.output) == lines_of(r.output));
        }
        if (op.fuse_extra.empty()) {
            INFO(op.what);
            CHECK(outputs[Backend::Layerfs] == outputs[Backend::Kernel]);
            CHECK(outputs[Backend::Layerfs] == outputs[Backend::FuseOverlayfs]);
        }
    }
}

// A store container mounted with `layerfs mount`, unmounted at scope exit even
// when a check fails.
struct ContainerMount {
    const TestStore& s;
    std::string name, merged;
    ContainerMount(const TestStore& store, std::string n) : s(store), name(std::move(n)) {
        auto r = s.lf({"mount", name});
        INFO(r.output);
        REQUIRE(r.status == 0);
        merged = trimmed(r.output);
        REQUIRE(is_mounted(merged));
    }
    ~ContainerMount() { unmount(); }
    void unmount() {
        if (merged.empty() || !is_mounted(merged)) return;
        s.lf({"umount", name});
        if (!is_mounted(merged)) return;
        if (::geteuid() == 0)
            run({"umount", "-l", merged});
        else
            run({"fusermount3", "-u", "-z", merged});
    }
};

inline std::string create_container(const TestStore& s, const std::string& image,
                                    const std::string& name) {
    auto r = s.lf({"create", "--name", name, image});
    INFO(r.output);
    REQUIRE(r.status == 0);
    std::string id = trimmed(r.output);
    REQUIRE(id.size() == 64);
    return id;
}

inline Lines container_diff(const TestStore& s, const std::string& what,
                            std::vector<std::string> flags = {}) {
    flags.insert(flags.begin(), "diff");
    flags.push_back(what);
    auto r = s.lf(flags);
    INFO(r.output);
    REQUIRE(r.status == 0);
    return lines_of(r.output);
}

// Lower directories whose path no upper entry names must not even be opened:
// inotify reports every open and listing of a watched directory, synchronously
// with the syscall, so what the diff touched is known once it has exited.
class DirWatch {
  public:
    explicit DirWatch(const std::vector<std::string>& roots) {
        fd_ = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
        REQUIRE(fd_ >= 0);
        for (const auto& root : roots) {
            add(root, "/");
            for (const auto& e : std::filesystem::recursive_directory_iterator(root))
                if (e.is_directory() && !e.is_symlink())
                    add(e.path(), "/" + std::filesystem::relative(e.path(), root).string());
        }
        drain();  // what listing the layers to watch them caused
    }
    ~DirWatch() { ::close(fd_); }

    // Directories (relative, "/" for a layer's root) opened, and those listed.
    struct Seen {
        std::set<std::string> opened, listed;
    };
    Seen drain() {
        Seen seen;
        alignas(inotify_event) char buf[65536];
        for (;;) {
            ssize_t n = ::read(fd_, buf, sizeof buf);
            if (n <= 0) break;
            for (char* p = buf; p < buf + n;) {
                auto* ev = reinterpret_cast<inotify_event*>(p);
                p += sizeof(inotify_event) + ev->len;
                // Events on the directory itself, not on a child it names.
                if (ev->len != 0) continue;
                const std::string& rel = dirs_.at(ev->wd);
                if (ev->mask & IN_OPEN) seen.opened.insert(rel);
                if (ev->mask & IN_ACCESS) seen.listed.insert(rel);
            }
        }
        return seen;
    }

  private:
    void add(const std::string& path, const std::string& rel) {
        int wd = ::inotify_add_watch(fd_, path.c_str(), IN_OPEN | IN_ACCESS | IN_ONLYDIR);
        REQUIRE(wd >= 0);
        dirs_[wd] = rel;
    }
    int fd_ = -1;
    std::map<int, std::string> dirs_;
};

// A directory of a hand-made upper with the mode of the lower one it shadows;
// callers set its mtime back (touch_all) when nothing else should differ.
inline void upper_dir_like(const std::string& upper_dir, const std::string& lower_dir) {
    make_dir(upper_dir, lstat_of(lower_dir).st_mode & 07777);
}

}  // namespace diff_test

using namespace diff_test;
