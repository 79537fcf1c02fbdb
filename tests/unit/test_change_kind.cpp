// Diff classification: snapshotter/change_kind.cpp.
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <catch2/catch.hpp>
#include <cstdint>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "snapshotter/change_kind.hpp"

namespace store = layerfs::store;
using store::ChangeKind;
using store::compare_meta;
using store::Meta;
using store::Verdict;

namespace {

// A non-empty regular file with every field set to something other than the
// default, so that a field the comparison forgets shows up as "Same".
Meta regular_file() {
    Meta m;
    m.mode = S_IFREG | 0644;
    m.uid = 1000;
    m.gid = 1001;
    m.size = 5;
    m.mtime_sec = 1700000000;
    m.mtime_nsec = 123456789;
    m.xattrs = {{"security.capability", std::string("\x01\x00\x00\x02", 4)},
                {"user.comment", "hello"}};
    return m;
}

Meta with_type(mode_t type, mode_t perm) {
    Meta m = regular_file();
    m.mode = type | perm;
    return m;
}

Meta directory() {
    Meta m = with_type(S_IFDIR, 0755);
    m.size = 4096;
    return m;
}

Meta symlink_to(const std::string& target) {
    Meta m = with_type(S_IFLNK, 0777);
    m.link_target = target;
    m.size = target.size();
    return m;
}

Meta device(mode_t type, unsigned maj, unsigned min) {
    Meta m = with_type(type, 0660);
    m.size = 0;
    m.rdev = makedev(maj, min);
    return m;
}

const char* name_of(Verdict v) {
    switch (v) {
        case Verdict::Same:
            return "Same";
        case Verdict::Changed:
            return "Changed";
        case Verdict::SameIfContentEqual:
            return "SameIfContentEqual";
    }
    return "?";
}

// `edit` applied to a copy of `base` must be reported as changed, whichever side
// is the upper one.
void check_changed(const Meta& base, const std::function<void(Meta&)>& edit) {
    Meta other = base;
    edit(other);
    CHECK(name_of(compare_meta(other, base)) == std::string("Changed"));
    CHECK(name_of(compare_meta(base, other)) == std::string("Changed"));
}

// `edit` applied to a copy of `base` must not change the verdict `base` gets
// against itself.
void check_ignored(const Meta& base, const std::function<void(Meta&)>& edit) {
    Meta other = base;
    edit(other);
    const std::string unchanged = name_of(compare_meta(base, base));
    CHECK(unchanged != "Changed");
    CHECK(name_of(compare_meta(other, base)) == unchanged);
    CHECK(name_of(compare_meta(base, other)) == unchanged);
}

}  // namespace

TEST_CASE("compare_meta: equal metadata of a non-empty regular file leaves it to the content",
          "[change_kind]") {
    CHECK(compare_meta(regular_file(), regular_file()) == Verdict::SameIfContentEqual);
    Meta big = regular_file();
    big.size = std::numeric_limits<uint64_t>::max();
    CHECK(compare_meta(big, big) == Verdict::SameIfContentEqual);
}

TEST_CASE("compare_meta: equal empty regular files are the same without reading them",
          "[change_kind]") {
    Meta empty = regular_file();
    empty.size = 0;
    CHECK(compare_meta(empty, empty) == Verdict::Same);
}

TEST_CASE("compare_meta: equal entries other than regular files are the same", "[change_kind]") {
    CHECK(compare_meta(directory(), directory()) == Verdict::Same);
    CHECK(compare_meta(symlink_to("target"), symlink_to("target")) == Verdict::Same);
    CHECK(compare_meta(device(S_IFCHR, 1, 3), device(S_IFCHR, 1, 3)) == Verdict::Same);
    CHECK(compare_meta(device(S_IFBLK, 8, 1), device(S_IFBLK, 8, 1)) == Verdict::Same);
    // A fifo or socket has a size of 0 but is not a regular file: nothing to read.
    Meta fifo = with_type(S_IFIFO, 0600);
    fifo.size = 0;
    CHECK(compare_meta(fifo, fifo) == Verdict::Same);
    Meta sock = with_type(S_IFSOCK, 0755);
    sock.size = 0;
    CHECK(compare_meta(sock, sock) == Verdict::Same);
}

