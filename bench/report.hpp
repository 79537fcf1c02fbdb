#pragma once
// Turning a run's raw samples (the JSON the runner writes) into the table, the
// targets and the plot. Pure: a committed JSON can be re-rendered.
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace layerfs::bench {

struct Summary {
    double median = 0, min = 0, max = 0;
    size_t n = 0;
};
// Median (the mean of the middle two for an even count), min and max; n = 0 for none.
Summary summarize(std::vector<double> v);

// Median seconds of one workload on one back end, from the raw JSON.
std::optional<Summary> seconds_of(const nlohmann::json& raw, const std::string& workload,
                                  const std::string& backend);

struct TargetCheck {
    std::string issue;            // which issue set the target
    std::string what;             // "untar: layerfs ≤ 0.5 × fuse-overlayfs"
    std::optional<double> ratio;  // layerfs median ÷ the other's median
    double limit = 0;
    bool met() const { return ratio && *ratio <= limit; }
};
std::vector<TargetCheck> check_targets(const nlohmann::json& raw);

std::string markdown_report(const nlohmann::json& raw, const std::string& png_name);
// Rows "workload ext4/overlay fuse-overlayfs/overlay layerfs/overlay" and the
// gnuplot script that draws them into `png_path`.
std::string plot_data(const nlohmann::json& raw);
std::string plot_script(const std::string& data_path, const std::string& png_path, bool quick);

}  // namespace layerfs::bench
