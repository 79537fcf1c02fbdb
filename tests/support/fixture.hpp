#pragma once
// Test fixtures: temp dirs, declarative layer trees, and mounts that always unmount.
#include <sys/stat.h>

#include <string>
#include <string_view>
#include <vector>

namespace layerfs::test {

struct RunResult {
    int status = -1;     // exit status, or 128+signal
    std::string output;  // stdout and stderr together
};
RunResult run(const std::vector<std::string>& argv);

// The layerfs binary under test: $LAYERFS_BIN, else the one this build made.
std::string layerfs_bin();

// Options every layerfs Mount adds: $LAYERFS_TEST_MOUNT_OPTIONS, which is how
// ctest runs the mount tests a second time with passthrough=0.
std::string layerfs_test_options();
// Whether this run's layerfs mounts pass open files through to their backing
// files: as root (CAP_SYS_ADMIN) on Linux 6.9+, unless the options say not to.
bool passthrough_expected();

class TempDir {
  public:
    TempDir();
    ~TempDir();
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    const std::string& path() const { return path_; }
    std::string operator/(std::string_view rel) const { return path_ + "/" + std::string(rel); }

  private:
    std::string path_;
};

// Building layers: every call creates missing parent directories.
void write_file(const std::string& path, std::string_view content, mode_t mode = 0644);
void make_dir(const std::string& path, mode_t mode = 0755);
void make_symlink(const std::string& target, const std::string& path);
void whiteout_device(const std::string& path);  // kernel overlayfs: char 0/0
void whiteout_file(const std::string& path);    // OCI: ".wh.NAME" beside it
void set_xattr(const std::string& path, const std::string& name, std::string_view value);
std::string read_file(const std::string& path);
bool exists(const std::string& path);
struct stat lstat_of(const std::string& path);
bool is_mounted(const std::string& path);
// Names in a directory, sorted, without "." and ".."; empty when it is missing.
std::vector<std::string> list_dir(const std::string& path);

enum class Backend { Layerfs, Kernel, FuseOverlayfs };
const char* backend_name(Backend b);

// A mounted stack. Unmounts (lazily if it must) in its destructor, so a failing
// test never leaves a mount behind.
class Mount {
  public:
    Mount(Backend b, std::vector<std::string> lowers, std::string upper, std::string work,
          std::string mountpoint, std::string extra_opts = "");
    ~Mount();
    Mount(const Mount&) = delete;
    Mount& operator=(const Mount&) = delete;
    bool ok() const { return result_.status == 0 && is_mounted(mnt_); }
    const RunResult& result() const { return result_; }
    const std::string& path() const { return mnt_; }
    std::string operator/(std::string_view rel) const { return mnt_ + "/" + std::string(rel); }
    void unmount();

  private:
    Backend backend_;
    std::string mnt_;
    RunResult result_;
    bool mounted_ = false;
};

// Lowers l0 (top) .. lN-1, an upper, a work dir and a mount point in one temp dir.
struct Stack {
    TempDir tmp;
    std::vector<std::string> lowers;
    std::string upper, work, mnt;
    explicit Stack(int nlowers = 2, std::string_view tag = "");
    std::string lower(int i) const { return lowers.at(size_t(i)); }
};

}  // namespace layerfs::test
