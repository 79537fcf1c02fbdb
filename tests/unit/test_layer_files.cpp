// The layer file index: its encoding, and what the comparison names.
#include <sys/stat.h>

#include <catch2/catch.hpp>

#include "snapshotter/failure.hpp"
#include "snapshotter/layer_files.hpp"

using layerfs::store::compare_layer_files;
using layerfs::store::decode_layer_files;
using layerfs::store::encode_layer_files;
using layerfs::store::FileRecord;

namespace {

std::vector<FileRecord> tree() {
    return {{".", S_IFDIR | 0755, 0, 0, 0, 1, "", "x0", ""},
            {"bin", S_IFDIR | 0755, 0, 0, 0, 2, "", "x0", ""},
            {"bin/sh", S_IFLNK | 0777, 0, 0, 0, 3, "t1", "x0", ""},
            {"bin/tool", S_IFREG | 0755, 0, 0, 10, 4, "c1", "x0", ""},
            {"bin/tool2", S_IFREG | 0755, 0, 0, 10, 4, "c1", "x0", "bin/tool"},
            {"etc", S_IFDIR | 0755, 0, 0, 0, 5, "", "x0", ""},
            {"etc/passwd", S_IFREG | 0644, 0, 0, 20, 6, "c2", "x1", ""}};
}

}  // namespace

TEST_CASE("a layer file index decodes to what was encoded") {
    auto files = tree();
    files[3].path = "name with \"quotes\",\ttabs\nand newlines, 100% caf\xe9 \xff";
    files[4].link = files[3].path;
    CHECK(decode_layer_files(encode_layer_files(files)) == files);
    CHECK(decode_layer_files(encode_layer_files({})).empty());
}

TEST_CASE("anything else is not a layer file index") {
    for (std::string text : {"", "{", "[]", "{\"version\":2,\"files\":[]}", "{\"version\":1}",
                             "{\"version\":1,\"files\":{}}", "{\"version\":1,\"files\":[[1]]}",
                             "{\"version\":1,\"files\":[[\"a%4\",1,0,0,0,0,\"\",\"\",\"\"]]}",
                             "{\"version\":1,\"files\":[[\"a\",1,0,0,0,0,\"\",\"\",7]]}"}) {
        CAPTURE(text);
        CHECK_THROWS_AS(decode_layer_files(text), layerfs::store::Failure);
    }
}

TEST_CASE("the comparison names each path and what changed in it") {
    auto want = tree();
    CHECK(compare_layer_files(want, want).empty());

    auto got = want;
    got[2].data = "t2";            // bin/sh retargeted
    got[3].mode = S_IFREG | 0777;  // bin/tool chmod
    got[3].uid = 1;                // and chown
    got[4].link = "";              // bin/tool2 no longer a hard link
    got[6].size = 21;              // etc/passwd appended to
    got[6].data = "c3";
    got[6].mtime_ns = 7;
    got[6].xattrs = "x2";
    got.erase(got.begin() + 1);  // bin's entry gone (but its children not)
    got.push_back({"zz", S_IFREG | 0644, 0, 0, 0, 8, "c0", "x0", ""});
    got.insert(got.begin() + 4, {"etc", S_IFREG | 0755, 0, 0, 0, 5, "c0", "x0", ""});
    got.erase(got.begin() + 5);  // the directory etc replaced by a file of that name
    CHECK(compare_layer_files(want, got) ==
          std::vector<std::string>{
              "bin: missing", "bin/sh: target changed", "bin/tool: mode, owner changed",
              "bin/tool2: hard links changed", "etc: type, content changed",
              "etc/passwd: size, content, xattrs, mtime changed", "zz: not in the layer"});
}
