#include "bench/output.hpp"

#include <unistd.h>

#include <stdexcept>

#include "bench/files.hpp"
#include "bench/process.hpp"
#include "bench/report.hpp"

namespace layerfs::bench {
std::string write_results(const nlohmann::json& raw, const std::string& dir,
                          const std::string& name) {
    make_dirs(dir);
    const std::string base = dir + "/" + name;
    write_text_atomically(base + ".json", raw.dump(1) + "\n");
    write_text_atomically(base + ".plot.dat", plot_data(raw));
    write_text_atomically(base + ".plot.gp", plot_script(base + ".plot.dat", base + ".png",
                                                         raw.value("quick", false)));
    auto drop_plot_files = [&] {
        ::unlink((base + ".plot.dat").c_str());
        ::unlink((base + ".plot.gp").c_str());
    };
    try {
        run_checked({"gnuplot", base + ".plot.gp"});
    } catch (...) {
        drop_plot_files();
        throw;
    }
    drop_plot_files();
    // The markdown links the PNG by its bare name: they sit side by side.
    write_text_atomically(base + ".md", markdown_report(raw, name + ".png"));
    return base + ".md";
}

}  // namespace layerfs::bench