TEST_CASE("compare_meta: a type change is a change even with equal permission bits",
          "[change_kind]") {
    const std::vector<mode_t> types = {S_IFREG, S_IFDIR, S_IFLNK, S_IFCHR,
                                       S_IFBLK, S_IFIFO, S_IFSOCK};
    for (mode_t a : types)
        for (mode_t b : types) {
            if (a == b) continue;
            INFO("types " << std::oct << a << " and " << b);
            Meta ma = with_type(a, 0644);
            Meta mb = with_type(b, 0644);
            CHECK(compare_meta(ma, mb) == Verdict::Changed);
        }
}

TEST_CASE("compare_meta: permission bits", "[change_kind]") {
    check_changed(regular_file(), [](Meta& m) { m.mode = S_IFREG | 0755; });
    check_changed(regular_file(), [](Meta& m) { m.mode = S_IFREG | 0600; });
    check_changed(regular_file(), [](Meta& m) { m.mode = S_IFREG | 0; });
    check_changed(regular_file(), [](Meta& m) { m.mode |= S_ISUID; });
    check_changed(regular_file(), [](Meta& m) { m.mode |= S_ISGID; });
    check_changed(directory(), [](Meta& m) { m.mode |= S_ISVTX; });
    check_changed(directory(), [](Meta& m) { m.mode = S_IFDIR | 0700; });
}

TEST_CASE("compare_meta: owner", "[change_kind]") {
    check_changed(regular_file(), [](Meta& m) { m.uid = 0; });
    check_changed(regular_file(), [](Meta& m) { m.gid = 0; });
    check_changed(regular_file(), [](Meta& m) { m.uid = 1001; });  // uid now equals gid
    check_changed(regular_file(), [](Meta& m) { std::swap(m.uid, m.gid); });
    check_changed(directory(), [](Meta& m) { m.uid = 65534; });
    check_changed(directory(), [](Meta& m) { m.gid = 65534; });
    check_changed(symlink_to("t"), [](Meta& m) { m.uid = 0; });
}

TEST_CASE("compare_meta: size counts for files but not for directories", "[change_kind]") {
    check_changed(regular_file(), [](Meta& m) { m.size = 6; });
    check_changed(regular_file(), [](Meta& m) { m.size = 0; });
    check_changed(symlink_to("abc"), [](Meta& m) { m.size = 4; });
    // A directory's size is whatever the file system that holds it says.
    check_ignored(directory(), [](Meta& m) { m.size = 0; });
    check_ignored(directory(), [](Meta& m) { m.size = 12288; });
}

TEST_CASE("compare_meta: mtime seconds and nanoseconds", "[change_kind]") {
    check_changed(regular_file(), [](Meta& m) { m.mtime_sec += 1; });
    check_changed(regular_file(), [](Meta& m) { m.mtime_sec = -1; });
    check_changed(regular_file(), [](Meta& m) { m.mtime_nsec += 1; });
    check_changed(regular_file(), [](Meta& m) { m.mtime_nsec = 0; });
    // Both parts at once.
    check_changed(regular_file(), [](Meta& m) {
        m.mtime_sec += 1;
        m.mtime_nsec = 0;
    });
    check_changed(directory(), [](Meta& m) { m.mtime_nsec = 999999999; });
    check_changed(symlink_to("t"), [](Meta& m) { m.mtime_sec = 0; });
}

TEST_CASE("compare_meta: device number counts only for devices", "[change_kind]") {
    check_changed(device(S_IFCHR, 1, 3), [](Meta& m) { m.rdev = makedev(1, 5); });
    check_changed(device(S_IFCHR, 1, 3), [](Meta& m) { m.rdev = makedev(4, 3); });
    check_changed(device(S_IFBLK, 8, 1), [](Meta& m) { m.rdev = makedev(8, 2); });
    check_changed(device(S_IFBLK, 8, 1), [](Meta& m) { m.rdev = makedev(259, 1); });
    // st_rdev of anything else carries no meaning.
    check_ignored(regular_file(), [](Meta& m) { m.rdev = makedev(1, 3); });
    check_ignored(directory(), [](Meta& m) { m.rdev = makedev(1, 3); });
    check_ignored(symlink_to("t"), [](Meta& m) { m.rdev = makedev(1, 3); });
    Meta fifo = with_type(S_IFIFO, 0600);
    fifo.size = 0;
    check_ignored(fifo, [](Meta& m) { m.rdev = makedev(1, 3); });
}

