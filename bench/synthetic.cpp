#include "bench/synthetic.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <map>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "bench/files.hpp"
#include "bench/process.hpp"
#include "bench/rel_path.hpp"
#include "bench/rng.hpp"
#include "fs/sys/fd.hpp"

namespace layerfs::bench {

namespace {

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

void set_mtime(const std::string& path, int64_t sec) {
    const struct timespec ts[2] = {{time_t(sec), 0}, {time_t(sec), 0}};
    if (utimensat(AT_FDCWD, path.c_str(), ts, AT_SYMLINK_NOFOLLOW) != 0)
        fail_errno("utimensat " + path);
}

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

}  // namespace

void write_synthetic_rootfs(const std::string& dir, int files) {
    SynthTree tree(kSeed);
    generate_rootfs(tree, files);
    materialize(tree, dir);
}

// --- the other trees --------------------------------------------------------

void write_big(const std::string& path, uint64_t bytes) {
    Fd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644));
    if (!fd) fail_errno("create " + path);
    Rng r(kSeed ^ 0xb16);
    std::vector<uint64_t> chunk((1u << 20) / 8);
    for (uint64_t done = 0; done < bytes;) {
        for (auto& v : chunk)
            v = r.next();
        const size_t n = size_t(std::min<uint64_t>(bytes - done, chunk.size() * 8));
        write_all(fd.get(), reinterpret_cast<const char*>(chunk.data()), n, path);
        done += n;
    }
    const struct timespec ts[2] = {{kFixedTime, 0}, {kFixedTime, 0}};
    if (futimens(fd.get(), ts) != 0) fail_errno("futimens " + path);
    if (::close(fd.release()) != 0) fail_errno("close " + path);
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

namespace {

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

}  // namespace

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

}  // namespace layerfs::bench
