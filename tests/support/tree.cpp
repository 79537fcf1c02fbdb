#include "tests/support/tree.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <functional>
#include <vector>

#include "tests/support/fixture.hpp"

namespace layerfs::test {

namespace {

std::vector<std::string> list(const std::string& dir) {
    std::vector<std::string> out;
    DIR* d = ::opendir(dir.c_str());
    if (!d) return out;
    while (auto* e = ::readdir(d)) {
        std::string n = e->d_name;
        if (n != "." && n != "..") out.push_back(n);
    }
    ::closedir(d);
    return out;
}

std::string describe(const std::string& path, const struct stat& st, const TreeOptions& o) {
    char buf[128];
    std::snprintf(buf, sizeof buf, "mode=%o", unsigned(st.st_mode));
    std::string s = buf;
    if (o.owner) s += " uid=" + std::to_string(st.st_uid) + " gid=" + std::to_string(st.st_gid);
    if (S_ISREG(st.st_mode)) {
        s += " size=" + std::to_string(st.st_size);
        if (st.st_size <= 1 << 24) {
            std::string data = read_file(path);
            s += data.size() <= 64 ? " data=" + data
                                   : " hash=" + std::to_string(std::hash<std::string>()(data));
        }
        if (o.nlink) s += " nlink=" + std::to_string(st.st_nlink);
    } else if (S_ISLNK(st.st_mode)) {
        char target[PATH_MAX];
        ssize_t n = ::readlink(path.c_str(), target, sizeof target);
        s += " -> " + std::string(target, n > 0 ? size_t(n) : 0);
    } else if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)) {
        s += " dev=" + std::to_string(major(st.st_rdev)) + ":" + std::to_string(minor(st.st_rdev));
    } else if (S_ISDIR(st.st_mode) && o.dir_sizes) {
        s += " size=" + std::to_string(st.st_size);
    }
    return s;
}

void walk(const std::string& root, const std::string& rel, const TreeOptions& o,
          std::map<std::string, std::string>& out) {
    for (auto& n : list(root + rel)) {
        std::string r = rel + "/" + n;
        struct stat st;
        if (::lstat((root + r).c_str(), &st) < 0) {
            out[r] = "lstat failed";
            continue;
        }
        out[r] = describe(root + r, st, o);
        if (S_ISDIR(st.st_mode)) walk(root, r, o, out);
    }
}

bool xattr_is_y(const std::string& path, const char* name) {
    char v[4];
    ssize_t n = ::lgetxattr(path.c_str(), name, v, sizeof v);
    return n == 1 && v[0] == 'y';
}

void walk_upper(const std::string& root, const std::string& rel,
                std::map<std::string, std::string>& out) {
    for (auto& n : list(root + rel)) {
        std::string r = rel + "/" + n;
        std::string p = root + r;
        struct stat st;
        ::lstat(p.c_str(), &st);
        if (n == ".wh..wh..opq") {
            out[rel] += " opaque";
            continue;
        }
        if (n.rfind(".wh.", 0) == 0) {
            out[rel + "/" + n.substr(4)] = "whiteout";
            continue;
        }
        if (S_ISCHR(st.st_mode) && st.st_rdev == makedev(0, 0)) {
            out[r] = "whiteout";
            continue;
        }
        TreeOptions o;
        o.nlink = false;
        out[r] += describe(p, st, o);
        if (S_ISDIR(st.st_mode)) {
            for (const char* x :
                 {"trusted.overlay.opaque", "user.overlay.opaque", "user.fuseoverlayfs.opaque"})
                if (xattr_is_y(p, x)) out[r] += " opaque";
            walk_upper(root, r, out);
        }
    }
}

}  // namespace

std::map<std::string, std::string> snapshot(const std::string& root, TreeOptions o) {
    std::map<std::string, std::string> out;
    walk(root, "", o, out);
    return out;
}

std::map<std::string, std::string> logical_upper(const std::string& upper) {
    std::map<std::string, std::string> out;
    walk_upper(upper, "", out);
    return out;
}

std::string tree_diff(const std::map<std::string, std::string>& expected,
                      const std::map<std::string, std::string>& actual) {
    std::string d;
    for (auto& [k, v] : expected) {
        auto it = actual.find(k);
        if (it == actual.end())
            d += "missing " + k + " (" + v + ")\n";
        else if (it->second != v)
            d += "differs " + k + ":\n  want " + v + "\n  got  " + it->second + "\n";
    }
    for (auto& [k, v] : actual)
        if (!expected.count(k)) d += "extra   " + k + " (" + v + ")\n";
    return d;
}

std::string xattrs_of(const std::string& path) {
    std::vector<char> names(65536);
    ssize_t n = ::llistxattr(path.c_str(), names.data(), names.size());
    if (n < 0) return errno == ENOTSUP ? "" : " xattrs=error:" + std::to_string(errno);
    std::vector<std::string> sorted;
    for (ssize_t i = 0; i < n;) {
        std::string name(&names[size_t(i)]);
        i += ssize_t(name.size()) + 1;
        sorted.push_back(name);
    }
    std::sort(sorted.begin(), sorted.end());
    std::string out;
    for (const auto& name : sorted) {
        std::vector<char> v(65536);
        ssize_t len = ::lgetxattr(path.c_str(), name.c_str(), v.data(), v.size());
        out += " xattr:" + name + "=" + (len < 0 ? "error" : std::string(v.data(), size_t(len)));
    }
    return out;
}

}  // namespace layerfs::test
