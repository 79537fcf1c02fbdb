// The `layerfs` command. Invoked as `layerfs-mount` (a link to the same program)
// it is the fuse-overlayfs-compatible mount helper podman and mount.fuse3 call.
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "cli/container_commands.hpp"
#include "cli/exit_status.hpp"
#include "cli/mount_command.hpp"
#include "cli/runtime/proc_title.hpp"
#include "cli/runtime_commands.hpp"
#include "cli/store_commands.hpp"
#include "cli/version.hpp"

int main(int argc, char** argv) {
    layerfs::runtime::remember_args(argc, argv);
    auto logger = spdlog::stderr_color_mt("layerfs");
    logger->set_pattern("layerfs: %^%l%$: %v");
    spdlog::set_default_logger(logger);

    const char* base = std::strrchr(argv[0], '/');
    base = base ? base + 1 : argv[0];
    if (std::strcmp(base, "layerfs-mount") == 0 || std::strcmp(base, "mount.fuse.layerfs") == 0)
        return layerfs::cli::mount_main({argv + 1, argv + argc});

    CLI::App app{"layerfs: container image layers, mounted, diffed and committed"};
    app.set_version_flag("--version", layerfs::cli::kVersion);
    app.require_subcommand(1);
    auto* mount = app.add_subcommand("mount", "mount layers (fuse-overlayfs options)");
    mount->prefix_command();  // everything after `mount` is the fuse-overlayfs command line
    mount->set_help_flag();
    mount->footer(layerfs::cli::kMountUsage);

    layerfs::cli::GlobalOptions global;
    app.add_option("--root", global.root,
                   "the store (default: $LAYERFS_ROOT, /var/lib/layerfs as root, "
                   "$XDG_DATA_HOME/layerfs otherwise)");
    bool verbose = false;
    app.add_flag("-v,--verbose", verbose, "debug logging");
    app.parse_complete_callback([&] {
        if (verbose) spdlog::set_level(spdlog::level::debug);
    });
    layerfs::cli::add_store_commands(app, global);
    layerfs::cli::add_container_commands(app, global);
    layerfs::cli::add_runtime_commands(app, global);
    try {
        app.parse(argc, argv);
    } catch (const layerfs::cli::ExitStatus& e) {
        return e.code;
    } catch (const CLI::ParseError& e) {
        int rc = app.exit(e);
        return rc == 0 ? 0 : 2;
    } catch (const std::exception& e) {  // store::Failure: a message for the user
        std::fprintf(stderr, "layerfs: %s\n", e.what());
        return 1;
    }
    if (*mount) {
        auto args = mount->remaining();
        if (layerfs::cli::is_container_mount(args))
            return layerfs::cli::mount_container_main(global, args[0]);
        return layerfs::cli::mount_main(args);
    }
    return 0;  // the other commands ran in their callbacks
}
