#pragma once
// Columns padded like docker's tabwriter output (three spaces between).
#include <cstdio>
#include <string>
#include <vector>

namespace layerfs::cli {

inline void print_table(const std::vector<std::vector<std::string>>& rows) {
    std::vector<size_t> width;
    for (const auto& r : rows)
        for (size_t i = 0; i < r.size(); i++) {
            if (width.size() <= i) width.push_back(0);
            width[i] = std::max(width[i], r[i].size());
        }
    for (const auto& r : rows) {
        std::string line;
        for (size_t i = 0; i < r.size(); i++) {
            line += r[i];
            if (i + 1 < r.size()) line += std::string(width[i] - r[i].size() + 3, ' ');
        }
        std::printf("%s\n", line.c_str());
    }
}

}  // namespace layerfs::cli
