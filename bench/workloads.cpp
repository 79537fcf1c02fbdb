#include "bench/workloads.hpp"

#include <sys/xattr.h>

#include <cerrno>
#include <stdexcept>

#include "bench/process.hpp"

namespace layerfs::bench {

void round_trips(const std::string& path, long calls) {
    char value[16];
    for (long i = 0; i < calls; ++i)
        if (::lgetxattr(path.c_str(), "user.layerfs-bench.absent", value, sizeof value) >= 0 ||
            errno != ENODATA)
            throw std::runtime_error("getxattr " + path + ": expected ENODATA");
}

std::vector<Workload> workloads(const DataSet& data, const DataSpec& spec,
                                const std::string& self) {
    const uint64_t big_bytes = spec.big_bytes;
    const std::string rootfs = kRootfs, many = kMany;
    const std::string size = " --size=" + std::to_string(big_bytes);
    // --invalidate=0: fio would drop the page cache of the file it opens, which
    // for kernel overlayfs is the lower file and for FUSE only the mount's copy.
    const std::string fio = "fio --ioengine=psync --invalidate=0 --bs=1M" + size;
    const std::string find = "find " + rootfs + " >/dev/null";
    // -printf needs each entry's stat, which plain find does not (d_type suffices).
    const std::string stat = "find " + rootfs + " -printf '%s %m %U %y\\n' >/dev/null";
    const std::string ls = "ls -lR " + rootfs + " >/dev/null";
    std::vector<Workload> w;
    auto add = [&](std::string key, std::string name, std::string group, std::string prepare,
                   std::string command, bool changes_tree = false,
                   std::vector<std::string> in_place = {}) {
        bool fio = command.rfind("fio ", 0) == 0;
        w.push_back({std::move(key), std::move(name), std::move(group), "", std::move(prepare),
                     std::move(command), changes_tree, std::move(in_place), fio});
    };
    add("find-cold", "find (cold)", "metadata", "", find);
    add("find-warm", "find (warm)", "metadata", find, find);
    add("stat-cold", "stat every file (cold)", "metadata", "", stat);
    add("stat-warm", "stat every file (warm)", "metadata", stat, stat);
    add("ls-cold", "ls -lR (cold)", "metadata", "", ls);
    add("ls-warm", "ls -lR (warm)", "metadata", ls, ls);
    // The cost of one request to the daemon and back, with nothing else.
    add("round-trip", "20000 getxattr misses (a request each)", "metadata", "",
        shell_quote(self) + " --round-trip . --calls 20000");
    // GNU tar skips reading files when the archive is /dev/null: pipe it.
    add("read-all", "read every file (tar -c)", "read", "",
        "tar -cf - " + rootfs + " | cat >/dev/null");
    add("seq-read", "fio sequential read, big file", "read", "",
        fio + " --name=seqread --readonly --rw=read --filename=" + kBigFile);
    add("rand-read", "fio random 4k read, big file", "read", "",
        "fio --ioengine=psync --invalidate=0 --name=randread --readonly --rw=randread --bs=4k"
        " --randrepeat=1 --io_size=" +
            std::to_string(big_bytes / 8) + size + " --filename=" + kBigFile);
    add("seq-write", "fio sequential write, new file", "write", "",
        fio + " --name=seqwrite --rw=write --filename=new.bin", true);
    add("seq-write-fsync", "fio sequential write + fsync", "write", "",
        fio + " --name=seqwritefsync --rw=write --end_fsync=1 --filename=new.bin", true);
    add("untar", "untar " + std::to_string(spec.untar_files) + " files", "write", "",
        "mkdir untar && tar -xf " + shell_quote(data.untar_tarball) + " -C untar", true);
    add("rm-rf", "rm -rf of a lower tree (rootfs/usr)", "write", "", "rm -rf " + rootfs + "/usr",
        true);
    // The shell's open(O_APPEND) is the copy-up: the time to the first write returning.
    add("append-big", "append 1 byte to the big lower file", "copy-up", "",
        "printf x >> " + std::string(kBigFile), true, {"big"});
    add("chmod-many", "chmod " + std::to_string(spec.many_files) + " lower files", "copy-up", "",
        "find " + many + " -type f -exec chmod 0640 {} +", true, {many});
    add("touch-many", "touch " + std::to_string(spec.many_files) + " lower files", "copy-up", "",
        "find " + many + " -type f -exec touch {} +", true, {many});
    // Reads start with the big file's data in the host's page cache (the lower
    // file for the overlays, the merged copy for ext4), as after any recent use:
    // what is measured is the path through the back end, not the disk.
    const std::string cache_big = "cat " + shell_quote(data.merged + "/" + kBigFile) + " " +
                                  shell_quote(data.lowers.back() + "/" + kBigFile) + " >/dev/null";
    for (auto& x : w)
        if (x.key == "seq-read" || x.key == "rand-read") x.host_prepare = cache_big;
    add("git-status", "git status (repository in a lower layer)", "real work", "",
        "cd " + std::string(kRepo) + " && git status --porcelain >/dev/null");
    add("make", "make -j (C project in a lower layer)", "real work", "",
        "make -s -C " + std::string(kCProject) + " -j$(nproc) >/dev/null", true);
    return w;
}

}  // namespace layerfs::bench
