// metacopy=on: chmod, chown, utimes, xattrs, links and renames copy a lower
// file's metadata only; the first data write copies the data in, in place. The
// upper stays in kernel overlayfs' format, so each reads what the other wrote.
#include <sys/mman.h>
#include <sys/xattr.h>

#include <cstring>

#include "tests/mount/mount_helpers.hpp"

using namespace layerfs::test;

namespace {

// Bigger than a page and than one copy chunk would need to be, and no two
// pages alike, so a misplaced block shows.
std::string pattern(size_t size, char seed) {
    std::string s(size, '\0');
    for (size_t i = 0; i < size; ++i)
        s[i] = char(seed + (i * 7 + i / 4096) % 26);
    return s;
}

const std::string kBig = pattern(3 * 1048576 + 5, 'a');
const std::string kOther = pattern(70000, 'A');

bool has_xattr(const std::string& path, const char* name) {
    return ::lgetxattr(path.c_str(), name, nullptr, 0) >= 0;
}

const char* metacopy_xattr() {
    return ::geteuid() == 0 ? "trusted.overlay.metacopy" : "user.overlay.metacopy";
}

// A metadata-only copy: the upper file has the size, the marker, and no data.
void check_metadata_only(const std::string& upper, const std::string& lower) {
    INFO(upper);
    REQUIRE(exists(upper));
    CHECK(has_xattr(upper, metacopy_xattr()));
    struct stat up = lstat_of(upper), low = lstat_of(lower);
    CHECK(up.st_size == low.st_size);
    CHECK(up.st_blocks * 512 < low.st_size / 2);  // holes (an xattr block may count)
}

void fill_lower(const std::string& low) {
    write_file(low + "/big", kBig, 0644);
    set_xattr(low + "/big", "user.note", "kept");
    for (auto n :
         {"chmod", "chown", "touch", "xattr", "link", "moved", "trunc", "otrunc", "mapped"})
        write_file(low + "/" + n, kOther, 0644);
    write_file(low + "/dir/a", "a-data\n");
    write_file(low + "/dir/sub/b", kOther);
    write_file(low + "/empty", "");
}

// Every metadata change of the test, through the mount at m. Kernel overlayfs
// renames a lower directory with a redirect_dir xattr, which layerfs does not
// follow: those renames are left out where the kernel writes.
void change_metadata(const std::string& m, bool rename_dir = true) {
    REQUIRE(::chmod((m + "/big").c_str(), 0600) == 0);
    REQUIRE(::chmod((m + "/chmod").c_str(), 0600) == 0);
    if (::geteuid() == 0) REQUIRE(::lchown((m + "/chown").c_str(), 12, 34) == 0);
    if (::geteuid() != 0) REQUIRE(::chmod((m + "/chown").c_str(), 0640) == 0);
    struct timespec t[2] = {{1234567, 0}, {1234567, 0}};
    REQUIRE(::utimensat(AT_FDCWD, (m + "/touch").c_str(), t, 0) == 0);
    REQUIRE(::setxattr((m + "/xattr").c_str(), "user.k", "v", 1, 0) == 0);
    REQUIRE(::link((m + "/link").c_str(), (m + "/link2").c_str()) == 0);
    REQUIRE(::rename((m + "/moved").c_str(), (m + "/moved2").c_str()) == 0);
    if (rename_dir) REQUIRE(::rename((m + "/dir").c_str(), (m + "/dir2").c_str()) == 0);
    REQUIRE(::chmod((m + "/empty").c_str(), 0600) == 0);
}

// What the merged tree must show after change_metadata, on any back end.
void check_tree(const std::string& m, bool renamed_dir = true) {
    CHECK(read_file(m + "/big") == kBig);
    CHECK((lstat_of(m + "/big").st_mode & 07777) == 0600);
    char v[16];
    ssize_t n = ::getxattr((m + "/big").c_str(), "user.note", v, sizeof v);
    CHECK(std::string(v, size_t(std::max<ssize_t>(n, 0))) == "kept");
    for (auto f : {"chmod", "chown", "touch", "xattr", "link", "link2", "moved2"}) {
        INFO(f);
        CHECK(read_file(m + "/" + f) == kOther);
    }
    if (::geteuid() == 0) CHECK(lstat_of(m + "/chown").st_uid == 12);
    CHECK(lstat_of(m + "/touch").st_mtime == 1234567);
    CHECK(lstat_of(m + "/link").st_ino == lstat_of(m + "/link2").st_ino);
    CHECK_FALSE(exists(m + "/moved"));
    const std::string dir = m + (renamed_dir ? "/dir2" : "/dir");
    CHECK(exists(m + "/dir") == !renamed_dir);
    CHECK(read_file(dir + "/a") == "a-data\n");
    CHECK(read_file(dir + "/sub/b") == kOther);
}

std::string mmap_read(const std::string& path) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    REQUIRE(fd >= 0);
    size_t size = size_t(lstat_of(path).st_size);
    void* p = ::mmap(nullptr, size, PROT_READ, MAP_SHARED, fd, 0);
    ::close(fd);
    REQUIRE(p != MAP_FAILED);
    std::string out(static_cast<const char*>(p), size);
    ::munmap(p, size);
    return out;
}

}  // namespace

