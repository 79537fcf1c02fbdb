// `layerfs diff`: the A/C/D list of what an upper layer changed in the tree its
// lower layers show. The same shell operations are run through layerfs, kernel
// overlayfs and fuse-overlayfs, each on a fresh upper over the same lowers, and
// the diff of each upper must be the list the operation implies, so the three
// back ends agree. Then store containers (root and rootless), the json form,
// errors, and that the walk never enters lower directories the upper leaves alone.
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

namespace {

// Every lower entry's mtime, nanoseconds included: the exact rule compares them,
// and scripts set it back with `touch -d` to make an edit that keeps it.
constexpr const char* kOldTime = "@1577836800.123456789";

const Backend kBackends[] = {Backend::Layerfs, Backend::Kernel, Backend::FuseOverlayfs};

Lines lines_of(const std::string& out) {
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
Lines by_path(Lines l) {
    std::sort(l.begin(), l.end(),
              [](const std::string& a, const std::string& b) { return a.substr(2) < b.substr(2); });
    return l;
}

Lines operator+(Lines a, const Lines& b) {
    a.insert(a.end(), b.begin(), b.end());
    return a;
}

std::string trimmed(std::string s) {
    while (!s.empty() && (s.back() == '\n' || s.back() == ' '))
        s.pop_back();
    return s;
}

std::string joined(const std::vector<std::string>& dirs) {
    std::string out;
    for (const auto& d : dirs)
        out += (out.empty() ? "" : ":") + d;
    return out;
}

// `layerfs diff FLAGS... --lower TOP:...:BOTTOM --upper UPPER`
RunResult diff_dirs(const std::vector<std::string>& lowers, const std::string& upper,
                    const std::vector<std::string>& flags = {}) {
    std::vector<std::string> argv{layerfs_bin(), "diff"};
    argv.insert(argv.end(), flags.begin(), flags.end());
    argv.insert(argv.end(), {"--lower", joined(lowers), "--upper", upper});
    return run(argv);
}

// The json form (docker's API: Kind 0 changed, 1 added, 2 deleted) as text lines.
Lines json_lines(const std::string& out) {
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
RunResult sh(const std::string& script, const std::string& mnt) {
    return run({"sh", "-ec", script, "sh", mnt});
}

void touch_all(const std::vector<std::string>& roots, const char* when = kOldTime) {
    std::vector<std::string> argv{"find"};
    argv.insert(argv.end(), roots.begin(), roots.end());
    argv.insert(argv.end(), {"-exec", "touch", "-h", "-d", when, "{}", "+"});
    REQUIRE_OK(run(argv));
}

// More than the differ's 1 MiB read chunk, and not a multiple of it.
constexpr size_t kBlobSize = (3 << 20) + 17;
std::string blob() {
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

bool same_mtime(const struct stat& a, const struct stat& b) {
    return a.st_mtim.tv_sec == b.st_mtim.tv_sec && a.st_mtim.tv_nsec == b.st_mtim.tv_nsec;
}

// Runs each operation through each back end on fresh lowers and upper, and checks
// the text, --docker and json output of `layerfs diff` on that upper.
void check_ops(const std::vector<Op>& ops) {
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

std::string create_container(const TestStore& s, const std::string& image,
                             const std::string& name) {
    auto r = s.lf({"create", "--name", name, image});
    INFO(r.output);
    REQUIRE(r.status == 0);
    std::string id = trimmed(r.output);
    REQUIRE(id.size() == 64);
    return id;
}

Lines container_diff(const TestStore& s, const std::string& what,
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
void upper_dir_like(const std::string& upper_dir, const std::string& lower_dir) {
    make_dir(upper_dir, lstat_of(lower_dir).st_mode & 07777);
}

}  // namespace

// ---- each change kind, through layerfs, kernel overlayfs and fuse-overlayfs --

TEST_CASE("diff of added entries is the same on layerfs, kernel and fuse-overlayfs uppers") {
    check_ops({
        {"add a file at the root", R"(echo new > "$1/new")", {"A /new"}},
        {"add a file to a lower dir", R"(echo new > "$1/etc/new")", {"C /etc", "A /etc/new"}},
        {"add a dir tree: every descendant is A",
         R"(mkdir -p "$1/n/a/b"; echo f > "$1/n/a/b/f"; ln -s f "$1/n/a/b/l"; mkfifo "$1/n/p")",
         {"A /n", "A /n/a", "A /n/a/b", "A /n/a/b/f", "A /n/a/b/l", "A /n/p"}},
        {"a name a lower whiteout hides is added, not changed",
         R"(echo new > "$1/etc/group")",
         {"C /etc", "A /etc/group"}},
        {"a name only a hidden layer under an opaque lower dir has is added",
         R"(echo b > "$1/o/b")",
         {"C /o", "A /o/b"}},
        // '-' < '/' < '0' in bytes: the parent's children do not come right after it.
        {"paths sort in byte order",
         R"(mkdir "$1/d-x" "$1/d/x" "$1/d0")",
         {"C /d", "A /d-x", "A /d/x", "A /d0"}},
        {"a file made and removed again leaves nothing", R"(echo t > "$1/t"; rm "$1/t")", {}},
    });
}

TEST_CASE("diff of modified data is the same on layerfs, kernel and fuse-overlayfs uppers") {
    check_ops({
        {"append to a lower file", R"(echo more >> "$1/etc/passwd")", {"C /etc", "C /etc/passwd"}},
        {"truncate a lower file", R"(: > "$1/etc/passwd")", {"C /etc", "C /etc/passwd"}},
        // Same size, mtime set back: only the content tells, so it must be read.
        {"rewrite a lower file keeping its size and mtime",
         std::string(R"sh(test "$(stat -c %s "$1/etc/passwd")" = 11
            printf 'ROOT:X:0:0\n' | dd of="$1/etc/passwd" conv=notrunc status=none
            touch -d )sh") +
             kOldTime + R"sh( "$1/etc/passwd"
            test "$(stat -c %s.%Y "$1/etc/passwd")" = "11.1577836800"
            test "$(cat "$1/etc/passwd")" = ROOT:X:0:0)sh",
         {"C /etc", "C /etc/passwd"}},
        // The byte is past the first read chunk, the size is not a multiple of it.
        {"rewrite the last byte of a 3 MiB file keeping its size and mtime",
         std::string(R"sh(printf Z | dd of="$1/var/blob" bs=1 seek=$((3 * 1048576 + 16)) \
                conv=notrunc status=none
            touch -d )sh") +
             kOldTime + R"sh( "$1/var/blob"
            test "$(stat -c %s.%Y "$1/var/blob")" = ")sh" +
             std::to_string(kBlobSize) + R"sh(.1577836800")sh",
         {"C /var", "C /var/blob"}},
        {"modify a file in a dir merged from both lowers",
         R"(echo more >> "$1/d/g")",
         {"C /d", "C /d/g"}},
    });
}

TEST_CASE(
    "diff of metadata-only changes is the same on layerfs, kernel and fuse-overlayfs uppers") {
    check_ops({
        {"chmod", R"(chmod 600 "$1/etc/passwd")", {"C /etc", "C /etc/passwd"}},
        {"chown", R"(chown 12:34 "$1/etc/passwd")", {"C /etc", "C /etc/passwd"}},
        {"touch -m", R"(touch -m "$1/etc/passwd")", {"C /etc", "C /etc/passwd"}},
        {"chmod a dir", R"(chmod 700 "$1/d")", {"C /d"}},
        {"chown a dir", R"(chown 5:5 "$1/big")", {"C /big"}},
        {"touch a symlink", R"(touch -h -d @1600000000 "$1/link")", {"C /link"}},
    });
}

TEST_CASE("copied-up but unchanged entries are left out, and are C with --docker") {
    const Lines etc = {"C /etc", "C /etc/passwd"};
    check_ops({
        {"chmod to the same mode", R"(chmod 644 "$1/etc/passwd")", {}, etc, {"C /etc"}},
        {"open for append and write nothing", R"(: >> "$1/etc/passwd")", {}, etc, {"C /etc"}},
        {"set an xattr and remove it",
         R"(setfattr -n user.t -v 1 "$1/etc/passwd"; setfattr -x user.t "$1/etc/passwd")",
         {},
         etc,
         {"C /etc"}},
        {"set an xattr to the value it had",
         R"(setfattr -n user.a -v 1 "$1/attr")",
         {},
         {"C /attr"}},
        {"touch -a: atime is no change",
         R"(touch -a -d @1600000000 "$1/etc/passwd")",
         {},
         etc,
         {"C /etc"}},
        {"chmod a dir to its mode", R"(chmod 755 "$1/d")", {}, {"C /d"}},
        {"copy up a 3 MiB file unchanged",
         R"(chmod 644 "$1/var/blob")",
         {},
         {"C /var", "C /var/blob"},
         {"C /var"}},
        {"remake a device node as it was",
         std::string(R"sh(rm "$1/dev/null"; mknod -m 666 "$1/dev/null" c 1 3
            touch -h -d )sh") +
             kOldTime + R"sh( "$1/dev/null" "$1/dev")sh",
         {},
         {"C /dev", "C /dev/null"}},
        {"remake a symlink as it was",
         std::string(R"(rm "$1/link"; ln -s etc/passwd "$1/link"; touch -h -d )") + kOldTime +
             R"( "$1/link")",
         {},
         {"C /link"}},
    });
}

TEST_CASE("diff of special files is the same on layerfs, kernel and fuse-overlayfs uppers") {
    check_ops({
        {"a device node's number changed",
         std::string(R"sh(rm "$1/dev/null"; mknod -m 666 "$1/dev/null" c 1 5
            touch -h -d )sh") +
             kOldTime + R"sh( "$1/dev/null" "$1/dev")sh",
         {"C /dev", "C /dev/null"}},
        {"add a device node and a fifo",
         R"(mknod "$1/dev/zero" c 1 5; mkfifo "$1/dev/fifo")",
         {"C /dev", "A /dev/fifo", "A /dev/zero"}},
    });
}

TEST_CASE("diff of deletions is the same on layerfs, kernel and fuse-overlayfs uppers") {
    check_ops({
        {"delete a lower file", R"(rm "$1/d/f")", {"C /d", "D /d/f"}},
        {"delete a file of the top lower",
         R"(rm "$1/etc/hostname")",
         {"C /etc", "D /etc/hostname"}},
        {"delete a lower dir merged from both lowers: only the dir is D",
         R"(rm -rf "$1/d")",
         {"D /d"}},
        {"delete a lower opaque dir", R"(rm -rf "$1/o")", {"D /o"}},
        {"delete a lower symlink", R"(rm "$1/link")", {"D /link"}},
        {"delete one name of a lower hard-linked pair",
         R"(rm "$1/bin/tool2")",
         {"C /bin", "D /bin/tool2"},
         {},
         {},
         {"C /bin/tool"}},
    });
}

TEST_CASE("diff of rm -rf and recreate is the same on layerfs, kernel and fuse-overlayfs uppers") {
    check_ops({
        // The old children that did not come back are D; the one that did is
        // compared with its old self, and its new mtime differs.
        {"rm -rf a dir, recreate it with one old name",
         R"(rm -rf "$1/d"; mkdir "$1/d"; echo g > "$1/d/g")",
         {"C /d", "D /d/f", "C /d/g", "D /d/h", "D /d/sub"}},
        {"rm -rf a dir, recreate one old child exactly as it was",
         std::string(R"(rm -rf "$1/d"; mkdir "$1/d"; echo g > "$1/d/g"; touch -d )") + kOldTime +
             R"( "$1/d/g")",
         {"C /d", "D /d/f", "D /d/h", "D /d/sub"},
         {"C /d/g"}},
        {"rm -rf a dir, recreate a subdir of it",
         R"(rm -rf "$1/d"; mkdir -p "$1/d/sub"; echo n > "$1/d/sub/new")",
         {"C /d", "D /d/f", "D /d/g", "D /d/h", "C /d/sub", "D /d/sub/deep", "A /d/sub/new"}},
        // /o/b was never visible (the lower /o is opaque): not D.
        {"rm -rf an opaque lower dir and recreate it",
         R"(rm -rf "$1/o"; mkdir "$1/o"; echo n > "$1/o/n")",
         {"C /o", "D /o/a", "A /o/n"}},
        {"a dir replaced by a file", R"(rm -rf "$1/d"; echo d > "$1/d")", {"C /d"}},
        {"a file replaced by a dir",
         R"(rm "$1/etc/passwd"; mkdir "$1/etc/passwd"; echo x > "$1/etc/passwd/x")",
         {"C /etc", "C /etc/passwd", "A /etc/passwd/x"}},
    });
}

TEST_CASE("diff of renames is the same on layerfs, kernel and fuse-overlayfs uppers") {
    check_ops({
        {"rename a lower file",
         R"(mv "$1/etc/passwd" "$1/etc/passwd2")",
         {"C /etc", "D /etc/passwd", "A /etc/passwd2"}},
        {"move a lower file to another dir",
         R"(mv "$1/etc/passwd" "$1/passwd")",
         {"C /etc", "D /etc/passwd", "A /passwd"}},
        {"rename a lower file over another",
         R"(mv "$1/etc/hostname" "$1/etc/passwd")",
         {"C /etc", "D /etc/hostname", "C /etc/passwd"}},
        {"rename a lower dir",
         R"(mv "$1/d" "$1/d2")",
         {"D /d", "A /d2", "A /d2/f", "A /d2/g", "A /d2/h", "A /d2/sub", "A /d2/sub/deep"}},
    });
}

TEST_CASE(
    "diff of hard links and symlinks is the same on layerfs, kernel and fuse-overlayfs uppers") {
    check_ops({
        // The old name's inode gained a link: a layer must carry both names to
        // keep them linked, and docker reports it too.
        {"hard link to a lower file",
         R"(ln "$1/etc/passwd" "$1/etc/passwd-link")",
         {"C /etc", "C /etc/passwd", "A /etc/passwd-link"}},
        {"two new names of one new file",
         R"(echo n > "$1/n1"; ln "$1/n1" "$1/n2")",
         {"A /n1", "A /n2"}},
        {"add a symlink", R"(ln -s etc/passwd "$1/newlink")", {"A /newlink"}},
        // Same length, mtime set back: only the target differs.
        {"change a symlink's target",
         std::string(R"(rm "$1/link"; ln -s etc/shadow "$1/link"; touch -h -d )") + kOldTime +
             R"( "$1/link")",
         {"C /link"}},
        {"a symlink replaced by a file", R"(rm "$1/link"; echo x > "$1/link")", {"C /link"}},
    });
}

TEST_CASE("diff of xattr changes is the same on layerfs, kernel and fuse-overlayfs uppers") {
    check_ops({
        {"add an xattr to a lower file",
         R"(setfattr -n user.new -v 1 "$1/etc/passwd")",
         {"C /etc", "C /etc/passwd"}},
        {"change a lower file's xattr", R"(setfattr -n user.a -v 2 "$1/attr")", {"C /attr"}},
        {"remove a lower file's xattr", R"(setfattr -x user.a "$1/attr")", {"C /attr"}},
        {"add an xattr to a lower dir", R"(setfattr -n user.x -v 1 "$1/d")", {"C /d"}},
    });
}

// One name of a lower hard-linked pair modified: what the other name shows
// afterwards depends on the back end (kernel overlayfs without index=on breaks
// the link; layerfs keeps it through its work dir's index). Whatever a fresh
// mount of the same upper and work dirs shows is the truth the diff must tell,
// so the diff is taken first and the other name read after.
TEST_CASE("modifying one name of a lower hard-linked pair: diff lists every name that changed") {
    for (Backend b : kBackends) {
        INFO(backend_name(b));
        Lowers lowers;
        TempDir t;
        std::string upper = t / "upper", work = t / "work", mnt = t / "mnt";
        for (const auto& d : {upper, work, mnt})
            make_dir(d);
        {
            Mount m(b, lowers.dirs(), upper, work, mnt);
            INFO(m.result().output);
            REQUIRE(m.ok());
            // No lookup of bin/tool2 while mounted: only tool is touched.
            REQUIRE_OK(sh(R"(echo more >> "$1/bin/tool")", mnt));
        }
        auto r = diff_dirs(lowers.dirs(), upper);
        INFO(r.output);
        REQUIRE(r.status == 0);
        std::string tool2;
        {
            Mount m(b, lowers.dirs(), upper, work, mnt);
            INFO(m.result().output);
            REQUIRE(m.ok());
            CHECK(read_file(mnt + "/bin/tool") == "tool\nmore\n");
            tool2 = read_file(mnt + "/bin/tool2");
        }
        Lines want = {"C /bin", "C /bin/tool"};
        if (tool2 != read_file(lowers.bottom + "/bin/tool2")) want.push_back("C /bin/tool2");
        CHECK(lines_of(r.output) == by_path(want));
    }
}

// ---- uppers written by hand: every whiteout dialect, whiteouts of nothing ----

TEST_CASE("every whiteout and opaque dialect gives the same diff, whiteouts of nothing give none") {
    enum class Dialect { KernelTrusted, OciFiles, UserXattr, FuseXattr };
    for (Dialect d :
         {Dialect::KernelTrusted, Dialect::OciFiles, Dialect::UserXattr, Dialect::FuseXattr}) {
        INFO("dialect " << int(d));
        Lowers lowers;
        TempDir t;
        std::string up = t / "upper";
        make_dir(up);
        auto whiteout = [&](const std::string& path) {
            if (d == Dialect::KernelTrusted)
                whiteout_device(path);
            else
                whiteout_file(path);
        };
        auto opaque = [&](const std::string& dir) {
            switch (d) {
                case Dialect::KernelTrusted:
                    set_xattr(dir, "trusted.overlay.opaque", "y");
                    break;
                case Dialect::OciFiles:
                    write_file(dir + "/.wh..wh..opq", "");
                    break;
                case Dialect::UserXattr:
                    set_xattr(dir, "user.overlay.opaque", "y");
                    break;
                case Dialect::FuseXattr:
                    set_xattr(dir, "user.fuseoverlayfs.opaque", "y");
                    break;
            }
        };
        upper_dir_like(up + "/d", lowers.top + "/d");
        whiteout(up + "/d/f");
        upper_dir_like(up + "/etc", lowers.top + "/etc");
        opaque(up + "/etc");
        write_file(up + "/etc/new", "new\n");
        // Whiteouts of names the merged tree never showed: nothing to report.
        whiteout(up + "/ghost");  // in no layer
        upper_dir_like(up + "/o", lowers.top + "/o");
        whiteout(up + "/o/b");  // below the top lower's opaque /o
        upper_dir_like(up + "/bin", lowers.bottom + "/bin");
        whiteout(up + "/bin/ghost");
        touch_all({up + "/d", up + "/o", up + "/bin"});

        // /etc/group was hidden by the top lower's whiteout: not D.
        Lines want = {"C /d",       "D /d/f",        "C /etc",       "D /etc/hostname",
                      "A /etc/new", "D /etc/passwd", "D /etc/shadow"};
        auto r = diff_dirs(lowers.dirs(), up);
        INFO(r.output);
        REQUIRE(r.status == 0);
        CHECK(lines_of(r.output) == by_path(want));
        auto docker = diff_dirs(lowers.dirs(), up, {"--docker"});
        INFO(docker.output);
        REQUIRE(docker.status == 0);
        CHECK(lines_of(docker.output) == by_path(want + Lines{"C /o", "C /bin"}));
    }
}

// With redirect_dir a renamed lower dir's content stays in the lowers under the
// old name, and with metacopy a file's data does: walking the upper alone would
// list too little (or empty data), so such an upper must be refused, by name.
TEST_CASE("kernel uppers written with redirect_dir or metacopy are refused, not misread") {
    struct Case {
        std::string opts, script, entry, xattr;
    };
    for (const auto& c : {
             Case{"redirect_dir=on", R"(mv "$1/d" "$1/d2")", "/d2", "trusted.overlay.redirect"},
             Case{"metacopy=on", R"(chmod 600 "$1/etc/passwd")", "/etc/passwd",
                  "trusted.overlay.metacopy"},
         }) {
        INFO(c.opts);
        Lowers lowers;
        TempDir t;
        std::string upper = t / "upper", work = t / "work", mnt = t / "mnt";
        for (const auto& d : {upper, work, mnt})
            make_dir(d);
        {
            Mount m(Backend::Kernel, lowers.dirs(), upper, work, mnt, c.opts);
            INFO(m.result().output);
            REQUIRE(m.ok());
            REQUIRE_OK(sh(c.script, mnt));
        }
        // The premise: the kernel did write the xattr this is about.
        REQUIRE(::lgetxattr((upper + c.entry).c_str(), c.xattr.c_str(), nullptr, 0) >= 0);
        auto r = diff_dirs(lowers.dirs(), upper);
        INFO(r.output);
        CHECK(r.status == 1);
        CHECK(r.output.rfind("layerfs: ", 0) == 0);
        CHECK(r.output.find(c.entry) != std::string::npos);
        CHECK(r.output.find(c.xattr) != std::string::npos);
    }
}

TEST_CASE("diff --format json is docker's API form, --docker applies to it") {
    Lowers lowers;
    TempDir t;
    std::string up = t / "upper";
    upper_dir_like(up + "/etc", lowers.top + "/etc");
    write_file(up + "/etc/passwd", "root:x:0:0\nnew:x:1:1\n");
    write_file(up + "/etc/new", "n");
    whiteout_device(up + "/etc/hostname");
    upper_dir_like(up + "/d", lowers.top + "/d");
    touch_all({up + "/d"});

    auto r = diff_dirs(lowers.dirs(), up, {"--format", "json"});
    INFO(r.output);
    REQUIRE(r.status == 0);
    auto j = json::parse(r.output, nullptr, false);
    REQUIRE(j.is_array());
    json want = json::array({
        {{"Path", "/etc"}, {"Kind", 0}},
        {{"Path", "/etc/hostname"}, {"Kind", 2}},
        {{"Path", "/etc/new"}, {"Kind", 1}},
        {{"Path", "/etc/passwd"}, {"Kind", 0}},
    });
    CHECK(j == want);

    auto d = diff_dirs(lowers.dirs(), up, {"--docker", "--format", "json"});
    INFO(d.output);
    REQUIRE(d.status == 0);
    CHECK(json_lines(d.output) ==
          by_path({"C /d", "C /etc", "D /etc/hostname", "A /etc/new", "C /etc/passwd"}));

    make_dir(t / "empty-upper");
    auto none = diff_dirs(lowers.dirs(), t / "empty-upper", {"--format", "json"});
    INFO(none.output);
    REQUIRE(none.status == 0);
    CHECK(json::parse(none.output, nullptr, false) == json::array());
}

// File names are bytes; json strings are UTF-8. The text form prints the bytes;
// the json form must still describe the change (docker's Go encoder writes
// U+FFFD for a byte that is not UTF-8) rather than fail.
TEST_CASE("diff --format json of a name that is not UTF-8") {
    Lowers lowers;
    TempDir t;
    std::string up = t / "upper";
    write_file(up + "/bad\xff"
                    "name",
               "x");

    auto text = diff_dirs(lowers.dirs(), up);
    INFO(text.output);
    REQUIRE(text.status == 0);
    CHECK(lines_of(text.output) == Lines{"A /bad\xff"
                                         "name"});

    auto r = diff_dirs(lowers.dirs(), up, {"--format", "json"});
    INFO(r.output);
    CHECK(r.status == 0);
    auto j = json::parse(r.output, nullptr, false);
    REQUIRE(j.is_array());
    REQUIRE(j.size() == 1);
    CHECK(j[0].value("Kind", -1) == 1);
    CHECK(j[0].value("Path", "").rfind("/bad", 0) == 0);
}

TEST_CASE("diff errors: exit status and a layerfs: message") {
    Lowers lowers;
    TempDir t;
    make_dir(t / "upper");
    TestStore s;
    create_container(s, "busybox", "c");
    auto lf = [](std::vector<std::string> args) {
        args.insert(args.begin(), layerfs_bin());
        return run(args);
    };
    struct Case {
        std::string what;
        RunResult r;
    };
    std::vector<Case> cases = {
        {"missing --upper dir", lf({"diff", "--lower", lowers.top, "--upper", t / "nope"})},
        {"--upper is a file",
         lf({"diff", "--lower", lowers.top, "--upper", lowers.top + "/etc/hostname"})},
        {"--lower without --upper", lf({"diff", "--lower", lowers.top})},
        {"--upper without --lower", lf({"diff", "--upper", t / "upper"})},
        {"both a CONTAINER and --upper",
         s.lf({"diff", "c", "--lower", lowers.top, "--upper", t / "upper"})},
        {"a nonexistent lower",
         lf({"diff", "--lower", lowers.top + ":" + (t / "nope"), "--upper", t / "upper"})},
        {"neither", s.lf({"diff"})},
        {"an unknown container", s.lf({"diff", "nope"})},
    };
    for (const auto& c : cases) {
        INFO(c.what << ": " << c.r.output);
        CHECK((c.r.status == 1 || c.r.status == 2));
        CHECK(c.r.output.rfind("layerfs: ", 0) == 0);
    }
    // Messages name what is wrong.
    CHECK(cases[0].r.output.find(t / "nope") != std::string::npos);
    CHECK(cases[5].r.output.find(t / "nope") != std::string::npos);
    CHECK(cases[7].r.output.find("nope") != std::string::npos);
}

// ---- the walk is O(change): lower dirs the upper leaves alone are not opened --

TEST_CASE("diff opens no lower directory the upper does not name, and lists none") {
    Lowers lowers;
    TempDir t;
    std::string up = t / "upper";
    upper_dir_like(up + "/etc", lowers.top + "/etc");
    write_file(up + "/etc/passwd", "changed\n");
    upper_dir_like(up + "/bin", lowers.bottom + "/bin");
    write_file(up + "/bin/new", "new\n");
    whiteout_device(up + "/d");  // deleting /d needs no look inside it

    {
        DirWatch watch(lowers.dirs());
        auto r = diff_dirs(lowers.dirs(), up);
        INFO(r.output);
        REQUIRE(r.status == 0);
        CHECK(lines_of(r.output) ==
              by_path({"C /bin", "A /bin/new", "D /d", "C /etc", "C /etc/passwd"}));
        auto seen = watch.drain();
        // A looked-up directory is opened to read its opaque flag: allowed for
        // the names the upper has (/d's whiteout among them), no other.
        const std::set<std::string> upper_dirs = {"/", "/bin", "/d", "/etc"};
        for (const auto& dir : seen.opened) {
            INFO(dir);
            CHECK(upper_dirs.count(dir) == 1);
        }
        CHECK(seen.listed.empty());
    }
    // The control: an opaque /big must be listed to say what it hid, and the
    // watch sees it, so the silence above is no blind spot.
    upper_dir_like(up + "/big", lowers.bottom + "/big");
    set_xattr(up + "/big", "trusted.overlay.opaque", "y");
    {
        DirWatch watch(lowers.dirs());
        auto r = diff_dirs(lowers.dirs(), up);
        INFO(r.output);
        REQUIRE(r.status == 0);
        CHECK(lines_of(r.output) == by_path({"C /big", "D /big/a", "D /big/x", "C /bin",
                                             "A /bin/new", "D /d", "C /etc", "C /etc/passwd"}));
        auto seen = watch.drain();
        CHECK(seen.listed == std::set<std::string>{"/big"});
        CHECK(seen.opened.count("/big/a") == 0);
    }
}

// ---- store containers ----------------------------------------------------

TEST_CASE("layerfs diff CONTAINER: mounted, unmounted, by id and by id prefix") {
    TestStore s;
    std::string id = create_container(s, "busybox", "c");
    CHECK(container_diff(s, "c").empty());  // nothing done yet
    const Lines want = by_path({
        "C /etc",
        "C /etc/passwd",
        "D /etc/group",
        "D /home",
        "C /root",
        "C /tmp",
        "A /tmp/new",
        "A /tmp/new/dir",
        "A /tmp/new/dir/f",
        "A /tmp/pw",
    });
    {
        ContainerMount m(s, "c");
        CHECK(m.merged == s.root + "/containers/" + id + "/merged");
        // Reading copies nothing up.
        REQUIRE_OK(sh(R"(cat "$1/etc/passwd" "$1/etc/group" >/dev/null; ls -R "$1" >/dev/null)",
                      m.merged));
        CHECK(container_diff(s, "c").empty());
        REQUIRE_OK(sh(R"(echo 'guest:x:1000:1000::/tmp:/bin/sh' >> "$1/etc/passwd"
                         rm "$1/etc/group"
                         mkdir -p "$1/tmp/new/dir"; echo y > "$1/tmp/new/dir/f"
                         ln -s /etc/passwd "$1/tmp/pw"
                         rm -rf "$1/home"
                         chmod 750 "$1/root")",
                      m.merged));
        CHECK(container_diff(s, "c") == want);
        m.unmount();
        REQUIRE_FALSE(is_mounted(m.merged));
    }
    CHECK(container_diff(s, "c") == want);
    CHECK(container_diff(s, id) == want);
    CHECK(container_diff(s, id.substr(0, 12)) == want);
    CHECK(json_lines(s.lf({"diff", "--format", "json", "c"}).output) == want);

    // Another container of the same image has its own, empty, upper.
    create_container(s, "busybox", "other");
    CHECK(container_diff(s, "other").empty());
}

// A two-layer image: the second layer deletes etc/shadow (a .wh. member) and
// makes opt/app opaque, so the container's lowers carry the store's own whiteout
// and opaque forms. Everything is owned by UID:GID.
void import_layered(const TestStore& s, const TempDir& t, uid_t uid, gid_t gid,
                    const std::string& name) {
    TarBuilder base, top;
    base.dir("etc").owner(uid, gid).file("etc/passwd", "root\n").owner(uid, gid);
    base.file("etc/shadow", "x\n").owner(uid, gid).dir("opt").owner(uid, gid);
    base.dir("opt/app").owner(uid, gid).file("opt/app/a", "a\n").owner(uid, gid);
    base.file("opt/app/b", "b\n").owner(uid, gid);
    top.dir("etc").owner(uid, gid).file("etc/.wh.shadow", "").owner(uid, gid);
    top.dir("opt").owner(uid, gid).dir("opt/app").owner(uid, gid);
    top.file("opt/app/.wh..wh..opq", "").owner(uid, gid);
    top.file("opt/app/c", "c\n").owner(uid, gid);
    OciLayoutBuilder layout;
    layout.layer(base.bytes()).layer(top.bytes());
    layout.write(t / "layout");
    REQUIRE_OK(s.lf({"import", t / "layout:v1", name}));
}

// Changes to a container of import_layered's image, and the diff they give:
// etc/shadow and opt/app/a were hidden by the top layer, so they come back as A.
const char* const kLayeredChanges = R"(echo new > "$1/etc/shadow"
    echo a > "$1/opt/app/a"
    rm "$1/opt/app/c")";
Lines layered_want() {
    return by_path(
        {"C /etc", "A /etc/shadow", "C /opt", "C /opt/app", "A /opt/app/a", "D /opt/app/c"});
}

TEST_CASE("layerfs diff CONTAINER reads the whiteouts and opaque dirs of the image's layers") {
    TestStore s;
    TempDir t;
    import_layered(s, t, 0, 0, "layered:v1");
    create_container(s, "layered:v1", "c");
    {
        ContainerMount m(s, "c");
        CHECK_FALSE(exists(m.merged + "/etc/shadow"));
        CHECK(list_dir(m.merged + "/opt/app") == Lines{"c"});
        REQUIRE_OK(sh(kLayeredChanges, m.merged));
    }
    CHECK(container_diff(s, "c") == layered_want());
}

// A container's work dir records that all names of a copied-up lower hard link
// share the copy: the merged tree shows the change under every name, so the
// diff (and a commit built from it) must list every name, looked up or not.
TEST_CASE("layerfs diff CONTAINER lists every name of a modified lower hard link") {
    TestStore s;
    TempDir t;
    write_tar(t / "img.tar", {
                                 {"bin/", S_IFDIR | 0755},
                                 {"bin/tool", S_IFREG | 0755, 0, 0, "tool\n"},
                                 {"bin/tool2", S_IFREG | 0755, 0, 0, "", "bin/tool"},
                                 {"bin/other", S_IFREG | 0755, 0, 0, "other\n"},
                             });
    REQUIRE_OK(s.lf({"import", t / "img.tar", "linked:v1"}));
    create_container(s, "linked:v1", "c");
    {
        ContainerMount m(s, "c");
        REQUIRE_OK(sh(R"(echo more >> "$1/bin/tool")", m.merged));
    }
    Lines got = container_diff(s, "c");
    {
        ContainerMount m(s, "c");
        CHECK(read_file(m.merged + "/bin/tool2") == "tool\nmore\n");
    }
    CHECK(got == by_path({"C /bin", "C /bin/tool", "C /bin/tool2"}));
    // Once the other name was looked up the upper holds it: same answer.
    CHECK(container_diff(s, "c") == by_path({"C /bin", "C /bin/tool", "C /bin/tool2"}));
}

// ---- rootless ------------------------------------------------------------

// Owners live in user.containers.override_stat and whiteouts are .wh. files;
// the diff shows owners and modes as the container sees them.
TEST_CASE("an ordinary user's container diff", "[rootless]") {
    REQUIRE(::geteuid() != 0);
    const unsigned me = ::geteuid(), my_group = ::getegid();
    TestStore s;
    TempDir t;
    write_tar(t / "img.tar", {
                                 {"etc/", S_IFDIR | 0755},
                                 {"etc/passwd", S_IFREG | 0644, 0, 0, "root:x:0:0\n"},
                                 {"home/", S_IFDIR | 0755, me, my_group},
                                 {"home/f", S_IFREG | 0644, me, my_group, "f\n"},
                                 {"home/g", S_IFREG | 0644, me, my_group, "g\n"},
                                 {"home/h", S_IFREG | 0644, me, my_group, "h\n"},
                                 {"home/same", S_IFREG | 0644, me, my_group, "same\n"},
                                 {"home/gone/", S_IFDIR | 0755, me, my_group},
                                 {"home/gone/x", S_IFREG | 0644, me, my_group, "x\n"},
                                 {"home/sub/", S_IFDIR | 0755, me, my_group},
                                 {"home/sub/x", S_IFREG | 0644, me, my_group, "x\n"},
                                 {"home/sub/y", S_IFREG | 0644, me, my_group, "y\n"},
                             });
    REQUIRE_OK(s.lf({"import", t / "img.tar", "mine:v1"}));
    std::string id = create_container(s, "mine:v1", "c");
    const Lines want = by_path({
        "C /home",
        "C /home/f",
        "D /home/g",
        "C /home/h",
        "A /home/new",
        "D /home/gone",
        "C /home/sub",
        "D /home/sub/x",
        "C /home/sub/y",
    });
    {
        ContainerMount m(s, "c");
        // The mount shows the tar's owners: root's /etc is not ours to change.
        CHECK(lstat_of(m.merged + "/etc/passwd").st_uid == 0);
        CHECK(lstat_of(m.merged + "/home/f").st_uid == me);
        REQUIRE_OK(sh(R"(echo more >> "$1/home/f"
                         rm "$1/home/g"
                         chmod 600 "$1/home/h"
                         chmod 644 "$1/home/same"
                         echo n > "$1/home/new"
                         rm -rf "$1/home/gone"
                         rm -rf "$1/home/sub"; mkdir "$1/home/sub"; echo y > "$1/home/sub/y")",
                      m.merged));
        CHECK((lstat_of(m.merged + "/home/h").st_mode & 07777) == 0600);
        CHECK(container_diff(s, "c") == want);
    }
    std::string upper = s.root + "/containers/" + id + "/upper";
    // The unprivileged dialect, and the copy of "same" really is in the upper.
    CHECK(exists(upper + "/home/.wh.g"));
    CHECK(exists(upper + "/home/same"));
    CHECK(container_diff(s, "c") == want);
    CHECK(container_diff(s, "c", {"--docker"}) == by_path(want + Lines{"C /home/same"}));
}

