#include "bench/snapshot.hpp"

#include <unistd.h>

#include "bench/files.hpp"
#include "bench/process.hpp"

namespace layerfs::bench {
namespace {

// Creates a container, mounts it, runs `change` (sh) in its root, unmounts it;
// returns its id.
std::string container_with(const std::string& lf, const std::string& name,
                           const std::string& change) {
    std::string id = capture({"sh", "-c", lf + " create --name " + name + " bench:large"});
    std::string root = capture({"sh", "-c", lf + " mount " + name});
    try {
        run_shell(change, root);
    } catch (...) {
        run_shell(lf + " umount " + name);
        throw;
    }
    run_shell(lf + " umount " + name);
    return id;
}

}  // namespace

std::vector<SnapshotOp> prepare_snapshot(const DataSet& data, const std::string& dir,
                                         const std::string& layerfs_bin) {
    const std::string store = dir + "/store";
    const std::string lf = shell_quote(layerfs_bin) + " --root " + shell_quote(store);
    run_checked({"rm", "-rf", "--one-file-system", dir});
    make_dirs(dir);
    run_shell("tar -C " + shell_quote(data.merged) + " --exclude=./big -cf " +
              shell_quote(dir + "/image.tar") + " .");
    run_shell(lf + " import " + shell_quote(dir + "/image.tar") + " bench:large >/dev/null");
    ::unlink((dir + "/image.tar").c_str());

    // Four new files, four changed, two deleted: what a RUN line of a Dockerfile does.
    std::string small =
        "set -e; mkdir -p etc/bench; for i in 1 2 3 4; do echo new $i > etc/bench/new$i; done;"
        " n=0; for f in $(find many -type f | sort | head -6); do n=$((n+1));"
        " if [ $n -le 4 ]; then echo changed >> $f; else rm $f; fi; done";
    std::string big = "cp " + shell_quote(data.merged + "/" + kBigFile) + " big-copy.bin";
    std::string small_id = container_with(lf, "small", small);
    std::string big_id = container_with(lf, "big", big);
    auto upper = [&](const std::string& id) {
        return shell_quote(store + "/containers/" + id + "/upper");
    };
    const std::string big_file = shell_quote(data.merged + "/" + kBigFile);
    return {
        {"diff-small", "layerfs diff, 10 small changes", lf + " diff small >/dev/null",
         "tar-small"},
        {"commit-small", "layerfs commit, 10 small changes",
         lf + " commit small bench:small >/dev/null", "tar-small"},
        {"tar-small", "tar -c | sha256sum of that upper dir",
         "tar -C " + upper(small_id) + " -cf - . | sha256sum >/dev/null", ""},
        {"diff-big", "layerfs diff, one big new file", lf + " diff big >/dev/null", "tar-big"},
        {"commit-big", "layerfs commit, one big new file", lf + " commit big bench:big >/dev/null",
         "tar-big"},
        {"tar-big", "tar -c | sha256sum of that upper dir",
         "tar -C " + upper(big_id) + " -cf - . | sha256sum >/dev/null", "sha256sum"},
        {"sha256sum", "sha256sum of the big file", "sha256sum " + big_file + " >/dev/null", ""},
        {"xxhsum", "xxhsum -H3 (XXH3) of the big file", "xxhsum -H3 " + big_file + " >/dev/null",
         "sha256sum"},
    };
}

}  // namespace layerfs::bench