TEST_CASE("metacopy=on copies metadata only until the first write, which copies the data in",
          "[metacopy]") {
    Stack s(1);
    fill_lower(s.lower(0));
    {
        Mount m(Backend::Layerfs, s.lowers, s.upper, s.work, s.mnt, "metacopy=on");
        REQUIRE_MOUNTED(m);
        change_metadata(m.path());
        check_tree(m.path());
        for (auto f : {"big", "chmod", "chown", "touch", "xattr", "link"})
            check_metadata_only(s.upper + "/" + f, s.lower(0) + "/" + f);
        check_metadata_only(s.upper + "/moved2", s.lower(0) + "/moved");
        check_metadata_only(s.upper + "/dir2/sub/b", s.lower(0) + "/dir/sub/b");
        // Nothing to leave behind for an empty file: an ordinary copy.
        CHECK_FALSE(has_xattr(s.upper + "/empty", metacopy_xattr()));
        // stat shows the data's blocks, as the kernel does.
        CHECK(lstat_of(m / "big").st_blocks == lstat_of(s.lower(0) + "/big").st_blocks);
        CHECK(mmap_read(m / "big") == kBig);

        // The first write: the copy gets the data in place, keeping what was set.
        append(m / "big", "+");
        CHECK(read_file(m / "big") == kBig + "+");
        CHECK(read_file(s.upper + "/big") == kBig + "+");
        CHECK_FALSE(has_xattr(s.upper + "/big", metacopy_xattr()));
        CHECK((lstat_of(m / "big").st_mode & 07777) == 0600);
        char v[16];
        ssize_t got = ::getxattr((m / "big").c_str(), "user.note", v, sizeof v);
        CHECK(std::string(v, size_t(std::max<ssize_t>(got, 0))) == "kept");
        // Through one name of a link, seen through the other.
        append(m / "link2", "!");
        CHECK(read_file(m / "link") == kOther + "!");
        // A truncation keeps the start of the data, an O_TRUNC open none of it.
        REQUIRE(::chmod((m / "trunc").c_str(), 0640) == 0);
        REQUIRE(::truncate((m / "trunc").c_str(), 10) == 0);
        CHECK(read_file(m / "trunc") == kOther.substr(0, 10));
        REQUIRE(::chmod((m / "otrunc").c_str(), 0640) == 0);
        write_file(m / "otrunc", "new");
        CHECK(read_file(m / "otrunc") == "new");
        // A write through a shared mapping.
        REQUIRE(::chmod((m / "mapped").c_str(), 0640) == 0);
        int fd = ::open((m / "mapped").c_str(), O_RDWR | O_CLOEXEC);
        REQUIRE(fd >= 0);
        void* p = ::mmap(nullptr, kOther.size(), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        REQUIRE(p != MAP_FAILED);
        static_cast<char*>(p)[5000] = '#';
        REQUIRE(::msync(p, kOther.size(), MS_SYNC) == 0);
        ::munmap(p, kOther.size());
        ::close(fd);
        std::string want = kOther;
        want[5000] = '#';
        CHECK(read_file(m / "mapped") == want);
    }
    // The lower layer is never written.
    CHECK(read_file(s.lower(0) + "/big") == kBig);
    CHECK((lstat_of(s.lower(0) + "/big").st_mode & 07777) == 0644);
    CHECK(read_file(s.lower(0) + "/trunc") == kOther);
}

TEST_CASE("an open for writing copies the data up at its first write, not before", "[metacopy]") {
    Stack s(1);
    fill_lower(s.lower(0));
    Mount m(Backend::Layerfs, s.lowers, s.upper, s.work, s.mnt, "metacopy=on");
    REQUIRE_MOUNTED(m);
    // touch opens the file for writing and writes nothing.
    REQUIRE(run({"touch", m / "touch"}).status == 0);
    check_metadata_only(s.upper + "/touch", s.lower(0) + "/touch");
    CHECK(read_file(m / "touch") == kOther);

    // Read, then write, through one read-write open; the write lands in the copy.
    int fd = ::open((m / "chmod").c_str(), O_RDWR | O_CLOEXEC);
    REQUIRE(fd >= 0);
    check_metadata_only(s.upper + "/chmod", s.lower(0) + "/chmod");
    char head[4] = {};
    CHECK(::pread(fd, head, 4, 0) == 4);
    CHECK(std::string(head, 4) == kOther.substr(0, 4));
    CHECK(::pwrite(fd, "XY", 2, 1) == 2);
    ::close(fd);
    std::string want = kOther;
    want.replace(1, 2, "XY");
    CHECK(read_file(m / "chmod") == want);
    CHECK(read_file(s.upper + "/chmod") == want);
    CHECK_FALSE(has_xattr(s.upper + "/chmod", metacopy_xattr()));

    // ftruncate, fallocate and copy_file_range through a deferred open.
    fd = ::open((m / "trunc").c_str(), O_WRONLY | O_CLOEXEC);
    REQUIRE(fd >= 0);
    CHECK(::ftruncate(fd, 7) == 0);
    ::close(fd);
    CHECK(read_file(m / "trunc") == kOther.substr(0, 7));
    fd = ::open((m / "otrunc").c_str(), O_WRONLY | O_CLOEXEC);
    REQUIRE(fd >= 0);
    CHECK(::fallocate(fd, 0, 0, 200000) == 0);
    ::close(fd);
    CHECK(read_file(m / "otrunc") == kOther + std::string(200000 - kOther.size(), '\0'));
    int in = ::open((m / "big").c_str(), O_RDONLY | O_CLOEXEC);
    int out = ::open((m / "xattr").c_str(), O_WRONLY | O_CLOEXEC);
    REQUIRE((in >= 0 && out >= 0));
    loff_t off_in = 0, off_out = 10;
    CHECK(::copy_file_range(in, &off_in, out, &off_out, 5, 0) == 5);
    ::close(in);
    ::close(out);
    want = kOther;
    want.replace(10, 5, kBig.substr(0, 5));
    CHECK(read_file(m / "xattr") == want);

    // A file already open for reading (passed through on its lower file, as
    // root) gets an ordinary copy-up instead, and the reader goes on reading.
    int reader = ::open((m / "link").c_str(), O_RDONLY | O_CLOEXEC);
    REQUIRE(reader >= 0);
    append(m / "link", "+");
    CHECK(read_file(m / "link") == kOther + "+");
    char c = 0;
    CHECK(::pread(reader, &c, 1, 0) == 1);
    CHECK(c == kOther[0]);
    ::close(reader);
}

TEST_CASE("metadata-only copies survive a remount, with metacopy on or off", "[metacopy]") {
    for (std::string opts : {"metacopy=on", ""}) {
        INFO("remounted with '" << opts << "'");
        Stack s(1);
        fill_lower(s.lower(0));
        {
            Mount m(Backend::Layerfs, s.lowers, s.upper, s.work, s.mnt, "metacopy=on");
            REQUIRE_MOUNTED(m);
            change_metadata(m.path());
        }
        Mount m(Backend::Layerfs, s.lowers, s.upper, s.work, s.mnt, opts);
        REQUIRE_MOUNTED(m);
        check_tree(m.path());
        append(m / "dir2/sub/b", "+");
        CHECK(read_file(m / "dir2/sub/b") == kOther + "+");
        CHECK(read_file(s.upper + "/dir2/sub/b") == kOther + "+");
    }
}

TEST_CASE("kernel overlayfs and layerfs read each other's metadata-only copies") {
    REQUIRE(::geteuid() == 0);
    for (auto [writer, reader] : {std::pair{Backend::Kernel, Backend::Layerfs},
                                  std::pair{Backend::Layerfs, Backend::Kernel}}) {
        INFO(backend_name(writer) << " writes, " << backend_name(reader) << " reads");
        Stack s(1);
        fill_lower(s.lower(0));
        {
            Mount m(writer, s.lowers, s.upper, s.work, s.mnt, "metacopy=on");
            REQUIRE_MOUNTED(m);
            change_metadata(m.path(), writer == Backend::Layerfs);
        }
        // The premise: the writer made metadata-only copies, renamed ones too.
        check_metadata_only(s.upper + "/chmod", s.lower(0) + "/chmod");
        check_metadata_only(s.upper + "/moved2", s.lower(0) + "/moved");
        // The kernel wants a clean work dir of its own.
        REQUIRE(run({"rm", "-rf", s.work}).status == 0);
        make_dir(s.work);
        Mount m(reader, s.lowers, s.upper, s.work, s.mnt, "metacopy=on");
        REQUIRE_MOUNTED(m);
        check_tree(m.path(), writer == Backend::Layerfs);
        append(m / "chmod", "+");
        CHECK(read_file(m / "chmod") == kOther + "+");
    }
}

TEST_CASE("metacopy takes only on or off") {
    Stack s(1);
    Mount m(Backend::Layerfs, s.lowers, s.upper, s.work, s.mnt, "metacopy=yes");
    CHECK_FALSE(m.ok());
    CHECK(m.result().output.find("metacopy") != std::string::npos);
}

// Layers rotate: an upper with metadata-only copies becomes a lower layer under
// a new upper, and that one's copies point through it in turn. Kernel overlayfs
// follows the chain down to the data (with metacopy=on; with it off it refuses
// the lookup); layerfs follows it with metacopy on or off, never showing zeros.
TEST_CASE("metadata-only copies in lower layers read their data down the chain, as the kernel") {
    REQUIRE(::geteuid() == 0);
    for (Backend writer : {Backend::Kernel, Backend::Layerfs}) {
        INFO(backend_name(writer) << " wrote the uppers");
        const bool rename_dir = writer == Backend::Layerfs;
        Stack s(1);
        fill_lower(s.lower(0));
        const std::string up2 = s.tmp / "up2";
        for (auto d : {"up2", "w2"})
            make_dir(s.tmp / d);
        {
            Mount m(writer, s.lowers, s.upper, s.work, s.mnt, "metacopy=on");
            REQUIRE_MOUNTED(m);
            change_metadata(m.path(), rename_dir);
        }
        {
            Mount m(writer, {s.upper, s.lower(0)}, up2, s.tmp / "w2", s.mnt, "metacopy=on");
            REQUIRE_MOUNTED(m);
            check_tree(m.path(), rename_dir);
            REQUIRE(::chmod((m / "moved2").c_str(), 0604) == 0);
            REQUIRE(::chmod((m / "chmod").c_str(), 0606) == 0);
        }
        // The premise: copies of copies, holding metadata only.
        check_metadata_only(s.upper + "/moved2", s.lower(0) + "/moved");
        check_metadata_only(up2 + "/moved2", s.lower(0) + "/moved");
        check_metadata_only(up2 + "/chmod", s.lower(0) + "/chmod");

        for (Backend reader : {Backend::Kernel, Backend::Layerfs}) {
            for (std::string opts : {"metacopy=on", "metacopy=off"}) {
                if (reader == Backend::Kernel && opts == "metacopy=off") continue;
                INFO(backend_name(reader) << " reads with " << opts);
                const std::string up = s.tmp / "up-read", wk = s.tmp / "w-read";
                REQUIRE(run({"rm", "-rf", up, wk}).status == 0);
                make_dir(up);
                make_dir(wk);
                Mount m(reader, {up2, s.upper, s.lower(0)}, up, wk, s.mnt, opts);
                REQUIRE_MOUNTED(m);
                check_tree(m.path(), rename_dir);
                CHECK((lstat_of(m / "moved2").st_mode & 07777) == 0604);
                CHECK(mmap_read(m / "chmod") == kOther);
                // A write copies the data up from the bottom of the chain.
                append(m / "moved2", "+");
                CHECK(read_file(m / "moved2") == kOther + "+");
                CHECK(read_file(up + "/moved2") == kOther + "+");
                // A metadata-only copy of a metadata-only copy, read back at once.
                REQUIRE(::chmod((m / "chmod").c_str(), 0600) == 0);
                CHECK(read_file(m / "chmod") == kOther);
            }
            // Read-only, as a container image's layers are mounted for export.
            Mount ro(reader, {up2, s.upper, s.lower(0)}, "", "", s.mnt, "metacopy=on");
            REQUIRE_MOUNTED(ro);
            check_tree(ro.path(), rename_dir);
        }
    }
}
