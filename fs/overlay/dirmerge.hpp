#pragma once
// Merging directory listings of several layers into the one the mount shows.
#include <sys/types.h>

#include <string>
#include <vector>

namespace layerfs {

struct RawEntry {
    std::string name;
    unsigned char type = 0;  // DT_*
    ino_t ino = 0;
    bool whiteout_dev = false;  // a char 0/0 device (the caller stat'ed DT_CHR entries)
};

struct MergedEntry {
    std::string name;
    unsigned char type = 0;
    ino_t ino = 0;
    int layer = 0;  // index into the listings given to merge_listings
};

// Listings are top layer first. Each visible name appears once, from the highest
// layer that has it; whiteouts hide names below; neither they nor opaque markers
// are shown. Opaque directories are the caller's business: it passes no layer
// below one. The result is sorted by name, so offsets can be indexes.
std::vector<MergedEntry> merge_listings(std::vector<std::vector<RawEntry>> layers);

}  // namespace layerfs
