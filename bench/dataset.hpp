#pragma once
// The data every back end is measured on: one merged tree, the same tree split
// into three lower layers (kernel overlayfs format: char 0/0 whiteouts and
// trusted.overlay.opaque; the split: bench/layer_plan.hpp), and a tarball for
// the untar workload.
#include <cstdint>
#include <string>
#include <vector>

namespace layerfs::bench {

struct DataSpec {
    // "debian": a Debian minbase rootfs from debootstrap (fails when it cannot be
    // had); "synthetic": a generated tree of the same shape; "auto": Debian when
    // it can be had, else synthetic.
    std::string source = "auto";
    int synthetic_files = 7000;  // regular files in a synthetic rootfs
    uint64_t big_bytes = 1ull << 30;
    int untar_files = 20000;
    int many_files = 10000;   // small lower files for chmod/touch
    int repo_files = 3000;    // files in the git repository
    int c_files = 24;         // translation units of the C project
    static DataSpec quick();  // small synthetic data for CI's smoke run
};

struct DataSet {
    std::string root;                 // everything below lives here
    std::string merged;               // the whole tree as one directory (what every mount shows)
    std::vector<std::string> lowers;  // top layer first
    std::string untar_tarball;        // untar_files regular files
    std::string source;               // how the rootfs was made, for the report
    // Counts of the merged tree (rootfs/ and the rest) and of the layers' markers.
    uint64_t files = 0, dirs = 0, symlinks = 0, hardlinked = 0, bytes = 0;
    uint64_t whiteouts = 0, opaque_dirs = 0;
};

// The merged tree's layout: the top-level names the workloads use.
inline constexpr const char* kRootfs = "rootfs";  // the image's files (~7k)
inline constexpr const char* kBigFile = "big/big.bin";
inline constexpr const char* kMany = "many";       // many_files small files
inline constexpr const char* kRepo = "repo";       // a git repository, clean
inline constexpr const char* kCProject = "cproj";  // `make` builds it

// Builds the data under `root`, or reuses what an earlier call with the same
// spec left there complete. `repo_dir` is the source tree (for
// tests/runtime/debian_rootfs.sh). Throws std::runtime_error on failure.
DataSet prepare_data(const DataSpec& spec, const std::string& root, const std::string& repo_dir);

}  // namespace layerfs::bench
