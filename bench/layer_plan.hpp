#pragma once
// The split of the merged tree (bench/dataset.hpp) into three lower layers is a
// pure plan, so it is unit-tested without building anything. Whatever changes
// the plan must bump kFormat in bench/dataset.cpp, or cached layers go on being used.
#include <cstdint>
#include <string>
#include <vector>

namespace layerfs::bench {

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