TEST_CASE("an ordinary user's container diff over the store's whiteouts and opaque dirs",
          "[rootless]") {
    REQUIRE(::geteuid() != 0);
    TestStore s;
    TempDir t;
    import_layered(s, t, ::geteuid(), ::getegid(), "layered:v1");
    create_container(s, "layered:v1", "c");
    {
        ContainerMount m(s, "c");
        CHECK_FALSE(exists(m.merged + "/etc/shadow"));
        CHECK(list_dir(m.merged + "/opt/app") == Lines{"c"});
        REQUIRE_OK(sh(kLayeredChanges, m.merged));
    }
    CHECK(container_diff(s, "c") == layered_want());
}

// An ordinary user cannot enter a mode-000 lower dir: a diff that works while
// one sits in the lowers untouched by the upper never walked into it.
TEST_CASE("an ordinary user's diff never enters a lower dir the upper leaves alone", "[rootless]") {
    REQUIRE(::geteuid() != 0);
    TempDir t;
    std::string lower = t / "l0", up = t / "upper";
    write_file(lower + "/etc/passwd", "root\n");
    write_file(lower + "/locked/secret", "s\n");
    make_dir(lower + "/locked/inner");
    touch_all({lower});
    write_file(up + "/etc/passwd", "changed\n");
    REQUIRE(::chmod((lower + "/locked").c_str(), 0) == 0);
    struct Restore {
        std::string dir;
        ~Restore() { ::chmod(dir.c_str(), 0755); }  // so the temp dir can go
    } restore{lower + "/locked"};

    auto r = diff_dirs({lower}, up);
    INFO(r.output);
    REQUIRE(r.status == 0);
    CHECK(lines_of(r.output) == by_path({"C /etc", "C /etc/passwd"}));

    // The control: an opaque /locked must be listed, which the user cannot do.
    make_dir(up + "/locked");
    set_xattr(up + "/locked", "user.overlay.opaque", "y");
    r = diff_dirs({lower}, up);
    INFO(r.output);
    CHECK(r.status == 1);
    CHECK(r.output.rfind("layerfs: ", 0) == 0);
    CHECK(r.output.find("/locked") != std::string::npos);
}
