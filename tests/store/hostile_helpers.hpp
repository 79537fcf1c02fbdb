#pragma once
// Shared by the hostile-input tests: a store snapshot before and after each
// refused import, the ways an input is fed to `layerfs import`, and checks on
// the messages.
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "tests/store/store_helpers.hpp"
#include "tests/support/oci_builder.hpp"

namespace layerfs::test::hostile {

using namespace layerfs::test;

using json = nlohmann::json;
using Part = OciLayoutBuilder::Part;

// path -> type, size and content digest of every name under ROOT, ROOT's own
// "lock" included (only its timestamps change, and they are not listed).
inline std::map<std::string, std::string> listing(const std::string& root) {
    std::map<std::string, std::string> out;
    std::error_code ec;
    for (auto it = std::filesystem::recursive_directory_iterator(root, ec);
         !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
        std::string path = it->path().string();
        struct stat st = lstat_of(path);
        std::string what;
        if (S_ISDIR(st.st_mode)) {
            what = "dir";
        } else if (S_ISREG(st.st_mode)) {
            what = "file size=" + std::to_string(st.st_size) +
                   " sha256=" + sha256_of(read_bytes(path));
        } else if (S_ISLNK(st.st_mode)) {
            what = "symlink -> " + std::filesystem::read_symlink(path).string();
        } else {
            what = "special mode=" + std::to_string(st.st_mode);
        }
        out[path.substr(root.size())] = what;
    }
    return out;
}

inline std::string listing_diff(const std::map<std::string, std::string>& before,
                                const std::map<std::string, std::string>& after) {
    std::ostringstream ss;
    for (const auto& [k, v] : before) {
        auto it = after.find(k);
        if (it == after.end())
            ss << "gone:    " << k << " (" << v << ")\n";
        else if (it->second != v)
            ss << "changed: " << k << " (" << v << " -> " << it->second << ")\n";
    }
    for (const auto& [k, v] : after)
        if (!before.count(k)) ss << "new:     " << k << " (" << v << ")\n";
    return ss.str();
}

// A line of OUTPUT that starts with "layerfs: " and contains WHAT.
inline bool has_message(const std::string& output, const std::string& what) {
    std::istringstream in(output);
    for (std::string line; std::getline(in, line);)
        if (line.rfind("layerfs: ", 0) == 0 && line.find(what) != std::string::npos) return true;
    return false;
}

// Every "layerfs: " line of OUTPUT says why after its last colon: none ends in
// ": " with the reason missing.
inline bool reasons_given(const std::string& output) {
    std::istringstream in(output);
    for (std::string line; std::getline(in, line);) {
        if (line.rfind("layerfs: ", 0) != 0) continue;
        while (!line.empty() && line.back() == ' ')
            line.pop_back();
        if (line.back() == ':') return false;
    }
    return true;
}

inline const char* part_name(Part p) {
    switch (p) {
        case Part::Index:
            return "index.json";
        case Part::Manifest:
            return "manifest";
        case Part::Config:
            return "config";
        case Part::Layer:
            return "layer";
    }
    return "?";
}

// Inputs live beside the store in the test's temp dir, never inside it.
struct Hostile {
    TestStore s;
    int inputs = 0;

    Hostile() {
        // The first command creates the store; compare against what it made.
        auto r = s.lf({"images"});
        REQUIRE(r.status == 0);
    }

    std::string input_path(const std::string& suffix) {
        return s.tmp / ("input-" + std::to_string(++inputs) + suffix);
    }

    // `layerfs import ARGS...` is refused with a message containing every one
    // of EXPECT on one "layerfs: " line, and the store does not change.
    void refused(const std::vector<std::string>& args, const std::vector<std::string>& expect) {
        auto before = listing(s.root);
        auto images_before = s.lf({"images", "-q", "--no-trunc"});
        std::vector<std::string> argv{"import"};
        argv.insert(argv.end(), args.begin(), args.end());
        auto r = s.lf(argv);
        INFO("layerfs import " << args.front() << "\n" << r.output);
        CHECK(r.status == 1);
        for (const auto& e : expect) {
            INFO("expected a 'layerfs: ' line containing: " << e);
            CHECK(has_message(r.output, e));
        }
        CHECK(reasons_given(r.output));
        auto after = listing(s.root);
        INFO("store changes:\n" << listing_diff(before, after));
        CHECK(after == before);
        auto images = s.lf({"images", "-q", "--no-trunc"});
        CHECK(images.status == 0);
        CHECK(images.output == images_before.output);
    }

    // TAR imported as a rootfs tarball, plain and gzip-compressed.
    void refused_as_rootfs(const std::string& tar, const std::vector<std::string>& expect) {
        for (bool gz : {false, true}) {
            std::string path = input_path(gz ? ".tar.gz" : ".tar");
            write_bytes(path, gz ? gzip(tar) : tar);
            INFO((gz ? "gzip-compressed " : "") << "rootfs tarball");
            refused({path, "hostile/rootfs:1"}, expect);
        }
    }

    // LAYOUT written into a fresh dir and imported as DIR:TAG, and packed into
    // an oci-archive imported as FILE.tar.
    void refused_as_layout(const OciLayoutBuilder& layout, const std::vector<std::string>& expect) {
        std::string dir = input_path(".oci");
        layout.write(dir);
        {
            INFO("OCI layout directory");
            refused({dir + ":" + layout.ref_name, "hostile/oci:1"}, expect);
        }
        std::string archive = input_path(".oci.tar");
        write_bytes(archive, tar_of_dir(dir));
        {
            INFO("oci-archive");
            refused({archive, "hostile/oci-archive:1"}, expect);
        }
    }

    // TAR as the only layer of an otherwise valid OCI layout, plain and gzip.
    void refused_as_layer(const std::string& tar, const std::vector<std::string>& expect) {
        for (bool gz : {false, true}) {
            OciLayoutBuilder b;
            b.layer(tar, gz);
            INFO((gz ? "gzip-compressed " : "uncompressed ") << "layer");
            refused_as_layout(b, expect);
        }
    }

    void refused_everywhere(const std::string& tar, const std::vector<std::string>& expect) {
        refused_as_rootfs(tar, expect);
        refused_as_layer(tar, expect);
    }
};

inline std::string lowerdir_option(const TestStore& s, const std::string& image) {
    auto r = s.lf({"inspect", image});
    INFO(r.output);
    REQUIRE(r.status == 0);
    json j = json::parse(r.output);
    return j.at(0).at("GraphDriver").at("Data").at("LowerDir").get<std::string>();
}

inline std::string xattr_of(const std::string& path, const std::string& name) {
    char buf[256];
    ssize_t n = ::lgetxattr(path.c_str(), name.c_str(), buf, sizeof buf);
    return n < 0 ? std::string() : std::string(buf, size_t(n));
}

inline bool has_xattr(const std::string& path, const std::string& name) {
    return ::lgetxattr(path.c_str(), name.c_str(), nullptr, 0) >= 0;
}

}  // namespace layerfs::test::hostile
