#pragma once
// The back ends, each mounted fresh over the same data: layerfs twice, taking
// its requests through /dev/fuse and through FUSE over io_uring.
#include <optional>
#include <string>
#include <vector>

#include "bench/dataset.hpp"
#include "bench/process.hpp"
#include "bench/workloads.hpp"

namespace layerfs::bench {

enum class Backend { Ext4, Overlay, FuseOverlayfs, Layerfs, LayerfsUring };
inline constexpr Backend kBackends[] = {Backend::Ext4, Backend::Overlay, Backend::FuseOverlayfs,
                                        Backend::Layerfs, Backend::LayerfsUring};
// "ext4", "overlay", "fuse-overlayfs", "layerfs", "layerfs-uring"
const char* backend_key(Backend b);

struct BackendConfig {
    std::string scratch;      // per back end: scratch/<key>/{upper,work,mnt,tree}
    std::string layerfs_bin;  // `layerfs` to mount with
    std::string layerfs_options, fuse_overlayfs_options;  // extra -o options
};

struct DaemonUse {
    double cpu_seconds = 0;
    long max_rss_kib = 0;
};

// A back end ready for one workload: a fresh mount (an empty upper dir), or for
// ext4 a fresh copy of the merged tree when the workload changes it.
class Mounted {
  public:
    Mounted(Backend b, const BackendConfig& cfg, const DataSet& data, const Workload& w);
    ~Mounted();
    Mounted(const Mounted&) = delete;
    Mounted& operator=(const Mounted&) = delete;
    const std::string& path() const { return path_; }
    // Unmounts; for a FUSE back end, what its daemon used over its whole life.
    std::optional<DaemonUse> finish();
    // The options the kernel shows for the mount (for the report).
    std::string mount_options() const;

  private:
    Backend backend_;
    std::string path_;
    std::optional<Spawned> daemon_;
    bool mounted_ = false;
};

bool is_mount_point(const std::string& path);

}  // namespace layerfs::bench
