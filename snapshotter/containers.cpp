#include "snapshotter/containers.hpp"

#include <fcntl.h>

#include <cctype>
#include <ctime>
#include <nlohmann/json.hpp>
#include <random>

#include "fs/overlay/idmap.hpp"
#include "fs/overlay/layer_probe.hpp"
#include "fs/overlay/whiteout.hpp"
#include "fs/sys/sys.hpp"
#include "snapshotter/digest.hpp"
#include "snapshotter/failure.hpp"
#include "snapshotter/human.hpp"
#include "snapshotter/reference.hpp"

namespace layerfs::store {

using json = nlohmann::json;

std::vector<ContainerRecord> list_containers(const Store& s) {
    std::vector<ContainerRecord> out;
    Fd dir = must(sys::open_at(s.fd(), "containers", O_RDONLY | O_DIRECTORY), "listing containers");
    for (auto& e : must(sys::read_dir(dir.get()), "listing containers")) {
        if (!is_sha256_hex(e.name)) continue;
        auto f = sys::open_at(dir.get(), (e.name + "/state.json").c_str(), O_RDONLY);
        if (!f && f.err() == ENOENT) continue;  // being created or removed
        // Any other failure must stop a collection that would take its layers.
        Fd state = must(std::move(f), "reading container " + e.name);
        std::string text(1 << 20, '\0');
        size_t n = must(sys::read_some(state.get(), text.data(), text.size()),
                        "reading container " + e.name);
        json j = json::parse(text.substr(0, n), nullptr, false);
        if (!j.is_object()) fail("container " + e.name + ": malformed state.json");
        ContainerRecord c{e.name, j.value("name", ""),   j.value("image", ""), {},
                          {},     j.value("created", "")};
        if (auto l = j.find("layers"); l != j.end() && l->is_array())
            for (auto& d : *l)
                if (d.is_string()) c.layers.push_back(d.get<std::string>());
        if (auto r = j.find("config"); r != j.end() && r->is_object()) c.config = r->dump();
        out.push_back(std::move(c));
    }
    return out;
}

namespace {

// What the image shows at `path` ("etc/hosts"), read through its layers (top
// first) as the overlay would.
struct ImageEntry {
    mode_t type;
    OverrideStat meta;  // owner and mode as the container sees them
    struct timespec times[2];
};
std::optional<ImageEntry> image_entry(const std::vector<int>& layers, const std::string& path) {
    std::vector<Fd> owned;
    std::vector<int> dirs = layers;
    size_t pos = 0;
    while (true) {
        size_t slash = path.find('/', pos);
        std::string name = path.substr(pos, slash == std::string::npos ? slash : slash - pos);
        const bool last = slash == std::string::npos;
        std::vector<int> next;
        for (int dir : dirs) {
            auto f = probe_name(dir, name, true);
            if (!f || f->probe == Probe::Whiteout) break;
            if (f->probe == Probe::Absent) continue;
            if (last) {
                const struct stat& st = f->st;
                ImageEntry e{st.st_mode & S_IFMT,
                             {st.st_uid, st.st_gid, st.st_mode & 07777, 0, false},
                             {st.st_atim, st.st_mtim}};
                // A rootless store keeps the owner and mode in override_stat.
                if (auto v = sys::getxattr_fd(f->fd.get(), whiteout::kOverrideStat))
                    if (auto o = parse_override_stat(*v)) e.meta = *o;
                return e;
            }
            if (f->probe == Probe::NonDir) break;
            owned.push_back(std::move(f->fd));
            next.push_back(owned.back().get());
            if (f->probe == Probe::OpaqueDir) break;
        }
        if (last || next.empty()) return std::nullopt;
        dirs = std::move(next);
        pos = slash + 1;
    }
}

// The init layer: the mount points the runtime needs (/proc, /sys, /dev and
// /etc/hosts, hostname, resolv.conf), for those the image lacks, so the
// container's upper dir never gets them, as docker's -init layer. A directory
// the image has but must appear here (its /etc) takes the image's owner, mode
// and times, so the container sees it as the image made it; what is new is
// root's, with time 0, so two containers of one image show the same tree.
void make_init_layer(Store& s, int dir, const std::vector<std::string>& layer_dirs) {
    const std::string what = "creating the container";
    std::vector<Fd> owned;
    std::vector<int> layers;
    for (const auto& l : layer_dirs) {
        owned.push_back(must(open_dir(AT_FDCWD, l.c_str()), what));
        layers.push_back(owned.back().get());
    }
    auto has = [&](const std::string& rel, mode_t type) {
        auto e = image_entry(layers, rel);
        return e && e->type == type;
    };
    const bool privileged = s.identity().privileged;
    auto finish = [&](const std::string& rel, mode_t mode, const std::optional<ImageEntry>& like) {
        Fd fd = must(sys::open_at(dir, ("init/" + rel).c_str(), O_RDONLY), what);
        ImageEntry e{0, {0, 0, mode, 0, false}, {{0, 0}, {0, 0}}};
        if (like) e = *like;
        e.meta.mode &= 07777;
        if (privileged) {
            must(sys::chown_fd(fd.get(), e.meta.uid, e.meta.gid), what);
            must(sys::chmod_fd(fd.get(), e.meta.mode), what);
        } else {
            e.meta.has_type = false;
            must(sys::setxattr_fd(fd.get(), whiteout::kOverrideStat, format_override_stat(e.meta)),
                 what);
        }
        must(sys::utimens_fd(fd.get(), e.times), what);
    };

    must(sys::mkdir_at(dir, "init", 0755), what);
    std::vector<std::string> files;
    for (const char* f : {"etc/hosts", "etc/hostname", "etc/resolv.conf"})
        if (!has(f, S_IFREG)) files.push_back(f);
    std::vector<std::string> dirs;
    for (const char* d : {"proc", "sys", "dev", "etc"})
        if (!has(d, S_IFDIR) || (std::string(d) == "etc" && !files.empty())) dirs.push_back(d);
    for (const auto& d : dirs)
        must(sys::mkdir_at(dir, ("init/" + d).c_str(), 0755), what);
    for (const auto& f : files) {
        must(sys::open_at(dir, ("init/" + f).c_str(), O_WRONLY | O_CREAT | O_EXCL, 0644), what);
        finish(f, 0644, std::nullopt);
    }
    for (const auto& d : dirs) {  // after their contents: those change their times
        auto e = image_entry(layers, d);
        finish(d, 0755, e && e->type == S_IFDIR ? e : std::nullopt);
    }
}

}  // namespace

ContainerRecord create_container(Store& s, const Image& image, const std::string& name,
                                 const std::string& config) {
    std::random_device rd;
    std::string seed;
    for (int i = 0; i < 8; i++)
        seed += std::to_string(rd());
    if (!name.empty() && !valid_container_name(name))
        fail("invalid container name '" + name +
             "': use [a-zA-Z0-9][a-zA-Z0-9_.-]*, and not 64 hex digits");
    ContainerRecord c{
        sha256_hex(seed), name, image.id, {}, config, format_rfc3339(std::time(nullptr))};
    for (const auto& l : image.layers)
        c.layers.push_back(l.diff_id);
    if (c.name.empty()) c.name = c.id.substr(0, 12);
    for (const auto& other : list_containers(s))
        if (other.name == c.name) fail("container name '" + c.name + "' is already in use");
    // Built in tmp/ and renamed in: a container directory is complete or absent.
    Transaction txn(s);
    std::string staged = "container";
    must(sys::mkdir_at(txn.staging_fd(), staged.c_str(), 0700), "creating the container");
    for (const char* d : {"upper", "work", "merged"})
        must(sys::mkdir_at(txn.staging_fd(), (staged + "/" + d).c_str(), 0755),
             "creating the container");
    json state = {{"name", c.name},
                  {"image", c.id.empty() ? "" : image.id},
                  {"layers", c.layers},
                  {"created", c.created}};
    if (!config.empty()) state["config"] = json::parse(config);
    Fd dir = must(sys::open_at(txn.staging_fd(), staged.c_str(), O_RDONLY | O_DIRECTORY),
                  "creating the container");
    std::vector<std::string> layer_dirs;
    for (auto l = image.layers.rbegin(); l != image.layers.rend(); ++l)
        layer_dirs.push_back(s.layer_dir(l->diff_id));
    make_init_layer(s, dir.get(), layer_dirs);
    write_file_atomic(dir.get(), "state.json", state.dump(2) + "\n");
    Fd containers =
        must(sys::open_at(s.fd(), "containers", O_RDONLY | O_DIRECTORY), "creating the container");
    must(sys::rename_at(txn.staging_fd(), staged.c_str(), containers.get(), c.id.c_str(),
                        RENAME_NOREPLACE),
         "creating the container");
    must(sys::fsync_fd(containers.get()), "creating the container");
    return c;
}

bool valid_container_name(const std::string& name) {
    if (name.empty() || !std::isalnum(static_cast<unsigned char>(name[0]))) return false;
    for (char c : name)
        if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '.' && c != '-')
            return false;
    return !(name.size() == 64 && is_sha256_hex(name));
}

