#pragma once
// The data every back end is measured on: one merged tree, the same tree split
// into three lower layers (kernel overlayfs format: char 0/0 whiteouts and
// trusted.overlay.opaque), and a tarball for the untar workload.
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

// The split of the merged tree into layers is a pure plan (see below), so it is
// unit-tested without building anything.

inline constexpr int kLayers = 3;  // layers/0 (bottom) .. layers/2 (top)

enum class EntryKind { kDir, kFile, kSymlink, kOther };  // kOther: devices, fifos, sockets

// One entry of the merged tree, as the plan sees it.
struct PlanEntry {
    std::string path;  // relative to merged/, no "./", no trailing '/': "rootfs/usr/bin"
    EntryKind kind = EntryKind::kFile;
    int link_group = -1;  // regular files that share an inode share a group id; -1: alone
};

// Something that exists only in the layers, never in the merged view.
struct LayerExtra {
    enum Kind { kJunkFile, kJunkDir, kWhiteout };
    std::string path;  // relative, like PlanEntry::path
    Kind kind = kJunkFile;
    int layer = 0;
};

struct LayerPlan {
    // Per entry, in the order given: bit N set means the entry is in layer N.
    // Exactly one bit for everything but directories; a directory is in every
    // layer that holds something below it (or in one layer when nothing does).
    std::vector<unsigned> layers;
    // Junk and the whiteouts that hide it, sorted by path (so parents come
    // first): stale files and directories in a lower layer with a whiteout of
    // the same name in a higher one (in about one directory in 40 outside the
    // pinned trees), and junk below the opaque directories.
    std::vector<LayerExtra> extras;
    // Directories the top layer holds marked opaque, with all their real
    // descendants; the junk the layers below hold under them stays hidden.
    std::vector<std::string> opaque_dirs;
    uint64_t whiteouts = 0;
};

// The split: big/ in layer 0, many/ and repo/ in layer 1, cproj/ in layer 2
// (the pinned trees), everything else spread by a hash of its path. Up to 4
// rootfs/ directories (two levels down or deeper, 1 to 400 entries below, none
// inside another) are made opaque. A hard-link set goes where its first name (in
// path order) goes, or on top when a name is below an opaque directory.
// Deterministic, whatever the order of `entries`. Every entry's parent
// directory must be among the entries (or be the root); throws
// std::invalid_argument otherwise.
LayerPlan plan_layers(const std::vector<PlanEntry>& entries);

}  // namespace layerfs::bench
