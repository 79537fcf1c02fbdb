#pragma once
// A store of its own for each test, driven through the real `layerfs` binary.
#include <archive.h>
#include <archive_entry.h>
#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "tests/support/fixture.hpp"

namespace layerfs::test {

struct TestStore {
    TempDir tmp;
    std::string root = tmp / "store";

    // `layerfs --root ROOT ARGS...`
    RunResult lf(std::vector<std::string> args) const {
        args.insert(args.begin(), {layerfs_bin(), "--root", root});
        return run(args);
    }
};

// `layerfs inspect IMAGE`, the one object of its array.
inline nlohmann::json inspect(const TestStore& s, const std::string& image) {
    auto r = s.lf({"inspect", image});
    INFO(image << ": " << r.output);
    REQUIRE(r.status == 0);
    auto j = nlohmann::json::parse(r.output, nullptr, false);
    REQUIRE(j.is_array());
    REQUIRE(j.size() == 1);
    return j[0];
}

// The image id: 64 hex digits, without "sha256:".
inline std::string id_of(const TestStore& s, const std::string& image) {
    std::string id = inspect(s, image).value("Id", "");
    REQUIRE(id.rfind("sha256:", 0) == 0);
    REQUIRE(id.size() == 71);
    return id.substr(7);
}

// The image's layer directories, top first.
inline std::vector<std::string> lower_dirs(const TestStore& s, const std::string& image) {
    std::string lower = inspect(s, image)["GraphDriver"]["Data"].value("LowerDir", "");
    std::vector<std::string> out;
    std::stringstream ss(lower);
    for (std::string part; std::getline(ss, part, ':');)
        out.push_back(part);
    REQUIRE_FALSE(out.empty());
    return out;
}

// "name:tag" of every row of `layerfs images`.
inline std::multiset<std::string> listed_names(const TestStore& s) {
    auto r = s.lf({"images"});
    INFO(r.output);
    REQUIRE(r.status == 0);
    std::istringstream in(r.output);
    std::string line;
    std::getline(in, line);
    REQUIRE(line.rfind("REPOSITORY", 0) == 0);
    std::multiset<std::string> out;
    while (std::getline(in, line)) {
        std::istringstream cols(line);
        std::string repo, tag;
        cols >> repo >> tag;
        out.insert(repo + ":" + tag);
    }
    return out;
}

// A tar member, for tests that write whole tars declaratively.
struct TarMember {
    std::string path;
    mode_t mode;  // type and permissions
    unsigned uid = 0, gid = 0;
    std::string data = {};      // a file's content, a symlink's target
    std::string hardlink = {};  // a hard link to this earlier member
    dev_t rdev = 0;
    std::vector<std::pair<std::string, std::string>> xattrs = {};
};

inline void write_tar(const std::string& file, const std::vector<TarMember>& members) {
    std::unique_ptr<archive, int (*)(archive*)> a(archive_write_new(), archive_write_free);
    archive_write_set_format_pax_restricted(a.get());
    REQUIRE(archive_write_open_filename(a.get(), file.c_str()) == ARCHIVE_OK);
    for (const auto& m : members) {
        std::unique_ptr<archive_entry, void (*)(archive_entry*)> e(archive_entry_new(),
                                                                   archive_entry_free);
        archive_entry_copy_pathname(e.get(), m.path.c_str());
        archive_entry_set_mode(e.get(), m.mode);
        archive_entry_set_uid(e.get(), m.uid);
        archive_entry_set_gid(e.get(), m.gid);
        archive_entry_set_mtime(e.get(), 1700000000, 0);
        bool data = false;
        if (!m.hardlink.empty()) {
            archive_entry_copy_hardlink(e.get(), m.hardlink.c_str());
            archive_entry_set_size(e.get(), 0);
        } else if (S_ISLNK(m.mode)) {
            archive_entry_copy_symlink(e.get(), m.data.c_str());
        } else if (S_ISREG(m.mode)) {
            archive_entry_set_size(e.get(), la_int64_t(m.data.size()));
            data = true;
        } else if (S_ISCHR(m.mode) || S_ISBLK(m.mode)) {
            archive_entry_set_rdev(e.get(), m.rdev);
        }
        for (const auto& [k, v] : m.xattrs)
            archive_entry_xattr_add_entry(e.get(), k.c_str(), v.data(), v.size());
        INFO(m.path);
        REQUIRE(archive_write_header(a.get(), e.get()) == ARCHIVE_OK);
        if (data && !m.data.empty())
            REQUIRE(archive_write_data(a.get(), m.data.data(), m.data.size()) ==
                    la_ssize_t(m.data.size()));
    }
    REQUIRE(archive_write_close(a.get()) == ARCHIVE_OK);
}

}  // namespace layerfs::test

#define REQUIRE_OK(r)            \
    do {                         \
        auto&& r_ = (r);         \
        INFO(r_.output);         \
        REQUIRE(r_.status == 0); \
    } while (0)
