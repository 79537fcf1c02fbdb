#include "snapshotter/layer_files.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <xxhash.h>

#include <algorithm>
#include <cstdio>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>

#include "fs/sys/sys.hpp"
#include "snapshotter/failure.hpp"

namespace layerfs::store {
namespace {

using json = nlohmann::json;
constexpr int kVersion = 1;

class Hasher {
  public:
    Hasher() : st_(XXH3_createState(), XXH3_freeState) { XXH3_128bits_reset(st_.get()); }
    void update(std::string_view bytes) {
        XXH3_128bits_update(st_.get(), bytes.data(), bytes.size());
    }
    std::string hex() const {
        XXH128_hash_t h = XXH3_128bits_digest(st_.get());
        char buf[33];
        std::snprintf(buf, sizeof buf, "%016llx%016llx", static_cast<unsigned long long>(h.high64),
                      static_cast<unsigned long long>(h.low64));
        return buf;
    }

  private:
    std::unique_ptr<XXH3_state_t, XXH_errorcode (*)(XXH3_state_t*)> st_;
};

std::string hash_content(int pathfd, const std::string& path) {
    Fd f = must(sys::reopen(pathfd, O_RDONLY | O_NOATIME), "reading " + path);
    Hasher h;
    std::vector<char> buf(1 << 20);
    for (size_t n; (n = must(sys::read_some(f.get(), buf.data(), buf.size()), "reading " + path));)
        h.update({buf.data(), n});
    return h.hex();
}

std::string hash_xattrs(int pathfd, const std::string& path) {
    auto names = must(sys::listxattr_fd(pathfd), "listing the xattrs of " + path);
    std::sort(names.begin(), names.end());
    Hasher h;
    for (const auto& n : names) {
        std::string v =
            must(sys::getxattr_fd(pathfd, n.c_str()), "reading xattr " + n + " of " + path);
        h.update(n);
        h.update({"\0", 1});
        h.update(std::to_string(v.size()));
        h.update({"\0", 1});
        h.update(v);
    }
    return h.hex();
}

// JSON strings must be UTF-8 and file names need not be: bytes outside
// printable ASCII, and '%', are written as %XX.
std::string escape_path(std::string_view path) {
    std::string out;
    for (unsigned char c : path) {
        if (c < 0x20 || c >= 0x7f || c == '%') {
            char buf[4];
            std::snprintf(buf, sizeof buf, "%%%02X", c);
            out += buf;
        } else {
            out += char(c);
        }
    }
    return out;
}

std::string unescape_path(std::string_view text) {
    std::string out;
    for (size_t i = 0; i < text.size(); i++) {
        if (text[i] != '%') {
            out += text[i];
            continue;
        }
        unsigned v = 0;
        if (i + 2 >= text.size() ||
            std::sscanf(std::string(text.substr(i + 1, 2)).c_str(), "%2X", &v) != 1)
            fail("not a layer file index");
        out += char(v);
        i += 2;
    }
    return out;
}

struct Walked {
    FileRecord rec;
    dev_t dev;
    ino_t ino;
    nlink_t nlink;
};

void walk(int dirfd, const std::string& prefix, std::vector<Walked>& out) {
    for (auto& e : must(sys::read_dir(dirfd), "listing " + prefix)) {
        std::string path = prefix == "." ? e.name : prefix + "/" + e.name;
        Fd fd = must(sys::open_at(dirfd, e.name.c_str(), O_PATH | O_NOFOLLOW), "opening " + path);
        struct stat st = must(sys::stat_fd(fd.get()), "stat " + path);
        FileRecord r{path,      st.st_mode,
                     st.st_uid, st.st_gid,
                     0,         st.st_mtim.tv_sec * 1'000'000'000LL + st.st_mtim.tv_nsec,
                     "",        hash_xattrs(fd.get(), path),
                     ""};
        if (S_ISREG(st.st_mode)) {
            r.size = static_cast<uint64_t>(st.st_size);
            r.data = hash_content(fd.get(), path);
        } else if (S_ISLNK(st.st_mode)) {
            Hasher h;
            h.update(must(sys::readlink_at(dirfd, e.name.c_str()), "reading link " + path));
            r.data = h.hex();
        } else if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)) {
            r.data = std::to_string(st.st_rdev);
        }
        out.push_back({std::move(r), st.st_dev, st.st_ino, st.st_nlink});
        if (S_ISDIR(st.st_mode)) {
            Fd sub = must(sys::reopen(fd.get(), O_RDONLY | O_DIRECTORY), "opening " + path);
            walk(sub.get(), path, out);
        }
    }
}

}  // namespace

