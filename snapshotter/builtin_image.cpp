#include "snapshotter/builtin_image.hpp"

#include <archive_entry.h>
#include <elf.h>
#include <fcntl.h>

#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "fs/sys/sys.hpp"
#include "snapshotter/digest.hpp"
#include "snapshotter/failure.hpp"
#include "snapshotter/human.hpp"
#include "snapshotter/images.hpp"
#include "snapshotter/oci.hpp"
#include "snapshotter/reference.hpp"
#include "snapshotter/tar_write.hpp"

namespace layerfs::store {
namespace {

using json = nlohmann::json;

// A dynamically linked busybox would not run in a root that has no libc.
bool is_static_elf(int fd) {
    Elf64_Ehdr eh;
    if (::pread(fd, &eh, sizeof eh, 0) != sizeof eh ||
        std::string_view((char*)eh.e_ident, 4) != ELFMAG || eh.e_ident[EI_CLASS] != ELFCLASS64)
        return false;
    for (int i = 0; i < eh.e_phnum; i++) {
        Elf64_Phdr ph;
        off_t off = static_cast<off_t>(eh.e_phoff + static_cast<uint64_t>(i) * eh.e_phentsize);
        if (::pread(fd, &ph, sizeof ph, off) != sizeof ph) return false;
        if (ph.p_type == PT_INTERP) return false;
    }
    return true;
}

std::vector<std::string> applets() {
    std::unique_ptr<FILE, int (*)(FILE*)> p(
        ::popen((std::string(kHostBusybox) + " --list-full").c_str(), "r"), ::pclose);
    if (!p) fail("running busybox --list-full failed");
    std::vector<std::string> out;
    char line[512];
    while (std::fgets(line, sizeof line, p.get())) {
        std::string s(line);
        while (!s.empty() && (s.back() == '\n' || s.back() == '/'))
            s.pop_back();
        if (!s.empty() && s.find("..") == std::string::npos && s.front() != '/') out.push_back(s);
    }
    if (out.empty()) fail(std::string(kHostBusybox) + " lists no applets");
    return out;
}

void write_layer(int out, int busybox, int64_t size, int64_t mtime) {
    TarWriter tar(out);
    auto add = [&](const std::string& path, mode_t mode, std::string_view data = {},
                   const char* link = nullptr) {
        EntryPtr e = make_entry(path, mode, mtime, static_cast<int64_t>(data.size()));
        if (link) {
            archive_entry_set_size(e.get(), 0);
            archive_entry_copy_hardlink(e.get(), link);
        }
        tar.add_bytes(e.get(), data);
    };
    std::set<std::string> dirs = {"bin", "dev", "etc", "home",    "proc",     "root", "sbin",
                                  "sys", "tmp", "usr", "usr/bin", "usr/sbin", "var",  "var/tmp"};
    auto names = applets();
    for (const auto& a : names)
        for (size_t p = a.find('/'); p != std::string::npos; p = a.find('/', p + 1))
            dirs.insert(a.substr(0, p));
    for (const auto& d : dirs)
        add(d + "/", S_IFDIR | (d == "tmp" || d == "var/tmp" ? 01777 : d == "root" ? 0700 : 0755));
    {
        EntryPtr e = make_entry("bin/busybox", S_IFREG | 0755, mtime, size);
        tar.add(e.get(), busybox);
    }
    for (const auto& a : names)
        if (a != "bin/busybox") add(a, S_IFREG | 0755, {}, "bin/busybox");
    add("etc/passwd", S_IFREG | 0644,
        "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/home:/bin/false\n");
    add("etc/group", S_IFREG | 0644, "root:x:0:\nnobody:x:65534:\n");
    tar.finish();
}

}  // namespace

bool names_builtin(const std::string& what) {
    auto ref = parse_reference(what);
    return ref && ref->str() == kBuiltinRef;
}

void ensure_builtin(Store& s) {
    for (const auto& e : s.read_index())
        if (e.ref == kBuiltinRef) return;
    auto bb = sys::open_at(AT_FDCWD, kHostBusybox, O_RDONLY);
    if (!bb)
        fail(std::string("the built-in image busybox:latest needs ") + kHostBusybox +
             " (Debian: apt-get install busybox-static)");
    if (!is_static_elf(bb->get()))
        fail(std::string(kHostBusybox) +
             " is not statically linked (Debian: apt-get install busybox-static)");
    struct stat st = must(sys::stat_fd(bb->get()), kHostBusybox);

    Transaction txn(s);
    {
        Fd out =
            must(sys::open_at(txn.staging_fd(), "busybox.tar", O_WRONLY | O_CREAT | O_EXCL, 0644),
                 "building busybox:latest");
        write_layer(out.get(), bb->get(), st.st_size, st.st_mtime);
    }
    std::string layer = txn.adopt_blob_file("busybox.tar");
    txn.add_layer(layer, layer);
    std::string created = format_rfc3339(st.st_mtime);
    json config = {
        {"created", created},
        {"architecture", host_architecture()},
        {"os", "linux"},
        {"config",
         {{"Env", {"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}},
          {"Cmd", {"sh"}}}},
        {"rootfs", {{"type", "layers"}, {"diff_ids", {digest_of_hex(layer)}}}},
        {"history",
         {{{"created", created},
           {"created_by", "layerfs: the host's busybox-static, " + std::string(kHostBusybox)}}}}};
    LayerRef ref{layer, kOciLayer, txn.blob_size(layer), layer};
    commit_image(txn, config.dump(), {ref}, {kBuiltinRef});
}

}  // namespace layerfs::store
