#pragma once
namespace layerfs::cli {
inline constexpr const char* kVersion = "0.1.0";
}