ContainerRecord find_container(const Store& s, const std::string& what) {
    auto all = list_containers(s);
    for (auto& c : all)
        if (c.name == what || c.id == what) return c;
    if (auto prefix = id_prefix(what)) {
        const ContainerRecord* found = nullptr;
        for (const auto& c : all) {
            if (!c.id.starts_with(*prefix)) continue;
            if (found) fail("container id prefix '" + what + "' is ambiguous");
            found = &c;
        }
        if (found) return *found;
    }
    fail("container '" + what + "' not found");
}

std::string container_dir(const Store& s, const ContainerRecord& c) {
    return s.root() + "/containers/" + c.id;
}

std::vector<std::string> container_layers(Store& s, const ContainerRecord& c) {
    std::vector<std::string> dirs;
    for (auto l = c.layers.rbegin(); l != c.layers.rend(); ++l) {
        if (!s.has_layer(*l)) fail("container " + c.name + ": layer sha256:" + *l + " is missing");
        dirs.push_back(s.layer_dir(*l));
    }
    return dirs;
}

MountConfig container_mount(Store& s, const ContainerRecord& c) {
    MountConfig m;
    std::string dir = container_dir(s, c);
    // Containers made before the init layer existed have none.
    if (sys::stat_at(s.fd(), ("containers/" + c.id + "/init").c_str()))
        m.lowerdirs.push_back(dir + "/init");
    for (auto& l : container_layers(s, c))
        m.lowerdirs.push_back(std::move(l));
    m.upperdir = dir + "/upper";
    m.workdir = dir + "/work";
    m.mountpoint = dir + "/merged";
    if (!s.identity().privileged) m.xattr_permissions = 2;
    // The store's own diff and commit read metadata-only copies' data from the image.
    m.metacopy = true;
    return m;
}

void remove_container(Store& s, const ContainerRecord& c) {
    // Renamed into tmp/ first: a container is complete or gone, and what a
    // killed removal leaves in tmp/ the next writer clears.
    Fd containers = must(sys::open_at(s.fd(), "containers", O_RDONLY | O_DIRECTORY),
                         "removing container " + c.name);
    Fd tmp =
        must(sys::open_at(s.fd(), "tmp", O_RDONLY | O_DIRECTORY), "removing container " + c.name);
    std::string gone = "rm-" + c.id;
    must(sys::rename_at(containers.get(), c.id.c_str(), tmp.get(), gone.c_str()),
         "removing container " + c.name);
    must(sys::fsync_fd(containers.get()), "removing container " + c.name);
    remove_tree(tmp.get(), gone);
}

}  // namespace layerfs::store
