// The layer unpacker (snapshotter/unpack.hpp) on a fresh scratch directory per
// input. Refusing the input (store::Failure) is fine; anything else thrown, a
// crash or a sanitizer report is a bug, and so is anything the input leaves
// outside the scratch directory, a leaked fd, or digests that disagree with
// digest_layer's. As root each input is unpacked both ways: as the privileged
// store does (real owners, device nodes, trusted.* xattrs) and as a rootless
// one does (override_stat, ".wh." files).
#include <dirent.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "fs/sys/fd.hpp"
#include "snapshotter/failure.hpp"
#include "snapshotter/unpack.hpp"
#include "tests/fuzz/fuzz_check.hpp"

namespace {

namespace fs = std::filesystem;
namespace store = layerfs::store;
using layerfs::Fd;

// The scratch dir sits at the bottom of a chain of single-entry directories, so
// a member that climbs out through a few "../" lands where it is noticed:
// TOP/1/2/3/scratch. Per process, so parallel fuzzers (-jobs) do not meet.
constexpr int kLevels = 3;

struct Level {
    std::string path;
    struct stat st;
};

struct Sandbox {
    std::string top;
    std::vector<Level> levels;  // TOP, TOP/1, TOP/1/2, TOP/1/2/3
    std::string scratch;
};
Sandbox box;

struct stat stat_of(const std::string& path) {
    struct stat st;
    if (::lstat(path.c_str(), &st) != 0)
        layerfs::fuzz::check_failed("lstat", __FILE__, __LINE__, path);
    return st;
}

std::vector<std::string> entries(const std::string& dir) {
    std::vector<std::string> out;
    DIR* d = ::opendir(dir.c_str());
    if (!d) layerfs::fuzz::check_failed("opendir", __FILE__, __LINE__, dir);
    while (dirent* e = ::readdir(d)) {
        std::string n = e->d_name;
        if (n != "." && n != "..") out.push_back(n);
    }
    ::closedir(d);
    return out;
}

size_t open_fds() {
    return entries("/proc/self/fd").size();
}

void make_sandbox() {
    const char* tmp = std::getenv("TMPDIR");
    std::string tmpl = std::string(tmp && *tmp ? tmp : "/tmp") + "/layerfs-fuzz-unpack.XXXXXX";
    if (!::mkdtemp(tmpl.data())) layerfs::fuzz::check_failed("mkdtemp", __FILE__, __LINE__, tmpl);
    box.top = tmpl;
    std::string p = box.top;
    std::vector<std::string> paths{p};
    for (int i = 1; i <= kLevels; ++i) {
        p += "/" + std::to_string(i);
        if (::mkdir(p.c_str(), 0755) != 0)
            layerfs::fuzz::check_failed("mkdir", __FILE__, __LINE__, p);
        paths.push_back(p);
    }
    for (const auto& path : paths)
        box.levels.push_back({path, stat_of(path)});
    box.scratch = p + "/scratch";
    std::atexit([] {
        std::error_code ec;
        fs::remove_all(box.top, ec);
    });
}

bool same_inode_and_owner(const struct stat& a, const struct stat& b) {
    return a.st_ino == b.st_ino && a.st_mode == b.st_mode && a.st_uid == b.st_uid &&
           a.st_gid == b.st_gid;
}

// After the scratch dir is gone: every level holds only the next one, and none
// was changed.
void check_nothing_outside(const std::string& what) {
    for (size_t i = 0; i < box.levels.size(); ++i) {
        const Level& l = box.levels[i];
        auto names = entries(l.path);
        bool bottom = i + 1 == box.levels.size();
        std::vector<std::string> want;
        if (!bottom) want.push_back(std::to_string(i + 1));
        FUZZ_CHECK(names == want,
                   what + ": something was written beside the scratch dir in " + l.path);
        struct stat now = stat_of(l.path);
        FUZZ_CHECK(same_inode_and_owner(now, l.st), what + ": " + l.path + " was changed");
        // The bottom one's times change with the scratch dir's creation.
        if (!bottom)
            FUZZ_CHECK(now.st_mtim.tv_sec == l.st.st_mtim.tv_sec &&
                           now.st_mtim.tv_nsec == l.st.st_mtim.tv_nsec &&
                           now.st_ctim.tv_sec == l.st.st_ctim.tv_sec &&
                           now.st_ctim.tv_nsec == l.st.st_ctim.tv_nsec,
                       what + ": " + l.path + " was changed");
    }
}

std::optional<store::LayerStats> unpack(int in, const store::Identity& who) {
    FUZZ_CHECK(::mkdir(box.scratch.c_str(), 0755) == 0, box.scratch);
    std::optional<store::LayerStats> stats;
    {
        Fd dest(::open(box.scratch.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
        FUZZ_CHECK(dest.valid(), box.scratch);
        FUZZ_CHECK(::lseek(in, 0, SEEK_SET) == 0);
        try {
            stats = store::unpack_layer(in, dest.get(), who);
        } catch (const store::Failure& e) {
            // Refused: the expected way out for most inputs.
            std::string_view msg = e.what();
            FUZZ_CHECK(!msg.empty() && !msg.ends_with(": "), std::string(msg));
        }
    }
    std::error_code ec;
    fs::remove_all(box.scratch, ec);
    FUZZ_CHECK(!ec, "removing the scratch dir: " + ec.message());
    return stats;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
    make_sandbox();
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    size_t fds_before = open_fds();
    long live_before = Fd::live();
    {
        Fd in(::memfd_create("layer", MFD_CLOEXEC));
        FUZZ_CHECK(in.valid());
        FUZZ_CHECK(::write(in.get(), data, size) == static_cast<ssize_t>(size));

        std::vector<store::Identity> ids;
        ids.push_back({false, ::geteuid(), ::getegid()});
        if (::geteuid() == 0) ids.push_back({true, 0, 0});
        for (const auto& who : ids) {
            const std::string what = who.privileged ? "privileged" : "unprivileged";
            auto stats = unpack(in.get(), who);
            check_nothing_outside(what);
            if (!stats) continue;
            // Unpacking reads the blob once for files and digests: they are
            // the digests digest_layer finds reading it alone. (Asked only
            // here: most inputs are refused, and each read of a blob costs
            // a 1 MiB buffer, which is most of an input's time.)
            FUZZ_CHECK(::lseek(in.get(), 0, SEEK_SET) == 0);
            store::LayerStats digests;
            try {
                digests = store::digest_layer(in.get());
            } catch (const store::Failure& e) {
                FUZZ_CHECK(false, what + ": unpacked a blob digest_layer refuses: " + e.what());
            }
            FUZZ_CHECK(stats->blob_size == size && digests.blob_size == size, what);
            FUZZ_CHECK(stats->blob_hex == digests.blob_hex, what);
            FUZZ_CHECK(stats->diff_id_hex == digests.diff_id_hex, what);
        }
    }
    FUZZ_CHECK(open_fds() == fds_before, "an fd leaked");
    FUZZ_CHECK(Fd::live() == live_before, "an Fd leaked");
    return 0;
}
