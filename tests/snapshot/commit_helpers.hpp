#pragma once
// Helpers for the `layerfs commit` tests: containers that unmount themselves,
// trees compared with their mtimes and xattrs, and layer tars read both through
// libarchive and byte by byte (to see which pax records a writer really put).
#include <archive.h>
#include <archive_entry.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdlib>
#include <fstream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "tests/store/store_helpers.hpp"
#include "tests/support/fixture.hpp"
#include "tests/support/oci_builder.hpp"
#include "tests/support/tree.hpp"

extern char** environ;

namespace layerfs::test::commit {

using json = nlohmann::json;

// ---- processes and the environment -----------------------------------------

// The `sha256:<64 hex>` line of a command's output (stderr is mixed in).
inline std::string printed_id(const std::string& output) {
    std::istringstream in(output);
    for (std::string line; std::getline(in, line);)
        if (line.size() == 71 && line.rfind("sha256:", 0) == 0 &&
            line.find_first_not_of("0123456789abcdef", 7) == std::string::npos)
            return line;
    return "";
}

// The value after "PREFIX" on the line that has it, up to the end of the line.
inline std::string value_after(const std::string& output, const std::string& prefix) {
    auto pos = output.find(prefix);
    if (pos == std::string::npos) return "";
    pos += prefix.size();
    return output.substr(pos, output.find('\n', pos) - pos);
}

inline std::string trimmed(std::string s) {
    while (!s.empty() && (s.back() == '\n' || s.back() == ' '))
        s.pop_back();
    return s;
}

// Sets (or unsets, with nullopt) an environment variable for the commands this
// test runs, and restores it: the environment CI runs in may set
// SOURCE_DATE_EPOCH, which changes what a commit writes.
class EnvVar {
  public:
    EnvVar(std::string name, std::optional<std::string> value) : name_(std::move(name)) {
        if (const char* old = std::getenv(name_.c_str())) old_ = old;
        if (value)
            ::setenv(name_.c_str(), value->c_str(), 1);
        else
            ::unsetenv(name_.c_str());
    }
    ~EnvVar() {
        if (old_)
            ::setenv(name_.c_str(), old_->c_str(), 1);
        else
            ::unsetenv(name_.c_str());
    }
    EnvVar(const EnvVar&) = delete;
    EnvVar& operator=(const EnvVar&) = delete;

