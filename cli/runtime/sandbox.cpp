#include "cli/runtime/sandbox.hpp"

#include <fcntl.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>

#include "cli/runtime/ns_sys.hpp"
#include "fs/sys/sys.hpp"
#include "snapshotter/failure.hpp"
#include "snapshotter/store.hpp"

namespace layerfs::runtime {

using store::fail;
using store::must;

namespace {

Fd in_root(int root, const std::string& path, int flags = O_PATH | O_DIRECTORY) {
    return must(nsys::open_in_root(root, path, flags), "the container's " + path);
}

void mount_fs(const char* type, int root, const std::string& path, unsigned long flags,
              const char* data = nullptr) {
    Fd target = in_root(root, path);
    must(nsys::mount_on_fd(type, target.get(), type, flags, data),
         "mounting " + std::string(type) + " on the container's " + path);
}

void setup_dev(int root) {
    mount_fs("tmpfs", root, "/dev", MS_NOSUID | MS_STRICTATIME, "mode=755,size=65536k");
    Fd dev = in_root(root, "/dev");  // now the tmpfs
    // Device nodes are the host's, bound: a user namespace may not mknod them.
    for (const char* name : {"null", "zero", "full", "random", "urandom", "tty"}) {
        std::string what = "the container's /dev/" + std::string(name);
        must(sys::open_at(dev.get(), name, O_WRONLY | O_CREAT | O_EXCL, 0666), what);
        Fd node = must(sys::open_at(dev.get(), name, O_PATH), what);
        must(nsys::bind_on_fd(("/dev/" + std::string(name)).c_str(), node.get(), false, false),
             what);
    }
    const std::pair<const char*, const char*> links[] = {{"/proc/self/fd", "fd"},
                                                         {"/proc/self/fd/0", "stdin"},
                                                         {"/proc/self/fd/1", "stdout"},
                                                         {"/proc/self/fd/2", "stderr"},
                                                         {"pts/ptmx", "ptmx"}};
    for (auto [target, name] : links)
        must(sys::symlink_at(target, dev.get(), name), "the container's /dev");
    must(sys::mkdir_at(dev.get(), "pts", 0755), "the container's /dev/pts");
    must(sys::mkdir_at(dev.get(), "shm", 01777), "the container's /dev/shm");
    // gid 5 (tty) exists only where the user namespace maps it.
    Fd pts = in_root(root, "/dev/pts");
    const unsigned long pts_flags = MS_NOSUID | MS_NOEXEC;
    if (!nsys::mount_on_fd("devpts", pts.get(), "devpts", pts_flags,
                           "newinstance,ptmxmode=0666,mode=0620,gid=5"))
        must(nsys::mount_on_fd("devpts", pts.get(), "devpts", pts_flags,
                               "newinstance,ptmxmode=0666,mode=0620"),
             "mounting devpts on the container's /dev/pts");
    mount_fs("tmpfs", root, "/dev/shm", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=1777,size=65536k");
}

void setup_sys(int root) {
    Fd target = in_root(root, "/sys");
    // A sysfs of its own needs a network namespace of its own; with the host's
    // network the container sees the host's /sys, read-only.
    if (nsys::mount_on_fd("sysfs", target.get(), "sysfs",
                          MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC))
        return;
    must(nsys::bind_on_fd("/sys", target.get(), true, true), "binding /sys into the container");
}

void bind_volume(int root, const BindMount& m) {
    const std::string what = "-v " + m.source + ":" + m.target;
    struct stat st;
    if (::stat(m.source.c_str(), &st) < 0)
        fail(what + ": " + m.source + ": " + std::strerror(errno));
    Fd target;
    if (S_ISDIR(st.st_mode)) {
        target = must(nsys::make_dirs_in_root(root, m.target, 0755), what);
    } else {
        size_t slash = m.target.find_last_of('/');
        Fd parent = must(nsys::make_dirs_in_root(root, m.target.substr(0, slash + 1), 0755), what);
        std::string name = m.target.substr(slash + 1);
        if (name.empty()) fail(what + ": " + m.source + " is a file, the target a directory");
        (void)sys::open_at(parent.get(), name.c_str(), O_WRONLY | O_CREAT, 0644);
        target = must(nsys::open_in_root(root, m.target, O_PATH), what);
    }
    must(nsys::bind_on_fd(m.source.c_str(), target.get(), true, m.read_only), what);
}

}  // namespace

void write_etc_files(int dir, const RunSpec& spec) {
    std::string hosts = nsys::read_text("/etc/hosts");
    if (spec.network == "none" || hosts.empty())
        hosts = "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n";
    if (!hosts.empty() && hosts.back() != '\n') hosts += '\n';
    hosts += "127.0.1.1\t" + spec.hostname + "\n";
    store::write_file_atomic(dir, "hosts", hosts);
    store::write_file_atomic(dir, "hostname", spec.hostname + "\n");
    store::write_file_atomic(dir, "resolv.conf",
                             spec.network == "none" ? "" : nsys::read_text("/etc/resolv.conf"));
}

void enter_root(const RunSpec& spec, const std::string& rootfs, const std::string& dir) {
    // Nothing mounted from here on may reach the namespace the daemon serves from.
    must(nsys::mount_at(nullptr, "/", nullptr, MS_REC | MS_PRIVATE), "making mounts private");
    Fd root = must(sys::open_at(AT_FDCWD, rootfs.c_str(), O_PATH | O_DIRECTORY), "the root");

    mount_fs("proc", root.get(), "/proc", MS_NOSUID | MS_NODEV | MS_NOEXEC);
    setup_dev(root.get());
    setup_sys(root.get());
    for (const char* name : {"hosts", "hostname", "resolv.conf"}) {
        std::string path = std::string("/etc/") + name;
        Fd target = must(nsys::open_in_root(root.get(), path, O_PATH), "the container's " + path);
        must(nsys::bind_on_fd((dir + "/" + name).c_str(), target.get(), false, false),
             "binding the container's " + path);
    }
    for (const auto& m : spec.mounts)
        bind_volume(root.get(), m);

    // pivot_root in this namespace only: the FUSE daemon lives in the parent
    // one, where its root stays the host's (a pivot there would point the
    // daemon at its own mount and hang it).
    if (::fchdir(root.get()) < 0) fail(std::string("chdir to the root: ") + std::strerror(errno));
    must(nsys::pivot_here(), "pivot_root into the container");
}

void bring_up_loopback() {
    Fd sock(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    if (!sock) fail(std::string("socket: ") + std::strerror(errno));
    ifreq ifr{};
    std::strncpy(ifr.ifr_name, "lo", IFNAMSIZ - 1);
    if (::ioctl(sock.get(), SIOCGIFFLAGS, &ifr) < 0 ||
        (ifr.ifr_flags |= IFF_UP | IFF_RUNNING, ::ioctl(sock.get(), SIOCSIFFLAGS, &ifr) < 0))
        fail(std::string("bringing up lo: ") + std::strerror(errno));
}

}  // namespace layerfs::runtime
