// The members of a committed layer: layer_members in snapshotter/layer_tar.cpp.
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "snapshotter/layer_tar.hpp"

namespace store = layerfs::store;
using store::ChangeItem;
using store::layer_members;
using store::State;
using store::TarMember;

namespace {

ChangeItem item(const std::string& path, State state, mode_t mode, bool in_layer,
                bool opaque = false) {
    ChangeItem it;
    it.path = path;
    it.state = state;
    it.in_layer = in_layer;
    it.opaque = opaque;
    it.meta.mode = mode;
    it.nlink = 1;
    return it;
}

// What collect_changes gives for a deletion: the whiteout's metadata.
ChangeItem deletion(const std::string& path, bool in_layer = true) {
    ChangeItem it = item(path, State::Deleted, S_IFCHR | 0, in_layer);
    it.meta.rdev = makedev(0, 0);
    return it;
}

const char* kind_name(TarMember::Kind k) {
    switch (k) {
        case TarMember::Entry:
            return "Entry";
        case TarMember::Whiteout:
            return "Whiteout";
        case TarMember::OpaqueMarker:
            return "OpaqueMarker";
    }
    return "?";
}

struct Want {
    std::string path;
    std::string item_path;  // the ChangeItem the member stands for
    std::string kind;
};

void check_members(const std::vector<ChangeItem>& items, const std::vector<Want>& want) {
    std::vector<TarMember> got = layer_members(items);
    std::string got_text, want_text;
    for (const auto& m : got)
        got_text +=
            m.path + " <- " + (m.item ? m.item->path : "null") + " " + kind_name(m.kind) + "\n";
    for (const auto& w : want)
        want_text += w.path + " <- " + w.item_path + " " + w.kind + "\n";
    CHECK(got_text == want_text);
    // The members point into `items`, not at copies.
    for (const auto& m : got) {
        INFO(m.path);
        CHECK(m.item >= items.data());
        CHECK(m.item < items.data() + items.size());
    }
}

}  // namespace

TEST_CASE("layer_members of nothing is nothing", "[layer_tar]") {
    CHECK(layer_members({}).empty());
}

TEST_CASE("layer_members keeps only what the layer carries", "[layer_tar]") {
    std::vector<ChangeItem> items = {
        item("/a", State::Changed, S_IFDIR | 0755, true),
        item("/a/new", State::Added, S_IFREG | 0644, true),
        item("/a/same", State::Same, S_IFREG | 0644, false),
        item("/etc", State::Same, S_IFDIR | 0755, false),
        item("/etc/passwd", State::Same, S_IFREG | 0644, false),
    };
    check_members(items, {{"a", "/a", "Entry"}, {"a/new", "/a/new", "Entry"}});
}

TEST_CASE("layer_members names whiteouts after the deleted entry", "[layer_tar]") {
    std::vector<ChangeItem> items = {
        item("/a", State::Changed, S_IFDIR | 0755, true),
        deletion("/a/gone"),
        item("/a/b", State::Changed, S_IFDIR | 0755, true),
        deletion("/a/b/.hidden"),
        deletion("/top"),
        deletion("/dir with space"),
    };
    check_members(items, {{".wh.dir with space", "/dir with space", "Whiteout"},
                          {".wh.top", "/top", "Whiteout"},
                          {"a", "/a", "Entry"},
                          {"a/.wh.gone", "/a/gone", "Whiteout"},
                          {"a/b", "/a/b", "Entry"},
                          {"a/b/.wh..hidden", "/a/b/.hidden", "Whiteout"}});
}

TEST_CASE("layer_members marks opaque directories", "[layer_tar]") {
    // rm -rf /o then mkdir /o with one file put back unchanged: the marker hides
    // the lower children, so the unchanged one is carried and the deleted one is
    // not whited out.
    std::vector<ChangeItem> items = {
        item("/o", State::Changed, S_IFDIR | 0755, true, true),
        item("/o/kept", State::Same, S_IFREG | 0644, true),
        deletion("/o/old", false),
        item("/p", State::Added, S_IFDIR | 0700, true, true),
        item("/p/q", State::Changed, S_IFDIR | 0755, true, true),
    };
    check_members(items, {{"o", "/o", "Entry"},
                          {"o/.wh..wh..opq", "/o", "OpaqueMarker"},
                          {"o/kept", "/o/kept", "Entry"},
                          {"p", "/p", "Entry"},
                          {"p/.wh..wh..opq", "/p", "OpaqueMarker"},
                          {"p/q", "/p/q", "Entry"},
                          {"p/q/.wh..wh..opq", "/p/q", "OpaqueMarker"}});
}

TEST_CASE("layer_members drops sockets", "[layer_tar]") {
    std::vector<ChangeItem> items = {
        item("/run", State::Changed, S_IFDIR | 0755, true),
        item("/run/app.sock", State::Added, S_IFSOCK | 0755, true),
        item("/run/fifo", State::Added, S_IFIFO | 0600, true),
        item("/sock", State::Changed, S_IFSOCK | 0777, true),
    };
    check_members(items, {{"run", "/run", "Entry"}, {"run/fifo", "/run/fifo", "Entry"}});
}

TEST_CASE("layer_members keeps every kind of entry", "[layer_tar]") {
    std::vector<ChangeItem> items = {
        item("/f", State::Added, S_IFREG | 0644, true),
        item("/d", State::Added, S_IFDIR | 0755, true),
        item("/l", State::Added, S_IFLNK | 0777, true),
        item("/c", State::Added, S_IFCHR | 0660, true),
        item("/b", State::Added, S_IFBLK | 0660, true),
        item("/p", State::Added, S_IFIFO | 0600, true),
    };
    check_members(items, {{"b", "/b", "Entry"},
                          {"c", "/c", "Entry"},
                          {"d", "/d", "Entry"},
                          {"f", "/f", "Entry"},
                          {"l", "/l", "Entry"},
                          {"p", "/p", "Entry"}});
}

TEST_CASE("layer_members sorts by path in byte order", "[layer_tar]") {
    // Given in reverse order; '-' and '.' sort before '/', so "a-b" comes between
    // "a" and "a/x", and every name sorts by its bytes, not by locale.
    std::vector<ChangeItem> items = {
        item("/a/x", State::Added, S_IFREG | 0644, true),
        item("/a.b", State::Added, S_IFREG | 0644, true),
        item("/a-b", State::Added, S_IFREG | 0644, true),
        item("/a", State::Changed, S_IFDIR | 0755, true),
        item("/Z", State::Added, S_IFREG | 0644, true),
        item("/\xc3\xa9", State::Added, S_IFREG | 0644, true),
        deletion("/b"),
    };
    std::vector<TarMember> got = layer_members(items);
    std::vector<std::string> paths;
    for (const auto& m : got)
        paths.push_back(m.path);
    std::vector<std::string> want = {".wh.b", "Z", "a", "a-b", "a.b", "a/x", "\xc3\xa9"};
    std::vector<std::string> sorted = want;
    std::sort(sorted.begin(), sorted.end());
    REQUIRE(sorted == want);  // the expectation itself is in byte order
    CHECK(paths == want);
}