  private:
    std::string name_;
    std::optional<std::string> old_;
};

// A command started in the background, its output thrown away.
inline pid_t spawn_quiet(const std::vector<std::string>& argv) {
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
    std::vector<char*> args;
    for (auto& a : argv)
        args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    pid_t pid = -1;
    int rc = ::posix_spawnp(&pid, args[0], &fa, nullptr, args.data(), environ);
    posix_spawn_file_actions_destroy(&fa);
    REQUIRE(rc == 0);
    return pid;
}

// Exit status as run() reports it: the code, or 128+signal.
inline int wait_status(pid_t pid) {
    int st = 0;
    REQUIRE(::waitpid(pid, &st, 0) == pid);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

// A command running in the background for as long as this lives: killed
// (SIGKILL) at scope exit unless wait() reaped it, so a failing test leaves no
// writer behind.
class Background {
  public:
    explicit Background(const std::vector<std::string>& argv) : pid_(spawn_quiet(argv)) {}
    ~Background() {
        if (pid_ > 0) {
            ::kill(pid_, SIGKILL);
            ::waitpid(pid_, nullptr, 0);
        }
    }
    Background(const Background&) = delete;
    Background& operator=(const Background&) = delete;
    int wait() {
        int st = wait_status(pid_);
        pid_ = -1;
        return st;
    }

  private:
    pid_t pid_;
};

// Watches directories for entries created or moved in.
class Inotify {
  public:
    explicit Inotify(const std::vector<std::string>& dirs) : fd_(::inotify_init1(IN_CLOEXEC)) {
        REQUIRE(fd_ >= 0);
        for (const auto& d : dirs) {
            INFO(d);
            REQUIRE(::inotify_add_watch(fd_, d.c_str(), IN_CREATE | IN_MOVED_TO) >= 0);
        }
    }
    ~Inotify() { ::close(fd_); }
    Inotify(const Inotify&) = delete;
    Inotify& operator=(const Inotify&) = delete;

    // True as soon as an event comes; false once PID has exited without one
    // (PID is left for the caller to reap). Gives up after two minutes, a
    // bound that only keeps a hung command from hanging the test.
    bool wait_for_event(pid_t pid) {
        for (int i = 0; i < 12000; ++i) {
            struct pollfd p = {fd_, POLLIN, 0};
            if (::poll(&p, 1, 10) > 0) return true;
            siginfo_t info{};
            if (::waitid(P_PID, id_t(pid), &info, WEXITED | WNOHANG | WNOWAIT) == 0 &&
                info.si_pid == pid)
                return false;
        }
        return false;
    }

  private:
    int fd_;
};

// ---- containers ---------------------------------------------------------------

// A container of a test store. Whatever happens in the test, its root is
// unmounted when this goes (`layerfs umount`, then a lazy umount if that left
// it mounted).
class Container {
  public:
    Container(const TestStore& s, const std::string& image, const std::string& name = "") : s_(s) {
        std::vector<std::string> args = {"create"};
        if (!name.empty()) args.insert(args.end(), {"--name", name});
        args.push_back(image);
        auto r = s_.lf(args);
        INFO("create " << image << ": " << r.output);
        REQUIRE(r.status == 0);
        id_ = trimmed(r.output);
        REQUIRE(id_.size() == 64);
    }
    ~Container() { unmount(); }
    Container(const Container&) = delete;
    Container& operator=(const Container&) = delete;

    const std::string& id() const { return id_; }
    std::string merged() const { return s_.root + "/containers/" + id_ + "/merged"; }
    std::string upper() const { return s_.root + "/containers/" + id_ + "/upper"; }

    // Mounts the root and returns the path `layerfs mount` printed.
    std::string mount() {
        auto r = s_.lf({"mount", id_});
        INFO("mount " << id_ << ": " << r.output);
        REQUIRE(r.status == 0);
        std::string path = trimmed(r.output);
        REQUIRE(path == merged());
        REQUIRE(is_mounted(path));
        return path;
    }
    void unmount() {
        if (id_.empty()) return;
        s_.lf({"umount", id_});
        if (is_mounted(merged())) run({"umount", "-l", merged()});
    }

  private:
    const TestStore& s_;
    std::string id_;
};

// Everything mounted at or below DIR is lazily unmounted when this goes: for
// mounts a test makes through another user, whose own cleanup may not run.
struct MountsBelow {
    std::string dir;
    ~MountsBelow() {
        std::ifstream mounts("/proc/self/mounts");
        std::vector<std::string> found;
        std::string dev, mnt, rest;
        while (mounts >> dev >> mnt && std::getline(mounts, rest))
            if (mnt.rfind(dir + "/", 0) == 0) found.push_back(mnt);
        for (auto m = found.rbegin(); m != found.rend(); ++m)
            run({"umount", "-l", *m});
    }
};

// ---- trees ------------------------------------------------------------------

// snapshot() (type, mode, owner, size, content, link target, nlink of
// non-directories; the root itself is not in it) plus every entry's xattrs, its
// mtime to the nanosecond (directories too, unless `dir_mtimes` is off), and
// for a file with several links the first name (in sorted order) of its inode,
// so that which names share an inode is compared too.
inline std::map<std::string, std::string> full_tree(const std::string& root,
                                                    bool dir_mtimes = true) {
    auto snap = snapshot(root);
    std::map<std::pair<dev_t, ino_t>, std::string> first;
    for (auto& [rel, desc] : snap) {
        std::string p = root + rel;
        struct stat st;
        if (::lstat(p.c_str(), &st) < 0) continue;
        desc += xattrs_of(p);
        if (dir_mtimes || !S_ISDIR(st.st_mode))
            desc += " mtime=" + std::to_string(st.st_mtim.tv_sec) + "." +
                    std::to_string(st.st_mtim.tv_nsec);
        if (!S_ISDIR(st.st_mode) && st.st_nlink > 1) {
            auto it = first.try_emplace({st.st_dev, st.st_ino}, rel).first;
            desc += " links-with=" + it->second;
        }
    }
    return snap;
}

// A container's tree without the mount points its init layer gives it when its
// image lacks them (the runtime binds /etc/hostname, hosts and resolv.conf).
inline std::map<std::string, std::string> without_init_files(std::map<std::string, std::string> t) {
    for (const char* p : {"/etc/hostname", "/etc/hosts", "/etc/resolv.conf"})
        t.erase(p);
    return t;
}

// ---- image metadata -----------------------------------------------------------

inline json read_json_file(const std::string& path) {
    auto j = json::parse(read_file(path), nullptr, false);
    REQUIRE_FALSE(j.is_discarded());
    return j;
}

// The image's config blob, found by its id.
inline json config_of(const TestStore& s, const std::string& image) {
    return read_json_file(s.root + "/blobs/sha256/" + id_of(s, image));
}

inline json manifest_of(const TestStore& s, const std::string& image) {
    std::string digest = inspect(s, image)["Manifest"].value("digest", "");
    REQUIRE(digest.rfind("sha256:", 0) == 0);
    return read_json_file(s.root + "/blobs/sha256/" + digest.substr(7));
}

// RootFS.Layers of `layerfs inspect`: "sha256:..." diff_ids, bottom first.
inline std::vector<std::string> diff_ids_of(const TestStore& s, const std::string& image) {
    std::vector<std::string> out;
    json img = inspect(s, image);  // named: a temporary would die before the loop
    for (const auto& l : img["RootFS"]["Layers"])
        out.push_back(l.get<std::string>());
    REQUIRE_FALSE(out.empty());
    return out;
}

// The OCI chain id of diff_ids (bottom first): chain(1) = diff_id(1),
// chain(n) = sha256(chain(n-1) + " " + diff_id(n)).
inline std::string chain_id(const std::vector<std::string>& diff_ids) {
    std::string chain = diff_ids.at(0);
    for (size_t i = 1; i < diff_ids.size(); ++i)
        chain = "sha256:" + sha256_of(chain + " " + diff_ids[i]);
    return chain;
}

// The file of the image's top layer in the store (its blob: commit stores the
// tar uncompressed, so the blob digest is the diff_id).
inline std::string top_layer_blob(const TestStore& s, const std::string& image) {
    std::string diff_id = diff_ids_of(s, image).back();
    return s.root + "/blobs/sha256/" + diff_id.substr(7);
}

// ---- layer tars -------------------------------------------------------------------

struct TarEntry {
    std::string name;  // as written: directories end in '/'
    mode_t mode = 0;   // type and permissions
    int64_t size = 0;
    int64_t uid = 0, gid = 0;
    int64_t mtime = 0;
    long mtime_nsec = 0;
    std::string hardlink, symlink;
    unsigned rdev_major = 0, rdev_minor = 0;
    std::map<std::string, std::string> xattrs;  // as libarchive reads them
    std::map<std::string, std::string> pax;     // this entry's own pax records, raw
    std::string data;                           // regular files up to 1 MiB
};

namespace detail {

inline uint64_t octal(const char* p, size_t n) {
    uint64_t v = 0;
    for (size_t i = 0; i < n && p[i]; ++i) {
        if (p[i] == ' ') continue;
        if (p[i] < '0' || p[i] > '7') break;
        v = v * 8 + uint64_t(p[i] - '0');
    }
    return v;
}

// "LEN KEY=VALUE\n" records of a pax extended header body.
inline std::map<std::string, std::string> pax_records(const std::string& body) {
    std::map<std::string, std::string> out;
    size_t pos = 0;
    while (pos < body.size()) {
        size_t sp = body.find(' ', pos);
        if (sp == std::string::npos) break;
        size_t len = std::stoul(body.substr(pos, sp - pos));
        if (len == 0 || pos + len > body.size()) break;
        std::string rec = body.substr(sp + 1, pos + len - sp - 2);  // without the '\n'
        auto eq = rec.find('=');
        if (eq != std::string::npos) out[rec.substr(0, eq)] = rec.substr(eq + 1);
        pos += len;
    }
    return out;
}

}  // namespace detail

// The pax records of each member of an uncompressed tar, in member order, read
// byte by byte: what the writer put, not what a reader makes of it. Global
// headers ('g') are reported under the key "!global".
inline std::vector<std::map<std::string, std::string>> raw_pax(const std::string& tar) {
    std::vector<std::map<std::string, std::string>> out;
    std::map<std::string, std::string> pending;
    size_t off = 0;
    while (off + 512 <= tar.size()) {
        const char* h = tar.data() + off;
        if (std::all_of(h, h + 512, [](char c) { return c == 0; })) break;
        char type = h[156];
        uint64_t size = detail::octal(h + 124, 12);
        size_t body = off + 512;
        if (type == 'x' || type == 'g') {
            REQUIRE(body + size <= tar.size());
            auto recs = detail::pax_records(tar.substr(body, size));
            if (type == 'g') {
                pending["!global"] = "1";
            } else {
                for (auto& [k, v] : recs)
                    pending[k] = v;
            }
        } else {
            if (auto it = pending.find("size"); it != pending.end()) size = std::stoull(it->second);
            if (type == '1' || type == '2' || type == '3' || type == '4' || type == '5' ||
                type == '6')
                size = 0;
            out.push_back(pending);
            pending.clear();
        }
        off = body + (size + 511) / 512 * 512;
    }
    return out;
}

// Every member of an uncompressed tar file, through libarchive, with each
// member's raw pax records beside it.
inline std::vector<TarEntry> read_tar(const std::string& file) {
    std::string bytes = read_bytes(file);
    auto pax = raw_pax(bytes);
    std::unique_ptr<archive, int (*)(archive*)> a(archive_read_new(), archive_read_free);
    archive_read_support_format_tar(a.get());
    REQUIRE(archive_read_open_memory(a.get(), bytes.data(), bytes.size()) == ARCHIVE_OK);
    std::vector<TarEntry> out;
    archive_entry* e;
    int rc;
    while ((rc = archive_read_next_header(a.get(), &e)) == ARCHIVE_OK || rc == ARCHIVE_WARN) {
        TarEntry t;
        // With hdrcharset=BINARY the name is the raw bytes; pax "path" holds them too.
        const char* name = archive_entry_pathname(e);
        t.name = name ? name : "";
        t.mode = archive_entry_mode(e);
        t.size = archive_entry_size(e);
        t.uid = archive_entry_uid(e);
        t.gid = archive_entry_gid(e);
        t.mtime = archive_entry_mtime(e);
        t.mtime_nsec = archive_entry_mtime_nsec(e);
        if (const char* l = archive_entry_hardlink(e)) t.hardlink = l;
        if (const char* l = archive_entry_symlink(e)) t.symlink = l;
        t.rdev_major = archive_entry_rdevmajor(e);
        t.rdev_minor = archive_entry_rdevminor(e);
        archive_entry_xattr_reset(e);
        const char* xname;
        const void* xval;
        size_t xsize;
        while (archive_entry_xattr_next(e, &xname, &xval, &xsize) == ARCHIVE_OK)
            t.xattrs[xname] = std::string(static_cast<const char*>(xval), xsize);
        if (S_ISREG(t.mode) && t.hardlink.empty() && t.size > 0 && t.size <= (1 << 20)) {
            t.data.resize(size_t(t.size));
            REQUIRE(archive_read_data(a.get(), t.data.data(), t.data.size()) == t.size);
        }
        out.push_back(std::move(t));
    }
    INFO(file << ": " << (archive_error_string(a.get()) ? archive_error_string(a.get()) : ""));
    REQUIRE(rc == ARCHIVE_EOF);
    REQUIRE(pax.size() == out.size());
    for (size_t i = 0; i < out.size(); ++i)
        out[i].pax = pax[i];
    return out;
}

inline const TarEntry* find_entry(const std::vector<TarEntry>& tar, const std::string& name) {
    for (const auto& t : tar)
        if (t.name == name) return &t;
    return nullptr;
}

// ---- shared by the commit test files ----------------------------------------

constexpr const char* kBase = "t/base:1";
constexpr const char* kRich = "t/rich:1";

// Commits and returns the printed image id ("sha256:...").
inline std::string commit_ok(const TestStore& s, const std::vector<std::string>& args) {
    auto r = s.lf(args);
    INFO(r.output);
    REQUIRE(r.status == 0);
    std::string id = printed_id(r.output);
    REQUIRE_FALSE(id.empty());
    return id;
}

inline void set_mtime(const std::string& path, time_t sec, long nsec) {
    struct timespec ts[2] = {{sec, nsec}, {sec, nsec}};
    INFO(path);
    REQUIRE(::utimensat(AT_FDCWD, path.c_str(), ts, AT_SYMLINK_NOFOLLOW) == 0);
}

// t/base:1 is busybox plus a committed layer of plain files, so that the change
// under test can modify and delete lower files that are not busybox applets
// (removing one applet name changes the link count the old container shows
// for the others).
inline void make_base(const TestStore& s) {
    Container c0(s, "busybox");
    std::string m = c0.mount();
    write_file(m + "/data/keep", "keep\n");
    write_file(m + "/data/gone", "gone\n");
    write_file(m + "/data/same", "same\n");
    write_file(m + "/data/touched", "touched\n");
    write_file(m + "/data/xattr-only", "x\n");
    write_file(m + "/data/sub/s1", "s1\n");
    write_file(m + "/data/sub/s3", "s3\n");
    commit_ok(s, {"commit", c0.id(), kBase});
}

const std::string kOddName = "data/sp ace \xff\xfe";
const std::string kLongName = "data/new/" + std::string(150, 'n');
const std::string kBinaryXattr("a\0b\xff", 4);

// What the rich change must put in the layer, derived from what it did.
struct Expected {
    std::set<std::string> members;    // tar member names
    std::set<std::string> absent;     // names that must not be members
    std::set<std::string> opaque;     // directories deleted and recreated ("etc/")
    std::set<std::string> copied_up;  // copied up but unchanged (must not be members)
};

// One of every kind of change, made through the mounted container at M (a
// container of t/base:1, upper dir UPPER).
inline Expected rich_change(const std::string& m, const std::string& upper) {
    Expected e;
    auto own = [](const std::string& p, uid_t u, gid_t g, mode_t mode) {
        REQUIRE(::lchown(p.c_str(), u, g) == 0);
        REQUIRE(::chmod(p.c_str(), mode) == 0);  // after chown: it clears set-id bits
    };

    // rm -rf /etc and a new /etc with a changed passwd: an opaque directory
    // whose lower group file is gone without a whiteout of its own.
    std::string passwd = read_file(m + "/etc/passwd");
    REQUIRE_OK(run({"rm", "-rf", m + "/etc"}));
    make_dir(m + "/etc", 0755);
    write_file(m + "/etc/passwd", passwd + "new:x:5:5::/:/bin/sh\n", 0644);
    e.members.insert({"etc/", "etc/.wh..wh..opq", "etc/passwd"});
    e.absent.insert({"etc/group", "etc/.wh.group"});
    e.opaque.insert("etc/");

    // The same in a lower directory, where one child comes back unchanged: the
    // marker hides the lower copy, so the layer must carry it.
    REQUIRE_OK(run({"rm", "-rf", m + "/data/sub"}));
    make_dir(m + "/data/sub", 0755);
    write_file(m + "/data/sub/s2", "s2\n");
    write_file(m + "/data/sub/s3", "s3\n");
    set_mtime(m + "/data/sub/s2", 1577934245, 123456789);  // sub-second
    e.members.insert({"data/", "data/sub/", "data/sub/.wh..wh..opq", "data/sub/s2", "data/sub/s3"});
    e.absent.insert({"data/sub/s1", "data/sub/.wh.s1"});
    e.opaque.insert("data/sub/");

    // A deleted lower file and a deleted lower directory.
    REQUIRE(::unlink((m + "/data/gone").c_str()) == 0);
    REQUIRE(::rmdir((m + "/var/tmp").c_str()) == 0);
    e.members.insert({"data/.wh.gone", "var/", "var/.wh.tmp"});

    // Changes of lower entries: data, mtime only, xattr only, dir mode only.
    write_file(m + "/data/keep", "kept, changed\n");
    set_mtime(m + "/data/touched", 1600000000, 5);
    set_xattr(m + "/data/xattr-only", "user.y", "yes");
    REQUIRE(::chmod((m + "/home").c_str(), 0700) == 0);
    e.members.insert({"data/keep", "data/touched", "data/xattr-only", "home/"});

    // Copied up but unchanged: a chmod to the mode it has.
    REQUIRE(::chmod((m + "/data/same").c_str(), 0644) == 0);
    REQUIRE(exists(upper + "/data/same"));  // else the case tests nothing
    e.copied_up.insert("data/same");

    // New things of every type.
    make_dir(m + "/data/new", 0750);
    make_dir(m + "/data/new/deep", 0755);
    write_file(m + "/data/new/deep/f", "deep\n", 0600);
    write_file(m + "/data/new/owned", "o\n", 0644);
    own(m + "/data/new/owned", 123, 456, 04750);
    write_file(m + "/data/h1", "linked\n");
    REQUIRE(::link((m + "/data/h1").c_str(), (m + "/data/new/h2").c_str()) == 0);
    set_xattr(m + "/data/h1", "user.x", "hello");
    set_xattr(m + "/data/new", "user.bin", kBinaryXattr);
    make_symlink("../etc/passwd", m + "/data/sym");
    make_symlink("/nowhere/at/all", m + "/data/dangling");
    REQUIRE(::mkfifo((m + "/data/fifo").c_str(), 0640) == 0);
    REQUIRE(::mknod((m + "/data/null").c_str(), S_IFCHR | 0666, makedev(1, 3)) == 0);
    REQUIRE(::mknod((m + "/data/loop").c_str(), S_IFBLK | 0660, makedev(7, 200)) == 0);
    write_file(m + "/" + kOddName, "odd\n");
    write_file(m + "/data/empty", "");
    // Sorts between the directory data/new and its children ('.' < '/').
    write_file(m + "/data/new.txt", "beside\n");
    write_file(m + "/" + kLongName, "long\n");
    e.members.insert({"data/new/", "data/new/deep/", "data/new/deep/f", "data/new/owned", "data/h1",
                      "data/new/h2", "data/sym", "data/dangling", "data/fifo", "data/null",
                      "data/loop", kOddName, "data/empty", "data/new.txt", kLongName});
    return e;
}

// A store with t/base:1 and a container of it that made the rich change.
struct RichSetup {
    TestStore s;
    std::optional<Container> c1;
    std::string m1;
    Expected expected;
    RichSetup() {
        make_base(s);
        c1.emplace(s, kBase);
        m1 = c1->mount();
        expected = rich_change(m1, c1->upper());
    }
};

inline std::string strip_slash(std::string n) {
    if (!n.empty() && n.back() == '/') n.pop_back();
    return n;
}

// The state of a store a failed or killed command must leave alone (tmp/,
// its scratch area, aside).
struct StoreState {
    std::multiset<std::string> images;
    std::vector<std::string> blobs, layers;
    std::string index;
};

inline std::string join(const std::vector<std::string>& v) {
    std::string out;
    for (const auto& x : v)
        out += x + " ";
    return out;
}

inline StoreState state_of(const TestStore& s) {
    return {listed_names(s), list_dir(s.root + "/blobs/sha256"), list_dir(s.root + "/layers"),
            read_file(s.root + "/index.json")};
}

#define CHECK_STATE(before, after)                                                            \
    do {                                                                                      \
        auto&& b_ = (before);                                                                 \
        auto&& a_ = (after);                                                                  \
        INFO("blobs before: " << join(b_.blobs) << "\nblobs after:  " << join(a_.blobs));     \
        INFO("layers before: " << join(b_.layers) << "\nlayers after:  " << join(a_.layers)); \
        CHECK(b_.images == a_.images);                                                        \
        CHECK(b_.blobs == a_.blobs);                                                          \
        CHECK(b_.layers == a_.layers);                                                        \
        CHECK(b_.index == a_.index);                                                          \
    } while (0)

}  // namespace layerfs::test::commit
