#pragma once
// A store of its own for each test, driven through the real `layerfs` binary.
#include <string>
#include <vector>

#include "tests/support/fixture.hpp"

namespace layerfs::test {

struct TestStore {
    TempDir tmp;
    std::string root = tmp / "store";

    // `layerfs --root ROOT ARGS...`
    RunResult lf(std::vector<std::string> args) const {
        args.insert(args.begin(), {layerfs_bin(), "--root", root});
        return run(args);
    }
};

}  // namespace layerfs::test
