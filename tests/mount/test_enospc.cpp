// ENOSPC during copy-up: the upper and work dirs on a small tmpfs, the lowers on
// the ordinary disk with a file bigger than the tmpfs. Each change that needs
// the file's data up must fail with the errno kernel overlayfs gives in the
// same setup, leave the file as it was (its content through the mount, no
// partial copy in the upper dir, no temp in the work dir, the space given back),
// and leave the mount working: once there is room, the same copy-up succeeds.
#include <sys/mount.h>
#include <sys/statvfs.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cstring>
#include <utility>
#include <vector>

#include "tests/mount/mount_helpers.hpp"

using namespace layerfs::test;

namespace {

constexpr size_t kMiB = 1 << 20;
constexpr size_t kBig = 6 * kMiB;  // the tmpfs holds 4 MiB

// A tmpfs mounted for the test's life: unmounted even when a check fails.
class Tmpfs {
  public:
    Tmpfs(std::string dir, const std::string& size) : dir_(std::move(dir)) {
        make_dir(dir_);
        auto r = run({"mount", "-t", "tmpfs", "-o", "size=" + size, "tmpfs", dir_});
        INFO(r.output);
        REQUIRE(r.status == 0);
    }
    ~Tmpfs() {
        if (run({"umount", dir_}).status != 0) run({"umount", "-l", dir_});
    }
    Tmpfs(const Tmpfs&) = delete;
    Tmpfs& operator=(const Tmpfs&) = delete;
    void resize(const std::string& size) {
        REQUIRE(run({"mount", "-o", "remount,size=" + size, dir_}).status == 0);
    }
    // FUSE releases a file after close(2) returned: the space a file unlinked
    // just after comes back a moment later. Waits for it, for at most a minute.
    void wait_for(unsigned long blocks) const {
        for (int i = 0; i < 6000 && free_blocks() < blocks; ++i)
            ::usleep(10'000);
    }
    unsigned long free_blocks() const {
        struct statvfs st;
        REQUIRE(::statvfs(dir_.c_str(), &st) == 0);
        return st.f_bfree;
    }

  private:
    std::string dir_;
};

// Opens for writing with `flags` and writes `data` at 0 (or at the end with
// O_APPEND): the errno of the first call that fails, 0 when none does.
int write_errno(const std::string& path, int flags, std::string_view data) {
    int fd = ::open(path.c_str(), flags | O_WRONLY | O_CLOEXEC, 0644);
    if (fd < 0) return errno;
    ssize_t n = (flags & O_APPEND) ? ::write(fd, data.data(), data.size())
                                   : ::pwrite(fd, data.data(), data.size(), 0);
    int e = n < 0 ? errno : 0;
    if (::close(fd) < 0 && !e) e = errno;
    return e;
}

// A new file written a MiB at a time until it is bigger than the tmpfs: the
// errno that stops it (a short write is followed by one that fails).
int write_new_errno(const std::string& path) {
    int fd = ::open(path.c_str(), O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0644);
    if (fd < 0) return errno;
    const std::string chunk(kMiB, 'n');
    int e = 0;
    for (size_t done = 0; done < kBig && !e;) {
        ssize_t n = ::write(fd, chunk.data(), chunk.size());
        if (n < 0)
            e = errno;
        else
            done += size_t(n);
    }
    if (::close(fd) < 0 && !e) e = errno;
    return e;
}

bool is_metacopy(const std::string& path) {
    return ::lgetxattr(path.c_str(), "trusted.overlay.metacopy", nullptr, 0) >= 0;
}

struct Step {
    std::string what;
    int err;
};

// The same steps on one backend, on a fresh tmpfs; checks what must hold
// after each and returns the errnos for comparison with the other backend.
std::vector<Step> run_steps(Backend b, const Stack& s, const std::string& big, bool metacopy) {
    INFO(backend_name(b) << (metacopy ? " metacopy=on" : ""));
    Tmpfs fs(s.tmp / "fs", "4m");
    const std::string upper = s.tmp / "fs/upper", work = s.tmp / "fs/work";
    make_dir(upper);
    make_dir(work);
    Mount m(b, s.lowers, upper, work, s.mnt, metacopy ? "metacopy=on" : "");
    REQUIRE_MOUNTED(m);
    const unsigned long free_at_start = fs.free_blocks();

    std::vector<Step> steps;
    // `intact`: the file the step must have left as it was: its data through
    // the mount, in the upper dir no copy of it but a metadata-only one.
    // layerfs also gives every byte back, with nothing left in the work dir
    // (kernel overlayfs keeps its whiteout there, and the partial data of a
    // metadata-only copy whose data copy failed).
    auto step = [&](const std::string& what, int err, const std::string& intact) {
        INFO(what << ": " << (err ? std::strerror(err) : "ok"));
        steps.push_back({what, err});
        CHECK(is_mounted(s.mnt));
        if (!intact.empty()) {
            CHECK((read_file(m / intact) == big));
            if (exists(upper + "/" + intact)) CHECK(is_metacopy(upper + "/" + intact));
        }
        if (b != Backend::Layerfs) return;
        CHECK(list_dir(work + "/work").empty());
        if (!intact.empty() && exists(upper + "/" + intact))
            CHECK(lstat_of(upper + "/" + intact).st_blocks == 0);
        // A few pages for directories and metadata-only copies, not the data.
        CHECK(fs.free_blocks() + 8 >= free_at_start);
    };

    // Each on a file of its own, still only in the lower layer.
    step("open for writing", write_errno(m / "open", 0, "X"), "open");
    step("append", write_errno(m / "append", O_APPEND, "tail"), "append");
    step("truncate up", err_of(::truncate((m / "up").c_str(), off_t(kBig + kMiB))), "up");
    step("truncate down", err_of(::truncate((m / "down").c_str(), off_t(kBig / 2))), "down");
    // The data is about to go: none is copied, so it fits.
    step("O_TRUNC", write_errno(m / "otrunc", O_TRUNC, "X"), "");
    CHECK(read_file(m / "otrunc") == "X");

    const int new_err = write_new_errno(m / "new");
    REQUIRE(::unlink((m / "new").c_str()) == 0);
    fs.wait_for(free_at_start - 8);
    step("new file bigger than the space", new_err, "");

    // Small copy-ups still fit.
    step("append to a small file", write_errno(m / "small", O_APPEND, "+more"), "");
    CHECK(read_file(m / "small") == "small+more");
    // A metadata change copies the data too unless metacopy=on.
    step("chmod", err_of(::chmod((m / "chmod").c_str(), 0600)), "chmod");
    CHECK(exists(upper + "/chmod") == metacopy);
    if (metacopy) {
        CHECK((lstat_of(m / "chmod").st_mode & 07777) == 0600);
        // Its data waits for the first write, which must fail the same way
        // (last: kernel overlayfs keeps the data it copied, and the space).
        step("write after chmod", write_errno(m / "chmod", 0, "X"), "chmod");
        CHECK((lstat_of(m / "chmod").st_mode & 07777) == 0600);
    }

    // With room, the big copy-ups go through.
    fs.resize("64m");
    for (const char* name : {"open", "chmod"}) {
        step(std::string("open for writing, with room: ") + name, write_errno(m / name, 0, "X"),
             "");
        CHECK((read_file(m / name) == "X" + big.substr(1)));
        CHECK((read_file(upper + "/" + name) == "X" + big.substr(1)));
    }
    return steps;
}

}  // namespace

TEST_CASE("ENOSPC during copy-up fails the call as kernel overlayfs does and leaves the file whole",
          "[enospc]") {
    Stack s(1);
    std::string big(kBig, '\0');
    for (size_t i = 0; i < big.size(); ++i)
        big[i] = char('a' + (i * 7919 + i / 4096) % 26);
    for (const char* name : {"open", "append", "up", "down", "otrunc", "chmod"})
        write_file(s.lower(0) + "/" + name, big);
    write_file(s.lower(0) + "/small", "small");

    for (bool metacopy : {false, true}) {
        auto kernel = run_steps(Backend::Kernel, s, big, metacopy);
        auto layerfs = run_steps(Backend::Layerfs, s, big, metacopy);
        REQUIRE(kernel.size() == layerfs.size());
        for (size_t i = 0; i < kernel.size(); ++i) {
            INFO((metacopy ? "metacopy=on, " : "")
                 << kernel[i].what << ": kernel overlayfs " << std::strerror(kernel[i].err)
                 << ", layerfs " << std::strerror(layerfs[i].err));
            CHECK(layerfs[i].err == kernel[i].err);
        }
        // What that must be, whatever the kernel does.
        auto err = [&](const std::string& what) {
            for (auto& st : layerfs)
                if (st.what == what) return st.err;
            FAIL("no step " << what);
            return -1;
        };
        CHECK(err("open for writing") == ENOSPC);
        CHECK(err("append") == ENOSPC);
        CHECK(err("truncate up") == ENOSPC);
        CHECK(err("truncate down") == ENOSPC);
        CHECK(err("O_TRUNC") == 0);
        CHECK(err("chmod") == (metacopy ? 0 : ENOSPC));
        CHECK(err("new file bigger than the space") == ENOSPC);
        CHECK(err("append to a small file") == 0);
        CHECK(err("open for writing, with room: open") == 0);
        CHECK(err("open for writing, with room: chmod") == 0);
    }
}
