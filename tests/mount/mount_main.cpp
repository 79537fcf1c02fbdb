// The mount tests' main: Catch2's, plus --mount-options, which runs every test
// with those layerfs options added to each Mount (as $LAYERFS_TEST_MOUNT_OPTIONS
// does). ctest registers the suite once per mount configuration; the option is
// on the command line, not in the environment, because catch_discover_tests
// names its generated file by the command line alone, so configurations that
// differed only in the environment overwrote each other's test lists.
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>

#include <cstdlib>
#include <string>

int main(int argc, char* argv[]) {
    Catch::Session session;
    std::string options;
    session.cli(session.cli() | Catch::clara::Opt(options, "options")["--mount-options"](
                                    "layerfs mount options every test adds"));
    if (int rc = session.applyCommandLine(argc, argv); rc != 0) return rc;
    if (!options.empty()) ::setenv("LAYERFS_TEST_MOUNT_OPTIONS", options.c_str(), 1);
    return session.run();
}
