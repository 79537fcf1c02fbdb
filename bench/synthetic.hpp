#pragma once
// The generated parts of the data: a distro-like rootfs (when there is no
// Debian one), big/, many/, repo/, cproj/ and the untar tarball. All come from
// kSeed, so every build writes the same bytes: whatever changes them must bump
// kFormat in bench/dataset.cpp, or cached data goes on being used. Each throws
// std::runtime_error on failure.
#include <cstdint>
#include <string>

namespace layerfs::bench {

inline constexpr uint64_t kSeed = 20240607;
inline constexpr int64_t kFixedTime = 1600000000;  // mtime of every generated non-rootfs file

// About `files` regular files (hard links counted) below the existing directory `dir`.
void write_synthetic_rootfs(const std::string& dir, int files);
// One file of random bytes.
void write_big(const std::string& path, uint64_t bytes);
// Small random files in up to 100 directories below `dir`.
void write_many(const std::string& dir, int files);
// A git repository of text files with one commit, clean.
void write_repo(const std::string& dir, int files);
// A C project of `units` translation units and a Makefile; check_cproject
// builds and runs a copy of it in `scratch` (then removed).
void write_cproject(const std::string& dir, int units);
void check_cproject(const std::string& dir, const std::string& scratch);
// A tarball of node_modules-like packages.
void write_untar_tarball(const std::string& path, int files);

}  // namespace layerfs::bench
