#include "bench/output.hpp"

#include <fstream>
#include <stdexcept>

#include "bench/process.hpp"
#include "bench/report.hpp"

namespace layerfs::bench {
namespace {

void write_text(const std::string& path, const std::string& text) {
    // Written beside and renamed, so a failed run never leaves half a file.
    std::ofstream out(path + ".tmp", std::ios::binary | std::ios::trunc);
    out << text;
    out.close();
    if (!out) throw std::runtime_error("cannot write " + path);
    run_checked({"mv", "-f", path + ".tmp", path});
}

}  // namespace

std::string write_results(const nlohmann::json& raw, const std::string& dir,
                          const std::string& name) {
    run_checked({"mkdir", "-p", dir});
    const std::string base = dir + "/" + name;
    write_text(base + ".json", raw.dump(1) + "\n");
    write_text(base + ".plot.dat", plot_data(raw));
    write_text(base + ".plot.gp",
               plot_script(base + ".plot.dat", base + ".png", raw.value("quick", false)));
    try {
        run_checked({"gnuplot", base + ".plot.gp"});
    } catch (...) {
        run_checked({"rm", "-f", base + ".plot.dat", base + ".plot.gp"});
        throw;
    }
    run_checked({"rm", "-f", base + ".plot.dat", base + ".plot.gp"});
    // The markdown links the PNG by its bare name: they sit side by side.
    write_text(base + ".md", markdown_report(raw, name + ".png"));
    return base + ".md";
}

}  // namespace layerfs::bench
