// The per-directory index of lower names: fs/overlay/lower_index.cpp, fed by
// merge_listings as opendir feeds it.
#include <dirent.h>

#include <catch2/catch.hpp>

#include "fs/overlay/dirmerge.hpp"
#include "fs/overlay/lower_index.hpp"

using layerfs::LowerIndex;
using layerfs::merge_listings;
using layerfs::RawEntry;

TEST_CASE("lower index: the topmost lower layer of each visible name", "[lower_index]") {
    // Layers 1 (top) and 2: a file over a file, a whiteout of each dialect, a
    // directory over a file, names only below.
    std::vector<std::vector<RawEntry>> raw = {{{"both", DT_REG, 10, false},
                                               {".wh.gone", DT_REG, 11, false},
                                               {"hidden", DT_CHR, 12, true},
                                               {"d", DT_DIR, 13, false},
                                               {".wh..wh..opq", DT_REG, 14, false}},
                                              {{"both", DT_REG, 20, false},
                                               {"gone", DT_REG, 21, false},
                                               {"hidden", DT_DIR, 22, false},
                                               {"d", DT_REG, 23, false},
                                               {"below", DT_LNK, 24, false}}};
    auto merged = merge_listings(raw);
    for (auto& m : merged)
        m.layer += 1;  // listing index to layer number
    LowerIndex index(merged);

    CHECK(index.size() == 3);
    REQUIRE(index.find("both"));
    CHECK(index.find("both")->layer == 1);
    CHECK(index.find("both")->type == DT_REG);
    REQUIRE(index.find("d"));
    CHECK(index.find("d")->layer == 1);
    CHECK(index.find("d")->type == DT_DIR);
    REQUIRE(index.find("below"));
    CHECK(index.find("below")->layer == 2);
    CHECK(index.find("below")->type == DT_LNK);
    for (const char* absent : {"gone", "hidden", ".wh.gone", ".wh..wh..opq", "nothing", ""})
        CHECK_FALSE(index.find(absent));
}

TEST_CASE("lower index: an empty directory", "[lower_index]") {
    LowerIndex index({});
    CHECK(index.size() == 0);
    CHECK_FALSE(index.find("x"));
}
