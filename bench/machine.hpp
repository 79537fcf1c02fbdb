#pragma once
// What the numbers were measured on, for the result file.
#include <nlohmann/json.hpp>
#include <string>

namespace layerfs::bench {

// CPU, cores, memory, kernel, and the disk and file system under `work_dir`.
nlohmann::json describe_machine(const std::string& work_dir);
// Versions of layerfs (its source commit), fuse-overlayfs and fio.
nlohmann::json describe_software(const std::string& layerfs_bin, const std::string& source_dir);

}  // namespace layerfs::bench