TEST_CASE("compare_meta: symlink target", "[change_kind]") {
    // Same length, so only the target itself differs.
    check_changed(symlink_to("abc"), [](Meta& m) { m.link_target = "abd"; });
    check_changed(symlink_to("/usr/bin/x"), [](Meta& m) { m.link_target = "/usr/bin/y"; });
    check_changed(symlink_to("a"), [](Meta& m) {
        m.link_target = "../a";
        m.size = m.link_target.size();
    });
}

TEST_CASE("compare_meta: xattrs", "[change_kind]") {
    // The lists arrive sorted by name; equal lists are equal.
    Meta copy = regular_file();
    CHECK(compare_meta(copy, regular_file()) == Verdict::SameIfContentEqual);
    check_changed(regular_file(), [](Meta& m) { m.xattrs.clear(); });
    check_changed(regular_file(), [](Meta& m) { m.xattrs.pop_back(); });
    check_changed(regular_file(), [](Meta& m) { m.xattrs.emplace_back("user.zzz", ""); });
    check_changed(regular_file(), [](Meta& m) { m.xattrs[1].second = "hellp"; });
    check_changed(regular_file(), [](Meta& m) { m.xattrs[1].second = ""; });
    check_changed(regular_file(), [](Meta& m) { m.xattrs[1].first = "user.commenT"; });
    // Binary values are compared in full, past an embedded NUL.
    check_changed(regular_file(),
                  [](Meta& m) { m.xattrs[0].second = std::string("\x01\x00\x00\x03", 4); });
    check_changed(directory(), [](Meta& m) { m.xattrs.emplace_back("user.new", "1"); });
    check_changed(symlink_to("t"), [](Meta& m) { m.xattrs.clear(); });
    Meta none = directory();
    none.xattrs.clear();
    CHECK(compare_meta(none, none) == Verdict::Same);
}

TEST_CASE("change_letter is docker's A C D", "[change_kind]") {
    CHECK(store::change_letter(ChangeKind::Added) == 'A');
    CHECK(store::change_letter(ChangeKind::Changed) == 'C');
    CHECK(store::change_letter(ChangeKind::Deleted) == 'D');
}

TEST_CASE("change_api_kind is docker's ContainerChanges Kind", "[change_kind]") {
    // Docker Engine API, GET /containers/{id}/changes: 0 modified, 1 added, 2 deleted.
    CHECK(store::change_api_kind(ChangeKind::Changed) == 0);
    CHECK(store::change_api_kind(ChangeKind::Added) == 1);
    CHECK(store::change_api_kind(ChangeKind::Deleted) == 2);
}

TEST_CASE("parse_epoch accepts non-negative decimal seconds", "[change_kind]") {
    int64_t v = -7;
    CHECK(store::parse_epoch("0", v));
    CHECK(v == 0);
    CHECK(store::parse_epoch("1", v));
    CHECK(v == 1);
    CHECK(store::parse_epoch("1700000000", v));
    CHECK(v == 1700000000);
    const int64_t max = std::numeric_limits<int64_t>::max();
    CHECK(store::parse_epoch(std::to_string(max), v));
    CHECK(v == max);
}

TEST_CASE("parse_epoch refuses negative numbers, junk, empty and overflow", "[change_kind]") {
    for (const std::string bad :
         {"", " ", "-1", "-1700000000", "abc", "12abc", "1.5", "1e9", "0x10", " 5", "5 ", "+5",
          "5\n", "١٢", "9223372036854775808", "99999999999999999999999"}) {
        INFO("'" << bad << "'");
        int64_t v = 0;
        CHECK_FALSE(store::parse_epoch(bad, v));
    }
}
