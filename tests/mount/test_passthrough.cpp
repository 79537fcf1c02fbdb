// FUSE passthrough, run as root and as an ordinary user. As root, reads,
// writes and mmap of an open file go from the kernel to the backing file
// without a request to the daemon; with passthrough=0, or without
// CAP_SYS_ADMIN, the daemon serves them. The data is the same either way.
// Requests are counted in the daemon's debug log.
#include <sys/mman.h>

#include <chrono>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>

#include "tests/mount/mount_helpers.hpp"

using namespace layerfs::test;

namespace {

// `layerfs mount -f -d` in the background, its request log in a file.
class DebugMount {
  public:
    DebugMount(const Stack& s, const std::string& extra) : mnt_(s.mnt), log_(s.tmp / "daemon.log") {
        std::string opts = "lowerdir=" + s.lower(0) + ",upperdir=" + s.upper + ",workdir=" + s.work;
        for (const std::string& o : {extra, layerfs_test_options()})
            if (!o.empty()) opts += "," + o;
        run({"sh", "-c", "\"$0\" mount -f -d -o \"$1\" \"$2\" >\"$3\" 2>&1 &", layerfs_bin(), opts,
             mnt_, log_});
        for (int i = 0; i < 500 && !is_mounted(mnt_); ++i)
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    ~DebugMount() {
        if (is_mounted(mnt_))
            run({::geteuid() == 0 ? "umount" : "fusermount3", ::geteuid() == 0 ? "-l" : "-uz",
                 mnt_});
    }
    bool ok() const { return is_mounted(mnt_); }
    std::string log() const {
        std::ifstream in(log_);
        std::stringstream ss;
        ss << in.rdbuf();
        return ss.str();
    }
    // Requests with this opcode so far, e.g. "READ".
    size_t requests(const std::string& opcode) const {
        const std::string all = log(), needle = "opcode: " + opcode + " (";
        size_t n = 0;
        for (size_t at = all.find(needle); at != std::string::npos; at = all.find(needle, at + 1))
            ++n;
        return n;
    }

  private:
    std::string mnt_, log_;
};

std::string pattern(size_t size) {
    std::string s(size, '\0');
    for (size_t i = 0; i < size; ++i)
        s[i] = char('a' + (i * 7 + i / 4096) % 26);
    return s;
}

std::string mmap_read(const std::string& path) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    REQUIRE(fd >= 0);
    struct stat st;
    REQUIRE(::fstat(fd, &st) == 0);
    void* p = ::mmap(nullptr, size_t(st.st_size), PROT_READ, MAP_SHARED, fd, 0);
    ::close(fd);
    REQUIRE(p != MAP_FAILED);
    std::string out(static_cast<const char*>(p), size_t(st.st_size));
    ::munmap(p, size_t(st.st_size));
    return out;
}

void mmap_write(const std::string& path, const std::string& data) {
    int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    REQUIRE(fd >= 0);
    REQUIRE(::ftruncate(fd, off_t(data.size())) == 0);
    void* p = ::mmap(nullptr, data.size(), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    ::close(fd);
    REQUIRE(p != MAP_FAILED);
    std::memcpy(p, data.data(), data.size());
    REQUIRE(::msync(p, data.size(), MS_SYNC) == 0);
    ::munmap(p, data.size());
}

}  // namespace

TEST_CASE("passthrough: reads, writes and mmap reach the backing files", "[passthrough]") {
    const bool off_by_option = GENERATE(false, true);
    const bool expected = passthrough_expected() && !off_by_option;
    INFO((off_by_option ? "passthrough=0" : "default options") << ", as uid " << ::geteuid());
    Stack s(1, "passthrough");
    const std::string big = pattern(3 << 20);
    write_file(s.lower(0) + "/big", big);
    write_file(s.lower(0) + "/log", "line 1\n");
    DebugMount m(s, off_by_option ? "passthrough=0" : "");
    INFO(m.log().substr(0, 2000));
    REQUIRE(m.ok());

    CHECK(read_file(s.mnt + "/big") == big);
    CHECK(mmap_read(s.mnt + "/big") == big);
    append(s.mnt + "/log", "line 2\n");  // copy-up, then a write to the copy
    CHECK(read_file(s.mnt + "/log") == "line 1\nline 2\n");
    write_file(s.mnt + "/new", big);
    CHECK(read_file(s.mnt + "/new") == big);
    const std::string mapped = pattern(1 << 20);
    mmap_write(s.mnt + "/mapped", mapped);
    CHECK(read_file(s.mnt + "/mapped") == mapped);
    CHECK(lstat_of(s.mnt + "/new").st_size == off_t(big.size()));

    // The daemon wrote what the kernel passed through to the upper layer.
    CHECK(read_file(s.upper + "/log") == "line 1\nline 2\n");
    CHECK(read_file(s.upper + "/new") == big);
    CHECK(read_file(s.upper + "/mapped") == mapped);
    CHECK(read_file(s.lower(0) + "/log") == "line 1\n");

    INFO("READ requests " << m.requests("READ") << ", WRITE requests " << m.requests("WRITE"));
    CHECK(m.requests("OPEN") > 0);
    CHECK((m.requests("READ") == 0) == expected);
    CHECK((m.requests("WRITE") == 0) == expected);
}

TEST_CASE("passthrough: opens of one file while it is copied up", "[passthrough]") {
    Stack s(1, "passthrough-copyup");
    write_file(s.lower(0) + "/f", "old");
    write_file(s.lower(0) + "/g", "gold");
    write_file(s.lower(0) + "/h", "hold");
    Mount m(Backend::Layerfs, s.lowers, s.upper, s.work, s.mnt);
    REQUIRE_MOUNTED(m);
    const ino_t ino = lstat_of(m / "f").st_ino;
    const std::string old_view = passthrough_expected() ? "old" : "new";

    // Two readers share the lower file; a writer copies it up under them.
    int r1 = ::open((m / "f").c_str(), O_RDONLY | O_CLOEXEC);
    int r2 = ::open((m / "f").c_str(), O_RDONLY | O_CLOEXEC);
    REQUIRE(r1 >= 0);
    REQUIRE(r2 >= 0);
    int w = ::open((m / "f").c_str(), O_RDWR | O_TRUNC | O_CLOEXEC);
    INFO(strerror(errno));
    REQUIRE(w >= 0);
    REQUIRE(::write(w, "new", 3) == 3);
    char buf[8] = {};
    CHECK(::pread(r1, buf, sizeof buf, 0) == 3);
    CHECK(std::string(buf, 3) == old_view);
    CHECK(::pread(w, buf, sizeof buf, 0) == 3);
    CHECK(std::string(buf, 3) == "new");
    CHECK(read_file(m / "f") == "new");  // a new open, while all three are open
    CHECK(lstat_of(m / "f").st_ino == ino);
    ::close(r1);
    ::close(r2);
    ::close(w);
    CHECK(read_file(m / "f") == "new");

    // A metadata change copies the file up: later readers get the copy while
    // an earlier one is still open.
    int rg = ::open((m / "g").c_str(), O_RDONLY | O_CLOEXEC);
    REQUIRE(rg >= 0);
    REQUIRE(::chmod((m / "g").c_str(), 0600) == 0);
    CHECK(read_file(m / "g") == "gold");
    append(m / "g", "+");
    CHECK(read_file(m / "g") == "gold+");
    CHECK((lstat_of(m / "g").st_mode & 07777) == 0600);
    ::close(rg);

    // The file stays in use through its older name while renamed and reopened.
    int rh = ::open((m / "h").c_str(), O_RDONLY | O_CLOEXEC);
    REQUIRE(rh >= 0);
    REQUIRE(::rename((m / "h").c_str(), (m / "h2").c_str()) == 0);
    append(m / "h2", "!");
    CHECK(read_file(m / "h2") == "hold!");
    CHECK(!exists(m / "h"));
    ::close(rh);
    CHECK(read_file(s.upper + "/h2") == "hold!");
}

TEST_CASE("passthrough: O_TMPFILE files, linked and opened again", "[passthrough]") {
    Stack s(1, "passthrough-tmpfile");
    make_dir(s.lower(0) + "/d");
    Mount m(Backend::Layerfs, s.lowers, s.upper, s.work, s.mnt);
    REQUIRE_MOUNTED(m);
    int fd = ::open((m / "d").c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0644);
    INFO(strerror(errno));
    REQUIRE(fd >= 0);
    REQUIRE(::write(fd, "tmp", 3) == 3);
    const std::string proc = "/proc/self/fd/" + std::to_string(fd);
    REQUIRE(::linkat(AT_FDCWD, proc.c_str(), AT_FDCWD, (m / "d/named").c_str(),
                     AT_SYMLINK_FOLLOW) == 0);
    CHECK(read_file(m / "d/named") == "tmp");  // a second open of the same inode
    append(m / "d/named", "+");
    char buf[8] = {};
    CHECK(::pread(fd, buf, sizeof buf, 0) == 4);
    CHECK(std::string(buf, 4) == "tmp+");
    ::close(fd);
    CHECK(read_file(s.upper + "/d/named") == "tmp+");
}

TEST_CASE("passthrough: the option takes 0 or 1", "[passthrough]") {
    Stack s(1, "passthrough-option");
    Mount m(Backend::Layerfs, s.lowers, s.upper, s.work, s.mnt, "passthrough=maybe");
    CHECK_FALSE(m.ok());
    CHECK(m.result().output.find("passthrough") != std::string::npos);
}