std::vector<FileRecord> scan_layer_files(int dirfd) {
    std::vector<Walked> all;
    {
        struct stat st = must(sys::stat_fd(dirfd), "stat the layer");
        FileRecord root{".",       st.st_mode,
                        st.st_uid, st.st_gid,
                        0,         st.st_mtim.tv_sec * 1'000'000'000LL + st.st_mtim.tv_nsec,
                        "",        hash_xattrs(dirfd, "."),
                        ""};
        all.push_back({std::move(root), st.st_dev, st.st_ino, st.st_nlink});
    }
    walk(dirfd, ".", all);
    std::sort(all.begin(), all.end(),
              [](const Walked& a, const Walked& b) { return a.rec.path < b.rec.path; });
    // Hard links: every later name of an inode points at its first name.
    std::map<std::pair<dev_t, ino_t>, std::string> first;
    std::vector<FileRecord> out;
    out.reserve(all.size());
    for (auto& w : all) {
        if (w.nlink > 1 && !S_ISDIR(w.rec.mode)) {
            auto [it, fresh] = first.try_emplace({w.dev, w.ino}, w.rec.path);
            if (!fresh) w.rec.link = it->second;
        }
        out.push_back(std::move(w.rec));
    }
    return out;
}

std::string encode_layer_files(const std::vector<FileRecord>& files) {
    json list = json::array();
    for (const auto& f : files)
        list.push_back({escape_path(f.path), f.mode, f.uid, f.gid, f.size, f.mtime_ns, f.data,
                        f.xattrs, escape_path(f.link)});
    return json{{"version", kVersion}, {"files", std::move(list)}}.dump();
}

std::vector<FileRecord> decode_layer_files(std::string_view text) {
    json j = json::parse(text, nullptr, false);
    if (!j.is_object() || j.value("version", 0) != kVersion || !j.contains("files") ||
        !j["files"].is_array())
        fail("not a layer file index");
    std::vector<FileRecord> out;
    try {
        for (const auto& e : j["files"]) {
            if (!e.is_array() || e.size() != 9) fail("not a layer file index");
            out.push_back({unescape_path(e[0].get<std::string>()), e[1].get<uint32_t>(),
                           e[2].get<uint32_t>(), e[3].get<uint32_t>(), e[4].get<uint64_t>(),
                           e[5].get<int64_t>(), e[6].get<std::string>(), e[7].get<std::string>(),
                           unescape_path(e[8].get<std::string>())});
        }
    } catch (const json::exception&) {
        fail("not a layer file index");
    }
    return out;
}

std::vector<std::string> compare_layer_files(const std::vector<FileRecord>& want,
                                             const std::vector<FileRecord>& got) {
    std::vector<std::string> out;
    size_t i = 0, j = 0;
    while (i < want.size() || j < got.size()) {
        if (j == got.size() || (i < want.size() && want[i].path < got[j].path)) {
            out.push_back(want[i++].path + ": missing");
            continue;
        }
        if (i == want.size() || got[j].path < want[i].path) {
            out.push_back(got[j++].path + ": not in the layer");
            continue;
        }
        const FileRecord& w = want[i++];
        const FileRecord& g = got[j++];
        std::vector<std::string> what;
        if ((w.mode & S_IFMT) != (g.mode & S_IFMT)) what.push_back("type");
        if ((w.mode & 07777) != (g.mode & 07777)) what.push_back("mode");
        if (w.uid != g.uid || w.gid != g.gid) what.push_back("owner");
        if (w.size != g.size) what.push_back("size");
        if (w.data != g.data) what.push_back(S_ISLNK(w.mode) ? "target" : "content");
        if (w.xattrs != g.xattrs) what.push_back("xattrs");
        if (w.link != g.link) what.push_back("hard links");
        if (w.mtime_ns != g.mtime_ns) what.push_back("mtime");
        if (what.empty()) continue;
        std::string line = w.path + ": ";
        for (size_t k = 0; k < what.size(); k++)
            line += (k ? ", " : "") + what[k];
        out.push_back(line + " changed");
    }
    return out;
}

}  // namespace layerfs::store
