#pragma once
// Writing a run's results: NAME.json (raw), NAME.md (the table) and NAME.png
// (the plot, drawn by gnuplot) in one directory.
#include <nlohmann/json.hpp>
#include <string>

namespace layerfs::bench {

// Returns the markdown file's path. Throws std::runtime_error on failure.
std::string write_results(const nlohmann::json& raw, const std::string& dir,
                          const std::string& name);

}  // namespace layerfs::bench
